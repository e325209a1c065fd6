"""Scenarios: what the simulated model says, as data.

A scenario matches a conversation (by a phrase in the first user message, the
system prompt, or a tool being offered) and lists, turn by turn, the text and
tool calls the "model" returns. Turn N is the reply to a conversation that
already holds N assistant messages. Lessons register their scenarios with the
simulator; anything no scenario matches gets the default policy's answer.

In YAML (the same keys work as a Python dict)::

    name: current_time
    match: "what time is it"          # or {user: ..., system: ..., tool: ...}
    turns:
      - text: "Let me check the clock."
        tool_calls:
          - {name: get_current_time, input: {timezone: Europe/Paris}}
      - text: "It is {last_tool_result} in Paris."
        if_error: {text: "The clock tool failed: {last_tool_result}"}

Text may use these placeholders: ``{last_tool_result}`` (the text of the
tool results in the last user message, joined by "; "), ``{user}`` (the first
user message's text). A turn may also set ``stop_reason`` (for example
``refusal`` or ``pause_turn``) and ``extra_output_tokens`` (hidden reasoning the
model bills for but does not show, to model long thinking).

Newer keys script today's API features:

* ``thinking: "..."`` what the model thinks before it answers (returned as a
  ``thinking`` block when the request turns thinking on, billed as output);
  ``redacted_thinking: true`` returns it as a ``redacted_thinking`` block.
* ``json: {...}`` the reply for a request with ``output_config.format`` (it
  must validate against the request's schema).
* ``web_search: [query, ...]`` and ``web_fetch: [url, ...]`` server-tool calls
  made inside the reply, answered from the offline corpus; a scenario's
  top-level ``corpus: [{url, title, text, page_age}]`` adds pages to it.
* Several ``tool_calls`` in one turn are parallel tool calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml


STOP_REASONS = ("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal")


class ScenarioError(ValueError):
    """A scenario file or dict is malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: str | None = None
    extra_output_tokens: int = 0
    if_error: "Turn | None" = None
    thinking: str | None = None
    redacted_thinking: bool = False
    json: Any = None
    web_search: tuple[str, ...] = ()
    web_fetch: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    user: str | None = None
    system: str | None = None
    tool: str | None = None
    #: a regex on the request's model id: a scenario for one model only (say, one that refuses)
    model: str | None = None

    def matches(self, *, user: str, system: str, tools: set[str], model: str = "") -> bool:
        if self.model is not None and not re.search(self.model, model):
            return False
        if self.user is not None and not re.search(self.user, user, re.IGNORECASE):
            return False
        if self.system is not None and not re.search(self.system, system, re.IGNORECASE):
            return False
        if self.tool is not None and self.tool not in tools:
            return False
        return True


@dataclass(frozen=True)
class Scenario:
    """A scripted conversation the simulator replays. Build with `Scenario.from_dict`
    or `Scenario.load(path)`; or directly with `Match` and `Turn` objects."""

    name: str
    match: Match
    turns: tuple[Turn, ...]
    #: what to answer once the turns run out (a plain final answer by default)
    after: Turn = Turn(text="(simulated) I have nothing more to add.")
    #: extra pages for simulated web search and fetch (see agentkit.sim.server_tools)
    corpus: tuple[Any, ...] = ()

    def turn(self, index: int) -> Turn:
        return self.turns[index] if index < len(self.turns) else self.after

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> "Scenario":
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{source}: a scenario must be a mapping with name, match and turns")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ScenarioError(f"{source}: field 'name' must be a non-empty string")
        where = f"{source} (scenario {name!r})"
        raw_match = data.get("match")
        if isinstance(raw_match, str):
            match = Match(user=raw_match)
        elif isinstance(raw_match, Mapping):
            unknown = set(raw_match) - {"user", "system", "tool", "model"}
            if unknown:
                raise ScenarioError(f"{where}: 'match' has unknown keys {sorted(unknown)}; use user, system, tool "
                                    "or model")
            match = Match(**{k: str(v) for k, v in raw_match.items()})
        else:
            raise ScenarioError(f"{where}: field 'match' must be a phrase or a mapping of user/system/tool")
        for pattern in (match.user, match.system, match.model):
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ScenarioError(f"{where}: 'match' pattern {pattern!r} is not a valid regex: {exc}") from None
        turns_data = data.get("turns")
        if not isinstance(turns_data, list) or not turns_data:
            raise ScenarioError(f"{where}: field 'turns' must be a non-empty list")
        turns = tuple(_turn(t, f"{where} turn {i}") for i, t in enumerate(turns_data))
        kwargs: dict[str, Any] = {}
        if "after" in data:
            kwargs["after"] = _turn(data["after"], f"{where} 'after'")
        if "corpus" in data:
            from .server_tools import page_from  # here, not at the top: server_tools is optional for scenarios

            pages = data["corpus"]
            if not isinstance(pages, list):
                raise ScenarioError(f"{where}: 'corpus' must be a list of pages {{url, title, text}}")
            try:
                kwargs["corpus"] = tuple(page_from(p, f"{where} corpus[{k}]") for k, p in enumerate(pages))
            except ValueError as exc:
                raise ScenarioError(str(exc)) from None
        return cls(name=name, match=match, turns=turns, **kwargs)

    @classmethod
    def load(cls, path: str | Path) -> list["Scenario"]:
        """Load one scenario, or a list of them, from a YAML file."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
        items = data if isinstance(data, list) else [data]
        return [cls.from_dict(item, source=str(path)) for item in items]


def _turn(data: Any, where: str) -> Turn:
    if isinstance(data, str):
        return Turn(text=data)
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where}: a turn must be a string or a mapping with text/tool_calls")
    unknown = set(data) - {"text", "tool_calls", "stop_reason", "extra_output_tokens", "if_error", "thinking",
                           "redacted_thinking", "json", "web_search", "web_fetch"}
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    calls = []
    for j, call in enumerate(data.get("tool_calls") or []):
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ScenarioError(f"{where} tool_calls[{j}]: needs a 'name' string and an 'input' mapping")
        tool_input = call.get("input") or {}
        if not isinstance(tool_input, Mapping):
            raise ScenarioError(f"{where} tool_calls[{j}]: 'input' must be a mapping")
        calls.append(ToolCall(name=call["name"], input=dict(tool_input)))
    text = data.get("text", "")
    if not isinstance(text, str):
        raise ScenarioError(f"{where}: 'text' must be a string")
    thinking = data.get("thinking")
    if thinking is not None and not (isinstance(thinking, str) and thinking):
        raise ScenarioError(f"{where}: 'thinking' must be a non-empty string (what the model thinks)")
    searches, fetches = data.get("web_search") or [], data.get("web_fetch") or []
    for key, items in (("web_search", searches), ("web_fetch", fetches)):
        if not isinstance(items, list) or not all(isinstance(q, str) and q for q in items):
            raise ScenarioError(f"{where}: '{key}' must be a list of non-empty strings")
    if not text and not calls and data.get("json") is None and not searches and not fetches:
        raise ScenarioError(f"{where}: a turn needs text, tool_calls, json, web_search or web_fetch")
    extra = data.get("extra_output_tokens", 0)
    if not isinstance(extra, int) or extra < 0:
        raise ScenarioError(f"{where}: 'extra_output_tokens' must be a whole number >= 0")
    stop_reason = data.get("stop_reason")
    if stop_reason is not None and stop_reason not in STOP_REASONS:
        raise ScenarioError(f"{where}: 'stop_reason' must be one of {', '.join(STOP_REASONS)}, got {stop_reason!r}")
    if_error = _turn(data["if_error"], f"{where} if_error") if data.get("if_error") is not None else None
    return Turn(
        text=text,
        tool_calls=tuple(calls),
        stop_reason=stop_reason,
        extra_output_tokens=extra,
        if_error=if_error,
        thinking=thinking,
        redacted_thinking=bool(data.get("redacted_thinking", False)),
        json=data.get("json"),
        web_search=tuple(searches),
        web_fetch=tuple(fetches),
    )
