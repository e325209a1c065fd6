"""Quizzes: YAML question banks, validated on load, taken in a widget or headlessly.

A quiz file in `quizzes/` holds an id, the lesson it belongs to, a title and its
questions. Three kinds of question exist:

- `single`: pick one choice; exactly one choice is `correct: true`.
- `multiple`: pick every correct choice (at least one); scored all-or-nothing.
- `numeric`: type a number; right when within `tolerance` of `answer`, or
  inside `range: [low, high]`.

Every choice may carry its own `feedback` and every question has an
`explanation`. A file with a `pass_mark` is a *test*: correctness stays hidden
until the whole test is submitted.

`Quiz.load("l1_trace_layer")` gives one attempt at a quiz. The same object
serves the widget (`.show()`) and code (`.answer()`, `.submit()`, `.score`).
Choices are shuffled per attempt with a seed made of the quiz id and the
attempt number, so the right answer moves around but a given attempt always
looks the same. Every submission is written to the progress store.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from agentkit.course.errors import LearnerError
from agentkit.course.paths import find_course_dir, quiz_dir

#: The course's quiz banks as found at import (see `agentkit.course.paths`); lookups call `quiz_dir()`.
QUIZ_DIR = (find_course_dir() or Path(__file__).resolve().parents[2]) / "quizzes"
#: The pass mark for quizzes whose file sets none (lesson quizzes). The rule: a lesson quiz passes
#: with at most one wrong answer in three (2 of 3, 3 of 5, 4 of 6); 70% would demand 3 of 3.
DEFAULT_PASS_MARK = 0.6

Kind = Literal["single", "multiple", "numeric"]
KINDS: tuple[str, ...] = ("single", "multiple", "numeric")


class QuizFormatError(LearnerError):
    """A quiz file is malformed; the message names the file, the question and the field."""


class QuizInputError(LearnerError):
    """An answer is empty or of the wrong type; the message says what to give instead."""


# --------------------------------------------------------------------------- schema
# jsonschema checks the shape (types, required and unknown fields); the rules a
# schema cannot say clearly ("exactly one correct choice") are checked in code below.

_TEXT = {"type": "string", "minLength": 1}
_ID = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_\-]*$"}

QUIZ_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "lesson", "title", "questions"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "lesson": _TEXT,
        "title": _TEXT,
        "description": {"type": "string"},
        "pass_mark": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        # a learner copy of a graded test (`learner_copy`): no correct marks, feedback or explanations
        "answer_key": {"enum": ["withheld"]},
        "questions": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    },
}

_CHOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": _TEXT, "correct": {"type": "boolean"}, "feedback": _TEXT},
}

# `section` (optional): the lesson section a question examines, e.g. "L2 · Real Numbers" (module tests map every
# question to one; tests/test_module1_test.py checks it).
_COMMON = {"id": _ID, "kind": {"enum": list(KINDS)}, "prompt": _TEXT, "explanation": _TEXT, "section": _TEXT}

QUESTION_SCHEMAS: dict[str, dict[str, Any]] = {
    kind: {
        "type": "object",
        "required": ["id", "kind", "prompt", "explanation", "choices"],
        "additionalProperties": False,
        "properties": {**_COMMON, "choices": {"type": "array", "minItems": 2, "items": _CHOICE_SCHEMA}},
    }
    for kind in ("single", "multiple")
}
QUESTION_SCHEMAS["numeric"] = {
    "type": "object",
    "required": ["id", "kind", "prompt", "explanation"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "answer": {"type": "number"},
        "tolerance": {"type": "number", "minimum": 0},
        "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "unit": {"type": "string"},
    },
}

# A learner copy without the answer key (`learner_copy`) keeps only what a question asks.
WITHHELD_SCHEMAS: dict[str, dict[str, Any]] = {
    kind: {**schema, "required": ["id", "kind", "prompt"]} for kind, schema in QUESTION_SCHEMAS.items()}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Choice:
    """One choice of a single- or multiple-choice question."""

    text: str
    correct: bool = False
    feedback: str = ""


@dataclass(frozen=True)
class Question:
    """One question, as written in the quiz file (or shuffled for an attempt)."""

    id: str
    kind: Kind
    prompt: str
    explanation: str
    choices: tuple[Choice, ...] = ()
    answer: float | None = None
    tolerance: float = 0.0
    range: tuple[float, float] | None = None
    unit: str = ""
    section: str = ""  # the lesson section it examines ("L2 · Real Numbers"), if the file says

    @property
    def correct_choices(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.correct)

    def accepts(self, value: float) -> bool:
        """Whether a numeric answer is right (within tolerance, or inside the range)."""
        if self.range is not None:
            return self.range[0] <= value <= self.range[1]
        assert self.answer is not None
        # a hair of relative slack so 0.135 typed as text equals 0.135 computed
        return abs(value - self.answer) <= self.tolerance + 1e-9 * max(1.0, abs(self.answer))

    def expected_text(self) -> str:
        """The right numeric answer, as a learner would write it."""
        unit = f" {self.unit}" if self.unit else ""
        if self.range is not None:
            return f"between {_num(self.range[0])} and {_num(self.range[1])}{unit}"
        assert self.answer is not None
        tol = f" (± {_num(self.tolerance)})" if self.tolerance else ""
        return f"{_num(self.answer)}{unit}{tol}"


@dataclass(frozen=True)
class QuizSpec:
    """A validated quiz file."""

    id: str
    lesson: str
    title: str
    questions: tuple[Question, ...]
    pass_mark: float | None = None
    description: str = ""
    source: Path | None = None
    #: a learner copy without the answer key: answers are recorded and the instructor grades them
    key_withheld: bool = False

    @property
    def is_test(self) -> bool:
        """Module tests (files with a pass mark) hide correctness until submitted."""
        return self.pass_mark is not None


@dataclass(frozen=True)
class Feedback:
    """What the learner is told about one question."""

    question_id: str
    number: int  # 1-based, as displayed
    answered: bool
    correct: bool | None  # None while a test hides correctness
    given: str
    messages: tuple[str, ...] = ()  # per-choice feedback, or the numeric verdict
    explanation: str = ""

    def text(self) -> str:
        if not self.answered:
            head = "Not answered."
        elif self.correct is None:
            head = f"Answer recorded ({self.given}). Correctness is shown when you submit the whole test."
            if self.messages:  # a graded test whose key the instructor keeps
                head = f"Answer recorded ({self.given})."
        else:
            head = ("✓ Correct" if self.correct else "✗ Not quite") + f" (you chose {self.given})."
        lines = [f"Q{self.number}. {head}", *self.messages]
        if self.explanation:
            lines.append(self.explanation)
        return "\n".join(lines)


@dataclass(frozen=True)
class QuizResult:
    """The outcome of one submitted attempt."""

    quiz_id: str
    lesson: str
    attempt: int
    correct: int
    total: int
    score: float  # 0..1
    passed: bool
    pass_mark: float
    feedback: tuple[Feedback, ...] = field(default_factory=tuple)
    saved: bool = False
    save_error: str | None = None
    graded_by_instructor: bool = False

    def summary(self) -> str:
        if self.graded_by_instructor:
            line = (f"Submitted: {self.total - sum(not f.answered for f in self.feedback)} of {self.total} answers "
                    "recorded. Your instructor grades this test with the answer key and returns your score.")
            return line + (f" Your answers could not be saved: {self.save_error}" if self.save_error else "")
        verdict = "passed" if self.passed else f"not passed yet (pass mark {self.pass_mark:.0%})"
        line = f"Score: {self.correct}/{self.total} ({self.score:.0%}), {verdict}."
        if self.save_error:
            line += f" Your result could not be saved to the progress store: {self.save_error}"
        return line

    def __str__(self) -> str:
        return "\n\n".join([self.summary(), *(f.text() for f in self.feedback)])


# --------------------------------------------------------------------------- loading


def _picked(given: tuple[int, ...] | float) -> tuple[int, ...]:
    """A choice question's stored answer: `_parse` stores the chosen indexes as a tuple for every choice kind."""
    if not isinstance(given, tuple):
        raise TypeError(f"a choice answer is stored as a tuple of indexes, got {given!r}: a bug in the quiz engine")
    return given


def _number(given: tuple[int, ...] | float) -> float:
    """A numeric question's stored answer: `_parse` stores a number."""
    if isinstance(given, tuple):
        raise TypeError(f"a numeric answer is stored as a number, got {given!r}: a bug in the quiz engine")
    return float(given)


def _num(x: float) -> str:
    """12,000 / 0.135 / 5.3: numbers the way the lessons print them."""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.6f}".rstrip("0").rstrip(".")


def _where(path: Path | str, raw_questions: Any, index: int | None) -> str:
    name = str(path)
    if index is None:
        return name
    qid = None
    if isinstance(raw_questions, list) and index < len(raw_questions) and isinstance(raw_questions[index], dict):
        qid = raw_questions[index].get("id")
    return f"{name}: question {index + 1}" + (f" (id {qid!r})" if qid else "")


def _schema_error(err: Any) -> str:
    """jsonschema's best error, rephrased with the field it is about."""
    fields = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", err.message)
        fields.append(missing[0] if missing else "?")
        return f"field {'.'.join(fields)!r}: missing (it is required)"
    if err.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", err.message)
        fields.append(extra[0] if extra else "?")
        return f"field {'.'.join(fields)!r}: unknown field (check the spelling; allowed: {', '.join(sorted(err.schema['properties']))})"
    where = ".".join(fields) or "(top level)"
    return f"field {where!r}: {err.message}"


# Two validators on purpose: `fastjsonschema` compiles a schema to a plain Python
# function and imports in ~10 ms, so a valid bank loads fast; `jsonschema` picks the
# most relevant error and words it well, but importing it costs ~1 s (its optional
# format checkers), so it is imported only when a bank is already known to be wrong.
_FAST: dict[int, Any] = {}


def _fast_validator(schema: dict[str, Any]) -> Any:
    key = id(schema)  # the schemas are module constants, alive for the process
    if key not in _FAST:
        import fastjsonschema

        _FAST[key] = fastjsonschema.compile(schema)
    return _FAST[key]


def _check(schema: dict[str, Any], data: Any, where: str) -> None:
    import fastjsonschema

    try:
        _fast_validator(schema)(data)
        return
    except fastjsonschema.JsonSchemaException as fast_error:
        import jsonschema

        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
        raise QuizFormatError(f"{where}, {_schema_error(error) if error is not None else fast_error}") from None


def parse_quiz(data: Any, source: Path | str = "<quiz>") -> QuizSpec:
    """Validate already-parsed YAML and build a `QuizSpec`; errors name file, question, field."""
    _check(QUIZ_SCHEMA, data, str(source))
    raw = data["questions"]
    questions: list[Question] = []
    seen: set[str] = set()
    withheld = data.get("answer_key") == "withheld"
    for i, q in enumerate(raw):
        where = _where(source, raw, i)
        kind = q.get("kind")
        if kind not in QUESTION_SCHEMAS:
            raise QuizFormatError(f"{where}, field 'kind': {kind!r} is not a question kind; use one of {', '.join(KINDS)}")
        if withheld:
            _check(WITHHELD_SCHEMAS[kind], q, where)
            leaked = [k for k in ("answer", "range", "tolerance", "explanation") if k in q]
            leaked += ["a choice's " + k for c in q.get("choices", []) for k in ("correct", "feedback") if k in c]
            if leaked:
                raise QuizFormatError(f"{where}: this copy withholds the answer key, but it still holds {leaked[0]}; "
                                      "rebuild it with python -m agentkit.course.quiz_copies")
        else:
            _check(QUESTION_SCHEMAS[kind], q, where)
        if q["id"] in seen:
            raise QuizFormatError(f"{where}, field 'id': {q['id']!r} is used by an earlier question; ids must be unique")
        seen.add(q["id"])
        questions.append(_parse_withheld(q) if withheld else _parse_question(q, where))
    if Path(str(source)).suffix in (".yaml", ".yml") and Path(str(source)).stem != data["id"]:
        raise QuizFormatError(
            f"{source}, field 'id': {data['id']!r} does not match the file name; "
            f"name the file {data['id']}.yaml so Quiz.load({data['id']!r}) finds it"
        )
    return QuizSpec(
        id=data["id"],
        lesson=data["lesson"],
        title=data["title"],
        questions=tuple(questions),
        pass_mark=data.get("pass_mark"),
        description=data.get("description", ""),
        source=Path(str(source)),
        key_withheld=withheld,
    )


def _parse_withheld(q: dict[str, Any]) -> Question:
    """A question from a copy without the answer key: its prompt and choices, nothing that marks an answer."""
    common = dict(id=q["id"], kind=q["kind"], prompt=q["prompt"].strip(), explanation="",
                  section=q.get("section", "").strip())
    if q["kind"] == "numeric":
        return Question(**common, unit=q.get("unit", ""))
    return Question(**common, choices=tuple(Choice(c["text"].strip()) for c in q["choices"]))


def learner_copy(data: dict[str, Any]) -> dict[str, Any]:
    """A quiz bank (parsed YAML) without its answer key: no correct marks, per-choice feedback, numeric answers
    or explanations. The learner's answers are recorded as usual; `class_report(..., key=...)` grades them."""
    out = {k: v for k, v in data.items() if k != "questions"}
    out["answer_key"] = "withheld"
    out["questions"] = []
    for q in data["questions"]:
        kept = {k: v for k, v in q.items() if k not in ("answer", "range", "tolerance", "explanation")}
        if "choices" in q:
            kept["choices"] = [{"text": c["text"]} for c in q["choices"]]
        out["questions"].append(kept)
    return out


def _parse_question(q: dict[str, Any], where: str) -> Question:
    kind: Kind = q["kind"]
    common = dict(id=q["id"], kind=kind, prompt=q["prompt"].strip(), explanation=q["explanation"].strip(),
                  section=q.get("section", "").strip())
    if kind == "numeric":
        for name in ("answer", "tolerance"):
            if name in q and not math.isfinite(q[name]):
                raise QuizFormatError(f"{where}, field {name!r}: {q[name]!r} is not a finite number; write a real value")
        if "range" in q and not all(math.isfinite(x) for x in q["range"]):
            raise QuizFormatError(f"{where}, field 'range': {q['range']!r} holds a value that is not finite; write real bounds")
        has_answer, has_range = "answer" in q, "range" in q
        if has_answer == has_range:
            raise QuizFormatError(
                f"{where}, field 'answer': a numeric question needs its correct value as either "
                "'answer' (with an optional 'tolerance') or 'range: [low, high]', not "
                + ("both" if has_answer else "neither")
            )
        if has_range:
            low, high = q["range"]
            if low > high:
                raise QuizFormatError(f"{where}, field 'range': low {low} is above high {high}")
            return Question(**common, range=(float(low), float(high)), unit=q.get("unit", ""))
        if "tolerance" in q and not has_answer:
            raise QuizFormatError(f"{where}, field 'tolerance': only makes sense with 'answer'")
        return Question(**common, answer=float(q["answer"]), tolerance=float(q.get("tolerance", 0)), unit=q.get("unit", ""))

    choices = tuple(Choice(c["text"].strip(), bool(c.get("correct", False)), c.get("feedback", "").strip()) for c in q["choices"])
    n_correct = sum(c.correct for c in choices)
    if n_correct == 0:
        raise QuizFormatError(f"{where}, field 'choices': no choice is marked 'correct: true'; mark the right answer")
    if kind == "single" and n_correct > 1:
        raise QuizFormatError(
            f"{where}, field 'choices': a single-choice question needs exactly one 'correct: true', found {n_correct} "
            "(use kind: multiple for several right answers)"
        )
    texts = [c.text for c in choices]
    dupes = sorted({t for t in texts if texts.count(t) > 1})
    if dupes:
        raise QuizFormatError(f"{where}, field 'choices': the choice text {dupes[0]!r} appears twice")
    return Question(**common, choices=choices)


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses YAML aliases (`*name`).

    A quiz bank never needs them, and nested aliases can expand a few hundred bytes
    into gigabytes (the "billion laughs" bomb) once anything walks the data.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(
                f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not allowed in quiz files; "
                "write the text out in full"
            )
        return super().compose_node(parent, index)


def load_spec(path: str | Path) -> QuizSpec:
    """Read and validate one quiz file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QuizFormatError(f"{path}: cannot read the quiz file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise QuizFormatError(f"{path}: not UTF-8 text (byte {exc.start} is not valid UTF-8); "
                              "save the file as UTF-8 in your editor") from None
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise QuizFormatError(f"{path}: not valid YAML{at}: {problem}") from None
    return parse_quiz(data, path)


def quiz_files(folder: str | Path | None = None) -> list[Path]:
    """Every quiz file in a folder (the course's `quizzes/` by default), sorted by name."""
    folder = Path(folder) if folder is not None else quiz_dir()
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_all(folder: str | Path | None = None) -> list[QuizSpec]:
    """Load and validate every quiz file in a folder (the repository's `quizzes/` by default)."""
    return [load_spec(p) for p in quiz_files(folder)]


def find_quiz(name: str | Path) -> Path:
    """A quiz id (`"l1_trace_layer"`) or a path to a quiz file -> the file's path."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if candidate.is_file():
            return candidate
        raise QuizFormatError(f"{candidate}: no such quiz file")
    folder = quiz_dir()
    for suffix in (".yaml", ".yml"):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    known = ", ".join(p.stem for p in quiz_files(folder)) or "(none)"
    raise QuizFormatError(f"no quiz named {str(name)!r} in {folder}; available quizzes: {known}")


# --------------------------------------------------------------------------- an attempt


def shuffled(spec: QuizSpec, attempt: int, learner: str = "") -> tuple[Question, ...]:
    """The questions with their choices shuffled for one attempt (seeded by quiz id, learner and attempt).

    The learner id (kept in the progress store) makes the order differ from one learner to
    the next, so "the answer to question 3 is B" cannot be passed around a class.
    """
    # random.Random seeds a str through SHA-512: the same order on every machine and run.
    rng = random.Random(f"{spec.id}:{learner}:{attempt}" if learner else f"{spec.id}:{attempt}")
    out = []
    for q in spec.questions:
        choices = list(q.choices)
        rng.shuffle(choices)
        out.append(replace(q, choices=tuple(choices)))
    return tuple(out)


def _label(i: int) -> str:
    return chr(ord("A") + i)


class Quiz:
    """One attempt at a quiz: answer questions, submit, read feedback, retake.

    >>> quiz = Quiz.load("l2_token_cost_anatomy")
    >>> quiz.answer("system_prompt_tokens", 30000)   # doctest: +SKIP
    >>> quiz.submit().score                           # doctest: +SKIP
    """

    def __init__(self, spec: QuizSpec, attempt: int | None = None) -> None:
        self.spec = spec
        if attempt is None:
            attempt = self._next_attempt_number()
        self._start(attempt)

    @classmethod
    def load(cls, name: str | Path, attempt: int | None = None) -> Quiz:
        """Load a quiz by id (searching the repository's `quizzes/`) or by path.

        `attempt` fixes the shuffle; by default it is one more than the attempts
        already in the progress store, so each retake looks different.
        """
        return cls(load_spec(find_quiz(name)), attempt)

    # ------------------------------------------------------------ state

    def _start(self, attempt: int) -> None:
        if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
            raise QuizInputError(f"attempt must be a whole number from 1 up, not {attempt!r}")
        self.attempt = attempt
        self.questions: tuple[Question, ...] = shuffled(self.spec, attempt, self._learner())
        self._answers: dict[str, tuple[int, ...] | float] = {}
        self.result: QuizResult | None = None

    @staticmethod
    def _learner() -> str:
        from agentkit.course import progress

        try:
            return progress.learner_id()
        except progress.ProgressStoreError:
            return ""  # no store: the order is still seeded, only not per learner

    def _next_attempt_number(self) -> int:
        from agentkit.course import progress

        try:
            return progress.attempt_count(self.spec.id) + 1
        except progress.ProgressStoreError:
            return 1  # an unreadable store must not stop anyone taking a quiz

    def retake(self) -> None:
        """Start a fresh attempt: answers cleared, choices reshuffled."""
        self._start(self.attempt + 1)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def is_test(self) -> bool:
        return self.spec.is_test

    @property
    def pass_mark(self) -> float:
        return self.spec.pass_mark if self.spec.pass_mark is not None else DEFAULT_PASS_MARK

    @property
    def score(self) -> float | None:
        """The submitted attempt's score (0..1), or None before `submit()`."""
        return None if self.result is None else self.result.score

    @property
    def submitted(self) -> bool:
        return self.result is not None

    def unanswered(self) -> list[int]:
        """1-based numbers of the questions without an answer yet."""
        return [n for n, q in enumerate(self.questions, 1) if q.id not in self._answers]

    def question(self, ref: int | str) -> Question:
        """A question by 0-based index or by id."""
        return self.questions[self._index(ref)]

    def _index(self, ref: int | str) -> int:
        if isinstance(ref, bool) or not isinstance(ref, (int, str)):
            raise QuizInputError(f"pick a question by its 0-based index or its id (a str), not {type(ref).__name__} {ref!r}")
        if isinstance(ref, int):
            if 0 <= ref < len(self.questions):
                return ref
            raise QuizInputError(
                f"question index {ref} is out of range: this quiz has {len(self.questions)} questions, "
                f"index 0 to {len(self.questions) - 1} (index 0 is question 1)"
            )
        for i, q in enumerate(self.questions):
            if q.id == ref:
                return i
        raise QuizInputError(f"no question with id {ref!r}; ids in this quiz: {', '.join(q.id for q in self.questions)}")

    # ------------------------------------------------------------ answering

    def answer(self, question: int | str, value: Any) -> Feedback:
        """Answer one question; returns its feedback (correctness hidden in tests).

        Choices are given by their displayed letter (`"B"`), 0-based position,
        or exact text; a multiple-select answer is a list of those; a numeric
        answer is a number (or a string like "45,000").
        """
        if self.result is not None:
            raise QuizInputError("this attempt is already submitted; call retake() to start a new attempt")
        i = self._index(question)
        q = self.questions[i]
        parsed = self._parse(q, i + 1, value)
        self._answers[q.id] = parsed
        return self._feedback(i, reveal=not self.is_test)

    def clear(self, question: int | str) -> None:
        """Withdraw the answer to one question."""
        self._answers.pop(self.questions[self._index(question)].id, None)

    def answers(self) -> dict[str, Any]:
        """The answers so far, keyed by question id, as the learner gave them (choice texts or numbers)."""
        out: dict[str, Any] = {}
        for q in self.questions:
            if q.id in self._answers:
                given = self._answers[q.id]
                out[q.id] = given if q.kind == "numeric" else [q.choices[k].text for k in _picked(given)]
        return out

    def _parse(self, q: Question, number: int, value: Any) -> tuple[int, ...] | float:
        what = f"Question {number} ({q.id!r})"
        if isinstance(value, str):
            value = value.strip()
        if value is None or (isinstance(value, (str, list, tuple, set, frozenset)) and len(value) == 0):
            hint = "type a number" if q.kind == "numeric" else f"pick one of {self._letters(q)}"
            raise QuizInputError(f"{what}: no answer given; {hint}")
        if q.kind == "numeric":
            return self._parse_number(value, what, q)
        if q.kind == "single":
            if isinstance(value, (list, tuple, set, frozenset)):
                if len(value) != 1:
                    raise QuizInputError(f"{what} takes exactly one choice; you gave {len(value)}. Pick one of {self._letters(q)}")
                (value,) = tuple(value)
            return (self._choice_index(q, value, what),)
        items = [value] if not isinstance(value, (list, tuple, set, frozenset)) else list(value)
        picked = sorted({self._choice_index(q, v, what) for v in items})
        return tuple(picked)

    @staticmethod
    def _letters(q: Question) -> str:
        return ", ".join(_label(i) for i in range(len(q.choices)))

    def _choice_index(self, q: Question, value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise QuizInputError(
                f"{what}: {type(value).__name__} {value!r} is not a choice; give a letter ({self._letters(q)}), "
                "a 0-based position, or the choice's text"
            )
        if isinstance(value, int):
            if 0 <= value < len(q.choices):
                return value
            raise QuizInputError(f"{what}: position {value} is out of range; positions go 0 to {len(q.choices) - 1}")
        text = value.strip()
        letter = text.rstrip(".)").upper()
        by_letter = ord(letter) - ord("A") if len(letter) == 1 and "A" <= letter < _label(len(q.choices)) else None
        by_text = next((k for k, c in enumerate(q.choices) if c.text.casefold() == text.casefold()), None)
        if by_letter is not None and by_text is not None and by_letter != by_text:
            raise QuizInputError(
                f"{what}: {value!r} is ambiguous: it is the letter of choice {_label(by_letter)} and the text of "
                f"choice {_label(by_text)}; answer with the 0-based position instead ({by_letter} or {by_text})"
            )
        if by_letter is not None:
            return by_letter
        if by_text is not None:
            return by_text
        raise QuizInputError(f"{what}: {value!r} is neither a choice letter ({self._letters(q)}) nor a choice's exact text")

    @staticmethod
    def _parse_number(value: Any, what: str, q: Question) -> float:
        if isinstance(value, bool):
            raise QuizInputError(f"{what} wants a number, not {value!r}")
        if isinstance(value, (int, float)):
            try:
                number = float(value)
            except OverflowError:
                raise QuizInputError(f"{what} wants a number of a sensible size; {value!r} is too large") from None
        elif isinstance(value, str):
            cleaned = value.strip().replace(",", "").replace("_", "").replace("$", "")
            if q.unit:
                cleaned = cleaned.removesuffix(q.unit).strip()
            try:
                number = float(cleaned)
            except (ValueError, OverflowError):
                raise QuizInputError(f"{what} wants a number (like 45000 or 0.135); {value!r} is not one") from None
        else:
            raise QuizInputError(f"{what} wants a number, not {type(value).__name__} {value!r}")
        if not math.isfinite(number):
            raise QuizInputError(f"{what} wants a finite number, not {value!r}")
        return number

    # ------------------------------------------------------------ feedback and scoring

    def _is_correct(self, q: Question, given: tuple[int, ...] | float) -> bool:
        if q.kind == "numeric":
            return q.accepts(_number(given))
        right = tuple(k for k, c in enumerate(q.choices) if c.correct)
        return _picked(given) == right

    def _feedback(self, i: int, reveal: bool) -> Feedback:
        q = self.questions[i]
        reveal = reveal and not self.spec.key_withheld  # without the key there is nothing to reveal
        if q.id not in self._answers:
            return Feedback(q.id, i + 1, answered=False, correct=False if reveal else None, given="",
                            messages=(), explanation=q.explanation if reveal else "")
        given = self._answers[q.id]
        if q.kind == "numeric":
            shown = _num(_number(given)) + (f" {q.unit}" if q.unit else "")
        else:
            shown = ", ".join(_label(k) for k in _picked(given))
        if not reveal:
            return Feedback(q.id, i + 1, answered=True, correct=None, given=shown)
        correct = self._is_correct(q, given)
        messages: list[str] = []
        if q.kind == "numeric":
            if not correct:
                messages.append(f"The answer is {q.expected_text()}.")
        else:
            for k in _picked(given):
                c = q.choices[k]
                mark = "✓" if c.correct else "✗"
                messages.append(f"{mark} {_label(k)}. {c.feedback}" if c.feedback else f"{mark} {_label(k)}. {c.text}")
            if q.kind == "multiple":
                missed = [_label(k) for k, c in enumerate(q.choices) if c.correct and k not in _picked(given)]
                if missed:
                    messages.append(f"You missed {', '.join(missed)}, which {'is' if len(missed) == 1 else 'are'} also right.")
        return Feedback(q.id, i + 1, answered=True, correct=correct, given=shown,
                        messages=tuple(messages), explanation=q.explanation)

    def feedback(self, question: int | str) -> Feedback:
        """The feedback for one question (hidden in a test until it is submitted)."""
        i = self._index(question)
        if self.result is not None and self.spec.key_withheld:
            return self.result.feedback[i]
        if self.result is None and self.questions[i].id not in self._answers:
            return Feedback(self.questions[i].id, i + 1, answered=False, correct=None, given="")  # no spoilers
        return self._feedback(i, reveal=not self.is_test or self.result is not None)

    def submit(self, allow_unanswered: bool = False) -> QuizResult:
        """Score the attempt, show every question's feedback, and record it in the progress store.

        Unanswered questions count as wrong; unless `allow_unanswered=True`,
        submitting with some left blank raises a message listing them.
        """
        if self.result is not None:
            raise QuizInputError("this attempt is already submitted; call retake() to start a new attempt")
        if not self._answers:
            raise QuizInputError("you have not answered any question yet; answer at least one, then submit")
        blank = self.unanswered()
        if blank and not allow_unanswered:
            raise QuizInputError(
                f"question{'s' if len(blank) > 1 else ''} {', '.join(map(str, blank))} "
                f"{'are' if len(blank) > 1 else 'is'} not answered yet; answer "
                f"{'them' if len(blank) > 1 else 'it'}, or submit(allow_unanswered=True) to count "
                f"{'them' if len(blank) > 1 else 'it'} as wrong"
            )
        total = len(self.questions)
        if self.spec.key_withheld:
            return self._submit_for_grading(total)
        feedback = tuple(self._feedback(i, reveal=True) for i in range(len(self.questions)))
        correct = sum(bool(f.correct) for f in feedback)
        score = correct / total
        passed = score + 1e-9 >= self.pass_mark
        saved, error = self._record(score, passed, correct, total)
        self.result = QuizResult(self.id, self.spec.lesson, self.attempt, correct, total, score, passed,
                                 self.pass_mark, feedback, saved, error)
        return self.result

    def _submit_for_grading(self, total: int) -> QuizResult:
        """A test whose key the instructor keeps: record the answers (score 0 until graded), reveal nothing."""
        note = ("Recorded for your instructor to grade.",)
        feedback = tuple(replace(self._feedback(i, reveal=False), messages=note)
                         if self.questions[i].id in self._answers else self._feedback(i, reveal=False)
                         for i in range(total))
        saved, error = self._record(0.0, False, None, total)
        self.result = QuizResult(self.id, self.spec.lesson, self.attempt, 0, total, 0.0, False, self.pass_mark,
                                 feedback, saved, error, graded_by_instructor=True)
        return self.result

    def _record(self, score: float, passed: bool, correct: int | None, total: int) -> tuple[bool, str | None]:
        from agentkit.course import progress

        try:
            progress.record_quiz_attempt(
                self.id, self.spec.lesson, score, passed,
                correct=correct, total=total, attempt=self.attempt, answers=self.answers(),
            )
        except progress.ProgressStoreError as exc:
            return False, str(exc)  # the learner still sees their score
        return True, None

    # ------------------------------------------------------------ display

    def widget(self) -> Any:
        """The quiz as an ipywidgets box (bound to this object)."""
        from agentkit.course.quiz_widget import QuizWidget

        return QuizWidget(self).box

    def show(self) -> None:
        """Display the quiz in the notebook."""
        from IPython.display import display

        display(self.widget())

    def __repr__(self) -> str:
        state = f"submitted, score {self.score:.0%}" if self.result else f"{len(self._answers)}/{len(self.questions)} answered"
        return f"<Quiz {self.id!r} attempt {self.attempt}: {self.title} ({state})>"


def choice_lengths_report(specs: Iterable[QuizSpec]) -> tuple[int, int]:
    """(questions whose correct choice is strictly the longest, single-choice questions): an authoring check."""
    longest = considered = 0
    for spec in specs:
        for q in spec.questions:
            if q.kind != "single":
                continue
            considered += 1
            right = q.correct_choices[0]
            if all(len(right.text) > len(c.text) for c in q.choices if c is not right):
                longest += 1
    return longest, considered


__all__: Sequence[str] = [
    "Choice", "Feedback", "Question", "Quiz", "QuizFormatError", "QuizInputError", "QuizResult", "QuizSpec",
    "load_all", "load_spec", "parse_quiz", "find_quiz", "learner_copy", "QUIZ_DIR",
]
