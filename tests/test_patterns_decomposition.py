"""agentkit.patterns.decomposition: waves, the four splits, and the log analysis split by week."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

import agentkit
from agentkit.patterns import decomposition as D
from agentkit.patterns import examples as ex
from agentkit.patterns import multi_agent as M
from agentkit.patterns.measure import Meter

WEEKS = {f"week{w}": str(w) for w in ex.LOG_WEEKS}


@pytest.fixture(scope="module")
def setup():
    agentkit.setup_tracing()
    meter = Meter()
    client = agentkit.client(scenarios=["patterns_decomposition"], middleware=[meter], quiet=True)
    files = dict(ex.CODEBASE)
    return M.Team(client, ex.decomposition_roles(files), meter=meter), files


def _log_split():
    return D.by_data(WEEKS, "log_analyst", "Analyse the access logs of week {partition} of October 2026.",
                     "log_aggregator", "Combine the four weekly findings into one incident report.")


def test_waves_order_dependencies_and_refuse_cycles_and_unknown_names():
    a, b, c = D.Subtask("a", "x", "r"), D.Subtask("b", "x", "r", ("a",)), D.Subtask("c", "x", "r", ("a",))
    assert [[s.name for s in w] for w in D.waves([a, b, c])] == [["a"], ["b", "c"]]
    with pytest.raises(ValueError, match="cycle"):
        D.waves([D.Subtask("a", "x", "r", ("b",)), D.Subtask("b", "x", "r", ("a",))])
    with pytest.raises(ValueError, match="depends on 'z'"):
        D.waves([D.Subtask("a", "x", "r", ("z",))])
    with pytest.raises(ValueError, match="either a role"):
        D.Subtask("a", "x")


def test_the_scripted_weekly_findings_are_what_pandas_computes_from_the_logs():
    path = resources.files("agentkit") / "scenarios" / "patterns_decomposition.yaml"
    scenarios = {s["name"]: s for s in yaml.safe_load(path.read_text())}
    for week in ex.LOG_WEEKS:
        said = scenarios[f"patterns_logs_week{week}"]["turns"][1]["json"]
        assert ex.LogFindings.model_validate(said).weeks[0].model_dump() == ex.week_findings(week)
        mapped = scenarios[f"patterns_map_week{week}"]["turns"][0]["json"]
        assert {"week": week, **mapped} == ex.week_findings(week)
    combined = ex.LogFindings.model_validate(scenarios["patterns_logs_all"]["turns"][1]["json"])
    assert [w.model_dump() for w in combined.weeks] == [ex.week_findings(w) for w in ex.LOG_WEEKS]


def test_the_log_analyst_hands_on_its_findings_through_structured_outputs(setup):
    team, _ = setup
    run = team.run_role("log_analyst", "Analyse the access logs of week 3 of October 2026.")
    assert isinstance(run.output, ex.LogFindings) and run.output.weeks[0].slowest == "/api/search"
    assert "json" not in team.role("log_analyst").system.lower()


def test_the_incidents_are_in_the_data():
    assert ex.week_findings(3)["slowest"] == "/api/search"
    assert ex.week_findings(4)["most_errors"] == "/api/cart"
    assert all(ex.week_findings(w)["errors"] == 0 for w in (1, 2, 3))


def test_split_by_week_keeps_contexts_small_and_finishes_sooner(setup):
    team, _ = setup
    one = team.run_role("log_analyst", "Analyse the access logs of all four weeks of October 2026.")
    split = D.run_decomposed(team, _log_split(), name="log_analysis")
    assert split.waves == [list(WEEKS), ["aggregate"]]
    one_peak = max(s.response.usage.input_tokens for s in one.result.steps)
    assert split.peak_input_tokens < one_peak / 3
    assert split.cost.seconds < one.cost.seconds
    assert one.cost.tokens < split.cost.tokens < 1.5 * one.cost.tokens  # a few more tokens, not fewer
    assert split.cost.calls == 9 and one.cost.calls == 2
    assert "week 3" in split.outputs["aggregate"] and "/api/cart" in split.outputs["aggregate"]


def test_by_space_gives_each_directory_to_one_agent_who_cannot_leave_it(setup):
    team, files = setup
    subtasks = D.by_space("Move every endpoint to require_auth_v2.", list(files),
                          {f"services/{d}/": f"refactor_{d}" for d in ("users", "orders", "payments", "notifications")})
    assert len(subtasks) == 4
    run = D.run_decomposed(team, subtasks, name="refactor")
    assert run.waves == [[s.name for s in subtasks]]
    assert all("require_auth_v2" in src and "check_auth_v1" not in src for src in files.values())
    editor = ex.scoped_editor(files, "services/users/")
    out = editor.invoke({"path": "services/orders/api.py", "old": "x", "new": "y"})
    assert out.is_error and "outside your directory" in out.content
    with pytest.raises(ValueError, match="no role owns"):
        D.by_space("t", ["lib/x.py"], {})


def test_by_time_runs_phases_in_order_each_with_the_previous_output(setup):
    team, _ = setup
    phases = D.by_time([("research", "market_researcher", "Research."), ("plan", "launch_planner", "Plan."),
                        ("assets", "asset_creator", "Create."), ("launch", "launch_manager", "Launch.")])
    run = D.run_decomposed(team, phases, name="launch")
    assert run.waves == [["research"], ["plan"], ["assets"], ["launch"]]
    assert "Output of research" in run.runs[1].result.steps[0].request["messages"][0]["content"]
    assert run.cost.seconds == pytest.approx(sum(r.cost.seconds for r in run.runs))


def test_mixed_functional_with_a_temporal_backend_nests_in_the_trace(setup):
    team, _ = setup
    backend = D.Subtask("backend", "Add a wishlist: the backend.", parts=tuple(D.by_time([
        ("design_api", "api_designer", "Design."), ("implement", "backend_developer", "Implement."),
        ("test", "backend_tester", "Test.")])))
    work = [*D.by_function("Add a wishlist.", {"frontend": "the UI", "database": "the schema"}), backend]
    with agentkit.capture() as trace:
        run = D.run_decomposed(team, work, name="wishlist")
    assert run.waves == [["frontend", "database", "backend"]]
    names = [s.name for s in trace.spans]
    assert "decompose backend" in names and names.count("invoke_agent backend_tester") == 1
    inner = sum(r.cost.seconds for r in run.runs if r.role.name.startswith(("api_", "backend_")))
    assert run.cost.seconds == pytest.approx(inner)  # the three backend phases are the critical path


def test_on_error_stop_makes_an_invalid_handoff_a_failed_step():
    from agentkit.patterns import multi_agent as M
    from agentkit.patterns.measure import Meter

    meter = Meter()
    client = agentkit.client(scenarios=["patterns_multi_agent"], middleware=[meter], quiet=True)
    brochure_team = M.Team(client, ex.brochure_roles(), meter=meter)
    work = [D.Subtask("research", ex.BAD_BRIEF, "researcher"),
            D.Subtask("design", ex.BAD_BRIEF, "designer")]
    with pytest.raises(M.HandoffError):
        D.run_decomposed(brochure_team, work)
    run = D.run_decomposed(brochure_team, work, on_error="stop")
    assert not run.ok and list(run.errors) == ["research"]
    assert run.outputs["research"].startswith("FAILED STEP: researcher -> team")
    assert run.outputs["design"].startswith('{"charts"') and run.cost.calls == 4
