"""Server-side fallbacks (beta `server-side-fallback-2026-07-01`): when the requested model declines
(`stop_reason: "refusal"`), the API retries the same request on the `fallbacks` models in order, inside
the one call, and the reply says so: `model` is the model that served it, and a `fallback` content
block marks where the declining model's output gave way to the next one.

In the simulator a model "declines" where a scenario scripts `stop_reason: refusal`; a scenario can be
limited to one model with `match: {model: ...}`, so the fallback model answers differently.
`"default"` asks for the requested model's server-side default chain; the simulator has none, so the
request runs on the requested model alone (as the API does on models without fallbacks).
"""

from __future__ import annotations

from typing import Any, Callable

from .. import models as _models
from .errors import invalid
from .request import MessagesRequest

BETA = "server-side-fallback-2026-07-01"
_OVERRIDES = ("max_tokens", "thinking", "output_config", "speed")


def chain(req: MessagesRequest, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The validated fallback entries of a request ([] when it has none); the body without them is unchanged."""
    fallbacks = req.body.get("fallbacks")
    if fallbacks is None:
        return []
    if BETA not in headers.get("anthropic-beta", ""):
        raise invalid(f"fallbacks: requires the beta header 'anthropic-beta: {BETA}'")
    if fallbacks == "default":
        return []
    if not isinstance(fallbacks, list) or not fallbacks:
        raise invalid("fallbacks: Input should be \"default\" or a non-empty list of {\"model\": ...} entries")
    for i, entry in enumerate(fallbacks):
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise invalid(f"fallbacks.{i}.model: Field required")
        extra = set(entry) - {"model", *_OVERRIDES}
        if extra:
            raise invalid(f"fallbacks.{i}: unknown keys {sorted(extra)}; an entry may set model, "
                          f"{', '.join(_OVERRIDES)}")
        try:
            _models.info(entry["model"])
        except _models.ModelNotFoundError:
            raise invalid(f"fallbacks.{i}.model: {entry['model']} is not a model the API serves") from None
    return list(fallbacks)


def attempt_body(body: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The request as the fallback model receives it: its model and any per-entry overrides."""
    out = {k: v for k, v in body.items() if k != "fallbacks"}
    out["model"] = entry["model"]
    for key in _OVERRIDES:
        if entry.get(key) is not None:
            out[key] = entry[key]
    return out


def serve(primary: MessagesRequest, entries: list[dict[str, Any]], answer: Callable[[MessagesRequest], Any],
          check: Callable[[MessagesRequest], None]) -> Any:
    """Answer `primary` (the request without its `fallbacks`); on a refusal, try each fallback in order.
    `answer(request)` returns (timing, message)."""
    timing, message = answer(primary)
    served_by = primary.model
    for entry in entries:
        if message["stop_reason"] != "refusal":
            break
        retry = MessagesRequest.of(attempt_body(primary.body, entry))
        check(retry)
        more, fallback = answer(retry)
        marker = {"type": "fallback", "from": {"model": served_by}, "to": {"model": _models.info(entry["model"]).id},
                  "trigger": {"type": "refusal", "category": None}}
        fallback["content"] = [marker, *fallback["content"]]
        timing = type(timing)(timing.ttft + timing.output_seconds + more.ttft, more.output_seconds)
        message, served_by = fallback, entry["model"]
    return timing, message
