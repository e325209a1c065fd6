"""Injectable faults: rate limits, overloads, server errors and slow responses.

Rates are probabilities per request attempt, drawn from the simulator's seeded
generator, so a rerun fails the same attempts. `fail_first` fails the first N
attempts outright, the simplest way to show the SDK's retries at work.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import APIError


@dataclass(frozen=True)
class Faults:
    rate_limit: float = 0.0  # 429 rate_limit_error, with retry-after
    overloaded: float = 0.0  # 529 overloaded_error
    server_error: float = 0.0  # 500 api_error
    slow: float = 0.0  # probability that a response is slowed down
    slow_factor: float = 8.0  # how much slower a slow response is
    retry_after: float = 1.0  # simulated seconds the API asks the client to wait
    fail_first: int = 0  # fail this many attempts first, with `fail_status`
    fail_status: int = 529
    models: tuple[str, ...] = ()  # only requests for these models fail (empty: every model); e.g. one model's outage

    def applies_to(self, model: object) -> bool:
        """Whether requests for `model` can fail (all models unless `models` names some)."""
        return not self.models or model in self.models

    def __post_init__(self) -> None:
        for name in ("rate_limit", "overloaded", "server_error", "slow"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"Faults.{name} is a probability between 0 and 1, got {value!r}")
        if isinstance(self.models, str):
            raise ValueError("Faults.models is a tuple of model ids, e.g. (agentkit.DEFAULT_MODEL,), not one string")
        if self.fail_status not in (429, 500, 529):
            raise ValueError(f"Faults.fail_status must be 429, 500 or 529, got {self.fail_status!r}")

    def draw(self, rng: random.Random, attempt_number: int) -> APIError | None:
        """The error for this attempt, or None. `attempt_number` counts from 0 across the simulator."""
        if attempt_number < self.fail_first:
            return _error(self.fail_status)
        roll = rng.random()
        for status, rate in ((429, self.rate_limit), (529, self.overloaded), (500, self.server_error)):
            if roll < rate:
                return _error(status)
            roll -= rate
        return None

    def slowdown(self, rng: random.Random) -> float:
        return self.slow_factor if self.slow and rng.random() < self.slow else 1.0


def _error(status: int) -> APIError:
    if status == 429:
        return APIError("Number of request tokens has exceeded your per-minute rate limit (simulated).",
                        "rate_limit_error")
    if status == 529:
        return APIError("Overloaded (simulated).", "overloaded_error")
    return APIError("Internal server error (simulated).", "api_error")
