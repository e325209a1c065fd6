"""Tests for agentkit.latency: components from spans, percentiles, ECDF, compare, diagnose, the latency arithmetic
and provider load.

Most tests build traces from spans with exact timestamps (a private tracer provider, explicit start and end
times), so attribution and the shape rules are checked to the millisecond; the tests on real simulated agents are
in tests/test_l3_cases.py.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit
import agentkit.tracing
from agentkit import latency
from agentkit.models import DEFAULT_MODEL
from agentkit.sim.latency import LOAD_PROFILES, LatencyModel, LoadProfile
from agentkit.tracing import Trace

S = 1_000_000_000  # nanoseconds per second
T0 = 1_700_000_000 * S


class Builder:
    """Spans with exact times (seconds from T0), collected into a Trace."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("test")
        self.root = self.tracer.start_span("invoke_agent a", start_time=T0,
                                           attributes={"gen_ai.operation.name": "invoke_agent"})
        self.end_at = 0.0

    def _ctx(self, parent=None):
        from opentelemetry import trace
        return trace.set_span_in_context(parent or self.root)

    def span(self, name, start, end, parent=None, events=(), **attrs):
        s = self.tracer.start_span(name, context=self._ctx(parent), start_time=T0 + int(start * S), attributes=attrs)
        for ev_name, at, ev_attrs in events:
            s.add_event(ev_name, ev_attrs, timestamp=T0 + int(at * S))
        self.end_at = max(self.end_at, end)
        s.end(end_time=T0 + int(end * S))
        return s

    def model(self, start, end, received, ttft, output_tokens=20, input_tokens=100, step=1):
        return self.span("chat m", start, end, events=[(latency.RECEIVED_EVENT, received, {})],
                         **{"gen_ai.operation.name": "chat", latency.SIM_TTFT_ATTRIBUTE: ttft,
                            "gen_ai.usage.output_tokens": output_tokens, "gen_ai.usage.input_tokens": input_tokens,
                            "agentkit.step": step})

    def tool(self, name, start, end, step=1):
        return self.span(f"execute_tool {name}", start, end, **{"gen_ai.operation.name": "execute_tool",
                                                                  "gen_ai.tool.name": name, "agentkit.step": step})

    def event(self, name, end, seconds, **attrs):
        self.root.add_event(name, {"agentkit.duration_ns": int(seconds * S), **attrs}, timestamp=T0 + int(end * S))

    def trace(self, end=None):
        self.root.end(end_time=T0 + int((end if end is not None else self.end_at) * S))
        return Trace(self.exporter.get_finished_spans())


def crm_like() -> Trace:
    """0-0.1 build, 0.1-0.3 hook, 0.3-2.3 model (0.2 s serialisation, 0.5 s TTFT), 2.3-6.3 tool, 6.3-6.5 gap."""
    b = Builder()
    b.event("agentkit.request_built", 0.1, 0.1, **{"agentkit.step": 1})
    b.event("agentkit.hooks", 0.3, 0.2, **{"agentkit.hook": "model_start", "agentkit.step": 1})
    b.model(0.3, 2.3, received=0.5, ttft=0.5)
    b.tool("crm", 2.3, 6.3)
    return b.trace(end=6.5)


def test_each_component_is_measured_from_its_spans_and_events():
    b = latency.breakdown(crm_like())
    assert b.wall_s == pytest.approx(6.5)
    assert b["context_injection"] == pytest.approx(0.1)
    assert b["framework_overhead"] == pytest.approx(0.2)
    assert b["request_serialization"] == pytest.approx(0.2)
    assert b["time_to_first_token"] == pytest.approx(0.5)
    assert b["generation"] == pytest.approx(1.3)
    assert b["tool_execution"] == pytest.approx(4.0)
    assert b["inter_step_coordination"] == 0
    assert b.unaccounted_s == pytest.approx(0.2)
    assert b.inference_s == pytest.approx(1.8)
    assert b.largest == "tool_execution"
    assert sum(b.seconds.values()) + b.unaccounted_s == pytest.approx(b.wall_s)
    assert (b.model_calls, b.tool_calls, b.streamed) == (1, 1, False)
    assert "tool execution" in str(b) and "(gaps: no span)" in str(b)
    with pytest.raises(KeyError, match="components are"):
        b["latency"]


def test_with_the_simulators_duration_inference_is_exact_and_decoding_is_serialisation():
    b = Builder()
    b.span("chat m", 0.0, 2.0, events=[(latency.RECEIVED_EVENT, 0.2, {})],
           **{"gen_ai.operation.name": "chat", latency.SIM_TTFT_ATTRIBUTE: 0.3, latency.SIM_SECONDS_ATTRIBUTE: 1.0})
    br = latency.breakdown(b.trace())
    assert br["time_to_first_token"] == pytest.approx(0.3)
    assert br["generation"] == pytest.approx(0.7)
    assert br.inference_s == pytest.approx(1.0)  # exactly the simulated model time
    assert br["request_serialization"] == pytest.approx(0.2 + 0.8)  # encoding before, decoding after


def test_concurrent_tools_count_once_and_a_hook_inside_a_tool_counts_as_framework():
    b = Builder()
    b.tool("a", 0.0, 1.0)
    b.tool("b", 0.2, 1.5)
    b.event("agentkit.hooks", 1.2, 0.4, **{"agentkit.hook": "tool_end"})  # 0.8-1.2, inside the tools
    br = latency.breakdown(b.trace())
    assert br["tool_execution"] == pytest.approx(1.1)
    assert br["framework_overhead"] == pytest.approx(0.4)
    assert br.wall_s == pytest.approx(1.5)


def test_streamed_ttft_comes_from_the_sdk_first_chunk_and_marked_spans_and_handoffs_count():
    b = Builder()
    b.span("chat m", 0.0, 3.0, events=[(latency.RECEIVED_EVENT, 0.1, {})],
           **{"gen_ai.operation.name": "chat", "gen_ai.response.time_to_first_chunk": 0.6})
    b.span("agentkit.handoff to billing", 3.0, 3.5)
    b.span("persist state", 3.5, 4.0, **{latency.COMPONENT_ATTRIBUTE: "framework_overhead"})
    br = latency.breakdown(b.trace())
    assert br.streamed
    assert br["request_serialization"] == pytest.approx(0.1)
    assert br["time_to_first_token"] == pytest.approx(0.5)
    assert br["generation"] == pytest.approx(2.4)
    assert br["inter_step_coordination"] == pytest.approx(0.5)
    assert br["framework_overhead"] == pytest.approx(0.5)


def test_handoff_spans_count_as_inter_step_coordination():
    agentkit.setup_tracing()
    with agentkit.capture(time_scale=1.0) as trace:
        with agentkit.tracing.tracer().start_as_current_span("invoke_agent triage"):
            with latency.handoff("billing_agent") as span:
                span.set_attribute("app.state_bytes", 1200)
    br = latency.breakdown(trace)
    names = [s.name for s in trace.spans]
    assert "agentkit.handoff billing_agent" in names
    assert br["inter_step_coordination"] > 0
    assert br["inter_step_coordination"] + br.unaccounted_s == pytest.approx(br.wall_s)
    with pytest.raises(ValueError, match="agent that takes over"):
        with latency.handoff(""):
            pass


def test_breakdown_rejects_what_is_not_a_filled_trace():
    with pytest.raises(TypeError, match="Trace"):
        latency.breakdown([1, 2])
    with pytest.raises(ValueError, match="no spans"):
        latency.breakdown(Trace([]))


def test_percentiles_state_their_method_and_match_numpy():
    values = [float(v) for v in range(1, 101)]
    p = latency.percentiles(values)
    assert latency.PERCENTILE_METHOD == "linear"
    assert p == {k: pytest.approx(float(np.percentile(values, q))) for k, q in (("p50", 50), ("p95", 95), ("p99", 99))}
    assert p["p50"] == pytest.approx(50.5) and p["p99"] == pytest.approx(99.01)
    assert latency.percentiles(pd.Series([3.0, 1.0, 2.0]), qs=(50,)) == {"p50": 2.0}
    with pytest.raises(ValueError, match="at least one"):
        latency.percentiles([])
    with pytest.raises(ValueError, match="between 0 and 100"):
        latency.percentiles([1.0], qs=(150,))
    with pytest.raises(ValueError, match="NaN"):
        latency.percentiles([1.0, float("nan")])


def test_ecdf_and_compare():
    xs, ys = latency.ecdf([3.0, 1.0, 2.0, 2.0])
    assert xs == [1.0, 2.0, 2.0, 3.0] and ys == [0.25, 0.5, 0.75, 1.0]
    before = [8.0 + 0.1 * i for i in range(20)]
    after = [4.0 + 0.05 * i for i in range(20)]
    table = latency.compare(before, after)
    assert list(table.index) == ["p50", "p95", "p99", "mean"]
    assert table.loc["p50", "before_s"] == pytest.approx(float(np.percentile(before, 50)))
    assert table.loc["p50", "change_s"] == pytest.approx(table.loc["p50", "after_s"] - table.loc["p50", "before_s"])
    assert table.loc["mean", "change_pct"] == pytest.approx((np.mean(after) / np.mean(before) - 1) * 100)
    frame = pd.DataFrame({"wall_s": before})
    assert latency.compare(frame, after).loc["p95", "before_s"] == table.loc["p95", "before_s"]
    with pytest.raises(KeyError, match="no column"):
        latency.compare(frame, after, column="tools")


def test_breakdowns_table_and_plots():
    table = latency.breakdowns([crm_like(), latency.breakdown(crm_like())])
    assert list(table.columns) == ["wall_s", *latency.COMPONENTS, "unaccounted_s", "inference_s"]
    assert len(table) == 2 and table["tool_execution"].tolist() == pytest.approx([4.0, 4.0])
    fig = latency.plot_components({"before": table, "after": table})
    assert fig.axes
    fig = latency.plot_distributions({"a": [1.0, 2.0, 3.0], "b": [2.0, 3.0, 4.0]})
    assert "p50 2.00" in fig.axes[0].get_legend().get_texts()[0].get_text()
    with pytest.raises(ValueError):
        latency.breakdowns([])


# -- the TTFT / TPOT arithmetic: the course's worked numbers --------------------------------------------------


def test_the_worked_ttft_tpot_numbers():
    # An API with 300 ms TTFT for a 500-token prompt (50 ms fixed + 0.5 ms per input token) and 40 tokens/s.
    api = dict(ttft_base=0.05, prefill_per_1k=0.5, tokens_per_second=40)
    base = latency.call_time(500, 200, **api)
    assert base.ttft == pytest.approx(0.3) and base.output_seconds == pytest.approx(5.0)
    assert base.total == pytest.approx(5.3)
    shorter_input = latency.call_time(200, 200, **api)
    assert shorter_input.ttft == pytest.approx(0.15)
    assert base.total - shorter_input.total == pytest.approx(0.15)
    shorter_output = latency.call_time(500, 100, **api)
    assert base.total - shorter_output.total == pytest.approx(2.5)
    with pytest.raises(ValueError, match="whole number"):
        latency.call_time(-1, 10, **api)
    with pytest.raises(ValueError, match="positive"):
        latency.call_time(1, 10, ttft_base=0.1, prefill_per_1k=0.1, tokens_per_second=0)


def test_model_call_time_is_the_simulator_formula():
    t = latency.model_call_time(DEFAULT_MODEL, 500, 200)
    assert t == LatencyModel().expected(DEFAULT_MODEL, input_tokens=500, output_tokens=200)
    assert t.total > t.ttft > 0
    # The lesson's figures for today's default model: about 0.04 s of prefill per 1,000 input tokens, so cutting
    # 500 input tokens to 200 saves about 12 ms.
    assert LatencyModel().params(DEFAULT_MODEL).prefill_per_1k == pytest.approx(0.04)
    assert t.total - latency.model_call_time(DEFAULT_MODEL, 200, 200).total == pytest.approx(0.012)
    # "at 20,000 input tokens the same formula adds most of a second to every call"
    long = latency.model_call_time(DEFAULT_MODEL, 20_000, 0).ttft - latency.model_call_time(DEFAULT_MODEL, 0, 0).ttft
    assert 0.5 < long < 1.0


# -- provider load -----------------------------------------------------------------------------------------------


def _totals(load: str, n: int = 2000) -> list[float]:
    model = LatencyModel(load=LOAD_PROFILES[load])
    return [model.timing(DEFAULT_MODEL, input_tokens=1500, output_tokens=60, rng=random.Random(i)).total
            for i in range(n)]


def test_peak_load_moves_p99_by_up_to_about_three_times():
    off, peak = latency.percentiles(_totals("off_peak")), latency.percentiles(_totals("peak"))
    assert 2.6 < peak["p99"] / off["p99"] < 3.8, (off, peak)  # the course: p99 up to about 3x
    assert peak["p50"] / off["p50"] < peak["p99"] / off["p99"]  # load hurts the tail most
    # No load profile: the plain model's numbers are unchanged by the new field.
    plain = LatencyModel().timing(DEFAULT_MODEL, input_tokens=100, output_tokens=10, rng=random.Random(1))
    assert plain == LatencyModel(load=None).timing(DEFAULT_MODEL, input_tokens=100, output_tokens=10,
                                                   rng=random.Random(1))


def test_load_profile_validation_and_client_under_load():
    with pytest.raises(ValueError, match="positive"):
        LoadProfile("x", queue_median=0)
    with pytest.raises(ValueError, match="between 0 and 2"):
        LoadProfile("x", queue_sigma=5)
    with pytest.raises(ValueError, match="off_peak"):
        latency.client_under_load("rush_hour")
    client = latency.client_under_load("peak", quiet=True)
    sim = agentkit.sim.simulator_of(client)
    assert sim.latency.load is LOAD_PROFILES["peak"]


# -- diagnose: the rules on exact traces ------------------------------------------------------------------------


def test_a_healthy_sequential_trace_has_no_findings():
    b = Builder()
    b.model(0.0, 1.0, received=0.02, ttft=0.3)
    b.tool("lookup", 1.02, 1.3)
    b.model(1.32, 2.8, received=1.34, ttft=0.3, step=2)
    d = latency.diagnose(b.trace())
    assert d.healthy and d.shapes == [] and str(d).startswith("healthy")


def test_gaps_are_found_unless_a_timed_event_explains_them():
    b = Builder()
    b.model(0.0, 1.0, received=0.02, ttft=0.3)
    b.model(2.0, 3.0, received=2.02, ttft=0.3, step=2)
    d = latency.diagnose(b.trace())
    assert d.shapes == ["wide_gaps"] and "1.00 s" in d.findings[0].evidence
    b = Builder()
    b.model(0.0, 1.0, received=0.02, ttft=0.3)
    b.event("agentkit.hooks", 2.0, 1.0, **{"agentkit.hook": "step_end"})
    b.model(2.0, 3.0, received=2.02, ttft=0.3, step=2)
    assert "wide_gaps" not in latency.diagnose(b.trace())


def test_sequential_tools_of_one_turn_and_repeated_calls_inside_a_tool():
    b = Builder()
    b.model(0.0, 1.0, received=0.02, ttft=0.3)
    b.tool("a", 1.0, 1.8)
    b.tool("b", 1.8, 2.6)
    b.model(2.6, 4.0, received=2.62, ttft=0.3, step=2)
    d = latency.diagnose(b.trace())
    assert "sequential_independent_tools" in d
    assert "2 tool calls of step 1" in d.findings[d.shapes.index("sequential_independent_tools")].evidence
    b = Builder()
    b.model(0.0, 2.0, received=0.02, ttft=0.3)
    t = b.tool("profile", 2.0, 3.5)
    for i in range(3):
        b.span("GET", 2.0 + 0.5 * i, 2.5 + 0.5 * i, parent=t)
    b.model(3.5, 5.5, received=3.52, ttft=0.3, step=2)
    d = latency.diagnose(b.trace())
    assert d.shapes == ["sequential_independent_tools"]
    assert "3 'GET' spans inside one tool call" in d.findings[0].evidence
    # The same calls overlapping: nothing to parallelise.
    b = Builder()
    b.model(0.0, 2.0, received=0.02, ttft=0.3)
    t = b.tool("profile", 2.0, 2.6)
    for i in range(3):
        b.span("GET", 2.0 + 0.05 * i, 2.5 + 0.05 * i, parent=t)
    b.model(2.6, 4.6, received=2.62, ttft=0.3, step=2)
    assert latency.diagnose(b.trace()).healthy


def test_growing_model_spans_tools_wider_and_many_short_calls():
    b = Builder()
    t = 0.0
    for i, width in enumerate([0.6, 0.8, 1.0, 1.3, 1.6]):
        b.model(t, t + width, received=t + 0.01, ttft=width - 0.25, input_tokens=1000 + 5000 * i, step=i + 1)
        t += width + 0.01
    d = latency.diagnose(b.trace())
    assert d.shapes == ["growing_llm_spans"] and "1,000 to 21,000 tokens" in d.findings[0].evidence

    b = Builder()
    b.model(0.0, 0.8, received=0.01, ttft=0.3)
    b.tool("supplier", 0.8, 4.3)
    b.model(4.3, 5.3, received=4.31, ttft=0.3, step=2)
    d = latency.diagnose(b.trace())
    assert d.shapes == ["tools_wider_than_llm"] and "supplier alone 3.50 s" in d.findings[0].evidence

    b = Builder()
    t = 0.0
    for i in range(8):
        b.model(t, t + 0.35, received=t + 0.01, ttft=0.2, output_tokens=12, step=i + 1)
        b.tool("item", t + 0.35, t + 0.4, step=i + 1)
        t += 0.4
    d = latency.diagnose(b.trace())
    assert d.shapes == ["many_short_llm_calls"] and "8 model calls" in d.findings[0].evidence


def test_diagnose_rejects_bad_input():
    with pytest.raises(TypeError, match="Trace"):
        latency.diagnose("trace")
    with pytest.raises(ValueError, match="no spans"):
        latency.diagnose(Trace([]))


def test_profile_rejects_bad_arguments():
    with pytest.raises(TypeError, match="agent"):
        latency.profile(object(), "hi")
    agent = agentkit.Agent(agentkit.client(quiet=True))
    with pytest.raises(ValueError, match="prompt"):
        latency.profile(agent, [])
    with pytest.raises(ValueError, match="runs"):
        latency.profile(agent, "hi", runs=0)
    with pytest.raises(ValueError):
        latency.median_run([])
