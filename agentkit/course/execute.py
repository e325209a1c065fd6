"""Execute lesson notebooks top to bottom, offline, and store their outputs.

    python -m agentkit.course.execute notebooks/01_what_is_an_agent.ipynb quizzes/module1_quizzes.ipynb
    python -m agentkit.course.execute --all          # every lesson, START_HERE and the quizzes notebook

Committed notebooks carry their outputs so they read well on GitHub and nbval can compare them. This runs each one
in a fresh kernel with no API key in the environment and a throw-away progress store (the same environment
`build_labs` uses for the labs), so what is stored is the deterministic offline run. Labs are built with
`python -m agentkit.course.build_labs`, which also makes their learner versions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import nbformat

from agentkit.course.build_labs import execute, offline_env
from agentkit.course.paths import find_course_dir


def course_notebooks(root: Path) -> list[Path]:
    """The lesson notebooks, the course home and the quizzes notebook (labs are built separately)."""
    return [root / "START_HERE.ipynb", *sorted((root / "notebooks").glob("*.ipynb")),
            *sorted((root / "quizzes").glob("*.ipynb"))]


def run(paths: Sequence[Path]) -> int:
    failed = 0
    with offline_env():
        for path in paths:
            start = time.perf_counter()
            nb = nbformat.read(path, as_version=4)
            try:
                execute(nb, path.parent)
            except Exception as err:  # CellExecutionError names the cell and carries its traceback
                failed += 1
                print(f"FAILED {path}: {err}", file=sys.stderr)
                continue
            nbformat.write(nb, path)
            print(f"ok {path} ({time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.course.execute", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebook files to execute in place")
    parser.add_argument("--all", action="store_true", help="every lesson, START_HERE and the quizzes notebook")
    args = parser.parse_args(argv)
    paths = list(args.notebooks)
    if args.all:
        root = find_course_dir() or Path.cwd()
        paths += course_notebooks(root)
    missing = [p for p in paths if not p.is_file()]
    if missing or not paths:
        parser.error(f"no such notebook: {', '.join(map(str, missing))}" if missing else "name notebooks or --all")
    return run(paths)


if __name__ == "__main__":
    sys.exit(main())
