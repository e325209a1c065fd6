"""The checked exercises of lesson 12, Profile your own agent, and the lesson's release notes.

The lesson's agent answers a question about three services' release notes with a tool that returns each
service's whole notes. Its profile names the problem: tool outputs are the largest input bucket and every step
re-sends them, so input grows far past the compression trigger. Exercise 1 asks which bucket that is (the
checker profiles the reference agent's run itself); exercise 2 asks for a context trimmer that keeps only the
latest tool results, checked on hidden conversations and then by profiling an agent run that uses it.
"""

from __future__ import annotations

import copy
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentkit.costs import BUCKETS, COMPRESSION_TRIGGER, RunCosts, measure_run
from agentkit.course.lab import FunctionTask, Task, Verdict, as_function, as_name, call_learner_code, passed, wrong
from agentkit.exercises import Exercises

__all__ = ["EXERCISES", "SERVICES", "TOOLS", "QUESTION", "SYSTEM", "release_notes", "run_release_agent", "TRIMMED",
           "teammate_trace"]

SERVICES = ("api", "billing", "search")
QUESTION = "Which of our services changed a rate limit in the November release?"
_RULES = [
    "Quote the release note's own wording for any limit, price or date; never round a number.",
    "Name the service a change belongs to in every sentence that mentions the change.",
    "Say plainly when the notes do not mention something; do not infer it from silence.",
    "Keep answers under 120 words unless the user asks for detail.",
    "Prefer the newest note when two notes disagree, and say that they disagree.",
    "Never promise a date the notes do not give.",
    "Refer customers to the status page for incidents; release notes are not incident reports.",
    "Write limits with their units: requests per minute, queries per second, megabytes.",
]
_GLOSSARY = {
    "api": "the public REST API (api.example.com), used by every SDK and the CLI",
    "billing": "invoices, usage metering, payment methods and the billing webhooks",
    "search": "full-text and vector search over a workspace's documents",
    "rate limit": "the most requests a key may make in a window; bursts are limited separately",
    "burst limit": "the most requests a key may make in one second",
    "workspace": "a team's container for keys, documents and members",
}
#: The assistant's instructions: a role, house rules and a glossary, as a production prompt has them.
SYSTEM = "\n".join([
    "You are the release-notes assistant of Example Cloud's support team. You answer questions about the November "
    "release of our three services. Read the notes with the fetch_release_notes tool before you answer: one call "
    "per service you need, and never answer from memory.",
    "", "House rules:", *[f"{i}. {rule}" for i, rule in enumerate(_RULES, start=1)],
    "", "Glossary:", *[f"- {term}: {meaning}." for term, meaning in _GLOSSARY.items()],
])
TOOLS = [{
    "name": "fetch_release_notes",
    "description": "The November release notes of one service.",
    "input_schema": {"type": "object", "properties": {"service": {"type": "string", "enum": list(SERVICES)}},
                     "required": ["service"]},
}]
#: What a trimmed tool result says instead of its content.
TRIMMED = "[trimmed: an earlier tool result]"

_AREAS = ["dashboard", "exports", "webhooks", "audit log", "SDKs", "CLI", "docs", "alerts", "SSO", "retries"]
_VERBS = ["Fixed", "Improved", "Added", "Deprecated", "Documented", "Reworded", "Sped up", "Removed"]
_DETAILS = ["for accounts with more than one workspace", "when the request body is empty",
            "in the EU region", "for keys created before March", "under heavy load", "after a token refresh"]
_RATE_LINES = {
    "api": "Raised the rate limit to 120 requests per minute per key.",
    "search": "Lowered the burst rate limit to 20 queries a second.",
}


def release_notes(seed: int = 0, lines: int = 60) -> dict[str, str]:
    """Each service's November release notes: `lines` change lines, of which the rate-limit ones are few."""
    out = {}
    for i, service in enumerate(SERVICES):
        rng = random.Random(seed * 100 + i)
        body = [f"- {rng.choice(_VERBS)} {rng.choice(_AREAS)} {rng.choice(_DETAILS)} (#{rng.randint(1000, 9999)})."
                for _ in range(lines)]
        if service in _RATE_LINES:
            body.insert(rng.randrange(len(body)), f"- {_RATE_LINES[service]}")
        out[service] = f"{service} service, November release\n" + "\n".join(body)
    return out


def run_release_agent(client: Any, fetch: Callable[[str], str], *, trim: Callable[[list[Any]], list[Any]] | None = None,
                      model: str | None = None, max_steps: int = 6) -> tuple[list[dict[str, Any]], list[Any]]:
    """The lesson's agent (the reference copy the checks run): returns (the requests it sent, the replies' usage)."""
    from agentkit.models import DEFAULT_MODEL

    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    requests, usages = [], []
    for _ in range(max_steps):
        sent = trim(copy.deepcopy(messages)) if trim is not None else messages
        request = {"model": model or DEFAULT_MODEL, "max_tokens": 600, "system": SYSTEM, "tools": TOOLS,
                   "messages": sent}
        reply = client.messages.create(**request)
        requests.append(copy.deepcopy(request))
        usages.append(reply.usage)
        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]})
        if reply.stop_reason != "tool_use":
            break
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": b.id, "content": fetch(str(b.input.get("service", "")))}
            for b in reply.content if b.type == "tool_use"]})
    return requests, usages


def _costs(requests: list[dict[str, Any]], usages: list[Any]) -> RunCosts:
    """The run's cost anatomy from `agentkit.costs.measure_run`, its steps shaped as the agent's (index, request,
    response.usage): the analysis is the course's, only the run is a raw-SDK loop."""
    from types import SimpleNamespace

    steps = [SimpleNamespace(index=i, request=request, response=SimpleNamespace(usage=usage))
             for i, (request, usage) in enumerate(zip(requests, usages), start=1)]
    return measure_run(SimpleNamespace(steps=steps, model=requests[0]["model"]))


def _reference_run(seed: int, trim: Callable[[list[Any]], list[Any]] | None = None) -> RunCosts:
    import agentkit

    notes = release_notes(seed)
    client = agentkit.client(scenarios=["p12_release_notes"], seed=seed, quiet=True, live=False,
                             open_telemetry=False)
    requests, usages = run_release_agent(client, lambda s: notes.get(s, f"No service {s!r}."), trim=trim)
    return _costs(requests, usages)


# -- exercise 1: which bucket ------------------------------------------------------------------------------------


_TEAM_SYSTEM = [
    "You are the billing assistant of Example Cloud. Follow the policy below exactly.",
    *[f"Policy {i}: {rule}" for i, rule in enumerate([
        "Refunds above 50 dollars need a human approver; say so and stop.",
        "Never quote a price that is not in the price list tool's answer.",
        "Invoices are issued on the first working day of the month, in the account's currency.",
        "A failed payment is retried after 3, 5 and 7 days before the account is suspended.",
        "Credits expire twelve months after they are granted, unless the contract says otherwise.",
        "Taxes follow the billing address, not the user's location.",
    ] * 12, start=1)],
]


def teammate_trace(folder: str | Path | None = None, steps: int = 5) -> Path:
    """Write the trace file a teammate exported from their billing agent, and return its path.

    Their stack is older OpenLLMetry: `gen_ai.system`, `gen_ai.usage.prompt_tokens`, the prompt flattened into
    `gen_ai.prompt.{i}.*` and tool spans marked `traceloop.span.kind = tool`. The token counts are the kit's
    estimates of the recorded prompt, as an instrumentation that counts them itself would write.
    """
    import json

    from agentkit.models import DEFAULT_MODEL
    from agentkit.tokens import count_tokens

    out = Path(folder or tempfile.mkdtemp()) / "teammate_billing_agent.jsonl"
    system = "\n".join(_TEAM_SYSTEM)
    messages: list[tuple[str, str]] = [("system", system), ("user", "Why was invoice INV-2291 higher than last month?")]
    trace_id, clock, spans = "5eed" * 8, 1_767_000_000_000_000_000, []

    def attrs(d: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": str(v)}}
                for k, v in d.items()]

    for step in range(1, steps + 1):
        prompt = {f"gen_ai.prompt.{i}.{f}": v for i, (role, text) in enumerate(messages)
                  for f, v in (("role", role), ("content", text))}
        tokens_in = sum(count_tokens(text, DEFAULT_MODEL) for _, text in messages)
        reply = f"Checking line items, step {step}." if step < steps else "The increase is the new storage tier."
        spans.append({"traceId": trace_id, "spanId": f"{step:016x}", "name": "anthropic.chat",
                      "startTimeUnixNano": str(clock), "endTimeUnixNano": str(clock + 1_400_000_000),
                      "attributes": attrs({"llm.request.type": "chat", "gen_ai.system": "Anthropic",
                                           "gen_ai.request.model": DEFAULT_MODEL, "gen_ai.response.model": DEFAULT_MODEL,
                                           "gen_ai.usage.prompt_tokens": tokens_in,
                                           "gen_ai.usage.completion_tokens": count_tokens(reply, DEFAULT_MODEL),
                                           **prompt})})
        clock += 1_450_000_000
        messages.append(("assistant", reply))
        if step < steps:
            spans.append({"traceId": trace_id, "spanId": f"{100 + step:016x}", "name": "lookup_invoice.tool",
                          "startTimeUnixNano": str(clock), "endTimeUnixNano": str(clock + 200_000_000),
                          "attributes": attrs({"traceloop.span.kind": "tool", "traceloop.entity.name": "lookup_invoice"})})
            clock += 250_000_000
            messages.append(("user", f"Line {step}: storage {step * 10} GB, {step * 2}.00 USD"))
    out.write_text(json.dumps({"resourceSpans": [{"resource": {"attributes": attrs({"service.name": "billing-agent"})},
                                                  "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.anthropic"},
                                                                  "spans": spans}]}]}) + "\n", encoding="utf-8")
    return out


def _check_largest_bucket(answer: Any) -> Verdict:
    from agentkit.profile import profile_file

    name = as_name(answer, BUCKETS, aliases={"tool outputs": "tool_outputs", "tool output": "tool_outputs",
                                             "tool schemas": "tools", "system prompt": "system",
                                             "user input": "user_input"})
    costs = profile_file(teammate_trace()).traces[0].costs
    assert costs is not None
    totals = costs.bucket_totals()
    want = max(totals, key=totals.__getitem__)
    share = totals[name] / sum(totals.values())
    if name == want:
        return passed(f"Right: it holds {share:.0%} of their agent's input, sent again on every step. Unlike your "
                      "agent's tool outputs, it never changes: prompt caching (Module 1, lesson 2) is the fix there.")
    return wrong(f"{name} holds {share:.0%} of their agent's input. Profile the file and read the 'Input by bucket "
                 "over the task' line: which share is largest?")


# -- exercise 2: trim old tool results ---------------------------------------------------------------------------


def _conversation(rng: random.Random, rounds: int, results_per_round: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"Question {rng.randint(1, 99)}?"}]
    for r in range(rounds):
        ids = [f"toolu_{rng.getrandbits(40):010x}" for _ in range(results_per_round)]
        messages.append({"role": "assistant", "content": [{"type": "text", "text": f"Step {r + 1}."}] + [
            {"type": "tool_use", "id": i, "name": "fetch", "input": {"n": r}} for i in ids]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": i, "content": f"result {r}-{k} " + "x" * rng.randint(50, 400)}
            for k, i in enumerate(ids)]})
    return messages


def _reference_trim(messages: list[dict[str, Any]], keep_last: int = 1) -> list[dict[str, Any]]:
    rounds = [i for i, m in enumerate(messages) if m["role"] == "user" and isinstance(m["content"], list)
              and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in m["content"])]
    old = set(rounds[:-keep_last] if keep_last else rounds)
    out = []
    for i, m in enumerate(messages):
        if i in old:
            m = {**m, "content": [{**b, "content": TRIMMED} if b.get("type") == "tool_result" else b for b in m["content"]]}
        out.append(m)
    return out


def _results(messages: list[Any]) -> list[tuple[int, Any, Any]]:
    return [(i, b.get("tool_use_id"), b.get("content")) for i, m in enumerate(messages)
            if isinstance(m, dict) and isinstance(m.get("content"), list)
            for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]


def _check_trim_old_results(answer: Any) -> Verdict:
    fn = as_function(answer, "your answer")
    rng = random.Random(12)
    cases = [("the lesson's three rounds", _conversation(rng, 3, 1)),
             ("two tool results in one round", _conversation(rng, 3, 2)),
             ("a single round (nothing old to trim)", _conversation(rng, 1, 1)),
             ("no tool results at all", [{"role": "user", "content": "Hi"}])]
    for what, messages in cases:
        before = copy.deepcopy(messages)
        got, error = call_learner_code(fn, messages)
        if error:
            return wrong(f"It raised {error} on {what}.")
        if messages != before:
            return wrong(f"It changed the list it was given ({what}): build and return a new list, so the agent's own "
                         "history keeps every result.")
        if not isinstance(got, list):
            return wrong(f"It returned a {type(got).__name__} on {what}; return the list of messages to send.")
        want = _reference_trim(before)
        if len(got) != len(want) or [m.get("role") if isinstance(m, dict) else None for m in got] != [m["role"] for m in want]:
            return wrong(f"On {what} it returned {len(got)} messages with other roles; keep every message (dropping "
                         "one would break the tool_use / tool_result pairing the API checks).")
        have, need = _results(got), _results(want)
        if [(i, t) for i, t, _ in have] != [(i, t) for i, t, _ in need]:
            return wrong(f"On {what} some tool_result blocks moved, vanished or lost their tool_use_id: keep each "
                         "block, change only its content.")
        for (_, _, c), (_, _, w) in zip(have, need):
            if (w == TRIMMED) != (c == TRIMMED) or (w != TRIMMED and c != w):
                return wrong(f"On {what}: results of the last round must stay whole and every earlier one must read "
                             f"exactly {TRIMMED!r}.")
        for m, w in zip(got, want):
            if [b for b in m["content"] if not (isinstance(b, dict) and b.get("type") == "tool_result")] != [
                    b for b in w["content"] if not (isinstance(b, dict) and b.get("type") == "tool_result")] \
                    if isinstance(w["content"], list) else m["content"] != w["content"]:
                return wrong(f"On {what} it changed something other than old tool results; leave text, tool calls and "
                             "the user's words as they are.")
    plain, trimmed = _reference_run(seed=1), _reference_run(seed=1, trim=fn)
    before_growth = plain.compression_due()
    after_growth = trimmed.compression_due()
    if trimmed.bucket_totals()["tool_outputs"] >= plain.bucket_totals()["tool_outputs"]:
        return wrong("Every hidden conversation came out right, yet the agent run with it sent as many tool-output "
                     "tokens as before. Is it applied to the messages each request sends?")
    saved = 1 - trimmed.input_tokens / plain.input_tokens
    return passed(f"Right on {len(cases)} conversations; in an agent run it cut input by {saved:.0%} and the "
                  f"compression trigger ({COMPRESSION_TRIGGER:.0%}) fires at steps {after_growth or 'none'} "
                  f"instead of {before_growth}.")


_PROBE = ([{"role": "user", "content": "probe"}],)

EXERCISES = Exercises("p12_profile_your_agent", "Lesson 12 exercises", "12 Profile your own agent",
                      lesson_notebook="notebooks/12_*.ipynb", tasks=[
    Task("largest_bucket", "The bucket a teammate's profile points at", _check_largest_bucket,
         "the name of one bucket, such as \"history\"",
         ("Profile the file as you profiled your own: profile.profile_file(path), then profile.text_report(...).",
          "The 'Input by bucket over the task' line splits their whole run's input into five parts; the names are "
          "tools, system, history, tool_outputs and user_input.",
          "Compare the five percentages and give the name of the largest.")),
    FunctionTask("trim_old_results", "Keep only the latest tool results", _check_trim_old_results,
                 "a function trim_old_results(messages) -> list of messages",
                 ("Find the user messages that carry tool_result blocks; all but the last of them are old.",
                  "Build new messages: for an old one, copy each tool_result block with its content replaced by "
                  "TRIMMED; leave every other message and block as it is.",
                  "{**block, \"content\": TRIMMED} copies a block with one field changed, without touching the "
                  "original."),
                 probes=(_PROBE,)),
], solutions={
    "largest_bucket": """
        print(profile.text_report(profile.profile_file(p12.teammate_trace())))
        largest_bucket = "system"
    """,
    "trim_old_results": """
        def trim_old_results(messages):
            "Replace the content of every tool result but the latest round's with TRIMMED."
            rounds = [i for i, m in enumerate(messages) if m["role"] == "user" and isinstance(m["content"], list)
                      and any(b.get("type") == "tool_result" for b in m["content"])]
            old = set(rounds[:-1])
            out = []
            for i, m in enumerate(messages):
                if i in old:
                    m = {**m, "content": [{**b, "content": TRIMMED} if b.get("type") == "tool_result" else b
                                          for b in m["content"]]}
                out.append(m)
            return out
    """,
}, answers={"largest_bucket": "largest_bucket", "trim_old_results": "trim_old_results"})
