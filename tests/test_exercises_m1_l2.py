"""Lesson 2's checked exercises (agentkit/exercises/m1_l2.py), each tested three ways: the reference solution
passes, the notebook's stub is "not attempted", and plausible wrong attempts fail with the message meant for them.
The bucket counter and the breakpoint placement are judged on real simulated runs of the lesson's coding agent."""

from __future__ import annotations

import textwrap

import pytest

from agentkit import exercises
from agentkit.course.lab import TODO
from agentkit.models import DEFAULT_MODEL
from agentkit.pricing import price_of
from agentkit.tokens import count_tokens

TASKS = ["due_steps", "step_price", "tool_output_tokens", "place_breakpoints"]


@pytest.fixture
def lab(progress_db):
    return exercises.load("m1_l2")


def reference(lab, task):
    namespace = {"count_tokens": count_tokens, "price_of": price_of, "DEFAULT_MODEL": DEFAULT_MODEL}
    exec(textwrap.dedent(lab.solutions[task]), namespace)  # noqa: S102 - the kit's own reference code
    return namespace[lab.answers[task]]


def _stub(*args):
    answer = ...  # the notebook's stub: "your code here"
    return answer


@pytest.mark.parametrize("task", TASKS)
def test_reference_passes_and_stub_is_not_attempted(lab, task):
    assert lab.check(task, reference(lab, task)).passed
    assert lab.check(task, _stub).status == "not_attempted"
    assert lab.check(task, TODO).status == "not_attempted"


def test_checks_are_recorded_under_the_lesson(lab):
    from agentkit.course.progress import lab_checks

    lab.check("due_steps", reference(lab, "due_steps"))
    rows = lab_checks("m1_l2")
    assert list(rows["task_id"]) == ["due_steps"] and set(rows["lesson"]) == {"M1 L2 Token Cost Anatomy"}


@pytest.mark.parametrize("wrong, says", [
    (lambda right: lambda inputs, t=0.15: [n - 2 for n in right(inputs, t)], "list positions"),
    (lambda right: lambda inputs, t=0.15: [n + 1 for n in right(inputs, t)], "off by one"),
    (lambda right: lambda inputs, t=0.15: right(inputs, 0.15), "over 20%"),
    (lambda right: lambda inputs, t=0.15: 1 / 0, "ZeroDivisionError"),
])
def test_wrong_trigger_functions_are_explained(lab, wrong, says):
    result = lab.check("due_steps", wrong(reference(lab, "due_steps")))
    assert result.status == "wrong" and says in result.message, result.message


@pytest.mark.parametrize("wrong, says", [
    (lambda right: lambda u: (u["input_tokens"] + u.get("cache_creation_input_tokens", 0)
                              + u.get("cache_read_input_tokens", 0)) * price_of(DEFAULT_MODEL).input_per_token
     + u["output_tokens"] * price_of(DEFAULT_MODEL).output_per_token, "like plain input"),
    (lambda right: lambda u: right(u) * 1_000_000, "per million"),
    (lambda right: lambda u: "cheap", "as a number"),
])
def test_wrong_prices_are_explained(lab, wrong, says):
    result = lab.check("step_price", wrong(reference(lab, "step_price")))
    assert result.status == "wrong" and says in result.message, result.message


def _results(request):
    return [b for m in request["messages"] if isinstance(m["content"], list) for b in m["content"]
            if b.get("type") == "tool_result"]


def test_a_bucket_counter_that_counts_only_the_newest_outputs_is_told_so(lab):
    def newest_only(request):
        last = request["messages"][-1]["content"]
        blocks = [b for b in last if isinstance(last, list) and b.get("type") == "tool_result"]
        return sum(count_tokens(b["content"], request["model"]) for b in blocks)

    result = lab.check("tool_output_tokens", newest_only)
    assert result.status == "wrong" and "only the newest tool results" in result.message


def test_a_bucket_counter_that_assumes_string_content_fails_on_the_hidden_variant(lab):
    def strings_only(request):  # right on the public run, where every result is a string
        return sum(count_tokens(b["content"], request["model"]) for b in _results(request))

    result = lab.check("tool_output_tokens", strings_only)
    assert result.status == "wrong"
    assert "lists of text blocks" in result.message and "count each block's text" in result.message


def test_a_bucket_counter_that_counts_user_text_too_fails(lab):
    def everything_user(request):
        return sum(count_tokens(m["content"] if isinstance(m["content"], str) else
                                [b for b in m["content"]], request["model"])
                   for m in request["messages"] if m["role"] == "user")

    assert lab.check("tool_output_tokens", everything_user).status == "wrong"


def test_breakpoints_judged_by_running_the_agent(lab):
    def system_only(request):  # the fixed plan: tools + system cached, history paid in full every step
        request["system"] = [{"type": "text", "text": request["system"], "cache_control": {"type": "ephemeral"}}]
        return request

    def moving_only(request):  # a top-level breakpoint alone reads each previous request: also a good placement
        request["cache_control"] = {"type": "ephemeral"}

    fixed = lab.check("place_breakpoints", system_only)
    assert fixed.status == "wrong" and "over what a better placement pays" in fixed.message
    assert "previous step's whole request" in fixed.message
    assert lab.check("place_breakpoints", moving_only).passed  # edits in place, returns None: still judged
    nothing = lab.check("place_breakpoints", lambda request: request)
    assert nothing.status == "wrong" and "Nothing was read from the cache" in nothing.message


def test_breakpoints_that_edit_the_content_are_refused(lab):
    def trims(request):
        request["messages"] = request["messages"][-1:]
        request["cache_control"] = {"type": "ephemeral"}
        return request

    result = lab.check("place_breakpoints", trims)
    assert result.status == "wrong" and "do not edit the content" in result.message


def test_hints_stop_short_of_the_solution(lab):
    for task in lab.tasks:
        lines = [line.strip() for line in lab.solutions[task.id].splitlines() if len(line.strip()) > 15]
        for hint in task.hints:
            assert not any(line in hint for line in lines), (task.id, hint)


def test_wrong_trigger_messages_never_show_a_lab_2_answer(lab):
    from agentkit.costs import compression_due, marginal_growth
    from agentkit.labs import l2_token_cost as l2

    lab_answer = str(compression_due(marginal_growth(l2.GROWING)))
    result = lab.check("due_steps", lambda inputs, t=0.15: [])
    assert result.status == "wrong" and lab_answer not in result.message
