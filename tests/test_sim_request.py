"""Tests for agentkit.sim.request: a request body read once into the value validation, usage and the policy share."""

from __future__ import annotations

import dataclasses
import json

import pytest

from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.sim import fallbacks, structured, thinking, validate
from agentkit.sim.errors import APIError
from agentkit.sim.latency import Timing
from agentkit.sim.request import MessagesRequest

BODY = {"model": DEFAULT_MODEL, "max_tokens": 300, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Give me a city as JSON."}],
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}], "tool_choice": {"type": "auto"},
        "output_config": {"format": {"type": "json_schema", "schema": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
            "additionalProperties": False}}},
        "stop_sequences": ["END"], "stream": True, "metadata": {"user_id": "u1"}}


def test_fields_are_read_from_the_body_once():
    raw = json.dumps(BODY).encode()
    req = MessagesRequest.of(json.loads(raw), raw)
    assert (req.model, req.max_tokens, req.system, req.stop_sequences) == (DEFAULT_MODEL, 300, "Be brief.", ["END"])
    assert req.messages is req.body["messages"] and req.tools is req.body["tools"]  # shared, not copied
    assert req.tool_choice == {"type": "auto"} and req.thinking is None and req.stream is True
    assert req.size == len(raw) and MessagesRequest.of(BODY).size == 0
    assert structured.output_schema(req) == BODY["output_config"]["format"]["schema"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.model = FAST_MODEL  # type: ignore[misc]


def test_absent_fields_are_none_and_stream_follows_truthiness():
    req = MessagesRequest.of({})
    assert req.model is None and req.messages is None and req.max_tokens is None and req.stream is False
    assert MessagesRequest.of({"stream": 0}).stream is False and MessagesRequest.of({"stream": 1}).stream is True


def test_without_fallbacks_keeps_the_bytes_and_leaves_the_body_alone():
    req = MessagesRequest.of(BODY, b"raw")
    assert req.without_fallbacks() is req
    chained = MessagesRequest.of({**BODY, "fallbacks": [{"model": FAST_MODEL}]}, b"raw")
    primary = chained.without_fallbacks()
    assert "fallbacks" not in primary.body and "fallbacks" in chained.body
    assert primary.raw == b"raw" and primary.model == DEFAULT_MODEL
    assert req.with_raw(b"other").raw == b"other" and req.with_raw(b"other").body is req.body


@pytest.mark.parametrize("change, message", [
    ({"model": None}, "model: Field required"),
    ({"model": 5}, "model: Input should be a valid string"),
    ({"max_tokens": True}, "max_tokens: Input should be a whole number"),
    ({"messages": []}, "messages: at least one message is required"),
    ({"system": 3}, "system: Input should be a valid string"),
    ({"tool_choice": {"type": "tool", "name": "nope"}}, "tool_choice.name: no tool named 'nope'"),
    ({"stop_sequences": [""]}, "stop_sequences: Input should be a list of non-empty strings"),
])
def test_validation_reads_the_request_and_says_what_is_wrong(change, message):
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    for check in (lambda: validate.messages_request(MessagesRequest.of(body)), lambda: validate.messages_body(body)):
        with pytest.raises(APIError, match=message):
            check()


def test_feature_checks_and_fallback_attempts_take_the_request():
    with pytest.raises(APIError, match="thinking.type: Input tag 'sometimes'"):
        thinking.validate(MessagesRequest.of({**BODY, "thinking": {"type": "sometimes"}}))
    with pytest.raises(APIError, match="output_config.format.type: Input should be 'json_schema'"):
        structured.validate(MessagesRequest.of({**BODY, "output_config": {"format": {"type": "xml"}}}))
    seen = []
    primary = MessagesRequest.of({**BODY, "fallbacks": [{"model": FAST_MODEL, "max_tokens": 99}]}).without_fallbacks()

    def answer(r: MessagesRequest):
        seen.append((r.model, r.max_tokens, r is primary))
        return Timing(1.0, 1.0), {
            "stop_reason": "refusal" if len(seen) == 1 else "end_turn", "content": []}

    entries = [{"model": FAST_MODEL, "max_tokens": 99}]
    timing, message = fallbacks.serve(primary, entries, answer, check=lambda r: seen.append(("checked", r.model)))
    assert timing == Timing(3.0, 1.0)  # the declined attempt's whole time comes before the fallback's first token
    assert seen == [(DEFAULT_MODEL, 300, True), ("checked", FAST_MODEL), (FAST_MODEL, 99, False)]
    assert message["content"][0]["type"] == "fallback"
