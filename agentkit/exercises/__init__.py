"""Checked exercises inside the lessons, on the lab engine (`agentkit.course.lab`).

A lesson's exercises are a small `Lab`: `lab = agentkit.exercises.load("f03")`, then
`lab.check("quadrants", answer)`, `lab.hint("quadrants")` and `lab.solution("quadrants")`. Every checker computes the
right answer with the same kit functions the lesson uses, so it never holds a typed result.

One module per lesson (`f03.py` for Foundations 03, `m1_l2.py` for Module 1 lesson 2, ...), each defining
`EXERCISES`; `load(lesson)` finds it by name. (They are not under `agentkit.labs`, which is for the full labs
with reference notebooks.)
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap
from dataclasses import dataclass, field, replace

from agentkit.course.lab import Lab, LabText

__all__ = ["load", "available", "Exercises"]


@dataclass
class Exercises(Lab):
    """A lesson's exercises: a `Lab` whose reference solutions live here, beside the checks, rather than in a
    lab notebook under labs/src (a lesson has no separate lab notebook). `answers` names the variable each
    solution defines, so a test can run every solution through its own check."""

    solutions: dict[str, str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)

    def reference(self, task_id: str) -> LabText:
        """The reference solution kept beside the checks (`solution()` shows it after a real attempt)."""
        self.task(task_id)
        code = self.solutions.get(task_id)
        if code is None:
            return LabText(f"No reference solution for {task_id}", "Try the hints: lab.hint(task_id, 1), 2, 3.")
        return LabText(f"Reference solution for {task_id}", "Read it, then write your own version and check it.",
                       textwrap.dedent(code).strip("\n"))


def available() -> list[str]:
    """The lessons that have exercises, by id ("f03", "m1_l2", ...)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(lesson: str) -> Lab:
    """A fresh copy (no attempts yet) of one lesson's exercises, by id: "f03", "f11", "m1_l2", ..."""
    if not isinstance(lesson, str) or lesson not in available():
        raise KeyError(f"no exercises for {lesson!r}; choose one of {', '.join(available())}")
    module = importlib.import_module(f"{__name__}.{lesson}")
    return replace(module.EXERCISES, _results={}, _hints_seen={}, reload_kind="exercises", reload_key=lesson)
