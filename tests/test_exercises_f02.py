"""Foundations 02's exercises: each check passes the reference, calls the stub "not attempted", and fails a
plausible wrong attempt with the message meant for it."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from agentkit import ToolError, exercises
from exercise_helpers import reference


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


@pytest.fixture
def lab():
    return exercises.load("f02")


def test_definition_three_ways(lab):
    good = reference("f02", "definition")
    assert lab.check("definition", good).passed
    assert lab.check("definition", ...).status == "not_attempted"
    assert lab.check("definition", {"name": "convert_currency", "description": ..., "input_schema": ...}).status \
        == "not_attempted"
    no_enum = copy.deepcopy(good)
    del no_enum["input_schema"]["properties"]["currency"]["enum"]
    result = lab.check("definition", no_enum)
    assert result.status == "wrong" and "cannot convert" in result.message
    not_required = copy.deepcopy(good)
    del not_required["input_schema"]["required"]
    result = lab.check("definition", not_required)
    assert result.status == "wrong" and "leaves out" in result.message
    text_amount = copy.deepcopy(good)
    text_amount["input_schema"]["properties"]["amount"]["type"] = "string"
    assert lab.check("definition", text_amount).status == "wrong"
    no_type = copy.deepcopy(good)
    del no_type["input_schema"]["type"]
    result = lab.check("definition", no_type)
    assert result.status == "wrong" and "refused" in result.message, result.message
    undocumented = copy.deepcopy(good)
    del undocumented["input_schema"]["properties"]["amount"]["description"]
    result = lab.check("definition", undocumented)
    assert result.status == "wrong" and "no description" in result.message
    assert lab.check("definition", "convert_currency").status == "invalid"


def stub_minutes(start: str, end: str) -> int:
    ...  # your code


def returns_error_text(start: str, end: str) -> int:
    """How many minutes pass between two times on the same day.

    Args:
        start: the earlier time, as HH:MM
        end: the later time, as HH:MM
    """
    try:
        a, b = datetime.strptime(start, "%H:%M"), datetime.strptime(end, "%H:%M")
    except ValueError:
        return "bad time"
    if b < a:
        return "end is before start"
    return int((b - a).total_seconds() // 60)


def vague_error(start: str, end: str) -> int:
    """How many minutes pass between two times on the same day.

    Args:
        start: the earlier time, as HH:MM
        end: the later time, as HH:MM
    """
    try:
        a, b = datetime.strptime(start, "%H:%M"), datetime.strptime(end, "%H:%M")
    except ValueError:
        raise ToolError("invalid input") from None
    if b < a:
        raise ToolError("invalid input")
    return int((b - a).total_seconds() // 60)


def no_args_section(start: str, end: str) -> int:
    """How many minutes pass between two times on the same day."""
    a, b = datetime.strptime(start, "%H:%M"), datetime.strptime(end, "%H:%M")
    return int((b - a).total_seconds() // 60)


def test_error_tool_three_ways(lab):
    assert lab.check("error_tool", reference("f02", "error_tool")).passed
    assert lab.check("error_tool", stub_minutes).status == "not_attempted"
    result = lab.check("error_tool", returns_error_text)
    assert result.status == "wrong" and "Raise an exception" in result.message
    result = lab.check("error_tool", vague_error)
    assert result.status == "wrong" and "Name the value" in result.message
    result = lab.check("error_tool", no_args_section)
    assert result.status == "wrong" and "Args:" in result.message


def test_hints_stop_short_of_the_solution(lab):
    for task in ("definition", "error_tool"):
        hints = [lab.hint(task, n).body for n in (1, 2, 3)]
        assert all(h and h not in lab.solutions[task] for h in hints)
