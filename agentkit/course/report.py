"""Progress as an instructor sees it: one learner's export, and a report over a whole class.

`learner_items(store)` turns one progress store into one row per learner item
(a quiz, or one lab task): learner, item, kind, score, passed, time. That is the
CSV an LMS gradebook imports (`python -m agentkit progress --export csv`).

`class_report(stores)` reads many learners' stores (on The Littlest JupyterHub,
`/home/jupyter-*/.local/share/jupyter/agentkit/progress.sqlite`) without
changing them, and adds what a teacher acts on: the pass rate of every quiz
question, recomputed from the answers against the quiz bank, and the lab checks
learners fail most (`python -m agentkit class-report STORE...`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from agentkit.course.progress import ProgressStoreError, _open_read_only

ITEM_COLUMNS = ["learner", "item", "kind", "score", "passed", "time", "status"]
#: A lab check of a placeholder (a Run All over an untouched notebook) says "not attempted", not "failed".
NOT_ATTEMPTED = "not_attempted"
_HUB_HOME = re.compile(r"/home/jupyter-([^/]+)/")


def _learner_name(path: Path, conn: sqlite3.Connection) -> str:
    """The hub user name from the store's home folder, else the id the store keeps, else the file's stem."""
    hub = _HUB_HOME.search(path.resolve().as_posix())
    if hub:
        return hub.group(1)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'learner_id'").fetchone()
    except sqlite3.Error:
        row = None  # a store from before learner ids
    return str(row[0]) if row else path.stem


def _read(path: Path) -> tuple[str, Any, Any]:
    import pandas as pd

    if not path.is_file():
        raise ProgressStoreError(f"no progress store at {path}; give the path of a progress.sqlite file")
    try:
        conn = _open_read_only(path)
        try:
            learner = _learner_name(path, conn)
            quizzes = pd.read_sql_query("SELECT quiz_id, score, passed, answers, created_at FROM quiz_attempts", conn)
            labs = pd.read_sql_query("SELECT lab_id, task_id, passed, detail, created_at FROM lab_checks", conn)
        finally:
            conn.close()
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        raise ProgressStoreError(f"{path} is not a readable progress store ({exc}); it was left untouched") from None
    return learner, quizzes, labs


def _attempted(labs: Any) -> Any:
    """Which lab check rows are real attempts (anything but a placeholder's "not attempted")."""
    return ~labs["detail"].astype(str).str.startswith(NOT_ATTEMPTED)


def _status(passed: bool, attempted: bool) -> str:
    return "passed" if passed else ("failed" if attempted else "not attempted")


def learner_items(store: str | Path, key: dict[str, Any] | None = None) -> Any:
    """One row per quiz and per lab task: best score, passed (ever), time of the last attempt (UTC), and a status
    (passed, failed, or not attempted: a lab task only ever checked as a placeholder).

    `key` maps quiz ids to the instructor's banks (`QuizSpec`s): those quizzes are graded from the stored answers
    of the latest attempt, for tests whose learner copy had no answer key."""
    import pandas as pd

    path = Path(store)
    learner, quizzes, labs = _read(path)
    rows = []
    for quiz_id, group in quizzes.sort_values("created_at").groupby("quiz_id"):
        spec = (key or {}).get(str(quiz_id))
        if spec is not None:
            score = _graded(spec, json.loads(group["answers"].iloc[-1] or "{}"))
            passed = score + 1e-9 >= (spec.pass_mark or 0.6)
        else:
            score, passed = float(group["score"].max()), bool(group["passed"].max())
        rows.append((learner, quiz_id, "quiz", score, passed, float(group["created_at"].max()),
                     _status(passed, True)))
    for (lab_id, task_id), group in labs.groupby(["lab_id", "task_id"]):
        passed = bool(group["passed"].max())
        rows.append((learner, f"{lab_id}:{task_id}", "lab task", float(passed), passed,
                     float(group["created_at"].max()), _status(passed, bool(_attempted(group).any()))))
    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame.sort_values(["learner", "kind", "item"], ignore_index=True)


@dataclass
class ClassReport:
    """Every learner's items, question pass rates and the most failed lab checks."""

    items: Any  # DataFrame: ITEM_COLUMNS
    questions: Any  # DataFrame: quiz, question, learners, correct, pass_rate
    lab_failures: Any  # DataFrame: lab, task, checks, failed, learners_failed, learners_passed, not_attempted

    def summary(self) -> str:
        learners = self.items["learner"].nunique()
        lines = [f"{learners} learner{'s' if learners != 1 else ''}, {len(self.items)} items"]
        if not self.questions.empty:
            hardest = self.questions.sort_values("pass_rate").head(3)
            lines.append("hardest quiz questions: " + "; ".join(
                f"{r.quiz}/{r.question} {r.pass_rate:.0%}" for r in hardest.itertuples()))
        if not self.lab_failures.empty:
            worst = self.lab_failures.head(3)
            lines.append("most failed lab checks: " + "; ".join(
                f"{r.lab}:{r.task} ({r.failed} failed checks, {r.learners_failed} learners)" for r in worst.itertuples()))
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Pass rate of every quiz question, lowest first."""
        import matplotlib.pyplot as plt

        data = self.questions.sort_values("pass_rate")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, max(2.0, 0.3 * len(data) + 1)))
        labels = [f"{q}/{n}" for q, n in zip(data["quiz"], data["question"])]
        ax.barh(labels, data["pass_rate"] * 100, color="#4c78a8")
        ax.set_xlabel("learners answering correctly on their latest attempt (%)")
        ax.set_xlim(0, 100)
        ax.set_title("Quiz questions by pass rate")
        ax.figure.tight_layout()
        return ax


def _question_correct(question: Any, given: Any) -> bool:
    if question.kind == "numeric":
        try:
            return question.accepts(float(given))
        except (TypeError, ValueError):
            return False
    right = {c.text for c in question.correct_choices}
    return isinstance(given, list) and set(given) == right


def _graded(spec: Any, given: dict[str, Any]) -> float:
    """The share of `spec`'s questions that `given` (stored answers: choice texts or numbers) gets right."""
    right = sum(q.id in given and _question_correct(q, given[q.id]) for q in spec.questions)
    return right / len(spec.questions)


def answer_key(folder: str | Path) -> dict[str, Any]:
    """The instructor's quiz banks in `folder`, by quiz id (they must hold their answers)."""
    from agentkit.course.quiz import QuizFormatError, load_spec, quiz_files

    specs = {}
    for path in quiz_files(folder):
        spec = load_spec(path)
        if spec.key_withheld:
            raise QuizFormatError(f"{path} is a learner copy without its answer key; give the folder of the "
                                  "instructor's own banks (the course's quizzes/)")
        specs[spec.id] = spec
    if not specs:
        raise QuizFormatError(f"no quiz banks in {folder}; give the folder of the instructor's quiz banks")
    return specs


def class_report(stores: Iterable[str | Path], key: str | Path | None = None) -> ClassReport:
    """Aggregate many learners' stores (read-only) into one report.

    `key`: the folder of the instructor's quiz banks. Quizzes found there are graded from each learner's stored
    answers (the way to grade a test whose learner copy withheld the key); without it, the course's own banks
    score the question table and the stored scores stand."""
    import pandas as pd

    from agentkit.course.quiz import QuizFormatError, find_quiz, load_spec

    keyed = answer_key(key) if key is not None else {}
    items, answers, checks = [], [], []
    for store in stores:
        path = Path(store)
        learner, quizzes, labs = _read(path)
        items.append(learner_items(path, keyed))
        # a learner's latest attempt at each quiz speaks for them
        for quiz_id, group in quizzes.sort_values("created_at").groupby("quiz_id"):
            answers.append((learner, quiz_id, json.loads(group["answers"].iloc[-1] or "{}")))
        labs = labs.assign(learner=learner)
        checks.append(labs)
    if not items:
        raise ProgressStoreError("no progress stores given; pass one or more progress.sqlite files")

    rows = []
    specs: dict[str, Any] = {}
    for learner, quiz_id, given in answers:
        if quiz_id not in specs:
            try:
                specs[quiz_id] = keyed.get(quiz_id) or load_spec(find_quiz(quiz_id))
            except QuizFormatError:
                specs[quiz_id] = None  # a quiz no longer in the course: its questions cannot be scored
        spec = specs[quiz_id]
        if spec is not None and spec.key_withheld:
            spec = None  # a learner copy cannot score answers; pass --key with the instructor's banks
        for q in spec.questions if spec is not None else ():
            rows.append((quiz_id, q.id, learner, q.id in given and _question_correct(q, given[q.id])))
    per_answer = pd.DataFrame(rows, columns=["quiz", "question", "learner", "correct"])
    questions = (per_answer.groupby(["quiz", "question"], sort=True)
                 .agg(learners=("learner", "nunique"), correct=("correct", "sum")).reset_index())
    questions["correct"] = questions["correct"].astype(int)
    questions["pass_rate"] = questions["correct"] / questions["learners"]

    all_checks = pd.concat(checks, ignore_index=True) if checks else pd.DataFrame()
    if all_checks.empty:
        failures = pd.DataFrame(columns=["lab", "task", "checks", "failed", "learners_failed", "learners_passed",
                                         "not_attempted"])
    else:
        attempted = _attempted(all_checks)
        all_checks["not_attempted"] = ~attempted
        all_checks["failed"] = ~all_checks["passed"].astype(bool) & attempted
        passed_by = all_checks[all_checks["passed"].astype(bool)].groupby(["lab_id", "task_id"])["learner"].nunique()
        failed_by = all_checks[all_checks["failed"]].groupby(["lab_id", "task_id"])["learner"].nunique()
        failures = (all_checks.groupby(["lab_id", "task_id"])
                    .agg(checks=("failed", "size"), failed=("failed", "sum"),
                         not_attempted=("not_attempted", "sum")).reset_index())
        failures["learners_failed"] = [int(failed_by.get((a, b), 0)) for a, b in zip(failures.lab_id, failures.task_id)]
        failures["learners_passed"] = [int(passed_by.get((a, b), 0)) for a, b in zip(failures.lab_id, failures.task_id)]
        failures = (failures.rename(columns={"lab_id": "lab", "task_id": "task"})
                    .astype({"failed": int, "not_attempted": int}).sort_values(["failed", "lab", "task"], ascending=[False, True, True],
                                                         ignore_index=True))
    return ClassReport(pd.concat(items, ignore_index=True), questions, failures)
