"""Injectable faults and rate limits: 429s, overloads, server errors, broken streams, slow responses.

Rates are probabilities per request attempt, drawn from the simulator's seeded
generator, so a rerun fails the same attempts. `fail_first` fails the first N
attempts outright, the simplest way to show the SDK's retries at work.
`stream_error` breaks a streamed response after its first content delta with
the API's mid-stream `event: error` (an `overloaded_error`), which the SDK
raises from inside the stream: the case retries cannot cover.

`RateLimits` are the organisation's limits as the API enforces them: token
buckets (requests, input tokens, output tokens per minute) refilled
continuously on the simulator's clock. Every `/v1/messages` answer carries the
API's `anthropic-ratelimit-*` headers; an empty bucket gives a 429 with
`retry-after` (see https://platform.claude.com/docs/en/api/rate-limits,
checked 2026-11-30).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .errors import APIError

#: The fault kinds `Faults.of_rate` and `python -m agentkit.sim serve --fault-kinds` know.
KINDS = ("rate_limit", "overloaded", "server_error", "stream_error", "stream_drop", "slow")


@dataclass(frozen=True)
class Faults:
    rate_limit: float = 0.0  # 429 rate_limit_error, with retry-after
    overloaded: float = 0.0  # 529 overloaded_error
    server_error: float = 0.0  # 500 api_error
    stream_error: float = 0.0  # a stream that breaks with `event: error` (overloaded_error) after it started
    #: a stream whose connection drops after its first content delta, with no error event: the SDK (2.17 on)
    #: raises `anthropic.APIConnectionError` from the read (in process; the HTTP server ends the body instead)
    stream_drop: float = 0.0
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
        if isinstance(self.models, str):
            raise ValueError("Faults.models is a tuple of model ids, e.g. (agentkit.DEFAULT_MODEL,), not one string")
        for name in KINDS:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise ValueError(f"Faults.{name} is a probability between 0 and 1, got {value!r}")
        if self.rate_limit + self.overloaded + self.server_error > 1:
            raise ValueError("Faults: rate_limit + overloaded + server_error must add up to at most 1 (each is the "
                             "probability that an attempt fails that way)")
        if self.fail_status not in (429, 500, 529):
            raise ValueError(f"Faults.fail_status must be 429, 500 or 529, got {self.fail_status!r}")

    @classmethod
    def of_rate(cls, rate: float, kinds: tuple[str, ...] | list[str] = ("rate_limit", "overloaded", "server_error"),
                **kwargs: float) -> "Faults":
        """`rate` of attempts fail, shared evenly among `kinds` (e.g. 0.1 over three kinds: 1/30 each)."""
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"unknown fault kind(s) {unknown or kinds!r}; choose from {', '.join(KINDS)}")
        if not 0 <= rate <= 1:
            raise ValueError(f"a fault rate is a probability between 0 and 1, got {rate!r}")
        return cls(**{k: rate / len(kinds) for k in kinds}, **kwargs)  # type: ignore[arg-type]  # kinds are checked to be rate fields above

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

    def breaks_stream(self, rng: random.Random) -> bool:
        return bool(self.stream_error) and rng.random() < self.stream_error

    def drops_stream(self, rng: random.Random) -> bool:
        return bool(self.stream_drop) and rng.random() < self.stream_drop

    def slowdown(self, rng: random.Random) -> float:
        return self.slow_factor if self.slow and rng.random() < self.slow else 1.0


def _error(status: int) -> APIError:
    if status == 429:
        return APIError("Number of request tokens has exceeded your per-minute rate limit (simulated).",
                        "rate_limit_error")
    if status == 529:
        return APIError("Overloaded (simulated).", "overloaded_error")
    return APIError("Internal server error (simulated).", "api_error")


def stream_error_event() -> dict[str, object]:
    """The body of the mid-stream `event: error` the API sends when it overloads during a response."""
    return {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (simulated)."}}


@dataclass(frozen=True)
class RateLimits:
    """Per-minute limits. The defaults are generous (the order of a high usage tier), so only a learner who
    lowers them, or a load test, meets a 429; None switches a bucket off."""

    requests_per_minute: int | None = 4_000
    input_tokens_per_minute: int | None = 2_000_000
    output_tokens_per_minute: int | None = 400_000

    def __post_init__(self) -> None:
        for name in ("requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value > 0):
                raise ValueError(f"RateLimits.{name} must be a positive whole number or None, got {value!r}")


@dataclass
class _Bucket:
    capacity: int
    level: float
    at: float  # simulated time of `level`

    def refill(self, now: float) -> None:
        if now > self.at:
            self.level = min(self.capacity, self.level + (now - self.at) * self.capacity / 60.0)
            self.at = now

    def seconds_to(self, amount: float) -> float:
        """Simulated seconds until the bucket holds `amount` again."""
        missing = min(amount, self.capacity) - self.level
        return max(0.0, missing * 60.0 / self.capacity)


@dataclass
class RateLimiter:
    """Token buckets on the simulator's clock, and the headers that report them."""

    limits: RateLimits = field(default_factory=RateLimits)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _bucket(self, name: str, capacity: int | None, now: float) -> _Bucket | None:
        if capacity is None:
            return None
        b = self._buckets.get(name)
        if b is None or b.capacity != capacity:
            b = self._buckets[name] = _Bucket(capacity, float(capacity), now)
        b.refill(now)
        return b

    def _all(self, now: float) -> dict[str, _Bucket]:
        lim = self.limits
        found = {"requests": self._bucket("requests", lim.requests_per_minute, now),
                 "input-tokens": self._bucket("input-tokens", lim.input_tokens_per_minute, now),
                 "output-tokens": self._bucket("output-tokens", lim.output_tokens_per_minute, now)}
        return {k: v for k, v in found.items() if v is not None}

    def admit(self, now: float) -> APIError | None:
        """Take one request from the bucket, or the 429 the API would send (with retry-after) if a bucket is
        empty. Token buckets may dip below zero: the API checks them before it knows a request's size."""
        with self._lock:
            buckets = self._all(now)
            for name, b in buckets.items():
                need = 1.0 if name == "requests" else 0.0
                if b.level < need or (need == 0.0 and b.level <= 0):
                    wait = max(1.0, math.ceil(b.seconds_to(max(need, 1.0))))
                    kind = "requests" if name == "requests" else name.replace("-", " ")
                    err = APIError(f"This request would exceed your organization's rate limit of "
                                   f"{b.capacity:,} {kind} per minute (simulated). Wait and retry, or lower your "
                                   "request rate.", "rate_limit_error")
                    err.headers.update(self._headers(buckets, now))
                    err.headers["retry-after"] = str(int(wait))
                    return err
            if "requests" in buckets:
                buckets["requests"].level -= 1
            return None

    def charge(self, now: float, input_tokens: int, output_tokens: int) -> dict[str, str]:
        """Count a request's tokens against the buckets (cache reads do not count towards input, as on most
        models); the `anthropic-ratelimit-*` headers after it."""
        with self._lock:
            buckets = self._all(now)
            if "input-tokens" in buckets:
                buckets["input-tokens"].level -= input_tokens
            if "output-tokens" in buckets:
                buckets["output-tokens"].level -= output_tokens
            return self._headers(buckets, now)

    @staticmethod
    def _headers(buckets: dict[str, _Bucket], now: float) -> dict[str, str]:
        stamp = datetime.now(timezone.utc).replace(microsecond=0)
        out: dict[str, str] = {}
        for name, b in buckets.items():
            reset = stamp + timedelta(seconds=math.ceil(b.seconds_to(b.capacity)))
            out[f"anthropic-ratelimit-{name}-limit"] = str(b.capacity)
            out[f"anthropic-ratelimit-{name}-remaining"] = str(max(0, int(b.level)))
            out[f"anthropic-ratelimit-{name}-reset"] = reset.isoformat().replace("+00:00", "Z")
        tokens = [n for n in ("input-tokens", "output-tokens") if n in buckets]
        if tokens:  # the most restrictive token limit, as the API reports it
            tightest = min(tokens, key=lambda n: buckets[n].level / buckets[n].capacity)
            for part in ("limit", "remaining", "reset"):
                out[f"anthropic-ratelimit-tokens-{part}"] = out[f"anthropic-ratelimit-{tightest}-{part}"]
        return out
