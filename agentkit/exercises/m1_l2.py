"""The checked exercises of Module 1 Lesson 2, Token Cost Anatomy (notebooks/m1_l2_token_cost.ipynb).

- `due_steps`: the compression trigger, run on four input sequences (the lab's profiles, a shrinking and a flat run).
- `step_price`: one step priced from its usage block, against `agentkit.pricing.cost_of` on four usage blocks.
- `tool_output_tokens`: a bucket counter, run on every request of a real simulated run of the lesson's coding agent
  (and of the same agent with old tool outputs summarised, whose results are lists of blocks), against
  `agentkit.costs.request_buckets`.
- `place_breakpoints`: where the cache breakpoints go, judged by running the coding agent with the learner's
  placement on the simulator and pricing the run: the same answer, at no more than the reference placement's cost.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import replace
from typing import Any, Callable

from agentkit.costs import (
    COMPRESSION_TRIGGER, AgentProfile, compression_due, measure_run, request_buckets, run_steps,
)
from agentkit.course.lab import FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises
from agentkit.labs.l2_token_cost import MODEL
from agentkit.pricing import cost_of, price_of


#: The lesson's own agents (its booking agent, constant additions and growing lookups), never Lab 2's: a wrong
#: attempt's message shows the right steps, and those must not be a lab answer.
BOOKING = AgentProfile(system_prompt_tokens=2_800, tool_count=9, tokens_per_tool=400, user_input_tokens=600,
                       output_tokens=500, steps=12)
BOOKING_GROWING = replace(BOOKING, tool_output_tokens=600, tool_output_increase=350)

#: Input-token sequences the growth exercise is checked on: the lesson's two profiles, a run that shrinks
#: (a summary replaced a long output) and one that stays flat.
GROWTH_CASES: tuple[tuple[list[int], float], ...] = (
    ([s.input for s in run_steps(BOOKING)], COMPRESSION_TRIGGER),
    ([s.input for s in run_steps(BOOKING_GROWING)], COMPRESSION_TRIGGER),
    ([s.input for s in run_steps(BOOKING_GROWING)], 0.20),
    ([4_000, 9_000, 6_000, 6_900, 6_900], COMPRESSION_TRIGGER),
)


def _growth_of(inputs: list[int]) -> list[float]:
    return [(b - a) / a for a, b in zip(inputs, inputs[1:])]


def check_due_steps(answer: Any) -> Verdict:
    fn = as_function(answer, "due_steps")
    for inputs, threshold in GROWTH_CASES:
        got, error = call_learner_code(fn, list(inputs), threshold)
        right = compression_due(_growth_of(inputs), threshold)
        where = f"due_steps({inputs}, {threshold})"
        if error is not None:
            return wrong(f"{where} raised {error}.")
        if not isinstance(got, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in got):
            return wrong(f"{where} returned {got!r}; return a list of step numbers (ints).")
        if got == [n - 1 for n in right] or got == [n - 2 for n in right]:
            return wrong(f"{where} returned {got}, which look like list positions. Number the steps from 1: "
                         "the first growth figure compares step 2 with step 1, so it belongs to step 2.")
        if got == [n + 1 for n in right]:
            return wrong(f"{where} returned {got}: off by one. The first growth figure is step 2's.")
        if got != right:
            shown = ", ".join(f"step {i + 2}: {g:+.1%}" for i, g in enumerate(_growth_of(inputs)))
            return wrong(f"{where} returned {got}; the growth is {shown}, so the steps over {threshold:.0%} are {right}.")
    return passed("Right on every run, the flat and the shrinking one included. agentkit.costs does the same: "
                  "compression_due(marginal_growth(profile)), or measure_run(result).compression_due() on a real run.")


#: Usage blocks the pricing exercise is checked on: plain, a cache write, cache reads, a 1-hour write, output only.
PRICE_CASES: tuple[dict[str, Any], ...] = (
    {"input_tokens": 12_000, "output_tokens": 800},
    {"input_tokens": 300, "cache_creation_input_tokens": 9_000, "cache_read_input_tokens": 0, "output_tokens": 500},
    {"input_tokens": 1_400, "cache_creation_input_tokens": 1_400, "cache_read_input_tokens": 30_000, "output_tokens": 650},
    {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1_000},
)


def check_step_price(answer: Any) -> Verdict:
    fn = as_function(answer, "step_price")
    row = price_of(MODEL)
    for usage in PRICE_CASES:
        got, error = call_learner_code(fn, dict(usage))
        if error is not None:
            return wrong(f"step_price({usage}) raised {error}.")
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return wrong(f"step_price({usage}) returned {got!r}; return the dollars as a number.")
        right = cost_of(MODEL, usage)
        if math.isclose(got, right, rel_tol=1e-6, abs_tol=1e-12):
            continue
        reads, writes = usage.get("cache_read_input_tokens", 0), usage.get("cache_creation_input_tokens", 0)
        flat = (usage["input_tokens"] + reads + writes) * row.input_per_token + usage["output_tokens"] * row.output_per_token
        if math.isclose(got, flat, rel_tol=1e-6) and (reads or writes):
            return wrong(f"step_price({usage}) priced cache reads and writes like plain input. Writes cost 1.25x the "
                         "input price, reads the model's cache-read price.")
        if math.isclose(got, right * 1_000_000, rel_tol=1e-6):
            return wrong("Those are dollars per million tokens' worth: divide the $/MTok prices by 1,000,000.")
        return wrong(f"step_price({usage}) returned {got:.6f}; agentkit.pricing.cost_of says {right:.6f}. "
                     "Price each usage field at its own rate.")
    return passed(f"Your prices match agentkit.pricing.cost_of on {len(PRICE_CASES)} usage blocks: plain input, a cache "
                  "write, cache reads and output alone.")


# -- a bucket counter on a real trace ------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _coding_run(compress: bool) -> Any:
    """The lesson's coding agent, run once offline (deterministic), its steps' requests kept."""
    from agentkit.cases.coding_agent import run_case
    from agentkit.exercises._transcript import offline_client

    return run_case(offline_client(["coding_agent"]), compress=compress)


def _plain(value: Any) -> Any:
    """JSON-like data all the way down: the SDK's content blocks (in the assistant turns) as dicts."""
    return json.loads(json.dumps(value, default=lambda o: o.model_dump(exclude_none=True, mode="json")))


def _as_block_lists(request: dict[str, Any]) -> dict[str, Any]:
    """The same request with every tool result's content given as a list of text blocks (the API takes both)."""
    out = copy.deepcopy(request)
    for message in out["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result" and isinstance(block.get("content"), str):
                block["content"] = [{"type": "text", "text": block["content"]}]
    return out


def _requests(variant: str) -> list[dict[str, Any]]:
    """The requests of one run: "original", "summarised" (old outputs replaced by summaries) or "block lists"."""
    steps = _coding_run(variant == "summarised").result.steps
    plain = [_plain(dict(s.request)) for s in steps]
    return [_as_block_lists(r) for r in plain] if variant == "block lists" else plain


def check_tool_output_tokens(answer: Any) -> Verdict:
    fn = as_function(answer, "tool_output_tokens")
    for variant, run in (("original", "the coding agent's run"),
                         ("summarised", "the same run with old tool outputs summarised"),
                         ("block lists", "the same run with tool results sent as lists of text blocks")):
        for number, request in enumerate(_requests(variant), 1):
            right = request_buckets(request)["tool_outputs"]
            got, error = call_learner_code(fn, copy.deepcopy(request))
            where = f"step {number} of {run}"
            if error is not None:
                return wrong(f"tool_output_tokens(request) raised {error} on {where}.")
            if isinstance(got, bool) or not isinstance(got, int):
                return wrong(f"On {where} it returned {got!r}; return a whole number of tokens.")
            if got == right:
                continue
            results = [b for m in request["messages"] if isinstance(m.get("content"), list) for b in m["content"]
                       if isinstance(b, dict) and b.get("type") == "tool_result"]
            last = request["messages"][-1]
            last_only = sum(request_buckets({"model": request["model"], "messages": [last]}).values()) \
                if last.get("role") == "user" else -1
            if got == last_only and len(results) > 1:
                return wrong(f"On {where} you counted {got:,} tokens: only the newest tool results. Every earlier "
                             f"tool result is in the request too ({len(results)} of them), sent again each step.")
            if any(isinstance(b.get("content"), list) for b in results):
                return wrong(f"On {where} you counted {got:,}, the request carries {right:,}. Some tool results "
                             "there hold a list of content blocks rather than one string: count each block's text.")
            return wrong(f"On {where} you counted {got:,} tokens of tool output; the request carries {right:,}. "
                         "Count the content of every tool_result block in every message, with "
                         "count_tokens(text, request['model']).")
    total = sum(request_buckets(r)["tool_outputs"] for r in _requests("original"))
    return passed(f"Right on all {len(_requests('original'))} requests of the run, on the summarised run and with "
                  "results as block lists: "
                  f"{total:,} tokens of tool output sent over the original run. agentkit.costs.request_buckets "
                  "counts all five buckets this way.")


# -- where the cache breakpoints go, judged by running it ----------------------------------------------


def reference_breakpoints(request: dict[str, Any]) -> dict[str, Any]:
    """The reference placement: a breakpoint after the system prompt and a top-level (moving) one."""
    system = request.get("system")
    if isinstance(system, str):
        request["system"] = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    request["cache_control"] = {"type": "ephemeral"}
    return request


def _run_with(placement: Callable[[dict[str, Any]], Any]) -> tuple[Any, list[str]]:
    """The coding agent run offline with `placement` rewriting each request just before it is sent."""
    from agentkit.cases.coding_agent import TASK, _untimed, build_coding_agent
    from agentkit.exercises._transcript import offline_client

    client = offline_client(["coding_agent"])
    agent, _ = build_coding_agent(client)
    errors: list[str] = []

    def hook(step: Any) -> None:
        sent = copy.deepcopy(dict(step.request))
        got, error = call_learner_code(placement, sent)
        if error is not None:
            errors.append(f"place_breakpoints(request) raised {error} on step {step.index}")
            return
        new = got if isinstance(got, dict) else sent  # a function that edits in place and returns None is fine
        if new.get("messages") != step.request.get("messages") or new.get("tools") != step.request.get("tools"):
            errors.append(f"on step {step.index} the request's messages or tools changed: place breakpoints only, "
                          "do not edit the content")
            return
        step.request.clear()
        step.request.update(new)

    agent.add_hook("model_start", hook)
    with _untimed(client):
        result = agent.run(TASK)
    return result, errors


@functools.lru_cache(maxsize=1)
def _reference_run() -> Any:
    return measure_run(_run_with(reference_breakpoints)[0])


def check_place_breakpoints(answer: Any) -> Verdict:
    fn = as_function(answer, "place_breakpoints")
    result, errors = _run_with(fn)
    if errors:
        return wrong(errors[0] + ".")
    plain = _coding_run(False)
    if result.text != plain.result.text:
        return wrong("With your breakpoints the agent's run ended differently from the uncached run; caching must not "
                     "change what the model sees.")
    costs, reference = measure_run(result), _reference_run()
    share = costs.cache_read_tokens / costs.input_tokens if costs.input_tokens else 0.0
    if costs.cache_read_tokens == 0:
        return wrong(f"Nothing was read from the cache over {len(result.steps)} steps (${costs.cost:.4f} for the run): "
                     "no breakpoint marks a prefix that a later request repeats. A breakpoint is a cache_control "
                     "field on a block, or on the request itself.")
    if costs.cost > 1.02 * reference.cost:
        return wrong(f"${costs.cost:.4f} for the run, {costs.cost / reference.cost - 1:.0%} over what a better "
                     f"placement pays; {share:.0%} of the input was read from the cache. The history and tool outputs "
                     "grow every step and are the biggest part of each request: what would let each step read the "
                     "previous step's whole request?")
    saved = 1 - costs.cost / plain.costs.cost
    return passed(f"${costs.cost:.4f} for the run against ${plain.costs.cost:.4f} uncached ({saved:.0%} saved), "
                  f"{share:.0%} of the input read from the cache, the same answer.")


EXERCISES = Exercises(
    id="m1_l2",
    title="Lesson 2: your turn",
    lesson="M1 L2 Token Cost Anatomy",
    lesson_notebook="notebooks/m1_l2_token_cost.ipynb",
    tasks=[
        FunctionTask(
            id="due_steps",
            title="Which steps pass the compression trigger",
            checker=check_due_steps,
            expects="a function due_steps(inputs, threshold) returning a list of step numbers",
            hints=("Step n's growth is (inputs[n-1] - inputs[n-2]) / inputs[n-2] for n from 2.",
                   "Loop over the steps from the second on; keep a step when its growth is over the threshold.",
                   "Mind the numbering: the first growth figure belongs to step 2, not to position 0 or 1."),
            probes=(([100, 120], 0.15),),
        ),
        FunctionTask(
            id="step_price",
            title="Price one step from its usage",
            checker=check_step_price,
            expects="a function step_price(usage) returning US dollars",
            hints=("input_tokens is only the uncached input; cache writes and reads are billed separately.",
                   "Four fields, four rates: plain input, 5-minute cache writes (a multiple of the input price), "
                   "cache reads (the row's own read price) and output.",
                   "The row's prices are per million tokens: multiply each field by its rate, add, divide once."),
            probes=(({"input_tokens": 1, "output_tokens": 1},),),
        ),
        FunctionTask(
            id="tool_output_tokens",
            title="Count one bucket on a real request",
            checker=check_tool_output_tokens,
            expects="a function tool_output_tokens(request) returning a whole number of tokens",
            hints=("Tool outputs come back to the model as tool_result blocks inside user messages, and every "
                   "earlier one is in each later request.",
                   "Walk every message whose content is a list; for each block of type tool_result, count its "
                   "content with count_tokens(..., request['model']).",
                   "A tool_result's content is a string or a list of text blocks: count the text of each block."),
            probes=(({"model": MODEL, "messages": []},),),
        ),
        FunctionTask(
            id="place_breakpoints",
            title="Where the cache breakpoints go",
            checker=check_place_breakpoints,
            expects="a function place_breakpoints(request) returning the request with cache_control placed",
            hints=("A cache hit needs a request to start with exactly what an earlier request sent and wrote; in an "
                   "agent, each step's request starts with the whole previous request.",
                   "Two places: the end of the system prompt (the same in every request) and the end of the request "
                   "(so the breakpoint moves forward with the conversation).",
                   "The system prompt becomes a list of one text block carrying cache_control; the request itself "
                   "can carry a top-level cache_control too."),
            probes=(({"model": MODEL, "system": "", "messages": []},),),
        ),
    ],
    notes="",
    solutions={
        "due_steps": """
            def due_steps(inputs, threshold=0.15):
                return [n for n in range(2, len(inputs) + 1)
                        if (inputs[n - 1] - inputs[n - 2]) / inputs[n - 2] > threshold]
        """,
        "step_price": """
            row = price_of(DEFAULT_MODEL)

            def step_price(usage):
                per_token = row.input_per_mtok / 1_000_000
                return (usage.get("input_tokens", 0) * per_token
                        + usage.get("cache_creation_input_tokens", 0) * 1.25 * per_token
                        + usage.get("cache_read_input_tokens", 0) * row.cache_read_per_mtok / 1_000_000
                        + usage.get("output_tokens", 0) * row.output_per_mtok / 1_000_000)
        """,
        "tool_output_tokens": """
            def tool_output_tokens(request):
                total = 0
                for message in request["messages"]:
                    if not isinstance(message["content"], list):
                        continue
                    for block in message["content"]:
                        if block.get("type") != "tool_result":
                            continue
                        content = block.get("content", "")
                        texts = [content] if isinstance(content, str) else [b.get("text", "") for b in content]
                        total += sum(count_tokens(t, request["model"]) for t in texts)
                return total
        """,
        "place_breakpoints": """
            def place_breakpoints(request):
                request["system"] = [{"type": "text", "text": request["system"], "cache_control": {"type": "ephemeral"}}]
                request["cache_control"] = {"type": "ephemeral"}
                return request
        """,
    },
    answers={"due_steps": "due_steps", "step_price": "step_price", "tool_output_tokens": "tool_output_tokens",
             "place_breakpoints": "place_breakpoints"},
)
