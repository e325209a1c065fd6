"""Lesson 12's exercises, checked three ways: the reference passes, the stub is not attempted, a plausible wrong
attempt fails with the intended message."""

from __future__ import annotations

import textwrap

from agentkit import exercises, profile
from agentkit.exercises import p12


def _solution(task: str):
    lab = exercises.load("p12")
    namespace = {"TRIMMED": p12.TRIMMED, "profile": profile, "p12": p12}
    exec(textwrap.dedent(lab.solutions[task]), namespace)
    return namespace[lab.answers[task]]


def test_largest_bucket():
    lab = exercises.load("p12")
    assert lab.check("largest_bucket", _solution("largest_bucket")).status == "passed"
    assert lab.check("largest_bucket", ...).status == "not_attempted"
    wrong = lab.check("largest_bucket", "history")
    assert wrong.status == "wrong" and "Input by bucket" in wrong.message
    assert "system" not in wrong.message  # never the expected value
    assert lab.check("largest_bucket", "system prompt").status == "passed"  # the report's own words


def test_trim_old_results():
    lab = exercises.load("p12")
    result = lab.check("trim_old_results", _solution("trim_old_results"))
    assert result.status == "passed", result.message
    assert "instead of [2, 3, 4]" in result.message

    def stub(messages):
        trimmed = ...
        return trimmed

    assert lab.check("trim_old_results", stub).status == "not_attempted"

    def trims_everything(messages):
        return [{**m, "content": [{**b, "content": p12.TRIMMED} if b.get("type") == "tool_result" else b
                                  for b in m["content"]]} if isinstance(m["content"], list) else m for m in messages]

    wrong = lab.check("trim_old_results", trims_everything)
    assert wrong.status == "wrong" and "last round must stay whole" in wrong.message

    def in_place(messages):
        for m in messages[:-1]:
            if isinstance(m["content"], list):
                for b in m["content"]:
                    if b.get("type") == "tool_result":
                        b["content"] = p12.TRIMMED
        return messages

    wrong = lab.check("trim_old_results", in_place)
    assert wrong.status == "wrong" and "changed the list it was given" in wrong.message
