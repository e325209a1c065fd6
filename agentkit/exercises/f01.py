"""The checked exercises of lesson F01 What an agent is.

`stop_handling`: the learner finishes a hand-written ReAct loop: what to do when the model stops asking for tools,
and when the loop runs out of steps. The check runs their function on fresh offline clients, each scripted for one
hidden case (the model finishes after a few tool calls; it never stops; its reply is cut off; it refuses), with names,
values and lengths drawn from a per-check seed, and judges the requests it sent: every tool_use answered by a
tool_result carrying what the tool really returned, exactly as many model calls as the case allows, and the stop
reason and text it returned. Never the model's wording.

`circles`: a brake for the loop, `going_in_circles(calls, limit)`, checked against a reference on seeded call lists.
"""

from __future__ import annotations

import json
import random
from typing import Any

from agentkit.course.lab import AnswerError, FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises
from agentkit.exercises._code_task import CodeTask, catch_all, fresh_seed, texts_of, tool_results_in
from agentkit.exercises._transcript import run_recorded

STOPS = ("final_answer", "max_steps", "max_tokens", "refusal")
_WORDS = ("amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kelp",
          "lagoon", "maple", "nickel", "onyx", "pebble", "quartz", "russet", "sable", "tundra")


# -- stop_handling --------------------------------------------------------------------------


def _lookup_tool(values: dict[str, str]) -> Any:
    """The tool the hidden cases offer: a lookup in a seeded table (unknown keys are an error the model can read)."""
    from agentkit.tools import ToolError, tool

    def lookup(key: str) -> str:
        """Look up a value in the team's notes.

        Args:
            key: the name of the note, one word
        """
        if key not in values:
            raise ToolError(f"no note named {key!r}; known notes: {', '.join(sorted(values))}")
        return f"{key} = {values[key]}"

    return tool(lookup)


def _cases(seed: int) -> list[dict[str, Any]]:
    """The four hidden cases for one seed: a scenario, the step cap, the expected (stop, text) and model calls."""
    rng = random.Random(seed)
    words = rng.sample(_WORDS, 8)
    values = {w: f"{rng.randint(100, 999)}" for w in words}
    k = rng.randint(1, 3)
    asked = words[:k]
    final = f"All {k} notes read; the answer is {rng.randint(1000, 9999)}."
    finishes = [{"text": f"Reading note {w}.", "tool_calls": [{"name": "lookup", "input": {"key": w}}]} for w in asked]
    finishes.append({"text": final})
    cap = rng.randint(2, 4)
    loops = [{"text": "One more look.", "tool_calls": [{"name": "lookup", "input": {"key": words[i % 8]}}]}
             for i in range(cap + 3)]
    cut = [{"text": "First a note.", "tool_calls": [{"name": "lookup", "input": {"key": words[5]}}]},
           {"text": f"The answer begins with {words[6]} and", "stop_reason": "max_tokens"}]
    refuses = [{"text": "I can't help with that request.", "stop_reason": "refusal"}]
    return [
        {"kind": "the model finishes after some tool calls", "turns": finishes, "max_steps": k + 2,
         "stop": "final_answer", "text": final, "calls": k + 1, "values": values},
        {"kind": "the model never stops asking for tools", "turns": loops, "max_steps": cap,
         "stop": "max_steps", "text": "", "calls": cap, "values": values},
        {"kind": "the model's reply is cut off at max_tokens", "turns": cut, "max_steps": 5,
         "stop": "max_tokens", "text": "", "calls": 2, "values": values},
        {"kind": "the model refuses", "turns": refuses, "max_steps": 5,
         "stop": "refusal", "text": "", "calls": 1, "values": values},
    ]


def _judge_loop(case: dict[str, Any], seed: int, transcript: Any) -> str | None:
    """What is wrong with one run of the learner's loop on one case, or None."""
    where = f"When {case['kind']} (check seed {seed})"
    if transcript.error:
        return f"{where}, your function raised {transcript.error}."
    if transcript.calls != case["calls"]:
        extra = (" A reply that is not a tool request ends the loop: there is nothing to send back."
                 if transcript.calls > case["calls"] and case["stop"] != "max_steps" else "")
        return (f"{where}, your loop called the model {transcript.calls} time(s); with max_steps="
                f"{case['max_steps']} this case needs exactly {case['calls']}.{extra}")
    missing = transcript.unanswered_tool_uses()
    if missing:
        return f"{where}, the last request left tool_use block(s) {', '.join(missing)} without a tool_result."
    messages = transcript.requests[-1].get("messages", [])
    inputs = {b.get("id"): b.get("input", {}) for m in messages if m.get("role") == "assistant"
              and isinstance(m.get("content"), list) for b in m["content"] if isinstance(b, dict)
              and b.get("type") == "tool_use"}
    for m in messages:
        for result in tool_results_in(m):
            key = inputs.get(result.get("tool_use_id"), {}).get("key")
            want = f"{key} = {case['values'].get(key)}"
            if texts_of(result.get("content")).strip() != want:
                return (f"{where}, a tool_result sent back {texts_of(result.get('content'))[:80]!r}, not what the "
                        f"tool returned for key={key!r}. Run the tool and send its output.")
    value = transcript.value
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return f"{where}, your function returned {repr(value)[:80]}; return a pair (stop, text)."
    stop, text = value
    if stop != case["stop"]:
        return (f"{where}, your function said the run stopped with {repr(stop)[:60]}; it should be {case['stop']!r} "
                f"(one of {', '.join(map(repr, STOPS))}).")
    if case["stop"] != "final_answer" and text:
        return (f"{where}, your function returned the text {str(text)[:60]!r}. Only a finished run has an answer: "
                "return '' for every other stop, so nobody mistakes half an answer for a whole one.")
    if case["stop"] == "final_answer" and text != case["text"]:
        return f"{where}, your function returned the text {str(text)[:80]!r}, not the model's final text."
    return None


def _check_stop_handling(answer: Any) -> Verdict:
    fn = as_function(answer, "your run_agent")
    seed = fresh_seed()
    for case in _cases(seed):
        tools = [_lookup_tool(case["values"])]
        transcript = run_recorded(fn, "Read the team's notes and answer.", tools, case["max_steps"],
                                  scenarios=[catch_all("f01_stop_handling", case["turns"])])
        problem = _judge_loop(case, seed, transcript)
        if problem:
            return wrong(problem)
    return passed("Your loop handled all four hidden cases: a finished run, the step cap, a cut-off reply and a "
                  "refusal, with every tool_use answered. agentkit.Agent stops on the same reasons.")


# -- circles ------------------------------------------------------------------------------------


def _reference_circles(calls: list[tuple[str, dict[str, Any]]], limit: int) -> bool:
    counts: dict[tuple[str, str], int] = {}
    for name, arguments in calls:
        key = (name, json.dumps(arguments, sort_keys=True))
        counts[key] = counts.get(key, 0) + 1
    return any(n > limit for n in counts.values())


def _circle_trials(seed: int) -> list[tuple[str, list[tuple[str, dict[str, Any]]], int]]:
    rng = random.Random(seed)
    names = rng.sample(["search", "lookup", "review_draft", "fetch_page", "get_weather"], 3)
    words = rng.sample(_WORDS, 6)

    def call(i: int, flip: bool = False) -> tuple[str, dict[str, Any]]:
        items = [("query", words[i % 6]), ("limit", 3 + i % 2)]
        return names[i % 3], dict(reversed(items) if flip else items)

    trials = []
    limit = rng.randint(1, 3)
    at_limit = [call(0) for _ in range(limit)] + [call(1), call(2)]
    rng.shuffle(at_limit)
    trials.append(("the same call exactly `limit` times", at_limit, limit))
    over = at_limit + [call(0)]
    rng.shuffle(over)
    trials.append(("the same call one time more than `limit`", over, limit))
    flipped = [call(3, flip=bool(i % 2)) for i in range(limit + 1)] + [call(4)]
    trials.append(("the same input written with its keys in another order", flipped, limit))
    same_name = [(names[0], {"query": w, "limit": 3}) for w in words[: limit + 2]]
    trials.append(("one tool called with different inputs", same_name, limit))
    trials.append(("no calls at all", [], limit))
    trials.append(("a limit of 1 and one repeat", [call(5), call(1), call(5)], 1))
    return trials


def _check_circles(answer: Any) -> Verdict:
    fn = as_function(answer, "your going_in_circles")
    seed = fresh_seed()
    for kind, calls, limit in _circle_trials(seed):
        got, error = call_learner_code(fn, [(n, dict(a)) for n, a in calls], limit)
        if error:
            return wrong(f"On a hidden case ({kind}, check seed {seed}) it raised {error}.")
        if not isinstance(got, bool):
            raise AnswerError(f"going_in_circles returned {got!r}, a {type(got).__name__}; return True or False.")
        if got != _reference_circles(calls, limit):
            return wrong(f"Wrong on a hidden case: {kind} (limit={limit}, check seed {seed}). It returned {got}.")
    return passed("Right on every hidden case. agentkit.Agent uses the same brake: max_identical_calls.")


EXERCISES = Exercises("f01", "Foundations 01 exercises", "F01 What an agent is", lesson_notebook="notebooks/01_*.ipynb", tasks=[
    CodeTask("stop_handling", "Finish the loop: when to stop, and what to return", _check_stop_handling,
             "a function run_agent(client, task, tools, max_steps) -> (stop, text)",
             ("Every reply has a stop_reason. Only 'tool_use' means the model is waiting for tool results; any other "
              "reply ends the loop, and so does running out of steps. (lab.hint('stop_handling', 2) says how.)",
              "Inside the loop: if reply.stop_reason is not 'tool_use', return at once; a reply that ended with "
              "'end_turn' is a finished answer, anything else is a stop with no answer. After the loop, you hit the "
              "cap. (Hint 3 gives the mapping.)",
              "'end_turn' maps to 'final_answer' with the reply's text; 'max_tokens' and 'refusal' keep their names "
              "with ''; the line after the for loop returns the step-cap stop with ''.")),
    FunctionTask("circles", "A brake: notice when the model asks for the same call again and again", _check_circles,
                 "a function going_in_circles(calls, limit) -> True or False",
                 ("Two calls are 'the same' when both the tool name and the whole input match. Count each distinct "
                  "call. (lab.hint('circles', 2) says how to compare inputs.)",
                  "A dict cannot be a dict key, and {'a': 1, 'b': 2} == {'b': 2, 'a': 1}. Turn each input into "
                  "something hashable that ignores key order, or compare with == directly.",
                  "json.dumps(arguments, sort_keys=True) gives one string per input; pair it with the name, count, "
                  "and compare the largest count with limit (more than limit, not equal to it)."),
                 probes=(([("search", {"query": "x"})], 2),)),
], solutions={
    "stop_handling": """
        def run_agent(client, task, tools, max_steps=5):
            by_name = {t.name: t for t in tools}
            messages = [{"role": "user", "content": task}]
            for _ in range(max_steps):
                reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=1000, messages=messages,
                                               tools=[t.to_dict() for t in tools])
                messages.append({"role": "assistant", "content": reply.content})
                if reply.stop_reason != "tool_use":
                    if reply.stop_reason == "end_turn":
                        return "final_answer", "".join(b.text for b in reply.content if b.type == "text")
                    return reply.stop_reason, ""
                results = []
                for block in reply.content:
                    if block.type == "tool_use":
                        out = by_name[block.name].invoke(block.input)
                        results.append({"type": "tool_result", "tool_use_id": block.id,
                                        "content": out.content, "is_error": out.is_error})
                messages.append({"role": "user", "content": results})
            return "max_steps", ""
    """,
    "circles": """
        def going_in_circles(calls, limit=2):
            counts = {}
            for name, arguments in calls:
                key = (name, json.dumps(arguments, sort_keys=True))
                counts[key] = counts.get(key, 0) + 1
            return any(n > limit for n in counts.values())
    """,
}, answers={"stop_handling": "run_agent", "circles": "going_in_circles"})
