"""Foundations 04's exercises: each check passes the reference, calls the stub "not attempted", and fails a
plausible wrong attempt with the message meant for it."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from agentkit import FAST_MODEL, exercises
from exercise_helpers import reference


class Grade(BaseModel):
    reason: str
    score: int = Field(ge=1, le=5)


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


@pytest.fixture
def lab():
    return exercises.load("f04")


def stub_agreement(judge_scores, human_scores):
    share = ...
    return share


def test_exact_agreement_three_ways(lab):
    assert lab.check("exact_agreement", reference("f04", "exact_agreement")).passed
    assert lab.check("exact_agreement", stub_agreement).status == "not_attempted"
    percent = lambda j, h: 100 * sum(a == b for a, b in zip(j, h)) / len(j)  # noqa: E731
    result = lab.check("exact_agreement", percent)
    assert result.status == "wrong" and "not a percentage" in result.message
    within_one = lambda j, h: sum(abs(a - b) <= 1 for a, b in zip(j, h)) / len(j)  # noqa: E731
    assert lab.check("exact_agreement", within_one).status == "wrong"


def stub_grade(client, rubric, response):
    ...  # your code
    return score  # noqa: F821


def json_in_prose(client, rubric, response):
    reply = client.messages.create(model=FAST_MODEL, max_tokens=300,
                                   system="Grade the response with the rubric. Reply in JSON with reason and score.\n"
                                   + rubric, messages=[{"role": "user", "content": response}])
    return json.loads(reply.content[0].text)["score"]


def no_rubric(client, rubric, response):
    reply = client.messages.parse(model=FAST_MODEL, max_tokens=300, output_format=Grade,
                                  system="You are an evaluator. Grade the response from 1 to 5.",
                                  messages=[{"role": "user", "content": response}])
    return reply.parsed_output.score


def returns_the_verdict(client, rubric, response):
    reply = client.messages.parse(model=FAST_MODEL, max_tokens=300, output_format=Grade, system=rubric,
                                  messages=[{"role": "user", "content": response}])
    return reply.parsed_output


def test_judge_call_three_ways(lab):
    result = lab.check("judge_call", reference("f04", "judge_call", Grade=Grade))
    assert result.passed, result.message
    assert lab.check("judge_call", stub_grade).status == "not_attempted"
    result = lab.check("judge_call", json_in_prose)
    assert result.status == "wrong" and "structured outputs" in result.message
    result = lab.check("judge_call", no_rubric)
    assert result.status == "wrong" and "rubric did not reach the model" in result.message
    result = lab.check("judge_call", returns_the_verdict)
    assert result.status == "invalid" and "return the verdict's score" in result.message
    assert lab.check("judge_call", lambda client, rubric, response: 4).status == "wrong"


def test_hints_stop_short_of_the_solution(lab):
    for task in ("exact_agreement", "judge_call"):
        hints = [lab.hint(task, n).body for n in (1, 2, 3)]
        assert all(h and h not in lab.solutions[task] for h in hints)
