"""Provider economics: from a measured cost per run to cost per 1,000 runs, per day and per month.

A budget case starts from a *measured* run cost (a `Ledger`, a `Scorecard`, or
`RunResult.cost`), never from a price list alone: the same model costs very
different amounts per run depending on steps, caching and routing. `Budget`
does the arithmetic a CFO checks; `research_agent_budget` recomputes the
guide's research-agent example (seed 000: $0.08 a run x 1,000 runs a day =
$80 a day, $2,400 a month) with the course's research agent measured at
today's prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Budget", "GUIDE_RESEARCH_BUDGET", "prefix_cost_per_request", "research_agent_budget"]


@dataclass(frozen=True)
class Budget:
    """Cost per run x runs per day, as a day, a month and per 1,000 runs."""

    cost_per_run: float  # US dollars
    runs_per_day: int = 1_000
    days_per_month: int = 30
    label: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.cost_per_run, (int, float)) and self.cost_per_run >= 0):
            raise ValueError(f"cost_per_run must be dollars >= 0, got {self.cost_per_run!r}")
        if not isinstance(self.runs_per_day, int) or self.runs_per_day < 0:
            raise ValueError(f"runs_per_day must be a whole number >= 0, got {self.runs_per_day!r}")
        if not isinstance(self.days_per_month, int) or not 1 <= self.days_per_month <= 31:
            raise ValueError(f"days_per_month must be a whole number from 1 to 31, got {self.days_per_month!r}")

    @property
    def per_1000(self) -> float:
        return 1000 * self.cost_per_run

    @property
    def per_day(self) -> float:
        return self.cost_per_run * self.runs_per_day

    @property
    def per_month(self) -> float:
        return self.per_day * self.days_per_month

    def scaled(self, factor: float, label: str) -> "Budget":
        """The same traffic at `factor` times the run cost (0.5 for the batch discount)."""
        return Budget(self.cost_per_run * factor, self.runs_per_day, self.days_per_month, label)

    def row(self) -> dict[str, Any]:
        return {"plan": self.label, "$ per run": round(self.cost_per_run, 5), "$ per 1,000 runs": round(self.per_1000, 2),
                "$ per day": round(self.per_day, 2), "$ per month": round(self.per_month, 2)}


#: The guide's example as it gives it: $0.08 a run, 1,000 runs a day.
GUIDE_RESEARCH_BUDGET = Budget(0.08, 1_000, 30, "the guide's research agent (its prices)")


def research_agent_budget(model: str | None = None, *, runs_per_day: int = 1_000) -> Budget:
    """The course's research agent (Lesson 1's case, its 8-step brief) run once offline and priced today."""
    from agentkit.cases.research_agent import LAB_QUESTION, build_research_agent
    from agentkit.clients import client as make_client
    from agentkit.middleware import Ledger
    from agentkit.models import DEFAULT_MODEL
    from agentkit.scorecard import instant_simulation

    model = model or DEFAULT_MODEL
    ledger = Ledger()
    c = make_client(False, scenarios=["l1_research"], quiet=True, middleware=[ledger])
    with instant_simulation():
        build_research_agent(c, model=model).run(LAB_QUESTION)
    return Budget(ledger.summary().cost, runs_per_day, 30, f"research agent on {model}, today's prices")


def prefix_cost_per_request(model: str, prefix_tokens: int, gap_seconds: float, ttl: str | None) -> float:
    """Dollars per request for a shared prompt prefix when requests arrive every `gap_seconds`, steadily.

    ttl None: no caching (the prefix is plain input every time). "5m" / "1h": a request within the TTL of the
    previous one reads the cache (0.1x, and the read refreshes the TTL); otherwise it writes it again (1.25x
    for 5 minutes, 2x for an hour). The point of the function: the 1-hour cache costs more to write, and pays
    only when requests come further apart than 5 minutes but closer than an hour.
    """
    from agentkit.pricing import cost_of

    if ttl not in (None, "5m", "1h"):
        raise ValueError(f'ttl must be None, "5m" or "1h", got {ttl!r}')
    if not (isinstance(gap_seconds, (int, float)) and gap_seconds >= 0):
        raise ValueError(f"gap_seconds must be a number of seconds >= 0, got {gap_seconds!r}")
    if ttl is None:
        return cost_of(model, {"input_tokens": prefix_tokens})
    lifetime = 300 if ttl == "5m" else 3600
    if gap_seconds <= lifetime:
        return cost_of(model, {"cache_read_input_tokens": prefix_tokens})
    split = {"ephemeral_5m_input_tokens": prefix_tokens if ttl == "5m" else 0,
             "ephemeral_1h_input_tokens": prefix_tokens if ttl == "1h" else 0}
    return cost_of(model, {"cache_creation_input_tokens": prefix_tokens, "cache_creation": split})
