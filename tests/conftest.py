"""Test-session set-up shared by unit tests and nbval notebook runs.

Kernels that nbval starts inherit this process's environment, so setting it in
`pytest_configure` makes notebooks run offline too and keeps their progress
records out of the learner's real store.
"""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Offline and deterministic, whatever the machine has set.
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "AGENTKIT_LIVE"):
        os.environ.pop(name, None)
    # Unit tests of checkers run many passing answers; judging each again in a fresh process would add seconds
    # apiece. tests/test_regrade.py turns it on to test that path (agentkit.course.regrade).
    os.environ["AGENTKIT_FRESH_CHECKS"] = "0"
    os.environ.setdefault("AGENTKIT_PROGRESS_DB", os.path.join(tempfile.mkdtemp(prefix="agentkit-progress-"), "progress.sqlite"))
    # Notebook kernels draw with the inline backend, as a learner's do, so stored figures and test runs
    # agree (nbval compares a figure's text, not its pixels); this process itself draws off-screen.
    os.environ.pop("MPLBACKEND", None)
    import matplotlib

    matplotlib.use("Agg")


@pytest.fixture
def progress_db(tmp_path, monkeypatch):
    """A fresh, empty progress store for one test."""
    path = tmp_path / "progress.sqlite"
    monkeypatch.setenv("AGENTKIT_PROGRESS_DB", str(path))
    return path


@pytest.fixture
def fresh_checks(monkeypatch):
    """Passed lab checks are judged again in a fresh process, as for a learner (off by default in tests)."""
    monkeypatch.setenv("AGENTKIT_FRESH_CHECKS", "1")


@pytest.fixture
def no_latency():
    """Simulated calls answer at once: for tests whose subject is not timing (test_sim_latency.py covers it).
    A module opts in with `pytestmark = pytest.mark.usefixtures("no_latency")`."""
    from sim_helpers import scale

    with scale(0):
        yield


@pytest.fixture
def c():
    """A simulated client with the default scenarios."""
    from sim_helpers import sim_client

    return sim_client()
