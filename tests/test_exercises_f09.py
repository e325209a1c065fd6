"""Lesson 09's checked exercises, each tested three ways: the reference passes, the stub is "not attempted",
and plausible wrong attempts fail with the message meant for them."""

from __future__ import annotations

from typing import Literal

import anthropic
import pydantic
import pytest

import agentkit
from agentkit import exercises


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


def _reference(lab, task_id):
    namespace: dict = {}
    code = lab.solutions[task_id]
    import textwrap

    exec(compile(textwrap.dedent(code), f"<f09.{task_id}>", "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace[lab.answers[task_id]]


def test_tagline_schema_three_ways():
    lab = exercises.load("f09")
    assert lab.check("tagline_schema", _reference(lab, "tagline_schema")).passed
    assert lab.check("tagline_schema", ...).status == "not_attempted"

    class NoLimit(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        text: str
        tone: Literal["punchy", "calm"]

    result = lab.check("tagline_schema", NoLimit)
    assert result.status == "wrong" and "41 characters" in result.message

    class Open(pydantic.BaseModel):
        text: str = pydantic.Field(max_length=40)
        tone: Literal["punchy", "calm"]

    result = lab.check("tagline_schema", Open)
    assert result.status == "wrong" and "extra field" in result.message


def _stub(client, brief, schema):
    tagline, verdict = ..., ...
    return tagline, verdict


def _text(reply):
    return "".join(b.text for b in reply.content if b.type == "text")


def _json_in_prose(client, brief, schema):
    """The old way: ask for JSON in the prompt, no structured outputs."""
    reply = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=300, system="Reply in JSON.",
                                   messages=[{"role": "user", "content": brief}])
    return schema.model_validate_json(_text(reply)), "n/a"


def _no_validation(client, brief, schema):
    """Structured outputs, but the handoff is never checked: the critic runs on an invalid tagline."""
    reply = client.messages.create(
        model=agentkit.DEFAULT_MODEL, max_tokens=300, messages=[{"role": "user", "content": brief}],
        output_config={"format": {"type": "json_schema", "schema": anthropic.transform_schema(schema)}})
    data = schema.model_construct(**__import__("json").loads(_text(reply)))
    review = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=200,
                                    messages=[{"role": "user", "content": data.text}])
    return data, _text(review)


def _sends_the_brief_on(client, brief, schema):
    reply = client.messages.create(
        model=agentkit.DEFAULT_MODEL, max_tokens=300, messages=[{"role": "user", "content": brief}],
        output_config={"format": {"type": "json_schema", "schema": anthropic.transform_schema(schema)}})
    try:
        tagline = schema.model_validate_json(_text(reply))
    except pydantic.ValidationError as error:
        return None, str(error)
    review = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=200,
                                    messages=[{"role": "user", "content": f"{brief}\n\nTagline: {tagline.text}"}])
    return tagline, _text(review)


def test_copy_then_critic_three_ways():
    lab = exercises.load("f09")
    result = lab.check("copy_then_critic", _reference(lab, "copy_then_critic"))
    assert result.passed, result.message
    assert lab.check("copy_then_critic", _stub).status == "not_attempted"
    result = lab.check("copy_then_critic", _json_in_prose)
    assert result.status == "wrong" and "no structured output" in result.message
    result = lab.check("copy_then_critic", _no_validation)
    assert result.status == "wrong" and "yet your code called the critic" in result.message
    result = lab.check("copy_then_critic", _sends_the_brief_on)
    assert result.status == "wrong" and "sent the brief as well" in result.message
    assert lab.check("copy_then_critic", "call the model").status == "invalid"


def test_hints_come_in_three_steps_and_never_hold_the_solution():
    lab = exercises.load("f09")
    for task in lab.tasks:
        assert len(task.hints) == 3
        for hint in task.hints:
            assert "return tagline, review" not in hint and "class Tagline" not in hint
