"""The checked exercises of lessons 07-10; they now live in `agentkit.exercises` (one module per lesson).

`exercises(7)` is kept for notebooks written against it: it is `agentkit.exercises.load("f07")`.
"""

from __future__ import annotations

from agentkit.course.lab import Lab

__all__ = ["exercises"]


def exercises(lesson: int) -> Lab:
    """The checked exercises of lesson `lesson` (7 to 10), fresh (no attempts yet)."""
    from agentkit.exercises import load

    if lesson not in (7, 8, 9, 10):
        raise ValueError(f"lessons with exercises here: 7, 8, 9, 10; got {lesson!r}")
    return load(f"f{lesson:02d}")
