"""Finding the course folder: a checkout, $AGENTKIT_COURSE_DIR, or the working directory.

The last test installs agentkit non-editable into a throw-away folder and runs it from
elsewhere, as a class on JupyterHub would: every quiz and lab must still load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.course import paths
from agentkit.course.lab import Lab
from agentkit.course.quiz import Quiz, load_all

ROOT = Path(__file__).resolve().parent.parent


def test_a_checkout_finds_itself(monkeypatch):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    assert paths.course_dir() == ROOT
    assert paths.quiz_dir() == ROOT / "quizzes" and paths.lab_sources_dir() == ROOT / "labs" / "src"


def test_the_environment_variable_wins(monkeypatch, tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copytree(ROOT / "quizzes", tmp_path / "quizzes")
    (tmp_path / "quizzes" / "l1_trace_layer.yaml").rename(tmp_path / "quizzes" / "l1_trace_layer.yaml.off")
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
    assert paths.course_dir() == tmp_path
    assert "l1_trace_layer" not in {q.id for q in load_all()}


def test_a_wrong_setting_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
    with pytest.raises(paths.CourseNotFoundError, match="has no quizzes/ and notebooks/ in it"):
        paths.course_dir()


def test_reference_runs_are_recognised(monkeypatch, progress_db):
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "labs" / "src" / "l2_token_cost.ipynb"))
    assert paths.is_reference_run()
    lab = Lab.load("l2_token_cost")
    result = lab.check(lab.tasks[0].id, 1)
    assert not result.saved and "reference solution" in result.note
    from agentkit.course import progress

    assert progress.lab_checks().empty  # the learner is not credited
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "labs" / "l2_token_cost.ipynb"))
    assert not paths.is_reference_run()


def _install_copy(target: Path) -> None:
    """agentkit built and installed non-editable into `target` (no dependencies: the venv has them)."""
    args = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(ROOT)]
    done = subprocess.run(args, cwd=target.parent, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


PROBE = """
import agentkit, sys
from agentkit.course.lab import Lab
from agentkit.course.quiz import load_all
assert "site" in agentkit.__file__ or "{target}" in agentkit.__file__, agentkit.__file__
quizzes = load_all()
labs = [Lab.load(name) for name in Lab.available()]
print(len(quizzes), len(labs), agentkit.Quiz.load("l1_trace_layer").id)
"""


def test_a_non_editable_install_loads_every_quiz_and_lab(tmp_path):
    target = tmp_path / "site"
    _install_copy(target)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != paths.ENV_VAR}
    env["PYTHONPATH"] = str(target)
    code = PROBE.format(target=target)
    expected = f"{len(list((ROOT / 'quizzes').glob('*.yaml')))} {len(Lab.available())} l1_trace_layer"

    lost = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert lost.returncode != 0 and "set AGENTKIT_COURSE_DIR to its path" in lost.stderr

    told = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env={**env, paths.ENV_VAR: str(ROOT)},
                          capture_output=True, text=True)
    assert told.returncode == 0, told.stderr
    assert told.stdout.split() == expected.split()

    inside = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "notebooks", env=env, capture_output=True, text=True)
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.split() == expected.split()
