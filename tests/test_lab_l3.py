"""Tests for Lab 3 (agentkit/labs/l3_latency_profiling.py): every check profiles real simulated runs.

The reference answers are written here independently of the lab notebook. Fewer runs than the lab uses
(`FIX_RUNS`, `MIN_RUNS` patched down) keep the file fast; the verdicts rest on medians and clear margins.
"""

from __future__ import annotations

import pytest

import agentkit
from agentkit import DEFAULT_MODEL, FAST_MODEL, Agent, latency
from agentkit.course.lab import Lab
from agentkit.labs import l3_latency_profiling as l3


@pytest.fixture(autouse=True)
def fewer_runs(monkeypatch):
    monkeypatch.setattr(l3, "FIX_RUNS", 6)
    monkeypatch.setattr(l3, "MIN_RUNS", 6)
    agentkit.setup_tracing()


@pytest.fixture
def lab(progress_db):
    return Lab.load("l3_latency_profiling")


def scan_once(client, dlp):
    seen = set()

    def scan_new(step):
        for message in step.request["messages"]:
            key = l3.message_key(message)
            if key not in seen:
                dlp.scan(message)
                seen.add(key)

    return Agent(client, model=DEFAULT_MODEL, system=l3.SYSTEM, tools=l3.bookshop_tools(), name="bookshop",
                 hooks={"model_start": scan_new})


def test_the_bottleneck_is_framework_overhead_and_other_names_are_told_why(lab):
    med = latency.breakdowns(l3.baseline()).median()
    assert max(latency.COMPONENTS, key=lambda c: med[c]) == "framework_overhead"
    assert med["framework_overhead"] > med["inference_s"] > med["tool_execution"]
    assert lab.check("bottleneck", "framework_overhead").passed
    assert lab.check("bottleneck", "callbacks").passed  # an alias
    model = lab.check("bottleneck", "model")
    assert model.status == "wrong" and "The model is not it" in model.message
    tools = lab.check("bottleneck", "tools")
    assert tools.status == "wrong" and "quick" in tools.message
    assert lab.check("bottleneck", "database").status == "invalid"
    assert lab.check("bottleneck", ...).status == "not_attempted"


def test_the_slow_agent_scans_16_messages_a_run():
    l3.baseline()
    assert l3._baseline_scans() == 16  # 1 + 3 + 5 + 7 messages before its four model calls


def test_the_reference_fix_passes(lab):
    result = lab.check("fix", scan_once)
    assert result.passed, result.message
    assert "every message still scanned" in result.message


def test_a_faster_model_is_told_it_leaves_the_bottleneck(lab, monkeypatch):
    monkeypatch.setattr(l3, "FIX_RUNS", 3)  # the verdict rests on the model used, not on a close margin
    result = lab.check("fix", lambda client, dlp: l3.slow_agent(client, dlp, model=FAST_MODEL))
    assert result.status == "wrong"
    assert "You switched the model" in result.message and "framework overhead, still" in result.message


def test_dropping_the_scan_breaks_the_policy(lab, monkeypatch):
    monkeypatch.setattr(l3, "FIX_RUNS", 3)
    result = lab.check("fix", lambda client, dlp: Agent(client, model=DEFAULT_MODEL, system=l3.SYSTEM,
                                                       tools=l3.bookshop_tools(), name="bookshop"))
    assert result.status == "wrong" and "without a DLP scan" in result.message


def test_other_wrong_fixes(lab, monkeypatch):
    monkeypatch.setattr(l3, "FIX_RUNS", 3)
    # the slow agent unchanged
    same = lab.check("fix", l3.slow_agent)
    assert same.status == "wrong" and "Framework overhead is still" in same.message
    # an agent that stops early, so its answer is not the slow agent's
    def cut_short(client, dlp):
        agent = scan_once(client, dlp)
        agent.max_steps = 2
        return agent

    other = lab.check("fix", cut_short)
    assert other.status == "wrong" and "answers changed" in other.message
    # not an agent, a crash, and the learner version's stub
    assert "must return an agentkit Agent" in lab.check("fix", lambda client, dlp: "agent").message
    assert "failed" in lab.check("fix", lambda client, dlp: 1 / 0).message

    def fixed_agent(client, dlp):
        agent = ...
        return agent

    assert lab.check("fix", fixed_agent).status == "not_attempted"
    assert lab.check("fix", 42).status == "invalid"


def test_distribution_needs_enough_runs_of_the_right_agents(lab):
    client = l3.lab_client()
    before = latency.profile(l3.slow_agent(client, l3.DLPService()), l3.QUESTION, runs=6)
    after = latency.profile(scan_once(client, l3.DLPService()), l3.QUESTION, runs=6)
    good = lab.check("distribution", (before, after))
    assert good.passed, good.message
    few = lab.check("distribution", (before[:2], after[:2]))
    assert few.status == "wrong" and "anecdote" in few.message
    swapped = lab.check("distribution", (after, before))
    assert swapped.status == "wrong" and "slow agent" in swapped.message
    same = lab.check("distribution", (before, before))
    assert same.status == "wrong" and "fixed agent" in same.message
    repeated = lab.check("distribution", (before, [after[0]] * 6))
    assert repeated.status == "wrong" and "same trace" in repeated.message
    assert lab.check("distribution", [1, 2]).status == "wrong"
    assert lab.check("distribution", ...).status == "not_attempted"


def test_made_up_distributions_are_refused(lab):
    """The cheat from issue 20: numbers typed in, nothing run. The check wants the runs and measures them."""
    made_up = latency.compare([18.8] * 30, [9.4] * 30)
    assert lab.check("distribution", made_up).status in ("wrong", "invalid")
    assert lab.check("distribution", ([18.8] * 30, [9.4] * 30)).status in ("wrong", "invalid")
    tables = (latency.breakdowns([l3.baseline()[0]]), latency.breakdowns([l3.baseline()[0]]))
    assert lab.check("distribution", tables).status in ("wrong", "invalid")


def test_a_fix_that_writes_the_scan_records_itself_is_refused(lab, monkeypatch):
    """The cheat from issue 20: skip the DLP service, write the fingerprints into dlp.scanned."""
    monkeypatch.setattr(l3, "FIX_RUNS", 3)

    def forged(client, dlp):
        def pretend(step):
            for message in step.request["messages"]:
                dlp.scanned.add(l3.message_key(message))  # a read-only copy: this cannot record a scan

        return Agent(client, model=DEFAULT_MODEL, system=l3.SYSTEM, tools=l3.bookshop_tools(), name="bookshop",
                     hooks={"model_start": pretend})

    result = lab.check("fix", forged)
    assert not result.passed
    assert isinstance(l3.DLPService().scanned, frozenset)

    def forged_private(client, dlp):
        def pretend(step):
            for message in step.request["messages"]:
                dlp._scanned.add(l3.message_key(message))  # the service's own set: the check does not read it

        return Agent(client, model=DEFAULT_MODEL, system=l3.SYSTEM, tools=l3.bookshop_tools(), name="bookshop",
                     hooks={"model_start": pretend})

    result = lab.check("fix", forged_private)
    assert result.status == "wrong" and "without a DLP scan" in result.message


def test_hints_stop_short_of_the_answer(lab):
    """No hint holds the solution's key code."""
    for task in lab.tasks:
        for hint in task.hints:
            assert "idxmax()" not in hint and "latency.compare(latency.breakdowns" not in hint
            assert "runs=30)" not in hint and "dlp.scanned" not in hint


def test_message_key_is_stable_for_dicts_and_sdk_blocks():
    a = {"role": "user", "content": "hi"}
    assert l3.message_key(a) == l3.message_key({"content": "hi", "role": "user"})
    assert l3.message_key(a) != l3.message_key({"role": "user", "content": "hello"})


def test_lab_metadata():
    lab = Lab.load("l3_latency_profiling")
    assert [t.id for t in lab.tasks] == ["bottleneck", "fix", "distribution"]
    assert lab.lesson == "M1 L3 Latency Profiling"
    for task in lab.tasks:
        assert len(task.hints) == 3
        assert "No reference" not in lab.reference(task.id).title
