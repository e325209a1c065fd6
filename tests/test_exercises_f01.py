"""Foundations 01's exercises: each check passes the reference, calls the stub "not attempted", and fails a
plausible wrong attempt with the message meant for it."""

from __future__ import annotations

import json

import pytest

from agentkit import DEFAULT_MODEL, exercises
from exercise_helpers import reference


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


@pytest.fixture
def lab():
    return exercises.load("f01")


def _results(reply, tools):
    by_name = {t.name: t for t in tools}
    results = []
    for block in reply.content:
        if block.type == "tool_use":
            out = by_name[block.name].invoke(block.input)
            results.append({"type": "tool_result", "tool_use_id": block.id, "content": out.content,
                            "is_error": out.is_error})
    return results


def stub_run_agent(client, task, tools, max_steps=5):
    by_name = {t.name: t for t in tools}
    messages = [{"role": "user", "content": task}]
    for _ in range(max_steps):
        reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=1000, messages=messages,
                                       tools=[t.to_dict() for t in tools])
        messages.append({"role": "assistant", "content": reply.content})
        ...
        messages.append({"role": "user", "content": _results(reply, tools)})
    return ...


def only_end_turn(client, task, tools, max_steps=5):
    """Treats every reply without tool calls as a finished answer (a cut-off reply included)."""
    messages = [{"role": "user", "content": task}]
    for _ in range(max_steps):
        reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=1000, messages=messages,
                                       tools=[t.to_dict() for t in tools])
        messages.append({"role": "assistant", "content": reply.content})
        if reply.stop_reason != "tool_use":
            return "final_answer", "".join(b.text for b in reply.content if b.type == "text")
        messages.append({"role": "user", "content": _results(reply, tools)})
    return "max_steps", ""


def one_step_too_many(client, task, tools, max_steps=5):
    """Lets the model run max_steps + 1 times."""
    messages = [{"role": "user", "content": task}]
    for _ in range(max_steps + 1):
        reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=1000, messages=messages,
                                       tools=[t.to_dict() for t in tools])
        messages.append({"role": "assistant", "content": reply.content})
        if reply.stop_reason != "tool_use":
            if reply.stop_reason == "end_turn":
                return "final_answer", "".join(b.text for b in reply.content if b.type == "text")
            return reply.stop_reason, ""
        messages.append({"role": "user", "content": _results(reply, tools)})
    return "max_steps", ""


def made_up_results(client, task, tools, max_steps=5):
    """Answers every tool_use, but with "ok" instead of running the tool."""
    messages = [{"role": "user", "content": task}]
    for _ in range(max_steps):
        reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=1000, messages=messages,
                                       tools=[t.to_dict() for t in tools])
        messages.append({"role": "assistant", "content": reply.content})
        if reply.stop_reason != "tool_use":
            if reply.stop_reason == "end_turn":
                return "final_answer", "".join(b.text for b in reply.content if b.type == "text")
            return reply.stop_reason, ""
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": b.id, "content": "ok"}
                                                     for b in reply.content if b.type == "tool_use"]})
    return "max_steps", ""


def test_stop_handling_reference_passes(lab):
    result = lab.check("stop_handling", reference("f01", "stop_handling"))
    assert result.passed, result.message


def test_stop_handling_stub_is_not_attempted(lab):
    assert lab.check("stop_handling", stub_run_agent).status == "not_attempted"
    assert lab.check("stop_handling", ...).status == "not_attempted"


def test_stop_handling_wrong_attempts_fail_with_their_reason(lab):
    result = lab.check("stop_handling", only_end_turn)
    assert result.status == "wrong" and "cut off at max_tokens" in result.message and "'max_tokens'" in result.message
    result = lab.check("stop_handling", one_step_too_many)
    assert result.status == "wrong" and "never stops" in result.message and "needs exactly" in result.message
    result = lab.check("stop_handling", made_up_results)
    assert result.status == "wrong" and "not what the tool returned" in result.message
    assert lab.check("stop_handling", lambda client, task, tools, max_steps: ("final_answer", "")).status == "wrong"


def names_only(calls, limit=2):
    counts = {}
    for name, _ in calls:
        counts[name] = counts.get(name, 0) + 1
    return any(n > limit for n in counts.values())


def unsorted_keys(calls, limit=2):
    counts = {}
    for name, arguments in calls:
        key = (name, json.dumps(arguments))
        counts[key] = counts.get(key, 0) + 1
    return any(n > limit for n in counts.values())


def at_limit(calls, limit=2):
    return any(calls.count(c) >= limit for c in calls)


def stub_circles(calls, limit=2):
    answer = ...
    return answer


def test_circles_three_ways(lab):
    assert lab.check("circles", reference("f01", "circles")).passed
    assert lab.check("circles", lambda calls, limit=2: any(calls.count(c) > limit for c in calls)).passed
    assert lab.check("circles", stub_circles).status == "not_attempted"
    for wrong_fn, kind in ((names_only, "different inputs"), (unsorted_keys, "another order"),
                           (at_limit, "exactly `limit` times")):
        result = lab.check("circles", wrong_fn)
        assert result.status == "wrong" and kind in result.message, (wrong_fn.__name__, result.message)


def test_hints_stop_short_of_the_solution(lab):
    for task in ("stop_handling", "circles"):
        hints = [lab.hint(task, n).body for n in (1, 2, 3)]
        solution = lab.solutions[task]
        assert len(hints) == 3 and all(h and h not in solution for h in hints)
        assert "def " not in " ".join(hints)
