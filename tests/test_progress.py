"""Tests for agentkit.course.progress: the SQLite progress store, its table, widget and CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentkit.__main__ import main
from agentkit.course import progress
from agentkit.course.progress import ProgressStoreError

WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from agentkit.course import progress
    name, n, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    deadline = time.time() + 30
    while not go.exists() and time.time() < deadline:  # start both writers together
        time.sleep(0.005)
    for i in range(n):
        if i % 2:
            progress.record_lab_check(f"lab_{name}", f"task_{i}", i % 3 == 0, f"{name} check {i}", lesson="L9")
        else:
            progress.record_quiz_attempt(f"quiz_{name}", "L9", (i % 10) / 10, i % 10 >= 7, attempt=i, answers={"i": i})
""")


def test_path_comes_from_the_env_var_or_the_jupyter_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTKIT_PROGRESS_DB", str(tmp_path / "x.sqlite"))
    assert progress.db_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("AGENTKIT_PROGRESS_DB")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jdata"))
    assert progress.db_path() == tmp_path / "jdata" / "agentkit" / "progress.sqlite"
    progress.record_quiz_attempt("q", "L1", 0.5, False)
    assert (tmp_path / "jdata" / "agentkit" / "progress.sqlite").exists()


def test_store_uses_wal_mode(progress_db):
    progress.record_quiz_attempt("q", "L1", 1.0, True)
    with sqlite3.connect(progress_db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_progress_table_summarises_quizzes_and_labs(progress_db):
    assert progress.progress_table().empty
    assert list(progress.progress_table().columns) == progress.TABLE_COLUMNS
    progress.record_quiz_attempt("l1_trace_layer", "M1 L1", 1 / 3, False, correct=1, total=3)
    progress.record_quiz_attempt("l1_trace_layer", "M1 L1", 2 / 3, False, correct=2, total=3)
    progress.record_quiz_attempt("l1_trace_layer", "M1 L1", 0.0, False, correct=0, total=3)
    progress.record_quiz_attempt("l2_token_cost_anatomy", "M1 L2", 1.0, True)
    progress.record_lab_check("lab2", "step10", False, "bucket 3 is off by 600", lesson="M1 L2")
    progress.record_lab_check("lab2", "step10", True, "ok", lesson="M1 L2")
    progress.record_lab_check("lab2", "caching", False, "not attempted yet", lesson="M1 L2")
    progress.record_lab_check("lab_x", "t1", True, "ok")  # no lesson: a row of its own
    table = progress.progress_table().set_index("lesson")
    assert table.loc["M1 L1", "best_score"] == pytest.approx(2 / 3)
    assert table.loc["M1 L1", "attempts"] == 3 and table.loc["M1 L1", "labs_passed"] == 0
    assert table.loc["M1 L2", "attempts"] == 1
    assert (table.loc["M1 L2", "labs_passed"], table.loc["M1 L2", "lab_tasks_checked"]) == (1, 2)
    assert table.loc["lab lab_x", "attempts"] == 0 and table.loc["lab lab_x", "labs_passed"] == 1
    assert table.loc["lab lab_x", "best_score"] != table.loc["lab lab_x", "best_score"]  # NaN: no quiz
    text = progress.format_table(progress.progress_table())
    assert "67%" in text and "1/2" in text
    assert progress.attempt_count("l1_trace_layer") == 3
    assert list(progress.lab_checks("lab2")["detail"]) == ["bucket 3 is off by 600", "ok", "not attempted yet"]


@pytest.mark.parametrize(
    ("call", "expect"),
    [
        (lambda: progress.record_quiz_attempt("", "L1", 0.5, True), "quiz_id must be a non-empty string"),
        (lambda: progress.record_quiz_attempt("q", "L1", 1.5, True), "score must be a number from 0 to 1"),
        (lambda: progress.record_quiz_attempt("q", "L1", "high", True), "score must be a number"),
        (lambda: progress.record_quiz_attempt("q", "L1", 0.5, "yes"), "passed must be True or False"),
        (lambda: progress.record_lab_check("lab", None, True, "x"), "task_id must be a non-empty string"),
        (lambda: progress.record_lab_check("lab", "t", 1, "x"), "passed must be True or False"),
    ],
)
def test_bad_records_are_refused_clearly(progress_db, call, expect):
    progress.record_quiz_attempt("kept", "L1", 0.5, False)
    with pytest.raises(ProgressStoreError, match=expect):
        call()
    assert progress.attempt_count("kept") == 1


def test_unusable_locations_give_clear_errors(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("AGENTKIT_PROGRESS_DB", str(blocker / "progress.sqlite"))
    with pytest.raises(ProgressStoreError, match=r"cannot open the progress store at .*Set AGENTKIT_PROGRESS_DB"):
        progress.record_quiz_attempt("q", "L1", 0.5, False)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("AGENTKIT_PROGRESS_DB", str(garbage))
    with pytest.raises(ProgressStoreError, match="could not be used: file is not a database"):
        progress.progress_table()
    assert garbage.read_bytes().startswith(b"this is not a database")  # we never clobber a learner's file


def test_two_processes_writing_at_once_lose_nothing(progress_db, tmp_path):
    n = 300
    progress.record_quiz_attempt("before", "L0", 1.0, True)  # schema exists, as after a first quiz
    go = tmp_path / "go"
    env = {**os.environ, "AGENTKIT_PROGRESS_DB": str(progress_db)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, name, str(n), str(go)], env=env,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    time.sleep(0.5)  # both interpreters up and waiting
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    quizzes, labs = progress.quiz_attempts(), progress.lab_checks()
    for name in ("a", "b"):
        assert sorted(quizzes.loc[quizzes.quiz_id == f"quiz_{name}", "attempt"]) == list(range(0, n, 2))
        assert sorted(int(t.split("_")[1]) for t in labs.loc[labs.lab_id == f"lab_{name}", "task_id"]) == list(range(1, n, 2))
    assert len(quizzes) == n + 1 and len(labs) == n
    # the writers really overlapped in time (otherwise this test would prove nothing)
    spans = [(min(q.min(), l.min()), max(q.max(), l.max())) for q, l in (
        (quizzes.created_at[quizzes.quiz_id == f"quiz_{x}"], labs.created_at[labs.lab_id == f"lab_{x}"]) for x in "ab")]
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1], spans
    row = progress.progress_table().set_index("lesson").loc["L9"]
    assert row["attempts"] == n and row["labs_passed"] == len([i for i in range(1, n, 2) if i % 3 == 0]) * 2


KILLED_MID_WRITE = textwrap.dedent("""
    import os, signal, sqlite3, sys
    from agentkit.course import progress
    with progress._connect() as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO quiz_attempts (quiz_id, lesson, score, passed, created_at) VALUES ('half', 'L1', 1, 1, 0)")
        sys.stdout.write("inserted\\n"); sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # the kernel dies before COMMIT
""")


def test_a_kernel_killed_mid_write_loses_nothing_saved(progress_db):
    for i in range(5):
        progress.record_quiz_attempt("saved", "L1", i / 10, False)
    env = {**os.environ, "AGENTKIT_PROGRESS_DB": str(progress_db)}
    run = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE], env=env, capture_output=True, text=True, timeout=60)
    assert run.stdout == "inserted\n" and run.returncode == -9, run.stderr
    # the store opens (no stale lock), the committed rows are all there, the half-written one is not
    progress.record_quiz_attempt("after", "L1", 1.0, True)
    frame = progress.quiz_attempts()
    assert list(frame.quiz_id) == ["saved"] * 5 + ["after"]
    with sqlite3.connect(progress_db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_labs_only_table(progress_db, capsys):
    progress.record_lab_check("lab2", "leverage", True, "ok", lesson="M1 L2")
    table = progress.progress_table()
    assert table["best_score"].isna().all() and table["best_score"].dtype == float
    assert "M1 L2" in progress.show_progress().value
    assert main(["progress"]) == 0 and "1/1" in capsys.readouterr().out


def test_show_progress_widget(progress_db):
    assert "No quiz attempts" in progress.show_progress().value
    progress.record_quiz_attempt("l1_trace_layer", "M1 L1 The Trace Layer", 2 / 3, False)
    progress.record_lab_check("lab1", "schema", True, "ok", lesson="M1 L1 The Trace Layer")
    html = progress.show_progress().value
    assert "M1 L1 The Trace Layer" in html and "67%" in html and "1 of 1" in html


def test_show_progress_is_exported():
    import agentkit

    assert agentkit.show_progress is progress.show_progress


def test_cli_prints_the_table(progress_db, capsys):
    assert main(["progress"]) == 0
    assert "No progress recorded yet" in capsys.readouterr().out
    progress.record_quiz_attempt("l3_latency_profiling", "M1 L3 Latency Profiling", 1.0, True)
    progress.record_lab_check("lab3", "fix", False, "still sequential", lesson="M1 L3 Latency Profiling")
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    assert "M1 L3 Latency Profiling" in out and "100%" in out and "0/1" in out and str(progress_db) in out
    assert main([]) == 2  # no command: help, not a traceback


def test_cli_as_a_module(progress_db, tmp_path):
    other = tmp_path / "other.sqlite"
    os.environ["AGENTKIT_PROGRESS_DB"] = str(other)
    try:
        progress.record_quiz_attempt("module1_test", "M1 Module test", 0.8, True)
    finally:
        os.environ["AGENTKIT_PROGRESS_DB"] = str(progress_db)
    run = subprocess.run([sys.executable, "-m", "agentkit", "progress", "--db", str(other)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "M1 Module test" in run.stdout and "80%" in run.stdout


def test_a_read_only_store_is_read_and_never_called_damaged(progress_db, monkeypatch, capsys):
    progress.record_quiz_attempt("q1", "L1", 0.5, False)
    progress.record_lab_check("lab1", "t1", True, "ok", lesson="L1")
    real_access = os.access
    # As root, chmod does not stop writes; deny write access the way a read-only mount or
    # a file shared by an instructor would, through the same check the store makes.
    monkeypatch.setattr(progress.os, "access",
                        lambda p, mode: False if mode == os.W_OK and Path(p) in (progress_db, progress_db.parent)
                        else real_access(p, mode))
    table = progress.progress_table()
    assert table.loc[0, "lesson"] == "L1" and table.loc[0, "labs_passed"] == 1
    assert len(progress.quiz_attempts("q1")) == 1 and progress.attempt_count("q1") == 1
    with pytest.raises(ProgressStoreError, match="read-only, so this result was not saved.*intact") as info:
        progress.record_quiz_attempt("q1", "L1", 1.0, True)
    assert "damaged" not in str(info.value)
    assert main(["progress"]) == 0
    assert "L1" in capsys.readouterr().out
    monkeypatch.setattr(progress.os, "access", real_access)
    assert len(progress.quiz_attempts("q1")) == 1  # nothing lost, nothing added


def test_a_read_only_connection_refuses_writes_clearly(progress_db):
    progress.record_lab_check("lab1", "t1", True, "ok")
    conn = progress._open_read_only(progress_db)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM lab_checks")
    finally:
        conn.close()
    assert len(progress.lab_checks("lab1")) == 1
