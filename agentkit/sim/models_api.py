"""`GET /v1/models` and `/v1/models/{id}`, and the API's cursor pagination.

The model objects carry what the SDK's `ModelInfo` type documents:
`max_input_tokens`, `max_tokens`, `lifecycle`, `line` and a `capabilities`
object (thinking types, effort levels, batch, structured outputs, server
tools...), all derived from `agentkit/data/models.yaml`, so the list a learner
reads is the same data the simulator validates requests against.

`paginate` implements `limit` / `after_id` / `before_id` with `has_more`,
`first_id` and `last_id`, for models and for message batches alike.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence
from urllib.parse import parse_qs

from .. import models as _models
from .errors import APIError, invalid

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_EFFORT_LEVELS = ("low", "medium", "high", "max")
_LIFECYCLES = ("active", "deprecated", "retired")


def _yes(flag: bool) -> dict[str, bool]:
    return {"supported": bool(flag)}


def thinking_types(m: _models.ModelInfo) -> dict[str, bool]:
    """Which `thinking.type` values the model accepts (the same table `sim.thinking` validates with)."""
    mode = m.thinking
    return {
        "adaptive": mode != "extended",
        "enabled": mode in ("adaptive_manual", "extended"),
        "disabled": mode != "adaptive_always" and m.off_type == "disabled",
        "between_tools": m.off_type == "between_tools",
    }


def effort_levels(m: _models.ModelInfo) -> tuple[str, ...]:
    """Effort values the model accepts; () when it has no effort parameter."""
    if m.thinking == "extended" and m.default_effort is None:
        return ()
    # xhigh arrived with the newer-tokenizer generation (Claude 4.7 on).
    return (*_EFFORT_LEVELS[:3], "xhigh", "max") if m.tokenizer != "claude-v1" else _EFFORT_LEVELS


def lifecycle(status: str) -> str:
    return {"current": "active", "legacy": "active"}.get(status, status)


def model_json(m: _models.ModelInfo) -> dict[str, Any]:
    types = thinking_types(m)
    levels = effort_levels(m)
    effort: dict[str, Any] = {"supported": bool(levels), **{lvl: _yes(lvl in levels) for lvl in _EFFORT_LEVELS}}
    if m.tokenizer != "claude-v1":
        effort["xhigh"] = _yes("xhigh" in levels)
    return {
        "type": "model",
        "id": m.id,
        "display_name": m.display_name,
        "created_at": f"{m.released}T00:00:00Z",
        "lifecycle": lifecycle(m.status),
        "deprecated_at": f"{m.deprecated}T00:00:00Z" if m.deprecated else None,
        "retires_at": f"{m.retires}T00:00:00Z" if m.retires else None,
        "line": m.family,
        "max_input_tokens": m.context_window,
        "max_tokens": m.max_output,
        "capabilities": {
            "batch": _yes(True),
            "citations": _yes(True),
            "code_execution": _yes(m.tokenizer != "claude-v1"),
            "context_management": {"supported": True, "clear_tool_uses_20250919": _yes(True),
                                   "clear_thinking_20251015": _yes(True), "compact_20260112": _yes(True)},
            "effort": effort,
            "image_input": _yes(True),
            "pdf_input": _yes(True),
            "server_tools": {"supported": True, "web_search": _yes(True), "code_execution": _yes(True)},
            "structured_outputs": _yes(True),
            "thinking": {"supported": True, "types": {k: _yes(v) for k, v in types.items()}},
        },
    }


def retired_json(entry: dict[str, Any]) -> dict[str, Any]:
    when = entry.get("retired")
    return {"type": "model", "id": entry["id"], "display_name": entry.get("display_name", entry["id"]),
            "created_at": "1970-01-01T00:00:00Z", "lifecycle": "retired",
            "deprecated_at": f"{when}T00:00:00Z" if when else None,
            "retires_at": f"{when}T00:00:00Z" if when else None, "line": None,
            "max_input_tokens": None, "max_tokens": None, "capabilities": None}


def query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(path.split("?", 1)[1]) if "?" in path else {}


def paginate(items: Sequence[dict[str, Any]], query: dict[str, list[str]],
             key: Callable[[dict[str, Any]], str] = lambda i: i["id"]) -> dict[str, Any]:
    """One page of `items` (already in the API's order), as `limit`, `after_id` and `before_id` select it."""
    raw_limit = (query.get("limit") or [str(DEFAULT_LIMIT)])[0]
    try:
        limit = int(raw_limit)
    except ValueError:
        raise invalid(f"limit: Input should be a valid integer, got {raw_limit!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"limit: Input should be between 1 and {MAX_LIMIT}, got {limit}")
    after = (query.get("after_id") or [""])[0] or None
    before = (query.get("before_id") or [""])[0] or None
    if after and before:
        raise invalid("after_id and before_id cannot both be given; page forward or backward, not both.")
    ids = [key(i) for i in items]
    if after or before:
        cursor = after or before or ""
        if cursor not in ids:
            raise invalid(f"{'after_id' if after else 'before_id'}: no item with id {cursor!r} in this list")
        pos = ids.index(cursor)
    if after:
        page, has_more = list(items[pos + 1:pos + 1 + limit]), pos + 1 + limit < len(items)
    elif before:
        start = max(0, pos - limit)
        page, has_more = list(items[start:pos]), start > 0
    else:
        page, has_more = list(items[:limit]), limit < len(items)
    return {"data": page, "has_more": has_more, "first_id": key(page[0]) if page else None,
            "last_id": key(page[-1]) if page else None}


def list_models(query: dict[str, list[str]]) -> dict[str, Any]:
    wanted = set(query.get("lifecycle") or query.get("lifecycle[]") or ("active", "deprecated"))
    bad = wanted - set(_LIFECYCLES)
    if bad:
        raise invalid(f"lifecycle: each value must be one of {', '.join(_LIFECYCLES)}; got {', '.join(sorted(bad))}")
    items = [model_json(_models.info(m)) for m in _models.MODELS]
    items += [retired_json(r) for r in _models.data().get("retired") or ()]
    return paginate([i for i in items if i["lifecycle"] in wanted], query)


def get_model(model_id: str) -> dict[str, Any]:
    """One model; a retired id is still in the catalogue (lifecycle "retired"); an unknown one is 404."""
    try:
        return model_json(_models.info(model_id))
    except _models.ModelNotFoundError:
        for r in _models.data().get("retired") or ():
            if model_id == r["id"] or model_id in (r.get("snapshots") or ()):
                return retired_json(r)
        raise APIError(f"model: {model_id}", "not_found_error") from None
