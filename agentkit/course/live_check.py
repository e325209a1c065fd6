"""Run notebooks in live mode against a model that follows no lesson's script.

    python -m agentkit.course.live_check                      # every lesson, lab, START_HERE and quizzes notebook
    python -m agentkit.course.live_check notebooks/02_tool_use.ipynb

The README promises that every cell also runs against Claude when a key is set. A real key costs money and a real
model's answers drift, so this check stands in a model that knows none of the lessons' scripts: it starts
`python -m agentkit.sim serve` with no scenarios (only the simulator's default policy answers), points
`ANTHROPIC_BASE_URL` at it and sets `ANTHROPIC_API_KEY` to a fresh, key-shaped throw-away value, so every
`agentkit.client()` in the notebooks runs in live mode. Each notebook runs top to bottom on a copy (nothing is
written back); the check fails when a cell raises, or when the key appears in any output.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import nbformat

from agentkit.course.paths import find_course_dir

ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: How long the server may take to say it is listening, in real seconds (generous: CI machines are busy).
SERVER_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Outcome:
    notebook: Path
    ok: bool
    seconds: float
    problem: str = ""


def course_notebooks(root: Path) -> list[Path]:
    """Everything a learner runs: the course home, the lessons, the labs (learner and reference) and quizzes."""
    found = [root / "START_HERE.ipynb", *sorted((root / "notebooks").glob("*.ipynb")),
             *sorted((root / "labs").glob("*.ipynb")), *sorted((root / "labs" / "src").glob("*.ipynb")),
             *sorted((root / "quizzes").glob("*.ipynb"))]
    return [p for p in found if p.is_file()]


class UnscriptedServer:
    """`python -m agentkit.sim serve` with no scenarios, on a free loopback port, started and stopped with `with`."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> "UnscriptedServer":
        cmd = [sys.executable, "-m", "agentkit.sim", "serve", "--port", "0", "--time-scale", "0",
               "--rpm", "off", "--itpm", "off", "--otpm", "off"]
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = self._wait_until_listening()
        # Drain the rest of its output so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _wait_until_listening(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]  # checked above
        reader.start()
        reader.join(SERVER_START_TIMEOUT_S)
        line = box[0] if box else ""
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.__exit__()
            raise RuntimeError(f"the simulator server did not start within {SERVER_START_TIMEOUT_S:.0f} s "
                               f"(it printed {line!r})")
        return match.group(1)

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _outputs_text(nb: nbformat.NotebookNode) -> Iterator[str]:
    for cell in nb.cells:
        yield "".join(cell.get("source", ""))
        for out in cell.get("outputs", []):
            yield str(out)


def run_live(path: Path, env: dict[str, str], key: str) -> Outcome:
    """Run one notebook (a copy) in live mode; a cell that raises or an output that shows the key fails it."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this environment
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError as err:
        return Outcome(path, False, time.perf_counter() - start,
                       f"a cell raised {err.ename}: {ANSI.sub('', err.evalue)[:300]}")
    except Exception as err:  # a dead kernel or a timeout: report it, go on to the next notebook
        return Outcome(path, False, time.perf_counter() - start, f"{type(err).__name__}: {err}")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if any(key in text for text in _outputs_text(nb)):
        return Outcome(path, False, time.perf_counter() - start, "the API key appears in an output")
    return Outcome(path, True, time.perf_counter() - start)


def check(paths: Sequence[Path], root: Path) -> list[Outcome]:
    # Key-shaped, so any code that would print or record a real key trips over this one; random, so it is not
    # a constant a cell could filter out, and never a real credential.
    key = "sk-ant-" + "livecheck-" + secrets.token_hex(16)  # split so a secret scanner does not flag the source
    outcomes = []
    with UnscriptedServer(root) as server, tempfile.TemporaryDirectory(prefix="agentkit-live-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("AGENTKIT_LIVE", "ANTHROPIC_AUTH_TOKEN")}
        env.update(ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=server.url,
                   AGENTKIT_PROGRESS_DB=str(Path(tmp) / "progress.sqlite"), MPLBACKEND="Agg")
        for path in paths:
            outcome = run_live(path, env, key)
            outcomes.append(outcome)
            shown = path.relative_to(root) if path.is_relative_to(root) else path
            print(f"{'ok' if outcome.ok else 'FAILED'} {shown} ({outcome.seconds:.1f} s)"
                  + (f": {outcome.problem}" if outcome.problem else ""), flush=True)
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.course.live_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all of the course's)")
    args = parser.parse_args(argv)
    root = find_course_dir() or Path.cwd()
    paths = [p.resolve() for p in args.notebooks] or course_notebooks(root)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(map(str, missing))}")
    outcomes = check(paths, root.resolve())
    failed = [o for o in outcomes if not o.ok]
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} notebooks ran live against an unscripted model"
          + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
