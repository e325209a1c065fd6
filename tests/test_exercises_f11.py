"""Lesson 11's checked exercises, each tested three ways: the reference passes, the stub is "not attempted",
and plausible wrong attempts fail with the message meant for them."""

from __future__ import annotations

import textwrap

import pytest

import agentkit
from agentkit import exercises
from agentkit.cases import production as p
from agentkit.redact import redact


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


def _reference(lab, task_id):
    namespace: dict = {"production": p, "table": p.research_run_costs(), "redact": redact}
    exec(compile(textwrap.dedent(lab.solutions[task_id]), f"<f11.{task_id}>", "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace[lab.answers[task_id]]


def test_every_reference_passes_and_every_stub_is_not_attempted():
    lab = exercises.load("f11")
    for task in lab.tasks:
        result = lab.check(task.id, _reference(lab, task.id))
        assert result.passed, (task.id, result.message)
        assert lab.check(task.id, ...).status == "not_attempted"
        assert len(task.hints) == 3


def test_value_tasks_name_the_usual_mistakes_and_never_the_answer():
    lab = exercises.load("f11")
    right = p.monthly_cost(float(p.research_run_costs()["total $"].sum()), runs_per_day=5_000)["per month"]
    result = lab.check("monthly_cost", right / 5)
    assert result.status == "wrong" and "1,000 runs" in result.message
    assert "one day" in lab.check("monthly_cost", right / 30).message
    assert f"{right:,.0f}" not in lab.check("monthly_cost", 1.0).message
    assert lab.check("biggest_bucket", "LLM").status == "wrong"
    assert lab.check("biggest_bucket", "GPU").status == "invalid"


def test_outbound_rule_catches_substring_and_case_mistakes():
    lab = exercises.load("f11")

    def stub(to, body):
        decision = ...
        return decision

    assert lab.check("outbound_rule", stub).status == "not_attempted"
    naive = lambda to, body: "ourcompany.example" in to.lower() or (  # fooled by a look-alike domain
        "vendor.example" in to.lower() and redact(body) == body)
    result = lab.check("outbound_rule", naive)
    assert result.status == "wrong" and "evil" in result.message
    ends_with = lambda to, body: to.lower().endswith("ourcompany.example") or (
        to.lower().endswith("vendor.example") and redact(body) == body)
    result = lab.check("outbound_rule", ends_with)
    assert result.status == "wrong" and "hidden e-mail" in result.message
    case_sensitive = lambda to, body: to.rsplit("@", 1)[-1] == "ourcompany.example" or (
        to.rsplit("@", 1)[-1] == "vendor.example" and redact(body) == body)
    assert lab.check("outbound_rule", case_sensitive).status == "wrong"


def _loop(check_budget_before_tools=True, count_input_only=False, answer_tools=True, cap_off_by_one=False):
    """Variants of a budget loop with one plausible mistake each."""

    def run_with_budget(client, task, tools, usd_budget, max_steps):
        by_name = {t.name: t for t in tools}
        messages = [{"role": "user", "content": task}]
        spent = 0.0
        for step in range(1, max_steps + (2 if cap_off_by_one else 1)):
            reply = client.messages.create(model=agentkit.FAST_MODEL, max_tokens=512, messages=messages,
                                           tools=[t.to_dict() for t in tools])
            usage = reply.usage
            if count_input_only:
                usage = usage.model_copy(update={"output_tokens": 0})
            spent += agentkit.cost_of(reply.model, usage)
            if reply.stop_reason != "tool_use":
                return "done"
            messages.append({"role": "assistant", "content": reply.content})
            results = [{"type": "tool_result", "tool_use_id": b.id, "content": str(by_name[b.name].invoke(b.input).content)}
                       for b in reply.content if b.type == "tool_use"]
            messages.append({"role": "user", "content": results if answer_tools else "continue"})
            if check_budget_before_tools and spent > usd_budget:
                return "cost_budget"
        return "max_steps"

    return run_with_budget


def test_budget_stop_three_ways():
    lab = exercises.load("f11")
    assert lab.check("budget_stop", _loop()).passed
    result = lab.check("budget_stop", _loop(check_budget_before_tools=False))
    assert result.status == "wrong" and "should stop after" in result.message
    result = lab.check("budget_stop", _loop(answer_tools=False))
    assert result.status == "wrong" and "never answered by a tool_result" in result.message
    result = lab.check("budget_stop", _loop(cap_off_by_one=True))
    assert result.status == "wrong" and "step cap did not hold" in result.message

    def no_tools(client, task, tools, usd_budget, max_steps):
        client.messages.create(model=agentkit.FAST_MODEL, max_tokens=100, messages=[{"role": "user", "content": task}])
        return "done"

    result = lab.check("budget_stop", no_tools)
    assert result.status == "wrong" and "no tools" in result.message


def test_the_loader_finds_f11_like_any_other_lesson():
    assert "f11" in exercises.available()
    assert exercises.load("f11").id == "f11"
