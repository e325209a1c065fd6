"""Labs: notebooks whose tasks check themselves.

A lab is defined in Python (`agentkit/labs/<lab_id>.py` holds `LAB = Lab(...)`)
and worked in a notebook (`labs/<lab_id>.ipynb`)::

    lab = agentkit.Lab.load("l2_token_cost")
    lab.check("step10_input", my_answer)    # -> CheckResult, shown as a coloured box
    lab.hint("step10_input", 1)             # graded hints: 1, 2, 3 ...
    lab.solution("step10_input")            # the reference code
    lab.status()                            # what is done so far

Each task's checker computes the right answer itself (from the lab's scenario
and agentkit's own models) and returns a `Verdict` that says specifically what
is wrong. The engine around it handles what every task shares: answers still
left as a placeholder (`...`, `None` or `TODO`) are "not attempted yet", a
wrong-typed answer gets a sentence naming the type wanted, a checker that
trips over an odd answer never shows a traceback, and every check is recorded
in the learner's progress store.

Reference solutions live in `labs/src/<lab_id>.ipynb` between
``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines; `solution()` reads them from
there so the notebook and the engine never disagree (see `build_labs`).
"""

from __future__ import annotations

import html
import importlib
import math
import numbers
import os
import pkgutil
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping

from agentkit.course.errors import LearnerError
from agentkit.course.paths import find_course_dir, is_reference_run, lab_sources_dir
from agentkit.timelimit import time_limit

Status = Literal["passed", "wrong", "not_attempted", "invalid", "error"]

SOLUTION_BEGIN = "# BEGIN SOLUTION"
SOLUTION_END = "# END SOLUTION"

#: How long one check may run (the learner's code included) before it is stopped, in real seconds.
CHECK_TIME_LIMIT_S = 60.0

#: The course folder as found at import (labs/, notebooks/, quizzes/; see `agentkit.course.paths`).
REPO_ROOT = find_course_dir() or Path(__file__).resolve().parents[2]


class LabError(LearnerError):
    """A lab, task or hint that does not exist; the message lists what does."""


class AnswerError(LearnerError):
    """An answer of the wrong shape or type; raised by the `as_*` helpers inside checkers."""


class _Todo:
    """The placeholder a learner can leave in an answer: `answer = TODO`."""

    _instance: "_Todo | None" = None

    def __new__(cls) -> "_Todo":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "TODO"

    def __bool__(self) -> bool:
        return False


TODO = _Todo()


def is_placeholder(value: Any) -> bool:
    """True for what a learner leaves before answering: `...`, `None` or `TODO`."""
    return value is Ellipsis or value is None or value is TODO


def placeholders_in(value: Any, where: str = "answer") -> list[str]:
    """Where placeholders hide inside a partly filled answer (dict values, list items)."""
    if is_placeholder(value):
        return [where]
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            found += placeholders_in(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += placeholders_in(item, f"{where}[{i}]")
    elif isinstance(value, (set, frozenset)) and any(is_placeholder(v) for v in value):
        found.append(f"an item of {where}")
    return found


# -- what a checker returns ---------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A checker's judgement; the engine wraps it in a `CheckResult`."""

    passed: bool
    message: str
    expected: str | None = None


def passed(message: str, expected: str | None = None) -> Verdict:
    return Verdict(True, message, expected)


def wrong(message: str, expected: str | None = None) -> Verdict:
    return Verdict(False, message, expected)


_LABELS: dict[str, tuple[str, str, str]] = {
    # status -> (plain-text mark, heading, colour)
    "passed": ("[PASS]", "Passed", "#1a7f37"),
    "wrong": ("[TRY AGAIN]", "Not quite", "#b35900"),
    "not_attempted": ("[TODO]", "Not attempted yet", "#57606a"),
    "invalid": ("[CHECK YOUR ANSWER'S TYPE]", "Wrong kind of answer", "#b35900"),
    "error": ("[COULD NOT CHECK]", "Could not check this answer", "#cf222e"),
}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one `lab.check(...)`: passed or not, and what to do next.

    `expected` describes what the task wanted where that helps (a type, a
    unit, or after a pass the computed figure); it never gives away the
    answer to a wrong attempt. `saved` is False if the progress store could
    not record the check (the reason is in `note`).
    """

    lab_id: str
    task_id: str
    status: Status
    message: str
    expected: str | None = None
    saved: bool = True
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def _lines(self) -> list[str]:
        lines = [self.message]
        if self.expected:
            lines.append(f"Expected: {self.expected}")
        if self.note:
            lines.append(self.note)
        return lines

    def __str__(self) -> str:
        mark, heading, _ = _LABELS[self.status]
        return "\n".join([f"{mark} {self.task_id}: {heading}", *("  " + line for line in self._lines())])

    def __repr__(self) -> str:
        # Deterministic: notebooks commit this text and nbval compares it.
        return str(self)

    def _repr_markdown_(self) -> str:
        _, heading, _ = _LABELS[self.status]
        return f"**{heading}** · `{self.task_id}`\n\n" + "\n\n".join(self._lines())

    def _repr_html_(self) -> str:
        _, heading, colour = _LABELS[self.status]
        body = "".join(f"<div>{html.escape(line)}</div>" for line in self._lines())
        return (
            f'<div style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">'
            f'<div style="font-weight:bold;color:{colour}">{heading} · <code>{html.escape(self.task_id)}</code></div>'
            f"{body}</div>"
        )


@dataclass(frozen=True)
class LabText:
    """A hint, a solution or a status table: plain text, Markdown and HTML."""

    title: str
    body: str
    code: str | None = None
    #: a table (header row first): shown as a Markdown table in a notebook, `body` elsewhere
    table: tuple[tuple[str, ...], ...] | None = None

    def __repr__(self) -> str:
        parts = [self.title, self.body] if self.body else [self.title]
        if self.code is not None:
            parts.append(self.code)
        return "\n".join(parts)

    def _repr_markdown_(self) -> str:
        parts = [f"**{self.title}**"]
        if self.table:
            cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
            header, *rows = self.table
            parts.append("\n".join([
                "| " + " | ".join(map(cell, header)) + " |",
                "|" + "---|" * len(header),
                *("| " + " | ".join(map(cell, row)) + " |" for row in rows),
            ]))
        elif self.body:
            parts.append(self.body)
        if self.code is not None:
            parts.append(f"```python\n{self.code}\n```")
        return "\n\n".join(parts)


# -- answer helpers for checkers (raise AnswerError with a clear sentence) ---


def _type_name(value: Any) -> str:
    return type(value).__name__


def as_number(answer: Any, what: str = "your answer") -> float:
    """A real number (int, float, numpy number); anything else gets a sentence saying why not."""
    if isinstance(answer, bool):
        raise AnswerError(f"{what} is {answer}, a True/False value; give a number instead.")
    if isinstance(answer, numbers.Real):
        try:
            value = float(answer)
        except OverflowError:
            raise AnswerError(f"{what} is a whole number with {len(str(math.trunc(answer)))} digits, far too large "
                              "for anything this task asks; check the calculation.") from None
        if not math.isfinite(value):
            raise AnswerError(f"{what} is {value}, which is not a finite number; a calculation probably divided "
                              "by zero or used a missing value. Check it and give a real number.")
        return value
    if isinstance(answer, str):
        text = answer.strip().replace(",", "").replace("_", "").lstrip("$")
        try:
            float(text)
        except ValueError:
            raise AnswerError(f"{what} is the text {answer!r}; give a number (no quotes).") from None
        raise AnswerError(f"{what} is the text {answer!r}, a number in quotes; give the number itself: {text}")
    raise AnswerError(f"{what} is a {_type_name(answer)}; give a single number.")


def as_whole_number(answer: Any, what: str = "your answer") -> int:
    """A whole number (token counts); 21100.0 is accepted, 21100.5 is not."""
    value = as_number(answer, what)
    if not value.is_integer():
        raise AnswerError(f"{what} is {answer}, but token counts are whole numbers.")
    return int(value)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def as_name(answer: Any, options: Iterable[str], aliases: Mapping[str, str] | None = None, what: str = "your answer") -> str:
    """One of `options` (case and spacing ignored; `aliases` map other spellings)."""
    options = tuple(options)
    if not isinstance(answer, str):
        raise AnswerError(f"{what} is a {_type_name(answer)}; give one of these names as a string: {', '.join(map(repr, options))}.")
    key = _norm(answer)
    table = {_norm(o): o for o in options} | {_norm(k): v for k, v in (aliases or {}).items()}
    if key not in table:
        raise AnswerError(f"{what} is {answer!r}, which is not one of {', '.join(map(repr, options))}.")
    return table[key]


def as_names(answer: Any, options: Iterable[str], aliases: Mapping[str, str] | None = None, what: str = "your answer") -> frozenset[str]:
    """A collection (list, tuple or set) of names from `options`."""
    options = tuple(options)
    if isinstance(answer, str) or not isinstance(answer, (list, tuple, set, frozenset)):
        raise AnswerError(
            f"{what} is a {_type_name(answer)}; give a list or set of names, e.g. {{{options[0]!r}, {options[1]!r}}}."
        )
    return frozenset(as_name(item, options, aliases, what=f"an item of {what}") for item in answer)


def as_mapping(answer: Any, keys: Iterable[str], aliases: Mapping[str, str] | None = None, what: str = "your answer") -> dict[str, Any]:
    """A dict with exactly `keys` (case, spacing and `aliases` forgiven), returned under the canonical keys."""
    keys = tuple(keys)
    if not isinstance(answer, Mapping):
        raise AnswerError(
            f"{what} is a {_type_name(answer)}; give a dict with the keys {', '.join(map(repr, keys))}."
        )
    table = {_norm(k): k for k in keys} | {_norm(k): v for k, v in (aliases or {}).items()}
    out: dict[str, Any] = {}
    unknown = []
    for key, value in answer.items():
        canonical = table.get(_norm(key)) if isinstance(key, str) else None
        if canonical is None:
            unknown.append(key)
        else:
            out[canonical] = value
    if unknown:
        raise AnswerError(f"{what} has keys this task does not use: {', '.join(map(repr, unknown))}. Use exactly {', '.join(map(repr, keys))}.")
    missing = [k for k in keys if k not in out]
    if missing:
        raise AnswerError(f"{what} is missing {', '.join(map(repr, missing))}. Use exactly {', '.join(map(repr, keys))}.")
    return out


# -- tasks and labs -----------------------------------------------------------

Checker = Callable[[Any], Verdict]


@dataclass(frozen=True)
class Task:
    """One checkable step of a lab.

    `checker(answer)` computes the right answer itself and returns a
    `Verdict`; `expects` describes the answer's shape for the learner
    ("a dict of four token counts"); hints go from gentle to nearly the answer.
    """

    id: str
    title: str
    checker: Checker
    expects: str
    hints: tuple[str, ...] = ()

    def hint(self, n: int = 1) -> LabText:
        """Hint `n` (1 is the gentlest); past the last one, says so and points at the solution."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise LabError(f"Hints are numbered 1, 2, 3 ...; got {n!r}.")
        count = len(self.hints)
        if count == 0:
            return LabText(f"No hints for {self.id}", f'This task has no hints; lab.solution("{self.id}") shows the reference.')
        if n > count:
            return LabText(
                f"No hint {n} for {self.id}",
                f"There {'is only 1 hint' if count == 1 else f'are only {count} hints'} for this task. "
                f'The last one was: {self.hints[-1]} If you are still stuck, lab.solution("{self.id}") shows the reference.',
            )
        more = f' (next: lab.hint("{self.id}", {n + 1}))' if n < count else " (the last one)"
        return LabText(f"Hint {n} of {count} for {self.id}{more}", self.hints[n - 1])

    def check(self, answer: Any, lab_id: str = "") -> CheckResult:
        """Judge `answer`: never raises for anything a learner could pass."""
        result = CheckResult(lab_id, self.id, "passed", "")
        if is_placeholder(answer):
            return replace(result, status="not_attempted", message=(
                f"Nothing to check yet: the answer is still a placeholder ({'...' if answer is Ellipsis else repr(answer)}). "
                f"Replace it with {self.expects} and run the cell again. "
                f'Stuck? Try lab.hint("{self.id}").'
            ))
        gaps = placeholders_in(answer)
        if gaps:
            return replace(result, status="not_attempted", message=(
                f"Not finished yet: {', '.join(gaps)} {'is' if len(gaps) == 1 else 'are'} still a placeholder. "
                "Fill in every part, then run the cell again."
            ))
        if _equals_anything(answer):
            return replace(result, status="invalid", expected=self.expects, message=(
                f"This answer (a {_type_name(answer)}) says it is equal to anything at all, so no comparison with "
                "it means anything. Give a plain value (a number, text, list or dict) or a function."
            ))
        try:
            with time_limit(CHECK_TIME_LIMIT_S, CheckTimeout, take_over=True):
                verdict = self.checker(answer)
        except CheckTimeout:
            return _timed_out(result, self.expects)
        except AnswerError as err:
            return replace(result, status="invalid", message=str(err), expected=self.expects)
        except Exception as err:  # a checker tripping over an odd answer must not show a traceback
            return replace(result, status="error", expected=self.expects, message=(
                f"The check could not work with this answer ({type(err).__name__}: {err}). "
                "Make sure it has the shape described below; if it does, this is a bug in the lab, please report it."
            ))
        if not isinstance(verdict, Verdict):
            return replace(result, status="error", message=(
                f"This task's checker returned {type(verdict).__name__}, not a Verdict: a bug in the lab, please report it."))
        return replace(result, status="passed" if verdict.passed else "wrong",
                       message=verdict.message, expected=verdict.expected)


class CheckTimeout(BaseException):
    """Raised inside a check that ran past `CHECK_TIME_LIMIT_S`.

    A BaseException, so the `except Exception` that reports a learner function's own
    errors does not swallow it and carry on.
    """


def _timed_out(result: "CheckResult", expects: str) -> "CheckResult":
    return replace(result, status="invalid", expected=expects, message=(
        f"The check was stopped after {CHECK_TIME_LIMIT_S:g} seconds: your code is still running, probably "
        "an endless loop (a `while` whose condition never turns false, or a function that calls itself "
        "forever). Fix it and run the cell again."
    ))


class _Unlike:
    """A fresh object no honest answer equals."""


def _equals_anything(answer: Any, depth: int = 0) -> bool:
    """True for an object whose `==` claims equality with something it cannot be equal to, also when it hides
    inside a list, tuple, set or dict (values and keys), a few levels deep."""
    try:
        if bool(answer == _Unlike()) or bool(_Unlike() == answer):
            return True
    except Exception:  # noqa: BLE001 - an `==` that raises is judged by the checker, not here
        return False
    if depth >= 4:
        return False
    if isinstance(answer, Mapping):
        items: Iterable[Any] = [*answer.keys(), *answer.values()]
    elif isinstance(answer, (list, tuple, set, frozenset)):
        items = answer
    else:
        return False
    return any(_equals_anything(item, depth + 1) for item in list(items)[:1000])


def is_unwritten_function(fn: Any, probe: tuple[Any, ...]) -> bool:
    """True for a function the learner has not written yet: it returns `...` (or a tuple holding one).

    Not None: a function that is done may well return None.
    """
    if not callable(fn):
        return False
    try:
        value = fn(*probe)
    except Exception:  # noqa: BLE001 - a function that fails on the probe is attempted; the check says why
        return False
    if isinstance(value, (tuple, list)):
        return any(v is Ellipsis or v is TODO for v in value)
    return value is Ellipsis or value is TODO


@dataclass(frozen=True)
class FunctionTask(Task):
    """A task whose answer is one function, or a tuple of functions.

    In the learner version a function's body ends `return <name>` after a
    placeholder `<name> = ...`, so an unwritten function returns `...` (or a
    tuple of them). A function is not a placeholder itself, so each one is
    called once on `probes[i]` first, and a stub is handed on as `...`, which
    `Task.check` then reports as "not attempted".
    """

    probes: tuple[tuple[Any, ...], ...] = ()

    def check(self, answer: Any, lab_id: str = "") -> CheckResult:
        try:
            with time_limit(CHECK_TIME_LIMIT_S, CheckTimeout, take_over=True):  # the probe runs the learner's code
                if isinstance(answer, tuple):
                    answer = tuple(... if i < len(self.probes) and is_unwritten_function(a, self.probes[i]) else a
                                   for i, a in enumerate(answer))
                elif self.probes and is_unwritten_function(answer, self.probes[0]):
                    answer = ...
        except CheckTimeout:
            return _timed_out(CheckResult(lab_id, self.id, "invalid", ""), self.expects)
        return super().check(answer, lab_id)


def as_function(answer: Any, what: str) -> Callable[..., Any]:
    """`answer` if it is callable; else a clear AnswerError (the learner passed a value, or called the function)."""
    if not callable(answer):
        raise AnswerError(f"{what} is a {type(answer).__name__}; give the function itself (its name, no brackets).")
    return answer


def call_learner_code(fn: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """(what fn returned, None) or (None, a sentence about the exception it raised, or about a returned object
    that claims to equal anything: no check may compare with such a thing)."""
    try:
        value = fn(*args)
    except Exception as err:  # noqa: BLE001 - the learner's code: report, never raise
        return None, f"{type(err).__name__}: {err}"
    if _equals_anything(value):
        return None, (f"it returned a {_type_name(value)} that says it is equal to anything at all, so no "
                      "comparison with it means anything; return a plain value (a number, text, list or dict)")
    return value, None


def load_lab_text(module_file: str, task_ids: Iterable[str], values: Mapping[str, object] | None = None) -> dict[str, Any]:
    """A lab's lesson content from the YAML beside its module (`l1_x.py` -> `l1_x.yaml`), checked.

    Lesson text belongs in data files, not Python strings (DESIGN). Every file has `hints` (for each
    task id, a list of one or more non-empty strings, gentle to nearly the answer) and `notes` (the
    lesson summary the tutor reads); any other top-level key is the lab's own, returned as loaded.
    Hints come back as tuples, ready for `Task(hints=...)`. With `values`, hints and notes are templates
    (``{min_runs}``) filled from them, so a figure the kit defines is stated once, in code. A bad edit fails
    on import, naming the file.
    """
    import yaml

    path = Path(module_file).with_suffix(".yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected a mapping with 'hints' and 'notes'")
    hints = data.get("hints")
    wanted = list(task_ids)
    if not isinstance(hints, dict) or sorted(hints) != sorted(wanted):
        got = sorted(hints) if isinstance(hints, dict) else hints
        raise ValueError(f"{path.name}: 'hints' must have exactly the task ids {wanted}; got {got}")
    for task_id, texts in hints.items():
        if not (isinstance(texts, list) and texts and all(isinstance(t, str) and t.strip() for t in texts)):
            raise ValueError(f"{path.name}: hints for {task_id!r} must be a list of non-empty strings")
    notes = data.get("notes")
    if not isinstance(notes, str) or not notes.strip():
        raise ValueError(f"{path.name}: 'notes' must be the lesson notes as text")
    if values is not None:
        try:
            hints = {k: [t.format(**values) for t in v] for k, v in hints.items()}
            notes = notes.format(**values)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"{path.name}: a template names {err} but the lab gives only {sorted(values)} "
                             "(write a literal brace as {{ or }})") from None
    return {**data, "hints": {k: tuple(v) for k, v in hints.items()}, "notes": notes}


@dataclass
class Lab:
    """A lab: tasks, the lesson it belongs to, and this session's attempts.

    `lesson` names the lesson as its quiz does ("M1 L2 Token Cost Anatomy"), so
    the progress table puts quiz and lab on one row; `lesson_notebook` is a
    glob under the repository root that finds its notebook (the tutor reads
    its markdown); `notes` is a short lesson summary the tutor falls back on;
    `scenario` is the lab's data, handed to the learner as `lab.scenario`.
    """

    id: str
    title: str
    lesson: str
    tasks: list[Task]
    lesson_notebook: str | None = None
    notes: str = ""
    scenario: Any = None
    _results: dict[str, list[CheckResult]] = field(default_factory=dict, repr=False)
    _hints_seen: dict[str, int] = field(default_factory=dict, repr=False)
    #: how `agentkit.course.regrade` loads this lab again in a fresh process ("lab" + its id)
    reload_kind: str = "lab"
    reload_key: str = ""

    def __post_init__(self) -> None:
        ids = [t.id for t in self.tasks]
        if len(ids) != len(set(ids)):
            raise ValueError(f"Lab {self.id!r} has duplicate task ids: {ids}")

    # -- loading ---------------------------------------------------------------

    @staticmethod
    def available() -> list[str]:
        """The ids of every lab defined in `agentkit.labs`."""
        import agentkit.labs

        return sorted(m.name for m in pkgutil.iter_modules(agentkit.labs.__path__) if not m.name.startswith("_"))

    @classmethod
    def load(cls, lab_id: str) -> "Lab":
        """A fresh copy of lab `lab_id` (no attempts yet), from `agentkit/labs/<lab_id>.py`."""
        known = cls.available()
        if lab_id not in known:
            raise LabError(f"No lab called {lab_id!r}. Labs: {', '.join(known) or '(none)'}.")
        module = importlib.import_module(f"agentkit.labs.{lab_id}")
        lab = getattr(module, "LAB", None)
        if not isinstance(lab, Lab):
            raise LabError(f"agentkit/labs/{lab_id}.py must define LAB = Lab(...).")
        return replace(lab, _results={}, _hints_seen={}, reload_key=lab_id)

    # -- the notebook API --------------------------------------------------------

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise LabError(f"Lab {self.id!r} has no task {task_id!r}. Tasks: {', '.join(t.id for t in self.tasks)}.")

    def judges_in_fresh_process(self) -> bool:
        """Whether a pass is judged again in a fresh process before it is recorded (`agentkit.course.regrade`):
        always for labs; for in-lesson exercises when a class runs graded (`AGENTKIT_GRADED=1`)."""
        from agentkit.course import regrade

        if not regrade.enabled() or is_reference_run() or not self.reload_key:
            return False
        return self.reload_kind == "lab" or os.environ.get("AGENTKIT_GRADED") == "1"

    def check(self, task_id: str, answer: Any) -> CheckResult:
        """Check `answer` for task `task_id` and record the attempt in the progress store.

        A pass is judged again in a fresh process first (see `judges_in_fresh_process`), so nothing patched in
        this kernel (prices, budgets, the checker itself) can move the recorded verdict."""
        task = self.task(task_id)
        result = task.check(answer, self.id)
        if result.passed and self.judges_in_fresh_process():
            from agentkit.course import regrade

            fresh = regrade.judge_in_fresh_process(self.reload_kind, self.reload_key, task_id, answer,
                                                   CHECK_TIME_LIMIT_S)
            if fresh.status != "passed":
                result = replace(result, status=fresh.status, expected=fresh.expected, message=(  # type: ignore[arg-type]  # a status from our own CheckResult, sent through JSON
                    "This passed in your notebook's kernel but not when judged again in a fresh Python process "
                    f"from the installed kit: {fresh.message} (Something in this kernel differs from the kit as "
                    "installed: a patched module, price or checker. Restart the kernel and run your cells again.)"))
        result = _record(result, self.lesson)
        self._results.setdefault(task_id, []).append(result)
        return result

    def hint(self, task_id: str, n: int = 1) -> LabText:
        """Hint `n` (1 is the gentlest) for a task; past the last one, says so."""
        text = self.task(task_id).hint(n)
        if isinstance(n, int) and n >= 1:
            self._hints_seen[task_id] = max(n, self._hints_seen.get(task_id, 0))
        return text

    def solution_locked(self, task_id: str) -> LabText | None:
        """Why the reference is not shown yet, or None once the learner has made a real attempt.

        A real attempt is a check of something other than a placeholder (in this session or recorded in the
        progress store), or having read the task's last hint (EXERCISES.md, rule 11)."""
        task = self.task(task_id)
        if is_reference_run():
            return None
        tried = any(r.status != "not_attempted" for r in self._results.get(task_id, []))
        last_hint = self._hints_seen.get(task_id, 0) >= max(1, len(task.hints))
        if tried or last_hint:
            return None
        try:
            from agentkit.course.progress import attempted

            if attempted(self.id, task_id):
                return None
        except Exception:  # noqa: BLE001 - no readable store: judge by this session alone
            pass
        return LabText(f"The reference for {task_id} opens after a real attempt",
                       f"Write your answer and run its check first (a placeholder does not count), or read the "
                       f"hints through to the last one (lab.hint(\"{task_id}\", {max(1, len(task.hints))})). "
                       "Comparing your own attempt with the reference teaches far more than reading it first.")

    def _viewed_solution(self, task_id: str) -> None:
        if is_reference_run():
            return
        try:
            from agentkit.course.progress import record_solution_view

            record_solution_view(self.id, task_id)
        except Exception:  # noqa: BLE001 - the bookkeeping never stands between a learner and the text
            pass

    def solution(self, task_id: str) -> LabText:
        """The reference solution for a task, once the learner has made a real attempt (the view is recorded)."""
        locked = self.solution_locked(task_id)
        if locked is not None:
            return locked
        self._viewed_solution(task_id)
        return self.reference(task_id)

    def reference(self, task_id: str) -> LabText:
        """The reference solution, read from `labs/src/<lab_id>.ipynb`, with no gate: for the kit's tests and
        tools. Learners use `solution()`."""
        self.task(task_id)
        source = lab_sources_dir() / f"{self.id}.ipynb"
        if not source.exists():
            return LabText(f"No reference solution for {task_id}",
                           "The reference solutions are not part of this installation (a graded course may leave "
                           "them out). Ask your instructor, or try the hints.")
        code = reference_solutions(source).get(task_id)
        if code is None:
            return LabText(f"No reference solution for {task_id}", f"{source.name} has no solution block for this task.")
        return LabText(f"Reference solution for {task_id}", "Read it, then write your own version and check it.", code)

    def status(self) -> LabText:
        """Where each task stands in this session."""
        rows = []
        for t in self.tasks:
            tries = self._results.get(t.id, [])
            if any(r.passed for r in tries):
                state = "passed"
            elif not tries:
                state = "not checked yet"
            elif all(r.status == "not_attempted" for r in tries):
                state = "not attempted yet"
            else:
                state = f"not passed yet ({len(tries)} {'try' if len(tries) == 1 else 'tries'})"
            rows.append((t.id, t.title, state))
        done = sum(1 for _, _, s in rows if s == "passed")
        width = max(len(r[0]) for r in rows)
        body = "\n".join(f"{tid:<{width}}  {state:<28} {title}" for tid, title, state in rows)
        table = (("Task", "Status", "What it asks"), *((f"`{tid}`", state, title) for tid, title, state in rows))
        return LabText(f"{self.title}: {done} of {len(rows)} tasks passed", body, table=table)

    def tutor(self, **kwargs: Any) -> Any:
        """An ask-the-tutor helper that knows this lab's lesson."""
        from agentkit.course.tutor import Tutor

        return Tutor.for_lab(self, **kwargs)


def _record(result: CheckResult, lesson: str) -> CheckResult:
    """Save the check in the progress store; a failure to save is shown, not raised."""
    if is_reference_run():
        return replace(result, saved=False, note="(A run of the reference solution: not recorded as your progress.)")
    try:
        from agentkit.course.progress import record_lab_check

        # `lesson` matches the lesson's quiz, so both share a row in the progress table.
        record_lab_check(result.lab_id, result.task_id, result.passed, f"{result.status}: {result.message}", lesson=lesson)
    except Exception as err:  # the learner's result matters more than the bookkeeping
        return replace(result, saved=False, note=f"(Progress not saved: {type(err).__name__}: {err})")
    return result


# -- reference solutions in notebooks -----------------------------------------

_CHECK_CALL = re.compile(r"""\.check\(\s*["']([A-Za-z0-9_]+)["']""")


def solution_blocks(source: str) -> list[str]:
    """The text between solution markers in one cell's source, marker lines excluded."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in source.splitlines():
        marker = line.strip()
        if marker == SOLUTION_BEGIN:
            current = []
        elif marker == SOLUTION_END and current is not None:
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def reference_solutions(notebook: Path | str) -> dict[str, str]:
    """task id -> reference code, from cells that hold a solution block and a `lab.check("<task>", ...)` call."""
    from agentkit.course.paths import notebook_cells

    found: dict[str, str] = {}
    for cell in notebook_cells(notebook):
        if cell.get("cell_type") != "code":
            continue
        source = str(cell["source"])
        blocks = solution_blocks(source)
        if not blocks:
            continue
        for task_id in _CHECK_CALL.findall(source):
            found.setdefault(task_id, "\n\n".join(_dedent(b) for b in blocks))
    return found


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n")
