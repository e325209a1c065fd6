"""agentkit.patterns.multi_agent: each communication pattern's trace has the shape its name says."""

from __future__ import annotations

import pytest

import agentkit
from agentkit import FAST_MODEL, LARGEST_MODEL
from agentkit.patterns import examples as ex
from agentkit.patterns import multi_agent as M
from agentkit.patterns.measure import Meter


@pytest.fixture(scope="module")
def team():
    agentkit.setup_tracing()
    meter = Meter()
    client = agentkit.client(scenarios=["patterns_multi_agent"], middleware=[meter], quiet=True)
    return M.Team(client, ex.brochure_roles(), meter=meter)


def _agents(trace) -> dict[str, object]:
    return {M._agent_name(s): s for s in M.agent_spans(trace)}


def test_sequential_agents_never_overlap_and_hand_off_in_a_chain(team):
    with agentkit.capture() as trace:
        run = M.run_sequential(team, ["researcher", "designer", "writer"], ex.BROCHURE_BRIEF)
    spans = M.agent_spans(trace)
    assert [M._agent_name(s) for s in spans] == ["researcher", "designer", "writer"]
    assert not any(M.overlaps(a, b) for i, a in enumerate(spans) for b in spans[i + 1:])
    assert M.topology(trace).edges_of("handoff") == [("researcher", "designer"), ("designer", "writer")]
    assert isinstance(run.final, ex.Brochure)


def test_parallel_branches_overlap_and_both_hand_to_the_writer(team):
    with agentkit.capture() as trace:
        M.run_parallel(team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF)
    agents = _agents(trace)
    assert M.overlaps(agents["researcher"], agents["designer"])
    assert not M.overlaps(agents["researcher"], agents["writer"])
    assert sorted(M.topology(trace).edges_of("handoff")) == [("designer", "writer"), ("researcher", "writer")]


def test_the_manager_is_every_specialists_parent(team):
    with agentkit.capture() as trace:
        run = M.run_managed(team, "manager", ex.BROCHURE_BRIEF)
    parents = M._parent_agents(trace.spans)
    agents = _agents(trace)
    for name in ("researcher", "designer", "writer"):
        assert M._agent_name(parents[agents[name].context.span_id]) == "manager"
    assert "manager" not in {M._agent_name(p) for p in [parents.get(agents["manager"].context.span_id)] if p}
    assert sorted(M.topology(trace).edges_of("delegates")) == [
        ("manager", "designer"), ("manager", "researcher"), ("manager", "writer")]
    assert M.overlaps(agents["researcher"], agents["designer"])  # delegated in one turn: run at once
    assert isinstance(run.final, ex.Brochure)


def test_a_deeper_hierarchy_nests_sub_agents_under_their_lead(team):
    with agentkit.capture() as trace:
        M.run_managed(team, "editor", ex.BROCHURE_BRIEF)
    delegates = set(M.topology(trace).edges_of("delegates"))
    assert {("editor", "research_lead"), ("research_lead", "web_researcher"),
            ("research_lead", "fact_checker"), ("editor", "designer"), ("editor", "writer")} == delegates


def test_all_to_all_every_member_messages_every_other(team):
    with agentkit.capture() as trace:
        run = M.run_all_to_all(team, ["punchy", "calm", "critic"], "Brainstorm taglines.", rounds=2)
    messages = set(M.topology(trace).edges_of("message"))
    assert len(messages) == 6 and ("critic", "punchy") in messages
    assert len(run.final) == 6 and run.final[-1].round == 2
    with pytest.raises(ValueError):
        M.run_all_to_all(team, ["punchy"], "x", rounds=0)


def test_a_malformed_handoff_stops_with_the_sender_receiver_and_field(team):
    with pytest.raises(M.HandoffError) as caught:
        M.run_sequential(team, ["researcher", "designer", "writer"], ex.BAD_BRIEF)
    text = str(caught.value)
    assert text.startswith("researcher -> designer") and "findings: List should have at least 2 items" in text


def test_roles_get_only_their_tools(team):
    assert [t.name for t in team.role("researcher").tools] == ["web_search"]
    assert [t.name for t in team.role("designer").tools] == ["make_chart"]
    assert team.role("writer").tools == ()


def test_redundant_searches_are_counted_from_the_trace(team):
    with agentkit.capture() as trace:
        M.run_sequential(team, ["researcher", "loose_writer"], ex.BROCHURE_BRIEF)
    repeats = M.redundant_calls(trace)
    assert len(repeats) == 2 and all(who == ["researcher", "loose_writer"] for _, _, who in repeats)
    with agentkit.capture() as scoped:
        M.run_sequential(team, ["researcher", "writer"], ex.BROCHURE_BRIEF)
    assert M.redundant_calls(scoped) == []


def test_parallel_saves_the_designers_time_over_sequential(team):
    seq = M.run_sequential(team, ["researcher", "designer", "writer"], ex.BROCHURE_BRIEF)
    par = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF)
    saved = seq.cost.seconds - par.cost.seconds
    r, d = seq.by_role("researcher").cost.seconds, par.by_role("designer").cost.seconds
    assert saved > 0.5 * min(r, d)
    assert seq.cost.calls == par.cost.calls == 5
    assert par.cost.tokens < seq.cost.tokens  # the parallel designer no longer reads the research


def test_components_pass_while_the_end_to_end_eval_catches_a_handoff_bug(team):
    def truncating(name, earlier):  # the glue bug: only the first finding reaches the writer
        if name != "writer":
            return ex.BROCHURE_BRIEF
        first = earlier["researcher"].output.findings[0]
        return f"{ex.BROCHURE_BRIEF}\n\nResearch summary: {first.claim} ({first.figure})"

    run = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF, prompt_for=truncating)
    brief, assets, brochure = (run.by_role(n).output for n in ("researcher", "designer", "writer"))
    assert ex.research_eval(brief) and ex.design_eval(assets) and ex.copy_eval(brochure)
    problems = ex.end_to_end_eval(brochure, brief, assets)
    assert len(problems) == 2 and "41%" in problems[0]
    good = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF)
    assert ex.end_to_end_eval(good.final, brief, assets) == []


def test_mixing_models_per_role_cuts_the_bill_on_the_same_tokens(team):
    base = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF)
    mixed_team = M.Team(team.client, ex.brochure_roles(FAST_MODEL, FAST_MODEL, LARGEST_MODEL), meter=team.meter)
    mixed = M.run_parallel(mixed_team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF)
    assert mixed.cost.tokens == base.cost.tokens
    assert mixed.by_role("researcher").result.model == FAST_MODEL
    assert mixed.cost.usd != base.cost.usd


def test_draw_topology_returns_a_figure(team):
    with agentkit.capture() as trace:
        M.run_managed(team, "manager", ex.BROCHURE_BRIEF)
    fig = M.draw_topology(M.topology(trace), title="manager")
    from matplotlib.text import Annotation

    boxes = [t for t in fig.axes[0].texts if not isinstance(t, Annotation)]
    assert sorted(t.get_text() for t in boxes) == ["designer", "manager", "researcher", "writer"]


def test_coordination_costs_more_calls_tokens_and_seconds_than_the_fixed_patterns(team):
    parallel = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF)
    managed = M.run_managed(team, "manager", ex.BROCHURE_BRIEF)
    deep = M.run_managed(team, "editor", ex.BROCHURE_BRIEF)
    assert parallel.cost.calls < managed.cost.calls < deep.cost.calls
    assert parallel.cost.tokens < managed.cost.tokens < deep.cost.tokens
    assert managed.cost.seconds < deep.cost.seconds


def test_offline_figures_do_not_depend_on_which_concurrent_agent_asked_first():
    costs = set()
    for _ in range(3):
        meter = Meter()
        client = agentkit.client(scenarios=["patterns_multi_agent"], middleware=[meter], quiet=True)
        t = M.Team(client, ex.brochure_roles(), meter=meter)
        costs.add((M.run_parallel(t, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF).cost,
                   M.run_managed(t, "manager", ex.BROCHURE_BRIEF).cost))
    assert len(costs) == 1


def test_every_role_with_a_schema_asks_for_structured_outputs_not_json_in_prose(monkeypatch):
    from agentkit.exercises._transcript import offline_client, requests_sent

    meter = Meter()
    client = offline_client(["patterns_multi_agent"], middleware=[meter])
    monkeypatch.setattr(M.Team, "_client_for", lambda self, role, prompt: self.client)  # one simulator to read
    M.run_sequential(M.Team(client, ex.brochure_roles(), meter=meter), ["researcher", "writer"], ex.BROCHURE_BRIEF)
    for body in requests_sent(client):
        assert body["output_config"]["format"]["type"] == "json_schema"
        assert "json" not in body["system"].lower()


def test_on_error_stop_reports_the_failed_step_instead_of_raising(team):
    with agentkit.capture() as trace:
        run = M.run_sequential(team, ["researcher", "designer", "writer"], ex.BAD_BRIEF, on_error="stop")
    assert not run.ok and run.final is None and run.error.startswith("researcher -> designer")
    assert [r.role.name for r in run.runs] == ["researcher"] and run.cost.calls == 2
    assert "FAILED STEP: researcher -> designer" in run.describe()
    # The partial run's topology names an agent that never ran; drawing it must still work.
    topo = M.topology(trace)
    assert topo.agents == ["researcher"] and topo.edges_of("handoff") == [("researcher", "designer")]
    fig = M.draw_topology(topo, title="failed")
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    assert "designer\n(never ran)" in labels and "researcher" in labels
    parallel = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BAD_BRIEF, on_error="stop")
    assert not parallel.ok and "researcher -> writer" in parallel.error
    with pytest.raises(ValueError, match="on_error"):
        M.run_sequential(team, ["researcher"], ex.BAD_BRIEF, on_error="ignore")


def test_draw_topology_accepts_a_handoff_to_an_agent_that_never_ran():
    topo = M.Topology(["manager"], [M.Edge("manager", "writer", "delegates"), M.Edge("writer", "editor", "handoff")])
    fig = M.draw_topology(topo)
    labels = sorted(t.get_text() for t in fig.axes[0].texts if t.get_text())
    assert labels == ["editor\n(never ran)", "manager", "writer\n(never ran)"]


def test_timeline_bars_add_up_to_the_printed_seconds(team):
    seq = M.run_sequential(team, ["researcher", "designer", "writer"], ex.BROCHURE_BRIEF)
    par = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BROCHURE_BRIEF)
    for run in (seq, par):
        rows = M.timeline(run)
        assert max(start + seconds for _, start, seconds in rows) == pytest.approx(run.cost.seconds)
    assert [start for _, start, _ in M.timeline(par)][:2] == [0.0, 0.0]


@pytest.mark.parametrize("reply", [
    '{"findings": []}',
    'Here you are:\n```json\n{"findings": []}\n```\nAnything else?',
    '{"findings": []}\n\nI kept it short, as asked.',
    'Sure. {"findings": []} Hope that helps {with braces}.',
])
def test_handoff_reads_fenced_json_and_json_followed_by_prose(reply):
    class Empty(ex.pydantic.BaseModel):
        findings: list[str]

    assert M.handoff("a", "b", Empty, reply).findings == []


def test_extract_json_names_a_reply_with_no_json():
    from agentkit.patterns.reflection import extract_json

    assert extract_json('[1, {"b": "}"}] and then prose') == '[1, {"b": "}"}]'
    assert extract_json('{not json} but {"ok": true} is') == '{"ok": true}'
    with pytest.raises(ValueError, match="no complete JSON"):
        extract_json("I could not find anything {")


def test_timeline_of_a_failed_parallel_run_keeps_the_branches_side_by_side(team):
    failed = M.run_parallel(team, ["researcher", "designer"], "writer", ex.BAD_BRIEF, on_error="stop")
    rows = M.timeline(failed)
    assert {name for name, _, _ in rows} == {"researcher", "designer"} and all(start == 0.0 for _, start, _ in rows)
