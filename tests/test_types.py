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


def test_every_type_ignore_names_its_error_and_says_why() -> None:
    """`# type: ignore[code]  # why`, or the why on the line above: a bare ignore hides the next real error."""
    bare = []
    for path in sorted((ROOT / "agentkit").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if "# type: ignore" not in line:
                continue
            after = line.split("# type: ignore", 1)[1]
            coded = after.startswith("[")
            explained = "#" in after or (n > 0 and lines[n - 1].strip().startswith("#"))
            if not (coded and explained):
                bare.append(f"{path.relative_to(ROOT)}:{n + 1}: {line.strip()}")
    assert not bare, "type: ignore without an error code and a reason:\n" + "\n".join(bare)
