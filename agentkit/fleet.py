"""Production traffic, simulated: what an agent does to cost and latency at 1,000 requests a minute.

One run measured on a laptop says nothing about p99 under load. This module
replays an agent's *measured* runs (their calls' tokens, seconds and dollars,
from a `agentkit.middleware.Ledger` via `agentkit.scorecard`) as a fleet of
virtual runs arriving at random, on SimPy's discrete-event engine, against the
provider's rate limits, and reports what production would see:

- throughput (runs finished per minute), p50/p95/p99 end-to-end latency;
- where a run's time goes: queueing for one of the provider's concurrency
  slots, apart from the model's service time, and how busy those slots were
  (utilisation), the mean number of runs in the system, and each run's
  arrival, start and end time;
- cost per 1,000 arrivals and per 1,000 *completed* runs (a run that failed on
  a rate limit cost little, so under overload the first figure flatters);
- the share of runs that hit a rate limit (a 429), and of runs that failed.

The queueing figures follow the textbook definitions, so in an M/M/c setting
(Poisson arrivals, exponential service, c slots, no limits) they agree with
Erlang C, and Little's law (L = lambda W) holds on the report's own output
(both tested in tests/test_fleet.py).

The provider, as the Claude API documents it (rate-limits page, checked
2026-11-30): limits per model class in requests, input tokens and output
tokens per minute (RPM, ITPM, OTPM), enforced as token buckets that refill
continuously; only uncached input and cache writes count towards ITPM on
most models (cache reads do not); over a limit the API answers 429 with a
`retry-after` header. (The API estimates output tokens from `max_tokens` when a request starts and corrects
the estimate when it ends; the fleet charges each call's measured output, i.e. the corrected figure.) The client is the SDK: it waits `retry-after` and tries
again, `max_retries` times (2 by default). The provider also serves a bounded
number of your requests at once (`concurrency`); the rest queue, which is
where latency under load comes from.

Everything runs in virtual time: 10,000 runs take about a second of real time
(`benchmarks/fleet.py`). With no limit binding, the fleet's cost per 1,000
runs is 1,000 times the mean measured run cost, up to sampling noise (tested).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import simpy

from agentkit.middleware import percentile

__all__ = ["CallProfile", "FleetReport", "RateLimits", "RunProfile", "RunTiming", "profiles_from", "simulate"]


@dataclass(frozen=True)
class CallProfile:
    """One model call of a measured run."""

    limit_input_tokens: int  # uncached input + cache writes: what counts against ITPM
    output_tokens: int
    seconds: float  # how long the call took unloaded (simulated seconds)
    cost: float  # US dollars


@dataclass(frozen=True)
class RunProfile:
    """One measured run: its model calls in order, and the time its tools took."""

    calls: tuple[CallProfile, ...]
    tool_seconds: float = 0.0

    @property
    def cost(self) -> float:
        return sum(c.cost for c in self.calls)

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.calls) + self.tool_seconds


def profiles_from(scorecard: Any) -> list[RunProfile]:
    """Run profiles from an `agentkit.scorecard.Scorecard`: each run's successful attempts and tool time."""
    out = []
    for run in scorecard.runs:
        calls = tuple(CallProfile(a.input_tokens - a.cache_read_tokens, a.output_tokens, a.seconds, a.cost)
                      for a in run.attempts if a.ok and not a.cached)
        if calls:
            out.append(RunProfile(calls, run.tool_seconds))
    if not out:
        raise ValueError("the scorecard holds no successful model calls to profile")
    return out


@dataclass(frozen=True)
class RateLimits:
    """An organization's limits for one model class, per minute. None: no such limit."""

    rpm: float | None = None
    itpm: float | None = None
    otpm: float | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "itpm", "otpm"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"RateLimits.{name} must be a positive number per minute (or None), got {value!r}")


class _Bucket:
    """A token bucket that refills continuously at limit/60 per second up to the limit."""

    __slots__ = ("capacity", "rate", "level", "at")

    def __init__(self, per_minute: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = float(per_minute)
        self.at = 0.0

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until `amount` is available (0 if it is now)."""
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now
        need = min(amount, self.capacity)  # a request larger than the bucket is admitted when the bucket is full
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        self.level -= min(amount, self.capacity)


@dataclass(frozen=True)
class RunTiming:
    """One virtual run's clock, in simulated seconds from the start of the simulation.

    `start` is when its first model call began service (a concurrency slot was free and the rate limits let it
    through), `end` when it finished or failed; `queued` the seconds it spent waiting for a slot, all calls
    together (rate-limit `retry-after` waits are not queueing: they are in `end - arrival` but not here).
    """

    arrival: float
    start: float
    end: float
    queued: float
    completed: bool

    @property
    def seconds(self) -> float:
        """Time in the system: arrival to end."""
        return self.end - self.arrival


@dataclass(frozen=True)
class FleetReport:
    """What the fleet saw. Latencies are simulated seconds from a run's arrival to its end (completed runs)."""

    runs: int
    completed: int
    failed: int
    limited: int  # runs that got at least one 429
    retries: int
    throughput_per_minute: float
    p50: float
    p95: float
    p99: float
    cost_per_1000: float  # dollars per 1,000 *arrivals*: everything spent, failed runs included, over all runs
    mean_measured_cost: float
    arrivals_per_minute: float
    latencies: tuple[float, ...] = field(default=(), repr=False)
    #: Dollars per 1,000 completed runs: everything spent (failed runs' calls too) over the runs that finished.
    cost_per_1000_completed: float = math.nan
    #: Mean seconds a run waited for a concurrency slot (all its calls), and mean seconds in service (in a slot).
    mean_queue_wait: float = 0.0
    mean_service: float = 0.0
    #: Share of the concurrency slots' time that was busy (NaN with unlimited concurrency).
    utilisation: float = math.nan
    #: Time-average number of runs in the system (arrived, not yet ended), over the simulated span.
    mean_in_system: float = 0.0
    #: Simulated seconds from the first arrival (t=0) to the last run's end.
    span_seconds: float = 0.0
    concurrency: int | None = None
    timings: tuple[RunTiming, ...] = field(default=(), repr=False)

    @property
    def mean_seconds_in_system(self) -> float:
        """Mean time in the system over every run (failed ones until they failed): W in Little's law."""
        return sum(t.seconds for t in self.timings) / len(self.timings) if self.timings else math.nan

    @property
    def arrival_rate(self) -> float:
        """Runs per simulated second over the span: lambda in Little's law."""
        return self.runs / self.span_seconds if self.span_seconds else math.nan

    @property
    def limited_share(self) -> float:
        return self.limited / self.runs if self.runs else math.nan

    @property
    def failed_share(self) -> float:
        return self.failed / self.runs if self.runs else math.nan

    def row(self) -> dict[str, Any]:
        return {"arrivals/min": self.arrivals_per_minute, "throughput/min": round(self.throughput_per_minute, 1),
                "p50 s": round(self.p50, 2), "p95 s": round(self.p95, 2), "p99 s": round(self.p99, 2),
                "queue wait s": round(self.mean_queue_wait, 2),
                "slots busy": "-" if math.isnan(self.utilisation) else f"{self.utilisation:.0%}",
                "$ per 1,000 arrivals": round(self.cost_per_1000, 2),
                "$ per 1,000 completed": round(self.cost_per_1000_completed, 2),
                "hit a limit": f"{self.limited_share:.1%}", "failed": f"{self.failed_share:.1%}"}


def simulate(profiles: Sequence[RunProfile], *, arrivals_per_minute: float, runs: int = 10_000,
             limits: RateLimits | None = None, concurrency: int | None = None, max_retries: int = 2,
             batch: bool = False, batch_turnaround: float = 3600.0, batch_discount: float = 0.5,
             seed: int = 0) -> FleetReport:
    """Simulate `runs` runs arriving as a Poisson stream at `arrivals_per_minute`.

    Each virtual run replays one of `profiles`; all of them equally often, in shuffled order.
    `limits`: the rate limits (None: unlimited). `concurrency`: requests the
    provider serves at once (None: unlimited). `max_retries`: the SDK's retries
    on a 429. `batch=True` sends every run's work through the Message Batches
    API instead: no live rate limits, `batch_discount` off the price, and the
    result arrives after `batch_turnaround` seconds (the API promises within 24
    hours; most batches end within one).
    """
    if not profiles:
        raise ValueError("simulate needs at least one measured RunProfile (see profiles_from)")
    if not (isinstance(arrivals_per_minute, (int, float)) and arrivals_per_minute > 0):
        raise ValueError(f"arrivals_per_minute must be a positive number, got {arrivals_per_minute!r}")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a whole number of at least 1, got {runs!r}")
    if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
        raise ValueError(f"concurrency must be a whole number of at least 1 (or None), got {concurrency!r}")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a whole number >= 0, got {max_retries!r}")

    rng = random.Random(seed)
    env = simpy.Environment()
    limits = limits or RateLimits()
    buckets = [(b, kind) for b, kind in ((_Bucket(limits.rpm), "rpm") if limits.rpm else (None, ""),
                                          (_Bucket(limits.itpm), "itpm") if limits.itpm else (None, ""),
                                          (_Bucket(limits.otpm), "otpm") if limits.otpm else (None, ""))
               if b is not None]
    slots = simpy.Resource(env, capacity=concurrency) if concurrency else None
    latencies: list[float] = []
    timings: list[RunTiming] = []
    state = {"failed": 0, "limited": 0, "retries": 0, "cost": 0.0, "last_end": 0.0, "busy": 0.0,
             "in_system": 0, "area": 0.0, "changed_at": 0.0}
    mean_cost = sum(p.cost for p in profiles) / len(profiles)

    def occupancy(delta: int) -> None:
        """Count a run entering (+1) or leaving (-1) the system, integrating the count over time as it goes:
        the time-average number in the system is then measured directly, not derived from the latencies."""
        now = env.now
        state["area"] += state["in_system"] * (now - state["changed_at"])
        state["changed_at"] = now
        state["in_system"] += delta

    def admit(call: CallProfile) -> float:
        """0 and the call's tokens taken, or the retry-after seconds of a 429."""
        now = env.now
        amounts = {"rpm": 1.0, "itpm": float(call.limit_input_tokens), "otpm": float(call.output_tokens)}
        wait = max((b.wait_for(amounts[kind], now) for b, kind in buckets), default=0.0)
        if wait > 0:
            return math.ceil(wait)  # the API's retry-after is whole seconds
        for b, kind in buckets:
            b.take(amounts[kind])
        return 0.0

    def finish(arrival: float, start: float | None, queued: float, completed: bool) -> None:
        occupancy(-1)
        timings.append(RunTiming(arrival, env.now if start is None else start, env.now, queued, completed))
        if completed:
            latencies.append(env.now - arrival)
        state["last_end"] = max(state["last_end"], env.now)

    def run(profile: RunProfile) -> Any:
        arrival = env.now
        occupancy(+1)
        if batch:
            yield env.timeout(batch_turnaround)
            state["cost"] += profile.cost * batch_discount
            finish(arrival, arrival, 0.0, True)
            return
        hit = False
        start: float | None = None
        queued = 0.0
        gap = profile.tool_seconds / max(len(profile.calls) - 1, 1) if len(profile.calls) > 1 else profile.tool_seconds
        for i, call in enumerate(profile.calls):
            for attempt in range(max_retries + 1):
                wait = admit(call)
                if wait == 0:
                    break
                hit = True
                if attempt == max_retries:  # the SDK gives up and raises RateLimitError
                    state["failed"] += 1
                    state["limited"] += 1
                    finish(arrival, start, queued, False)
                    return
                state["retries"] += 1
                yield env.timeout(wait)
            if slots is not None:
                with slots.request() as slot:
                    asked = env.now
                    yield slot
                    queued += env.now - asked
                    start = env.now if start is None else start
                    yield env.timeout(call.seconds)
                    state["busy"] += call.seconds
            else:
                start = env.now if start is None else start
                yield env.timeout(call.seconds)
                state["busy"] += call.seconds
            state["cost"] += call.cost
            if i < len(profile.calls) - 1 or len(profile.calls) == 1:
                yield env.timeout(gap)  # tools run between model calls
        state["limited"] += hit
        finish(arrival, start, queued, True)

    def draws() -> Any:
        # Every measured run is replayed equally often, in a fresh shuffled order each round: the fleet's mix
        # is the measured mix (not a noisy resample of it), so with no limit binding its cost per 1,000 runs
        # is 1,000 x the mean measured cost, up to one partial round.
        order = list(range(len(profiles)))
        while True:
            rng.shuffle(order)
            yield from order

    def arrivals() -> Any:
        mean_gap = 60.0 / arrivals_per_minute
        pick = draws()
        for _ in range(runs):
            env.process(run(profiles[next(pick)]))
            yield env.timeout(rng.expovariate(1.0 / mean_gap))

    env.process(arrivals())
    env.run()
    occupancy(0)  # close the integral at the last event
    completed = len(latencies)
    span = state["last_end"] or 1.0
    return FleetReport(
        runs=runs, completed=completed, failed=int(state["failed"]), limited=int(state["limited"]),
        retries=int(state["retries"]),
        throughput_per_minute=completed / span * 60.0, p50=percentile(latencies, 50), p95=percentile(latencies, 95),
        p99=percentile(latencies, 99), cost_per_1000=1000.0 * state["cost"] / runs, mean_measured_cost=mean_cost,
        arrivals_per_minute=float(arrivals_per_minute), latencies=tuple(latencies),
        cost_per_1000_completed=1000.0 * state["cost"] / completed if completed else math.inf,
        mean_queue_wait=sum(t.queued for t in timings) / len(timings),
        mean_service=state["busy"] / len(timings),
        utilisation=state["busy"] / (concurrency * span) if concurrency else math.nan,
        mean_in_system=state["area"] / span, span_seconds=span, concurrency=concurrency, timings=tuple(timings),
    )


def sweep(profiles: Sequence[RunProfile], rates: Iterable[float], **options: Any) -> list[FleetReport]:
    """`simulate` at each arrival rate, same options: the curve of p99 against load."""
    return [simulate(profiles, arrivals_per_minute=r, **options) for r in rates]


__all__.append("sweep")
