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
    booking = AgentProfile(2_800, 9, 400, 600, 500, steps=12)
    growing = AgentProfile(2_800, 9, 400, 600, 500, steps=12, tool_output_tokens=600, tool_output_increase=350)
    assert booking != l2.SCENARIO and growing != l2.GROWING  # the lesson's own agent, not the lab's
    assert booking.exchange_tokens == 1_100  # "adds the same 1,100 tokens every step"
    assert len(compression_due(marginal_growth(booking))) <= 1  # the percentage falls below the trigger at once
    assert len(compression_due(marginal_growth(growing))) > 3  # growing outputs keep it over the trigger
    # The moving breakpoint beats the fixed one, "because history is the biggest bucket".
    plans = {plan: run_cost(booking, DEFAULT_MODEL, cache=plan).dollars for plan in (None, "prefix", "moving")}
    assert plans["moving"] < plans["prefix"] < plans[None]
    totals = bucket_totals(booking)
    assert max(totals, key=totals.get) == "history"


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
    assert (COMPRESSION_TRIGGER, COMPOUNDING_ALERT) == (0.15, 10.0)
    assert LOOKBACK == 20  # the API looks back up to 20 blocks for an earlier cache entry
    assert l2.multiplier(DEFAULT_MODEL, "cache_creation_input_tokens") == pytest.approx(1.25)
    one_hour = {"cache_creation": {"ephemeral_1h_input_tokens": 10**6}}
    assert agentkit.cost_of(DEFAULT_MODEL, one_hour) / agentkit.cost_of(DEFAULT_MODEL, {"input_tokens": 10**6}) == 2
    assert models.tokenizer_factor(DEFAULT_MODEL) == pytest.approx(1.3)  # "about 30% more tokens"
    reads = {price_of(m).cache_read_multiplier for m in models.CURRENT_MODELS}
    assert len(reads) > 1  # the read price differs by model


# -- no lab answer printed where a learner reads before solving ------------------------------------------------


def _lab_answers() -> dict[str, list[str]]:
    """Each Lab 2 task's answer, computed, in the spellings a notebook would print it."""
    from agentkit.costs import caching_savings, run_steps, step_tokens

    p = l2.SCENARIO
    step10 = step_tokens(p, p.steps).buckets()
    run_input = sum(s.input for s in run_steps(p))
    savings = caching_savings(p, l2.MODEL, cache="moving")
    due = compression_due(marginal_growth(l2.GROWING))
    return {
        "step10_input": [f"{step10['history']:,}", f"{sum(step10.values()):,}", str(sum(step10.values()))],
        "run_input": [f"{run_input:,}", str(run_input)],
        "cache_savings": [f"{savings:.4f}", f"{savings:.3f}", f"{run_cost(p, l2.MODEL, cache='moving').dollars:.4f}"],
        "growth_steps": [str(due), ", ".join(map(str, due))],
    }


def _shows(text: str, answer: str) -> bool:
    """`answer` appears as itself: not as the start of a longer number or list ("2, 3, ..., 8" inside "..., 8, 9")."""
    import re

    return re.search(r"(?<![\d.,] )(?<![\d.])" + re.escape(answer) + r"(?![\d]|, \d)", text) is not None


def _read_before_checks(path) -> str:
    """Everything a learner reads in a notebook: markdown, code and stored outputs, except the check cells' own
    verdicts (which say "not attempted" in a learner copy)."""
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        parts.append("".join(cell["source"]))
        if "lab.check(" in "".join(cell["source"]):
            continue
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("notebook", ["notebooks/m1_l2_token_cost.ipynb", "labs/l2_token_cost.ipynb"])
def test_no_lab_answer_is_printed_where_the_learner_reads(notebook):
    from pathlib import Path

    text = _read_before_checks(Path(__file__).resolve().parent.parent / notebook)
    for task, spellings in _lab_answers().items():
        for answer in spellings:
            assert not _shows(text, answer), f"{notebook} shows {task}'s answer {answer!r}"


def test_lab_hints_stop_short_of_the_reference_solution():
    import json
    from pathlib import Path

    from agentkit.course.lab import reference_solutions

    solutions = reference_solutions(Path(__file__).resolve().parent.parent / "labs" / "src" / "l2_token_cost.ipynb")
    for task in l2.TASKS:
        code_lines = [line.strip() for line in solutions[task.id].splitlines() if len(line.strip()) > 20]
        for hint in task.hints:
            assert not any(line in hint for line in code_lines), (task.id, hint)
            assert "marginal_growth(GROWING)" not in hint and "range(1, 11)" not in hint
