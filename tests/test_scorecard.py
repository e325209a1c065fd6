"""Tests for agentkit.scorecard, agentkit.routing, agentkit.economics and agentkit.batching, on Lesson 4's
support-desk case (agentkit/cases/support_desk.py)."""

from __future__ import annotations

import pytest

import agentkit
from agentkit.batching import run_batch
from agentkit.cases import support_desk as sd
from agentkit.economics import GUIDE_RESEARCH_BUDGET, Budget, prefix_cost_per_request, research_agent_budget
from agentkit.models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL
from agentkit.pricing import BATCH_DISCOUNT, CACHE_WRITE_1H_MULTIPLIER, cost_of, price_of
from agentkit.routing import Router, keyword_classifier
from agentkit.scorecard import gate


@pytest.fixture(scope="module")
def cards():
    configs = {
        "default": sd.SupportConfig(),
        "cached": sd.SupportConfig(cache_prompt=True),
        "fast": sd.SupportConfig(FAST_MODEL),
        "largest": sd.SupportConfig(LARGEST_MODEL),
        "router": sd.SupportConfig(router=sd.ROUTER, cache_prompt=True),
    }
    return {name: sd.evaluate_config(c) for name, c in configs.items()}


def expected_quality(model):
    rank = sd.TIERS.index
    return sum(rank(model) >= rank(t.needs) for t in sd.TASKS) / len(sd.TASKS)


def test_task_set_answers_are_worked_out_from_the_orders():
    t = next(t for t in sd.TASKS if t.id == "refund_15")  # one opened monitor arm of two: 59 x 0.9
    assert t.expected == "$53.10"
    whole = next(t for t in sd.TASKS if t.id == "refund_16")  # 2 of 3 trays, unopened, no shipping back
    assert whole.expected == "$36.00"
    assert sd.partial_refund("A1011", "webcam light", 2, False) == round(2 * 31 + 4.5, 2)  # whole order: shipping too
    assert sum(t.difficulty == sd.HARD for t in sd.TASKS) == 10 and len(sd.TASKS) == 24


def test_quality_follows_each_tasks_weakest_capable_model(cards):
    assert cards["fast"].quality == pytest.approx(expected_quality(FAST_MODEL))
    assert cards["default"].quality == pytest.approx(expected_quality(DEFAULT_MODEL))
    assert cards["largest"].quality == 1.0
    assert cards["fast"].quality_of(sd.EASY) == 1.0
    assert cards["fast"].quality < 0.95 <= cards["default"].quality


def test_costs_come_from_the_ledger_and_prices(cards):
    card = cards["default"]
    assert card.cost_per_1000 == pytest.approx(1000 * sum(r.cost for r in card.runs) / len(card.runs))
    attempt = card.runs[0].attempts[0]
    assert attempt.model == DEFAULT_MODEL and attempt.cost > 0
    assert cards["largest"].cost_per_run > cards["default"].cost_per_run > cards["fast"].cost_per_run
    assert cards["largest"].p50 > cards["default"].p50 > cards["fast"].p50  # slower models, simulated seconds


def test_prompt_caching_with_a_handbook_breakpoint_cuts_cost(cards):
    assert cards["cached"].quality == cards["default"].quality
    assert cards["cached"].cost_per_run < 0.3 * cards["default"].cost_per_run
    cached = sd.evaluate_config(sd.SupportConfig(cache_prompt=True), tasks=sd.TASKS[:4])
    # A new conversation's first call reads the handbook only with the system breakpoint:
    first_calls = [r.attempts[0] for r in cached.runs[1:]]
    assert all(a.cache_read_tokens > 5000 for a in first_calls)


def test_router_sends_refunds_to_the_strong_model_and_holds_quality(cards):
    assert sd.ROUTER.model_for("How much is my refund for order A1004?") == DEFAULT_MODEL
    assert sd.ROUTER.model_for("Where is my order A1001?") == FAST_MODEL
    router = cards["router"]
    assert router.quality == cards["default"].quality
    assert router.cost_per_run < cards["cached"].cost_per_run
    assert router.p50 < cards["cached"].p50


def test_gate_blocks_a_cheaper_change_that_breaks_quality(cards):
    blocked = gate(cards["default"], cards["fast"])
    assert not blocked.passed
    assert blocked.cost_change < -0.3  # it does save well over 30%
    assert set(blocked.regressions) == {t.id for t in sd.TASKS if t.needs == DEFAULT_MODEL}
    assert "quality fell" in str(blocked)
    passed = gate(cards["default"], cards["router"], min_quality=0.95)
    assert passed.passed and passed.cost_change < 0
    assert str(passed).startswith("PASS")


def test_router_and_classifier_errors_are_clear():
    with pytest.raises(ValueError, match="at least one word"):
        keyword_classifier([])
    with pytest.raises(ValueError, match="at least one tier"):
        Router({}, lambda p: "x")
    r = Router({"easy": FAST_MODEL}, lambda p: "medium")
    with pytest.raises(ValueError, match="not a tier"):
        r.model_for("hi")


def test_guide_budget_and_todays_research_agent():
    assert (GUIDE_RESEARCH_BUDGET.per_day, GUIDE_RESEARCH_BUDGET.per_month) == (80.0, 2400.0)
    today = research_agent_budget(DEFAULT_MODEL)
    assert today.per_day == pytest.approx(1000 * today.cost_per_run)
    assert today.per_month == pytest.approx(30 * today.per_day)
    assert 0 < today.cost_per_run < 0.08  # the same kind of run costs less at today's prices
    assert today.scaled(BATCH_DISCOUNT, "batch").per_month == pytest.approx(today.per_month / 2)
    with pytest.raises(ValueError, match="runs_per_day"):
        Budget(0.1, -1)


def test_one_hour_cache_pays_only_between_five_minutes_and_an_hour():
    p = price_of(DEFAULT_MODEL).input_per_token * 5000
    read = price_of(DEFAULT_MODEL).cache_read_multiplier  # per model: 0.1x, 0.05x or 0.025x
    assert prefix_cost_per_request(DEFAULT_MODEL, 5000, 60, "5m") == pytest.approx(p * read)
    assert prefix_cost_per_request(DEFAULT_MODEL, 5000, 600, "1h") == pytest.approx(p * read)
    assert prefix_cost_per_request(DEFAULT_MODEL, 5000, 600, "5m") > prefix_cost_per_request(DEFAULT_MODEL, 5000, 600, None)
    assert prefix_cost_per_request(DEFAULT_MODEL, 5000, 7200, "1h") == pytest.approx(p * CACHE_WRITE_1H_MULTIPLIER)


def test_run_batch_costs_half_of_the_same_requests_live():
    client = agentkit.client(quiet=True, scenarios=sd.scenarios())
    requests = [{"custom_id": f"t{i}", "params": {"model": FAST_MODEL, "max_tokens": 50,
                                                   "messages": [{"role": "user", "content": f"Tag ticket {i}"}]}}
                for i in range(3)]
    outcome = run_batch(client, requests, poll_seconds=30)
    assert set(outcome.messages) == {"t0", "t1", "t2"} and not outcome.errors
    live = sum(cost_of(m.model, m.usage, batch=False) for m in outcome.messages.values())
    assert outcome.cost == pytest.approx(live * BATCH_DISCOUNT)
    with pytest.raises(ValueError, match="at least one request"):
        run_batch(client, [])


def test_a_scenario_can_match_the_requested_model():
    from agentkit.sim.scenarios import Scenario, ScenarioError

    weak = Scenario.from_dict({"name": "weak", "match": {"user": "^sum$", "model": FAST_MODEL}, "turns": ["wrong"]})
    strong = Scenario.from_dict({"name": "strong", "match": "^sum$", "turns": ["right"]})
    client = agentkit.client(quiet=True, scenarios=[weak, strong])
    ask = lambda m: client.messages.create(model=m, max_tokens=20, messages=[{"role": "user", "content": "sum"}])
    assert ask(FAST_MODEL).content[0].text == "wrong"
    assert ask(DEFAULT_MODEL).content[0].text == "right"
    with pytest.raises(ScenarioError, match="not a valid regex"):
        Scenario.from_dict({"name": "x", "match": {"model": "("}, "turns": ["t"]})
