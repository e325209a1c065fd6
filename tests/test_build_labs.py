"""Tests for agentkit.course.build_labs: solution stripping, and both sides of every lab.

Every reference notebook in labs/src must pass every task of its lab, and every
learner notebook in labs/ must report "not attempted" for every task without
an error. The notebooks' code cells are run in-process here (fast, and the
`lab` object they leave behind says exactly what each check returned); nbval
separately re-runs them in a kernel against their committed outputs.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from agentkit.course import build_labs
from agentkit.course.build_labs import BuildError, learner_version, placeholder, strip_solutions
from agentkit.course.lab import Lab

REFERENCES = sorted(build_labs.SOURCE_DIR.glob("*.ipynb"))


def test_assignments_become_placeholders_with_the_same_names():
    source = "\n".join([
        "x = 1",
        "# BEGIN SOLUTION",
        "import math",
        "a, (b, c) = 1, (2, 3)",
        "total = 0",
        "for n in range(3):",
        "    total += n",
        "d = {}",
        'd["k"] = 1',
        "# END SOLUTION",
        'lab.check("t", total)',
    ])
    out, blocks = strip_solutions(source)
    assert blocks == 1
    assert out.splitlines() == [
        "x = 1",
        "import math",
        "a = ...  # your code here",
        "b = ...  # your code here",
        "c = ...  # your code here",
        "total = ...  # your code here",
        "d = ...  # your code here",
        'lab.check("t", total)',
    ]


def test_functions_keep_signature_and_docstring_and_blocks_keep_indentation():
    source = "\n".join([
        "if True:",
        "    # BEGIN SOLUTION",
        "    def name_span(step: int, tool: str) -> str:",
        '        """The span name for one tool call."""',
        '        return f"{tool}.{step}"',
        "    # END SOLUTION",
    ])
    out, _ = strip_solutions(source)
    assert out.splitlines() == [
        "if True:",
        "    def name_span(step: int, tool: str) -> str:",
        "        'The span name for one tool call.'",
        "        return ...  # your code here",
    ]
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["name_span"](1, "search") is Ellipsis  # the check sees a placeholder


def test_a_block_with_nothing_to_name_becomes_a_bare_placeholder():
    assert placeholder("print('hi')", "cell") == ["...  # your code here"]


@pytest.mark.parametrize(
    "source, says",
    [
        ("# BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n# END SOLUTION", "without a # BEGIN SOLUTION"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "inside another"),
        ("# BEGIN SOLUTION\nx = = 1\n# END SOLUTION", "not valid Python"),
    ],
)
def test_malformed_markers_name_the_cell(source, says):
    with pytest.raises(BuildError, match=says) as err:
        strip_solutions(source, "demo.ipynb, cell 3")
    assert "demo.ipynb, cell 3" in str(err.value)


def test_learner_version_clears_outputs_and_keeps_markdown():
    nb = new_notebook(cells=[
        new_markdown_cell("# BEGIN SOLUTION stays in markdown"),
        new_code_cell("# BEGIN SOLUTION\nx = 2\n# END SOLUTION\nx", outputs=[{"output_type": "stream", "name": "stdout", "text": "2"}], execution_count=1),
    ])
    out, blocks = learner_version(nb, "demo.ipynb")
    assert blocks == 1
    assert out.cells[0].source == nb.cells[0].source
    assert out.cells[1].source == "x = ...  # your code here\nx"
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert nb.cells[1].outputs  # the reference is untouched
    assert out.metadata["agentkit"]["generated_from"] == "src/demo.ipynb"


def test_build_without_executing_and_the_staleness_check(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    nb = new_notebook(cells=[new_code_cell("# BEGIN SOLUTION\nx = 2\n# END SOLUTION")])
    nbformat.write(nb, src / "demo.ipynb")
    assert build_labs.stale(src_dir=src, out_dir=out) == [f"{out / 'demo.ipynb'} is missing"]
    built = build_labs.build(run=False, src_dir=src, out_dir=out)
    assert [b.blocks for b in built] == [1]
    assert build_labs.stale(src_dir=src, out_dir=out) == []
    nb.cells[0].source = "# BEGIN SOLUTION\nx = 3\ny = 4\n# END SOLUTION"
    nbformat.write(nb, src / "demo.ipynb")
    assert "does not match" in build_labs.stale(src_dir=src, out_dir=out)[0]
    with pytest.raises(BuildError, match="No lab source for nope"):
        build_labs.build(["nope"], run=False, src_dir=src, out_dir=out)


def test_a_source_without_solutions_is_refused(tmp_path):
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), tmp_path / "plain.ipynb")
    with pytest.raises(BuildError, match="no # BEGIN SOLUTION"):
        build_labs.build(run=False, src_dir=tmp_path, out_dir=tmp_path)


def test_committed_learner_labs_are_up_to_date(capsys):
    assert REFERENCES, "no lab sources in labs/src"
    assert build_labs.main(["--check"]) == 0
    assert build_labs.main(["l99_nope"]) == 2
    assert "No lab source for l99_nope" in capsys.readouterr().err


def _run_cells(path: Path) -> dict:
    """Execute a notebook's code cells in one namespace, as a kernel would (outputs discarded)."""
    namespace: dict = {"__name__": "__lab__"}
    nb = nbformat.read(path, as_version=4)
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, f"{path.name}", "exec"), namespace)
    return namespace


def _lab_of(namespace: dict) -> Lab:
    labs = [v for v in namespace.values() if isinstance(v, Lab)]
    assert len(labs) == 1, "a lab notebook should load exactly one lab"
    return labs[0]


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.stem)
def test_every_reference_solution_passes_every_check(reference, progress_db):
    lab = _lab_of(_run_cells(reference))
    assert lab.id == reference.stem
    for task in lab.tasks:
        results = lab._results.get(task.id)
        assert results, f"{reference.name} never checks {task.id}"
        assert all(r.passed for r in results), [str(r) for r in results]


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.stem)
def test_every_learner_version_is_not_attempted_never_a_crash(reference, progress_db):
    learner = build_labs.LABS_DIR / reference.name
    lab = _lab_of(_run_cells(learner))
    for task in lab.tasks:
        results = lab._results.get(task.id)
        assert results, f"{learner.name} never checks {task.id}"
        assert [r.status for r in results] == ["not_attempted"] * len(results), [str(r) for r in results]


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.stem)
def test_learner_versions_do_not_leak_solutions(reference):
    from agentkit.course.lab import solution_blocks

    learner = nbformat.read(build_labs.LABS_DIR / reference.name, as_version=4)
    learner_code = "\n".join(c.source for c in learner.cells if c.cell_type == "code")
    assert "# BEGIN SOLUTION" not in learner_code
    for cell in nbformat.read(reference, as_version=4).cells:
        for block in solution_blocks(cell.source) if cell.cell_type == "code" else []:
            for line in block.splitlines():
                if len(line.strip()) > 12 and not line.strip().startswith(("import ", "from ")):
                    assert line.strip() not in learner_code, f"solution line leaked: {line.strip()}"
