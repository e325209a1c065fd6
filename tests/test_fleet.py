"""Tests for agentkit.fleet: the SimPy model of production traffic (rate limits, queueing, retries, cost)."""

from __future__ import annotations

import random

import pytest

from agentkit.cases import support_desk as sd
from agentkit.fleet import CallProfile, RateLimits, RunProfile, profiles_from, simulate, sweep


def synthetic(n: int = 40, seed: int = 1) -> list[RunProfile]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        calls = tuple(CallProfile(rng.randint(200, 6000), rng.randint(20, 300), rng.uniform(0.5, 3.0),
                                  rng.uniform(0.002, 0.02)) for _ in range(rng.randint(1, 4)))
        out.append(RunProfile(calls, tool_seconds=rng.uniform(0, 2)))
    return out


def mean_cost(profiles):
    return sum(p.cost for p in profiles) / len(profiles)


def test_cost_per_1000_is_1000_times_the_mean_run_cost_when_no_limit_binds():
    profiles = synthetic()
    report = simulate(profiles, arrivals_per_minute=200, runs=10_000)
    assert report.limited == report.failed == 0
    assert report.cost_per_1000 == pytest.approx(1000 * mean_cost(profiles), rel=0.01)


def test_cost_per_1000_matches_the_measured_support_agent():
    card = sd.evaluate_config(sd.SupportConfig(cache_prompt=True))
    profiles = profiles_from(card)
    report = simulate(profiles, arrivals_per_minute=100, runs=10_000)
    assert report.cost_per_1000 == pytest.approx(card.cost_per_1000, rel=0.01)
    assert report.p50 == pytest.approx(card.p50, rel=0.1)  # unloaded: the measured latency


def test_unloaded_latency_is_the_runs_own_time():
    one = [RunProfile((CallProfile(100, 10, 2.0, 0.01), CallProfile(100, 10, 1.0, 0.01)), tool_seconds=0.5)]
    report = simulate(one, arrivals_per_minute=10, runs=50)
    assert report.p50 == pytest.approx(3.5) and report.p99 == pytest.approx(3.5)


def test_an_rpm_limit_caps_throughput_and_adds_429s_and_waits():
    one = [RunProfile((CallProfile(100, 10, 1.0, 0.01),))]
    free = simulate(one, arrivals_per_minute=240, runs=4_000)
    capped = simulate(one, arrivals_per_minute=240, runs=4_000, limits=RateLimits(rpm=120), max_retries=50)
    assert free.limited == 0
    assert capped.limited_share > 0.5 and capped.retries > 0
    # the limit, plus the one full bucket the first minute may burst (120 extra runs over the simulated span)
    span_minutes = capped.completed / capped.throughput_per_minute
    assert capped.completed <= 120 * span_minutes + 120 + 1
    assert capped.throughput_per_minute == pytest.approx(120, rel=0.1)
    assert capped.p99 > 10 * free.p99


def test_retries_run_out_and_runs_fail():
    one = [RunProfile((CallProfile(100, 10, 1.0, 0.01),))]
    report = simulate(one, arrivals_per_minute=600, runs=1_000, limits=RateLimits(rpm=60), max_retries=0)
    assert report.failed > 0 and report.completed + report.failed == report.runs
    assert report.cost_per_1000 < 10  # failed runs made no call, so cost nothing


def test_cache_reads_do_not_count_against_itpm():
    uncached = [RunProfile((CallProfile(6000, 20, 1.0, 0.02),))]
    cached = [RunProfile((CallProfile(60, 20, 1.0, 0.003),))]  # the same prompt, 5,940 tokens read from the cache
    limits = RateLimits(itpm=2_000_000)
    assert simulate(uncached, arrivals_per_minute=1000, runs=3_000, limits=limits).limited_share > 0.3
    assert simulate(cached, arrivals_per_minute=1000, runs=3_000, limits=limits).limited == 0


def test_provider_concurrency_queues_requests():
    one = [RunProfile((CallProfile(100, 10, 2.0, 0.01),))]
    free = simulate(one, arrivals_per_minute=600, runs=2_000)
    queued = simulate(one, arrivals_per_minute=600, runs=2_000, concurrency=12)  # 10 s of work per s vs 6/s served
    assert queued.p99 > free.p99 + 1


def test_batch_halves_cost_and_waits_for_the_batch():
    profiles = synthetic()
    live = simulate(profiles, arrivals_per_minute=100, runs=2_000)
    batch = simulate(profiles, arrivals_per_minute=100, runs=2_000, batch=True)
    assert batch.cost_per_1000 == pytest.approx(live.cost_per_1000 / 2, rel=1e-9)
    assert batch.p95 == pytest.approx(3600)


def test_same_seed_same_report_and_sweep():
    profiles = synthetic()
    a = simulate(profiles, arrivals_per_minute=300, runs=500, seed=4)
    b = simulate(profiles, arrivals_per_minute=300, runs=500, seed=4)
    assert a == b
    reports = sweep(profiles, [100, 400], runs=300, limits=RateLimits(rpm=500))
    assert [r.arrivals_per_minute for r in reports] == [100, 400]


@pytest.mark.parametrize("kwargs, message", [
    ({"arrivals_per_minute": 0}, "arrivals_per_minute"),
    ({"arrivals_per_minute": 10, "runs": 0}, "runs"),
    ({"arrivals_per_minute": 10, "concurrency": 0}, "concurrency"),
    ({"arrivals_per_minute": 10, "max_retries": -1}, "max_retries"),
])
def test_bad_input_says_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate(synthetic(3), **kwargs)
    with pytest.raises(ValueError, match="RateLimits.rpm"):
        RateLimits(rpm=-5)
    with pytest.raises(ValueError, match="at least one"):
        simulate([], arrivals_per_minute=1)
