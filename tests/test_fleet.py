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


# -- queueing theory: the fleet's queue against M/M/c, and Little's law on its own output ---------------------


def erlang_c(c: int, offered: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu (in Erlangs).

    The Erlang C formula (A. K. Erlang, 1917; as in Kleinrock, Queueing Systems vol. 1, section 3.5, or
    Gross & Harris, Fundamentals of Queueing Theory, section 2.3):
        C(c, a) = (a^c / c!) / (1 - rho) / (sum_{k<c} a^k / k! + (a^c / c!) / (1 - rho)),  rho = a / c.
    Written out here rather than imported so the test does not share code with what it checks.
    """
    import math

    rho = offered / c
    top = offered ** c / math.factorial(c) / (1 - rho)
    return top / (sum(offered ** k / math.factorial(k) for k in range(c)) + top)


def mmc_profiles(mean_service: float, n: int = 10_000) -> list[RunProfile]:
    """One call per run, exponential service times: the M/M/c service distribution, as measured runs.

    The n quantiles of the exponential rather than n random draws, so the sample's mean is the distribution's
    (a random sample of 4,000 was 1.5% short, which near saturation moves the wait by 15%); the fleet replays
    them in shuffled order, which makes successive service times independent draws from it.
    """
    import math

    return [RunProfile((CallProfile(100, 10, -mean_service * math.log(1 - (i + 0.5) / n), 0.001),))
            for i in range(n)]


@pytest.mark.parametrize("c, rho", [(5, 0.8), (20, 0.9), (1, 0.6)])
def test_queue_wait_utilisation_and_number_in_system_agree_with_erlang_c(c, rho):
    mean_service = 2.0
    mu = 1 / mean_service
    lam = rho * c * mu  # per second
    report = simulate(mmc_profiles(mean_service), arrivals_per_minute=60 * lam, runs=30_000, concurrency=c, seed=3)
    wq = erlang_c(c, lam / mu) / (c * mu - lam)  # mean wait in the queue
    assert report.mean_queue_wait == pytest.approx(wq, rel=0.08)
    assert report.mean_service == pytest.approx(mean_service, rel=0.03)
    assert report.utilisation == pytest.approx(rho, rel=0.03)
    assert report.mean_in_system == pytest.approx(lam * (wq + mean_service), rel=0.03)  # L = lambda W, M/M/c
    waited = sum(t.queued > 0 for t in report.timings) / report.runs
    assert waited == pytest.approx(erlang_c(c, lam / mu), abs=0.02)  # the share that waits is Erlang C itself


@pytest.mark.parametrize("options", [
    dict(arrivals_per_minute=300, concurrency=8),
    dict(arrivals_per_minute=1_000, limits=RateLimits(rpm=600, itpm=400_000), concurrency=30),  # failures too
    dict(arrivals_per_minute=200),
])
def test_littles_law_holds_on_the_reports_own_output(options):
    report = simulate(synthetic(), runs=5_000, **options)
    # L (time-average number in the system, integrated as runs come and go) = lambda (runs over the span) x W
    # (mean time in the system, failed runs until they failed): an identity over a span that holds every run.
    assert report.mean_in_system == pytest.approx(report.arrival_rate * report.mean_seconds_in_system, rel=1e-9)
    assert len(report.timings) == report.runs
    assert all(t.arrival <= t.start <= t.end for t in report.timings)
    assert sum(t.completed for t in report.timings) == report.completed
    assert sorted(t.seconds for t in report.timings if t.completed) == sorted(report.latencies)


def test_cost_per_1000_completed_counts_only_runs_that_finished():
    one = [RunProfile((CallProfile(100, 10, 1.0, 0.01), CallProfile(100, 10, 1.0, 0.01)))]
    report = simulate(one, arrivals_per_minute=600, runs=2_000, limits=RateLimits(rpm=200), max_retries=0)
    assert report.failed > report.runs / 2
    spent = report.cost_per_1000 * report.runs / 1000
    assert report.cost_per_1000_completed == pytest.approx(1000 * spent / report.completed)
    # every completed run paid both its calls; failures paid at most their first, so per completed run >= $0.02
    assert report.cost_per_1000_completed >= 20 - 1e-9 > report.cost_per_1000
    free = simulate(one, arrivals_per_minute=60, runs=500)
    assert free.cost_per_1000_completed == pytest.approx(free.cost_per_1000) == pytest.approx(20)
