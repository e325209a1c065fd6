"""Tests for agentkit.sim.sse: a Message encoded as the API's event stream, with its delays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit.sim import sse
from agentkit.sim.latency import Timing

MESSAGE: dict[str, Any] = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
    "content": [
        {"type": "thinking", "thinking": "Look it up, then answer briefly.", "signature": "sig=="},
        {"type": "text", "text": "The weather in Paris is mild today, with light rain.",
         "citations": [{"type": "web_search_result_location", "url": "https://example.com", "title": "t",
                        "encrypted_index": "x", "cited_text": "mild"}]},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
         "input": {"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}},
    ],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 40},
}


def decode(chunks: list[tuple[float, bytes]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for _, chunk in chunks:
        head, data = chunk.decode().rstrip("\n").split("\n")
        assert head.startswith("event: ") and data.startswith("data: ") and chunk.endswith(b"\n\n")
        out.append((head[len("event: "):], json.loads(data[len("data: "):])))
    return out


def reassemble(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Rebuild the message from its events, as a client accumulates them."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for name, data in events:
        assert data["type"] == name
        if name == "message_start":
            message = data["message"]
        elif name == "content_block_start":
            assert data["index"] == len(message["content"])
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, d = message["content"][data["index"]], data["delta"]
            if d["type"] == "text_delta":
                block["text"] += d["text"]
            elif d["type"] == "citations_delta":
                block.setdefault("citations", []).append(d["citation"])
            elif d["type"] == "thinking_delta":
                block["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                block["signature"] = d["signature"]
            elif d["type"] == "input_json_delta":
                partial[data["index"]] = partial.get(data["index"], "") + d["partial_json"]
        elif name == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial.pop(data["index"]))
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"]["output_tokens"] = data["usage"]["output_tokens"]
    return message


def test_the_stream_rebuilds_the_message_exactly():
    events = decode(list(sse.encode(MESSAGE, Timing(0.5, 2.0), scale=1.0)))
    names = [n for n, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == len(MESSAGE["content"])
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["usage"]["output_tokens"] == 1
    assert reassemble(events) == MESSAGE
    # the tool input arrives in pieces of JSON_CHUNK characters
    pieces = [d["delta"]["partial_json"] for n, d in events
              if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"]
    assert len(pieces) > 1 and all(len(p) <= sse.JSON_CHUNK for p in pieces)


@pytest.mark.parametrize("scale", [1.0, 0.25, 0.0])
def test_delays_add_up_to_the_replys_time_ttft_first(scale):
    timing = Timing(0.5, 2.0)
    chunks = list(sse.encode(MESSAGE, timing, scale=scale))
    assert sum(d for d, _ in chunks) == pytest.approx(timing.total * scale)
    events = decode(chunks)
    first_delta = next(i for i, (n, _) in enumerate(events) if n == "content_block_delta")
    assert all(d == 0 for d, _ in chunks[:first_delta]) and chunks[first_delta][0] == pytest.approx(0.5 * scale)


def test_a_message_without_deltas_still_takes_its_time():
    message = {**MESSAGE, "content": [{"type": "redacted_thinking", "data": "x"}]}
    chunks = list(sse.encode(message, Timing(0.3, 1.0), scale=1.0))
    assert sum(d for d, _ in chunks) == pytest.approx(0.3)  # only TTFT: no deltas carry the output time
    assert reassemble(decode(chunks))["content"] == message["content"]


def test_a_broken_stream_ends_with_the_apis_error_event():
    events = decode(list(sse.encode(MESSAGE, Timing(0.1, 0.1), scale=0.0, broken=True)))
    assert [n for n, _ in events][-2:] == ["content_block_delta", "error"]
    assert events[-1][1]["error"]["type"] == "overloaded_error"
    assert sum(1 for n, _ in events if n == "content_block_delta") == 1


def test_word_groups_keep_every_character():
    text = "  one two  three four five\nsix "
    groups = sse.word_groups(text)
    assert "".join(groups) == text and len(groups) == 3
    assert sse.word_groups("") == [""]
