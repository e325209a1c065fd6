"""The course home: every lesson, quiz and lab, with the learner's own progress and links that open them.

`course_map()` finds the course's parts by their file names, so a new lesson
shows up without editing a list: `notebooks/NN_*.ipynb` is Foundations lesson
NN with `quizzes/foundations_NN.yaml`; `notebooks/m1_lK_*.ipynb` is Module 1
lesson K with `quizzes/lK_*.yaml` and `labs/lK_*.ipynb`; the module test is
`quizzes/module1_test.yaml` (taken in `quizzes/module1_quizzes.ipynb`).
`show_home()` renders it as Markdown whose relative links JupyterLab opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.course.paths import course_dir, notebook_cells


@dataclass(frozen=True)
class Entry:
    """One row of the course map (paths relative to the course folder)."""

    section: str  # "Foundations" | "Module 1: Profiling agent performance"
    title: str
    lesson: str | None  # notebook path
    quiz: str | None  # quiz id
    lab: str | None  # lab notebook path
    lab_id: str | None = None


def _title(path: Path) -> str:
    """The notebook's first Markdown heading, without the `#`."""
    try:
        cells = notebook_cells(path)
    except (OSError, ValueError):
        return path.stem
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            first = str(cell["source"]).strip().splitlines()
            if first:
                return first[0].lstrip("#").strip()
    return path.stem


#: Lessons after Module 1 that use everything before them: notebook stem -> quiz id.
CAPSTONES: dict[str, str] = {"12_profile_your_agent": "profile_your_agent"}


def course_map(root: Path | None = None) -> list[Entry]:
    """Every lesson in course order, with its quiz and lab when they exist."""
    root = root or course_dir()
    quizzes = {p.stem for p in (root / "quizzes").glob("*.yaml")}
    entries: list[Entry] = []
    for foundation in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if foundation.stem in CAPSTONES:
            continue
        number = foundation.name[:2]
        bank = f"foundations_{number}"
        entries.append(Entry("Foundations", _title(foundation), foundation.relative_to(root).as_posix(),
                             bank if bank in quizzes else None, None))
    lessons = {p.name.split("_")[1]: p for p in (root / "notebooks").glob("m1_l[0-9]_*.ipynb")}  # "m1_l3_..." -> "l3"
    labs = {p.name.split("_")[0]: p for p in (root / "labs").glob("l[0-9]_*.ipynb")}
    for k in sorted(set(lessons) | set(labs)):
        nb, lab = lessons.get(k), labs.get(k)
        quiz = next((q for q in sorted(quizzes) if q.startswith(f"{k}_")), None)
        title = _title(nb) if nb else f"M1 · {k.upper()} (lab only: the lesson is not written yet)"
        entries.append(Entry("Module 1: Profiling agent performance", title, nb.relative_to(root).as_posix() if nb else None,
                             quiz, lab.relative_to(root).as_posix() if lab else None, lab.stem if lab else None))
    if "module1_test" in quizzes:
        taker = root / "quizzes" / "module1_quizzes.ipynb"
        entries.append(Entry("Module 1: Profiling agent performance", "Module 1 test (15 questions, 70% to pass)",
                             taker.relative_to(root).as_posix() if taker.exists() else None, "module1_test", None))
    for stem, bank in CAPSTONES.items():
        capstone = root / "notebooks" / f"{stem}.ipynb"
        if capstone.exists():
            entries.append(Entry("Capstone", _title(capstone), capstone.relative_to(root).as_posix(),
                                 bank if bank in quizzes else None, None))
    return entries


def _progress() -> tuple[dict[str, float], dict[str, tuple[int, int]]]:
    """Best score per quiz id; (tasks passed, tasks in the lab) per lab id. Empty when the store is unusable."""
    from agentkit.course import progress
    from agentkit.course.lab import Lab, LabError

    best: dict[str, float] = {}
    labs: dict[str, tuple[int, int]] = {}
    try:
        attempts = progress.quiz_attempts()
        checks = progress.lab_checks()
    except progress.ProgressStoreError:
        return best, labs
    if not attempts.empty:
        best = {str(k): float(v) for k, v in attempts.groupby("quiz_id")["score"].max().items()}
    for lab_id, group in checks.groupby("lab_id") if not checks.empty else ():
        try:
            total = len(Lab.load(str(lab_id)).tasks)
        except LabError:
            continue
        labs[str(lab_id)] = (int(group[group["passed"]]["task_id"].nunique()), total)
    return best, labs


def home_markdown(root: Path | None = None, prefix: str = "") -> str:
    """The course map as a Markdown table with the learner's progress; links are relative to `prefix`."""
    best, labs = _progress()
    lines: list[str] = []
    section = None
    for e in course_map(root):
        if e.section != section:
            section = e.section
            lines += ["", f"### {section}", "", "| Lesson | Quiz | Lab |", "|---|---|---|"]
        lesson = f"[{e.title}]({prefix}{e.lesson})" if e.lesson else e.title
        if e.quiz is None:
            quiz = "–"
        elif e.quiz in best:
            quiz = f"best {best[e.quiz]:.0%}"
        else:
            quiz = "not taken yet"
        if e.lab is None:
            lab = "–"
        else:
            done, total = labs.get(e.lab_id or "", (0, 0))
            state = f"{done} of {total} tasks passed" if total else "not started"
            lab = f"[{Path(e.lab).stem}]({prefix}{e.lab}): {state}"
        lines.append(f"| {lesson} | {quiz} | {lab} |")
    return "\n".join(lines).strip()


def show_home() -> Any:
    """The course map with your progress, as Markdown (JupyterLab opens its links)."""
    from IPython.display import Markdown

    return Markdown(home_markdown())
