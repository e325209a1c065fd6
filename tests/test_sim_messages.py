"""Tests for agentkit.sim.messages on its own: the retry headers of a refusal before work, and what one
/v1/messages call leaves behind (the SDK path is in test_sim_core.py and test_sim_validate.py)."""

from __future__ import annotations

import json

import pytest

from agentkit.models import DEFAULT_MODEL
from agentkit.sim import Simulator, fallbacks, messages, threads
from agentkit.sim.errors import APIError

HEADERS = {"content-type": "application/json"}


def body(**extra):
    return {"model": DEFAULT_MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "Hello"}], **extra}


@pytest.mark.parametrize("wait, scale, after, after_ms", [
    (2.4, 1.0, "2", "2400.000"),
    (0.2, 0.5, "1", "100.000"),  # retry-after is whole seconds, at least 1
    (3.0, 0.0, "3", "0.001"),  # never 0 ms: the SDK would fall back to its own backoff
])
def test_retry_headers_are_whole_seconds_plus_scaled_milliseconds(wait, scale, after, after_ms):
    err = messages.retry_headers(APIError("slow down", "rate_limit_error"), wait, scale)
    assert err.headers == {"retry-after": after, "retry-after-ms": after_ms,
                           "x-agentkit-simulated-seconds": "0.000"}  # an error answers at once


def test_an_existing_retry_after_is_kept():
    err = messages.retry_headers(APIError("x", "rate_limit_error", headers={"retry-after": "7"}), 1.0, 1.0)
    assert err.headers["retry-after"] == "7" and err.headers["retry-after-ms"] == "1000.000"


def test_one_call_records_the_request_as_sent_and_moves_the_clock():
    sim = Simulator(time_scale=0)
    sent = body(fallbacks=[{"model": DEFAULT_MODEL}])
    r = sim.handle("POST", "/v1/messages", {**HEADERS, "anthropic-beta": fallbacks.BETA}, json.dumps(sent).encode())
    assert r.status == 200, r.body
    assert sim.requests[-1] == sent  # lessons see the body with its fallbacks, not the primary attempt
    seconds = float(r.headers["x-agentkit-simulated-seconds"])
    assert sim.clock == pytest.approx(seconds, abs=1e-3) and float(r.headers["x-agentkit-simulated-ttft"]) < seconds


def test_a_threaded_call_records_the_whole_conversation():
    sim = Simulator(time_scale=0)
    beta = {**HEADERS, "anthropic-beta": threads.BETA}
    first = json.loads(sim.handle("POST", "/v1/messages", beta,
                                  json.dumps(body(thread={"type": "create"})).encode()).body)
    nxt = body(thread={"type": "continue", "previous_message_id": first["id"]},
               messages=[{"role": "user", "content": "And then?"}])
    r = sim.handle("POST", "/v1/messages", beta, json.dumps(nxt).encode())
    assert r.status == 200, r.body
    assert [m["role"] for m in sim.requests[-1]["messages"]] == ["user", "assistant", "user"]
    assert "thread" not in sim.requests[-1]
