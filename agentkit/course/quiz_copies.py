"""Learner copies of the quiz banks, with the graded tests' answer keys left out.

    python -m agentkit.course.quiz_copies OUT_DIR                 # every bank; module tests without their key
    python -m agentkit.course.quiz_copies OUT_DIR --withhold-all  # no bank keeps its key

In the course as shipped, every quiz grades itself in the learner's kernel, so its answers are in the YAML and in
the `Quiz` objects a learner can inspect. That is right for self-check lesson quizzes and wrong for a graded module
test. An instructor gives learners the folder this writes instead of `quizzes/`: a test there records the answers
and reveals nothing, and `python -m agentkit class-report STORES --key quizzes/` grades the stored answers with the
instructor's own banks.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Sequence

import yaml

from agentkit.course.quiz import QuizFormatError, learner_copy, load_spec, parse_quiz, quiz_files
from agentkit.course.paths import quiz_dir

HEADER = ("# A learner copy: the answer key of this test stays with the instructor, who grades the answers\n"
          "# recorded in each learner's progress store (python -m agentkit class-report ... --key quizzes/).\n")


def write_copies(out_dir: Path, source: Path | None = None, withhold_all: bool = False) -> list[Path]:
    """Write every bank of `source` (the course's quizzes/) into `out_dir`; return the files whose key was left out."""
    source = source or quiz_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    withheld = []
    for path in quiz_files(source):
        spec = load_spec(path)  # validates the original first: never ship a copy of a broken bank
        target = out_dir / path.name
        if not (spec.is_test or withhold_all):
            shutil.copyfile(path, target)
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        copy = learner_copy(data)
        parse_quiz(copy, target)  # the copy must load as a quiz too
        target.write_text(HEADER + yaml.safe_dump(copy, sort_keys=False, allow_unicode=True, width=110),
                          encoding="utf-8")
        withheld.append(target)
    return withheld


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.course.quiz_copies", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="the folder to write the learner copies into")
    parser.add_argument("--source", type=Path, help="the instructor's quiz folder (default: the course's quizzes/)")
    parser.add_argument("--withhold-all", action="store_true", help="leave out the key of every bank, not only tests")
    args = parser.parse_args(argv)
    if args.out_dir.resolve() == (args.source or quiz_dir()).resolve():
        parser.error("write the copies to another folder than the instructor's banks")
    try:
        withheld = write_copies(args.out_dir, args.source, args.withhold_all)
    except QuizFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote the learner copies to {args.out_dir}; answer keys left out of: "
          f"{', '.join(p.stem for p in withheld) or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
