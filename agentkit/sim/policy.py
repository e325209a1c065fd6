"""What the simulated model says: the matching scenario's turn, or a default.

The reply depends only on the conversation (and the scenarios), never on a
random draw, so every rerun answers the same. The default policy, for
conversations no scenario matches, behaves sensibly and says it is simulated:
it calls an offered tool whose name or description matches the request, sums
up tool results once they arrive, and otherwise explains that it is the
offline simulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..models import tokenizer_factor
from ..tokens import count_tokens, encoding
from .scenarios import Scenario, ToolCall, Turn

SIMULATED_NOTE = "(simulated)"
_STOP = {"the", "and", "for", "with", "that", "this", "from", "what", "which", "when", "into", "your", "have",
         "will", "about", "given", "returns", "return", "get", "use", "tool", "tools", "please", "can", "you"}


@dataclass
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    scenario: str | None


def text_of(content: Any, *, include_tool_results: bool = False) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for b in content or []:
        if not isinstance(b, dict):
            continue
        if b.get("type") == "text":
            parts.append(b.get("text", ""))
        elif include_tool_results and b.get("type") == "tool_result":
            parts.append(text_of(b.get("content", "")))
    return "\n".join(parts)


def _words(text: str) -> set[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 3 and w not in _STOP}


def _system_text(system: Any) -> str:
    return system if isinstance(system, str) else text_of(system or [])


def _sample_input(schema: dict[str, Any], user: str) -> dict[str, Any]:
    """Plausible arguments for a tool nobody scripted: required fields only."""
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name in schema.get("required") or []:
        spec = props.get(name) or {}
        kind = spec.get("type")
        if "enum" in spec and spec["enum"]:
            out[name] = spec["enum"][0]
        elif kind == "integer":
            out[name] = spec.get("minimum", 1)
        elif kind == "number":
            out[name] = float(spec.get("minimum", 1))
        elif kind == "boolean":
            out[name] = True
        elif kind == "array":
            out[name] = []
        elif kind == "object":
            out[name] = {}
        elif re.search(r"query|question|text|prompt|topic|q$", name):
            out[name] = user[:200]
        else:
            # A proper noun from the request ("weather in Paris" -> city "Paris") beats a placeholder.
            names = re.findall(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+)\b", user)
            out[name] = names[-1] if names else "example"
    return out


def respond(body: dict[str, Any], scenarios: Sequence[Scenario], new_id: Callable[[str], str]) -> Reply:
    messages: list[dict[str, Any]] = body["messages"]
    # Only client tools: server tools (web search, code execution...) run on Anthropic's side, not simulated here.
    tools = {t["name"]: t for t in body.get("tools") or []
             if isinstance(t, dict) and "name" in t and t.get("type") in (None, "custom")}
    user = next((text_of(m["content"]) for m in messages if m["role"] == "user"), "")
    system = _system_text(body.get("system"))
    prefill = text_of(messages[-1]["content"]) if messages[-1]["role"] == "assistant" else ""
    turn_index = sum(1 for m in messages if m["role"] == "assistant") - (1 if prefill else 0)
    last_results = [b for b in (messages[-1]["content"] if isinstance(messages[-1]["content"], list) else [])
                    if isinstance(b, dict) and b.get("type") == "tool_result"]
    result_text = "; ".join(text_of(b.get("content", "")) for b in last_results)
    any_error = any(b.get("is_error") for b in last_results)

    scenario = next((s for s in scenarios if s.match.matches(user=user, system=system, tools=set(tools), model=str(body.get("model", "")))), None)
    if scenario is not None:
        turn = scenario.turn(turn_index)
        if any_error and turn.if_error is not None:
            turn = turn.if_error
    else:
        offered = {} if (body.get("tool_choice") or {}).get("type") == "none" else tools
        turn = _default_turn(user, offered, last_results, result_text, messages)

    text = turn.text.replace("{last_tool_result}", result_text).replace("{user}", user)
    calls = [c for c in turn.tool_calls if c.name in tools]  # a model can only call what it was offered
    choice = body.get("tool_choice") or {"type": "auto"}
    if choice.get("type") == "none" or not tools:
        calls = []
    else:
        if choice.get("type") == "tool":  # a named tool is the only one the model may call
            calls = [c for c in calls if c.name == choice.get("name")]
        if choice.get("type") in ("any", "tool") and not calls:
            name = choice.get("name") if choice.get("type") == "tool" else _best_tool(user, tools) or next(iter(tools))
            calls = [ToolCall(name=name, input=_sample_input(tools[name].get("input_schema") or {}, user))]
    if choice.get("disable_parallel_tool_use"):
        calls = calls[:1]
    if choice.get("type") in ("any", "tool"):
        text = ""  # a forced tool call comes without preamble, as the API documents
    if prefill and text.startswith(prefill):
        text = text[len(prefill):]
    if not text and not calls:
        text = f"{SIMULATED_NOTE} I have nothing to add."

    stop_reason = turn.stop_reason or ("tool_use" if calls else "end_turn")
    stop_sequence = None
    for seq in body.get("stop_sequences") or []:
        pos = text.find(seq)
        if pos != -1 and (stop_sequence is None or pos < text.find(stop_sequence)):
            stop_sequence = seq
    if stop_sequence is not None:
        text, calls, stop_reason = text[: text.find(stop_sequence)], [], "stop_sequence"

    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    for c in calls:
        content.append({"type": "tool_use", "id": new_id("toolu"), "name": c.name, "input": c.input})
    model = body.get("model")
    output_tokens = sum(count_tokens(b["text"], model) if b["type"] == "text" else
                        count_tokens(b["name"], model) + count_tokens(b["input"], model) for b in content)
    output_tokens += turn.extra_output_tokens

    max_tokens = body["max_tokens"]
    if output_tokens > max_tokens:
        # _truncate cuts in cl100k tokens; scale the budget by the model's tokenizer factor.
        budget = max(1, int(max_tokens / tokenizer_factor(model)))
        content, output_tokens, stop_reason = _truncate(content, budget), max_tokens, "max_tokens"
        stop_sequence = None
    return Reply(content=content, stop_reason=stop_reason, stop_sequence=stop_sequence,
                 output_tokens=max(output_tokens, 1), scenario=scenario.name if scenario else None)


def _best_tool(user: str, tools: dict[str, dict[str, Any]]) -> str | None:
    wanted = _words(user)
    best, best_score = None, 0
    for name, t in tools.items():
        score = 2 * len(wanted & _words(name)) + len(wanted & _words(t.get("description", "")))
        if score > best_score:
            best, best_score = name, score
    return best


def _default_turn(user: str, tools: dict[str, dict[str, Any]], last_results: list[dict[str, Any]],
                  result_text: str, messages: list[dict[str, Any]]) -> Turn:
    used_tools = any(isinstance(m["content"], list) and any(isinstance(b, dict) and b.get("type") == "tool_use"
                                                            for b in m["content"]) for m in messages)
    if last_results:
        return Turn(text=f"{SIMULATED_NOTE} Here is what the tools returned: {result_text}")
    if tools and not used_tools:
        name = _best_tool(user, tools)
        if name is not None:
            return Turn(text=f"{SIMULATED_NOTE} I'll use {name} for this.",
                        tool_calls=(ToolCall(name, _sample_input(tools[name].get("input_schema") or {}, user)),))
    short = user if len(user) <= 80 else user[:77] + "..."
    return Turn(text=f"{SIMULATED_NOTE} You asked: \u201c{short}\u201d. This answer comes from agentkit's offline "
                     "simulator, which replays scripted scenarios; set ANTHROPIC_API_KEY to ask Claude itself.")


def _truncate(content: list[dict[str, Any]], max_tokens: int) -> list[dict[str, Any]]:
    """Keep what fits in max_tokens: text cut at a token boundary; a tool call that does not fit is dropped."""
    out: list[dict[str, Any]] = []
    budget = max_tokens
    for b in content:
        if b["type"] == "text":
            ids = encoding().encode(b["text"], disallowed_special=())
            kept = encoding().decode(ids[:budget])
            if kept:
                out.append({"type": "text", "text": kept})
            budget -= min(len(ids), budget)
        else:
            break
        if budget <= 0:
            break
    return out or [{"type": "text", "text": ""}]
