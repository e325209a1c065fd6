"""Where the course's files are: lessons, labs, quizzes.

The package (`agentkit/`) and the course content (`notebooks/`, `labs/`,
`quizzes/`) live side by side in a checkout. A class on JupyterHub installs the
package once, non-editable, into a shared environment, so the content cannot
be found next to the installed package. The course folder is therefore looked
for, in this order:

1. `$AGENTKIT_COURSE_DIR`, when set (the instructor's choice on a hub);
2. the checkout around the package (an editable install, or a clone on `PYTHONPATH`);
3. the working directory or one of its parents (JupyterLab started in the course folder).

A folder counts as the course when it holds `quizzes/` and `notebooks/`.
"""

from __future__ import annotations

import os
from pathlib import Path

from agentkit.course.errors import LearnerError

ENV_VAR = "AGENTKIT_COURSE_DIR"


class CourseNotFoundError(LearnerError):
    """The course folder (with quizzes/ and notebooks/) could not be found."""


def _is_course(folder: Path) -> bool:
    return (folder / "quizzes").is_dir() and (folder / "notebooks").is_dir()


def find_course_dir() -> Path | None:
    """The course folder, or None when none of the three places holds one."""
    override = os.environ.get(ENV_VAR)
    if override:
        folder = Path(override).expanduser()
        return folder if _is_course(folder) else None
    checkout = Path(__file__).resolve().parents[2]
    if _is_course(checkout):
        return checkout
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _is_course(folder):
            return folder
    return None


def course_dir() -> Path:
    """The course folder; a clear error saying how to point at it when it cannot be found."""
    folder = find_course_dir()
    if folder is not None:
        return folder
    override = os.environ.get(ENV_VAR)
    if override:
        raise CourseNotFoundError(
            f"{ENV_VAR} is {override!r}, but that folder has no quizzes/ and notebooks/ in it. "
            "Point it at the course folder (the one with notebooks/, labs/ and quizzes/).")
    raise CourseNotFoundError(
        "Cannot find the course folder (the one with notebooks/, labs/ and quizzes/): agentkit is installed "
        f"on its own and the working directory {Path.cwd()} is not inside the course. Start JupyterLab in the "
        f"course folder, or set {ENV_VAR} to its path.")


def quiz_dir() -> Path:
    return course_dir() / "quizzes"


def labs_dir() -> Path:
    return course_dir() / "labs"


def lab_sources_dir() -> Path:
    """Reference solutions (`labs/src/`). A graded installation may leave them out."""
    return labs_dir() / "src"


def notebooks_dir() -> Path:
    return course_dir() / "notebooks"


def notebook_cells(path: str | Path) -> list[dict[str, object]]:
    """A notebook's cells, each with its `source` joined into one string.

    Plain JSON on purpose: the tutor and `lab.solution()` only read cell text, and
    importing `nbformat` (with its schema validation) costs a lesson's first quiz or
    hint about half a second.
    """
    import json

    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a readable notebook ({exc})") from None
    out = []
    for cell in cells:
        source = cell.get("source", "")
        out.append({**cell, "source": source if isinstance(source, str) else "".join(source)})
    return out


def is_reference_run() -> bool:
    """True when this kernel runs a reference solution (a notebook under `labs/src/`).

    Jupyter tells a kernel which notebook it serves (`JPY_SESSION_NAME`); running
    the reference solutions must not credit the learner with the lab.
    `AGENTKIT_REFERENCE_RUN=1` says the same explicitly (the lab builder sets it).
    """
    if os.environ.get("AGENTKIT_REFERENCE_RUN") == "1":
        return True
    session = os.environ.get("JPY_SESSION_NAME", "")
    return "labs/src/" in session.replace(os.sep, "/")
