"""Request validation with the API's own error messages.

Each check raises `invalid_request_error` (or `not_found_error` for an unknown
model) naming the field by its path, e.g. `messages.2.content.0`, as the API
does, so a learner's mistake reads the same offline and live.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import models as _models
from .errors import APIError, invalid

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_KNOWN_BLOCKS = {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
                 "search_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
                 "tool_search_tool_result", "tool_reference"}


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


def _model(data: dict[str, Any]) -> None:
    model = data.get("model")
    if model is None:
        raise invalid("model: Field required")
    if not isinstance(model, str):
        raise invalid("model: Input should be a valid string")
    try:
        _models.info(model)
    except _models.ModelNotFoundError as err:
        # A retired id gets exactly the API's message; an id that never existed also names the served ones.
        hint = "" if err.retired else f" (the simulator serves {', '.join(_models.MODELS)})"
        raise APIError(f"model: {model}{hint}", "not_found_error") from None


def _system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string or a list of text blocks")
    for i, b in enumerate(system):
        if not isinstance(b, dict) or b.get("type") != "text" or not isinstance(b.get("text"), str):
            raise invalid(f"system.{i}: each system block must be {{\"type\": \"text\", \"text\": ...}}")


def _tools(data: dict[str, Any]) -> set[str]:
    tools = data.get("tools") or []
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names: set[str] = set()
    for i, t in enumerate(tools):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise invalid(f"tools.{i}.name: Field required")
        if not _TOOL_NAME.match(t["name"]):
            raise invalid(f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if t["name"] in names:
            raise invalid(f"tools: Tool names must be unique; {t['name']!r} appears twice")
        names.add(t["name"])
        if t.get("type") in (None, "custom"):
            schema = t.get("input_schema")
            if not isinstance(schema, dict):
                raise invalid(f"tools.{i}.input_schema: Field required")
            if schema.get("type") != "object":
                raise invalid(f"tools.{i}.input_schema.type: Input should be 'object'")
    choice = data.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if choice["type"] == "tool" and choice.get("name") not in names:
            raise invalid(f"tool_choice.name: no tool named {choice.get('name')!r} in tools")
        if choice["type"] in ("any", "tool") and not names:
            raise invalid("tool_choice: requires at least one tool in tools")
    return names


def _messages(messages: Any) -> None:
    if messages is None:
        raise invalid("messages: Field required")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    pending: set[str] = set()  # tool_use ids of the previous assistant message
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise invalid(f"messages.{i}: Input should be an object with role and content")
        role = m.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i == 0 and role != "user":
            raise invalid("messages: first message must use the \"user\" role")
        content = m.get("content")
        if content is None:
            raise invalid(f"messages.{i}.content: Field required")
        if isinstance(content, str):
            blocks: list[Any] = []
            if not content and not (role == "assistant" and i == len(messages) - 1):
                raise invalid(f"messages.{i}: all messages must have non-empty content except for the optional "
                              "final assistant message")
        elif isinstance(content, list):
            blocks = content
            if not blocks:
                raise invalid(f"messages.{i}: all messages must have non-empty content except for the optional "
                              "final assistant message")
        else:
            raise invalid(f"messages.{i}.content: Input should be a valid string or list of content blocks")
        if role == "assistant" and i == len(messages) - 1 and _ends_with_space(content):
            raise invalid(f"messages.{i}: final assistant content cannot end with trailing whitespace")
        uses: set[str] = set()
        results: set[str] = set()
        seen_other = False  # a block that is not a tool_result came earlier in this message
        for j, b in enumerate(blocks):
            if not isinstance(b, dict) or b.get("type") not in _KNOWN_BLOCKS:
                got = b.get("type") if isinstance(b, dict) else type(b).__name__
                raise invalid(f"messages.{i}.content.{j}.type: unknown content block type {got!r}")
            if b["type"] == "text" and not isinstance(b.get("text"), str):
                raise invalid(f"messages.{i}.content.{j}.text: Field required")
            if b["type"] == "tool_use":
                if role != "assistant":
                    raise invalid(f"messages.{i}.content.{j}: tool_use blocks can only appear in assistant messages")
                uses.add(str(b.get("id")))
            if b["type"] == "tool_result":
                if role != "user":
                    raise invalid(f"messages.{i}.content.{j}: tool_result blocks can only appear in user messages")
                tid = b.get("tool_use_id")
                if tid not in pending:
                    raise invalid(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                                  f"blocks: {tid}. Each `tool_result` block must have a corresponding `tool_use` "
                                  "block in the previous message.")
                if seen_other:
                    raise invalid(f"messages.{i}.content.{j}: tool_result blocks must come first in a user "
                                  "message, before any text or other content")
                results.add(tid)
            else:
                seen_other = True
        if pending and role == "user" and pending - results:
            missing = ", ".join(sorted(pending - results))
            raise invalid(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately "
                          f"after: {missing}. Each `tool_use` block must have a corresponding `tool_result` block "
                          "in the next message.")
        if pending and role == "assistant":
            raise invalid(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately "
                          f"after: {', '.join(sorted(pending))}.")
        pending = uses if role == "assistant" else set()


def _ends_with_space(content: Any) -> bool:
    if isinstance(content, str):
        return content != content.rstrip()
    last = content[-1] if content else None
    return isinstance(last, dict) and last.get("type") == "text" and last.get("text", "") != last.get("text", "").rstrip()


def messages_body(data: dict[str, Any]) -> None:
    """Check a Messages API request body; raise the API's error for the first problem found."""
    _model(data)
    max_tokens = data.get("max_tokens")
    if max_tokens is None:
        raise invalid("max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise invalid("max_tokens: Input should be a whole number greater than or equal to 1")
    limit = _models.info(data["model"]).max_output
    if max_tokens > limit:
        raise invalid(f"max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of "
                      f"output tokens for {data['model']}")
    _messages(data.get("messages"))
    _system(data.get("system"))
    _tools(data)
    temperature = data.get("temperature")
    if temperature is not None and not (isinstance(temperature, (int, float)) and 0 <= temperature <= 1):
        raise invalid("temperature: Input should be between 0 and 1")
    stops = data.get("stop_sequences")
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) and s for s in stops)):
        raise invalid("stop_sequences: Input should be a list of non-empty strings")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise invalid("metadata: Input should be an object such as {\"user_id\": \"...\"}")


def count_tokens_body(data: dict[str, Any]) -> None:
    _model(data)
    _messages(data.get("messages"))
    _system(data.get("system"))
    _tools(data)
