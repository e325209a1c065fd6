"""Tests for agentkit.guardrails: code checks, the judge layer, human approval (headless and the widget),
the quality gate's revision loop and retry cap, and what each layer catches on the lesson's outputs."""

from __future__ import annotations

import anthropic
import pytest
from pydantic import BaseModel

import agentkit
from agentkit.cases.support import GATE_CANDIDATES, LATE_ORDER_EMAIL, REPLY_POLICY, REVIEWER_NOTES
from agentkit.evals import Judge, Rubric, measured_call
from agentkit.guardrails import (Decision, GateError, HumanApproval, JudgeCheck, QualityGate, approval_widget,
                                 forbidden, json_schema, max_length, required)

# these tests read simulated time, so calls need not really sleep
pytestmark = pytest.mark.usefixtures("no_latency")


class Reply(BaseModel):
    subject: str
    body: str


RUBRIC = Rubric("a reply to a customer: consistent with the policy, warm and professional", {
    5: "follows the policy; warm and specific", 4: "follows the policy; small lapses of tone",
    3: "vague or incomplete", 2: "contradicts the policy", 1: "rude or harmful"})
WRITER = "You are the reply writer for the delivery desk."
REPLY_FORMAT = {"format": {"type": "json_schema", "schema": anthropic.transform_schema(Reply)}}  # structured outputs


@pytest.fixture
def client():
    return agentkit.client(scenarios=["f06_guardrails"], quiet=True)


def reviewer(output: str) -> Decision:
    return Decision(False, REVIEWER_NOTES["voucher"]) if "voucher" in output.lower() else Decision(True)


def make_gate(client, **kwargs) -> QualityGate:
    checks = [json_schema(Reply), max_length(400, "body"), forbidden(r"[\w.+-]+@[\w-]+\.[\w.]+", "personal data")]
    judge = JudgeCheck(Judge(client, RUBRIC), threshold=4, context=REPLY_POLICY)
    return QualityGate(checks, judge=judge, human=HumanApproval(reviewer, seconds_per_review=60), **kwargs)


def test_code_checks_say_what_is_wrong():
    assert max_length(5)("short") is None
    assert max_length(5)("too long") == "output is 8 characters; the limit is 5"
    assert max_length(3, "body")('{"body": "four"}') == "body is 4 characters; the limit is 3"
    assert max_length(3, "body")("not json") is None  # json_schema reports that, once
    assert forbidden(r"guarantee", "no guarantees")("We GUARANTEE it") == "no guarantees: found 'GUARANTEE'"
    assert required(r"A-\d{4}", "the order number")("hello") == "missing: the order number"
    assert json_schema(Reply)('{"subject": "s", "body": "b"}') is None
    assert json_schema(Reply)('{"subject": "s"}').startswith("not a valid Reply: body: Field required")
    assert "Invalid JSON" in json_schema(Reply)("plain text")


def test_json_checks_look_inside_a_fenced_reply():
    """Issue 19: a model that wraps its JSON in ```json ... ``` still passes the format check."""
    fenced = '```json\n{"subject": "s", "body": "hello there"}\n```'
    assert json_schema(Reply)(fenced) is None
    assert json_schema(Reply)('```\n{"subject": "s", "body": "b"}\n```\n') is None
    assert json_schema(Reply)('```json\n{"subject": "s"}\n```').startswith("not a valid Reply: body: Field required")
    assert max_length(5, "body")(fenced) == "body is 11 characters; the limit is 5"
    # only a fence around the whole reply is unwrapped: prose around it is still not the JSON asked for
    assert "Invalid JSON" in json_schema(Reply)('Here it is:\n```json\n{"subject": "s", "body": "b"}\n```')


def test_each_layer_catches_its_own_kind_of_problem(client):
    gate = make_gate(client)
    caught = {layer: sorted(name for name, (output, _) in GATE_CANDIDATES.items()
                            if not gate.review(output, layers=[layer])[0].passed)
              for layer in ("code", "judge", "human")}
    assert caught == {"code": ["leaks_email", "not_json", "too_long"], "judge": ["rude", "wrong_policy"],
                      "human": ["voucher"]}


def test_layer_costs_code_free_judge_paid_human_slow(client):
    gate = make_gate(client)
    output = GATE_CANDIDATES["good"][0]
    code, judge, human = (gate.review(output, layers=[layer])[0] for layer in ("code", "judge", "human"))
    assert code.cost == 0 and code.seconds < 0.05
    assert 0 < judge.cost < 0.01 and 0.1 < judge.seconds < 1  # "a fraction of a cent and under a second"
    assert human.seconds / judge.seconds > 100  # "two orders of magnitude"
    assert human.cost == 0 and human.seconds == 60


def _writer(client):
    history: list[str] = []

    def revise(task: str, feedback: str | None) -> str:
        messages = [{"role": "user", "content": task}]
        if feedback:
            messages += [{"role": "assistant", "content": history[-1]}, {"role": "user", "content": feedback}]
        text = measured_call(client, model=agentkit.DEFAULT_MODEL, max_tokens=400, system=WRITER,
                             messages=messages, output_config=REPLY_FORMAT).text
        history.append(text)
        return text

    return revise


def test_a_failing_judge_verdict_goes_back_for_revision(client):
    result = make_gate(client).run(LATE_ORDER_EMAIL, _writer(client))
    assert result.shipped and result.revisions == 1
    judge_events = [e for e in result.log if e.layer == "judge"]
    assert [e.passed for e in judge_events] == [False, True]
    assert "policy refunds it" in judge_events[0].reason
    assert "refunded the shipping fee" in result.output
    layers = result.by_layer()
    assert layers["judge"]["runs"] == 2 and layers["judge"]["caught"] == 1 and layers["human"]["runs"] == 1


def test_the_retry_cap_stops_an_agent_that_never_fixes_it(client):
    result = make_gate(client, max_revisions=2).run("Kim here: order A-2210 arrived damaged.", _writer(client))
    assert not result.shipped and result.revisions == 2
    assert sum(e.layer == "judge" for e in result.log) == 3
    assert result.stopped.startswith("still failing the judge layer after 2 revisions")


def test_an_unreadable_judge_reply_never_passes(client):
    gate = QualityGate(judge=JudgeCheck(Judge(client, RUBRIC, structured=False)))
    event = gate.review("a garbled reply")[0]
    assert not event.passed and "judge reply unreadable" in event.reason and "not valid JSON" in event.reason


def test_human_rejection_feedback_reaches_the_agent():
    seen = []

    def agent(task, feedback):
        seen.append(feedback)
        return "v2, nothing extra" if feedback else "v1 with a voucher"

    gate = QualityGate(human=HumanApproval(reviewer))
    result = gate.run("task", agent)
    assert result.shipped and result.output == "v2, nothing extra"
    assert seen[1] == f"The human check failed: {REVIEWER_NOTES['voucher']}. Revise and fix this."


def test_bad_gate_set_ups_are_named():
    with pytest.raises(GateError, match="at least one layer"):
        QualityGate()
    with pytest.raises(GateError, match="max_revisions"):
        QualityGate([max_length(3)], max_revisions=-1)
    with pytest.raises(GateError, match="rejection needs feedback"):
        Decision(False)
    with pytest.raises(GateError, match="revise\\(\\) must return the output as text"):
        QualityGate([max_length(3)]).run("task", lambda task, feedback: None)
    with pytest.raises(GateError, match="must return a Decision"):
        QualityGate(human=HumanApproval(lambda out: True)).review("x")


def test_the_approval_widget_records_one_decision():
    decisions = []
    panel = approval_widget("Hi Sam ...", decisions.append)
    feedback, buttons, status = panel.children[1], panel.children[2], panel.children[3]
    approve, reject = buttons.children
    reject.click()  # no feedback yet: asks for it, decides nothing
    assert decisions == [] and "Write what should change" in status.value
    feedback.value = "Remove the voucher."
    reject.click()
    assert decisions == [Decision(False, "Remove the voucher.")]
    assert approve.disabled and reject.disabled and "Rejected: Remove the voucher." in status.value
    approve.click()  # disabled buttons still fire on_click in Python; the panel must not decide twice
    assert len(decisions) == 1
