"""Reflection: don't stop at the first draft. Generate, check, revise.

    result = reflect(client, task, check=schema_check(Meeting), meter=meter)
    result.final, result.stop, result.cost, result.attempts

One loop serves every kind of reflection; what changes is the *check* that
reads a draft and returns `Feedback`:

- a **critic**: another model call asked to find problems (`critic(...)`);
  cheap to add, but it is the model judging its own kind of work;
- **external feedback**: something outside the model that knows the answer is
  wrong. A schema validator on JSON (`schema_check`), the code actually run
  against tests in a separate process (`code_check`), a citation checker on a
  research answer (`citation_check`). Concrete errors give the revision
  something real to fix.

The loop stops when the check passes, or after `max_revisions` revisions: a
circuit breaker, because a model that cannot fix something tends to keep
trying, and every pass costs tokens and seconds. `compare_on` runs a small
eval set once and reads off, for each item, the quality of the first draft
(no reflection) and of the final answer (with reflection), with both costs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

import jsonschema
import pydantic
from opentelemetry import trace

from agentkit.jsontext import extract_json
from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.sandbox import run_code
from agentkit.patterns.measure import Cost, Meter

__all__ = [
    "Attempt", "EvalItem", "Feedback", "ItemOutcome", "Reflection", "citation_check", "code_check", "compare_on",
    "Critique", "critic", "email_rubric", "extract_json", "outcomes_table", "reflect", "revision_prompt", "schema_check",
]

_tracer = trace.get_tracer("agentkit")


@dataclass(frozen=True)
class Feedback:
    """A check's verdict on one draft: passed or not, the problems found, and what the check cost."""

    ok: bool
    problems: tuple[str, ...] = ()
    source: str = "check"  # who found them: "schema validator", "tests", "critic", ...
    cost: Cost = Cost()  # a critic is a model call; local checks cost nothing here

    def __str__(self) -> str:
        if self.ok:
            return f"{self.source}: no problems"
        return f"{self.source}: " + "; ".join(self.problems)


#: A check reads a draft and says what is wrong with it.
Check = Callable[[str], Feedback]


@dataclass(frozen=True)
class Attempt:
    """One draft (index 0) or revision (1, 2, ...) and the check's verdict on it."""

    index: int
    text: str
    feedback: Feedback
    model_cost: Cost  # the model call that wrote it

    @property
    def cost(self) -> Cost:
        """Writing it plus checking it."""
        return self.model_cost + self.feedback.cost


@dataclass
class Reflection:
    """A reflection run: every attempt, why it stopped, and what it cost."""

    attempts: list[Attempt]
    stop: Literal["accepted", "max_revisions"]

    @property
    def first(self) -> str:
        return self.attempts[0].text

    @property
    def final(self) -> str:
        return self.attempts[-1].text

    @property
    def revisions(self) -> int:
        return len(self.attempts) - 1

    @property
    def first_cost(self) -> Cost:
        """What the first draft alone cost: the run without reflection (its check not included)."""
        return self.attempts[0].model_cost

    @property
    def cost(self) -> Cost:
        return Cost.sequential(a.cost for a in self.attempts)

    def __str__(self) -> str:
        lines = []
        for a in self.attempts:
            label = "draft" if a.index == 0 else f"revision {a.index}"
            lines.append(f"{label}: {a.feedback}")
        lines.append(f"stopped: {self.stop} after {self.revisions} revision(s); {self.cost}")
        return "\n".join(lines)


def revision_prompt(feedback: Feedback) -> str:
    """The message that asks for a revision: the problems, as concrete as the check made them."""
    problems = "\n".join(f"- {p}" for p in feedback.problems)
    return (f"Feedback from the {feedback.source}:\n{problems}\n\n"
            "Revise your previous answer to fix every problem listed. Reply with the full revised answer only.")


def _text(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def reflect(client: Any, task: str, check: Check, *, meter: Meter, system: str | None = None,
            model: str = DEFAULT_MODEL, max_revisions: int = 2, max_tokens: int = 1024) -> Reflection:
    """Draft an answer to `task`, check it, and revise from the feedback until the check passes.

    The revisions continue the same conversation: the model sees its draft
    and the feedback. At most `max_revisions` revisions run (0 means no
    reflection: one draft, checked). Traced as a span ``reflect`` with one
    ``agentkit.reflection.attempt`` event per attempt.
    """
    if max_revisions < 0:
        raise ValueError(f"max_revisions must be 0 or more (0 = no reflection), got {max_revisions}")
    if not callable(check):
        raise TypeError(f"check must be a function that takes the draft text and returns Feedback; got {check!r}")
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    attempts: list[Attempt] = []
    params: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    if system is not None:
        params["system"] = system
    with _tracer.start_as_current_span("reflect", attributes={"agentkit.pattern": "reflection",
                                                              "agentkit.reflection.max_revisions": max_revisions}) as span:
        for index in range(max_revisions + 1):
            message = client.messages.create(**params, messages=list(messages))
            text = _text(message)
            feedback = check(text)
            if not isinstance(feedback, Feedback):
                raise TypeError(f"the check returned {type(feedback).__name__}; it must return a Feedback")
            attempts.append(Attempt(index, text, feedback, meter.cost(message)))
            span.add_event("agentkit.reflection.attempt", {
                "agentkit.reflection.attempt": index, "agentkit.reflection.ok": feedback.ok,
                "agentkit.reflection.problems": len(feedback.problems), "agentkit.reflection.source": feedback.source,
            })
            if feedback.ok:
                stop: Literal["accepted", "max_revisions"] = "accepted"
                break
            messages += [{"role": "assistant", "content": text}, {"role": "user", "content": revision_prompt(feedback)}]
        else:
            stop = "max_revisions"
        span.set_attribute("agentkit.reflection.stop", stop)
        span.set_attribute("agentkit.reflection.revisions", len(attempts) - 1)
    return Reflection(attempts, stop)


# ---------------------------------------------------------------------------
# Checks: a critic, and external feedback
# ---------------------------------------------------------------------------


class Critique(pydantic.BaseModel):
    """A critic's verdict, as structured outputs return it: ready or not, and every concrete problem."""

    ok: bool
    problems: list[str]


_Critique = Critique  # the old private name


def critic(client: Any, *, meter: Meter, system: str, model: str = FAST_MODEL, max_tokens: int = 400) -> Check:
    """A check that asks a model to critique the draft.

    The verdict comes back through structured outputs (`messages.parse` with `Critique` as the output
    format), so the loop never parses JSON out of prose. A call that returns no verdict (a refusal, a reply
    cut at `max_tokens`) counts as a failed check that says so: a critic that gave no verdict never passes a
    draft silently.
    """

    def check(draft: str) -> Feedback:
        message = client.messages.parse(model=model, max_tokens=max_tokens, system=system,
                                        messages=[{"role": "user", "content": draft}], output_format=Critique)
        cost = meter.cost(message)
        verdict = message.parsed_output
        if verdict is None:
            return Feedback(False, (f"the critic gave no verdict (stop reason {message.stop_reason!r})",), "critic", cost)
        return Feedback(verdict.ok and not verdict.problems, tuple(verdict.problems), "critic", cost)

    return check


def schema_check(schema: type[pydantic.BaseModel] | Mapping[str, Any]) -> Check:
    """External feedback for JSON: validate the draft against a pydantic model or a JSON Schema.

    Each problem names the field (its path) and what is wrong with it, which is what the
    model needs to fix the answer.
    """
    json_schema = schema.model_json_schema() if isinstance(schema, type) else dict(schema)
    jsonschema.Draft202012Validator.check_schema(json_schema)
    validator = jsonschema.Draft202012Validator(json_schema, format_checker=jsonschema.FormatChecker())

    def check(draft: str) -> Feedback:
        try:
            data = json.loads(extract_json(draft))
        except ValueError as exc:
            return Feedback(False, (f"the answer is not valid JSON: {exc}",), "schema validator")
        problems = []
        for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            problems.append(f"{where}: {error.message}")
        return Feedback(not problems, tuple(problems), "schema validator")

    return check


# Runs each test of `code_check` inside the sandbox and collects the failures as its JSON `result`.
_TEST_HARNESS = """
_failures = []
for _name, _src in TESTS:
    try:
        exec(_src, globals())
    except Exception as _exc:
        _failures.append([_name, _src, f"{type(_exc).__name__}: {_exc}"])
result = _failures
"""


def code_check(tests: Mapping[str, str], *, timeout: float = 5.0) -> Check:
    """External feedback for code: run the draft's code, then each test, in `agentkit.sandbox`
    (a separate process with OS limits, a timeout and no network).

    `tests` maps a test's name to a line of Python (usually an ``assert``).
    A draft whose code does not even run gets its traceback back; otherwise each
    failing test is reported with its error. The code is the first ```python
    block of the draft, or the whole draft.
    """
    if not tests:
        raise ValueError("code_check needs at least one test: {name: 'assert ...'}")

    def check(draft: str) -> Feedback:
        fenced = re.search(r"```(?:python)?\s*\n(.*?)```", draft, re.DOTALL)
        code = fenced.group(1) if fenced else draft
        run = run_code(code + "\n" + _TEST_HARNESS, timeout=timeout, inputs={"TESTS": list(tests.items())})
        if not run.ok:
            return Feedback(False, (f"the code did not run: {run.feedback(600)}",), "tests")
        problems = tuple(f"test {name} failed: {src} raised {error}" for name, src, error in run.result)
        return Feedback(not problems, problems, "tests")

    return check


_CITATION = re.compile(r"\[(\d+)\]")


def citation_check(sources: Mapping[int, str]) -> Check:
    """External feedback for research answers: every sentence that states a figure must cite a
    source as [n], and every [n] must be one of `sources`."""
    known = set(sources)

    def check(draft: str) -> Feedback:
        problems = []
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", draft.strip()) if s.strip()]
        for n, sentence in enumerate(sentences, 1):
            cited = {int(c) for c in _CITATION.findall(sentence)}
            for c in sorted(cited - known):
                problems.append(f"sentence {n} cites [{c}], which is not one of the sources {sorted(known)}")
            without_citations = _CITATION.sub("", sentence)
            if re.search(r"\d", without_citations) and not cited:
                problems.append(f"sentence {n} states a figure but cites no source: {sentence!r}")
        return Feedback(not problems, tuple(problems), "citation check")

    return check


_MONTHS = r"(January|February|March|April|May|June|July|August|September|October|November|December)"


def email_rubric(draft: str) -> Feedback:
    """An editor's checklist for a short meeting e-mail, as code: a named greeting, a specific
    date (a month and a day), an invitation to reply, and a sign-off with a name."""
    problems = []
    text = draft.strip()
    if not re.match(r"(Hi|Hello|Dear) [A-Z][a-z]+", text):
        problems.append("no greeting by name")
    if not re.search(rf"{_MONTHS}\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTHS}", text):
        problems.append("the date is vague: name the day(s), not just 'next month'")
    if not re.search(r"let me know|does .* work|which .* suits|reply", text, re.IGNORECASE):
        problems.append("abrupt close: ask the reader to reply or confirm")
    if not re.search(r"(Best|Regards|Kind regards|Best wishes|Thanks|Thank you),?\s*\n?\s*[A-Z][a-z]+\s*$", text):
        problems.append("no sign-off with a name")
    return Feedback(not problems, tuple(problems), "e-mail rubric")


# ---------------------------------------------------------------------------
# With and without reflection, on a small eval set
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalItem:
    """One eval case: a task, the check reflection uses, and the judge that scores quality.

    The judge is external and fixed (a validator, tests, a rubric), so both arms are
    scored the same way; by default it is the check itself.
    """

    name: str
    task: str
    check: Check
    judge: Callable[[str], Feedback] | None = None
    system: str | None = None

    def score(self, text: str) -> bool:
        return (self.judge or self.check)(text).ok


@dataclass(frozen=True)
class ItemOutcome:
    """One item scored without reflection (the first draft) and with it (the final answer)."""

    name: str
    passed_without: bool
    passed_with: bool
    cost_without: Cost
    cost_with: Cost
    revisions: int
    stop: str


def compare_on(client: Any, items: Sequence[EvalItem], *, meter: Meter, model: str = DEFAULT_MODEL,
               max_revisions: int = 2) -> list[ItemOutcome]:
    """Run each item once with reflection; score its first draft (= no reflection) and its final answer.

    One run gives both arms on the same first draft, so the difference is
    reflection's alone.
    """
    if not items:
        raise ValueError("compare_on needs at least one EvalItem")
    out = []
    for item in items:
        run = reflect(client, item.task, item.check, meter=meter, system=item.system, model=model,
                      max_revisions=max_revisions)
        out.append(ItemOutcome(item.name, item.score(run.first), item.score(run.final), run.first_cost, run.cost,
                               run.revisions, run.stop))
    return out


def outcomes_table(outcomes: Sequence[ItemOutcome]) -> Any:
    """The outcomes as a pandas DataFrame, one row per item."""
    import pandas as pd

    return pd.DataFrame([{
        "item": o.name, "passed without": o.passed_without, "passed with": o.passed_with,
        "revisions": o.revisions, "stop": o.stop,
        "tokens without": o.cost_without.tokens, "tokens with": o.cost_with.tokens,
        "seconds without": round(o.cost_without.seconds, 2), "seconds with": round(o.cost_with.seconds, 2),
    } for o in outcomes])
