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


def test_model_span_duration_is_the_simulators_seconds():
    agentkit.setup_tracing()
    client = agentkit.client(quiet=True, simulator=SlowSimulator())
    with scale(0.02), agentkit.capture(time_scale=0.02) as trace:
        reply = client.messages.create(model=FAST_MODEL, max_tokens=100, messages=user("Hello there"))
    span = trace.select(kind="model")[0]
    simulated = span.attributes["agentkit.sim.seconds"]
    row = trace.to_dataframe().query("kind == 'model'").iloc[0]
    assert row["duration_s"] == pytest.approx(simulated) and reply.usage.output_tokens > 0
    wall = (span.end_time - span.start_time) / 1e9 / 0.02
    assert wall > simulated + 0.9  # the padding is inside the span: wall time / scale would have counted it
