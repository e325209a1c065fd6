"""Running model-written code for the patterns: through `agentkit.sandbox` when it exists.

Reflection on code and code-as-plan both run code a model wrote. That code
must never run in the notebook's own process. The kit's sandbox
(`agentkit.sandbox.run_code`, a separate process with OS limits) is the place
for it; until it is installed, `execute` falls back to a plain subprocess with
the same essentials: isolated mode (no site-packages of the user, no
environment variables), a fresh temporary working directory, CPU-time,
memory and process limits, and a real-time timeout. Either way the caller
gets an `Execution`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

__all__ = ["Execution", "execute"]


@dataclass(frozen=True)
class Execution:
    """What running some code produced."""

    ok: bool  # exited normally within the time limit
    stdout: str
    stderr: str  # the traceback, when it failed
    timed_out: bool = False

    @property
    def error(self) -> str:
        """The last line of the traceback ("ZeroDivisionError: division by zero"), or ""."""
        if self.timed_out:
            return "TimeoutError: the code did not finish in time"
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


def execute(code: str, *, timeout: float = 5.0) -> Execution:
    """Run `code` as a Python program in a separate, limited process and collect what it printed."""
    if not isinstance(code, str) or not code.strip():
        raise ValueError("execute() needs Python source code as a non-empty string")
    try:
        from agentkit.sandbox import run_code  # type: ignore[import-not-found]
    except ImportError:
        return _subprocess(code, timeout)
    result: Any = run_code(code, timeout=timeout)
    return Execution(
        ok=bool(getattr(result, "ok", False)),
        stdout=str(getattr(result, "stdout", "") or ""),
        stderr=str(getattr(result, "stderr", "") or getattr(result, "error", "") or ""),
        timed_out=bool(getattr(result, "timed_out", False)),
    )


def _limits() -> None:  # pragma: no cover - runs in the child process
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (5, 5))
    resource.setrlimit(resource.RLIMIT_AS, (512 * 2**20, 512 * 2**20))
    resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))


def _subprocess(code: str, timeout: float) -> Execution:
    with tempfile.TemporaryDirectory(prefix="agentkit-run-") as workdir:
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", code], cwd=workdir, capture_output=True, text=True, timeout=timeout,
                env={"PATH": os.environ.get("PATH", "")}, preexec_fn=_limits if os.name == "posix" else None,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return Execution(False, out, "", timed_out=True)
    return Execution(done.returncode == 0, done.stdout, done.stderr)
