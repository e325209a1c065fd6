"""Tests for agentkit.evals: exact/field evals, eval runs and comparisons, the LLM judge, agreement."""

from __future__ import annotations

import pytest

import agentkit
from agentkit.cases.essay import TASK, labelled_essays
from agentkit.cases.support import STOCK_CASES, stock_bot
from agentkit.evals import (ESSAY_RUBRIC, Case, EvalError, Judge, JudgeError, PairVerdict, Rubric, Verdict,
                            agreement, compare, exact_match, field_match, parse_verdict, run_eval)
from agentkit.sim import simulator_of

# these tests read simulated time, so calls need not really sleep
pytestmark = pytest.mark.usefixtures("no_latency")


@pytest.fixture(scope="module")
def client():
    return agentkit.client(scenarios=["f03_essay", "f04_support"], quiet=True)


def test_exact_match_ignores_case_spacing_and_punctuation():
    assert exact_match("Yes.", "yes") and exact_match("  Blue  denim-jacket", "blue denim jacket")
    assert not exact_match("no", "yes") and not exact_match("", "yes")


def test_field_match_marks_each_field_and_missing_ones():
    assert field_match({"item": "Scarf", "in_stock": "no"}, {"item": "scarf", "in_stock": "yes"}) == \
        {"item": True, "in_stock": False}
    assert field_match("not a dict", {"item": "scarf"}) == {"item": False}
    with pytest.raises(EvalError, match="non-empty dict"):
        field_match({}, {})


def test_an_empty_eval_set_is_a_clear_error():
    with pytest.raises(EvalError, match="eval set is empty"):
        run_eval([], lambda x: x)


def test_duplicate_ids_and_bad_scorers_are_named():
    cases = [Case("a", 1, 1), Case("a", 2, 2)]
    with pytest.raises(EvalError, match="unique.*'a'"):
        run_eval(cases, lambda x: x)
    with pytest.raises(EvalError, match="case 'x'.*returned 'maybe'"):
        run_eval([Case("x", 1, 1)], lambda x: x, lambda out, exp: "maybe")
    with pytest.raises(EvalError, match="True/False"):
        run_eval([Case("x", 1, 1)], lambda x: x, lambda out, exp: {"f": 1})


def test_a_system_that_raises_fails_that_case_only():
    def system(x):
        if x == 2:
            raise RuntimeError("boom")
        return x

    run = run_eval([Case("one", 1, 1), Case("two", 2, 2)], system)
    assert [r.passed for r in run.results] == [True, False]
    assert run.results[1].error == "RuntimeError: boom"
    assert run.accuracy == 0.5


def test_stock_bot_v1_and_v2_as_the_lesson_states(client):
    v1 = run_eval(STOCK_CASES, stock_bot(client, "v1"), field_match, name="stock", version="v1")
    v2 = run_eval(STOCK_CASES, stock_bot(client, "v2"), field_match, name="stock", version="v2")
    assert v1.accuracy == pytest.approx(2 / 5) and v2.accuracy == 1.0
    assert v1.field_accuracy() == pytest.approx({"item": 0.6, "in_stock": 0.4})
    table = compare(v1, v2)
    assert list(table.loc[table["changed"], "case"]) == ["boots", "rain", "shirt"]
    # reproducible: the same eval again gives the same scores
    again = run_eval(STOCK_CASES, stock_bot(client, "v1"), field_match, version="v1")
    assert [r.score for r in again.results] == [r.score for r in v1.results]
    frame = v1.to_dataframe()
    assert {"case", "score", "passed", "field:item", "field:in_stock"} <= set(frame.columns)


def test_compare_refuses_runs_over_different_cases():
    a = run_eval([Case("x", 1, 1)], lambda x: x, version="a")
    b = run_eval([Case("y", 1, 1)], lambda x: x, version="b")
    with pytest.raises(EvalError, match="different cases"):
        compare(a, b)
    with pytest.raises(EvalError, match="at least two"):
        compare(a)


def test_parse_verdict_accepts_json_and_fenced_json():
    assert parse_verdict('{"reason": "ok", "score": 4}') == Verdict(reason="ok", score=4)
    assert parse_verdict('```json\n{"reason": "ok", "score": 2}\n```').score == 2
    assert parse_verdict('{"reason": "r", "better": "B"}', PairVerdict).better == "B"


def test_parse_verdict_reads_json_that_prose_surrounds():
    # what a live judge asked without structured outputs may send: a sentence before or after the object
    assert parse_verdict('Here is my verdict: {"reason": "ok", "score": 4} Hope that helps.').score == 4
    assert parse_verdict('Sure.\n```json\n{"reason": "ok", "score": 2}\n```\nLet me know.').score == 2
    assert parse_verdict('Not {this} one, but {"reason": "r", "score": 5}').score == 5


@pytest.mark.parametrize("reply, says", [
    ("Score: 4/5. Nice essay.", "not valid JSON"),
    ('{"reason": "great", "score": 7}', "score: Input should be less than or equal to 5"),
    ('{"score": 3}', "reason: Field required"),
    ("[4]", "does not match Verdict"),
])
def test_a_bad_judge_reply_is_a_clear_error_that_keeps_the_reply(reply, says):
    with pytest.raises(JudgeError, match=says) as info:
        parse_verdict(reply)
    assert info.value.reply == reply


def test_judge_asks_for_structured_output_and_still_validates(client):
    judge = Judge(client)
    graded = judge.grade(labelled_essays()["f03_draft_generic"][0], TASK)
    assert graded.verdict.score == 3 and graded.cost > 0 and graded.seconds > 0
    body = simulator_of(client).requests[-1]
    assert body["output_config"]["format"]["type"] == "json_schema"
    schema = body["output_config"]["format"]["schema"]
    assert set(schema["properties"]) == {"reason", "score"} and schema["additionalProperties"] is False


def test_a_judge_reply_that_is_not_json_raises_judge_error(client):
    # Without structured outputs nothing forces the reply into shape; the judge still refuses to guess a score.
    plain = Judge(client, structured=False)
    with pytest.raises(JudgeError, match="not valid JSON") as info:
        plain.grade("lorem ipsum dolor", TASK)
    assert info.value.reply == "Score: 4/5. Nice essay overall."
    assert "output_config" not in simulator_of(client).requests[-1]
    with pytest.raises(ValueError, match="non-empty"):
        Judge(client).grade("   ", TASK)


def test_calibration_figures_the_lesson_shows(client):
    judge = Judge(client)
    essays = labelled_essays()
    scores = [judge.grade(text, TASK).verdict.score for text, _ in essays.values()]
    human = [h for _, h in essays.values()]
    a = agreement(scores, human)
    assert a.n == 6
    assert a.exact == pytest.approx(1 / 3) and a.within_one == 1.0
    assert a.mean_difference == pytest.approx(4 / 6)  # lenient: two thirds of a point high on average
    assert round(a.kappa, 2) == 0.70


def test_position_bias_of_an_always_a_judge(client):
    essays = labelled_essays()
    pairs = [(essays["f03_draft_generic"][0], essays["f03_revise_specific_with_critique"][0])]
    assert Judge(client).position_consistency(TASK, pairs) == 0.0
    with pytest.raises(EvalError, match="at least one"):
        Judge(client).position_consistency(TASK, [])


def test_agreement_statistics():
    perfect = agreement([1, 3, 5], [1, 3, 5])
    assert perfect.exact == 1.0 and perfect.kappa == pytest.approx(1.0) and perfect.mean_difference == 0
    opposite = agreement([1, 5], [5, 1])
    assert opposite.kappa < 0 and opposite.within_one == 0
    with pytest.raises(EvalError, match="equally long"):
        agreement([1, 2], [1])
    with pytest.raises(EvalError, match="equally long"):
        agreement([], [])
    with pytest.raises(EvalError, match="among"):
        agreement([0, 6], [1, 2])


def test_rubric_needs_all_five_levels():
    with pytest.raises(ValueError, match="each score 1-5"):
        Rubric("x", {1: "a", 5: "b"})
    assert "5: specific" in ESSAY_RUBRIC.text()
