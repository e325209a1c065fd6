"""No exercise or lab answer is shown where a learner reads before solving (EXERCISES.md, rules 9 and 11): the
exercise's own lesson notebook (every part of a split lesson) and the learner version of a lab.

A reference solution's substantive lines (code lines of 30 characters or more; comments, docstrings, signatures and
imports aside, since a stub shows those) must
not appear, as a group, in any lesson notebook or learner lab: not in a cell's source and not in a stored output.
A lesson may well share an idiom with a solution, so one or two lines in common are allowed; half of a solution's
lines is an answer printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit import exercises
from agentkit.course.lab import Lab

ROOT = Path(__file__).resolve().parent.parent
READ_BEFORE_SOLVING = sorted([*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "labs").glob("*.ipynb"),
                              ROOT / "START_HERE.ipynb"])
MIN_LINE = 30


def substantive_lines(code: str) -> set[str]:
    lines = set()
    in_doc = False
    for raw in code.splitlines():
        line = raw.strip()
        if line.startswith(('"""', "'''")):
            in_doc = not (line.count('"""') + line.count("'''") >= 2) and not in_doc
            continue
        # a stub shows the signature and imports the learner starts from: those are not the answer
        if in_doc or line.startswith(("#", "def ", "class ", "import ", "from ")) or len(line) < MIN_LINE:
            continue
        lines.add(line)
    return lines


def notebook_text(path: Path) -> str:
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        parts.append("".join(cell.get("source", "")))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for value in out.get("data", {}).values():
                parts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


def read_first(lab: Lab, learner_lab: str | None) -> list[Path]:
    """The notebooks a learner reads before solving `lab`'s tasks: its lesson (all parts) and its learner lab.

    An earlier lesson may teach the mechanism an exercise then varies (lesson 01's loop is the base of lesson
    11's budget stop), so only the exercise's own lesson and lab count."""
    found = []
    if lab.lesson_notebook:
        stem = lab.lesson_notebook.removesuffix(".ipynb").rstrip("*")  # "notebooks/m1_l4_*" also finds m1_l4a_, m1_l4b_
        found += sorted(ROOT.glob(stem + "*.ipynb"))
    if learner_lab and (ROOT / learner_lab).is_file():
        found.append(ROOT / learner_lab)
    return found


def references() -> list[tuple[str, str, str, tuple[Path, ...]]]:
    """(where, task, reference code, notebooks read first) for every in-lesson exercise and every lab task."""
    found = []
    for name in exercises.available():
        lab = exercises.load(name)
        for task in lab.tasks:
            code = lab.reference(task.id).code
            if code:
                found.append((f"exercises {name}", task.id, code, tuple(read_first(lab, None))))
    for lab_id in Lab.available():
        lab = Lab.load(lab_id)
        for task in lab.tasks:
            code = lab.reference(task.id).code
            if code:
                found.append((f"lab {lab_id}", task.id, code, tuple(read_first(lab, f"labs/{lab_id}.ipynb"))))
    return found


def test_every_exercise_and_lab_names_a_lesson_that_exists():
    for where, task, _, paths in references():
        assert paths, f"{where} ({task}): its lesson_notebook finds no notebook; set it to the lesson's file"


TEXTS = {p: notebook_text(p) for p in READ_BEFORE_SOLVING}


def given_by_stub(path: Path, task: str) -> set[str]:
    """The lines (comments cut) of the code cells in `path` that check `task`: what its stub gives the learner."""
    given: set[str] = set()
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "code" and (f'check("{task}"' in source or f"check('{task}'" in source):
            given |= {line.split("  #")[0].strip() for line in source.splitlines()}
    return given


@pytest.mark.parametrize("where,task,code,paths", references(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_no_reference_solution_is_shown_in_a_lesson_or_learner_lab(where, task, code, paths):
    lines = substantive_lines(code)
    if len(lines) < 2:
        pytest.skip("too short a solution to tell from an idiom the lesson shares")
    for path in paths:
        text = TEXTS.get(path) or notebook_text(path)
        # a fill-in stub hands the learner part of the code (a loop with its stop handling left out): the lines its
        # own exercise cell gives are not the answer, the rest of the reference is
        own = given_by_stub(path, task) if where.startswith("exercises") else set()
        rest = [line for line in lines if line not in own]
        if len(lines) >= 2 and not rest:
            continue
        shown = [line for line in rest if line in text]
        assert len(shown) < max(2, len(rest) / 2), (
            f"{path.relative_to(ROOT)} shows {len(shown)} of the {len(rest)} lines of {where}'s reference for "
            f"{task!r}, e.g. {shown[0]!r}: a learner reads the answer before solving")


def test_the_check_catches_a_printed_solution(tmp_path):
    code = references()[0][2]  # (where, task, code, notebooks)
    lines = substantive_lines(code)
    assert lines, "the first reference has substantive lines"
    assert all(line in code for line in lines)
