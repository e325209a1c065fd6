"""Structured outputs through the real SDK: output_config.format, messages.parse, stream(output_format=...),
strict tools, and the default policy's schema-filled arguments."""

from __future__ import annotations

import json
from typing import Literal

import anthropic
import jsonschema
import pydantic
import pytest

from agentkit import models
from agentkit.sim import Scenario, simulator_of
from agentkit.sim.structured import sample
from sim_helpers import user

MODEL = models.DEFAULT_MODEL


class Contact(pydantic.BaseModel):
    name: str
    email: str
    plan: Literal["free", "pro", "enterprise"]
    seats: int = pydantic.Field(ge=1)
    tags: list[str]


pytestmark = pytest.mark.usefixtures("no_latency")


def test_parse_returns_a_validated_object(c):
    m = c.messages.parse(model=MODEL, max_tokens=500, output_format=Contact,
                         messages=user("Extract the contact: Grace Hopper, grace@example.com, pro plan, 5 seats."))
    assert isinstance(m.parsed_output, Contact)
    # the values come from the text: the enum value it names, the number next to "seats", the name and e-mail
    assert (m.parsed_output.name, m.parsed_output.email) == ("Grace Hopper", "grace@example.com")
    assert m.parsed_output.plan == "pro" and m.parsed_output.seats == 5
    assert json.loads(m.content[0].text) == m.parsed_output.model_dump()


def test_a_scenario_scripts_the_json_and_it_is_checked(c):
    simulator_of(c).register(Scenario.from_dict({"name": "extract", "match": "Grace Hopper", "turns": [
        {"json": {"name": "Grace Hopper", "email": "grace@example.com", "plan": "pro", "seats": 5,
                  "tags": ["navy"]}}]}))
    m = c.messages.parse(model=MODEL, max_tokens=500, output_format=Contact, messages=user("Grace Hopper, pro"))
    assert m.parsed_output == Contact(name="Grace Hopper", email="grace@example.com", plan="pro", seats=5,
                                      tags=["navy"])
    simulator_of(c).register(Scenario.from_dict({"name": "bad", "match": "Ada", "turns": [{"json": {"name": 3}}]}))
    with pytest.raises(anthropic.InternalServerError, match="does not match"):
        c.with_options(max_retries=0).messages.parse(model=MODEL, max_tokens=500, output_format=Contact,
                                                     messages=user("Ada"))


def test_stream_with_output_format(c):
    with c.messages.stream(model=MODEL, max_tokens=500, output_format=Contact,
                           messages=user("Extract: Alan Turing, alan@example.com")) as stream:
        final = stream.get_final_message()
    assert isinstance(final.parsed_output, Contact)


def test_raw_output_config_format(c):
    schema = {"type": "object", "additionalProperties": False, "required": ["answer", "confidence"],
              "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "minimum": 0,
                                                                          "maximum": 1}}}
    m = c.messages.create(model=MODEL, max_tokens=300, messages=user("Is water wet?"),
                          output_config={"format": {"type": "json_schema", "schema": schema}})
    jsonschema.validate(json.loads(m.content[0].text), schema)


@pytest.mark.parametrize("fmt, phrase", [
    ({"type": "json_object", "schema": {}}, "json_schema"),
    ({"type": "json_schema"}, "schema: Field required"),
    ({"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
     "additionalProperties"),
    ({"type": "json_schema", "schema": {"type": "nonsense"}}, "not a valid JSON schema"),
])
def test_bad_formats_get_400(c, fmt, phrase):
    with pytest.raises(anthropic.BadRequestError, match=phrase):
        c.messages.create(model=MODEL, max_tokens=100, messages=user("x"), output_config={"format": fmt})


NESTED_TOOL = {
    "name": "create_ticket",
    "description": "Create a support ticket for a customer",
    "strict": True,
    "input_schema": {
        "type": "object", "additionalProperties": False, "required": ["customer", "priority", "items"],
        "properties": {
            "customer": {"$ref": "#/$defs/customer"},
            "priority": {"type": "string", "enum": ["low", "high"]},
            "items": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 3}},
            "note": {"type": "string"},
        },
        "$defs": {"customer": {"type": "object", "additionalProperties": False, "required": ["name", "id"],
                               "properties": {"name": {"type": "string"}, "id": {"type": "integer"}}}},
    },
}


def test_default_policy_fills_required_arguments_from_the_schema(c):
    m = c.messages.create(model=MODEL, max_tokens=300, tools=[NESTED_TOOL],
                          messages=user("Please create a ticket for Marie"))
    call = next(b for b in m.content if b.type == "tool_use")
    jsonschema.validate(call.input, NESTED_TOOL["input_schema"])
    assert call.input["customer"]["name"] == "Marie" and call.input["items"] == [3]


def test_strict_tool_inputs_from_scenarios_are_checked(c):
    simulator_of(c).register(Scenario.from_dict({"name": "t", "match": "ticket for Bob", "turns": [
        {"tool_calls": [{"name": "create_ticket", "input": {"customer": {"name": "Bob"}}}]}]}))
    with pytest.raises(anthropic.InternalServerError, match="strict tool"):
        c.with_options(max_retries=0).messages.create(model=MODEL, max_tokens=300, tools=[NESTED_TOOL],
                                                      messages=user("a ticket for Bob"))


def test_a_strict_tool_needs_a_closed_schema(c):
    open_tool = {**NESTED_TOOL, "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}}
    with pytest.raises(anthropic.BadRequestError, match="tools.0.input_schema"):
        c.messages.create(model=MODEL, max_tokens=100, tools=[open_tool], messages=user("x"))


def test_sample_covers_anyof_const_formats_and_lengths():
    schema = {"type": "object", "required": ["a", "b", "c", "d"], "properties": {
        "a": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]},
        "b": {"const": 7},
        "c": {"type": "string", "minLength": 12},
        "d": {"type": ["null", "boolean"]}}}
    value = sample(schema, "hello")
    jsonschema.validate(value, schema)
    assert value["a"] == "2026-11-30" and value["b"] == 7 and value["d"] is True


class Team(pydantic.BaseModel):
    lead: Contact = pydantic.Field(description="who runs the team")
    size: int


def test_a_description_beside_a_ref_is_accepted(c):
    # anthropic 2.17's transform_schema keeps a field's description beside its $ref; the API takes that schema
    schema = anthropic.transform_schema(Team)
    assert schema["properties"]["lead"] == {"$ref": "#/$defs/Contact", "description": "who runs the team"}
    m = c.messages.parse(model=MODEL, max_tokens=800, output_format=Team,
                         messages=user("Grace Hopper (grace@example.com, pro plan, 5 seats) leads a team of 7."))
    assert isinstance(m.parsed_output, Team) and isinstance(m.parsed_output.lead, Contact)
