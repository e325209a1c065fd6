"""Lesson 10's checked exercises, each tested three ways: the reference passes, the stub is "not attempted",
and plausible wrong attempts fail with the message meant for them."""

from __future__ import annotations

import re
import textwrap

import pytest

import agentkit
from agentkit import exercises


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


def _reference(lab, task_id):
    namespace: dict = {}
    exec(compile(textwrap.dedent(lab.solutions[task_id]), f"<f10.{task_id}>", "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace[lab.answers[task_id]]


def test_partition_by_endpoint_three_ways():
    lab = exercises.load("f10")
    assert lab.check("partition_by_endpoint", _reference(lab, "partition_by_endpoint")).passed

    def stub(lines):
        partitions = ...
        return partitions

    assert lab.check("partition_by_endpoint", stub).status == "not_attempted"
    # Hard-coded to the lesson's four endpoints: passes the visible weeks, fails the hidden partitions.
    known = ("/api/orders", "/api/search", "/api/cart", "/api/login")

    def four_known(lines):
        out = {p: [line for line in lines if f" {p} " in line] for p in known}
        return {p: v for p, v in out.items() if v}

    result = lab.check("partition_by_endpoint", four_known)
    # which hidden partition fails first depends on the check's seed ("hidden partition", "hidden shuffled partition")
    assert result.status == "wrong" and re.search(r"hidden (\w+ )?partition", result.message) and "missing" in result.message
    sorted_lines = lambda lines: {k: sorted(v) for k, v in _reference(lab, "partition_by_endpoint")(lines).items()}
    result = lab.check("partition_by_endpoint", sorted_lines)
    assert result.status == "wrong" and "original order" in result.message


def _stub_map(client, partitions, schema):
    worst = ...
    return worst


def _parse(client, lines, schema):
    return client.messages.parse(model=agentkit.FAST_MODEL, max_tokens=400, output_format=schema,
                                 messages=[{"role": "user", "content": "\n".join(lines)}]).parsed_output


def _json_in_prose(client, partitions, schema):
    reports = {}
    for name, lines in partitions.items():
        reply = client.messages.create(model=agentkit.FAST_MODEL, max_tokens=400, system="Reply in JSON.",
                                       messages=[{"role": "user", "content": "\n".join(lines)}])
        reports[name] = schema.model_validate_json(reply.content[0].text)
    return max(reports, key=lambda n: reports[n].p95_ms)


def _everything_in_one_call(client, partitions, schema):
    """No map at all: one call over every partition's lines."""
    everything = [line for lines in partitions.values() for line in lines]
    _parse(client, everything, schema)
    return next(iter(partitions))


def _trimmed(client, partitions, schema):
    """Sends each partition's first ten lines "to save tokens"."""
    reports = {name: _parse(client, lines[:10], schema) for name, lines in partitions.items()}
    return max(reports, key=lambda n: reports[n].p95_ms)


def _reduce_by_errors(client, partitions, schema):
    """Maps right, reduces on the wrong field."""
    reports = {name: _parse(client, lines, schema) for name, lines in partitions.items()}
    return max(reports, key=lambda n: (reports[n].errors, n))


def test_map_reduce_three_ways():
    lab = exercises.load("f10")
    result = lab.check("map_reduce", _reference(lab, "map_reduce"))
    assert result.passed, result.message
    assert lab.check("map_reduce", _stub_map).status == "not_attempted"
    for wrong_fn, message in [(_json_in_prose, "no structured output"), (_everything_in_one_call, "one call per partition"),
                              (_trimmed, "leaves out"), (_reduce_by_errors, "higher p95_ms")]:
        result = lab.check("map_reduce", wrong_fn)
        assert result.status == "wrong" and message in result.message, (wrong_fn.__name__, result.message)


def test_hints_come_in_three_steps():
    lab = exercises.load("f10")
    for task in lab.tasks:
        assert len(task.hints) == 3
        assert all("return partitions" not in h and "parsed_output\n" not in h for h in task.hints)
