"""The kit's one clock: real time plus the simulated waits of this line of execution.

Offline, a simulated model call, a simulated tool's `agentkit.sim.sleep(2.0)` and the request serialisation
the latency model states do not sleep at all: they move this clock on by their simulated seconds. Real Python
work (the SDK building a request, a learner's tool computing something) still takes the real time it takes, so
a trace shows both, each at its true size, and a notebook runs in the time its Python code needs. Live, nothing
is simulated and the clock is exactly real time.

Concurrency is kept honest with *lanes*: each thread or asyncio task that reads the clock gets its own lane,
started from the lane of the code that spawned it (contextvars carry it: `asyncio.gather` tasks, `asyncio.to_thread`,
`contextvars.copy_context().run` in a pool). Three concurrent 1-second waits move each lane on by one second,
and when the spawning code reads the clock again (after joining them) it takes the furthest of its lanes:
one second, not three. A thread started without a copied context starts from the process's root lane.

Everything that stamps time uses this clock: OpenTelemetry spans and events (the SDK reads the time from the
`time_ns` its trace module imported and offers no clock option, so `use_for_spans()` points that name here),
the agent's step and run durations, tool timeouts (a simulated wait past a tool's timeout ends at the timeout).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["monotonic", "time_ns", "monotonic_ns", "wait", "await_wait", "deadline", "use_for_spans"]


class _Lane:
    """One line of execution's simulated seconds (on top of real time)."""

    __slots__ = ("offset", "owner", "children", "lock")

    def __init__(self, offset: float, owner: tuple[int, int]) -> None:
        self.offset = offset
        self.owner = owner
        self.children: list[_Lane] = []  # lanes forked from this one, folded in when this one reads the clock
        self.lock = threading.Lock()

    def settle(self) -> float:
        """This lane's offset after folding in the lanes it spawned (they ran while it waited for them)."""
        with self.lock:
            children, self.children = self.children, []
        for child in children:
            self.offset = max(self.offset, child.settle())
        return self.offset


def _owner() -> tuple[int, int]:
    try:
        task = asyncio.current_task() if asyncio._get_running_loop() is not None else None
    except RuntimeError:
        task = None
    return threading.get_ident(), id(task) if task is not None else 0


_ROOT = _Lane(0.0, (threading.main_thread().ident or 0, 0))
_LANE: contextvars.ContextVar[_Lane | None] = contextvars.ContextVar("agentkit_clock_lane", default=None)
_DEADLINE: contextvars.ContextVar[tuple[float, type[BaseException]] | None] = contextvars.ContextVar(
    "agentkit_clock_deadline", default=None)


def _lane() -> _Lane:
    """The current lane, forking a new one when this thread or task is not the one that owns the inherited one."""
    lane = _LANE.get() or _ROOT
    me = _owner()
    if lane.owner != me:
        child = _Lane(lane.offset, me)
        with lane.lock:
            lane.children.append(child)
        _LANE.set(child)
        return child
    return lane


def _offset() -> float:
    return _lane().settle()


def monotonic() -> float:
    """Seconds on this line of execution's clock (real monotonic time plus simulated waits): for durations."""
    return time.perf_counter() + _offset()


def monotonic_ns() -> int:
    """`monotonic()` in nanoseconds."""
    return time.perf_counter_ns() + round(_offset() * 1e9)


def time_ns() -> int:
    """Wall-clock nanoseconds since the epoch on this clock: what spans and events are stamped with."""
    return time.time_ns() + round(_offset() * 1e9)


def _advance(seconds: float) -> None:
    lane = _lane()
    lane.settle()
    lane.offset += seconds


def wait(seconds: float) -> None:
    """Let `seconds` of simulated time pass on this line of execution, at once (no real sleeping).

    Inside a `deadline`, a wait that would pass it ends at the deadline and raises the deadline's error.
    """
    if not seconds > 0:
        return
    limit = _DEADLINE.get()
    if limit is not None:
        at, error = limit
        left = at - monotonic()
        if seconds > left:
            _advance(max(left, 0.0))
            raise error()
    _advance(seconds)


async def await_wait(seconds: float) -> None:
    """The async twin of `wait`: moves the clock on, then yields to the event loop so concurrent tasks run."""
    wait(seconds)
    await asyncio.sleep(0)


@contextmanager
def deadline(seconds: float | None, error: type[BaseException]) -> Iterator[None]:
    """Simulated waits inside the block that would run past `seconds` from now raise `error` at that moment
    (a tool's timeout, in simulated time). None: no deadline (an outer one still applies)."""
    if seconds is None:
        yield
        return
    at = monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set((at, error) if outer is None or at < outer[0] else outer)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def use_for_spans() -> None:
    """Stamp OpenTelemetry spans and events with this clock (idempotent). Live, it reads exactly real time."""
    import opentelemetry.sdk.trace as sdk_trace

    if getattr(sdk_trace, "time_ns", None) is not time_ns:
        sdk_trace.time_ns = time_ns  # the SDK's module-level clock (see the module docstring)
