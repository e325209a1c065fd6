"""What a pattern costs: tokens, dollars and seconds, added up the way the work ran.

Every design pattern buys quality or speed with extra model calls, so every
pattern in `agentkit.patterns` reports a `Cost`. Two rules combine costs:

- work done one after another adds up in tokens, dollars *and* seconds
  (`Cost.sequential`, or ``a + b``);
- work done at the same time adds up in tokens and dollars, but the wall
  clock only waits for the slowest branch (`Cost.parallel`).

The seconds of one model call come from `Meter`, an `anthropic.Middleware`
you attach to the client (``agentkit.client(middleware=[meter])``). It runs
inside the SDK's retry loop and notes how long each HTTP call took. Offline
it reads the simulator's ``x-agentkit-simulated-seconds`` header, so the
figures are the latency model's simulated seconds and identical on every run;
against the real API it times the call. A trace shows the same runs on a
timeline; `Cost` gives the figures a lesson can state and a test can assert.

Local work (running a validator, a test suite, a pure-Python tool) is not
counted in `seconds`: it takes milliseconds, while a model call takes seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable

import anthropic

from agentkit import clock as kit_clock
from agentkit.pricing import cost_of

__all__ = ["Cost", "Meter", "SIMULATED_SECONDS_HEADER"]

#: The response header in which the simulator reports a call's simulated duration.
SIMULATED_SECONDS_HEADER = "x-agentkit-simulated-seconds"


@dataclass(frozen=True)
class Cost:
    """Tokens, dollars and seconds of some work. `input_tokens` includes cached input."""

    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    seconds: float = 0.0
    calls: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: "Cost") -> "Cost":
        """`self` then `other`: everything adds up, seconds included."""
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.usd + other.usd,
            self.seconds + other.seconds,
            self.calls + other.calls,
        )

    @staticmethod
    def sequential(costs: Iterable["Cost"]) -> "Cost":
        """Work done one piece after another."""
        total = Cost()
        for c in costs:
            total = total + c
        return total

    @staticmethod
    def parallel(costs: Iterable["Cost"]) -> "Cost":
        """Work done at the same time: tokens and dollars add up, the wall clock waits for the slowest."""
        costs = list(costs)
        total = Cost.sequential(costs)
        return Cost(total.input_tokens, total.output_tokens, total.usd, max((c.seconds for c in costs), default=0.0),
                    total.calls)

    def __str__(self) -> str:
        return (f"{self.tokens:,} tokens ({self.input_tokens:,} in, {self.output_tokens:,} out), "
                f"${self.usd:.4f}, {self.seconds:.1f} s, {self.calls} model call{'s' if self.calls != 1 else ''}")


class Meter(anthropic.Middleware):
    """Middleware that notes each API call's duration, keyed by its request id.

    Attach it when you make the client: ``agentkit.client(middleware=[meter])``.
    Then `meter.cost(message)` is one call's `Cost` and `meter.cost_of_run(result)`
    an agent run's (its steps one after another).
    """

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def _note(self, response: Any, started: float) -> None:
        request_id = response.headers.get("request-id")
        if request_id is None:
            return
        simulated = response.headers.get(SIMULATED_SECONDS_HEADER)
        seconds = float(simulated) if simulated is not None else kit_clock.monotonic() - started
        with self._lock:
            self._seconds[request_id] = seconds

    def handle(self, request: Any, call_next: Any) -> Any:
        started = kit_clock.monotonic()
        response = call_next(request)
        self._note(response, started)
        return response

    async def handle_async(self, request: Any, call_next: Any) -> Any:
        started = kit_clock.monotonic()
        response = await call_next(request)
        self._note(response, started)
        return response

    def seconds(self, message: Any) -> float:
        """How long the call that returned `message` took (simulated seconds offline)."""
        request_id = getattr(message, "_request_id", None)
        with self._lock:
            seconds = self._seconds.get(request_id) if request_id else None
        if seconds is None:
            raise ValueError(
                "this Meter never saw the call that returned that message: make the client with "
                "agentkit.client(..., middleware=[meter]) and use the same meter to read its costs."
            )
        return seconds

    def cost(self, message: Any) -> Cost:
        """One model call's tokens, dollars and seconds."""
        usage = message.usage
        cached = (getattr(usage, "cache_read_input_tokens", None) or 0) + (
            getattr(usage, "cache_creation_input_tokens", None) or 0)
        return Cost(usage.input_tokens + cached, usage.output_tokens, cost_of(message.model, usage),
                    self.seconds(message), 1)

    def cost_of_run(self, result: Any) -> Cost:
        """An `agentkit.Agent` run's cost: its model calls, one after another.
        Its tools are local functions here, so they add no seconds."""
        return Cost.sequential(self.cost(step.response) for step in result.steps)
