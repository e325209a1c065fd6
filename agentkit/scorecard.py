"""Judge a configuration on a labelled task set: quality, cost and latency, side by side; and gate changes on it.

`evaluate` runs every task once through an agent, grades the answer, and
takes each run's cost and time from a `agentkit.middleware.Ledger` on the
client (simulated seconds against the simulator, plus the tools' time). The
`Scorecard` it returns is the evidence a decision needs: "3% better but 40%
more expensive" is two of its numbers next to each other.

`gate` is eval-driven improvement in one function: a candidate change passes
only if quality does not drop (no task that passed before fails now, and the
pass rate holds), whatever it saves.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

import anthropic

from agentkit.middleware import Attempt, Ledger, percentile

__all__ = ["GateResult", "RunRecord", "Scorecard", "evaluate", "gate", "instant_simulation"]


class LabelledTask(Protocol):
    """What `evaluate` needs of a task: an id, the prompt, and a difficulty label to break quality down by."""

    @property
    def id(self) -> str: ...

    @property
    def prompt(self) -> str: ...

    @property
    def difficulty(self) -> str: ...


T = TypeVar("T", bound=LabelledTask)


@dataclass(frozen=True)
class RunRecord:
    """One task's run: was it right, and what it cost in dollars, seconds and calls."""

    task_id: str
    difficulty: str
    model: str
    correct: bool
    cost: float
    seconds: float  # model time (attempts and retry waits) plus tool time
    attempts: tuple[Attempt, ...] = ()
    tool_seconds: float = 0.0
    error: str = ""  # the API error that ended the run without an answer (after the SDK's retries), if any

    @property
    def answered(self) -> bool:
        return not self.error

    @property
    def calls(self) -> int:
        return sum(1 for a in self.attempts if a.ok)


@dataclass(frozen=True)
class Scorecard:
    """A configuration's results on a task set."""

    name: str
    runs: tuple[RunRecord, ...]

    @property
    def quality(self) -> float:
        """Share of tasks answered correctly."""
        return sum(r.correct for r in self.runs) / len(self.runs) if self.runs else math.nan

    @property
    def answered_share(self) -> float:
        """Share of runs that got an answer at all (right or wrong), i.e. were not ended by an API error."""
        return sum(r.answered for r in self.runs) / len(self.runs) if self.runs else math.nan

    @property
    def cost_per_run(self) -> float:
        return sum(r.cost for r in self.runs) / len(self.runs) if self.runs else math.nan

    @property
    def cost_per_1000(self) -> float:
        return 1000 * self.cost_per_run

    def latency(self, q: float) -> float:
        """The q-th percentile of run time, in (simulated) seconds."""
        return percentile((r.seconds for r in self.runs), q)

    @property
    def p50(self) -> float:
        return self.latency(50)

    @property
    def p95(self) -> float:
        return self.latency(95)

    def quality_of(self, difficulty: str) -> float:
        runs = [r for r in self.runs if r.difficulty == difficulty]
        return sum(r.correct for r in runs) / len(runs) if runs else math.nan

    def failed(self) -> list[str]:
        return [r.task_id for r in self.runs if not r.correct]

    def row(self) -> dict[str, Any]:
        """One row for a comparison table."""
        return {"config": self.name, "quality": round(self.quality, 4), "$ per 1,000 runs": round(self.cost_per_1000, 2),
                "p50 s": round(self.p50, 2), "p95 s": round(self.p95, 2)}


@contextlib.contextmanager
def instant_simulation() -> Iterator[None]:
    """Run simulated calls without their real (scaled) sleeps; the simulated seconds they report are unchanged.

    Evaluations read time from the ledger (simulated seconds), so waiting for it in real time buys nothing."""
    from agentkit.sim import latency

    before = latency.time_scale()
    latency.set_time_scale(0.0)
    try:
        yield
    finally:
        latency.set_time_scale(before)


def evaluate(name: str, tasks: Sequence[T], agent_for: Callable[[T], Any], grade: Callable[[T, str], bool],
             ledger: Ledger, *,
             tool_seconds: Callable[[], float] = lambda: 0.0) -> Scorecard:
    """Run every task once and grade it.

    agent_for(task): the agent to run it (so a router can choose a model per task);
    grade(task, answer_text): whether the answer is right; ledger: the `Ledger`
    middleware on the agents' client; tool_seconds(): a running total of the
    tools' (simulated) seconds, if they keep one.
    """
    if not isinstance(ledger, Ledger):
        raise TypeError("evaluate needs the Ledger middleware that is on the agents' client: "
                        "ledger = Ledger(); agentkit.client(middleware=[ledger])")
    if not tasks:
        raise ValueError("evaluate needs at least one task")
    runs = []
    for task in tasks:
        agent = agent_for(task)
        first, tools_before = len(ledger.attempts), tool_seconds()
        try:
            result = agent.run(task.prompt)
            failure = getattr(result, "error", None)  # Agent ends a run with stop reason api_error and keeps it
            text, error = ("", type(failure).__name__) if failure is not None else (result.text, "")
        except anthropic.AnthropicError as exc:  # e.g. CircuitOpenError, or an agent that lets API errors out
            text, error = "", type(exc).__name__
        attempts = tuple(ledger.attempts[first:])
        tools = tool_seconds() - tools_before
        model_seconds = sum(a.seconds + a.retry_after for a in attempts)
        served = next((a.model for a in reversed(attempts) if a.ok), getattr(agent, "model", ""))
        runs.append(RunRecord(task.id, task.difficulty, served, bool(text) and bool(grade(task, text)),
                              sum(a.cost for a in attempts), model_seconds + tools, attempts, tools, error))
    return Scorecard(name, tuple(runs))


@dataclass(frozen=True)
class GateResult:
    """The regression gate's verdict on a candidate against a baseline."""

    passed: bool
    reasons: tuple[str, ...]
    quality_change: float  # candidate - baseline, as a share (-0.04 = four points worse)
    cost_change: float  # relative: -0.30 = 30% cheaper
    p95_change: float  # relative
    regressions: tuple[str, ...] = field(default=())  # tasks the baseline got right and the candidate gets wrong

    def __str__(self) -> str:
        head = "PASS" if self.passed else "BLOCKED"
        figures = (f"quality {100 * self.quality_change:+.1f} points, cost {self.cost_change:+.0%}, "
                   f"p95 {self.p95_change:+.0%}")
        return f"{head}: {figures}" + "".join(f"\n  - {r}" for r in self.reasons)


def gate(baseline: Scorecard, candidate: Scorecard, *, min_quality: float | None = None,
         allow_regressions: int = 0) -> GateResult:
    """Pass the candidate only if quality holds: its pass rate is not below the baseline's (nor `min_quality`),
    and at most `allow_regressions` tasks that passed before now fail. Savings never buy back quality."""
    before = {r.task_id: r.correct for r in baseline.runs}
    regressions = tuple(r.task_id for r in candidate.runs if before.get(r.task_id) and not r.correct)
    reasons = []
    if candidate.quality < baseline.quality - 1e-12:
        reasons.append(f"quality fell from {baseline.quality:.1%} to {candidate.quality:.1%}")
    if min_quality is not None and candidate.quality < min_quality:
        reasons.append(f"quality {candidate.quality:.1%} is under the bar of {min_quality:.0%}")
    if len(regressions) > allow_regressions:
        reasons.append(f"{len(regressions)} task(s) that passed now fail: {', '.join(regressions)}")

    def rel(new: float, old: float) -> float:
        return new / old - 1 if old else math.nan

    return GateResult(not reasons, tuple(reasons), candidate.quality - baseline.quality,
                      rel(candidate.cost_per_run, baseline.cost_per_run), rel(candidate.p95, baseline.p95), regressions)
