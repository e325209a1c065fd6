"""The course home: every lesson, quiz and lab, with the learner's own progress and links that open them.

`course_map()` finds the course's parts by their file names, so a new lesson
shows up without editing a list: `notebooks/NN_*.ipynb` is Foundations lesson
NN with `quizzes/foundations_NN.yaml`; `notebooks/m1_lK_*.ipynb` is Module 1
lesson K with `quizzes/lK_*.yaml` and `labs/lK_*.ipynb`; the module test is
`quizzes/module1_test.yaml` (taken in `quizzes/module1_quizzes.ipynb`).
A lesson's in-lesson exercises are `agentkit.exercises` module `fNN` (or `pNN`) for Foundations lesson NN and
`m1_lK` for Module 1 lesson K. `show_home()` renders it as Markdown whose relative links JupyterLab opens, with
each lesson's expected time (`lesson_minutes`) and the learner's exercises passed.
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
    exercises: str | None = None  # the lesson's exercises id for agentkit.exercises.load ("f03", "m1_l2")
    minutes: int | None = None  # expected time for the lesson notebook (see lesson_minutes)


#: Reading speed for lesson prose and the time a learner spends on a code cell and on a checked exercise: the
#: rough rates course designers use (technical prose at about 200 words a minute), rounded up to 5 minutes.
WORDS_PER_MINUTE = 200
MINUTES_PER_CODE_CELL = 0.5
MINUTES_PER_EXERCISE = 6


def lesson_minutes(path: Path, exercises: int = 0) -> int | None:
    """Expected minutes for a notebook: its prose read, its code cells run and read, its exercises written."""
    try:
        cells = notebook_cells(path)
    except (OSError, ValueError):
        return None
    words = sum(len(str(c["source"]).split()) for c in cells if c.get("cell_type") == "markdown")
    code = sum(1 for c in cells if c.get("cell_type") == "code" and str(c["source"]).strip())
    minutes = words / WORDS_PER_MINUTE + code * MINUTES_PER_CODE_CELL + exercises * MINUTES_PER_EXERCISE
    return max(5, 5 * -(-int(minutes) // 5))


def _exercise_tasks(candidates: list[str]) -> tuple[str | None, int]:
    """The first of `candidates` that names a lesson's exercises, and how many tasks it has."""
    from agentkit import exercises

    known = set(exercises.available())
    for name in candidates:
        if name in known:
            try:
                return name, len(exercises.load(name).tasks)
            except Exception:  # noqa: BLE001 - a broken exercise module must not hide the course map
                return None, 0
    return None, 0


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
        ex, tasks = _exercise_tasks([f"f{number}", f"p{number}"])
        entries.append(Entry("Foundations", _title(foundation), foundation.relative_to(root).as_posix(),
                             bank if bank in quizzes else None, None, exercises=ex,
                             minutes=lesson_minutes(foundation, tasks)))
    lessons: dict[str, list[Path]] = {}  # "m1_l3_..." -> "l3"; a lesson in parts ("m1_l4a_", "m1_l4b_") has several
    for p in sorted((root / "notebooks").glob("m1_l[0-9]*_*.ipynb")):
        lessons.setdefault(p.name.split("_")[1][:2], []).append(p)
    labs = {p.name.split("_")[0]: p for p in (root / "labs").glob("l[0-9]_*.ipynb")}
    for k in sorted(set(lessons) | set(labs)):
        parts, lab = lessons.get(k, []), labs.get(k)
        quiz = next((q for q in sorted(quizzes) if q.startswith(f"{k}_")), None)
        ex, tasks = _exercise_tasks([f"m1_{k}"])
        for part in parts[:-1]:  # the earlier parts of a lesson in parts; its quiz, lab and exercises sit with the last
            entries.append(Entry("Module 1: Profiling agent performance", _title(part), part.relative_to(root).as_posix(),
                                 None, None, minutes=lesson_minutes(part)))
        nb = parts[-1] if parts else None
        title = _title(nb) if nb else f"M1 · {k.upper()} (lab only: the lesson is not written yet)"
        entries.append(Entry("Module 1: Profiling agent performance", title, nb.relative_to(root).as_posix() if nb else None,
                             quiz, lab.relative_to(root).as_posix() if lab else None, lab.stem if lab else None,
                             exercises=ex, minutes=lesson_minutes(nb, tasks) if nb else None))
    if "module1_test" in quizzes:
        taker = root / "quizzes" / "module1_quizzes.ipynb"
        entries.append(Entry("Module 1: Profiling agent performance", "Module 1 test (15 questions, 70% to pass)",
                             taker.relative_to(root).as_posix() if taker.exists() else None, "module1_test", None))
    for stem, bank in CAPSTONES.items():
        capstone = root / "notebooks" / f"{stem}.ipynb"
        if capstone.exists():
            ex, tasks = _exercise_tasks([f"p{stem[:2]}"])
            entries.append(Entry("Capstone", _title(capstone), capstone.relative_to(root).as_posix(),
                                 bank if bank in quizzes else None, None, exercises=ex,
                                 minutes=lesson_minutes(capstone, tasks)))
    return entries


def _exercise_progress(entries: list[Entry], checks: Any) -> dict[str, tuple[int, int]]:
    """(exercises passed, exercises in the lesson) per exercises id."""
    from agentkit import exercises

    out: dict[str, tuple[int, int]] = {}
    for e in entries:
        if e.exercises is None:
            continue
        lab = exercises.load(e.exercises)
        mine = checks[checks["lab_id"] == lab.id] if not checks.empty else checks
        done = int(mine[mine["passed"]]["task_id"].nunique()) if not mine.empty else 0
        out[e.exercises] = (done, len(lab.tasks))
    return out


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


def _checks() -> Any:
    import pandas as pd

    from agentkit.course import progress

    try:
        return progress.lab_checks()
    except progress.ProgressStoreError:
        return pd.DataFrame(columns=["lab_id", "task_id", "passed"])


def home_markdown(root: Path | None = None, prefix: str = "") -> str:
    """The course map as a Markdown table with the learner's progress; links are relative to `prefix`."""
    best, labs = _progress()
    entries = course_map(root)
    practised = _exercise_progress(entries, _checks())
    lines: list[str] = []
    section = None
    for e in entries:
        if e.section != section:
            section = e.section
            lines += ["", f"### {section}", "", "| Lesson | Time | Exercises | Quiz | Lab |", "|---|---|---|---|---|"]
        lesson = f"[{e.title}]({prefix}{e.lesson})" if e.lesson else e.title
        time = f"~{e.minutes} min" if e.minutes else "–"
        done, total = practised.get(e.exercises or "", (0, 0))
        exercise = f"{done} of {total} passed" if total else "–"
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
        lines.append(f"| {lesson} | {time} | {exercise} | {quiz} | {lab} |")
    return "\n".join(lines).strip()


def show_home() -> Any:
    """The course map with your progress, as Markdown (JupyterLab opens its links)."""
    from IPython.display import Markdown

    return Markdown(home_markdown())
