"""The engine's defences (agentkit.course.lab, agentkit.course.regrade): a pass is judged again in a fresh
process, objects that equal anything never pass (also when a learner's function returns one), and a reference
solution opens only after a real attempt."""

from __future__ import annotations

from dataclasses import replace

from agentkit import pricing
from agentkit.cases.support_desk import SupportConfig
from agentkit.course.lab import Lab, call_learner_code
from agentkit.exercises import load as load_exercises
from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.routing import Router, keyword_classifier

ROUTER = Router({"easy": FAST_MODEL, "hard": DEFAULT_MODEL}, keyword_classifier(["refund", "return"]))
GOOD = SupportConfig(router=ROUTER, cache_prompt=True)


class Anything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def test_a_pass_is_confirmed_in_a_fresh_process(progress_db, fresh_checks):
    lab = Lab.load("l2_token_cost")
    assert lab.judges_in_fresh_process()
    result = lab.check("leverage", "history")
    assert result.passed, result


def test_prices_patched_in_the_kernel_cannot_pass_a_budget(progress_db, fresh_checks, monkeypatch):
    """Lab 4's cheat: make the default model's cache reads and output nearly free in this process, then hand in the plain default model."""
    row = pricing.PRICES[DEFAULT_MODEL]
    free = {**pricing.PRICES, DEFAULT_MODEL: replace(row, cache_read_per_mtok=row.input_per_mtok / 1e6,
                                                      output_per_mtok=row.output_per_mtok / 1e3)}
    monkeypatch.setattr(pricing, "PRICES", free)  # cache reads and output nearly free on the default model
    cheat = SupportConfig(DEFAULT_MODEL, cache_prompt=True)
    # Lab 4's checker re-prices from the installed table itself; the fresh process would refuse it besides
    # (test_a_patched_checker_cannot_pass shows that defence on its own).
    for fresh in ("0", "1"):
        monkeypatch.setenv("AGENTKIT_FRESH_CHECKS", fresh)
        assert not Lab.load("l4_meet_budget").check("meet_budget", cheat).passed


def test_a_patched_checker_cannot_pass(progress_db, fresh_checks, monkeypatch):
    from agentkit.labs import l4_meet_budget

    monkeypatch.setattr(l4_meet_budget, "COST_SHARE", 1.0)  # "the budget is the baseline's cost"
    result = Lab.load("l4_meet_budget").check("meet_budget", SupportConfig(DEFAULT_MODEL, cache_prompt=True))
    assert not result.passed and "fresh Python process" in result.message


def test_an_answer_that_cannot_be_sent_is_told_why(progress_db, fresh_checks):
    import threading

    lab = Lab.load("l2_token_cost")
    lock = threading.Lock()
    # a pass in the kernel whose answer cannot be pickled: a function closing over a lock
    result = lab.judges_in_fresh_process() and __import__("agentkit.course.regrade", fromlist=["x"]).judge_in_fresh_process(
        "lab", "l2_token_cost", "leverage", lambda: lock, 10)
    assert result.status == "invalid" and "cannot be sent" in result.message


def test_reference_runs_are_not_judged_again(progress_db, fresh_checks, monkeypatch):
    monkeypatch.setenv("AGENTKIT_REFERENCE_RUN", "1")
    assert not Lab.load("l2_token_cost").judges_in_fresh_process()


def test_exercises_are_judged_again_only_when_graded(progress_db, fresh_checks, monkeypatch):
    lab = load_exercises("f05")
    assert not lab.judges_in_fresh_process()
    monkeypatch.setenv("AGENTKIT_GRADED", "1")
    assert lab.judges_in_fresh_process()


def test_a_function_returning_an_always_equal_object_is_refused():
    value, error = call_learner_code(lambda: Anything())
    assert value is None and "equal to anything" in error
    value, error = call_learner_code(lambda: [1, {"a": Anything()}])
    assert value is None and "equal to anything" in error
    assert call_learner_code(lambda: [1, {"a": 2}]) == ([1, {"a": 2}], None)


def test_an_always_equal_object_inside_an_answer_is_refused(progress_db):
    lab = Lab.load("l2_token_cost")
    result = lab.check("leverage", [Anything()])
    assert result.status == "invalid" and "equal to anything" in result.message


def test_the_solution_opens_only_after_a_real_attempt(progress_db):
    lab = Lab.load("l2_token_cost")
    assert "after a real attempt" in lab.solution("leverage").title
    lab.check("leverage", ...)  # a placeholder is not an attempt
    assert "after a real attempt" in lab.solution("leverage").title
    lab.check("leverage", "system_prompt")
    assert lab.solution("leverage").title.startswith("Reference solution")


def test_reading_the_last_hint_opens_the_solution(progress_db):
    lab = load_exercises("f05")
    task = lab.task("citation")
    assert "after a real attempt" in lab.solution("citation").title
    lab.hint("citation", len(task.hints))
    assert lab.solution("citation").title.startswith("Reference solution")


def test_an_attempt_recorded_earlier_opens_the_solution_in_a_new_session(progress_db):
    Lab.load("l2_token_cost").check("leverage", "history")
    assert Lab.load("l2_token_cost").solution("leverage").title.startswith("Reference solution")
