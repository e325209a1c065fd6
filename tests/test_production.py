"""agentkit.cases.production: the figures Foundations 11 states, computed through the kit."""

from __future__ import annotations

import math

import pytest

import agentkit
from agentkit.agent import StopReason
from agentkit.cases import production as p
from agentkit.cases import research_agent as ra
from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.pricing import SERVER_TOOL_PRICES, cost_of


@pytest.fixture(scope="module")
def client():
    return agentkit.client(live=False, scenarios=["l1_research", "f11_production"], quiet=True)


# -- quality ---------------------------------------------------------------------------------------------


def test_more_passages_find_more_but_cost_more_context():
    sweep = p.knob_sweep((1, 2, 4, 8, 12))
    assert list(sweep["recall"]) == sorted(sweep["recall"])  # never worse with more passages
    assert list(sweep["context_tokens"]) == sorted(sweep["context_tokens"])
    assert sweep.loc[8, "recall"] > sweep.loc[1, "recall"] + 0.1
    assert sweep.loc[12, "recall"] == sweep.loc[8, "recall"]  # past 8, only more tokens
    assert sweep.loc[8, "context_tokens"] > 5 * sweep.loc[1, "context_tokens"]


def test_recall_is_computed_from_the_labels():
    only = [("what do app store reviews say", frozenset({"app_store_reviews"}))]
    assert p.retrieval_recall(1, only).recall == 1.0
    unreachable = [("what do app store reviews say", frozenset({"roadmap"}))]
    assert p.retrieval_recall(1, unreachable).recall == 0.0
    with pytest.raises(ValueError, match="whole number"):
        p.retrieval_recall(0)


def test_each_llm_lever_adds_tokens_and_dollars():
    table = p.levers_cost([FAST_MODEL, DEFAULT_MODEL])
    tokens = table[f"tokens ({FAST_MODEL})"]
    assert list(tokens) == sorted(tokens) and tokens.iloc[-1] > 3 * tokens.iloc[0]
    dollars = table[f"$ per 1,000 calls ({DEFAULT_MODEL})"]
    assert dollars.iloc[0] == pytest.approx(
        cost_of(DEFAULT_MODEL, {"input_tokens": int(table[f"tokens ({DEFAULT_MODEL})"].iloc[0]),
                                "output_tokens": 60}) * 1000, abs=1e-4)
    assert p.model_price_ratio(FAST_MODEL, DEFAULT_MODEL) > 1


# -- cost --------------------------------------------------------------------------------------------------


def test_the_course_monthly_figure_is_the_arithmetic():
    assert p.monthly_cost(0.08) == pytest.approx({"per run": 0.08, "per day": 80.0, "per month": 2400.0})
    with pytest.raises(ValueError):
        p.monthly_cost(0.1, days=0)


def test_the_research_agent_cost_table_prices_every_source():
    table = p.research_run_costs()
    assert list(table["what"]) == ["web_search", "retrieve", "run_code", "final answer"]
    assert table.loc[1, "API $"] == SERVER_TOOL_PRICES["web_search"][0]
    assert table.loc[2, "infra $"] == pytest.approx(len(ra.COLLECTIONS) * p.ASSUMED_UNIT_COSTS.vector_query)
    seconds = ra.SANDBOX_START_SECONDS + 2 * ra.SECONDS_PER_STATEMENT  # two statements in the scripted code
    assert table.loc[3, "infra $"] == pytest.approx(seconds * p.ASSUMED_UNIT_COSTS.sandbox_second)
    assert (table["LLM $"] > 0).all()
    totals = table[["LLM $", "API $", "infra $"]].sum()
    assert totals.idxmax() == "API $"  # the paid search is the biggest bucket: the one to attack first
    assert table["total $"].sum() == pytest.approx(totals.sum())
    # The same run on the larger default model costs more in model tokens.
    bigger = p.research_run_costs(model=DEFAULT_MODEL)
    assert bigger["LLM $"].sum() > totals["LLM $"]


# -- observability -------------------------------------------------------------------------------------------


def test_the_router_logs_why_on_its_span(client):
    tools = ra.research_tools(concurrent=True)
    agent = agentkit.Agent(client, model=FAST_MODEL, tools=[p.router_tool(tools)], name="router_agent")
    with agentkit.capture(time_scale=ra.trace_time_scale(client)) as trace:
        agent.run("Tell me how our Q3 conversion compares with recent industry benchmarks.")
    reasons = {s.attributes["agentkit.decision.source"]: s.attributes[p.REASON_ATTRIBUTE]
               for s in trace.spans if s.name == "execute_tool search"}
    assert reasons == {"internal": "chose internal documents because the query said 'our'",
                       "web": "chose web search over internal documents because the query said 'recent'"}


def test_route_rules():
    assert p.route("latest pricing news")[0] == "web"
    assert p.route("what did release 7.4 change")[0] == "internal"


def test_the_judge_finds_unsupported_figures_and_missing_citations():
    source = "[product_analytics] Trial-to-paid conversion: Q3 13.4 percent."
    good = p.judge("It was 13.4 percent. Source: [product_analytics].", source)
    assert good == p.Judgement(1.0, False, ())
    bad = p.judge("It was 15.1 percent.", source)
    assert bad.hallucinated and bad.score == pytest.approx(1 / 3)
    assert bad.reasons == ("figure not in the sources: 15.1", "no citation")


def test_sampling_estimates_the_true_hallucination_rates():
    log = p.production_log()
    assert len(log.runs) == 14 * 400
    summary = p.quality_summary(log.runs, rate=0.1)
    for version in ("v1", "v2"):
        row = summary.loc[version]
        assert row["judged"] == pytest.approx(0.1 * row["runs"], abs=40)
        assert row["hallucination 95% low"] <= log.truth[f"hallucination_{version}"] <= row["hallucination 95% high"]
    assert summary.loc["v2", "hallucination"] < summary.loc["v1", "hallucination"]
    assert summary.loc["v2", "quality"] > summary.loc["v1", "quality"]
    daily = p.daily_quality(log.runs, rate=0.1)
    assert set(daily["day"]) == set(range(1, 15)) and set(daily["version"]) == {"v1", "v2"}
    # Judging everything gives the truth exactly: the judge and the generator agree on what a hallucination is.
    full = p.quality_summary(log.runs, rate=1.0)
    assert full.loc["v1", "hallucination"] == pytest.approx(log.truth["hallucination_v1"])
    with pytest.raises(ValueError, match="sampling rate"):
        p.daily_quality(log.runs, rate=0)


def test_wilson_interval():
    low, high = p.wilson_interval(10, 100)
    assert 0.05 < low < 0.1 < high < 0.18
    assert p.wilson_interval(0, 0) == (0.0, 1.0)


def test_behaviour_signals_tell_the_versions_apart():
    signals = p.behaviour_signals(p.session_log())
    assert signals.loc["v1", "rephrase-and-retry rate"] > 1.5 * signals.loc["v2", "rephrase-and-retry rate"]
    assert signals.loc["v1", "immediate revision rate"] > 1.5 * signals.loc["v2", "immediate revision rate"]
    assert signals.loc["v1", "minutes per session"] > signals.loc["v2", "minutes per session"]


def test_behaviour_signals_on_a_hand_made_session():
    import pandas as pd

    events = pd.DataFrame([
        (0, "v1", 0.0, "user", "summarise the Q3 conversion drop"),
        (0, "v1", 5.0, "agent", "(answer)"),
        (0, "v1", 20.0, "user", "give me a summary of the Q3 conversion drop"),  # a rephrase
        (0, "v1", 25.0, "agent", "(answer)"),
        (0, "v1", 30.0, "user", "make it shorter"),  # an immediate revision
        (0, "v1", 35.0, "agent", "(answer)"),
    ], columns=["session", "version", "t", "role", "text"])
    row = p.behaviour_signals(events).loc["v1"]
    assert row["questions"] == 1 and row["rephrase-and-retry rate"] == 1.0
    assert row["immediate revision rate"] == pytest.approx(1 / 3)
    assert row["user messages per session"] == 3


# -- security ------------------------------------------------------------------------------------------------


def test_the_injection_succeeds_without_defences_and_each_defence_holds(client):
    outcomes = {d: p.injection_trial(client, d) for d in ("none", "tool scoping", "tool output as data",
                                                           "output check")}
    assert outcomes["none"].record_left and outcomes["none"].emails_sent == 1
    for defence in ("tool scoping", "tool output as data", "output check"):
        assert not outcomes[defence].record_left, defence
        assert outcomes[defence].stop_reason == "final_answer"
        assert "full refund" in outcomes[defence].answer
    assert outcomes["output check"].refused == 1 and outcomes["output check"].emails_sent == 0
    with pytest.raises(ValueError, match="defence is one of"):
        p.injection_trial(client, "prayer")


def test_outbound_check_rules():
    assert p.outbound_check("billing@ourcompany.example", "Refund dana.whitfield@example.com") is None
    assert p.outbound_check("x@vendor.example", "thanks") is None  # a partner, nothing personal
    assert "personal data" in p.outbound_check("x@vendor.example", "call +1 415 555 0134")
    assert "not an allowed" in p.outbound_check("x@collector.example", "hello")
    assert "not an allowed" in p.outbound_check("a@ourcompany.example.evil.example", "hi")


def test_the_leak_scan_finds_new_personal_data_only():
    found = p.scan_for_leaks({"email": "Dana, dana.whitfield@example.com, +1 415 555 0134",
                              "span": '{"to": "[REDACTED:email]"}', "clean": "Full refund applies."})
    assert sorted(map(tuple, found.values.tolist())) == [("email", "email"), ("email", "phone")]


def test_budgets_break_the_crawler_loop(client):
    stops = {}
    for name, limits in {"steps": {"max_steps": 5}, "tokens": {"token_budget": 2000, "max_steps": 50},
                         "cost": {"cost_budget": 0.0002, "max_steps": 50}, "repeat": {"max_steps": 50}}.items():
        agent = agentkit.Agent(client, model=FAST_MODEL, tools=p.crawler_tools(), **limits)
        result = agent.run("Crawl every page of the vendor's changelog and list the fixes.")
        stops[name] = (result.stop_reason, len(result.steps))
    assert stops["steps"] == (StopReason.MAX_STEPS, 5)
    assert stops["tokens"][0] == StopReason.TOKEN_BUDGET
    assert stops["cost"][0] == StopReason.COST_BUDGET
    assert stops["repeat"][0] == StopReason.REPEATED_TOOL_CALL and stops["repeat"][1] > 10


# -- exercises -----------------------------------------------------------------------------------------------


def test_the_lessons_exercises_now_live_in_agentkit_exercises(progress_db):
    # Kept for notebooks written against production.exercises(); the checks are tested in tests/test_exercises_f11.py.
    assert [t.id for t in p.exercises().tasks] == ["monthly_cost", "biggest_bucket", "outbound_rule", "budget_stop"]
    assert p.check("biggest_bucket", ...).status == "not_attempted"
    with pytest.raises(ValueError, match="no exercise"):
        p.check("nope", 1)


def test_support_tools_scope_mark_and_check():
    box = p.Outbox()
    names = [t.name for t in p.support_tools(box)]
    assert names == ["fetch_page", "lookup_customer", "send_email"]
    assert [t.name for t in p.support_tools(box, scoped=True)] == ["fetch_page", "lookup_customer"]
    marked = {t.name: t for t in p.support_tools(box, data_marked=True, output_check=True)}
    assert marked["fetch_page"].invoke({"url": "https://vendor.example/refunds"}).content.startswith("<untrusted_data")
    out = marked["send_email"].invoke({"to": "records@collector.example", "subject": "s", "body": "hi"})
    assert out.is_error and "output check" in str(out.content) and box.sent == [] and len(box.refused) == 1


def test_unit_cost_notes_name_their_source():
    assert len(p.ASSUMED_UNIT_COSTS.notes) == 3 and "agentkit.pricing" in p.ASSUMED_UNIT_COSTS.notes[0]
    assert not math.isnan(p.ASSUMED_UNIT_COSTS.vector_query)


def test_the_counts_the_lesson_text_states():
    assert len(p.LABELLED_QUESTIONS) == 8  # "eight questions whose relevant collections are labelled"
    from agentkit.exercises import f11

    assert len(f11._EMAIL_CASES) == 7  # "the lesson's seven e-mails"
    daily = p.daily_quality(p.production_log(days=14, runs_per_day=400).runs, rate=0.10)
    assert 18 <= daily["judged"].mean() <= 22  # "about 20 judged runs per version per day"
    table = p.research_run_costs()
    assert len(table) == 4  # "four steps on the fast model"
    assert table["API $"].sum() > table["LLM $"].sum()  # "the single paid web search costs more than all four model calls"
    assert len(p.session_log(sessions=300)["session"].unique()) == 300
