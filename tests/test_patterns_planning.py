"""agentkit.patterns.planning: two questions, two plans, one toolset; guardrails refuse bad plans."""

from __future__ import annotations

import pytest

import agentkit
from agentkit.patterns import examples as ex
from agentkit.patterns.measure import Meter
from agentkit.patterns.planning import (
    CodePlanRejected, Guardrails, Plan, PlanRejected, check_code_plan, execute_plan, make_code_plan, make_plan,
    resolve, run_code_plan, validate_plan,
)

TOOLS = [agentkit.tool(f) for f in ex.STORE_TOOLS]
READ = Guardrails(frozenset({"read"}), ex.STORE_PERMISSIONS)
RETURNS = Guardrails(frozenset({"read", "returns"}), ex.STORE_PERMISSIONS)


@pytest.fixture(scope="module")
def setup():
    meter = Meter()
    return agentkit.client(scenarios=["patterns_planning"], middleware=[meter], quiet=True), meter


def _truth_round_under_100() -> set[str]:
    return {i for i, p in ex.PRODUCTS.items()
            if p["shape"] == "round" and ex.INVENTORY[i] > 0 and p["price"] <= 100}


def test_two_questions_give_two_different_valid_plans_from_one_toolset(setup):
    client, meter = setup
    browse, _ = make_plan(client, ex.BROWSE_REQUEST, TOOLS, meter=meter)
    ret, _ = make_plan(client, ex.RETURN_REQUEST, TOOLS, meter=meter)
    assert validate_plan(browse, TOOLS, READ) == [] and validate_plan(ret, TOOLS, RETURNS) == []
    assert [s.tool for s in browse.steps] == ["get_item_descriptions", "check_inventory", "get_item_price"]
    assert [s.tool for s in ret.steps] == ["get_purchase_history", "process_item_return"]


def test_the_browse_plan_finds_exactly_the_round_frames_in_stock_under_100(setup):
    client, meter = setup
    plan, _ = make_plan(client, ex.BROWSE_REQUEST, TOOLS, meter=meter)
    run = execute_plan(plan, TOOLS, READ)
    assert run.ok
    assert {item["id"] for item in run.outputs["s3"]} == _truth_round_under_100() == {"SG-101", "SG-104", "SG-105"}


def test_the_return_plan_returns_the_gold_frame_pair_not_the_metal_one(setup):
    client, meter = setup
    plan, _ = make_plan(client, ex.RETURN_REQUEST, TOOLS, meter=meter)
    run = execute_plan(plan, TOOLS, RETURNS)
    receipt = run.outputs["s2"]
    assert run.ok and receipt["item_id"] == "SG-107" and receipt["refund"] == ex.PRODUCTS["SG-107"]["price"]
    assert "gold" in ex.PRODUCTS["SG-107"]["frame"] and "metal" not in ex.PRODUCTS["SG-107"]["frame"]


def test_the_same_return_plan_is_refused_without_the_returns_permission(setup):
    client, meter = setup
    plan, _ = make_plan(client, ex.RETURN_REQUEST, TOOLS, meter=meter)
    with pytest.raises(PlanRejected, match="'returns' permission"):
        execute_plan(plan, TOOLS, READ)


def test_the_greedy_plan_is_refused_with_every_reason_before_anything_runs(setup):
    client, meter = setup
    plan, _ = make_plan(client, ex.GREEDY_REQUEST, TOOLS, meter=meter)
    before = len(ex._RETURNS)
    with pytest.raises(PlanRejected) as caught:
        execute_plan(plan, TOOLS, READ)
    problems = caught.value.problems
    assert len(ex._RETURNS) == before
    assert any("max_price='under 100' is invalid" in p for p in problems)
    assert any("'returns' permission" in p for p in problems)
    assert any("refers to s5, which does not run before s4" in p for p in problems)


def _plan(*steps: dict) -> Plan:
    return Plan.model_validate({"goal": "g", "steps": list(steps)})


def test_validate_plan_catches_unknown_tools_arguments_and_the_step_budget():
    plan = _plan({"id": "s1", "tool": "delete_everything", "args": {}},
                 {"id": "s2", "tool": "check_inventory", "args": {"ids": ["SG-101"]}},
                 {"id": "s3", "tool": "get_item_price", "args": {"item_ids": "$s9.id"}})
    problems = validate_plan(plan, TOOLS, Guardrails(max_steps=2))
    text = " | ".join(problems)
    assert "3 steps; the budget is 2" in text and "no tool 'delete_everything'" in text
    assert "has no argument 'ids'" in text and "needs the argument 'item_ids'" in text and "refers to s9" in text


def test_a_malformed_plan_reply_is_refused_clearly():
    with pytest.raises(Exception):
        Plan.model_validate({"goal": "g", "steps": []})


def test_resolve_follows_fields_indexes_and_lists():
    outputs = {"s1": [{"id": "A", "n": 1}, {"id": "B", "n": 2}], "s2": {"order": {"id": "O-1"}}}
    assert resolve("$s1.id", outputs) == ["A", "B"]
    assert resolve("$s1[1].n", outputs) == 2
    assert resolve({"x": ["$s2.order.id", 3]}, outputs) == {"x": ["O-1", 3]}
    with pytest.raises(KeyError):
        resolve("$s7", outputs)


def test_code_plan_checks_refuse_imports_dunders_and_unknown_calls():
    names = [t.name for t in TOOLS[:3]]
    assert check_code_plan("answer = get_item_price(['SG-101'])", names) == []
    problems = check_code_plan("import os\nanswer = open('x').read()\ny = ().__class__", names)
    assert len(problems) == 3
    assert "not valid Python" in check_code_plan("answer = (", names)[0]
    with pytest.raises(CodePlanRejected, match="imports are not allowed"):
        run_code_plan("import os\nanswer = 1", names, ex.read_only_preamble(), data=ex.read_only_data())


def test_the_code_plan_runs_in_the_sandbox_and_agrees_with_the_json_plan(setup):
    client, meter = setup
    code, cost = make_code_plan(client, ex.BROWSE_REQUEST, TOOLS[:3], meter=meter)
    answer = run_code_plan(code, [t.name for t in TOOLS[:3]], ex.read_only_preamble(), data=ex.read_only_data())
    assert {item["id"] for item in answer} == _truth_round_under_100()
    assert [item["price"] for item in answer] == sorted(item["price"] for item in answer)
    assert cost.calls == 1


def test_the_code_plan_has_no_write_tool_in_its_sandbox():
    with pytest.raises(RuntimeError, match="NameError"):
        run_code_plan("answer = process_item_return('ORD-5531', 'SG-107')", ["process_item_return"],
                      ex.read_only_preamble(), data=ex.read_only_data())


def test_plan_then_execute_uses_fewer_tokens_than_the_react_loop(setup):
    client, meter = setup
    plan, plan_cost = make_plan(client, ex.BROWSE_REQUEST, TOOLS[:3], meter=meter)
    from agentkit.patterns.planning import answer_from

    _, answer_cost = answer_from(client, ex.BROWSE_REQUEST, execute_plan(plan, TOOLS[:3], READ), meter=meter)
    react = agentkit.Agent(client, tools=TOOLS[:3]).run(ex.BROWSE_REQUEST)
    react_cost = meter.cost_of_run(react)
    assert (plan_cost + answer_cost).calls == 2 and react_cost.calls == 4
    assert (plan_cost + answer_cost).tokens < react_cost.tokens
    # ...but not fewer seconds: writing the whole plan up front is slow output
    assert (plan_cost + answer_cost).seconds > react_cost.seconds


def test_structured_outputs_and_json_text_give_the_same_plan(setup):
    client, meter = setup
    from_schema, cost = make_plan(client, ex.BROWSE_REQUEST, TOOLS, meter=meter)  # output_config.format
    from_text, _ = make_plan(client, ex.BROWSE_REQUEST, TOOLS, meter=meter, structured=False)
    assert from_schema == from_text and cost.calls == 1
    request = client._agentkit_simulator.requests[-2]  # the structured request, as the API received it
    assert request["output_config"]["format"]["type"] == "json_schema"


def test_a_wire_plan_with_a_repeated_argument_is_refused():
    from agentkit.patterns.planning import WirePlan

    wire = WirePlan.model_validate({"goal": "g", "steps": [{"id": "s1", "tool": "check_inventory", "why": "",
                                                            "args": [{"name": "item_ids", "value": ["SG-101"]},
                                                                     {"name": "item_ids", "value": ["SG-102"]}]}]})
    with pytest.raises(PlanRejected, match="'item_ids' is given twice"):
        wire.to_plan()
    bad_id = WirePlan.model_validate({"goal": "g", "steps": [{"id": "$first.id", "tool": "t", "args": [], "why": ""}]})
    with pytest.raises(PlanRejected, match="step 1 .'\\$first.id'.: id: String should match"):
        bad_id.to_plan()
