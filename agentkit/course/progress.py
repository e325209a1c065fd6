"""The learner's progress store: every quiz attempt and lab check, in one SQLite file.

Where: `$AGENTKIT_PROGRESS_DB` if set, else `<jupyter data dir>/agentkit/progress.sqlite`
(per user, so JupyterHub gives each learner their own).

Why SQLite, and how it stays safe: two kernels may write at the same moment and
a kernel may be killed mid-write. The file runs in WAL mode with a busy timeout,
every write is one `BEGIN IMMEDIATE ... COMMIT` transaction on its own short-lived
connection, and `synchronous=FULL` makes each commit durable. A writer that dies
before COMMIT leaves nothing behind; one that committed is never lost; the other
kernel waits for the lock instead of failing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agentkit.course.errors import LearnerError

ENV_VAR = "AGENTKIT_PROGRESS_DB"
#: How long a writer waits for another kernel's transaction before giving up.
BUSY_TIMEOUT_S = 30.0
SCHEMA_VERSION = 3  # 2: the meta table (the learner id); 3: solution_views

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quiz_attempts (
    id         INTEGER PRIMARY KEY,
    quiz_id    TEXT    NOT NULL,
    lesson     TEXT    NOT NULL,
    attempt    INTEGER,
    score      REAL    NOT NULL CHECK (score BETWEEN 0 AND 1),
    correct    INTEGER,
    total      INTEGER,
    passed     INTEGER NOT NULL CHECK (passed IN (0, 1)),
    answers    TEXT,
    created_at REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS quiz_attempts_quiz ON quiz_attempts (quiz_id);
CREATE TABLE IF NOT EXISTS lab_checks (
    id         INTEGER PRIMARY KEY,
    lab_id     TEXT    NOT NULL,
    task_id    TEXT    NOT NULL,
    lesson     TEXT    NOT NULL,
    passed     INTEGER NOT NULL CHECK (passed IN (0, 1)),
    detail     TEXT    NOT NULL,
    created_at REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS lab_checks_lab ON lab_checks (lab_id, task_id);
CREATE TABLE IF NOT EXISTS solution_views (
    id         INTEGER PRIMARY KEY,
    lab_id     TEXT    NOT NULL,
    task_id    TEXT    NOT NULL,
    created_at REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

TABLE_COLUMNS = ["lesson", "best_score", "attempts", "labs_passed", "lab_tasks_checked"]


class ProgressStoreError(LearnerError):
    """The progress store cannot be opened or written; the message says where and why."""


def db_path() -> Path:
    """The store's file: `$AGENTKIT_PROGRESS_DB`, else under the Jupyter data directory."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "agentkit" / "progress.sqlite"


def _read_only(path: Path) -> bool:
    """Whether this process may only read the store (a file or folder without write permission)."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _open_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro still wants to create the WAL index (-shm) next to the file; when even that
    # is impossible, immutable=1 reads the file as it is (no other writer can exist then).
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None)


@contextlib.contextmanager
def _connect(path: Path | None = None, *, write: bool = False) -> Iterator[sqlite3.Connection]:
    path = path or db_path()
    read_only = _read_only(path)
    if read_only and write:
        raise ProgressStoreError(
            f"the progress store at {path} is read-only, so this result was not saved. Everything already in it is "
            f"intact and still shown. To keep recording, make the file writable or set {ENV_VAR} to a writable path.")
    try:
        if read_only:
            conn = _open_read_only(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the write lock
            # is taken up front (a deferred transaction that upgrades later can fail with
            # SQLITE_BUSY without waiting for the busy timeout).
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise ProgressStoreError(f"cannot open the progress store at {path}: {exc}. "
                                 f"Set {ENV_VAR} to a writable file path to use another location.") from None
    try:
        if not read_only:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")  # persistent: set once per file
            conn.execute("PRAGMA synchronous = FULL")
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                _write(conn, _create)
        elif conn.execute("PRAGMA user_version").fetchone()[0] < 1:
            raise ProgressStoreError(f"the progress store at {path} is read-only and has no progress tables yet; "
                                     f"set {ENV_VAR} to a writable path to start recording.")
        yield conn
    except sqlite3.DatabaseError as exc:
        if "readonly" in str(exc):
            raise ProgressStoreError(
                f"the progress store at {path} is read-only ({exc}); nothing in it was changed. "
                f"Make it writable or set {ENV_VAR} to a writable path to keep recording.") from None
        raise ProgressStoreError(f"the progress store at {path} could not be used: {exc}. "
                                 f"If the file is damaged, move it aside (your other files are untouched) "
                                 f"or set {ENV_VAR} to a new path.") from None
    finally:
        conn.close()


def _create(conn: sqlite3.Connection) -> None:
    # executescript() would COMMIT our transaction first; run the statements one by one instead.
    for statement in filter(str.strip, _SCHEMA.split(";")):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _write(conn: sqlite3.Connection, work: Any) -> Any:
    """Run `work(conn)` as one immediate transaction: all of it is committed, or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def record_quiz_attempt(
    quiz_id: str,
    lesson: str,
    score: float,
    passed: bool,
    *,
    correct: int | None = None,
    total: int | None = None,
    attempt: int | None = None,
    answers: Mapping[str, Any] | None = None,
) -> int:
    """Record one submitted quiz attempt; returns its row id."""
    if not isinstance(quiz_id, str) or not quiz_id:
        raise ProgressStoreError(f"quiz_id must be a non-empty string, not {quiz_id!r}")
    if not isinstance(lesson, str) or not lesson:
        raise ProgressStoreError(f"lesson must be a non-empty string, not {lesson!r}")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise ProgressStoreError(f"score must be a number from 0 to 1, not {score!r}")
    if not isinstance(passed, bool):
        raise ProgressStoreError(f"passed must be True or False, not {passed!r}")
    from agentkit.redact import redact

    payload = json.dumps(redact(dict(answers or {})), default=str)
    row = (quiz_id, lesson, attempt, float(score), correct, total, int(passed), payload, time.time())
    with _connect(write=True) as conn:
        return _write(conn, lambda c: c.execute(
            "INSERT INTO quiz_attempts (quiz_id, lesson, attempt, score, correct, total, passed, answers, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row).lastrowid)


def record_lab_check(lab_id: str, task_id: str, passed: bool, detail: str, *, lesson: str | None = None) -> int:
    """Record one lab check; returns its row id.

    `lesson` groups the check with its lesson's quiz in `progress_table()`;
    without it the lab gets a row of its own, named after the lab.
    """
    for name, value in (("lab_id", lab_id), ("task_id", task_id)):
        if not isinstance(value, str) or not value:
            raise ProgressStoreError(f"{name} must be a non-empty string, not {value!r}")
    if not isinstance(passed, bool):
        raise ProgressStoreError(f"passed must be True or False, not {passed!r}")
    from agentkit.redact import redact

    # the detail may quote the learner's answer: a pasted key must not sit in the store in clear
    row = (lab_id, task_id, lesson or f"lab {lab_id}", int(passed), redact(str(detail)), time.time())
    with _connect(write=True) as conn:
        return _write(conn, lambda c: c.execute(
            "INSERT INTO lab_checks (lab_id, task_id, lesson, passed, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            row).lastrowid)


def attempted(lab_id: str, task_id: str) -> bool:
    """Whether a real attempt at this task is recorded: a check of something other than a placeholder."""
    if not db_path().exists():
        return False
    with _connect() as conn:
        row = conn.execute("SELECT 1 FROM lab_checks WHERE lab_id = ? AND task_id = ? AND detail NOT LIKE "
                           "'not\\_attempted%' ESCAPE '\\' LIMIT 1", (lab_id, task_id)).fetchone()
    return row is not None


def record_solution_view(lab_id: str, task_id: str) -> None:
    """Note that the learner opened a task's reference solution (the class report shows it beside the checks)."""
    with _connect(write=True) as conn:
        _write(conn, lambda c: c.execute("INSERT INTO solution_views (lab_id, task_id, created_at) VALUES (?, ?, ?)",
                                         (lab_id, task_id, time.time())))


def learner_id() -> str:
    """This learner's id: made once at random and kept in the store (or `$AGENTKIT_LEARNER_ID`).

    It seeds the order of quiz choices per learner and names the learner in exports.
    """
    override = os.environ.get("AGENTKIT_LEARNER_ID")
    if override:
        return override
    import uuid

    with _connect() as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'learner_id'").fetchone()
        if row is not None:
            return str(row[0])
        if _read_only(db_path()):
            return ""
        candidate = uuid.uuid4().hex[:12]
        # INSERT OR IGNORE: two kernels starting at once agree on whichever id landed first
        _write(conn, lambda c: c.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('learner_id', ?)", (candidate,)))
        return str(conn.execute("SELECT value FROM meta WHERE key = 'learner_id'").fetchone()[0])


def attempt_count(quiz_id: str) -> int:
    """How many attempts at this quiz are recorded."""
    with _connect() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM quiz_attempts WHERE quiz_id = ?", (quiz_id,)).fetchone()[0])


def _records(table: str, columns: str, key: str, value: str | None) -> Any:
    """Rows of `table` (optionally where `key` = `value`) as a DataFrame, oldest first, with typed columns."""
    import pandas as pd

    query = f"SELECT {columns} FROM {table}"  # table and column names are ours, never the learner's
    args: tuple[Any, ...] = ()
    if value is not None:
        query, args = f"{query} WHERE {key} = ?", (value,)
    with _connect() as conn:
        frame = pd.read_sql_query(query + " ORDER BY id", conn, params=args)
    frame["passed"] = frame["passed"].astype(bool)
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    return frame


def quiz_attempts(quiz_id: str | None = None) -> Any:
    """Every recorded quiz attempt (optionally for one quiz) as a pandas DataFrame, oldest first."""
    return _records("quiz_attempts", "id, quiz_id, lesson, attempt, score, correct, total, passed, answers, created_at",
                    "quiz_id", quiz_id)


def lab_checks(lab_id: str | None = None) -> Any:
    """Every recorded lab check (optionally for one lab) as a pandas DataFrame, oldest first."""
    return _records("lab_checks", "id, lab_id, task_id, lesson, passed, detail, created_at", "lab_id", lab_id)


def progress_table() -> Any:
    """One row per lesson: best quiz score (0..1), quiz attempts, lab tasks passed and checked."""
    import pandas as pd

    query = """
    WITH quizzes AS (
        SELECT lesson, MAX(score) AS best_score, COUNT(*) AS attempts, MIN(created_at) AS first_seen
        FROM quiz_attempts GROUP BY lesson
    ), tasks AS (
        SELECT lesson, lab_id, task_id, MAX(passed) AS ok, MIN(created_at) AS first_seen
        FROM lab_checks GROUP BY lesson, lab_id, task_id
    ), labs AS (
        SELECT lesson, SUM(ok) AS labs_passed, COUNT(*) AS lab_tasks_checked, MIN(first_seen) AS first_seen
        FROM tasks GROUP BY lesson
    ), lessons AS (
        SELECT lesson, first_seen FROM quizzes UNION ALL SELECT lesson, first_seen FROM labs
    )
    SELECT l.lesson, q.best_score, COALESCE(q.attempts, 0) AS attempts,
           COALESCE(b.labs_passed, 0) AS labs_passed, COALESCE(b.lab_tasks_checked, 0) AS lab_tasks_checked
    FROM (SELECT lesson, MIN(first_seen) AS first_seen FROM lessons GROUP BY lesson) AS l
    LEFT JOIN quizzes AS q ON q.lesson = l.lesson
    LEFT JOIN labs AS b ON b.lesson = l.lesson
    ORDER BY l.lesson
    """
    with _connect() as conn:
        frame = pd.read_sql_query(query, conn)
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(TABLE_COLUMNS, ["str", "float", "int", "int", "int"])})
    # a column that is all NULL (labs only, no quiz yet) comes back as object; make it float/NaN
    return frame.astype({"best_score": float, "attempts": int, "labs_passed": int, "lab_tasks_checked": int})


def format_table(frame: Any) -> str:
    """The progress table as plain text (for the terminal)."""
    import pandas as pd

    if frame.empty:
        return "No quiz attempts or lab checks recorded yet."
    shown = frame.copy()
    shown["best_score"] = ["-" if pd.isna(v) else f"{v:.0%}" for v in frame["best_score"]]  # NaN: no quiz taken
    shown["labs_passed"] = [f"{p}/{n}" if n else "-" for p, n in zip(frame["labs_passed"], frame["lab_tasks_checked"])]
    shown = shown.drop(columns=["lab_tasks_checked"]).rename(columns={
        "lesson": "Lesson", "best_score": "Best score", "attempts": "Attempts", "labs_passed": "Lab tasks passed"})
    return shown.to_string(index=False)


def show_progress() -> Any:
    """The learner's progress as a notebook widget (an HTML table; a message when empty)."""
    import html

    import ipywidgets as widgets
    import pandas as pd

    try:
        frame = progress_table()
    except ProgressStoreError as exc:
        return widgets.HTML(f"<p><b>Progress store unavailable:</b> {html.escape(str(exc))}</p>")
    if frame.empty:
        body = "<p>No quiz attempts or lab checks recorded yet. Take a quiz and come back.</p>"
    else:
        shown = frame.copy()
        shown["best_score"] = ["–" if pd.isna(v) else f"{v:.0%}" for v in frame["best_score"]]
        shown["labs_passed"] = [f"{p} of {n}" if n else "–" for p, n in zip(frame["labs_passed"], frame["lab_tasks_checked"])]
        shown = shown.drop(columns=["lab_tasks_checked"]).rename(columns={
            "lesson": "Lesson", "best_score": "Best score", "attempts": "Quiz attempts", "labs_passed": "Lab tasks passed"})
        body = shown.to_html(index=False, border=0, classes="agentkit-progress")
    where = html.escape(str(db_path()))
    return widgets.HTML(f"<h4>Your progress</h4>{body}<p style='font-size:smaller;color:gray'>Stored in {where}</p>")
