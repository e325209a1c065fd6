"""Structured outputs: `output_config.format` (a JSON schema for the reply) and `strict` tools.

With a format, the reply's text is JSON that validates against the schema, so the SDK's
`messages.parse(output_format=...)` and `messages.stream(output_format=...)` work unchanged. With
`strict: true` on a tool, every `tool_use` input validates against that tool's `input_schema`.

The values come from a scenario when it scripts them (`json:` in a turn, or a tool call's `input`;
both are checked against the schema, and a mismatch is reported as a scenario bug), and otherwise
from `sample()`, which builds a plausible instance of any schema: required fields filled, enums,
constants, `$ref`/`$defs`, `anyOf`, arrays and nested objects, strings taken from the request where
the field name suggests it. The default policy uses `sample()` for every tool call it invents, so a
tool with required fields never gets `{}`.

Validation uses the `jsonschema` library (Draft 2020-12) rather than a hand-written checker.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from .errors import invalid
from .request import MessagesRequest

_STRING_FORMATS = {"date": "2026-11-30", "date-time": "2026-11-30T09:00:00Z", "time": "09:00:00",
                   "email": "ada@example.com", "uri": "https://example.com/", "uuid":
                   "00000000-0000-4000-8000-000000000000", "hostname": "example.com", "ipv4": "192.0.2.1"}
_FREE_TEXT = re.compile(r"query|question|text|prompt|topic|q$")


class ScenarioSchemaError(ValueError):
    """A scenario scripted a value that does not match the request's schema."""


def _check_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise invalid(f"{where}: Input should be a JSON schema object")
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise invalid(f"{where}: not a valid JSON schema: {exc.message}") from None
    _require_closed_objects(schema, where)


def _require_closed_objects(schema: Any, where: str) -> None:
    """Structured outputs need every object to say `additionalProperties: false` (the SDK's helpers add it)."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            raise invalid(f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false "
                          "(the SDK's messages.parse and transform_schema add it for you)")
        for key, value in schema.items():
            if key in ("properties", "$defs", "definitions"):
                for name, sub in (value or {}).items():
                    _require_closed_objects(sub, f"{where}.{key}.{name}")
            elif key in ("items", "additionalProperties", "not"):
                _require_closed_objects(value, f"{where}.{key}")
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
                for k, sub in enumerate(value or []):
                    _require_closed_objects(sub, f"{where}.{key}.{k}")


def output_schema(req: MessagesRequest) -> dict[str, Any] | None:
    """The JSON schema the reply must follow, or None when the request asks for no structured output."""
    config = req.output_config
    fmt = (config or {}).get("format") if isinstance(config, dict) else None
    return fmt["schema"] if isinstance(fmt, dict) else None


def validate(req: MessagesRequest) -> None:
    """Raise the API's 400 for a malformed output format or strict tool schema."""
    config: Any = req.output_config
    if isinstance(config, dict) and config.get("format") is not None:
        fmt = config["format"]
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            raise invalid("output_config.format.type: Input should be 'json_schema'")
        if "schema" not in fmt:
            raise invalid("output_config.format.schema: Field required")
        _check_schema(fmt["schema"], "output_config.format.schema")
    for i, tool in enumerate(req.tools or []):
        if isinstance(tool, dict) and tool.get("strict") is True and tool.get("type") in (None, "custom"):
            _check_schema(tool.get("input_schema"), f"tools.{i}.input_schema")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    while isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
        ref = node.get("$ref") if isinstance(node, dict) else None
    return schema


def _proper_noun(hint: str) -> str | None:
    names = re.findall(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+)\b", hint)
    if not names:  # an abbreviation such as "SF" or "NYC" when there is no capitalised word
        names = re.findall(r"\b([A-Z]{2,4})\b", hint)
    return names[-1] if names else None


def _string(name: str, schema: dict[str, Any], hint: str) -> str:
    if schema.get("format") in _STRING_FORMATS:
        value = _STRING_FORMATS[schema["format"]]
    elif _FREE_TEXT.search(name.lower()):
        value = hint[:200] or "example"
    else:
        # A proper noun from the request ("weather in Paris" -> city "Paris") beats a placeholder.
        value = _proper_noun(hint) or "example"
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if len(value) < low:
        value = value + "x" * (low - len(value))
    if high is not None:
        value = value[:high]
    return value


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum")
    if low is None and schema.get("exclusiveMinimum") is not None:
        low = schema["exclusiveMinimum"] + 1
    value = low if low is not None else 1
    high = schema.get("maximum")
    if high is not None and value > high:
        value = high
    return int(value) if integer else float(value)


def sample(schema: Any, hint: str = "", *, name: str = "", root: dict[str, Any] | None = None,
           required_only: bool = True, fill_arrays: bool = False, _depth: int = 0) -> Any:
    """A plausible instance of `schema`, with strings drawn from `hint` (the user's request) by field name."""
    if not isinstance(schema, dict) or _depth > 12:
        return None if _depth > 12 else {}
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    kw: dict[str, Any] = {"hint": hint, "root": root, "required_only": required_only, "fill_arrays": fill_arrays,
          "_depth": _depth + 1}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            return sample((options or schema[key])[0], name=name, **kw)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        return sample(merged, name=name, **kw)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties") or {}
        wanted = list(schema.get("required") or []) if required_only else list(props)
        return {p: sample(props.get(p, {}), name=p, **kw) for p in wanted}
    if kind == "array":
        count = max(schema.get("minItems", 0), 1 if fill_arrays and schema.get("items") else 0)
        items = schema.get("items") or {}
        prefix = schema.get("prefixItems") or []
        out = [sample(p, name=name, **kw) for p in prefix]
        out += [sample(items, name=name, **kw) for _ in range(max(0, count - len(out)))]
        return out
    if kind == "string":
        return _string(name, schema, hint)
    if kind == "integer":
        return _number(schema, integer=True)
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "boolean":
        return True
    return None


def conforms(value: Any, schema: dict[str, Any]) -> str | None:
    """None when `value` validates against `schema`, else the first error's message."""
    error = jsonschema.exceptions.best_match(Draft202012Validator(schema).iter_errors(value))
    return None if error is None else f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"


def reply_json(schema: dict[str, Any], hint: str, scripted: Any = None, *, scenario: str | None = None) -> str:
    """The reply text for a request with `output_config.format`: scripted or sampled, always valid."""
    value = scripted if scripted is not None else sample(schema, hint, required_only=False, fill_arrays=True)
    problem = conforms(value, schema)
    if problem is not None:
        who = f"scenario {scenario!r}" if scenario else "the simulator's sample"
        raise ScenarioSchemaError(f"{who} does not match the request's output_config.format schema: {problem}")
    return json.dumps(value, ensure_ascii=False)


def tool_input(tool: dict[str, Any], hint: str, scripted: dict[str, Any] | None = None, *,
               scenario: str | None = None) -> dict[str, Any]:
    """Arguments for a tool call: scripted (checked when the tool is strict) or sampled from its schema."""
    schema = tool.get("input_schema") or {}
    value = scripted if scripted is not None else sample(schema, hint)
    if tool.get("strict") is True:
        problem = conforms(value, schema)
        if problem is not None:
            who = f"scenario {scenario!r}" if scenario else "the simulator's sample"
            raise ScenarioSchemaError(f"{who}: input for strict tool {tool.get('name')!r} does not match its "
                                      f"input_schema: {problem}")
    return value
