"""The checked exercises of lesson F09 Multi-agent systems."""

from __future__ import annotations

from typing import Any

import pydantic

from agentkit.course.lab import AnswerError, Task, Verdict, passed, wrong
from agentkit.exercises import Exercises


# -- Lesson 09 ------------------------------------------------------------------------------


def _check_tagline_schema(answer: Any) -> Verdict:
    if not (isinstance(answer, type) and issubclass(answer, pydantic.BaseModel)):
        raise AnswerError(f"your answer is a {type(answer).__name__}; give the pydantic model class itself.")
    good: list[dict[str, Any]] = [{"text": "Arrive fresh. Pay less.", "tone": "punchy"},
                                  {"text": "An easier way to work.", "tone": "calm"}]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"text": "Arrive fresh", "tone": "shouty"}, "a tone other than punchy or calm"),
        ({"text": "x" * 41, "tone": "calm"}, "a tagline of 41 characters"),
        ({"tone": "calm"}, "a missing text"),
        ({"text": "Arrive fresh", "tone": "calm", "score": 9}, "an extra field the writer did not ask for"),
    ]
    for sample in good:
        try:
            answer.model_validate(sample)
        except pydantic.ValidationError as exc:
            return wrong(f"It refuses a good handoff {sample}: {exc.errors()[0]['msg']}.")
    for sample, what in bad:
        try:
            answer.model_validate(sample)
        except pydantic.ValidationError:
            continue
        return wrong(f"It accepts {what}: {sample}. A handoff schema must catch that before the next agent sees it.")
    return passed("It accepts both good taglines and refuses all four malformed handoffs.")


EXERCISES = Exercises("f09_multi_agent", "Lesson 09 exercises", "F09 Multi-agent systems", lesson_notebook="notebooks/09_*.ipynb", tasks=[
    Task("tagline_schema", "A handoff schema for a tagline", _check_tagline_schema, "a pydantic model class",
         ("Literal['punchy', 'calm'] restricts the tone; Field(max_length=40) the text.",
          "model_config = pydantic.ConfigDict(extra='forbid') refuses extra fields.")),
], solutions={
    "tagline_schema": """
        from typing import Literal

        import pydantic

        class Tagline(pydantic.BaseModel):
            model_config = pydantic.ConfigDict(extra="forbid")
            text: str = pydantic.Field(max_length=40)
            tone: Literal["punchy", "calm"]
    """,
}, answers={"tagline_schema": "Tagline"})
