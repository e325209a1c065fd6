"""The latency model: how long a simulated call takes.

Time to first token (TTFT) is a fixed overhead plus prefill time that grows
with the uncached input (cached tokens prefill about ten times faster); then
output streams at a steady tokens-per-second rate (TPOT = 1 / rate). A seeded,
log-normal jitter multiplies both, so repeated calls spread like production
traffic while reruns give the same numbers.

All figures are *simulated* seconds. In process, nothing sleeps: a simulated
call, a simulated tool's `sleep()` and request serialisation move the kit's
clock (`agentkit.clock`) on by their simulated seconds, so traces read the
latency model's figures exactly and notebooks run in the time their Python
code needs. Only a simulator served over HTTP (`python -m agentkit.sim serve`)
really sleeps, `seconds * scale` of real time: the scale belongs to each
`Simulator` (`Simulator(time_scale=...)`); one left at None follows the process
default below, which `set_time_scale` and AGENTKIT_TIME_SCALE set.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

from .. import clock

from ..models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL


def check_time_scale(scale: object) -> float:
    """The scale as a float, or a ValueError that says what a valid one is."""
    if isinstance(scale, bool) or not (isinstance(scale, (int, float)) and 0 <= scale <= 10):
        raise ValueError(f"time scale must be a number between 0 and 10 (real seconds per simulated second; "
                         f"0 = no waiting), got {scale!r}")
    return float(scale)


def _from_env() -> float:
    raw = os.environ.get("AGENTKIT_TIME_SCALE", "0.02")
    try:
        return check_time_scale(float(raw))
    except ValueError:
        raise ValueError(f"AGENTKIT_TIME_SCALE={raw!r}: must be a number between 0 and 10, e.g. 0.02") from None


_time_scale = _from_env()


def time_scale() -> float:
    """The process default time scale of simulators served over HTTP: real seconds slept per simulated second
    (default 0.02: a 5 s call takes 0.1 s). In process nothing sleeps (see the module docstring)."""
    return _time_scale


def set_time_scale(scale: float) -> None:
    """Set the process default time scale (simulators with their own `time_scale` keep theirs)."""
    global _time_scale
    _time_scale = check_time_scale(scale)


def sleep(seconds: float) -> None:
    """Wait `seconds` of simulated time (for simulated tools: a slow API, a vector DB): the kit's clock moves on
    at once, so traces show the wait while no real time passes. Inside a tool with a timeout, a wait past it
    ends at the timeout."""
    clock.wait(seconds)


async def asleep(seconds: float) -> None:
    """The async twin of `sleep`, for async simulated tools: concurrent waits overlap on the clock."""
    await clock.await_wait(seconds)


@dataclass(frozen=True)
class SerializationLatency:
    """Client-side request serialisation, in simulated seconds: building and encoding the HTTP request (client
    middleware, headers, JSON) and decoding the reply. A fixed part plus a part per KiB of body; the defaults put
    an agent's requests (a few KiB to a few dozen) at about 5-50 ms per call, the usual range."""

    encode_base: float = 0.004
    encode_per_kib: float = 0.0006
    decode_base: float = 0.002
    decode_per_kib: float = 0.0003

    def encode(self, nbytes: int) -> float:
        return self.encode_base + self.encode_per_kib * nbytes / 1024

    def decode(self, nbytes: int) -> float:
        return self.decode_base + self.decode_per_kib * nbytes / 1024


@dataclass(frozen=True)
class ModelLatency:
    """Latency parameters of one model, in simulated seconds."""

    ttft_base: float  # fixed overhead before the first token
    prefill_per_1k: float  # extra TTFT per 1,000 uncached input tokens
    tokens_per_second: float  # output rate; TPOT = 1 / rate
    jitter: float = 0.15  # sigma of the log-normal multiplier (0 = none)

    @property
    def tpot(self) -> float:
        return 1.0 / self.tokens_per_second


@dataclass(frozen=True)
class Timing:
    """The simulated timing of one response."""

    ttft: float
    output_seconds: float

    @property
    def total(self) -> float:
        return self.ttft + self.output_seconds


# Defaults chosen so the course's worked number holds for the default model:
# 300 ms TTFT + 200 tokens at 40 tokens/s = 5.3 s.
DEFAULT_LATENCY: dict[str, ModelLatency] = {
    LARGEST_MODEL: ModelLatency(ttft_base=0.50, prefill_per_1k=0.06, tokens_per_second=30.0),
    DEFAULT_MODEL: ModelLatency(ttft_base=0.30, prefill_per_1k=0.04, tokens_per_second=40.0),
    FAST_MODEL: ModelLatency(ttft_base=0.20, prefill_per_1k=0.02, tokens_per_second=100.0),
}


@dataclass(frozen=True)
class LoadProfile:
    """How busy the provider is: multiplies every call's TTFT (queueing) and decode time, with a heavy tail.

    Each factor is log-normal with the given median and sigma, drawn from the
    call's seeded generator, so a busy hour spreads calls out (a fat p99) while
    reruns stay identical. The course reports p99 swinging up to about 3x
    between off-peak and peak hours; `LOAD_PROFILES` is tuned to that.
    """

    name: str
    queue_median: float = 1.0  # median TTFT multiplier (time spent queued before prefill)
    queue_sigma: float = 0.0  # spread of that multiplier
    decode_median: float = 1.0  # median slowdown of token generation (shared, busy accelerators)
    decode_sigma: float = 0.0

    def __post_init__(self) -> None:
        for name in ("queue_median", "decode_median"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LoadProfile.{name} must be positive, got {getattr(self, name)!r}")
        for name in ("queue_sigma", "decode_sigma"):
            if not 0 <= getattr(self, name) <= 2:
                raise ValueError(f"LoadProfile.{name} must be between 0 and 2, got {getattr(self, name)!r}")


#: Provider load profiles: off-peak (quiet) and peak (busy) hours.
LOAD_PROFILES: dict[str, LoadProfile] = {
    "off_peak": LoadProfile("off_peak", queue_median=1.0, queue_sigma=0.15, decode_median=1.0, decode_sigma=0.05),
    "peak": LoadProfile("peak", queue_median=2.0, queue_sigma=0.7, decode_median=1.5, decode_sigma=0.4),
}


@dataclass
class LatencyModel:
    """Per-model latency; `timing()` gives one call's TTFT and output time. `load`, if set, is the provider's
    load profile (see `LoadProfile`); None is the plain model (no extra queueing)."""

    models: dict[str, ModelLatency] | None = None
    load: LoadProfile | None = None
    serialization: SerializationLatency = field(default_factory=SerializationLatency)

    def params(self, model: str) -> ModelLatency:
        table = self.models or DEFAULT_LATENCY
        return table.get(model) or DEFAULT_LATENCY.get(model) or DEFAULT_LATENCY[DEFAULT_MODEL]

    def expected(self, model: str, *, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Timing:
        """The timing without jitter: what the formula alone predicts."""
        p = self.params(model)
        ttft = p.ttft_base + p.prefill_per_1k * (input_tokens + 0.1 * cached_tokens) / 1000
        return Timing(ttft=ttft, output_seconds=output_tokens / p.tokens_per_second)

    def timing(self, model: str, *, input_tokens: int, output_tokens: int, cached_tokens: int = 0,
               rng: random.Random | None = None) -> Timing:
        base = self.expected(model, input_tokens=input_tokens, output_tokens=output_tokens, cached_tokens=cached_tokens)
        sigma = self.params(model).jitter
        if rng is None or sigma <= 0:
            return base
        # Separate draws: queueing noise moves TTFT; decode speed varies less.
        f_ttft = math.exp(rng.gauss(0.0, sigma))
        f_out = math.exp(rng.gauss(0.0, sigma / 2))
        if self.load is not None:  # drawn after the plain jitter, so a model without load keeps its numbers
            f_ttft *= self.load.queue_median * math.exp(rng.gauss(0.0, self.load.queue_sigma))
            f_out *= self.load.decode_median * math.exp(rng.gauss(0.0, self.load.decode_sigma))
        return Timing(ttft=base.ttft * f_ttft, output_seconds=base.output_seconds * f_out)
