"""Tests for Lesson 3's rebuilt agents: the 8.2-second CRM case study and the waterfall-shape agents.

The figures are read off traces of real runs on the simulator: simulated seconds with seeded jitter, plus the
real work of the Python code under them (the SDK, tracing, threads: 20-50 ms a run on a busy 2-core machine),
which the time scale of 1/50 turns into 1-2.5 simulated seconds, always added, never removed. So they are
compared with the course's figures on medians over several runs, with upper bounds that leave room for that.
"""

from __future__ import annotations

import pytest

import agentkit
from agentkit import latency
from agentkit.cases import crm_agent
from agentkit.cases.crm_agent import (
    CACHE_TTL_SECONDS,
    QUESTION,
    ArrivalClock,
    TTLCache,
    build_crm_agent,
    crm_client,
    crm_next_request,
)
from agentkit.cases.waterfalls import SHAPE_AGENTS, waterfall_agent

RUNS = 8


@pytest.fixture(scope="module")
def client():
    agentkit.setup_tracing()
    return crm_client()


@pytest.fixture(scope="module")
def before_after(client):
    slow = build_crm_agent(client)
    fixed = build_crm_agent(client, fixed=True)
    before = latency.profile(slow, QUESTION, runs=RUNS, between=crm_next_request(slow))
    after = latency.profile(fixed, QUESTION, runs=RUNS, between=crm_next_request(fixed))
    return before, after


def test_the_design_adds_up_to_the_course_figures():
    # The simulated costs the case is built from, before any run: 4.8 s of tools, 0.6 s serialisation, 0.7 s framework.
    profile = sum(crm_agent.CRM_ENDPOINT_SECONDS.values())
    assert 2 * profile + crm_agent.BILLING_SECONDS == pytest.approx(4.8)
    assert 4 * crm_agent.AUDIT_SECONDS == pytest.approx(0.6)
    assert 4 * (crm_agent.ROUTING_SECONDS + crm_agent.CHECKPOINT_SECONDS) == pytest.approx(0.7)
    fixed_tools = max(crm_agent.CRM_ENDPOINT_SECONDS.values()) + crm_agent.BILLING_SECONDS
    assert fixed_tools == pytest.approx(1.1)


def test_the_slow_agent_breaks_down_as_the_course_tells_it(before_after):
    before, _ = before_after
    assert all(r.result.stop_reason == agentkit.StopReason.FINAL_ANSWER for r in before)
    med = latency.breakdowns(before).median()
    # 8.2 s = 2.1 inference + 4.8 tools + 0.6 serialisation + 0.7 framework (real overhead only adds time).
    assert 7.6 < med["wall_s"] < 13.5, med
    assert 4.6 < med["tool_execution"] < 6.5, med
    assert 1.9 < med["inference_s"] < 2.5, med  # the simulator's own seconds: no real overhead in them
    assert 0.55 < med["request_serialization"] < 1.5, med
    assert 0.65 < med["framework_overhead"] < 1.6, med
    assert med["tool_execution"] == max(med[c] for c in latency.COMPONENTS)
    d = latency.diagnose(latency.median_run(before).trace)
    assert {"tools_wider_than_llm", "sequential_independent_tools"} <= set(d.shapes), d


def test_async_calls_and_a_ttl_cache_cut_the_tools_and_leave_inference_alone(before_after):
    before, after = before_after
    b, a = latency.breakdowns(before).median(), latency.breakdowns(after).median()
    assert 0.9 < a["tool_execution"] < 2.2, a
    assert a["tool_execution"] < 0.4 * b["tool_execution"]
    assert a["inference_s"] == pytest.approx(b["inference_s"], rel=0.1)
    saved = b["wall_s"] - a["wall_s"]
    assert saved == pytest.approx(b["tool_execution"] - a["tool_execution"], rel=0.3)
    # Same answers: the fix is in the tools, not in what the agent says.
    assert {r.result.text for r in before} == {r.result.text for r in after}
    assert len({r.result.text for r in after}) == 1


def test_the_cache_pays_only_from_the_second_identical_read(client):
    fixed = build_crm_agent(client, fixed=True)
    fixed.clock.advance(1000)
    first = latency.profile(fixed, QUESTION, runs=1)[0]
    hits = _cache_hits(first.trace)
    assert hits == [False] * 3 + [True] * 3  # first read of the run misses, the re-check hits
    fixed.clock.advance(30)  # the same customer again 30 s later: inside the TTL, even the first read hits
    assert _cache_hits(latency.profile(fixed, QUESTION, runs=1)[0].trace) == [True] * 6
    fixed.clock.advance(CACHE_TTL_SECONDS + 30)  # 90 s later: expired
    assert _cache_hits(latency.profile(fixed, QUESTION, runs=1)[0].trace)[:3] == [False] * 3


def _cache_hits(trace):
    spans = sorted((s for s in trace.spans if s.name == "crm.request"), key=lambda s: s.start_time)
    return [s.attributes["agentkit.cache.hit"] for s in spans]


def test_ttl_cache_and_clock():
    clock = ArrivalClock()
    cache = TTLCache(60, clock.now)
    assert cache.get("k") == (False, None)
    cache.put("k", 1)
    assert cache.get("k") == (True, 1)
    clock.advance(61)
    assert cache.get("k") == (False, None)
    assert (cache.hits, cache.misses) == (1, 2)
    with pytest.raises(ValueError):
        TTLCache(0, clock.now)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(TypeError):
        crm_next_request(agentkit.Agent(client=agentkit.client(quiet=True)))


@pytest.mark.parametrize("shape", list(SHAPE_AGENTS))
def test_each_shape_agent_shows_its_shape(shape):
    agentkit.setup_tracing()
    client = agentkit.client(scenarios=["l3_latency"], quiet=True)
    agent, prompt = waterfall_agent(shape, client)
    runs = latency.profile(agent, prompt, runs=3)
    assert all(r.result.stop_reason == agentkit.StopReason.FINAL_ANSWER for r in runs)
    found = latency.diagnose(latency.median_run(runs).trace).shapes
    expected = SHAPE_AGENTS[shape]
    assert found == ([] if expected is None else [expected]), found


def test_unknown_shape():
    with pytest.raises(ValueError, match="healthy"):
        waterfall_agent("spiky", agentkit.client(quiet=True))


# -- honest simulated time (issue 20): L3's figures come from the latency model, not from scaled real time ---------


def test_l3_components_sum_to_the_wall_clock_and_serialisation_is_in_the_lessons_range():
    """L3 states request serialisation is usually 5-50 ms a call; the case adds its audit-log middleware on top."""
    import agentkit
    from agentkit import latency
    from agentkit.cases.crm_agent import AUDIT_SECONDS, QUESTION, build_crm_agent, crm_client

    agentkit.setup_tracing()
    runs = latency.profile(build_crm_agent(crm_client(live=False)), QUESTION, runs=3)
    for run in runs:
        b = run.breakdown
        assert sum(b.seconds.values()) + b.unaccounted_s == pytest.approx(b.wall_s, rel=1e-9)
        assert b.unaccounted_s < 0.05 * b.wall_s  # no magnified real overhead left to fall between the spans
        per_call = b["request_serialization"] / b.model_calls - AUDIT_SECONDS
        assert 0.005 <= per_call <= 0.050, per_call
    plain = agentkit.Agent(agentkit.client(quiet=True, live=False), model=agentkit.FAST_MODEL, name="plain")
    [run] = latency.profile(plain, "Say hello in five words.", runs=1)
    b = run.breakdown
    assert 0.005 <= b["request_serialization"] / b.model_calls <= 0.050
    assert sum(b.seconds.values()) + b.unaccounted_s == pytest.approx(b.wall_s, rel=1e-9)
