"""What Foundations 00-04 promise a learner, read from the committed notebooks: each lesson 01-04 has at least two
checked exercises, 01, 02 and 04 write the mechanism with the SDK's own calls, 00-02 draw a figure, every exercise
cell is committed as the learner's stub ("not attempted yet"), and no reference solution appears anywhere in the
lesson (sources or outputs) before the learner has tried."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from agentkit import exercises

ROOT = Path(__file__).resolve().parent.parent
LESSONS = {"f01": "01_what_is_an_agent", "f02": "02_tool_use", "f03": "03_choosing_agent_work", "f04": "04_evaluation"}
SDK_CALL = re.compile(r"\bclient\.messages\.(create|parse|stream)\(")


def _cells(stem: str) -> list[dict]:
    return json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _outputs(cell: dict) -> str:
    parts = []
    for o in cell.get("outputs", []):
        parts.append("".join(o.get("text", "")))
        for value in o.get("data", {}).values():
            parts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list) else "")
    return "\n".join(parts)


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_each_lesson_has_two_checked_exercises_committed_as_stubs(lesson):
    checks = [c for c in _cells(LESSONS[lesson]) if c["cell_type"] == "code" and ".check(" in _source(c)]
    assert len(checks) >= 2
    for cell in checks:
        assert "Not attempted yet" in _outputs(cell), _source(cell)[:80]


@pytest.mark.parametrize("stem", ["01_what_is_an_agent", "02_tool_use", "04_evaluation"])
def test_the_mechanism_is_written_with_the_sdk_itself(stem):
    assert any(SDK_CALL.search(_source(c)) for c in _cells(stem) if c["cell_type"] == "code")


@pytest.mark.parametrize("stem", ["00_start_here", "01_what_is_an_agent", "02_tool_use"])
def test_the_first_lessons_draw_a_figure(stem):
    drawn = [c for c in _cells(stem) if c["cell_type"] == "code" and "plt." in _source(c)
             and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert drawn


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_no_reference_solution_appears_in_the_lesson(lesson):
    cells = _cells(LESSONS[lesson])
    text = "\n".join(_source(c) + "\n" + _outputs(c) for c in cells)
    lab = exercises.load(lesson)
    for task_id, code in lab.solutions.items():
        stub = next((_source(c) for c in cells if f'check("{task_id}"' in _source(c)), "")
        given = {line.split("  #")[0].strip() for line in stub.splitlines()}
        answer_lines = [line.strip() for line in textwrap.dedent(code).splitlines()
                        if len(line.strip()) > 20 and line.strip() not in given]
        shown = [line for line in answer_lines if line in text]
        # The lesson's own demonstration may share a line or two with an answer (the loop's `if reply.stop_reason
        # != "tool_use":` is the mechanism it teaches); the answer itself, most of its own lines, must not be there.
        assert answer_lines and len(shown) < len(answer_lines) / 2, \
            f"{lesson}.{task_id}: the lesson shows solution lines {shown}"
