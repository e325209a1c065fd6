"""The Module 1 test examines only what Lessons 1-4 teach, and cannot be passed by test-taking tricks.

Every question names the lesson section it examines: for Lessons 1-3 a section title of the course's source
(seed 003), for Lesson 4 a heading of the lesson notebook. A learner who answers by picking the longest choice,
the most specific one, or the one sharing most words with the question scores under 50%.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentkit.course.quiz import Quiz, load_spec, shuffled

ROOT = Path(__file__).resolve().parent.parent
SPEC = load_spec(ROOT / "quizzes" / "module1_test.yaml")

#: Lesson sections as the course's source (seed 003, Module 1) titles them.
SOURCE_SECTIONS: dict[str, set[str]] = {
    "L1": {"The Trace Layer", "What a Trace Actually Contains", "Key Distinction",
           "Instrumentation Strategies at the Framework Level", "Production Pattern",
           "What to Capture in Span Metadata"},
    "L2": {"Token Cost Anatomy", "The Four Token Buckets in an Agent Run", "Real Numbers",
           "Measuring Cost Per Step vs. Cost Per Task", "Optimization Trigger"},
    "L3": {"Latency Profiling", "Decomposing Agent Latency: The Seven Components", "The TTFT / TPOT Split",
           "Latency Profiling in Practice: Waterfall Analysis", "Measurement Discipline"},
}


def l4_headings() -> set[str]:
    text = ""
    for part in sorted((ROOT / "notebooks").glob("m1_l4[ab]_*.ipynb")):  # the lesson is in two notebooks
        nb = json.loads(part.read_text(encoding="utf-8"))
        text += "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown") + "\n"
    return {m.strip() for m in re.findall(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)}


def test_every_question_maps_to_a_section_of_a_lesson():
    sections = {**SOURCE_SECTIONS, "L4": l4_headings()}
    assert len(SPEC.questions) == 15
    unmapped = []
    for q in SPEC.questions:
        m = re.fullmatch(r"(L[1-4]) · (.+)", q.section)
        if not m or m.group(2) not in sections[m.group(1)]:
            unmapped.append(f"{q.id}: {q.section!r}")
    assert not unmapped, "questions without a real lesson section: " + "; ".join(unmapped)


def test_every_lesson_is_examined():
    per_lesson: dict[str, int] = {}
    for q in SPEC.questions:
        per_lesson[q.section[:2]] = per_lesson.get(q.section[:2], 0) + 1
    assert set(per_lesson) == {"L1", "L2", "L3", "L4"}
    assert min(per_lesson.values()) >= 3


def test_several_questions_give_a_trace_table_or_waterfall_to_read():
    reading = [q.id for q in SPEC.questions if q.prompt.count("\n") >= 3]
    assert len(reading) >= 5, reading


# -- test-taking tricks ----------------------------------------------------------------------------

STOP = {"the", "and", "for", "its", "that", "this", "what", "which", "with", "from", "are", "not", "does", "why",
        "how", "than", "each", "every", "your", "you", "their", "they", "them", "more", "most", "one"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in STOP}


def longest(choice, question) -> float:
    return len(choice.text)


def most_specific(choice, question) -> float:
    """Digits, code and long technical words: what 'sounds most precise'."""
    text = choice.text
    return len(re.findall(r"\d", text)) + 2 * text.count("`") + sum(len(w) >= 9 for w in re.findall(r"[A-Za-z]+", text))


def most_overlap(choice, question) -> float:
    return len(_words(choice.text) & _words(question.prompt))


def combined(choice, question) -> float:
    return sum(rank(choice, question, h) for h in (longest, most_specific, most_overlap))


def rank(choice, question, heuristic) -> int:
    return sorted(heuristic(c, question) for c in question.choices).index(heuristic(choice, question))


def trick_score(heuristic) -> float:
    """Expected score of answering every question by `heuristic` (ties split evenly; a number cannot be guessed).

    Single choice: the top-scoring choice. Multiple choice: the two top-scoring choices."""
    total = 0.0
    for q in SPEC.questions:
        if q.kind == "numeric":
            continue
        scores = [heuristic(c, q) for c in q.choices]
        if q.kind == "single":
            top = [c for c, s in zip(q.choices, scores) if s == max(scores)]
            total += sum(c.correct for c in top) / len(top)
        else:
            cut = sorted(scores, reverse=True)[1]
            picked = {i for i, s in enumerate(scores) if s >= cut}
            total += picked == {i for i, c in enumerate(q.choices) if c.correct}
    return total / len(SPEC.questions)


@pytest.mark.parametrize("heuristic", [longest, most_specific, most_overlap, combined], ids=lambda h: h.__name__)
def test_test_taking_tricks_score_under_half(heuristic):
    assert trick_score(heuristic) < 0.5
    choice_questions = [q for q in SPEC.questions if q.kind != "numeric"]
    # even counted over the choice questions alone, the trick fails more often than not
    assert trick_score(heuristic) * len(SPEC.questions) / len(choice_questions) < 0.5


# -- the problem questions, fixed -----------------------------------------------------------------


def _all_text(q) -> str:
    return " ".join([q.prompt, q.explanation, *(c.text + " " + c.feedback for c in q.choices)])


def test_stop_reason_is_refusal_not_filter():
    text = " ".join(_all_text(q) for q in SPEC.questions)
    assert "filter" not in text.lower()
    assert "`refusal`" in _all_text(next(q for q in SPEC.questions if q.id == "llm_span_fields"))


def test_batches_end_within_24_hours_most_within_one():
    batching = _all_text(next(q for q in SPEC.questions if q.id == "batching"))
    assert "within 24 hours" in batching and "most batches end within one" in batching


def test_cache_question_says_the_calls_fall_inside_the_cache_lifetime():
    q = next(q for q in SPEC.questions if q.id == "cache_savings")
    assert "within the cache's" in q.prompt and "lifetime" in q.prompt


def test_widening_model_spans_can_come_from_longer_output():
    q = next(q for q in SPEC.questions if q.id == "widening_model_spans")
    right = " ".join(c.text for c in q.correct_choices)
    assert "input grows" in right and "longer answers" in right


# -- choices shuffled per learner ---------------------------------------------------------------------


def test_choices_are_shuffled_per_learner(progress_db, monkeypatch):
    orders = {tuple(tuple(c.text for c in q.choices) for q in shuffled(SPEC, 1, key)) for key in ("ana", "ben", "chi")}
    assert len(orders) == 3
    seen = {}
    for learner in ("ana", "ben"):
        monkeypatch.setenv("AGENTKIT_LEARNER_ID", learner)
        seen[learner] = [q.choices for q in Quiz.load("module1_test", attempt=1).questions]
        assert seen[learner] == [q.choices for q in Quiz.load("module1_test", attempt=1).questions]
    assert seen["ana"] != seen["ben"]
