"""Notebook hygiene: what nbval cannot see.

nbval reruns every notebook and compares outputs; these checks guard the rules
for what a committed notebook may contain: every code cell has a stored run
(so nbval has something to compare), no cell stored an error, model ids come
from `agentkit.models` and never appear typed into a cell, no key-shaped
secret, no machine-specific path in an output, and nothing that only works
offline (reaching into the simulator), so each lesson also runs live.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for folder in ("notebooks", "labs", "quizzes") for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
MODEL_ID = re.compile(r"""["']claude-[a-z0-9.-]+["']""")
SECRET = re.compile(r"sk-ant-[A-Za-z0-9_-]{10,}")
MACHINE_PATH = re.compile(r"(/tmp/|/work/|/root/|/home/[a-z]+/|site-packages)")
# Lessons may choose a scenario and read timing; anything else in agentkit.sim is the simulator's own business.
OFFLINE_ONLY = re.compile(r"simulator_of\(|\._agentkit_simulator|Simulator\(|SimTransport|\.forget_threads\(")


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def _text(output: dict) -> str:
    if "text" in output:
        return "".join(output["text"])
    return "".join(output.get("data", {}).get("text/plain", ""))


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_clean(path: Path):
    problems = []
    for n, cell in enumerate(_code_cells(path), 1):
        source = "".join(cell["source"])
        if source.strip() and cell.get("execution_count") is None:
            problems.append(f"code cell {n} has no stored run: execute the notebook top to bottom offline")
        if MODEL_ID.search(source):
            problems.append(f"code cell {n} types a model id; use agentkit.DEFAULT_MODEL / FAST_MODEL / LARGEST_MODEL")
        if SECRET.search(source) or any(SECRET.search(_text(o)) for o in cell.get("outputs", [])):
            problems.append(f"code cell {n} holds something shaped like an API key")
        if OFFLINE_ONLY.search(source):
            problems.append(f"code cell {n} reaches into the simulator, so the lesson would not run live")
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                problems.append(f"code cell {n} stored an error: {o.get('ename')}: {o.get('evalue')}")
            elif MACHINE_PATH.search(_text(o)):
                problems.append(f"code cell {n} output shows a machine-specific path: "
                                f"{MACHINE_PATH.search(_text(o)).group(0)!r}")
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


NBVAL_COMMENT = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+", re.MULTILINE)
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.ipynb)`")
ALL_NOTEBOOKS = [*NOTEBOOKS, ROOT / "START_HERE.ipynb"]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_test_markers_live_in_cell_tags_not_in_code(path: Path):
    """Learners read the code cells: nbval's markers go in cell metadata tags (nbval-ignore-output, ...)."""
    marked = [n for n, cell in enumerate(_code_cells(path), 1) if NBVAL_COMMENT.search("".join(cell["source"]))]
    assert not marked, f"{path.relative_to(ROOT)}: code cells {marked} carry a # NBVAL_ comment; use a cell tag"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_to_a_course_file_resolves(path: Path):
    """Every "Next:" link and every path to a notebook in the text points at a file that exists."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    broken = []
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        for target in MD_LINK.findall(text):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            file = target.split("#")[0]
            if file and not (path.parent / file).exists():
                broken.append(target)
        for target in CODE_PATH.findall(text):
            if not ((path.parent / target).exists() or (ROOT / target).exists()):
                broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to files that do not exist: {broken}"


RAW_REPR = re.compile(r"dtype: \w+$|<StopReason\.| object at 0x[0-9a-f]+", re.MULTILINE)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_learners_read_results_not_raw_reprs(path: Path):
    """No pandas Series footer, enum repr or object address where a learner reads a result, and a table
    shows missing values one way (not NaN in one column and <NA> in the next)."""
    problems = []
    for n, cell in enumerate(_code_cells(path), 1):
        for o in cell.get("outputs", []):
            text = _text(o)
            if RAW_REPR.search(text):
                problems.append(f"code cell {n} shows {RAW_REPR.search(text).group(0)!r}")
            if "<NA>" in text and re.search(r"\bNaN\b", text):
                problems.append(f"code cell {n} mixes NaN and <NA> in one output")
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)
