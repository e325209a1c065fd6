"""Tests for agentkit.middleware: the ledger, the response cache, model fallback and the circuit breaker,
each on the real SDK against the simulator (faults injected with agentkit.Faults)."""

from __future__ import annotations

import anthropic
import pytest

import agentkit
from agentkit.cases import support_desk as sd
from agentkit.middleware import CircuitBreaker, CircuitOpenError, Ledger, ModelFallback, ResponseCache, percentile
from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.pricing import cost_of
from agentkit.resilience import drill
from agentkit.scorecard import instant_simulation
from agentkit.sim import simulator_of


@pytest.fixture(autouse=True)
def _instant():
    with instant_simulation():
        yield


def ask(client, text="Hello there", model=DEFAULT_MODEL, **kw):
    return client.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": text}], **kw)


def test_percentile_matches_linear_interpolation():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 99) == 5
    assert percentile(range(101), 99) == 99
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1], 101)


def test_ledger_records_cost_and_simulated_seconds():
    ledger = Ledger()
    c = agentkit.client(quiet=True, middleware=[ledger])
    message = ask(c)
    (attempt,) = ledger.attempts
    assert attempt.ok and attempt.model == DEFAULT_MODEL
    assert attempt.cost == pytest.approx(cost_of(DEFAULT_MODEL, message.usage))
    assert attempt.input_tokens == message.usage.input_tokens
    assert attempt.seconds > 0.2  # simulated: at least the model's base TTFT, although the real wait was ~0
    assert ledger.clock() == pytest.approx(attempt.seconds)


def test_ledger_groups_retries_into_one_call_with_their_waits():
    ledger = Ledger()
    c = agentkit.client(quiet=True, faults=agentkit.Faults(fail_first=2, fail_status=529, retry_after=3.0),
                        middleware=[ledger])
    ask(c)
    (call,) = ledger.calls()
    assert [a.status for a in call.attempts] == [529, 529, 200]
    assert [a.attempt for a in call.attempts] == [0, 1, 2]
    assert call.ok
    assert call.seconds == pytest.approx(call.attempts[-1].seconds + 2 * 3.0)  # two retry-after waits
    summary = ledger.summary()
    assert (summary.calls, summary.succeeded, summary.attempts) == (1, 1, 3)


def test_response_cache_answers_an_identical_request_without_calling_the_api():
    cache, ledger = ResponseCache(), Ledger()
    c = agentkit.client(quiet=True, middleware=[ledger, cache])
    first, second = ask(c), ask(c)
    assert second.content[0].text == first.content[0].text
    assert (cache.hits, cache.misses) == (1, 1)
    assert len(simulator_of(c).requests) == 1  # the second never reached the API
    assert [a.cached for a in ledger.attempts] == [False, True]
    assert ledger.attempts[1].cost == 0
    ask(c, "Something else")
    assert cache.misses == 2  # a different request is a different key


def test_response_cache_ttl_version_and_invalidate():
    now = [0.0]
    data_version = [1]
    cache = ResponseCache(ttl=60, clock=lambda: now[0], version=lambda: data_version[0])
    c = agentkit.client(quiet=True, middleware=[cache])
    ask(c)
    ask(c)
    assert cache.hits == 1
    now[0] = 61.0  # past the TTL
    ask(c)
    assert cache.hits == 1 and cache.misses == 2
    data_version[0] = 2  # the data changed: same request, new key
    ask(c)
    assert cache.misses == 3
    cache.invalidate()
    assert len(cache) == 0
    with pytest.raises(ValueError, match="ttl"):
        ResponseCache(ttl=0)


def test_model_fallback_serves_the_fallback_model_when_the_primary_is_overloaded():
    ledger, fallback = Ledger(), ModelFallback(FAST_MODEL)
    faults = agentkit.Faults(overloaded=1.0, models=(DEFAULT_MODEL,))
    c = agentkit.client(quiet=True, faults=faults, max_retries=0, middleware=[ledger, fallback])
    message = ask(c)
    assert message.model == FAST_MODEL
    assert fallback.fallbacks == 1
    # without it the same call fails
    bare = agentkit.client(quiet=True, faults=faults, max_retries=0)
    with pytest.raises(anthropic.InternalServerError):
        ask(bare)


def test_faults_for_one_model_leave_the_others_alone():
    faults = agentkit.Faults(overloaded=1.0, models=(DEFAULT_MODEL,))
    c = agentkit.client(quiet=True, faults=faults, max_retries=0)
    assert ask(c, model=FAST_MODEL).model == FAST_MODEL
    with pytest.raises(ValueError, match="tuple of model ids"):
        agentkit.Faults(models=DEFAULT_MODEL)


def test_circuit_breaker_opens_fails_fast_then_half_opens():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, reset_after=30, clock=lambda: now[0])
    faults = agentkit.Faults(overloaded=1.0, models=(DEFAULT_MODEL,))
    c = agentkit.client(quiet=True, faults=faults, max_retries=0, middleware=[breaker])
    for _ in range(3):
        with pytest.raises(anthropic.InternalServerError):
            ask(c)
    assert breaker.state == "open" and breaker.times_opened == 1
    sent = len(simulator_of(c).requests)
    with pytest.raises(CircuitOpenError, match="circuit open"):
        ask(c)
    assert breaker.short_circuited == 1
    now[0] = 31.0  # cool-down over: one trial goes through, fails, and the breaker opens again
    with pytest.raises(anthropic.InternalServerError):
        ask(c)
    assert breaker.state == "open" and breaker.times_opened == 2
    simulator_of(c).faults = agentkit.Faults()  # the service recovers
    now[0] = 62.0
    ask(c)
    assert breaker.state == "closed" and breaker.failures == 0
    assert sent == 0  # 5xx attempts never reach the request log: faults are drawn before the body is kept


def test_circuit_breaker_with_fallback_reroutes_while_open():
    ledger = Ledger()
    breaker = CircuitBreaker(failure_threshold=2, reset_after=1e9, fallback_model=FAST_MODEL, clock=ledger.clock)
    faults = agentkit.Faults(overloaded=1.0, models=(DEFAULT_MODEL,))
    c = agentkit.client(quiet=True, faults=faults, max_retries=2, middleware=[ledger, breaker])
    assert ask(c).model == FAST_MODEL  # attempt 0 and 1 fail and open the breaker; the SDK's retry is rerouted
    assert ask(c).model == FAST_MODEL
    assert breaker.short_circuited == 2
    assert [a.status for a in ledger.attempts] == [529, 529, 200, 200]


def test_drill_measures_retries_and_fallback():
    faults = agentkit.Faults(overloaded=0.3, models=(DEFAULT_MODEL,))
    none = drill(faults, max_retries=0, calls=100)
    retries = drill(faults, calls=100)
    fallback = drill(faults, calls=100, middleware=lambda ledger: [ModelFallback(FAST_MODEL)])
    assert 0.6 < none.success_rate < 0.8  # about 1 - 0.3
    assert retries.success_rate > 0.95  # 1 - 0.3 ** 3 = 0.973
    assert retries.p99 > none.p99  # the retry-after waits show in the tail
    assert fallback.success_rate == 1.0 and fallback.p99 < retries.p99
    assert fallback.served_by.get(FAST_MODEL, 0) > 0


def test_stale_tool_cache_and_invalidate_on_write():
    """The invalidation bug: a cached lookup keeps telling customers the old status after the order ships."""
    task = next(t for t in sd.TASKS if t.id == "status_2")  # order A1002, "processing"
    c = agentkit.client(quiet=True, scenarios=sd.scenarios())
    tools = sd.support_tools(cache_ttl=3600)
    agent = sd.build_support_agent(c, tools=tools)
    assert "processing" in agent.run(task.prompt).text
    tools.store.set_status("A1002", "shipped")
    assert "processing" in agent.run(task.prompt).text  # stale: the tool cache still holds the old row
    fixed = sd.support_tools(cache_ttl=3600)
    fixed.store.on_change(fixed.lookup_order.clear_cache)  # invalidate on write
    agent = sd.build_support_agent(c, tools=fixed)
    assert "processing" in agent.run(task.prompt).text
    fixed.store.set_status("A1002", "shipped")
    assert "shipped" in agent.run(task.prompt).text


def test_the_middleware_works_on_the_async_client_too():
    import asyncio

    ledger, cache, breaker = Ledger(), ResponseCache(), CircuitBreaker(2, 1e9, fallback_model=FAST_MODEL)
    faults = agentkit.Faults(overloaded=1.0, models=(DEFAULT_MODEL,))
    c = agentkit.async_client(quiet=True, faults=faults, max_retries=2,
                              middleware=[ledger, breaker, ModelFallback(FAST_MODEL), cache])

    async def go():
        params = dict(model=DEFAULT_MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hello"}])
        first = await c.messages.create(**params)
        second = await c.messages.create(**params)
        return first, second

    first, second = asyncio.run(go())
    assert first.model == second.model == FAST_MODEL
    assert cache.hits >= 1 and ledger.summary().succeeded == 2


def test_the_ledger_prices_a_streamed_call_from_its_own_usage():
    ledger = Ledger()
    c = agentkit.client(quiet=True, middleware=[ledger])
    params = dict(model=DEFAULT_MODEL, max_tokens=300, messages=[{"role": "user", "content": "Tell me a story"}])
    with c.messages.stream(**params) as stream:
        message = stream.get_final_message()
    (attempt,) = ledger.attempts
    assert attempt.streamed and attempt.ok and attempt.model == DEFAULT_MODEL
    assert attempt.output_tokens == message.usage.output_tokens > 0
    assert attempt.input_tokens == message.usage.input_tokens > 0
    assert attempt.cost == pytest.approx(cost_of(DEFAULT_MODEL, message.usage)) and attempt.cost > 0
    # the raw event iterator (stream=True) is priced the same way
    for _ in c.messages.create(**params, stream=True):
        pass
    assert ledger.attempts[-1].cost == pytest.approx(attempt.cost)
    assert ledger.summary().cost == pytest.approx(2 * attempt.cost)


def test_the_ledger_prices_an_async_streamed_call():
    import asyncio

    ledger = Ledger()
    c = agentkit.async_client(quiet=True, middleware=[ledger])

    async def go():
        async with c.messages.stream(model=FAST_MODEL, max_tokens=200,
                                     messages=[{"role": "user", "content": "Hello"}]) as stream:
            return await stream.get_final_message()

    message = asyncio.run(go())
    (attempt,) = ledger.attempts
    assert attempt.streamed and attempt.cost > 0 and attempt.cost == pytest.approx(cost_of(FAST_MODEL, message.usage))


@pytest.mark.parametrize("fault, error", [("stream_error", anthropic.APIStatusError),
                                           ("stream_drop", anthropic.APIConnectionError)])
def test_a_stream_broken_mid_way_is_recorded_as_failed_but_priced(fault, error):
    # SDK 2.17: a connection dropped mid-stream raises APIConnectionError; an `event: error` an APIStatusError
    ledger = Ledger()
    c = agentkit.client(quiet=True, faults=agentkit.Faults(**{fault: 1.0}), max_retries=0, middleware=[ledger])
    with pytest.raises(error):
        for _ in c.messages.create(model=DEFAULT_MODEL, max_tokens=200, stream=True,
                                   messages=[{"role": "user", "content": "Tell me a story"}]):
            pass
    (attempt,) = ledger.attempts
    assert attempt.streamed and not attempt.ok and attempt.input_tokens > 0 and attempt.cost > 0


# A key-shaped fake: the shape the redaction patterns must catch, never a real key.
FAKE_KEY = "sk-ant-api03-" + "Zq7" * 30 + "-AbCdEfAA"


def test_no_recorder_keeps_the_api_key():
    import json

    import httpx2

    from agentkit.sim import SimTransport, Simulator

    seen: list[str] = []

    def spy(request, call_next):  # proves the key really is in what middleware sees (SDK 2.17)
        seen.append(json.dumps(dict(request.headers)))
        return call_next(request)

    sim = Simulator(faults=agentkit.Faults(fail_first=1, fail_status=529, retry_after=0.0))
    ledger, cache = Ledger(), ResponseCache()
    c = anthropic.Anthropic(api_key=FAKE_KEY, http_client=httpx2.Client(transport=SimTransport(sim)),
                            middleware=[ledger, spy, cache])
    params = dict(model=DEFAULT_MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hello"}])
    c.messages.create(**params)  # a 529, a retry, then an answer
    c.messages.create(**params)  # from the cache
    with c.messages.stream(**params) as stream:
        stream.get_final_message()
    assert any(FAKE_KEY in s for s in seen)
    recorded = [repr(ledger.attempts), repr(ledger.calls()), repr(ledger.summary()), repr(cache._entries),
                json.dumps(list(sim.requests))]
    assert not any(FAKE_KEY in r or FAKE_KEY[:20] in r for r in recorded)
    assert len(ledger.attempts) == 4 and all(dict(a.headers).get("authorization") == "[REDACTED]"
                                             for a in ledger.attempts)
    assert all(dict(a.headers).get("anthropic-version") for a in ledger.attempts)  # the rest is kept
