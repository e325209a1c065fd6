"""The in-lesson exercises of lessons 07-10: reference answers pass, typical mistakes are caught."""

from __future__ import annotations

import re
from typing import Literal

import pydantic
import pytest

from agentkit.patterns.exercises import exercises
from agentkit.patterns.reflection import Feedback


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


def tokens_per_fix(outcomes):
    fixed = sum(o.passed_with and not o.passed_without for o in outcomes)
    return sum(o.cost_with.tokens - o.cost_without.tokens for o in outcomes) / fixed


def no_placeholders(draft):
    found = re.findall(r"\[[A-Z_]+\]|\{[a-z_]+\}|TODO", draft)
    return Feedback(not found, tuple(f"unfilled placeholder {p}" for p in found), "placeholder check")


def test_lesson07_reference_answers_pass_and_mistakes_fail():
    lab = exercises(7)
    assert lab.check("tokens_per_fix", tokens_per_fix).passed
    only_fixed = lambda outcomes: sum(o.cost_with.tokens - o.cost_without.tokens for o in outcomes
                                      if o.passed_with and not o.passed_without) / 1
    assert lab.check("tokens_per_fix", only_fixed).status == "wrong"
    assert lab.check("tokens_per_fix", ...).status == "not_attempted"
    assert lab.check("placeholder_check", no_placeholders).passed
    too_strict = lambda d: Feedback("[" not in d and "{" not in d and "TODO" not in d, ("placeholder",))
    result = lab.check("placeholder_check", too_strict)
    assert result.status == "wrong" and "SG-101" in result.message
    assert lab.check("placeholder_check", lambda d: True).status == "wrong"


def test_lesson08_aviator_plan():
    lab = exercises(8)
    good = {"goal": "in-stock aviators", "steps": [
        {"id": "s1", "tool": "get_item_descriptions", "args": {"query": "aviator"}},
        {"id": "s2", "tool": "check_inventory", "args": {"item_ids": "$s1.id"}}]}
    assert lab.check("aviator_plan", good).passed
    no_stock = {"goal": "g", "steps": [{"id": "s1", "tool": "get_item_descriptions", "args": {"query": "round"}}]}
    assert lab.check("aviator_plan", no_stock).status == "wrong"
    refund = {"goal": "g", "steps": [*good["steps"], {"id": "s3", "tool": "process_item_return",
                                                       "args": {"order_id": "ORD-5531", "item_id": "SG-107"}}]}
    result = lab.check("aviator_plan", refund)
    assert result.status == "wrong" and "permission" in result.message
    assert lab.check("aviator_plan", "get aviators").status == "invalid"


def test_lesson09_tagline_schema():
    class Tagline(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        text: str = pydantic.Field(max_length=40)
        tone: Literal["punchy", "calm"]

    class Loose(pydantic.BaseModel):
        text: str
        tone: str

    lab = exercises(9)
    assert lab.check("tagline_schema", Tagline).passed
    result = lab.check("tagline_schema", Loose)
    assert result.status == "wrong" and "tone" in result.message
    assert lab.check("tagline_schema", {"text": "x"}).status == "invalid"


def test_lesson10_partition_by_endpoint():
    def partition_by_endpoint(lines):
        out = {}
        for line in lines:
            out.setdefault(line.split()[2], []).append(line)
        return out

    lab = exercises(10)
    assert lab.check("partition_by_endpoint", partition_by_endpoint).passed
    assert lab.check("partition_by_endpoint", lambda lines: {"all": lines}).status == "wrong"
    newest_first = lambda lines: {k: v[::-1] for k, v in partition_by_endpoint(lines).items()}
    assert lab.check("partition_by_endpoint", newest_first).status == "wrong"


def test_unknown_lesson_is_refused():
    with pytest.raises(ValueError, match="7, 8, 9, 10"):
        exercises(3)


@pytest.mark.parametrize("lesson", [7, 8, 9, 10])
def test_every_reference_solution_passes_its_own_check(lesson):
    lab = exercises(lesson)
    for task in lab.tasks:
        code = lab.reference(task.id).code
        assert code, f"lesson {lesson}: {task.id} has no reference solution"
        namespace: dict = {}
        # dont_inherit: run it as a notebook cell would, without this file's `from __future__ import annotations`
        exec(compile(code, f"<{lesson}.{task.id} solution>", "exec", dont_inherit=True), namespace)  # noqa: S102
        answer = namespace[lab.answers[task.id]]
        assert lab.check(task.id, answer).passed, f"lesson {lesson}: the solution of {task.id} fails its check"
