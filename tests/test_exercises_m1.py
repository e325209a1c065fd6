"""The checked exercises of M1 L1 and L3 (agentkit/exercises/m1_l1.py, m1_l3.py), each tested three ways:
the reference solution passes, the learner's stub is "not attempted", a plausible wrong attempt fails with the
intended message. Every check runs the learner's code on real simulated runs."""

from __future__ import annotations

import math
import textwrap

import pytest

from agentkit import exercises
from agentkit.tracing import tracer


@pytest.fixture
def l1(progress_db):
    return exercises.load("m1_l1")


@pytest.fixture
def l3(progress_db):
    return exercises.load("m1_l3")


def reference(lab, task):
    namespace: dict = {}
    exec(textwrap.dedent(lab.solutions[task]), namespace)
    return namespace[lab.answers[task]]


@pytest.mark.parametrize("lesson,task", [("m1_l1", "tool_span"), ("m1_l1", "heaviest_leaf"),
                                         ("m1_l3", "tool_seconds"), ("m1_l3", "percentile")])
def test_the_reference_solution_passes(progress_db, lesson, task):
    lab = exercises.load(lesson)
    result = lab.check(task, reference(lab, task))
    assert result.passed, result.message


# -- stubs, as the lesson cells hold them -------------------------------------------------------------------------


def test_stubs_are_not_attempted(l1, l3):
    def tool_span(step, call):
        return ...

    def heaviest_leaf(trace):
        answer = ...
        return answer

    def tool_seconds(trace):
        seconds = ...
        return seconds

    def percentile(values, q):
        p = ...
        return p

    assert l1.check("tool_span", tool_span).status == "not_attempted"
    assert l1.check("heaviest_leaf", heaviest_leaf).status == "not_attempted"
    assert l3.check("tool_seconds", tool_seconds).status == "not_attempted"
    assert l3.check("percentile", percentile).status == "not_attempted"


# -- plausible wrong attempts ------------------------------------------------------------------------------------


def test_a_span_named_with_the_call_id_is_told_to_keep_ids_in_attributes(l1):
    def tool_span(step, call):
        with tracer().start_as_current_span(f"tool.{call.name}.{call.id}", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name, "gen_ai.tool.call.id": call.id}):
            pass

    result = l1.check("tool_span", tool_span)
    assert result.status == "wrong" and "ids and inputs go into attributes" in result.message


def test_a_span_without_error_type_on_a_failed_call_is_wrong(l1):
    def tool_span(step, call):
        with tracer().start_as_current_span(f"tool.{call.name}", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name, "gen_ai.tool.call.id": call.id}):
            pass

    result = l1.check("tool_span", tool_span)
    assert result.status == "wrong" and "error.type = call.error_type" in result.message


def test_heaviest_leaf_counting_parents_is_wrong(l1):
    def heaviest_leaf(trace):
        table = trace.to_dataframe()
        totals = table.groupby("name")["duration_s"].agg(["sum", "count"])
        name = totals["sum"].idxmax()
        return str(name), int(totals.loc[name, "count"])

    result = l1.check("heaviest_leaf", heaviest_leaf)
    assert result.status == "wrong" and "leaf spans only" in result.message


def test_heaviest_leaf_hard_coded_to_the_lesson_run_fails_on_another_agent(l1):
    result = l1.check("heaviest_leaf", lambda trace: ("vector_db.query", 17))
    assert result.status == "wrong" and "another agent" in result.message


def test_heaviest_leaf_is_type_strict(l1):
    class Anything:
        def __eq__(self, other):
            return True

    assert not l1.check("heaviest_leaf", lambda trace: Anything()).passed
    assert not l1.check("heaviest_leaf", lambda trace: ["vector_db.query", 17]).passed


def test_summing_tool_durations_counts_overlap_twice(l3):
    def tool_seconds(trace):
        table = trace.to_dataframe()
        return float(table[table["kind"] == "tool"]["duration_s"].sum())

    result = l3.check("tool_seconds", tool_seconds)
    assert result.status == "wrong" and "Merge overlapping intervals" in result.message


def test_counting_the_spans_inside_tools_is_wrong(l3):
    def tool_seconds(trace):
        table = trace.to_dataframe()
        inside = table[(table["kind"] == "tool") | (table["name"] == "crm.request")]
        return float(inside["duration_s"].sum())

    result = l3.check("tool_seconds", tool_seconds)
    assert result.status == "wrong" and "crm.request" in result.message


def test_nearest_rank_percentile_is_told_to_interpolate(l3):
    def percentile(values, q):
        ordered = sorted(values)
        return float(ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1 if q else 0)])

    result = l3.check("percentile", percentile)
    assert result.status == "wrong" and "interpolate" in result.message.lower()


def test_percentile_is_type_strict(l3):
    assert not l3.check("percentile", lambda values, q: "3.5").passed


def test_hints_stop_short_and_no_answer_is_printed_by_a_stub(l1, l3):
    for lab in (l1, l3):
        for task in lab.tasks:
            assert len(task.hints) == 3
            solution = textwrap.dedent(lab.solutions[task.id])
            for hint in task.hints:
                assert "def " not in hint and "groupby(" not in hint
                assert not any(len(line.strip()) > 25 and line.strip() in hint for line in solution.splitlines())
