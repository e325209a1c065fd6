"""Request validation with the API's own error messages.

Each check raises `invalid_request_error` (or `not_found_error` for an unknown
model) naming the field by its path, e.g. `messages.2.content.0`, as the API
does, so a learner's mistake reads the same offline and live.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import typing
from functools import lru_cache
from typing import Any, Callable, Iterable

from .. import models as _models
from .errors import APIError, invalid
from .request import MessagesRequest

# -- limits the API documents ------------------------------------------------------------------
#: Request size limits per endpoint (https://platform.claude.com/docs/en/api/errors#request-size-limits, checked
#: 2026-11-30): Messages and Token Counting 32 MB, Message Batches 256 MB. Over it: 413 request_too_large.
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_BATCH_BODY_BYTES = 256 * 1024 * 1024
#: Images: at most 5 MB each through the API (vision docs), in these formats (the SDK's own Literal).
MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: The context window assumed for a model the data file does not describe.
DEFAULT_CONTEXT_WINDOW = 200_000

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_KNOWN_BLOCKS = {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
                 "search_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
                 "tool_search_tool_result", "tool_reference"}


def body_limit(path: str) -> int:
    """The documented size limit, in bytes, of a request body sent to `path`."""
    return MAX_BATCH_BODY_BYTES if path.split("?")[0].rstrip("/") == "/v1/messages/batches" else MAX_BODY_BYTES


def body_size(path: str, raw: bytes) -> None:
    """413 `request_too_large` for a body over the endpoint's documented limit."""
    limit = body_limit(path)
    if len(raw) > limit:
        raise APIError(f"Request body is {len(raw):,} bytes, over this endpoint's limit of {limit:,} bytes. Send big "
                       "files through the Files API, or split the work (a batch holds up to 256 MB).",
                       "request_too_large")


def parse_json(raw: bytes, loads: Callable[[bytes], Any] = json.loads) -> dict[str, Any]:
    """The body as a JSON object, or the API's 400. `loads` may be a faster parser with json's semantics (the
    simulator's `prefix.TextMemo.parse`)."""
    try:
        data = loads(raw or b"null")
    except RecursionError:
        # json's C parser gives up where Python's recursion limit is; the API answers such bodies with a 400.
        raise invalid("The request body is not valid JSON: it is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


# -- headers (server mode) -------------------------------------------------------------------------
def auth_headers(headers: dict[str, str]) -> None:
    """The headers every API request needs (lower-cased names): a key, and the API version.

    The in-process transport skips this (the SDK always sends both); over HTTP, curl or a hand-made client can
    forget them, and the API answers 401 / 400.
    """
    if not headers.get("x-api-key") and not headers.get("authorization", "").lower().startswith("bearer "):
        raise APIError("x-api-key header is required", "authentication_error")
    if not headers.get("anthropic-version"):
        raise invalid("anthropic-version: header is required")


# -- top-level fields, from the SDK's own request types ---------------------------------------------
#: Sampling settings: the SDK's 2.x request types no longer list them. Whether a request may carry them depends on
#: the API version it names (`sampling`, below), not on the field list.
_LEGACY_FIELDS = frozenset({"temperature", "top_p", "top_k"})
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")
#: The API version that removed the sampling parameters (the 2.x SDKs send it on every request); the previous
#: version, 2023-06-01, still takes them where the model does. Source: "Migrating to API version 2026-10-21",
#: https://platform.claude.com/docs/en/api/migration-2026-10-21 (read 2026-12-07).
SAMPLING_REMOVED_IN = "2026-10-21"
LEGACY_API_VERSION = "2023-06-01"


def version_rules(data: dict[str, Any], api_version: str | None) -> None:
    """The 2026-10-21 version's rules beyond sampling: 400 for a document block directly in an assistant message,
    and for non-empty `citations` on a text block in a user message (same migration guide as `sampling`).
    2023-06-01 still accepts both."""
    if (api_version or SAMPLING_REMOVED_IN).strip() < SAMPLING_REMOVED_IN:
        return
    messages = data.get("messages")
    for i, m in enumerate(messages if isinstance(messages, list) else []):
        content = m.get("content") if isinstance(m, dict) else None
        for j, b in enumerate(content if isinstance(content, list) else []):
            if not isinstance(b, dict):
                continue
            if m.get("role") == "assistant" and b.get("type") == "document":
                raise invalid(f"messages.{i}.content.{j}: document blocks are not allowed in assistant messages "
                              f"in API version {SAMPLING_REMOVED_IN}; put the document in a user message")
            if m.get("role") == "user" and b.get("type") == "text" and b.get("citations"):
                raise invalid(f"messages.{i}.content.{j}.citations: citations on a text block in a user message "
                              f"are not allowed in API version {SAMPLING_REMOVED_IN}; send the text without them")


def sampling(data: dict[str, Any], api_version: str | None) -> None:
    """400 for `temperature`, `top_p` or `top_k` where the API refuses them.

    - Under `anthropic-version: 2026-10-21` (what the 2.x SDKs send) any of them, even at its default value, is
      an unknown field: "temperature: Extra inputs are not permitted".
    - Under 2023-06-01 the model decides: models from Opus 4.7 on (`sampling: false` in models.yaml) refuse a
      non-default value ("`temperature` is deprecated for this model."); the others take them, but not
      `temperature` and `top_p` together ("cannot both be specified for this model").
    A request without an `anthropic-version` header (the in-process transport always has one) counts as the
    SDK's own version.
    """
    sent = [name for name in SAMPLING_FIELDS if data.get(name) is not None]
    if not sent:
        return
    version = (api_version or SAMPLING_REMOVED_IN).strip()
    if version >= SAMPLING_REMOVED_IN:
        raise invalid(f"{sent[0]}: Extra inputs are not permitted (API version {version} removed temperature, "
                      f"top_p and top_k; send `anthropic-version: {LEGACY_API_VERSION}` to use them on a model "
                      "that accepts them)")
    try:
        info = _models.info(str(data.get("model")))
    except (_models.ModelNotFoundError, TypeError):
        return  # the model check reports that
    if not info.sampling:
        non_default = [n for n in sent if not (n in ("temperature", "top_p") and data.get(n) == 1)]
        if non_default:
            raise invalid(f"`{non_default[0]}` is deprecated for this model.")
    elif data.get("temperature") is not None and data.get("top_p") is not None:
        raise invalid("`temperature` and `top_p` cannot both be specified for this model. Please use only one.")


def _hints(typed_dict: Any) -> dict[str, Any]:
    return typing.get_type_hints(typed_dict)


@lru_cache(maxsize=1)
def _sdk_fields() -> dict[str, dict[str, Any]]:
    """Per endpoint, each top-level field the SDK can send and its annotation, read from the SDK's TypedDicts
    (stable and beta), so the allow-list follows the pinned SDK and a real SDK field is never rejected."""
    from anthropic.types import message_count_tokens_params as count
    from anthropic.types import message_create_params as create
    from anthropic.types.beta import message_count_tokens_params as beta_count
    from anthropic.types.beta import message_create_params as beta_create

    messages = {**_hints(beta_create.MessageCreateParamsBase), **_hints(create.MessageCreateParamsBase)}
    messages["stream"] = bool
    tokens = {**_hints(beta_count.MessageCountTokensParams), **_hints(count.MessageCountTokensParams)}
    for table in (messages, tokens):
        table.pop("betas", None)  # the SDK sends `betas` as the anthropic-beta header, never in the body
    return {"messages": messages, "count_tokens": tokens}


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    """The allowed values when an annotation is a Literal (or Optional of one), else None."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Union:
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            values = _literal_values(arg)
            if values is None:
                return None
            found.extend(values)
        return tuple(found)
    return None


def _quote_list(values: Iterable[Any]) -> str:
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@lru_cache(maxsize=1)
def _enumerated() -> dict[str, dict[str, tuple[Any, ...] | None]]:
    return {endpoint: {name: _literal_values(hint) for name, hint in fields.items()}
            for endpoint, fields in _sdk_fields().items()}


def top_level(data: dict[str, Any], endpoint: str = "messages") -> None:
    """400 for a field the API does not know ('Extra inputs are not permitted', as the API says it), and for a
    value outside a field's enumerated values (`service_tier`, `speed`, ...)."""
    fields = _enumerated()[endpoint]
    for name, value in data.items():
        if name not in fields:
            if name in _LEGACY_FIELDS and endpoint == "messages":
                continue
            raise invalid(f"{name}: Extra inputs are not permitted")
        allowed = fields[name]
        if allowed is not None and value is not None and value not in allowed:
            raise invalid(f"{name}: Input should be {_quote_list(allowed)}")


# -- context window --------------------------------------------------------------------------------
def context_window(model: str) -> int:
    """The model's context window in tokens, from the dated models data file."""
    try:
        return _models.info(model).context_window
    except (_models.ModelNotFoundError, TypeError):  # not a served id: `_model` reports that first
        return DEFAULT_CONTEXT_WINDOW


def prompt_length(model: str, tokens: int) -> None:
    """400 for a prompt over the model's context window, in the API's words."""
    limit = context_window(model)
    if tokens > limit:
        raise invalid(f"prompt is too long: {tokens} tokens > {limit} maximum")


# -- images and documents --------------------------------------------------------------------------
_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # then 4 size bytes, then WEBP: checked below
    "application/pdf": (b"%PDF-",),
}


def _sniff(data: bytes) -> str | None:
    """The media type the bytes themselves show, from their magic number."""
    for media, magics in _MAGIC.items():
        if any(data.startswith(m) for m in magics):
            if media == "image/webp" and data[8:12] != b"WEBP":
                continue
            return media
    return None


def _decode_base64(data: Any, where: str) -> bytes:
    if not isinstance(data, str) or not data:
        raise invalid(f"{where}.data: Input should be a non-empty base64 string")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{where}.data: invalid base64 data. Encode the file's bytes with base64 (for example "
                      "base64.standard_b64encode(path.read_bytes()).decode()), without a 'data:' URL prefix.") from None


def _source_types(block_param: Any) -> dict[str, dict[str, Any]]:
    """Each source `type` a block accepts, with that source's fields, from the SDK's TypedDicts."""
    out: dict[str, dict[str, Any]] = {}
    for option in typing.get_args(_hints(block_param)["source"]):
        hints = _hints(option)
        for kind in _literal_values(hints["type"]) or ():
            out[kind] = hints
    return out


@lru_cache(maxsize=1)
def _media_sources() -> dict[str, dict[str, dict[str, Any]]]:
    from anthropic.types import DocumentBlockParam, ImageBlockParam
    return {"image": _source_types(ImageBlockParam), "document": _source_types(DocumentBlockParam)}


def media_block(block: dict[str, Any], where: str) -> None:
    """An image or document block: a known source type, an allowed media type, base64 that decodes to bytes of
    that type (the API checks the bytes, not only the label), and an image under the size limit."""
    kind = block["type"]
    source = block.get("source")
    sources = _media_sources()[kind]
    if not isinstance(source, dict):
        raise invalid(f"{where}.source: Field required")
    stype = source.get("type")
    if stype not in sources:
        raise invalid(f"{where}.source.type: Input should be {_quote_list(sources)}")
    hints = sources[stype]
    for name in ("data", "url", "file_id", "content"):
        if name in hints and source.get(name) in (None, ""):
            raise invalid(f"{where}.source.{name}: Field required")
    media = source.get("media_type")
    allowed = _literal_values(hints["media_type"]) if "media_type" in hints else None
    if allowed is not None and media not in allowed:
        raise invalid(f"{where}.source.{stype}.media_type: Input should be {_quote_list(allowed)}")
    if stype == "base64":
        raw = _decode_base64(source.get("data"), f"{where}.source")
        if kind == "image" and len(raw) > MAX_IMAGE_BYTES:
            raise invalid(f"{where}.source.base64: image exceeds 5 MB maximum: {len(raw)} bytes > "
                          f"{MAX_IMAGE_BYTES} bytes")
        actual = _sniff(raw)
        if actual is not None and (actual == "application/pdf") != (kind == "document"):
            actual = None  # a PNG in a document block (or a PDF in an image block) is simply not that kind of file
        if actual is None:
            what = "image" if kind == "image" else "PDF"
            raise invalid(f"{where}.source.base64.data: the data is not a valid {what} ({media}); check the file "
                          "and its encoding")
        if actual != media:
            raise invalid(f"{where}.source.base64: The {kind} was specified using the {media} media type, but "
                          f"the data appears to be {actual}. Set media_type to {actual!r}.")


def _model(model: Any) -> None:
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


def _tools(tools: Any, choice: Any) -> set[str]:
    tools = tools or []
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
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if choice["type"] == "tool" and choice.get("name") not in names:
            raise invalid(f"tool_choice.name: no tool named {choice.get('name')!r} in tools")
        if choice["type"] in ("any", "tool") and not names:
            raise invalid("tool_choice: requires at least one tool in tools")
    return names


def _messages(messages: Any, start: int = 0) -> None:
    if messages is None:
        raise invalid("messages: Field required")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    pending: set[str] = set()  # tool_use ids of the previous assistant message
    start = max(0, min(start, len(messages) - 1))
    if start:
        before = messages[start - 1]
        if before.get("role") == "assistant" and isinstance(before.get("content"), list):
            pending = {str(b.get("id")) for b in before["content"] if isinstance(b, dict) and b.get("type") == "tool_use"}
    for i in range(start, len(messages)):
        m = messages[i]
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
            if b["type"] in ("image", "document"):
                media_block(b, f"messages.{i}.content.{j}")
            if b["type"] == "tool_result" and isinstance(b.get("content"), list):
                for k, inner in enumerate(b["content"]):
                    if isinstance(inner, dict) and inner.get("type") in ("image", "document"):
                        media_block(inner, f"messages.{i}.content.{j}.content.{k}")
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


def messages_body(data: dict[str, Any], *, checked_prefix: int = 0) -> None:
    """Check a Messages API request body (see `messages_request`)."""
    messages_request(MessagesRequest.of(data), checked_prefix=checked_prefix)


def messages_request(req: MessagesRequest, *, checked_prefix: int = 0) -> None:
    """Check a Messages API request; raise the API's error for the first problem found. Once it passes, the
    request's fields have their annotated types.

    `checked_prefix`: how many leading messages are known valid already (the same messages, not last, in a
    request that passed), so an agent's growing history is not re-checked on every step.
    """
    data = req.body
    top_level(data, "messages")
    _model(req.model)
    max_tokens: Any = req.max_tokens
    if max_tokens is None:
        raise invalid("max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise invalid("max_tokens: Input should be a whole number greater than or equal to 1")
    limit = _models.info(req.model).max_output
    if max_tokens > limit:
        raise invalid(f"max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of "
                      f"output tokens for {req.model}")
    _messages(req.messages, start=checked_prefix)
    _system(req.system)
    _tools(req.tools, req.tool_choice)
    temperature = data.get("temperature")
    if temperature is not None and not (isinstance(temperature, (int, float)) and 0 <= temperature <= 1):
        raise invalid("temperature: Input should be between 0 and 1")
    stops: Any = req.stop_sequences
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) and s for s in stops)):
        raise invalid("stop_sequences: Input should be a list of non-empty strings")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise invalid("metadata: Input should be an object such as {\"user_id\": \"...\"}")


def count_tokens_body(data: dict[str, Any]) -> None:
    top_level(data, "count_tokens")
    _model(data.get("model"))
    _messages(data.get("messages"))
    _system(data.get("system"))
    _tools(data.get("tools"), data.get("tool_choice"))
