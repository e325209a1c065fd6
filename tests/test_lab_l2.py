"""Tests for Lesson 2's figures and "your turn" exercises, and an independent check of the kit's prices.

The lesson (notebooks/m1_l2_token_cost.ipynb) states its numbers as outputs of kit code; these tests
compute the same numbers through the kit and compare them with the course's stated figures. The price
cross-check recomputes costs by hand from the dated price table, independently of `cost_of`.
"""

from __future__ import annotations

import pytest

import agentkit
from agentkit.cases.coding_agent import run_case
from agentkit.costs import AgentProfile, bucket_totals, compression_due, marginal_growth, measure_run, run_cost
from agentkit.course.lab import TODO
from agentkit.labs import l2_token_cost as l2
from agentkit.models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL, PREVIOUS_DEFAULT_MODEL
from agentkit.pricing import CACHE_WRITE_1H_MULTIPLIER, CACHE_WRITE_5M_MULTIPLIER, price_of, price_table


# -- the lesson's worked numbers ---------------------------------------------------------------------------------


def test_worked_number_system_prompt_over_15_steps():
    profile = AgentProfile(2_000, 0, 0, 0, 0, steps=15)
    assert bucket_totals(profile)["system"] == 30_000


def test_worked_number_tool_schemas_and_their_mid_2024_price():
    profile = AgentProfile(0, 15, 300, 0, 0, steps=10)
    assert bucket_totals(profile)["tools"] == 45_000
    assert price_of(PREVIOUS_DEFAULT_MODEL).input_per_mtok == 3  # the course's mid-2024 $3 per million
    assert run_cost(profile, PREVIOUS_DEFAULT_MODEL).dollars == pytest.approx(0.135)


def test_the_growth_examples_the_lesson_shows():
    support = AgentProfile(3_500, 12, 350, 800, 600, steps=10)
    growing = AgentProfile(3_500, 12, 350, 800, 600, steps=10, tool_output_tokens=400, tool_output_increase=300)
    assert support == l2.SCENARIO and growing == l2.GROWING
    assert compression_due(marginal_growth(support)) == [2]
    assert compression_due(marginal_growth(growing)) == [2, 3, 4, 5, 6, 7, 8]
    # The moving breakpoint beats the fixed one on the support agent.
    plans = {plan: run_cost(support, DEFAULT_MODEL, cache=plan).dollars for plan in (None, "prefix", "moving")}
    assert plans["moving"] < plans["prefix"] < plans[None]


@pytest.fixture(scope="module")
def original():
    return run_case(agentkit.client(quiet=True, scenarios=["coding_agent"]))


def test_the_case_study_figures_the_lesson_states(original):
    c = original.costs
    assert c.total_tokens > 400_000 and c.output_tokens < 50_000
    assert c.output_tokens / c.total_tokens < 0.05  # "under 5% of the tokens"
    assert 7 <= c.compounding_ratio < 8 and not c.compounding_alert()  # "between 7 and 8 times", below 10x
    assert abs(c.estimate_error) < 0.02  # "within a percent or two"
    assert all(abs(s.estimate_error) < 0.03 for s in c.steps)
    assert c.compression_due() and c.compression_due()[0] <= 4  # fires when the first long outputs land


# -- the "your turn" exercises -----------------------------------------------------------------------------------


def due_steps(inputs, threshold=0.15):
    return [n for n in range(2, len(inputs) + 1) if (inputs[n - 1] - inputs[n - 2]) / inputs[n - 2] > threshold]


def step_price(usage):
    row = price_of(DEFAULT_MODEL)
    return (usage["input_tokens"] * row.input_per_mtok
            + usage.get("cache_creation_input_tokens", 0) * row.input_per_mtok * 1.25
            + usage.get("cache_read_input_tokens", 0) * row.cache_read_per_mtok
            + usage["output_tokens"] * row.output_per_mtok) / 1_000_000


def _stub(*args):
    answer = ...
    return answer


def test_reference_solutions_pass_and_are_recorded(progress_db):
    from agentkit.course.progress import lab_checks

    assert l2.EXERCISES.check("due_steps", due_steps).passed
    assert l2.EXERCISES.check("step_price", step_price).passed
    rows = lab_checks("m1_l2_lesson")
    assert list(rows["task_id"]) == ["due_steps", "step_price"] and all(rows["passed"])
    assert set(rows["lesson"]) == {"M1 L2 Token Cost Anatomy"}  # the quiz's lesson: one row in the progress table


@pytest.mark.parametrize("task", ["due_steps", "step_price"])
def test_unwritten_exercises_are_not_attempted(task):
    assert l2.EXERCISES.task(task).check(_stub).status == "not_attempted"
    assert l2.EXERCISES.task(task).check(TODO).status == "not_attempted"


@pytest.mark.parametrize(
    "fn, says",
    [
        (lambda inputs, t=0.15: [n - 2 for n in due_steps(inputs, t)], "list positions"),
        (lambda inputs, t=0.15: [n + 1 for n in due_steps(inputs, t)], "off by one"),
        (lambda inputs, t=0.15: due_steps(inputs, 0.15), "over 20%"),
        (lambda inputs, t=0.15: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_wrong_trigger_functions_are_explained(fn, says):
    result = l2.EXERCISES.task("due_steps").check(fn)
    assert not result.passed and says in result.message, result.message


@pytest.mark.parametrize(
    "fn, says",
    [
        (lambda u: (u["input_tokens"] + u.get("cache_creation_input_tokens", 0) + u.get("cache_read_input_tokens", 0))
         * price_of(DEFAULT_MODEL).input_per_token + u["output_tokens"] * price_of(DEFAULT_MODEL).output_per_token,
         "like plain input"),
        (lambda u: step_price(u) * 1_000_000, "per million"),
        (lambda u: "cheap", "as a number"),
    ],
)
def test_wrong_prices_are_explained(fn, says):
    result = l2.EXERCISES.task("step_price").check(fn)
    assert not result.passed and says in result.message, result.message


# -- an independent cross-check of the prices, on real usage ------------------------------------------------------


def _by_hand(model, usage):
    """Dollars from the price table's own columns, written out without agentkit.pricing.cost_of."""
    row = {r["model"]: r for r in price_table()}[model]
    writes = usage.cache_creation_input_tokens or 0
    reads = usage.cache_read_input_tokens or 0
    split = usage.cache_creation
    w1h = (split.ephemeral_1h_input_tokens or 0) if split is not None else 0
    prompt = usage.input_tokens + writes + reads
    band = price_of(model).band
    if band is not None and prompt > band.threshold_tokens:
        inp, out, rd = band.input_per_mtok, band.output_per_mtok, band.cache_read_per_mtok
    else:
        inp, out, rd = row["input $/MTok"], row["output $/MTok"], row["cache read $/MTok"]
    return (usage.input_tokens * inp + (writes - w1h) * inp * CACHE_WRITE_5M_MULTIPLIER
            + w1h * inp * CACHE_WRITE_1H_MULTIPLIER + reads * rd + usage.output_tokens * out) / 1_000_000


@pytest.mark.parametrize("model", [DEFAULT_MODEL, LARGEST_MODEL, FAST_MODEL])
def test_measured_step_costs_agree_with_a_hand_calculation(model):
    client = agentkit.client(quiet=True, scenarios=["coding_agent"])
    run = run_case(client, cache=True, model=model)
    assert run.steps == 20
    costs = measure_run(run.result)
    for step, measured in zip(run.result.steps, costs.steps):
        assert measured.cost == pytest.approx(_by_hand(model, step.response.usage), rel=1e-9)
    assert any(s.cache_read_tokens for s in costs.steps) and any(s.cache_write_tokens for s in costs.steps)


def test_a_haiku_step_above_the_band_is_priced_at_the_higher_rate_on_every_token():
    band = price_of(FAST_MODEL).band
    assert band is not None and band.threshold_tokens == 100_000
    client = agentkit.client(quiet=True)
    words = "ledger " * (band.threshold_tokens + 5_000)  # comfortably past the threshold on any tokenizer
    system = [{"type": "text", "text": words, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    usages = []
    for _ in range(2):  # a 1-hour cache write, then a read
        reply = client.messages.create(model=FAST_MODEL, max_tokens=50, system=system,
                                       messages=[{"role": "user", "content": "Summarise the ledger."}])
        usages.append(reply.usage)
    write, read = usages
    assert write.cache_creation.ephemeral_1h_input_tokens > band.threshold_tokens
    assert read.cache_read_input_tokens > band.threshold_tokens
    for usage in usages:
        got = agentkit.cost_of(FAST_MODEL, usage)
        assert got == pytest.approx(_by_hand(FAST_MODEL, usage), rel=1e-9)
        below_rate = _by_hand_below_band(usage)
        assert got > below_rate  # the higher band applies to the whole request


def _by_hand_below_band(usage):
    row = price_of(FAST_MODEL)
    w1h = usage.cache_creation.ephemeral_1h_input_tokens or 0
    return (usage.input_tokens * row.input_per_mtok + w1h * row.input_per_mtok * CACHE_WRITE_1H_MULTIPLIER
            + (usage.cache_read_input_tokens or 0) * row.cache_read_per_mtok
            + usage.output_tokens * row.output_per_mtok) / 1_000_000


def test_one_more_tool_output_past_the_band_multiplies_the_step_price():
    threshold = price_of(FAST_MODEL).band.threshold_tokens
    below = {"input_tokens": threshold - 1_000, "output_tokens": 1_000}
    above = {"input_tokens": threshold + 1_000, "output_tokens": 1_000}
    ratio = agentkit.cost_of(FAST_MODEL, above) / agentkit.cost_of(FAST_MODEL, below)
    assert ratio > 1.5  # 2% more prompt, a step priced well over 1.5x


def test_the_facts_the_lesson_states_in_words():
    from agentkit import models
    from agentkit.cases.coding_agent import CodeRepo, coding_tools
    from agentkit.costs import COMPOUNDING_ALERT, COMPRESSION_TRIGGER
    from agentkit.sim.usage import LOOKBACK

    assert len(coding_tools(CodeRepo())) == 8  # "eight tools"
    assert l2.SCENARIO.exchange_tokens == 1_400  # the support agent "adds the same 1,400 tokens every step"
    assert (COMPRESSION_TRIGGER, COMPOUNDING_ALERT) == (0.15, 10.0)
    assert LOOKBACK == 20  # the API looks back up to 20 blocks for an earlier cache entry
    assert l2.multiplier(DEFAULT_MODEL, "cache_creation_input_tokens") == pytest.approx(1.25)
    one_hour = {"cache_creation": {"ephemeral_1h_input_tokens": 10**6}}
    assert agentkit.cost_of(DEFAULT_MODEL, one_hour) / agentkit.cost_of(DEFAULT_MODEL, {"input_tokens": 10**6}) == 2
    assert models.tokenizer_factor(DEFAULT_MODEL) == pytest.approx(1.3)  # "about 30% more tokens"
    reads = {price_of(m).cache_read_multiplier for m in models.CURRENT_MODELS}
    assert len(reads) > 1  # the read price differs by model
