"""Shared by the tests of the Foundations 01-04 exercises: run a lesson's reference solution through its own check."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import agentkit
from agentkit import exercises


def reference(lesson: str, task_id: str, **extra: Any) -> Any:
    """The object a lesson's reference solution for `task_id` defines (what the learner passes to lab.check)."""
    lab = exercises.load(lesson)
    code = textwrap.dedent(lab.solutions[task_id])
    namespace: dict[str, Any] = {"json": json, "agentkit": agentkit, "DEFAULT_MODEL": agentkit.DEFAULT_MODEL,
                                 "FAST_MODEL": agentkit.FAST_MODEL, **extra}
    exec(compile(code, f"<{lesson} {task_id} solution>", "exec"), namespace)
    return namespace[lab.answers[task_id]]
