"""The examples the design-pattern lessons (07-10) run: tasks, schemas, tests, sources.

Kept as data in one place so a lesson and its tests use exactly the same
cases. What the simulated model answers to them is scripted in
``agentkit/scenarios/patterns_*.yaml``; against Claude the same tasks get
Claude's own answers, and the same checks judge them.
"""

from __future__ import annotations

import datetime

import pydantic

__all__ = [
    "CRITIC_SYSTEM", "CITATION_SOURCES", "CODE_TASK", "CODE_TESTS", "EMAIL_TASK", "MEETING_TASK", "Meeting",
    "RATING_TASK", "RATING_TESTS", "RESEARCH_TASK", "BENCHMARK_TASK", "reflection_eval_set",
]

# -- Lesson 07: reflection ---------------------------------------------------

#: The critic's instructions: find problems, answer in JSON the loop can read.
CRITIC_SYSTEM = (
    "You are an exacting reviewer. Read the draft you are given and list every concrete problem with it "
    "(vagueness, missing parts, tone, bugs). Reply with JSON only: "
    '{"ok": true, "problems": []} if it is ready, or {"ok": false, "problems": ["...", "..."]}.'
)

EMAIL_TASK = ("Draft a short e-mail to Alex asking to meet to discuss the project. "
              "I can do January 5-7. Sign it from me, Marina.")


class Meeting(pydantic.BaseModel):
    """A meeting extracted from a note: the JSON answer's schema."""

    title: str = pydantic.Field(min_length=1)
    date: datetime.date
    attendees: list[str] = pydantic.Field(min_length=1)
    duration_minutes: int = pydantic.Field(gt=0)


MEETING_TASK = (
    "Extract the meeting in this note as JSON with the fields title, date (YYYY-MM-DD), attendees (a list of "
    "names) and duration_minutes (an integer). Note: \"Budget review with Priya and Tom on 12 March 2026, "
    "about 45 minutes.\""
)

CODE_TASK = ("Write a Python function parse_duration(text) that turns a duration such as '1h30m', '45m' or '2h' "
             "into a number of minutes. Reply with a python code block.")
CODE_TESTS = {
    "hours_and_minutes": "assert parse_duration('1h30m') == 90",
    "minutes_only": "assert parse_duration('45m') == 45",
    "hours_only": "assert parse_duration('2h') == 120",
}

RATING_TASK = ("Write a Python function average_rating(ratings) that returns the mean of a list of star "
               "ratings, or None when the list is empty. Reply with a python code block.")
RATING_TESTS = {
    "mean": "assert average_rating([4, 5, 3]) == 4",
    "empty": "assert average_rating([]) is None",
}

CITATION_SOURCES = {
    1: "Product analytics: trial-to-paid conversion was 18.1% in Q2 and 13.4% in Q3; trial signups fell 31% "
       "after July 8.",
    2: "Release notes: release 7.4 (July 8) made a credit card mandatory at trial signup.",
}
_SOURCES_TEXT = "\n".join(f"[{n}] {text}" for n, text in CITATION_SOURCES.items())

RESEARCH_TASK = ("Using only these sources, say in three sentences how trial conversion changed in Q3 and why. "
                 f"Cite each figure as [n].\n{_SOURCES_TEXT}")
BENCHMARK_TASK = ("Using only these sources, say how our Q3 trial conversion compares with the industry "
                  f"benchmark. Cite each figure as [n].\n{_SOURCES_TEXT}")


def reflection_eval_set(client: object, meter: object) -> list:
    """The lesson's six eval items: four with external feedback, two with a critic only."""
    from agentkit.patterns.reflection import (
        EvalItem, citation_check, code_check, critic, email_rubric, schema_check,
    )

    review = critic(client, meter=meter, system=CRITIC_SYSTEM)  # type: ignore[arg-type]
    return [
        EvalItem("email (critic)", EMAIL_TASK, review, judge=email_rubric),
        EvalItem("meeting JSON (schema)", MEETING_TASK, schema_check(Meeting)),
        EvalItem("parse_duration (tests)", CODE_TASK, code_check(CODE_TESTS)),
        EvalItem("Q3 summary (citations)", RESEARCH_TASK, citation_check(CITATION_SOURCES)),
        EvalItem("average_rating (critic)", RATING_TASK, review, judge=code_check(RATING_TESTS)),
        EvalItem("benchmark (citations)", BENCHMARK_TASK, citation_check(CITATION_SOURCES)),
    ]
