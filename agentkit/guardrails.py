"""Guardrails: a quality gate between "the agent says it is done" and "the result ships".

Three layers, cheapest first, composed by `QualityGate`:

1. **Code checks** (`max_length`, `forbidden`, `required`, `json_schema`): deterministic,
   free and instant. Prefer them wherever a rule can be written down.
2. **An LLM judge** (`JudgeCheck`, built on `agentkit.evals.Judge`): for what code cannot
   decide, such as tone or whether a reply agrees with the policy. A failing verdict and its
   reason go back to the agent, which revises; `max_revisions` caps the loop.
3. **Human approval** (`HumanApproval`): a person approves, or rejects with feedback that
   goes back to the agent. In a notebook it is an ipywidgets panel (`approval_widget`);
   in tests and CI a function decides (`HumanApproval(decide=...)`).

    gate = QualityGate([max_length(600), json_schema(Reply)], judge=JudgeCheck(judge), human=human)
    result = gate.run(task, revise=lambda task, feedback: my_agent(task, feedback))
    result.shipped, result.log          # every layer's verdict, cost and seconds
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

from pydantic import BaseModel, ValidationError

from agentkit.evals import Judge, JudgeError

__all__ = ["Check", "max_length", "forbidden", "required", "json_schema", "JudgeCheck", "Decision", "HumanApproval",
           "approval_widget", "LayerEvent", "GateResult", "QualityGate", "GateError", "unfenced"]

Layer = Literal["code", "judge", "human"]


class GateError(ValueError):
    """A gate set up wrongly (no layers, a bad retry cap, a revise function that returns nothing)."""


# -- layer 1: code checks -----------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A named code check: `test(output)` returns a problem sentence, or None if the output passes."""

    name: str
    test: Callable[[str], str | None]

    def __call__(self, output: str) -> str | None:
        return self.test(output)


_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?[ \t]*```\s*$", re.DOTALL)


def unfenced(output: str) -> str:
    """The text inside a Markdown code fence (```json ... ```), if the whole output is one; else the output.

    Models often wrap JSON in a fence even when asked not to; the fence is presentation, not content, so the
    JSON checks look inside it."""
    m = _FENCE.match(output)
    return m.group(1) if m else output


def max_length(limit: int, field_name: str | None = None) -> Check:
    """At most `limit` characters (of one JSON field, if `field_name` is given)."""

    def test(output: str) -> str | None:
        text = output
        if field_name is not None:
            try:
                text = str(json.loads(unfenced(output)).get(field_name, ""))
            except (json.JSONDecodeError, AttributeError):
                return None  # not JSON: json_schema reports that, once
        return None if len(text) <= limit else f"{field_name or 'output'} is {len(text)} characters; the limit is {limit}"

    return Check(f"max_length({limit})", test)


def forbidden(pattern: str, why: str) -> Check:
    """Fails if the regex `pattern` occurs (case-insensitive); `why` names the rule."""
    compiled = re.compile(pattern, re.IGNORECASE)

    def test(output: str) -> str | None:
        m = compiled.search(output)
        return None if m is None else f"{why}: found {m.group(0)!r}"

    return Check(f"forbidden({why})", test)


def required(pattern: str, why: str) -> Check:
    """Fails unless the regex `pattern` occurs (case-insensitive)."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return Check(f"required({why})", lambda output: None if compiled.search(output) else f"missing: {why}")


def json_schema(model: type[BaseModel]) -> Check:
    """The output must be JSON matching the pydantic `model`, bare or inside one ```json fence."""

    def test(output: str) -> str | None:
        try:
            model.model_validate_json(unfenced(output))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(map(str, first["loc"])) or "output"
            return f"not a valid {model.__name__}: {where}: {first['msg']}"
        return None

    return Check(f"json_schema({model.__name__})", test)


# -- layer 2: the judge ---------------------------------------------------------------------


@dataclass
class JudgeCheck:
    """An LLM judge as a gate: passes when the score is at least `threshold`. `task` is what the judge
    is told the output was for (the policy and the customer's email, say), so it can check consistency."""

    judge: Judge
    threshold: int = 4
    context: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= 5:
            raise GateError(f"threshold must be a score from 1 to 5, got {self.threshold}")


# -- layer 3: a person -----------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    approved: bool
    feedback: str = ""

    def __post_init__(self) -> None:
        if not self.approved and not self.feedback.strip():
            raise GateError("a rejection needs feedback: say what to change, so the agent can revise")


@dataclass
class HumanApproval:
    """A person's approval. `decide(output) -> Decision` is the headless path (tests, CI, a review queue);
    `seconds_per_review` is your estimate of a reviewer's time per output, used in the cost report."""

    decide: Callable[[str], Decision]
    seconds_per_review: float = 60.0


def approval_widget(output: str, on_decision: Callable[[Decision], Any], title: str = "Approve this reply?") -> Any:
    """An ipywidgets panel: the output, Approve, and Reject with a feedback box. Clicking calls
    `on_decision(Decision)` and shows what happened; the panel then locks, so one output gets one decision."""
    import ipywidgets as widgets

    shown = widgets.HTML(f"<b>{title}</b><pre style='white-space:pre-wrap'>{_escape(output)}</pre>")
    feedback = widgets.Textarea(placeholder="What should change? (needed to reject)", layout={"width": "100%"})
    approve = widgets.Button(description="Approve", button_style="success", icon="check")
    reject = widgets.Button(description="Reject with feedback", button_style="warning", icon="times")
    status = widgets.HTML("")
    decided: list[Decision] = []

    def finish(decision: Decision) -> None:
        if decided:  # one output, one decision, even if a click arrives twice
            return
        decided.append(decision)
        approve.disabled = reject.disabled = feedback.disabled = True
        result = on_decision(decision)
        verdict = "Approved" if decision.approved else f"Rejected: {_escape(decision.feedback)}"
        status.value = f"<span class='agentkit-approval-status'>{verdict}{'' if result is None else ' · ' + _escape(str(result))}</span>"

    def on_approve(_: Any) -> None:
        finish(Decision(True))

    def on_reject(_: Any) -> None:
        if not feedback.value.strip():
            status.value = "<span class='agentkit-approval-status'>Write what should change first.</span>"
            return
        finish(Decision(False, feedback.value.strip()))

    approve.on_click(on_approve)
    reject.on_click(on_reject)
    panel = widgets.VBox([shown, feedback, widgets.HBox([approve, reject]), status])
    panel.add_class("agentkit-approval")  # a stable handle for the browser test and for styling
    return panel


def _escape(text: str) -> str:
    import html

    return html.escape(text)


# -- the gate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerEvent:
    """One layer's verdict on one attempt, with what it cost."""

    attempt: int  # 0 is the first output, 1 the first revision, ...
    layer: Layer
    passed: bool
    reason: str
    cost: float = 0.0  # USD
    seconds: float = 0.0


@dataclass
class GateResult:
    output: str
    shipped: bool
    log: list[LayerEvent] = field(default_factory=list)
    stopped: str = ""  # why it did not ship, if it did not

    @property
    def revisions(self) -> int:
        return max((e.attempt for e in self.log), default=0)

    def by_layer(self) -> dict[str, dict[str, float]]:
        """Per layer: checks run, failures caught, total cost (USD) and seconds."""
        out: dict[str, dict[str, float]] = {}
        for e in self.log:
            row = out.setdefault(e.layer, {"runs": 0, "caught": 0, "cost": 0.0, "seconds": 0.0})
            row["runs"] += 1
            row["caught"] += not e.passed
            row["cost"] += e.cost
            row["seconds"] += e.seconds
        return out


Revise = Callable[[str, "str | None"], str]


class QualityGate:
    """Code checks, then the judge, then a person; a failure sends its reason back to the agent.

    `revise(task, feedback)` is the agent: called with feedback None for the first output,
    then with the failing layer's reason. After `max_revisions` revisions that still fail
    the gate stops without shipping (`stopped` says why): the cap bounds cost and latency.
    """

    def __init__(self, checks: Sequence[Check] = (), judge: JudgeCheck | None = None,
                 human: HumanApproval | None = None, *, max_revisions: int = 2) -> None:
        if not checks and judge is None and human is None:
            raise GateError("a gate needs at least one layer: code checks, a judge or a human")
        if not isinstance(max_revisions, int) or max_revisions < 0:
            raise GateError(f"max_revisions must be a whole number >= 0, got {max_revisions!r}")
        self.checks, self.judge, self.human, self.max_revisions = list(checks), judge, human, max_revisions

    def review(self, output: str, attempt: int = 0, layers: Sequence[Layer] = ("code", "judge", "human"),
               task: str = "") -> list[LayerEvent]:
        """Run the layers in order on one output, stopping at the first that fails."""
        events: list[LayerEvent] = []
        if "code" in layers and self.checks:
            started = time.perf_counter()
            problems = [p for p in (c(output) for c in self.checks) if p]
            events.append(LayerEvent(attempt, "code", not problems, "; ".join(problems) or "all checks passed",
                                     0.0, time.perf_counter() - started))
            if problems:
                return events
        if "judge" in layers and self.judge is not None:
            try:
                graded = self.judge.judge.grade(output, task=f"{self.judge.context}\n{task}".strip())
                ok = graded.verdict.score >= self.judge.threshold
                reason = f"score {graded.verdict.score}/5: {graded.verdict.reason}"
                events.append(LayerEvent(attempt, "judge", ok, reason, graded.cost, graded.seconds))
            except JudgeError as err:  # an unreadable verdict never passes an output
                call = self.judge.judge.calls[-1] if self.judge.judge.calls else None
                events.append(LayerEvent(attempt, "judge", False, f"judge reply unreadable: {err}",
                                         call.cost if call else 0.0, call.seconds if call else 0.0))
            if not events[-1].passed:
                return events
        if "human" in layers and self.human is not None:
            decision = self.human.decide(output)
            if not isinstance(decision, Decision):
                raise GateError(f"decide() must return a Decision, got {type(decision).__name__}")
            events.append(LayerEvent(attempt, "human", decision.approved,
                                     "approved" if decision.approved else decision.feedback, 0.0,
                                     self.human.seconds_per_review))
        return events

    def run(self, task: str, revise: Revise) -> GateResult:
        """Get an output from `revise(task, None)`, and revise it until every layer passes or the cap is hit."""
        output = revise(task, None)
        log: list[LayerEvent] = []
        for attempt in range(self.max_revisions + 1):
            if not isinstance(output, str) or not output.strip():
                raise GateError(f"the agent returned {output!r}; revise() must return the output as text")
            events = self.review(output, attempt, task=task)
            log += events
            if all(e.passed for e in events):
                return GateResult(output, True, log)
            if attempt == self.max_revisions:
                break
            failed = events[-1]
            output = revise(task, f"The {failed.layer} check failed: {failed.reason}. Revise and fix this.")
        last = log[-1]
        return GateResult(output, False, log, stopped=(f"still failing the {last.layer} layer after "
                                                      f"{self.max_revisions} revisions: {last.reason}"))
