"""Tests for agentkit.costs: the four buckets, compounding history, and caching savings."""

from __future__ import annotations

import pytest

import agentkit
from agentkit.tokens import count_tokens

import dataclasses

from agentkit.costs import (
    BUCKETS,
    AgentProfile,
    compression_due,
    cost_by_step,
    measure_run,
    plot_buckets,
    request_buckets,
    bucket_totals,
    caching_savings,
    largest_bucket,
    marginal_growth,
    run_cost,
    run_steps,
    step_tokens,
)
from agentkit.models import DEFAULT_MODEL, PREVIOUS_DEFAULT_MODEL
from agentkit.pricing import cost_of, price_of


def test_course_worked_number_system_prompt_over_15_steps():
    profile = AgentProfile(system_prompt_tokens=2_000, tool_count=0, tokens_per_tool=0,
                           user_input_tokens=0, output_tokens=0, steps=15)
    assert bucket_totals(profile)["system"] == 30_000


def test_course_worked_number_tool_schemas_cost():
    profile = AgentProfile(system_prompt_tokens=0, tool_count=15, tokens_per_tool=300,
                           user_input_tokens=0, output_tokens=0, steps=10)
    assert bucket_totals(profile)["tools"] == 45_000
    assert run_cost(profile, DEFAULT_MODEL).dollars == pytest.approx(45_000 * price_of(DEFAULT_MODEL).input_per_token)
    # The course's $0.135 is at $3 per million: the previous default model's price.
    assert price_of(PREVIOUS_DEFAULT_MODEL).input_per_mtok == 3
    assert run_cost(profile, PREVIOUS_DEFAULT_MODEL).dollars == pytest.approx(0.135)


SUPPORT = AgentProfile(system_prompt_tokens=3_500, tool_count=12, tokens_per_tool=350,
                       user_input_tokens=800, output_tokens=600, steps=10)


def test_history_grows_by_one_exchange_per_step():
    steps = run_steps(SUPPORT)
    assert [s.history for s in steps[:3]] == [0, 1_400, 2_800]
    s10 = step_tokens(SUPPORT, 10)
    assert s10.buckets() == {"tools": 4_200, "system": 3_500, "history": 12_600, "tool_outputs": 0, "user_input": 800}
    assert s10.input == 21_100


def test_run_totals_and_the_largest_bucket():
    totals = bucket_totals(SUPPORT)
    assert totals == {"tools": 42_000, "system": 35_000, "history": 63_000, "tool_outputs": 0, "user_input": 8_000}
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
    cached = run_cost(SUPPORT, DEFAULT_MODEL, cache="prefix")
    assert cached.cache_write_tokens == 7_700
    assert cached.cache_read_tokens == 9 * 7_700
    assert cached.total_input_tokens == plain.input_tokens == 148_000
    base = price_of(DEFAULT_MODEL).input_per_token
    read_x = _read_multiplier(DEFAULT_MODEL)
    # Uncached, the prefix is paid 10 times at 1x; cached, once at 1.25x and 9 times at the read price.
    expected = 7_700 * base * (10 - 1.25 - 9 * read_x)
    assert caching_savings(SUPPORT, DEFAULT_MODEL, cache="prefix") == pytest.approx(expected)
    assert caching_savings(SUPPORT, DEFAULT_MODEL, cache="prefix", ttl="1h") == pytest.approx(
        7_700 * base * (10 - 2 - 9 * read_x))


def _read_multiplier(model):
    # Independent of agentkit.costs: the price of a million cache reads over a million plain input tokens.
    return cost_of(model, {"cache_read_input_tokens": 10**6}) / cost_of(model, {"input_tokens": 10**6})


def test_the_moving_breakpoint_reads_the_previous_request_and_writes_the_rest():
    cached = run_cost(SUPPORT, DEFAULT_MODEL, cache="moving")
    inputs = [s.input for s in run_steps(SUPPORT)]
    assert cached.cache_write_tokens == inputs[-1] == 21_100  # every token written once
    assert cached.cache_read_tokens == sum(inputs[:-1]) == 126_900
    assert cached.input_tokens == 0
    base = price_of(DEFAULT_MODEL).input_per_token
    expected = (148_000 - 1.25 * 21_100 - _read_multiplier(DEFAULT_MODEL) * 126_900) * base
    assert caching_savings(SUPPORT, DEFAULT_MODEL, cache="moving") == pytest.approx(expected)
    # It beats caching the prefix alone, because history is the biggest bucket.
    assert caching_savings(SUPPORT, DEFAULT_MODEL) > caching_savings(SUPPORT, DEFAULT_MODEL, cache="prefix")


def test_a_prompt_under_the_minimum_cacheable_length_is_not_cached():
    small = AgentProfile(300, 1, 100, 50, 50, steps=3)
    plan = run_cost(small, DEFAULT_MODEL, cache="prefix", min_cacheable=1_024)
    assert plan.cache_write_tokens == plan.cache_read_tokens == 0
    assert plan.dollars == pytest.approx(run_cost(small, DEFAULT_MODEL).dollars)


def test_tool_outputs_are_their_own_bucket_and_can_grow():
    growing = AgentProfile(1_000, 2, 250, 100, 200, steps=4, tool_output_tokens=400, tool_output_increase=300)
    s4 = step_tokens(growing, 4)
    assert s4.tool_outputs == 400 + 700 + 1_000  # steps 1-3's outputs, each 300 longer than the last
    assert s4.history == 3 * 300
    assert s4.input == 500 + 1_000 + 900 + 2_100 + 100


def test_constant_additions_make_the_percentage_fall_and_growing_ones_keep_it_up():
    assert compression_due(marginal_growth(SUPPORT)) == [2]  # 16.5%, then under 15%
    growing = dataclasses.replace(SUPPORT, tool_output_tokens=400, tool_output_increase=300)
    growth = marginal_growth(growing)
    assert compression_due(growth) == [2, 3, 4, 5, 6, 7, 8]
    assert compression_due(growth, 0.20) == [2, 3]
    with pytest.raises(ValueError, match="fraction"):
        compression_due(growth, 15)


def test_caching_a_single_call_costs_more():
    assert caching_savings(SUPPORT, DEFAULT_MODEL, steps=1) < 0
    assert caching_savings(SUPPORT, DEFAULT_MODEL, cache="prefix", steps=1) < 0


def test_bad_profiles_and_steps_are_named():
    with pytest.raises(ValueError, match="tool_count"):
        AgentProfile(3_500, -1, 350, 800, 600)
    with pytest.raises(ValueError, match="from 1 to 10"):
        step_tokens(SUPPORT, 11)
    with pytest.raises(ValueError, match="ttl"):
        run_cost(SUPPORT, DEFAULT_MODEL, ttl="10m")
    with pytest.raises(ValueError, match="moving"):
        run_cost(SUPPORT, DEFAULT_MODEL, cache="history")
    with pytest.raises(TypeError, match="agent run"):
        measure_run({"steps": []})
    with pytest.raises(ValueError, match="messages"):
        request_buckets({"system": "hi"})


# -- measuring real runs ----------------------------------------------------------------------------

def test_request_buckets_sorts_every_part_of_a_request():
    request = {
        "system": "You are terse.",
        "tools": [{"name": "lookup", "description": "Look up an order.", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "Where is order 42?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
                                              {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"id": 42}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "Shipped on Monday."},
                                         {"type": "text", "text": "And order 43?"}]},
        ],
    }
    got = request_buckets(request)
    assert got["system"] == count_tokens("You are terse.")
    assert got["tools"] == count_tokens(request["tools"][0])
    assert got["tool_outputs"] == count_tokens("Shipped on Monday.")
    assert got["user_input"] == count_tokens("And order 43?")  # only the newest user text
    # The first question is history by now, with the model's reply and its tool call.
    assert got["history"] == (count_tokens("Where is order 42?") + count_tokens("Checking.")
                              + count_tokens("lookup") + count_tokens({"id": 42}))


@pytest.fixture(scope="module")
def case_runs():
    from agentkit.cases.coding_agent import run_case

    client = agentkit.client(quiet=True, scenarios=["coding_agent"])
    return {"plain": run_case(client), "cached": run_case(client, cache=True)}


def test_measured_buckets_add_up_to_the_api_count_and_the_estimate_is_close(case_runs):
    costs = case_runs["plain"].costs
    for step, api in zip(costs.steps, case_runs["plain"].result.steps):
        usage = api.response.usage
        assert sum(step.tokens.values()) == step.input_tokens == (
            usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens)
        assert abs(step.estimate_error) < 0.05  # tiktoken estimate vs the API's count, per step
        assert step.cost == pytest.approx(cost_of(costs.model, usage))
    assert abs(costs.estimate_error) < 0.02
    assert costs.input_tokens == sum(s.response.usage.input_tokens for s in case_runs["plain"].result.steps)


def test_per_task_figures_growth_and_the_two_alerts(case_runs):
    costs = case_runs["plain"].costs
    assert costs.cost == pytest.approx(case_runs["plain"].result.cost)  # the agent's own total agrees
    assert costs.cost_per_step == pytest.approx(costs.cost / len(costs.steps))
    inputs = [s.input_tokens for s in costs.steps]
    assert costs.growth() == pytest.approx([(b - a) / a for a, b in zip(inputs, inputs[1:])])
    assert costs.compression_due() == [i + 2 for i, g in enumerate(costs.growth()) if g > 0.15]
    assert costs.compression_due()  # the case's long tool outputs trip the trigger
    assert costs.single_call_tokens == inputs[-1] + costs.output_tokens
    assert costs.compounding_ratio == pytest.approx(costs.total_tokens / costs.single_call_tokens)
    assert costs.compounding_alert(factor=costs.compounding_ratio - 0.1)
    assert not costs.compounding_alert(factor=costs.compounding_ratio + 0.1)


def test_the_table_is_one_sortable_row_per_step_and_the_chart_stacks_the_buckets(case_runs):
    import matplotlib

    matplotlib.use("Agg")
    costs = case_runs["cached"].costs
    table = costs.table()
    assert list(table.index) == [s.step for s in costs.steps]
    assert table[list(BUCKETS)].sum(axis=1).tolist() == table["input"].tolist()
    assert table.sort_values("cost_usd").index[-1] == max(costs.steps, key=lambda s: s.cost).step
    assert table["cache_read"].sum() == costs.cache_read_tokens > 0
    fig = costs.chart()
    bars = [p for p in fig.axes[0].patches]
    nonzero = sum(1 for name in BUCKETS if any(s.tokens[name] for s in costs.steps))
    assert len(bars) == nonzero * len(costs.steps)
    with pytest.raises(ValueError, match="steps"):
        plot_buckets([])


def test_cost_by_step_from_spans_matches_the_run(case_runs):
    from agentkit.cases.coding_agent import run_case

    agentkit.setup_tracing()
    client = agentkit.client(quiet=True, scenarios=["coding_agent"])
    with agentkit.capture() as trace:
        run = run_case(client, cache=True)
    from_spans = cost_by_step(trace)
    assert sorted(from_spans) == [s.step for s in run.costs.steps]
    for s in run.costs.steps:
        assert from_spans[s.step] == pytest.approx(s.cost)
