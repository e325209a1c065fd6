"""Tests for agentkit.costs: the four buckets, compounding history, and caching savings."""

from __future__ import annotations

import pytest

from agentkit.costs import (
    AgentProfile,
    bucket_totals,
    caching_savings,
    largest_bucket,
    marginal_growth,
    run_cost,
    run_steps,
    step_tokens,
)
from agentkit.models import DEFAULT_MODEL, PREVIOUS_DEFAULT_MODEL
from agentkit.pricing import price_of


def test_course_worked_number_system_prompt_over_15_steps():
    profile = AgentProfile(system_prompt_tokens=2_000, tool_count=0, tokens_per_tool=0,
                           user_input_tokens=0, output_tokens=0, steps=15)
    assert bucket_totals(profile)["system"] == 30_000


def test_course_worked_number_tool_schemas_cost():
    profile = AgentProfile(system_prompt_tokens=0, tool_count=15, tokens_per_tool=300,
                           user_input_tokens=0, output_tokens=0, steps=10)
    assert bucket_totals(profile)["tools"] == 45_000
    assert run_cost(profile, DEFAULT_MODEL).dollars == pytest.approx(45_000 * price_of(DEFAULT_MODEL).input_per_token)
    # The course's figure, $0.135 at $3 per million, is the price of the previous default (Sonnet 4.6).
    assert price_of(PREVIOUS_DEFAULT_MODEL).input_per_mtok == 3
    assert run_cost(profile, PREVIOUS_DEFAULT_MODEL).dollars == pytest.approx(0.135)


SUPPORT = AgentProfile(system_prompt_tokens=3_500, tool_count=12, tokens_per_tool=350,
                       user_input_tokens=800, output_tokens=600, steps=10)


def test_history_grows_by_one_exchange_per_step():
    steps = run_steps(SUPPORT)
    assert [s.history for s in steps[:3]] == [0, 1_400, 2_800]
    s10 = step_tokens(SUPPORT, 10)
    assert s10.buckets() == {"tools": 4_200, "system": 3_500, "history": 12_600, "user_input": 800}
    assert s10.input == 21_100


def test_run_totals_and_the_largest_bucket():
    totals = bucket_totals(SUPPORT)
    assert totals == {"tools": 42_000, "system": 35_000, "history": 63_000, "user_input": 8_000}
    assert sum(totals.values()) == sum(s.input for s in run_steps(SUPPORT))
    assert largest_bucket(SUPPORT) == "history"
    # With one step there is no history yet: the tool schemas dominate.
    assert largest_bucket(SUPPORT, steps=1) == "tools"


def test_marginal_growth_shrinks_as_the_run_gets_longer():
    growth = marginal_growth(SUPPORT)
    assert len(growth) == SUPPORT.steps - 1
    assert growth[0] == pytest.approx(1_400 / 8_500)
    assert growth == sorted(growth, reverse=True)


def test_caching_the_prefix_writes_once_and_reads_after():
    plain = run_cost(SUPPORT, DEFAULT_MODEL)
    cached = run_cost(SUPPORT, DEFAULT_MODEL, cache_prefix=True)
    assert cached.cache_write_tokens == 7_700
    assert cached.cache_read_tokens == 9 * 7_700
    assert cached.total_input_tokens == plain.input_tokens == 148_000
    base = price_of(DEFAULT_MODEL).input_per_token
    read = price_of(DEFAULT_MODEL).cache_read_multiplier  # 0.05x on Sonnet 5.5
    # Uncached, the prefix is paid 10 times at 1x; cached, once at 1.25x and 9 times at the model's read rate.
    expected = 7_700 * base * (10 - 1.25 - 9 * read)
    assert caching_savings(SUPPORT, DEFAULT_MODEL) == pytest.approx(expected)
    assert caching_savings(SUPPORT, DEFAULT_MODEL, ttl="1h") == pytest.approx(7_700 * base * (10 - 2 - 9 * read))


def test_caching_a_single_call_costs_more():
    assert caching_savings(SUPPORT, DEFAULT_MODEL, steps=1) < 0


def test_bad_profiles_and_steps_are_named():
    with pytest.raises(ValueError, match="tool_count"):
        AgentProfile(3_500, -1, 350, 800, 600)
    with pytest.raises(ValueError, match="from 1 to 10"):
        step_tokens(SUPPORT, 11)
    with pytest.raises(ValueError, match="ttl"):
        run_cost(SUPPORT, DEFAULT_MODEL, ttl="10m")
