"""The attribute vocabularies a foreign trace may speak, read through one table in data.

OpenTelemetry's GenAI conventions (current and older names), OpenInference (`llm.*`) and OpenLLMetry name
the same facts differently: `gen_ai.usage.input_tokens`, `llm.token_count.prompt`, `gen_ai.usage.prompt_tokens`.
`agentkit/data/trace_attributes.yaml` lists every name the profiler reads, per field, with the project that
emits it; `normalize(attributes)` turns a span's attributes into the kit's own names (the ones `agentkit.costs`,
`agentkit.latency` and the `Trace` view read), so those analyses run unchanged on any trace.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = ["Vocabulary", "FieldName", "vocabulary", "normalize", "KIT_NAMES", "DATA_FILE"]

DATA_FILE = "data/trace_attributes.yaml"

#: The kit's own attribute name for each field (what the kit's analyses read).
KIT_NAMES: dict[str, str] = {
    "operation": "gen_ai.operation.name",
    "provider": "gen_ai.provider.name",
    "response_model": "gen_ai.response.model",
    "request_model": "gen_ai.request.model",
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "cache_read_tokens": "gen_ai.usage.cache_read.input_tokens",
    "cache_write_tokens": "gen_ai.usage.cache_write.input_tokens",
    "cache_write_1h_tokens": "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
    "tool_name": "gen_ai.tool.name",
    "response_id": "gen_ai.response.id",
    "time_to_first_chunk": "gen_ai.response.time_to_first_chunk",
    "step": "agentkit.step",
}

#: Fields whose value is a whole number of tokens (or a step number).
_WHOLE = {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "step"}
_TEXT = {"operation", "provider", "response_model", "request_model", "tool_name", "response_id"}
_OPERATION_FOR_KIND = {"model": "chat", "tool": "execute_tool", "agent": "invoke_agent"}


@dataclass(frozen=True)
class FieldName:
    """One attribute name of one field: where it comes from, and (token counts) whether it includes the cache."""

    field: str
    name: str
    source: str
    includes_cache: bool = True
    note: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """The table: names per field in reading order, operation values to span kinds, where prompts are kept."""

    fields: dict[str, tuple[FieldName, ...]]
    operations: dict[str, dict[str, str]]
    prompts: tuple[dict[str, Any], ...]
    checked: str

    def names(self, field: str) -> tuple[str, ...]:
        return tuple(n.name for n in self.fields[field])

    def source_of(self, name: str) -> str | None:
        """Which project a name comes from ("semconv", "openinference", ...), or None if it is not in the table."""
        for names in self.fields.values():
            for n in names:
                if n.name == name:
                    return n.source
        return None


def _load(text: str) -> Vocabulary:
    data = yaml.safe_load(text)
    where = f"agentkit/{DATA_FILE}"
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise ValueError(f"{where}: expected a mapping with 'fields', 'operations' and 'prompts'.")
    fields: dict[str, tuple[FieldName, ...]] = {}
    for field, spec in data["fields"].items():
        if field not in KIT_NAMES:
            raise ValueError(f"{where}: unknown field {field!r}; the profiler reads {', '.join(KIT_NAMES)}.")
        rows = []
        for i, row in enumerate(spec.get("names") or []):
            if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not isinstance(row.get("source"), str):
                raise ValueError(f"{where}: fields.{field}.names[{i}] needs a 'name' and a 'source' (got {row!r}).")
            rows.append(FieldName(field, row["name"], row["source"], bool(row.get("includes_cache", True)),
                                  str(row.get("note", ""))))
        fields[field] = tuple(rows)
    missing = [f for f in KIT_NAMES if f not in fields]
    if missing:
        raise ValueError(f"{where}: no names for {', '.join(missing)}.")
    operations = {str(k): {str(v): str(kind) for v, kind in (vals or {}).items()}
                  for k, vals in (data.get("operations") or {}).items()}
    for name, values in operations.items():
        bad = [kind for kind in values.values() if kind not in _OPERATION_FOR_KIND]
        if bad:
            raise ValueError(f"{where}: operations.{name} maps to {bad[0]!r}; use model, tool or agent.")
    return Vocabulary(fields, operations, tuple(data.get("prompts") or ()), str(data.get("checked", "")))


@functools.lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The table in `agentkit/data/trace_attributes.yaml`, checked on load."""
    return _load(resources.files("agentkit").joinpath(DATA_FILE).read_text(encoding="utf-8"))


def _whole(value: Any) -> int | None:
    """A token count as an int, or None when the value is not a whole number >= 0."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():  # some exporters write numbers as text
        return int(value.strip())
    return None


def _describe(value: Any) -> str:
    text = repr(value)
    return (text if len(text) <= 40 else text[:37] + "...") + f" (a {type(value).__name__})"


@functools.lru_cache(maxsize=1)
def _plan() -> tuple[tuple[str, tuple[FieldName, ...]], ...]:
    v = vocabulary()
    return tuple((field, v.fields[field]) for field in KIT_NAMES)


@functools.lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    """Every name in the table: a span none of whose attributes is here needs no renaming."""
    return frozenset(_field_of())


@functools.lru_cache(maxsize=1)
def _field_of() -> dict[str, str]:
    return {n.name: field for field, names in _plan() for n in names}


def _drop(out: dict[str, Any], kit: str, name: str) -> None:
    """A kit-named attribute with a wrong-typed value is removed, so no analysis reads it as it stands."""
    if kit == name:
        out.pop(kit, None)


def normalize(attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The span's attributes with the kit's names filled in from whichever vocabulary the span used.

    Returns (attributes, problems). Each problem is a sentence about one attribute whose value has the wrong
    type (a token count that is text, negative or a list); that attribute is ignored, the rest is kept. The
    original attributes stay as they were, so nothing recorded is lost.
    """
    out = dict(attributes)
    problems: list[str] = []
    if _known().isdisjoint(attributes):
        return out, problems
    vocab = vocabulary()
    field_of = _field_of()
    wanted = {field_of[name] for name in _known().intersection(attributes)}
    for field, names in _plan():
        if field not in wanted:
            continue
        kit = KIT_NAMES[field]
        for entry in names:
            if entry.name not in attributes:
                continue
            raw = attributes[entry.name]
            if field == "operation":
                kind = vocab.operations.get(entry.name, {}).get(str(raw))
                if kind is None:
                    continue  # a CHAIN or task span: not a model, tool or agent span; try the next name
                out[kit] = _OPERATION_FOR_KIND[kind] if entry.name != kit else raw
                break
            if field in _WHOLE:
                value = _whole(raw)
                if value is None:
                    problems.append(f"{entry.name} is {_describe(raw)}, not a whole number of tokens: ignored")
                    _drop(out, kit, entry.name)
                    continue
                if field == "input_tokens" and not entry.includes_cache:
                    value += (_whole(attributes.get(KIT_NAMES["cache_read_tokens"])) or 0) + (
                        _whole(attributes.get(KIT_NAMES["cache_write_tokens"])) or 0)
                out[kit] = value
                break
            if field == "time_to_first_chunk":
                if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw >= 0:
                    out[kit] = float(raw)
                    break
                problems.append(f"{entry.name} is {_describe(raw)}, not a number of seconds: ignored")
                _drop(out, kit, entry.name)
                continue
            if field in _TEXT:
                if isinstance(raw, str) and raw:
                    out[kit] = raw
                    break
                problems.append(f"{entry.name} is {_describe(raw)}, not text: ignored")
                _drop(out, kit, entry.name)
                continue
    return out, problems
