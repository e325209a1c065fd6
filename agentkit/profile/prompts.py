"""Prompt contents recorded on a model span, rebuilt as the Messages API request that was sent.

Instrumentations record prompts (when asked to) in three shapes, listed in `trace_attributes.yaml`
(`prompts:`): OpenInference's whole request as JSON (`input.value`), the GenAI convention's message JSON
(`gen_ai.input.messages`, `gen_ai.system_instructions`, `gen_ai.tool.definitions`), and older OpenLLMetry's
flattened `gen_ai.prompt.{i}.*`. `request_of(attributes)` turns any of them into `{"system", "tools",
"messages"}` in Anthropic's shape, which is what `agentkit.costs.request_buckets` splits into the four buckets:
the analysis is the kit's, only the reading is new.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["request_of", "CONTENT_ATTRIBUTES"]

#: Attributes that hold prompt or reply contents: dropped once the buckets are counted, so a long trace's
#: memory does not grow with every prompt it recorded.
CONTENT_ATTRIBUTES = ("input.value", "output.value", "gen_ai.input.messages", "gen_ai.output.messages",
                      "gen_ai.system_instructions", "gen_ai.tool.definitions")
_CONTENT_PREFIXES = ("llm.input_messages.", "llm.output_messages.", "llm.tools.", "gen_ai.prompt.",
                     "gen_ai.completion.", "llm.request.functions.")


def is_content(name: str) -> bool:
    return name in CONTENT_ATTRIBUTES or name.startswith(_CONTENT_PREFIXES)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _from_request_json(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    mime = attrs.get("input.mime_type")
    if mime not in (None, "application/json"):
        return None
    request = _json(attrs.get("input.value"))
    if isinstance(request, dict) and isinstance(request.get("messages"), list):
        return request
    return None


def _part(part: Any) -> dict[str, Any] | None:
    """One GenAI-convention message part as an Anthropic content block."""
    if not isinstance(part, dict):
        return None
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": str(part.get("content", ""))}
    if kind == "tool_call":
        args = part.get("arguments")
        return {"type": "tool_use", "id": str(part.get("id", "")), "name": str(part.get("name", "")),
                "input": args if isinstance(args, dict) else _json(args) or {}}
    if kind == "tool_call_response":
        result = part.get("response", part.get("result", ""))
        return {"type": "tool_result", "tool_use_id": str(part.get("id", "")),
                "content": result if isinstance(result, str) else json.dumps(result)}
    if kind in ("reasoning", "thinking"):
        return {"type": "thinking", "thinking": str(part.get("content", ""))}
    return {"type": "text", "text": json.dumps(part)}


def _from_genai_json(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    messages_in = _json(attrs.get("gen_ai.input.messages"))
    if not isinstance(messages_in, list):
        return None
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for m in messages_in:
        if not isinstance(m, dict):
            continue
        blocks = [b for b in (_part(p) for p in m.get("parts") or ()) if b is not None]
        role = m.get("role")
        if role == "system":
            system += blocks
        else:
            messages.append({"role": "assistant" if role == "assistant" else "user", "content": blocks})
    for part in _json(attrs.get("gen_ai.system_instructions")) or ():
        block = _part(part)
        if block is not None:
            system.append(block)
    tools = _json(attrs.get("gen_ai.tool.definitions"))
    return {"system": system, "tools": tools if isinstance(tools, list) else [], "messages": messages}


def _content_blocks(content: Any) -> Any:
    parsed = _json(content) if isinstance(content, str) and content[:1] == "[" else None
    return parsed if isinstance(parsed, list) else str(content)


def _from_flattened(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    rows: dict[int, dict[str, Any]] = {}
    tools: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if key.startswith("gen_ai.prompt."):
            index, _, field = key[len("gen_ai.prompt."):].partition(".")
            if index.isdigit():
                rows.setdefault(int(index), {})[field] = value
        elif key.startswith("llm.request.functions."):
            index, _, field = key[len("llm.request.functions."):].partition(".")
            if index.isdigit():
                tools.setdefault(int(index), {})[field] = _json(value) if field == "input_schema" else value
    if not rows:
        return None
    system: list[Any] = []
    messages: list[dict[str, Any]] = []
    for i in sorted(rows):
        role, content = rows[i].get("role"), rows[i].get("content", "")
        if role == "system":
            system.append({"type": "text", "text": str(content)})
        else:
            messages.append({"role": "assistant" if role == "assistant" else "user",
                             "content": _content_blocks(content)})
    return {"system": system, "tools": [tools[i] for i in sorted(tools)], "messages": messages}


def request_of(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request a model span recorded, in Anthropic's shape; None when no prompt contents were recorded."""
    for read in (_from_request_json, _from_genai_json, _from_flattened):
        request = read(attributes)
        if request is not None and request.get("messages"):
            return request
    return None
