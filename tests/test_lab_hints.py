"""Hints for Labs 1 and 3 stop short of the answer: no hint holds a line of the reference solution (issue 20)."""

from __future__ import annotations

import re

import pytest

from agentkit.course.lab import Lab, reference_solutions
from agentkit.course.paths import lab_sources_dir


WINDOW = 26  # characters of solution code (spaces removed) that no hint may repeat


def _code_lines(code: str) -> list[str]:
    lines = []
    for line in code.splitlines():
        line = line.strip()
        if len(line) >= 20 and not line.startswith(("#", "def ", '"""', "'''", "return ")):
            lines.append(re.sub(r"\s+", "", line))
    return lines


@pytest.mark.parametrize("lab_id", ["l1_trace_schema", "l3_latency_profiling"])
def test_no_hint_holds_a_line_of_the_solution(lab_id):
    lab = Lab.load(lab_id)
    solutions = reference_solutions(lab_sources_dir() / f"{lab_id}.ipynb")
    assert set(solutions) == {t.id for t in lab.tasks}
    for task in lab.tasks:
        lines = _code_lines(solutions[task.id])
        assert lines, task.id
        for hint in task.hints:
            flat = re.sub(r"\s+", "", hint)
            leaked = [line[i:i + WINDOW] for line in lines for i in range(max(len(line) - WINDOW + 1, 0))
                      if line[i:i + WINDOW] in flat]
            assert not leaked, f"{lab_id}/{task.id}: a hint holds solution code {leaked[0]!r}"
