"""A Message as the API's server-sent event stream, with the delays between events.

The sequence is the API's: `message_start`, then per content block `content_block_start`, its deltas
(`text_delta` about three words at a time, `citations_delta`, `thinking_delta` + `signature_delta`,
`input_json_delta`) and `content_block_stop`, a `ping` after the first block starts, then
`message_delta` (stop reason, output tokens) and `message_stop`. The time to first token comes before
the first delta and the output time is spread over the rest, so a streamed reply takes as long as the
same reply sent whole.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from .faults import stream_error_event
from .latency import Timing

#: Characters of a tool call's JSON input per `input_json_delta`.
JSON_CHUNK = 24


def event(name: str, data: dict[str, Any]) -> bytes:
    """One SSE event, encoded as the API sends it."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def word_groups(text: str) -> list[str]:
    """`text` cut into pieces of about three words (whitespace kept), as the API groups tokens into deltas."""
    parts = re.findall(r"\S+\s*|\s+", text) or [""]
    return ["".join(parts[j:j + 3]) for j in range(0, len(parts), 3)]


def _pieces(content: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any], list[dict[str, Any]]]]:
    """Per block: its index, the block as `content_block_start` carries it, and its deltas."""
    pieces: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = []
    for i, block in enumerate(content):
        if block["type"] == "text":
            # citations first (as citations_delta), then the words, ~3 per delta as the API groups tokens
            deltas = [{"type": "citations_delta", "citation": c} for c in block.get("citations") or []]
            deltas += [{"type": "text_delta", "text": w} for w in word_groups(block["text"])]
            pieces.append((i, {"type": "text", "text": ""}, deltas))
        elif block["type"] == "thinking":
            deltas = [{"type": "thinking_delta", "thinking": w} for w in word_groups(block["thinking"])
                      if w] + [{"type": "signature_delta", "signature": block["signature"]}]
            pieces.append((i, {"type": "thinking", "thinking": "", "signature": ""}, deltas))
        elif block["type"] in ("tool_use", "server_tool_use"):
            js = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": js[j:j + JSON_CHUNK]}
                      for j in range(0, len(js), JSON_CHUNK)]
            pieces.append((i, {**block, "input": {}}, deltas))
        else:  # redacted thinking and server-tool results arrive whole in content_block_start
            pieces.append((i, block, []))
    return pieces


def encode(message: dict[str, Any], timing: Timing, scale: float,
           broken: bool = False, dropped: bool = False) -> Iterable[tuple[float, bytes]]:
    """The real event sequence, with real delays (simulated seconds times `scale`): TTFT before the first delta,
    then output at the model's rate. `broken`: the stream stops after its first content delta with the API's
    mid-stream `event: error`. `dropped`: it stops there with nothing more (the transport then drops the
    connection)."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**message["usage"], "output_tokens": 1}}
    yield 0.0, event("message_start", {"type": "message_start", "message": start})
    pieces = _pieces(message["content"])
    total_pieces = sum(len(deltas) for _, _, deltas in pieces)
    per_delta = timing.output_seconds / max(total_pieces, 1) * scale
    first = True
    for i, block_start, deltas in pieces:
        yield 0.0, event("content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": block_start})
        if i == 0:
            yield 0.0, event("ping", {"type": "ping"})
        for d in deltas:
            delay = timing.ttft * scale if first else per_delta
            first = False
            yield delay, event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
            if broken:
                yield per_delta, event("error", stream_error_event())
                return
            if dropped:
                return
        yield 0.0, event("content_block_stop", {"type": "content_block_stop", "index": i})
    # The last share of output time comes before message_delta, so a stream takes ttft + output time in all,
    # the same total as the non-streamed reply.
    yield (timing.ttft * scale if first else per_delta), event("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"],
                  **({"stop_details": message["stop_details"]} if message.get("stop_details") else {})},
        "usage": {"output_tokens": message["usage"]["output_tokens"]},
    })
    yield 0.0, event("message_stop", {"type": "message_stop"})
