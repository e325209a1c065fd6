"""Tests for agentkit.course.lab: the task engine, the notebook API, and Lab 2's checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import agentkit
import agentkit.costs
import agentkit.course.lab
import agentkit.pricing
from agentkit.costs import AgentProfile, bucket_totals, caching_savings, compression_due, marginal_growth, run_steps, step_tokens
from agentkit.course.lab import (
    TODO,
    AnswerError,
    CheckResult,
    Lab,
    LabError,
    Task,
    as_mapping,
    as_names,
    as_number,
    as_whole_number,
    passed,
    placeholders_in,
    wrong,
)
from agentkit.course import progress
from agentkit.labs import l2_token_cost as l2
from agentkit.models import DEFAULT_MODEL


def _equals_seven(answer):
    return passed("seven it is") if as_number(answer) == 7 else wrong(f"{answer} is not seven")


def _crashes(answer):
    return answer.no_such_attribute


TOY = Lab(
    id="toy",
    title="Toy lab",
    lesson="Toy lesson",
    tasks=[
        Task("seven", "Say seven", _equals_seven, "the number 7", hints=("It is odd.", "It is prime.", "6 + 1")),
        Task("crash", "A checker with a bug", _crashes, "anything"),
    ],
)


# -- the engine ---------------------------------------------------------------


@pytest.mark.parametrize("answer", [..., None, TODO])
def test_placeholders_are_not_attempted_and_said_kindly(answer, progress_db):
    result = TOY.check("seven", answer)
    assert result.status == "not_attempted" and not result.passed
    assert "Nothing to check yet" in result.message
    assert 'lab.hint("seven")' in result.message


def test_partly_filled_answers_name_the_missing_parts():
    assert placeholders_in({"a": 1, "b": ..., "c": [1, None]}) == ["answer['b']", "answer['c'][1]"]
    result = TOY.task("seven").check({"x": 1, "y": ...})
    assert result.status == "not_attempted"
    assert "answer['y']" in result.message


def test_right_and_wrong_answers(progress_db):
    assert TOY.check("seven", 7).passed
    assert TOY.check("seven", np.int64(7)).passed  # numpy numbers are numbers
    result = TOY.check("seven", 8)
    assert result.status == "wrong" and result.message == "8 is not seven"


def test_wrong_types_get_a_sentence_not_a_traceback(progress_db):
    quoted = TOY.check("seven", "7")
    assert quoted.status == "invalid"
    assert "number in quotes" in quoted.message and quoted.expected == "the number 7"
    assert "True/False" in TOY.check("seven", True).message
    assert "single number" in TOY.check("seven", [7]).message


def test_a_checker_that_trips_reports_instead_of_raising(progress_db):
    result = TOY.check("crash", 1)
    assert result.status == "error"
    assert "AttributeError" in result.message and "report it" in result.message


def test_answer_helpers():
    assert as_whole_number(21100.0) == 21100
    with pytest.raises(AnswerError, match="whole numbers"):
        as_whole_number(2.5)
    assert as_mapping({"System Prompt": 1, "tools": 2}, ["system", "tools"], {"system_prompt": "system"}) == {
        "system": 1, "tools": 2}
    with pytest.raises(AnswerError, match="missing 'tools'"):
        as_mapping({"system": 1}, ["system", "tools"])
    with pytest.raises(AnswerError, match="does not use: 'foo'"):
        as_mapping({"system": 1, "tools": 2, "foo": 3}, ["system", "tools"])
    assert as_names(["Tools", "system"], ["tools", "system", "history"]) == {"tools", "system"}
    with pytest.raises(AnswerError, match="list or set"):
        as_names("tools", ["tools", "system"])


def test_unknown_lab_and_task_are_named():
    with pytest.raises(LabError, match="l2_token_cost"):
        Lab.load("l99_nope")
    with pytest.raises(LabError, match="Tasks: seven, crash"):
        TOY.check("eight", 8)


def test_graded_hints_and_past_the_last():
    assert TOY.hint("seven", 1).body == "It is odd."
    assert "lab.hint(\"seven\", 2)" in TOY.hint("seven", 1).title
    assert TOY.hint("seven", 3).body == "6 + 1"
    past = TOY.hint("seven", 4)
    assert "only 3 hints" in past.body and "6 + 1" in past.body and "lab.solution" in past.body
    assert "no hints" in TOY.hint("crash", 1).body
    with pytest.raises(LabError, match="numbered 1, 2, 3"):
        TOY.hint("seven", 0)


def test_every_check_is_recorded_in_the_progress_store(progress_db):
    from agentkit.course.progress import lab_checks

    lab = Lab.load("l2_token_cost")
    lab.check("leverage", ...)
    lab.check("leverage", "tools")
    lab.check("leverage", "history")
    rows = lab_checks("l2_token_cost")
    assert list(rows["task_id"]) == ["leverage"] * 3
    assert list(rows["passed"]) == [False, False, True]
    assert rows["detail"].iloc[0].startswith("not_attempted:")
    assert set(rows["lesson"]) == {lab.lesson}


def test_a_store_that_fails_does_not_lose_the_result(monkeypatch):
    import agentkit.course.progress as progress

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(progress, "record_lab_check", broken)
    result = TOY.check("seven", 7)
    assert result.passed and not result.saved
    assert "disk full" in result.note and "disk full" in repr(result)


def test_results_render_as_text_markdown_and_html():
    result = CheckResult("toy", "seven", "wrong", "<b>8</b> is not seven", expected="a number")
    text = repr(result)
    assert text == "[TRY AGAIN] seven: Not quite\n  <b>8</b> is not seven\n  Expected: a number"
    assert "&lt;b&gt;8&lt;/b&gt;" in result._repr_html_()  # learner text is escaped
    assert result._repr_markdown_().startswith("**Not quite**")
    assert not result


def test_status_counts_this_sessions_attempts(progress_db):
    lab = Lab.load("l2_token_cost")
    lab.check("leverage", "history")
    lab.check("run_input", 1)
    lab.check("cache_reads", ...)
    status = repr(lab.status())
    assert status.startswith("Lab 2: Token Cost Anatomy: 1 of 6 tasks passed")
    assert "not passed yet (1 try)" in status and "not attempted yet" in status and "not checked yet" in status
    assert "0 of 6" in repr(Lab.load("l2_token_cost").status())  # load gives a fresh copy


def test_every_task_has_a_reference_solution():
    for lab_id in Lab.available():
        lab = Lab.load(lab_id)
        for task in lab.tasks:
            solution = lab.reference(task.id)
            assert solution.code, f"{lab_id}.{task.id} has no solution block in labs/src"
            assert "# BEGIN SOLUTION" not in solution.code


# -- Lab 2: the checks compute their answers ------------------------------------


def _right_answers(profile: AgentProfile) -> dict:
    """Lab 2's answers, derived independently of the checkers (costs module + arithmetic)."""
    totals = bucket_totals(profile)
    return {
        "step10_input": step_tokens(profile, profile.steps).buckets(),
        "run_input": sum(s.input for s in run_steps(profile)),
        "leverage": max(totals, key=totals.get),
        "cache_reads": ["system", "tools", "history"],
        "cache_savings": caching_savings(profile, DEFAULT_MODEL, cache="moving"),
        "growth_steps": compression_due(marginal_growth(l2.GROWING)),
    }


def test_lab2_right_answers_pass(progress_db):
    lab = Lab.load("l2_token_cost")
    for task_id, answer in _right_answers(lab.scenario).items():
        result = lab.check(task_id, answer)
        assert result.passed, (task_id, result.message)


def test_lab2_figures_match_the_course_scenario():
    answers = _right_answers(l2.SCENARIO)
    assert answers["step10_input"] == {"tools": 4_200, "system": 3_500, "history": 12_600, "tool_outputs": 0,
                                       "user_input": 800}
    assert answers["run_input"] == 148_000
    assert answers["leverage"] == "history"
    # The moving breakpoint: every token written once (step 10's 21,100), steps 1-9's inputs read back.
    base = agentkit.pricing.price_of(DEFAULT_MODEL).input_per_token
    read_x = l2.multiplier(DEFAULT_MODEL, "cache_read_input_tokens")
    assert l2.multiplier(DEFAULT_MODEL, "cache_creation_input_tokens") == pytest.approx(1.25)
    assert answers["cache_savings"] == pytest.approx((148_000 - 1.25 * 21_100 - read_x * 126_900) * base)
    # The growing profile passes 15% from step 2 to step 8; the constant one only at step 2.
    assert answers["growth_steps"] == [2, 3, 4, 5, 6, 7, 8]
    assert compression_due(marginal_growth(l2.SCENARIO)) == [2]


def test_lab2_checks_follow_the_scenario_not_typed_numbers(monkeypatch):
    other = dataclasses.replace(l2.SCENARIO, system_prompt_tokens=20_000, steps=4)
    monkeypatch.setattr(l2, "SCENARIO", other)
    lab = Lab.load("l2_token_cost")
    for task_id, answer in _right_answers(other).items():
        assert lab.task(task_id).check(answer).passed, task_id
    # With a huge system prompt and few steps, the system prompt is the biggest bucket.
    assert _right_answers(other)["leverage"] == "system"
    assert not lab.task("leverage").check("history").passed
    assert not lab.task("run_input").check(148_000).passed


@pytest.mark.parametrize(
    "task_id, answer, says",
    [
        ("step10_input", {"tools": 350, "system": 3_500, "history": 12_600, "tool_outputs": 0, "user_input": 800}, "one tool's schema"),
        ("step10_input", {"tools": 4_200, "system": 35_000, "history": 12_600, "tool_outputs": 0, "user_input": 800}, "over all 10 steps"),
        ("step10_input", {"tools": 4_200, "system": 3_500, "history": 14_000, "tool_outputs": 0, "user_input": 800}, "counts 10 exchanges"),
        ("step10_input", {"tools": 4_200, "system": 3_500, "history": 5_400, "tool_outputs": 0, "user_input": 800}, "only the model's replies"),
        ("step10_input", {"tools": 4_200, "system": 3_500, "history": 12_600, "tool_outputs": 0, "user_input": 1_400}, "adds the output"),
        ("step10_input", {"tools": 4_200, "system": 3_500, "history": 12_600, "tool_outputs": 600, "user_input": 800}, "no tool output"),
        ("step10_input", {"system_prompt": 3_500, "tool_schemas": 4_200, "conversation_history": 12_600, "tool_results": 0, "user": 800}, "Step 10 sends 21,100"),
        ("step10_input", 21_100, "not one total"),
        ("run_input", 211_000, "as if it were step 10"),
        ("run_input", 21_100, "step 10's input alone"),
        ("run_input", 154_000, "added the output tokens"),
        ("leverage", "tools", "another bucket sends more"),
        ("leverage", "user_input", "smallest share"),
        ("cache_reads", {"tools", "system", "history"}, "reads everything step 9 sent"),
        ("cache_reads", {"tools", "system"}, "the fixed plan"),
        ("cache_reads", {"tools", "system", "history", "user_input"}, "never been sent before"),
        ("cache_reads", {"history"}, "tools and system before it"),
        ("cache_reads", ["system"], "tools is left out"),
        ("growth_steps", [2], "constant-addition profile"),
        ("growth_steps", [3, 4, 5, 6, 7, 8, 9], "Off by one"),
        ("growth_steps", [0, 1, 2, 3, 4, 5, 6], "list positions"),
        ("growth_steps", [2, 3], "lower edge"),
        ("growth_steps", 7, "as a list"),
    ],
)
def test_lab2_wrong_answers_say_what_is_wrong(task_id, answer, says):
    result = l2.LAB.task(task_id).check(answer)
    assert says in result.message, result.message


def _savings(**kw):
    return caching_savings(l2.SCENARIO, DEFAULT_MODEL, **kw)


@pytest.mark.parametrize(
    "answer, says",
    [
        (lambda: _savings(cache="prefix"), "fixed plan"),
        (lambda: _savings(cache="moving", ttl="1h"), "1-hour cache"),
        (lambda: _savings() / agentkit.pricing.price_of(DEFAULT_MODEL).input_per_token, "number of tokens"),
        (lambda: _savings() / agentkit.costs.run_cost(l2.SCENARIO, DEFAULT_MODEL).dollars * 100, "percentage"),
        (lambda: agentkit.costs.run_cost(l2.SCENARIO, DEFAULT_MODEL, cache="moving").dollars, "costs with caching"),
        (lambda: _savings() + 0.003, "three decimals"),
    ],
)
def test_lab2_wrong_savings_say_what_is_wrong(answer, says):
    result = l2.LAB.task("cache_savings").check(answer())
    assert not result.passed and says in result.message, result.message


def test_lab2_savings_without_the_write_premium_are_named():
    cached = agentkit.costs.run_cost(l2.SCENARIO, DEFAULT_MODEL, cache="moving")
    plain = agentkit.costs.run_cost(l2.SCENARIO, DEFAULT_MODEL)
    read_x = l2.multiplier(DEFAULT_MODEL, "cache_read_input_tokens")
    base = agentkit.pricing.price_of(DEFAULT_MODEL).input_per_token
    answer = plain.dollars - (cached.cache_write_tokens + cached.cache_read_tokens * read_x) * base
    assert "write premium" in l2.LAB.task("cache_savings").check(answer).message


def test_lab2_rounded_answers_pass():
    assert l2.LAB.task("cache_savings").check(round(_savings(cache="moving"), 3)).passed


def test_lab2_points_at_the_lesson_notebook():
    assert (agentkit.course.lab.REPO_ROOT / l2.LAB.lesson_notebook).exists()


def test_lab_is_exported():
    assert agentkit.Lab is Lab


def test_a_checker_returning_a_bare_bool_is_reported_as_a_lab_bug():
    result = Task("bare", "Bare bool", lambda answer: True, "anything").check(1)
    assert result.status == "error" and "not a Verdict" in result.message


def test_function_task_reports_an_unwritten_function_as_not_attempted():
    from agentkit.course.lab import FunctionTask, passed, wrong

    def checker(fn):
        return passed("doubles") if fn(2) == 4 else wrong(f"double(2) gave {fn(2)!r}, expected 4")

    task = FunctionTask("double", "Write double", checker, "a function of one number", probes=((1,),))

    def stub(x):
        result = ...
        return result

    assert task.check(stub).status == "not_attempted"
    assert task.check(lambda x: 2 * x).status == "passed"
    assert task.check(lambda x: x + 1).status == "wrong"


# -- hostile or careless answers -------------------------------------------------


def test_a_function_that_never_returns_is_stopped_with_a_clear_message(progress_db, monkeypatch):
    from agentkit.course import lab as lab_module
    from agentkit.course.lab import FunctionTask, as_function, call_learner_code

    monkeypatch.setattr(lab_module, "CHECK_TIME_LIMIT_S", 0.3)

    def runs_it(answer):
        value, error = call_learner_code(as_function(answer, "your function"), 3)
        return passed("ok") if value == 6 else wrong(f"got {value} ({error})")

    looping = Lab("loops", "Loops", "Toy lesson", [Task("double", "Double it", runs_it, "a function"),
                                                   FunctionTask("probed", "Double it", runs_it, "a function",
                                                                probes=((3,),))])

    def forever(x):
        while True:
            x += 1

    for task in ("double", "probed"):
        result = looping.check(task, forever)
        assert result.status == "invalid" and "stopped after 0.3 seconds" in result.message
    assert looping.check("double", lambda x: 2 * x).passed  # the timer is gone afterwards


@pytest.mark.parametrize("answer, says", [
    (float("nan"), "not a finite number"),
    (float("inf"), "not a finite number"),
    (np.float64("nan"), "not a finite number"),
    (10**400, "far too large"),
])
def test_nan_infinite_and_huge_numbers_get_a_specific_sentence(progress_db, answer, says):
    result = TOY.check("seven", answer)
    assert result.status == "invalid" and says in result.message


def test_an_answer_that_equals_everything_does_not_pass(progress_db):
    class Liar:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    result = TOY.check("seven", Liar())
    assert result.status == "invalid" and "equal to anything" in result.message
    assert not progress.lab_checks("toy").passed.iloc[-1]


def test_a_key_in_an_answer_is_not_stored_in_clear(progress_db):
    key = "sk-ant-" + "api03-" + "x" * 40
    TOY.check("seven", key)
    stored = progress.lab_checks("toy").detail.iloc[-1]
    assert key not in stored and "REDACTED" in stored


def test_status_renders_as_a_table_in_a_notebook(progress_db):
    lab = dataclasses.replace(TOY, _results={})
    lab.check("seven", 7)
    markdown = lab.status()._repr_markdown_()
    lines = markdown.splitlines()
    assert "| Task | Status | What it asks |" in lines and "|---|---|---|" in lines
    assert "| `seven` | passed | Say seven |" in lines
    assert "| `crash` | not checked yet | A checker with a bug |" in lines
