"""Build the learner versions of the labs from their reference notebooks.

    python -m agentkit.course.build_labs            # build every lab, execute both versions
    python -m agentkit.course.build_labs --check    # exit 1 if a learner notebook is out of date

A reference lab, `labs/src/<lab_id>.ipynb`, holds working solutions between
marker lines inside code cells::

    # BEGIN SOLUTION
    step10 = {"tools": p.tool_count * p.tokens_per_tool, ...}
    # END SOLUTION
    lab.check("step10_input", step10)

Keep the solution and the `lab.check("<task>", ...)` call in the same cell:
`Lab.solution()` finds a task's reference that way. The learner version
`labs/<lab_id>.ipynb` gets each block replaced by placeholders that keep the
names the rest of the cell uses (`step10 = ...  # your code here`; a function
keeps its signature and docstring and returns `...`), so every later cell still
runs and every check says "not attempted yet". Both versions are then executed
offline, with a throw-away progress store, and saved with their outputs so
nbval can compare them.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import os
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import nbformat

from agentkit.course.lab import REPO_ROOT, SOLUTION_BEGIN, SOLUTION_END

LABS_DIR = REPO_ROOT / "labs"
SOURCE_DIR = LABS_DIR / "src"
PLACEHOLDER_COMMENT = "# your code here"


class BuildError(Exception):
    """A lab source that cannot be built; the message names the notebook and cell."""


@dataclass(frozen=True)
class Built:
    source: Path
    learner: Path
    blocks: int  # solution blocks replaced


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _names(target: ast.expr) -> list[str]:
    """Plain names a target binds (`a`, `a, b`); subscripts and attributes bind none."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _names(elt)]
    if isinstance(target, ast.Starred):
        return _names(target.value)
    return []


def placeholder(block: str, where: str) -> list[str]:
    """The learner's lines for one solution block (without indentation)."""
    code = textwrap.dedent(block)
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise BuildError(f"{where}: the solution block is not valid Python on its own ({err.msg}, line {err.lineno}).") from None
    lines: list[str] = []
    seen: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.append(ast.unparse(node))  # imports are scaffolding, not the answer
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name in (n for t in targets for n in _names(t)):
                if name not in seen:
                    seen.add(name)
                    lines.append(f"{name} = ...  {PLACEHOLDER_COMMENT}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kind = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            lines.append(f"{kind} {node.name}({ast.unparse(node.args)}){returns}:")
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                lines.append(textwrap.indent(repr(doc) if "\n" not in doc else f'"""{doc}"""', "    "))
            lines.append(f"    return ...  {PLACEHOLDER_COMMENT}")
    return lines or [f"...  {PLACEHOLDER_COMMENT}"]


def strip_solutions(source: str, where: str = "cell") -> tuple[str, int]:
    """`source` with every solution block replaced by placeholders; also the number of blocks."""
    out: list[str] = []
    block: list[str] | None = None
    indent = ""
    count = 0
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == SOLUTION_BEGIN:
            if block is not None:
                raise BuildError(f"{where}, line {number}: {SOLUTION_BEGIN} inside another solution block.")
            block, indent = [], _indent_of(line)
        elif marker == SOLUTION_END:
            if block is None:
                raise BuildError(f"{where}, line {number}: {SOLUTION_END} without a {SOLUTION_BEGIN} before it.")
            out += [indent + text for text in placeholder("\n".join(block), where)]
            block = None
            count += 1
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise BuildError(f"{where}: {SOLUTION_BEGIN} is never closed by {SOLUTION_END}.")
    return "\n".join(out), count


def learner_version(nb: nbformat.NotebookNode, name: str) -> tuple[nbformat.NotebookNode, int]:
    """A copy of reference notebook `nb` with solutions replaced and outputs cleared."""
    out = copy.deepcopy(nb)
    blocks = 0
    for index, cell in enumerate(out.cells, start=1):
        if cell.cell_type == "code":
            cell.source, n = strip_solutions(cell.source, f"{name}, cell {index}")
            blocks += n
            cell.outputs = []
            cell.execution_count = None
    out.metadata.setdefault("agentkit", {})["generated_from"] = f"src/{name}"
    return out, blocks


@contextlib.contextmanager
def offline_env() -> Iterator[None]:
    """Run kernels offline, with a throw-away progress store (kernels inherit this environment)."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="agentkit-build-labs-") as tmp:
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "AGENTKIT_LIVE"):
            os.environ.pop(name, None)
        os.environ["AGENTKIT_PROGRESS_DB"] = str(Path(tmp) / "progress.sqlite")
        os.environ.pop("MPLBACKEND", None)  # the inline backend, so figures are stored as a learner sees them
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def execute(nb: nbformat.NotebookNode, cwd: Path) -> None:
    """Execute `nb` top to bottom in a fresh kernel, in place."""
    from nbclient import NotebookClient

    # record_timing=False keeps timestamps out of the saved notebook (stable diffs).
    NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()


def sources(names: Sequence[str] | None = None, src_dir: Path = SOURCE_DIR) -> list[Path]:
    found = sorted(src_dir.glob("*.ipynb"))
    if names:
        wanted = {n.removesuffix(".ipynb") for n in names}
        missing = wanted - {p.stem for p in found}
        if missing:
            raise BuildError(f"No lab source for {', '.join(sorted(missing))} in {src_dir}. "
                             f"Sources: {', '.join(p.stem for p in found) or '(none)'}.")
        found = [p for p in found if p.stem in wanted]
    return found


def build(names: Sequence[str] | None = None, *, run: bool = True,
          src_dir: Path = SOURCE_DIR, out_dir: Path = LABS_DIR) -> list[Built]:
    """Write `out_dir/<lab>.ipynb` for each source; with `run`, execute both versions and save outputs."""
    built = []
    with offline_env():
        for src in sources(names, src_dir):
            reference = nbformat.read(src, as_version=4)
            learner, blocks = learner_version(reference, src.name)
            if blocks == 0:
                raise BuildError(f"{src}: no {SOLUTION_BEGIN} / {SOLUTION_END} blocks; a lab needs at least one.")
            if run:
                for which, nb, cwd in (("reference", reference, src.parent), ("learner", learner, out_dir)):
                    try:
                        execute(nb, cwd)
                    except Exception as err:  # CellExecutionError carries the cell and its traceback
                        raise BuildError(f"{src}: running the {which} version failed:\n{err}") from None
                nbformat.write(reference, src)
            target = out_dir / src.name
            nbformat.write(learner, target)
            built.append(Built(src, target, blocks))
    return built


def stale(names: Sequence[str] | None = None, *, src_dir: Path = SOURCE_DIR, out_dir: Path = LABS_DIR) -> list[str]:
    """Learner notebooks whose cells no longer match what their source would build (outputs aside)."""
    problems = []
    for src in sources(names, src_dir):
        expected, _ = learner_version(nbformat.read(src, as_version=4), src.name)
        target = out_dir / src.name
        if not target.exists():
            problems.append(f"{target} is missing")
            continue
        actual = nbformat.read(target, as_version=4)
        want = [(c.cell_type, c.source) for c in expected.cells]
        have = [(c.cell_type, c.source) for c in actual.cells]
        if want != have:
            problems.append(f"{target} does not match {src}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.course.build_labs", description=__doc__.split("\n\n")[0])
    parser.add_argument("labs", nargs="*", help="lab ids to build (default: every labs/src/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="only report learner notebooks that are out of date")
    parser.add_argument("--no-execute", action="store_true", help="write the learner versions without running them")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale(args.labs)
            for p in problems:
                print(f"out of date: {p}", file=sys.stderr)
            if problems:
                print("Rebuild with: python -m agentkit.course.build_labs", file=sys.stderr)
                return 1
            print("learner labs are up to date")
            return 0
        for b in build(args.labs, run=not args.no_execute):
            print(f"{b.source.relative_to(REPO_ROOT)} -> {b.learner.relative_to(REPO_ROOT)} ({b.blocks} solution blocks replaced)")
    except BuildError as err:
        print(f"build_labs: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
