"""Tests for agentkit.course.quiz (and its widget view): files, validation, answering, scoring."""

from __future__ import annotations

import collections
import textwrap
from pathlib import Path

import pytest

from agentkit.course import progress
from agentkit.course.quiz import (
    QUIZ_DIR, Question, Quiz, QuizFormatError, QuizInputError, choice_lengths_report, load_all, load_spec, quiz_files,
    shuffled,
)

LESSON_QUIZZES = ("l1_trace_layer", "l2_token_cost_anatomy", "l3_latency_profiling")


# --------------------------------------------------------------------------- helpers


def right_answer(q: Question) -> object:
    """The correct answer, computed from the question's own data."""
    if q.kind == "numeric":
        return q.answer if q.answer is not None else (q.range[0] + q.range[1]) / 2  # type: ignore[index]
    picks = [k for k, c in enumerate(q.choices) if c.correct]
    return picks[0] if q.kind == "single" else picks


def wrong_answer(q: Question) -> object:
    if q.kind == "numeric":
        base = q.answer if q.answer is not None else q.range[1]  # type: ignore[index]
        return base + q.tolerance + 1000
    return next(k for k, c in enumerate(q.choices) if not c.correct)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """\
id: {id}
lesson: L0
title: A quiz
questions:
  - id: first
    kind: single
    prompt: Pick the right one
    explanation: Because.
    choices:
      - text: right
        correct: true
      - text: wrong
  - id: second
    kind: {kind}
    prompt: Second question
    explanation: Because.
{body}
"""


def quiz_text(qid: str = "bad", kind: str = "single", body: str = "    choices:\n      - text: a\n        correct: true\n      - text: b") -> str:
    return GOOD.format(id=qid, kind=kind, body=body)


# --------------------------------------------------------------------------- the course's quiz files


def test_every_quiz_file_loads():
    specs = load_all()
    ids = [s.id for s in specs]
    assert len(specs) == len(quiz_files()) >= 4
    assert len(set(ids)) == len(ids)
    for lesson_quiz in LESSON_QUIZZES:
        spec = load_spec(QUIZ_DIR / f"{lesson_quiz}.yaml")
        assert len(spec.questions) == 3 and not spec.is_test


def test_module1_test_has_15_questions_and_a_70_percent_pass_mark():
    spec = load_spec(QUIZ_DIR / "module1_test.yaml")
    assert spec.is_test and spec.pass_mark == 0.7
    assert len(spec.questions) == 15
    assert {q.kind for q in spec.questions} == {"single", "multiple", "numeric"}
    assert not any("{" in q.prompt for q in spec.questions)  # no unfilled template text


def test_numeric_answers_match_the_worked_numbers():
    spec = load_spec(QUIZ_DIR / "module1_test.yaml")
    q = {x.id: x for x in spec.questions}
    assert q["tool_schema_cost"].accepts(15 * 10 * 300 * 3 / 1_000_000)
    assert q["ttft_tpot_total"].accepts(0.300 + 200 / 40)
    uncached = 10 * 10_000 * 3 / 1e6
    cached = 10_000 * 3 / 1e6 * (1.25 + 9 * 0.1)
    assert q["cache_savings"].accepts(100 * (1 - cached / uncached))
    assert q["cost_per_thousand"].accepts(1000 * (40_000 * 3 + 2_000 * 15) / 1e6)
    l2 = {x.id: x for x in load_spec(QUIZ_DIR / "l2_token_cost_anatomy.yaml").questions}
    assert l2["system_prompt_tokens"].accepts(2_000 * 15)


def test_every_choice_has_feedback_and_every_question_an_explanation():
    for spec in load_all():
        for q in spec.questions:
            assert q.explanation, (spec.id, q.id)
            assert all(c.feedback for c in q.choices), (spec.id, q.id)


def test_the_correct_choice_is_not_given_away_by_its_length():
    specs = load_all()
    longest, considered = choice_lengths_report(specs)
    assert considered >= 10
    assert longest / considered <= 1 / 3, f"the correct choice is the longest in {longest} of {considered} questions"
    shortest = sum(
        all(len(q.correct_choices[0].text) < len(c.text) for c in q.choices if not c.correct)
        for s in specs for q in s.questions if q.kind == "single"
    )
    assert shortest / considered <= 1 / 3, f"the correct choice is the shortest in {shortest} of {considered} questions"


def test_the_correct_choice_moves_around():
    positions: collections.Counter[int] = collections.Counter()
    for spec in load_all():
        for q in shuffled(spec, attempt=1):
            if q.kind == "single":
                positions[[c.correct for c in q.choices].index(True)] += 1
        for q_index, q in enumerate(spec.questions):
            if q.kind == "numeric":
                continue
            seen = {tuple(c.correct for c in shuffled(spec, a)[q_index].choices) for a in range(1, 9)}
            assert len(seen) > 1, f"{spec.id}/{q.id}: same layout on 8 attempts"
    total = sum(positions.values())
    assert max(positions.values()) / total <= 0.5, positions


def test_shuffle_is_seeded_by_quiz_and_attempt():
    spec = load_spec(QUIZ_DIR / "l1_trace_layer.yaml")
    assert shuffled(spec, 3) == shuffled(spec, 3)
    assert shuffled(spec, 1) != shuffled(spec, 2)
    assert sorted(c.text for c in shuffled(spec, 2)[0].choices) == sorted(c.text for c in spec.questions[0].choices)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("body", "kind", "expect"),
    [
        ("    choices:\n      - text: a\n      - text: b", "single", ["question 2 (id 'second')", "field 'choices'", "no choice is marked"]),
        ("    choices:\n      - text: a\n        correct: true\n      - text: b\n        correct: true", "single",
         ["question 2 (id 'second')", "field 'choices'", "exactly one"]),
        ("    choices:\n      - text: a\n        correctt: true\n      - text: b", "single",
         ["question 2 (id 'second')", "choices.0.correctt", "unknown field"]),
        ("    choices:\n      - text: a\n        correct: yes please\n      - text: b", "single",
         ["question 2 (id 'second')", "choices.0.correct", "boolean"]),
        ("    choices:\n      - text: only one\n        correct: true", "single", ["question 2", "field 'choices'"]),
        ("    answer: 3\n    range: [1, 5]", "numeric", ["question 2 (id 'second')", "field 'answer'", "not both"]),
        ("    unit: s", "numeric", ["question 2 (id 'second')", "field 'answer'", "neither"]),
        ("    answer: three", "numeric", ["question 2 (id 'second')", "field 'answer'", "number"]),
        ("    range: [5, 1]", "numeric", ["question 2 (id 'second')", "field 'range'", "above"]),
        ("    choices:\n      - text: a\n        correct: true\n      - text: b", "essay",
         ["question 2 (id 'second')", "field 'kind'", "single, multiple, numeric"]),
    ],
)
def test_malformed_question_names_file_question_and_field(tmp_path, body, kind, expect):
    path = write(tmp_path, "bad.yaml", quiz_text(kind=kind, body=body))
    with pytest.raises(QuizFormatError) as err:
        load_spec(path)
    message = str(err.value)
    assert str(path) in message
    for part in expect:
        assert part in message, f"{part!r} not in {message!r}"


def test_missing_field_and_duplicate_id(tmp_path):
    text = quiz_text().replace("    explanation: Because.\n    choices:\n      - text: a", "    choices:\n      - text: a")
    with pytest.raises(QuizFormatError, match=r"bad.yaml: question 2 \(id 'second'\), field 'explanation': missing"):
        load_spec(write(tmp_path, "bad.yaml", text))
    with pytest.raises(QuizFormatError, match=r"question 2 \(id 'first'\), field 'id': 'first' is used by an earlier"):
        load_spec(write(tmp_path, "bad.yaml", quiz_text().replace("id: second", "id: first")))


def test_file_level_errors(tmp_path):
    with pytest.raises(QuizFormatError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_spec(write(tmp_path, "bad.yaml", "id: x\nquestions: [\n  - {"))
    with pytest.raises(QuizFormatError, match=r"bad.yaml, field '\(top level\)': .* is not of type 'object'"):
        load_spec(write(tmp_path, "bad.yaml", "- just\n- a list\n"))
    with pytest.raises(QuizFormatError, match=r"bad.yaml, field 'title': missing"):
        load_spec(write(tmp_path, "bad.yaml", quiz_text().replace("title: A quiz\n", "")))
    with pytest.raises(QuizFormatError, match=r"other.yaml, field 'id': 'bad' does not match the file name"):
        load_spec(write(tmp_path, "other.yaml", quiz_text()))
    with pytest.raises(QuizFormatError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")


def test_load_by_id_by_path_and_unknown(tmp_path, progress_db):
    assert Quiz.load("l1_trace_layer").id == "l1_trace_layer"
    path = write(tmp_path, "mine.yaml", quiz_text(qid="mine"))
    assert Quiz.load(path).id == "mine"
    assert Quiz.load(str(path)).id == "mine"
    with pytest.raises(QuizFormatError, match=r"no quiz named 'l9_nope'.*available quizzes: .*l1_trace_layer"):
        Quiz.load("l9_nope")


# --------------------------------------------------------------------------- the headless API


def test_all_right_scores_one_and_is_recorded(progress_db):
    quiz = Quiz.load("l2_token_cost_anatomy", attempt=1)
    for i, q in enumerate(quiz.questions):
        fb = quiz.answer(i, right_answer(q))
        assert fb.correct is True
    result = quiz.submit()
    assert (result.score, result.correct, result.total, result.passed, result.saved) == (1.0, 3, 3, True, True)
    assert quiz.score == 1.0
    rows = progress.quiz_attempts("l2_token_cost_anatomy")
    assert len(rows) == 1 and rows.loc[0, "score"] == 1.0 and rows.loc[0, "attempt"] == 1


def test_wrong_answers_get_their_own_feedback(progress_db):
    quiz = Quiz.load("l1_trace_layer", attempt=1)
    q = quiz.questions[0]
    k = wrong_answer(q)
    fb = quiz.answer(q.id, k)
    assert fb.correct is False
    assert q.choices[k].feedback in fb.messages[0]  # the chosen choice's own feedback
    assert fb.explanation == q.explanation
    quiz.answer(1, right_answer(quiz.questions[1]))
    quiz.answer(2, wrong_answer(quiz.questions[2]))
    result = quiz.submit()
    assert result.correct == 1 and result.score == pytest.approx(1 / 3) and not result.passed
    assert "Score: 1/3 (33%)" in str(result)


def test_choices_by_letter_text_and_position(progress_db):
    quiz = Quiz.load("l1_trace_layer", attempt=2)
    q = quiz.questions[0]
    k = right_answer(q)
    for given in (k, chr(ord("A") + k), chr(ord("a") + k) + ")", q.choices[k].text.upper()):
        assert quiz.answer(0, given).correct is True, given


def test_multiple_select_is_all_or_nothing(progress_db):
    quiz = Quiz.load("l3_latency_profiling", attempt=1)
    q = quiz.question("crm_fix")
    right = right_answer(q)
    assert quiz.answer("crm_fix", right).correct is True
    partial = quiz.answer("crm_fix", right[:1])
    assert partial.correct is False and "You missed" in partial.messages[-1]
    extra = quiz.answer("crm_fix", [*right, wrong_answer(q)])
    assert extra.correct is False


def test_numeric_tolerance_range_and_text(progress_db):
    quiz = Quiz.load("module1_test", attempt=1)
    q = quiz.question("tool_schema_cost")
    quiz.answer("tool_schema_cost", "$0.135")
    quiz.answer("cache_savings", "78.5%")
    quiz.answer("ttft_tpot_total", 5.34)
    quiz.answer("cost_per_thousand", "1,000")
    result = quiz.submit(allow_unanswered=True)
    by_id = {f.question_id: f for f in result.feedback}
    assert by_id["tool_schema_cost"].correct and by_id["cache_savings"].correct and by_id["ttft_tpot_total"].correct
    assert not by_id["cost_per_thousand"].correct
    assert "The answer is 150 USD" in by_id["cost_per_thousand"].messages[0]
    assert q.accepts(0.135 + q.tolerance) and not q.accepts(0.135 + 2 * q.tolerance)


def test_a_test_hides_correctness_until_submitted(progress_db):
    quiz = Quiz.load("module1_test", attempt=1)
    assert quiz.is_test and quiz.pass_mark == 0.7
    fb = quiz.answer(0, right_answer(quiz.questions[0]))
    assert fb.correct is None and fb.messages == () and fb.explanation == ""
    assert quiz.feedback(0).correct is None
    assert quiz.feedback(1).explanation == "" and not quiz.feedback(1).answered  # unanswered: no spoilers
    # 11 of 15 right (73%) passes; 10 (67%) would not
    for i, q in enumerate(quiz.questions):
        quiz.answer(i, right_answer(q) if i < 11 else wrong_answer(q))
    result = quiz.submit()
    assert result.correct == 11 and result.passed
    assert quiz.feedback(0).correct is True and quiz.feedback(14).correct is False
    again = Quiz.load("module1_test", attempt=5)
    for i, q in enumerate(again.questions):
        again.answer(i, right_answer(q) if i < 10 else wrong_answer(q))
    assert not again.submit().passed


@pytest.mark.parametrize(
    ("question", "value", "expect"),
    [
        ("bottleneck", None, "no answer given; pick one of A, B, C, D"),
        ("bottleneck", "", "no answer given"),
        ("bottleneck", [], "no answer given"),
        ("bottleneck", ["A", "B"], "takes exactly one choice; you gave 2"),
        ("bottleneck", 2.5, "float 2.5 is not a choice"),
        ("bottleneck", True, "bool True is not a choice"),
        ("bottleneck", "Z", "neither a choice letter"),
        ("bottleneck", 7, "position 7 is out of range"),
        (9, "A", "question index 9 is out of range"),
        ("nope", "A", "no question with id 'nope'"),
        (1.0, "A", "not float 1.0"),
    ],
)
def test_bad_answers_give_clear_messages(progress_db, question, value, expect):
    quiz = Quiz.load("l1_trace_layer", attempt=1)
    with pytest.raises(QuizInputError) as err:
        quiz.answer(question, value)
    assert expect in str(err.value)
    # in IPython the error renders as one line, not a traceback
    assert err.value._render_traceback_() == [f"QuizInputError: {err.value}"]


def test_bad_numeric_answers(progress_db):
    quiz = Quiz.load("l2_token_cost_anatomy", attempt=1)
    for value, expect in (("thirty thousand", "wants a number (like 45000 or 0.135)"), ([30000], "not list"),
                          (float("nan"), "finite"), ("  ", "no answer given; type a number")):
        with pytest.raises(QuizInputError, match=expect.replace("(", r"\(").replace(")", r"\)")):
            quiz.answer("system_prompt_tokens", value)


def test_submit_rules_and_retake(progress_db):
    quiz = Quiz.load("l1_trace_layer")
    assert quiz.attempt == 1  # nothing recorded yet
    with pytest.raises(QuizInputError, match="not answered any question"):
        quiz.submit()
    quiz.answer(0, "A")
    with pytest.raises(QuizInputError, match="questions 2, 3 are not answered"):
        quiz.submit()
    result = quiz.submit(allow_unanswered=True)
    assert [f.answered for f in result.feedback] == [True, False, False]
    with pytest.raises(QuizInputError, match="already submitted; call retake"):
        quiz.answer(1, "A")
    first_layout = [q.choices for q in quiz.questions]
    quiz.retake()
    assert quiz.attempt == 2 and quiz.score is None and quiz.answers() == {}
    assert [q.choices for q in quiz.questions] != first_layout
    assert Quiz.load("l1_trace_layer").attempt == 2  # one attempt recorded -> next is 2


def test_a_broken_store_does_not_cost_the_learner_their_result(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("AGENTKIT_PROGRESS_DB", str(blocker / "progress.sqlite"))
    quiz = Quiz.load("l1_trace_layer")
    assert quiz.attempt == 1
    for i, q in enumerate(quiz.questions):
        quiz.answer(i, right_answer(q))
    result = quiz.submit()
    assert result.score == 1.0 and not result.saved
    assert "could not be saved" in result.summary() and "AGENTKIT_PROGRESS_DB" in result.summary()


# --------------------------------------------------------------------------- the widget


def test_widget_check_submit_and_retake(progress_db):
    import ipywidgets as widgets

    from agentkit.course.quiz_widget import QuizWidget

    quiz = Quiz.load("l2_token_cost_anatomy", attempt=1)
    view = QuizWidget(quiz)
    assert "agentkit-quiz-l2_token_cost_anatomy" in view.box._dom_classes
    radios, number, radios2 = view.inputs
    assert isinstance(radios, widgets.RadioButtons) and isinstance(number, widgets.Text)

    # checking with nothing chosen, then a non-number, shows messages, not tracebacks
    check_buttons = [w for row in view.questions_box.children for w in row.children if isinstance(w, widgets.Button)]
    check_buttons[0].click()
    assert "choose an answer first" in view.feedback[0].value
    number.value = "lots"
    check_buttons[1].click()
    assert "wants a number" in view.feedback[1].value

    radios.value = right_answer(quiz.questions[0])
    check_buttons[0].click()
    assert "✓ Correct" in view.feedback[0].value
    number.value = "30,000"
    radios2.value = wrong_answer(quiz.questions[2])
    view.submit_button.click()
    assert "Score: 2/3 (67%)" in view.message.value
    assert "✗ Not quite" in view.feedback[2].value
    assert view.submit_button.disabled and radios.disabled
    assert progress.attempt_count("l2_token_cost_anatomy") == 1

    view.retake_button.click()
    assert quiz.attempt == 2 and not view.submit_button.disabled
    assert "Attempt 2" in view.message.value and view.inputs[0].value is None


def test_widget_asks_before_submitting_with_blanks(progress_db):
    from agentkit.course.quiz_widget import QuizWidget

    quiz = Quiz.load("module1_test", attempt=1)
    view = QuizWidget(quiz)
    view.submit_button.click()
    assert "not answered any question" in view.message.value
    view.inputs[0].value = right_answer(quiz.questions[0])
    view.submit_button.click()
    assert "click Submit again" in view.message.value and not quiz.submitted
    view.submit_button.click()
    assert quiz.submitted and "Score: 1/15" in view.message.value


# --------------------------------------------------------------------------- hostile or careless input


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    # 9 levels of 9 aliases would be 387 million strings once walked
    lines = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    with pytest.raises(QuizFormatError, match=r"aliases \(\*a0\) are not allowed") as info:
        load_spec(path)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("field, value, expect", [
    ("answer", ".nan", "'answer': nan is not a finite number"),
    ("answer", ".inf", "'answer': inf is not a finite number"),
])
def test_numbers_in_a_bank_must_be_finite(tmp_path, field, value, expect):
    body = f"    {field}: {value}\n    tolerance: 1"
    with pytest.raises(QuizFormatError, match=expect):
        load_spec(write(tmp_path, "bad.yaml", quiz_text(kind="numeric", body=body)))
    body = "    answer: 3\n    tolerance: .inf"
    with pytest.raises(QuizFormatError, match="'tolerance': inf is not a finite number"):
        load_spec(write(tmp_path, "bad.yaml", quiz_text(kind="numeric", body=body)))
    body = "    range: [1, .inf]"
    with pytest.raises(QuizFormatError, match="'range'.*not finite"):
        load_spec(write(tmp_path, "bad.yaml", quiz_text(kind="numeric", body=body)))


def test_a_bank_that_is_not_utf8_gets_a_clear_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(quiz_text().encode() + b"\n# caf\xe9\n")
    with pytest.raises(QuizFormatError, match="not UTF-8 text"):
        load_spec(path)


def test_an_absurdly_large_number_is_a_clear_error(tmp_path, progress_db):
    path = write(tmp_path, "big.yaml", quiz_text(qid="big", kind="numeric", body="    answer: 3"))
    quiz = Quiz.load(path)
    for value in (10**400, "1" + "0" * 400):
        with pytest.raises(QuizInputError, match="number"):
            quiz.answer("second", value)


def test_a_choice_whose_text_is_another_choices_letter_is_ambiguous(tmp_path, progress_db):
    body = "    choices:\n      - text: C\n        correct: true\n      - text: A\n      - text: B"
    path = write(tmp_path, "letters.yaml", quiz_text(qid="letters", body=body))
    # an attempt whose shuffle puts the choice "C" anywhere but position C
    quiz = next(q for q in (Quiz.load(path, attempt=n) for n in range(1, 20))
                if [c.text for c in q.question("second").choices].index("C") != 2)
    text_c = [c.text for c in quiz.question("second").choices].index("C")
    with pytest.raises(QuizInputError, match="ambiguous"):
        quiz.answer("second", "C")
    quiz.answer("second", text_c)
    assert quiz.answers()["second"] == ["C"]


def test_a_valid_bank_loads_without_importing_jsonschema():
    import subprocess
    import sys

    code = ("import sys; from agentkit.course.quiz import load_all; load_all(); "
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- as a learner meets it


def test_choice_order_differs_between_learners_but_not_between_visits(progress_db, monkeypatch):
    spec = load_spec(QUIZ_DIR / "module1_test.yaml")
    orders = {}
    for learner in ("ana", "ben"):
        monkeypatch.setenv("AGENTKIT_LEARNER_ID", learner)
        first = [[c.text for c in q.choices] for q in Quiz(spec, attempt=1).questions]
        again = [[c.text for c in q.choices] for q in Quiz(spec, attempt=1).questions]
        assert first == again
        orders[learner] = first
    assert orders["ana"] != orders["ben"]


def test_a_learner_id_is_made_once_and_kept(progress_db):
    first = progress.learner_id()
    assert len(first) == 12 and progress.learner_id() == first


def test_two_of_three_passes_a_lesson_quiz(progress_db):
    quiz = Quiz.load("l2_token_cost_anatomy", attempt=1)
    for n, q in enumerate(quiz.questions):
        quiz.answer(n, right_answer(q) if n < 2 else wrong_answer(q))
    assert quiz.submit().passed


def test_a_fixed_answer_clears_its_error_and_markup_renders_once(progress_db, tmp_path):
    from agentkit.course.quiz_widget import QuizWidget

    body = ("    choices:\n      - text: the `tool_use` block\n        correct: true\n      - text: b\n"
            "      - text: c\n        correct: true")
    path = write(tmp_path, "marks.yaml", quiz_text(qid="marks", kind="multiple", body=body).replace(
        "prompt: Second question", "prompt: Which apply? (Select all that apply.)"))
    quiz = Quiz.load(path, attempt=1)
    view = QuizWidget(quiz)
    radios, boxes = view.inputs
    labels = [o[0] for o in radios.options] + [b.description for b in boxes.children]
    assert not any("`" in label for label in labels)
    assert any("<code>tool_use</code>" in b.description for b in boxes.children)
    prompt_html = view.questions_box.children[1].children[0].value
    assert prompt_html.lower().count("select all that apply") == 1

    view.submit_button.click()  # nothing answered
    quiz_numeric = Quiz.load(write(tmp_path, "num.yaml", quiz_text(qid="num", kind="numeric", body="    answer: 3")), attempt=1)
    view = QuizWidget(quiz_numeric)
    view.inputs[1].value = "three"
    view.submit_button.click()
    assert "wants a number" in view.feedback[1].value
    view.inputs[1].value = "3"  # fixed; question 1 still blank, so the quiz asks before submitting
    view.submit_button.click()
    assert not quiz_numeric.submitted and "click Submit again" in view.message.value
    assert "wants a number" not in view.feedback[1].value
