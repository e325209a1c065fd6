"""Tests for agentkit/clock.py: real time plus simulated waits, concurrent waits overlapping, deadlines, spans."""

from __future__ import annotations

import asyncio
import contextvars
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentkit import clock
from agentkit.sim import asleep, sleep

SLACK = 0.5  # real seconds of headroom on a loaded machine


def test_a_wait_moves_the_clock_at_once():
    real0, c0 = time.perf_counter(), clock.monotonic()
    sleep(120.0)
    assert 120.0 <= clock.monotonic() - c0 < 120.0 + SLACK
    assert time.perf_counter() - real0 < SLACK
    sleep(0)
    sleep(-1)  # nothing


def test_waits_in_a_sequence_add_up():
    c0 = clock.monotonic()
    for _ in range(3):
        sleep(1.0)
    assert 3.0 <= clock.monotonic() - c0 < 3.0 + SLACK


def test_concurrent_tasks_overlap_and_the_caller_resumes_after_the_longest():
    async def go():
        await asyncio.gather(asleep(1.0), asleep(3.0), asleep(2.0))

    c0 = clock.monotonic()
    asyncio.run(go())
    assert 3.0 <= clock.monotonic() - c0 < 3.0 + SLACK


def test_threads_with_a_copied_context_overlap_too():
    c0 = clock.monotonic()
    with ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(contextvars.copy_context().run, sleep, s) for s in (1.0, 2.0, 4.0, 0.5)]:
            f.result()
    assert 4.0 <= clock.monotonic() - c0 < 4.0 + SLACK


def test_a_deadline_ends_a_longer_wait_at_the_deadline():
    class Late(BaseException):
        pass

    c0 = clock.monotonic()
    with pytest.raises(Late), clock.deadline(2.0, Late):
        sleep(1.0)
        sleep(5.0)
    assert 2.0 <= clock.monotonic() - c0 < 2.0 + SLACK
    with clock.deadline(None, Late):
        sleep(10.0)  # no deadline


def test_a_tool_that_waits_past_its_timeout_is_abandoned_at_the_timeout():
    from agentkit.tools import tool

    @tool(timeout=2.0)
    def slow(x: int) -> str:
        """A slow lookup.

        Args:
            x: anything
        """
        sleep(30.0)
        return "done"

    c0 = clock.monotonic()
    out = slow.invoke({"x": 1})
    assert out.is_error and out.error_type == "timeout"
    assert 2.0 <= clock.monotonic() - c0 < 2.0 + SLACK


def test_spans_are_stamped_with_the_clock():
    import agentkit
    from agentkit.tracing import tracer

    agentkit.setup_tracing()
    with agentkit.capture() as trace:
        with tracer().start_as_current_span("outer"):
            sleep(2.5)
    [span] = trace.spans
    assert 2.5 <= (span.end_time - span.start_time) / 1e9 < 2.5 + SLACK
    assert trace.summary().wall_s == pytest.approx((span.end_time - span.start_time) / 1e9)
