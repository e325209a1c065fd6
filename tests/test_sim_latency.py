"""Tests for agentkit.sim.latency: the latency model, the time scale, real (scaled) waiting, and the SDK's own
OpenTelemetry spans (TTFT included) against the simulator.

Timing assertions only use lower bounds plus generous upper slack, so a busy 2-core machine cannot flake them;
speed targets live in benchmarks/.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import anthropic
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentkit import clock
from agentkit.models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL
from agentkit.sim import (Faults, LatencyModel, ModelLatency, Scenario, Timing, set_time_scale, simulator_of, sleep,
                          time_scale)
from agentkit.sim.latency import DEFAULT_LATENCY
from agentkit.tokens import count_tokens
from sim_helpers import RecordingSimulator, async_sim_client, scale, sim_client, user

REPLY = "Latency is mostly waiting: first for the first token, then for every token after it."
FIXED = Scenario.from_dict({"name": "fixed", "match": ".", "turns": [REPLY]})
SLACK = 0.5  # real seconds of headroom for a loaded 2-core CI machine


@pytest.fixture(autouse=True)
def restore_scale():
    before = time_scale()
    yield
    set_time_scale(before)


def steady(ttft: float, rate: float, prefill: float = 0.0) -> LatencyModel:
    """A jitter-free latency model for DEFAULT_MODEL, so expected times are exact."""
    return LatencyModel(models={DEFAULT_MODEL: ModelLatency(ttft_base=ttft, prefill_per_1k=prefill,
                                                            tokens_per_second=rate, jitter=0.0)})


def traced(**kwargs):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, {"tracer_provider": provider}


# -- the model -------------------------------------------------------------------------------------------------------
def test_the_courses_worked_number():
    t = LatencyModel().expected(DEFAULT_MODEL, input_tokens=0, output_tokens=200)
    assert t.total == pytest.approx(5.3)
    assert t.ttft == pytest.approx(0.3) and t.output_seconds == pytest.approx(5.0)


def test_ttft_grows_with_input_and_cached_tokens_prefill_faster():
    m = LatencyModel()
    p = m.params(DEFAULT_MODEL)
    short = m.expected(DEFAULT_MODEL, input_tokens=1_000, output_tokens=0)
    long = m.expected(DEFAULT_MODEL, input_tokens=51_000, output_tokens=0)
    assert long.ttft - short.ttft == pytest.approx(50 * p.prefill_per_1k)
    cached = m.expected(DEFAULT_MODEL, input_tokens=1_000, output_tokens=0, cached_tokens=50_000)
    assert short.ttft < cached.ttft < long.ttft
    assert cached.ttft - short.ttft == pytest.approx((long.ttft - short.ttft) / 10)
    assert p.tpot == pytest.approx(1 / p.tokens_per_second)
    # the fast model is faster at both
    fast = m.expected(FAST_MODEL, input_tokens=10_000, output_tokens=500)
    big = m.expected(LARGEST_MODEL, input_tokens=10_000, output_tokens=500)
    assert fast.ttft < long.ttft and fast.output_seconds < big.output_seconds


def test_unknown_model_falls_back_and_custom_tables_override():
    m = LatencyModel(models={FAST_MODEL: ModelLatency(1.0, 0.0, 10.0)})
    assert m.params(FAST_MODEL).ttft_base == 1.0
    assert m.params(DEFAULT_MODEL) == DEFAULT_LATENCY[DEFAULT_MODEL]
    assert LatencyModel().params("some-future-model") == DEFAULT_LATENCY[DEFAULT_MODEL]


def test_jitter_is_seeded_and_centred():
    m = LatencyModel()
    draw = lambda seed: m.timing(DEFAULT_MODEL, input_tokens=2000, output_tokens=300, rng=random.Random(seed))
    assert draw(1) == draw(1) and draw(1) != draw(2)
    base = m.expected(DEFAULT_MODEL, input_tokens=2000, output_tokens=300)
    assert m.timing(DEFAULT_MODEL, input_tokens=2000, output_tokens=300) == base  # no rng, no jitter
    rng = random.Random(0)
    ratios = [m.timing(DEFAULT_MODEL, input_tokens=2000, output_tokens=300, rng=rng).ttft / base.ttft
              for _ in range(2001)]
    assert statistics.median(ratios) == pytest.approx(1.0, abs=0.03)  # log-normal with median 1
    assert min(ratios) < 0.85 and max(ratios) > 1.15  # it does spread


def test_time_scale_is_checked_and_sleep_moves_the_clock_without_sleeping():
    with pytest.raises(ValueError, match="between 0 and 10"):
        set_time_scale(-1)
    with pytest.raises(ValueError):
        set_time_scale("fast")  # type: ignore[arg-type]
    set_time_scale(0.01)
    t0, c0 = time.perf_counter(), clock.monotonic()
    sleep(1000)  # 1,000 simulated seconds
    assert time.perf_counter() - t0 < SLACK
    assert 1000 <= clock.monotonic() - c0 < 1000 + SLACK


# -- through the SDK ------------------------------------------------------------------------------------------------
def simulated_seconds(c, **kwargs) -> tuple[float, anthropic.types.Message, float]:
    t0 = clock.monotonic()
    raw = c.messages.with_raw_response.create(model=DEFAULT_MODEL, max_tokens=300, **kwargs)
    wall = clock.monotonic() - t0
    return float(raw.headers["x-agentkit-simulated-seconds"]), raw.parse(), wall


def test_a_call_moves_the_clock_by_its_simulated_seconds_and_serialisation():
    sim = RecordingSimulator(latency=steady(ttft=1.0, rate=50.0), scenarios=[FIXED])
    c = sim_client(simulator=sim)
    c.messages.count_tokens(model=DEFAULT_MODEL, messages=user("warm up the tokenizer"))
    real0 = time.perf_counter()
    seconds, m, on_clock = simulated_seconds(c, messages=user("How long?"))
    real = time.perf_counter() - real0
    assert seconds == pytest.approx(1.0 + m.usage.output_tokens / 50.0, abs=1e-3)
    ser = sim.latency.serialization
    assert seconds + ser.encode_base + ser.decode_base <= on_clock < seconds + 0.05 + SLACK
    assert real < SLACK  # nothing slept
    assert sim.clock == pytest.approx(seconds, abs=1e-3)  # the simulator's own clock moved by the same amount


def test_more_input_more_simulated_time_and_cache_reads_are_cheaper():
    set_time_scale(0)
    prefill = 0.5  # simulated seconds per 1,000 uncached input tokens
    c = sim_client(simulator=RecordingSimulator(latency=steady(ttft=0.2, rate=100.0, prefill=prefill),
                                                scenarios=[FIXED]))
    short_s, short_m, _ = simulated_seconds(c, messages=user("Hi"))
    doc = "Tokens cost time before the first one comes back. " * 300
    long_s, long_m, _ = simulated_seconds(c, messages=user(doc))
    extra = long_m.usage.input_tokens - short_m.usage.input_tokens
    assert long_s - short_s == pytest.approx(prefill * extra / 1000, abs=2e-3)
    system = [{"type": "text", "text": doc * 2, "cache_control": {"type": "ephemeral"}}]
    write_s, _, _ = simulated_seconds(c, system=system, messages=user("Hi"))
    read_s, read_m, _ = simulated_seconds(c, system=system, messages=user("Hi"))
    assert read_m.usage.cache_read_input_tokens > 0
    assert read_s < write_s


def test_slow_fault_multiplies_time_to_first_token():
    set_time_scale(0)
    normal = sim_client(simulator=RecordingSimulator(latency=steady(0.5, 100.0), scenarios=[FIXED]))
    slow = sim_client(simulator=RecordingSimulator(latency=steady(0.5, 100.0), scenarios=[FIXED],
                                                   faults=Faults(slow=1.0, slow_factor=8.0)))
    a, m, _ = simulated_seconds(normal, messages=user("Hi"))
    b, _, _ = simulated_seconds(slow, messages=user("Hi"))
    assert b - a == pytest.approx(0.5 * 7, abs=2e-3)


def test_streaming_ttft_is_what_the_sdk_span_reports():
    exporter, otel = traced()
    ttft, rate = 2.0, 20.0
    c = sim_client(simulator=RecordingSimulator(latency=steady(ttft, rate), scenarios=[FIXED]), open_telemetry=otel)
    c.messages.count_tokens(model=DEFAULT_MODEL, messages=user("warm up the tokenizer"))
    exporter.clear()
    t0 = clock.monotonic()
    with c.messages.stream(model=DEFAULT_MODEL, max_tokens=300, messages=user("Stream it")) as stream:
        first = next(iter(stream.text_stream))
        first_at = clock.monotonic() - t0
        final = stream.get_final_message()
    [span] = exporter.get_finished_spans()
    output = final.usage.output_tokens / rate
    assert first and ttft <= first_at < ttft + SLACK
    assert span.attributes["agentkit.sim.ttft_s"] == pytest.approx(ttft, abs=1e-3)
    duration = (span.end_time - span.start_time) / 1e9  # spans are stamped with the kit's clock
    assert ttft + output * 0.9 <= duration < ttft + output + SLACK
    assert span.attributes["gen_ai.request.stream"] is True


def test_a_stream_takes_as_long_as_the_same_call_not_streamed():
    short = Scenario.from_dict({"name": "short", "match": ".", "turns": ["OK."]})  # one delta
    c = sim_client(simulator=RecordingSimulator(latency=steady(0.5, 2.0), scenarios=[short]))
    seconds, m, _ = simulated_seconds(c, messages=user("Warm up"))
    assert seconds == pytest.approx(0.5 + m.usage.output_tokens / 2.0, abs=1e-3)
    t0 = clock.monotonic()
    with c.messages.stream(model=DEFAULT_MODEL, max_tokens=300, messages=user("Go")) as stream:
        stream.get_final_message()
    wall = clock.monotonic() - t0
    assert seconds * 0.95 <= wall < seconds + SLACK


def test_async_streaming_really_streams():
    ttft, rate = 2.0, 20.0

    async def go():
        ac = async_sim_client(simulator=RecordingSimulator(latency=steady(ttft, rate), scenarios=[FIXED]))
        await ac.messages.count_tokens(model=DEFAULT_MODEL, messages=user("warm up"))
        t0 = clock.monotonic()
        stamps = []
        async with ac.messages.stream(model=DEFAULT_MODEL, max_tokens=300, messages=user("Stream it")) as stream:
            async for _ in stream.text_stream:
                stamps.append(clock.monotonic() - t0)
            final = await stream.get_final_message()
        return stamps, final

    stamps, final = asyncio.run(go())
    output = final.usage.output_tokens / rate
    assert ttft <= stamps[0] < ttft + SLACK
    assert stamps[-1] - stamps[0] >= output * 0.5  # deltas arrive spread out on the clock, not in one lump


def test_concurrent_simulated_waits_overlap_on_the_clock():
    from agentkit.sim import asleep

    async def three():
        await asyncio.gather(asleep(1.0), asleep(2.0), asleep(1.5))

    t0 = clock.monotonic()
    asyncio.run(three())
    assert 2.0 <= clock.monotonic() - t0 < 2.0 + SLACK  # the longest, not the sum


# -- the SDK's spans, unchanged ----------------------------------------------------------------------------------------
def test_sdk_spans_look_as_they_do_against_the_api():
    set_time_scale(0)
    exporter, otel = traced()
    c = sim_client(open_telemetry=otel)
    system = [{"type": "text", "text": "Cache me. " * 600, "cache_control": {"type": "ephemeral"}}]
    c.messages.create(model=DEFAULT_MODEL, max_tokens=100, system=system, messages=user("Q1"))
    m = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, system=system, messages=user("Q2"))
    c.messages.count_tokens(model=DEFAULT_MODEL, messages=user("Q"))
    with pytest.raises(anthropic.BadRequestError):
        c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=[])
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["anthropic.messages.create"] * 2 + ["anthropic.messages.count_tokens",
                                                                          "anthropic.messages.create"]
    a = spans[1].attributes
    u = m.usage
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == DEFAULT_MODEL
    assert a["gen_ai.response.id"] == m.id and a["anthropic.message.stop_reason"] == "end_turn"
    assert a["gen_ai.usage.output_tokens"] == u.output_tokens
    assert a["gen_ai.usage.cache_read.input_tokens"] == u.cache_read_input_tokens == count_tokens(system[0]["text"], DEFAULT_MODEL)
    assert a["gen_ai.usage.input_tokens"] == u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens
    assert a["http.response.status_code"] == 200 and a["anthropic.request.id"].startswith("req_")
    assert spans[2].attributes["anthropic.message.count_tokens.input_tokens"] > 0
    assert spans[3].status.status_code == StatusCode.ERROR and spans[3].attributes["http.response.status_code"] == 400
    assert spans[0].attributes["gen_ai.usage.cache_write.input_tokens"] == count_tokens(system[0]["text"], DEFAULT_MODEL)


def test_retries_show_on_one_span():
    set_time_scale(0.001)
    exporter, otel = traced()
    c = sim_client(faults=Faults(fail_first=2), open_telemetry=otel)
    c.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=user("Hello"))
    [span] = exporter.get_finished_spans()  # one call, one span, however many attempts
    assert span.attributes["http.request.resend_count"] == 2
    assert span.status.status_code != StatusCode.ERROR
