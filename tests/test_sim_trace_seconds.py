"""A simulated model call lasts exactly its simulated seconds in a trace, whatever the real overhead."""

from __future__ import annotations

import time

import pytest

import agentkit
from agentkit.models import FAST_MODEL
from agentkit.sim import Simulator
from sim_helpers import scale, user


class SlowSimulator(Simulator):
    """20 ms of real work per request: 1 s of noise at time scale 0.02 if a trace counted wall time."""

    def handle(self, *args, **kwargs):  # type: ignore[override]
        time.sleep(0.02)
        return super().handle(*args, **kwargs)


def test_model_span_duration_is_the_simulators_seconds_plus_real_overhead():
    agentkit.setup_tracing()
    sim = SlowSimulator()
    client = agentkit.client(quiet=True, simulator=sim)
    real0 = time.perf_counter()
    with scale(0.02), agentkit.capture() as trace:
        reply = client.messages.create(model=FAST_MODEL, max_tokens=100, messages=user("Hello there"))
    real = time.perf_counter() - real0
    span = trace.select(kind="model")[0]
    simulated = span.attributes["agentkit.sim.seconds"]
    row = trace.to_dataframe().query("kind == 'model'").iloc[0]
    ser = sim.latency.serialization
    # the simulated seconds and serialisation at their own size, the 20 ms of real work once (not x 50)
    assert simulated + ser.encode_base + ser.decode_base + 0.02 <= row["duration_s"] < simulated + 0.05 + real
    assert reply.usage.output_tokens > 0 and real < simulated
