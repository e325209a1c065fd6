"""The type checker over `agentkit/` passes: mypy, configured in pyproject.toml ([tool.mypy]).

Run in a subprocess (mypy's API is not thread-safe and keeps global state). The cache lives in a
temporary directory shared across runs of this test on the machine, so a second run re-checks only
what changed (about 10 s cold, 2 s warm on the course machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mypy", reason="mypy is in requirements.txt; install it to type-check agentkit")


def test_mypy_reports_no_errors_in_agentkit() -> None:
    cache = Path(tempfile.gettempdir()) / f"agentkit-mypy-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache),
         "--no-error-summary", "--hide-error-context", "agentkit"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert done.returncode == 0 and not errors, (
        f"mypy found {len(errors)} type error(s) in agentkit/ (run `python -m mypy` from the repository root):\n"
        + "\n".join(errors or [done.stdout, done.stderr])
    )
