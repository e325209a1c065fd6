"""Lessons 09-11 as a learner meets them: the learner builds (at least two checked exercises, one of them code
that calls the model), the mechanism is written with the plain SDK in a cell, and no exercise's answer is in the
lesson before the learner writes it."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from agentkit import exercises

ROOT = Path(__file__).resolve().parents[1]
LESSONS = {"f09": "09_multi_agent.ipynb", "f10": "10_decomposition.ipynb", "f11": "11_production.ipynb"}


def _cells(name: str) -> list[dict]:
    return json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))["cells"]


def _outputs(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append("".join(out.get("text", "")))
        for value in out.get("data", {}).values():
            parts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list) else "")
    return "\n".join(parts)


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_every_exercise_has_a_check_cell_that_is_not_attempted_yet(lesson):
    cells = [c for c in _cells(LESSONS[lesson]) if c["cell_type"] == "code"]
    lab = exercises.load(lesson)
    assert len(lab.tasks) >= 2
    for task in lab.tasks:
        checks = [c for c in cells if f'lab.check("{task.id}"' in "".join(c["source"])]
        assert len(checks) == 1, task.id
        assert "Not attempted yet" in _outputs(checks[0]), task.id


@pytest.mark.parametrize("lesson", ["f09", "f10"])
def test_the_mechanism_calls_the_sdk_directly(lesson):
    sources = ["".join(c["source"]) for c in _cells(LESSONS[lesson]) if c["cell_type"] == "code"]
    assert any(re.search(r"client\.messages\.(create|parse|stream)\(", s) for s in sources)


def _distinctive_lines(code: str) -> list[str]:
    """The lines of a reference solution that give something away (not imports, defs, docstrings or returns)."""
    lines = [line.strip() for line in textwrap.dedent(code).splitlines()]
    return [line for line in lines
            if len(line) > 25 and not line.startswith(("import ", "from ", "def ", "class ", '"', "#", "return"))]


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_no_reference_solution_is_in_the_lesson(lesson):
    # A solution shares SDK calls and the ReAct loop's skeleton (lesson 02) with the lesson's own cells: that is the
    # point of writing the mechanism out first and asking for a variant. The rule: at least half of a solution's
    # telling lines (the variant's own work) appear nowhere in the lesson.
    lab = exercises.load(lesson)
    text = "\n".join("".join(c["source"]) + "\n" + _outputs(c) for c in _cells(LESSONS[lesson]))
    for task in lab.tasks:
        lines = _distinctive_lines(lab.solutions[task.id])
        shown = [line for line in lines if line in text]
        assert len(shown) * 2 <= len(lines), f"{lesson}.{task.id}: the lesson shows {shown} of {len(lines)} lines"


def test_lesson_11_prints_neither_value_answer():
    from agentkit.cases import production as p

    table = p.research_run_costs()
    monthly = p.monthly_cost(float(table["total $"].sum()), runs_per_day=5_000)["per month"]
    text = "\n".join("".join(c["source"]) + _outputs(c) for c in _cells(LESSONS["f11"]))
    assert f"{monthly:,.2f}" not in text and f"{monthly:,.0f}" not in text
    assert "biggest bucket:" not in text.lower()  # the old print that named the answer
