"""`python -m agentkit <command>`: the course's small command line.

Each command is one `_add_<name>(subparsers)` function registering a subparser
whose handler returns an exit code; add a command by adding such a function to
`COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence


def _add_progress(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("progress", help="print your quiz and lab progress",
                       description="Print the learner's progress table: lesson, best quiz score, attempts, lab tasks passed.")
    p.add_argument("--db", help="progress store file (default: $AGENTKIT_PROGRESS_DB, else the Jupyter data dir)")
    p.set_defaults(handler=_progress)


def _progress(args: argparse.Namespace) -> int:
    if args.db:
        os.environ["AGENTKIT_PROGRESS_DB"] = args.db
    from agentkit.course import progress

    path = progress.db_path()
    if not path.exists():
        print(f"No progress recorded yet (looked in {path}). Take a quiz in JupyterLab and try again.")
        return 0
    try:
        table = progress.progress_table()
    except progress.ProgressStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(progress.format_table(table))
    print(f"\n(progress store: {path})")
    return 0


#: Every command: a function that adds its subparser. Extend by appending.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_progress]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agentkit", description="The agentkit course kit.")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
