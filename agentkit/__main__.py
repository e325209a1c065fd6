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
    p.add_argument("--export", choices=["csv"], help="print one row per quiz and lab task as CSV (for an LMS)")
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
        if args.export == "csv":
            from agentkit.course.report import learner_items

            learner_items(path).to_csv(sys.stdout, index=False)
            return 0
        table = progress.progress_table()
    except progress.ProgressStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(progress.format_table(table))
    print(f"\n(progress store: {path})")
    return 0


def _add_class_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("class-report", help="aggregate many learners' progress stores into one CSV and a summary",
                       description="Read learners' progress stores (read-only) and write one CSV an LMS can import "
                                   "(learner, item, kind, score, passed, time), with pass rates per quiz question "
                                   "and the most failed lab checks. On The Littlest JupyterHub: "
                                   "python -m agentkit class-report /home/jupyter-*/.local/share/jupyter/agentkit/progress.sqlite")
    p.add_argument("stores", nargs="+", metavar="STORE", help="progress.sqlite files, one per learner")
    p.add_argument("--out", default="class_report.csv", help="the CSV to write (default: class_report.csv)")
    p.add_argument("--plot", metavar="PNG", help="also save a chart of quiz questions by pass rate")
    p.add_argument("--key", metavar="QUIZ_DIR", help="the instructor's quiz banks: grade the stored answers with "
                                                     "them (for tests whose learner copy withheld the key)")
    p.set_defaults(handler=_class_report)


def _class_report(args: argparse.Namespace) -> int:
    from agentkit.course.progress import ProgressStoreError
    from agentkit.course.quiz import QuizFormatError
    from agentkit.course.report import class_report

    try:
        report = class_report(args.stores, key=args.key)
    except (ProgressStoreError, QuizFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report.items.to_csv(args.out, index=False)
    print(report.summary())
    print(f"\n{len(report.items)} rows written to {args.out}")
    if not report.questions.empty:
        print("\nQuiz questions by pass rate:")
        print(report.questions.sort_values("pass_rate").to_string(index=False, formatters={"pass_rate": "{:.0%}".format}))
    if not report.lab_failures.empty:
        print("\nLab checks, most failed first:")
        print(report.lab_failures.head(10).to_string(index=False))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        report.plot().figure.savefig(args.plot, dpi=120)
        print(f"\nchart saved to {args.plot}")
    return 0


def _add_profile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="profile an agent's trace file: cost per step, latency, diagnosis",
                       description="Profile the traces in TRACE_FILE (OTLP JSON, one export per line as the "
                                   "OpenTelemetry Collector's file exporter writes it, or one document; or the kit's "
                                   "console spans): per trace, steps, tokens and dollars, cost per step and growth "
                                   "with the compression and compounding alerts, the latency breakdown with its gaps, "
                                   "and the diagnosis; p50/p95/p99 over many traces.")
    p.add_argument("trace_file", metavar="TRACE_FILE", help="the trace file to read")
    p.add_argument("--html", metavar="REPORT.html", help="also write a self-contained HTML report")
    p.add_argument("--csv", metavar="STEPS.csv", help="also write one CSV row per step (model call)")
    p.add_argument("--max-bytes", type=float, default=None, metavar="N",
                   help="read at most N bytes of the file (default 1 GiB; 2e9 for 2 GB)")
    p.set_defaults(handler=_profile)


def _profile(args: argparse.Namespace) -> int:
    from agentkit.profile import DEFAULT_MAX_BYTES, StepWriter, TraceFileError, profile_file, text_report, write_html

    limit = DEFAULT_MAX_BYTES if args.max_bytes is None else int(args.max_bytes)
    if limit <= 0:
        print("error: --max-bytes must be a positive number of bytes", file=sys.stderr)
        return 2
    steps = StepWriter(args.csv) if args.csv else None  # written trace by trace: every step, nothing held
    try:
        report = profile_file(args.trace_file, max_bytes=limit, on_trace=steps.add if steps else None)
    except TraceFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if steps is not None:
            steps.close()
    try:
        print(text_report(report))
    except BrokenPipeError:  # `... | head`: the reader has seen enough
        sys.stderr.close()
        return 0
    if steps is not None:
        print(f"\n{steps.rows:,} steps written to {args.csv}")
    if args.html:
        import matplotlib

        matplotlib.use("Agg")
        write_html(report, args.html)
        print(f"HTML report written to {args.html}")
    return 0 if report.trace_count else 1


#: Every command: a function that adds its subparser. Extend by appending.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_progress, _add_class_report, _add_profile]


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
