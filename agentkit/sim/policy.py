"""What the simulated model says: the matching scenario's turn, or a default.

The reply depends only on the conversation (and the scenarios), never on a
random draw, so every rerun answers the same. The default policy, for
conversations no scenario matches, behaves sensibly and says it is simulated:
it calls the offered tools whose names match the request (several at once
when several independent tools match: parallel tool calls), filling their
required arguments from each tool's schema; it sums up tool results once they
arrive; it searches the offline corpus when a web search tool is offered and
no client tool fits; and otherwise explains that it is the offline simulator.

Features with their own module: thinking (`thinking.py`), structured outputs
(`structured.py`), server tools (`server_tools.py`). This module puts their
pieces in the order the API returns them: thinking, server-tool blocks, text
(with citations), then `tool_use` blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..models import tokenizer_factor
from ..tokens import count_tokens, encoding
from . import server_tools, structured, thinking
from .request import MessagesRequest
from .scenarios import Scenario, ToolCall, Turn

SIMULATED_NOTE = "(simulated)"
MAX_PARALLEL = 4
_STOP = {"the", "and", "for", "with", "that", "this", "from", "what", "which", "when", "into", "your", "have",
         "will", "about", "given", "returns", "return", "get", "use", "tool", "tools", "please", "can", "you"}


@dataclass
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    scenario: str | None
    thinking_tokens: int = 0
    server_tool_use: dict[str, int] | None = None
    #: tokens the model read inside the reply (search results, fetched pages), billed as input
    extra_input_tokens: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


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
    """Plausible arguments for a tool nobody scripted: its required fields, filled from its schema."""
    value = structured.sample(schema, user)
    return value if isinstance(value, dict) else {}


def respond(req: MessagesRequest, scenarios: Sequence[Scenario], new_id: Callable[[str], str]) -> Reply:
    """What the model says to a checked request: the content blocks, stop reason and token counts."""
    messages = req.messages
    model = req.model
    all_tools = [t for t in req.tools or [] if isinstance(t, dict) and "name" in t]
    server = {server_tools.kind_of(t): t for t in all_tools if server_tools.kind_of(t)}
    # Client tools the model can see: deferred ones only once a tool search loaded them.
    loaded = server_tools.referenced_tools(messages)
    client = {t["name"]: t for t in all_tools if t.get("type") in (None, "custom")}
    deferred = {n for n, t in client.items() if t.get("defer_loading") is True and n not in loaded}
    searchable = "tool_search" in server
    tools = {n: t for n, t in client.items() if n not in deferred or searchable}
    user = next((text_of(m["content"]) for m in messages if m["role"] == "user"), "")
    system = _system_text(req.system)
    last = messages[-1]
    prefill = text_of(last["content"]) if last["role"] == "assistant" else ""
    # A paused server-tool turn sent back to continue is not a prefill: the model goes on to its next turn.
    paused = last["role"] == "assistant" and isinstance(last["content"], list) and any(
        isinstance(b, dict) and b.get("type") == "server_tool_use" for b in last["content"])
    turn_index = sum(1 for m in messages if m["role"] == "assistant") - (1 if prefill and not paused else 0)
    last_results = [b for b in (last["content"] if isinstance(last["content"], list) else [])
                    if isinstance(b, dict) and b.get("type") == "tool_result"]
    result_text = "; ".join(text_of(b.get("content", "")) for b in last_results)
    any_error = any(b.get("is_error") for b in last_results)

    scenario = next((s for s in scenarios if s.match.matches(user=user, system=system, tools=set(tools),
                                                                  model=str(model))), None)
    if scenario is not None:
        turn = scenario.turn(turn_index)
        if any_error and turn.if_error is not None:
            turn = turn.if_error
    else:
        offered = {} if (req.tool_choice or {}).get("type") == "none" else tools
        turn = _default_turn(user, offered, last_results, result_text, messages, server, paused)
        hidden = {n: client[n] for n in deferred} if not searchable and offered else {}
        if not turn.tool_calls and hidden and not last_results:
            turn = _search_for_deferred(user, offered, hidden) or turn
        just_loaded = server_tools.referenced_tools([last]) & set(offered)
        if just_loaded and not any_error:
            # A search just loaded tools: call the one the request needs, as the model would next.
            name = _best_tool(user, {n: offered[n] for n in just_loaded}) or sorted(just_loaded)[0]
            turn = Turn(text=f"{SIMULATED_NOTE} Found {name}; calling it.",
                        tool_calls=(ToolCall(name, _sample_input(offered[name].get("input_schema") or {}, user)),))

    text = turn.text.replace("{last_tool_result}", result_text).replace("{user}", user)
    calls = [c for c in turn.tool_calls if c.name in tools]  # a model can only call what it was offered
    choice = req.tool_choice or {"type": "auto"}
    if choice.get("type") == "none" or not tools:
        calls = []
    else:
        if choice.get("type") == "tool":  # a named tool is the only one the model may call
            calls = [c for c in calls if c.name == choice.get("name")]
        if choice.get("type") in ("any", "tool") and not calls:
            name = choice["name"] if choice.get("type") == "tool" else _best_tool(user, tools) or next(iter(tools))
            calls = [ToolCall(name=name, input=_sample_input(tools[name].get("input_schema") or {}, user))]
    if choice.get("disable_parallel_tool_use"):
        calls = calls[:1]
    scenario_name = scenario.name if scenario else None
    calls = [ToolCall(c.name, structured.tool_input(tools[c.name], user, c.input, scenario=scenario_name))
             for c in calls]
    if choice.get("type") in ("any", "tool"):
        text = ""  # a forced tool call comes without preamble, as the API documents

    # Server tools run inside this reply.
    outcome = server_tools.Outcome()
    pages = (*server_tools.corpus(), *(scenario.corpus if scenario else ()))
    searches = list(turn.web_search) if "web_search" in server else []
    fetches = list(turn.web_fetch) if "web_fetch" in server else []
    over_limit = len(searches) + len(fetches) > server_tools.MAX_ITERATIONS
    if over_limit:  # the API pauses a turn whose server-tool loop runs too long: pause_turn, continue later
        searches = searches[: server_tools.MAX_ITERATIONS]
        fetches = fetches[: server_tools.MAX_ITERATIONS - len(searches)]
    if searches:
        server_tools.run_searches(searches, server["web_search"], pages, new_id, outcome)
    if fetches:
        server_tools.run_fetches(fetches, server["web_fetch"], pages, new_id, outcome)
    needs_loading = [c.name for c in calls if c.name in deferred]
    if needs_loading:
        server_tools.run_tool_search(needs_loading, server["tool_search"], new_id, outcome)
    if "{search_result}" in text:
        found = server_tools.first_sentence(outcome.cited[0].text) if outcome.cited else (
            "nothing in the offline corpus matched the query.")
        text = text.replace("{search_result}", found)

    # Structured output: the final answer is JSON that matches the schema.
    schema = structured.output_schema(req)
    if schema is not None:
        text = "" if calls or turn.stop_reason == "pause_turn" else structured.reply_json(
            schema, user, turn.json, scenario=scenario_name)

    if prefill and not paused and text.startswith(prefill):
        text = text[len(prefill):]
    if not text and not calls and not outcome.blocks:
        text = f"{SIMULATED_NOTE} I have nothing to add."

    if over_limit:
        text, calls = "", []
    stop_reason = "pause_turn" if over_limit else turn.stop_reason or ("tool_use" if calls else "end_turn")
    stop_sequence = None
    for seq in req.stop_sequences or []:
        pos = text.find(seq)
        if pos != -1 and (stop_sequence is None or pos < text.find(stop_sequence)):
            stop_sequence = seq
    if stop_sequence is not None:
        text, calls, stop_reason = text[: text.find(stop_sequence)], [], "stop_sequence"

    # Thinking comes first in the reply.
    head: list[dict[str, Any]] = []
    thought_tokens = 0
    plan = thinking.plan(req)
    if plan is not None and (plan.explicit or turn.thinking):
        thought = turn.thinking or thinking.default_thought(
            user, list(tools), [c.name for c in calls], bool(last_results), plan.effort, schema is not None)
        thought_tokens = count_tokens(thought, model)
        if plan.budget is not None and thought_tokens > plan.budget:
            thought = encoding().decode(encoding().encode(thought)[: int(plan.budget / tokenizer_factor(model))])
            thought_tokens = plan.budget
        head = thinking.blocks(thought, model, plan.display, turn.redacted_thinking)

    content: list[dict[str, Any]] = [*head, *outcome.blocks]
    if text:
        block: dict[str, Any] = {"type": "text", "text": text}
        if outcome.cited and outcome.searches and schema is None:
            block["citations"] = server_tools.cite(text, outcome.cited[:1])
        content.append(block)
    for c in calls:
        content.append({"type": "tool_use", "id": new_id("toolu"), "name": c.name, "input": c.input})
    visible = sum(count_tokens(b["text"], model) if b["type"] == "text" else
                  count_tokens(b["name"], model) + count_tokens(b["input"], model)
                  for b in content if b["type"] in ("text", "tool_use", "server_tool_use"))
    output_tokens = visible + thought_tokens + turn.extra_output_tokens

    max_tokens = req.max_tokens
    if output_tokens > max_tokens:
        # Cut the text at the budget left after thinking; _truncate counts cl100k tokens, so scale it.
        budget = max(0, int((max_tokens - thought_tokens) / tokenizer_factor(model)))
        keep = [b for b in content if b["type"] not in ("text", "tool_use")]
        content, output_tokens, stop_reason = keep + _truncate(
            [b for b in content if b["type"] in ("text", "tool_use")], budget), max_tokens, "max_tokens"
        stop_sequence = None
    return Reply(content=content, stop_reason=stop_reason, stop_sequence=stop_sequence,
                 output_tokens=max(output_tokens, 1), scenario=scenario_name, thinking_tokens=thought_tokens,
                 server_tool_use=outcome.usage(),
                 extra_input_tokens=sum(count_tokens(t, model) for t in outcome.read_text))


def _best_tool(user: str, tools: dict[str, dict[str, Any]]) -> str | None:
    wanted = _words(user)
    best, best_score = None, 0
    for name, t in tools.items():
        score = 2 * len(wanted & _words(name)) + len(wanted & _words(t.get("description", "")))
        if score > best_score:
            best, best_score = name, score
    return best


def _named_tools(user: str, tools: dict[str, dict[str, Any]]) -> list[str]:
    """Tools the request names outright (a word of the tool's name appears in it): independent asks
    such as "the weather and the time" that the model can call in parallel."""
    wanted = _words(user)
    return [name for name in tools if wanted & _words(name)][:MAX_PARALLEL]


def _default_turn(user: str, tools: dict[str, dict[str, Any]], last_results: list[dict[str, Any]],
                  result_text: str, messages: list[dict[str, Any]], server: dict[Any, dict[str, Any]],
                  paused: bool) -> Turn:
    if last_results:  # before the history scans below: an agent's long run mostly ends here
        return Turn(text=f"{SIMULATED_NOTE} Here is what the tools returned: {result_text}")
    used_tools = any(isinstance(m["content"], list) and any(isinstance(b, dict) and b.get("type") == "tool_use"
                                                            for b in m["content"]) for m in messages)
    searched = any(isinstance(m["content"], list) and any(
        isinstance(b, dict) and b.get("type") == "server_tool_use" for b in m["content"]) for m in messages)
    if tools and not used_tools:
        named = _named_tools(user, tools)
        if len(named) >= 2:
            return Turn(text=f"{SIMULATED_NOTE} I'll use {' and '.join(named)} for this.",
                        tool_calls=tuple(ToolCall(n, _sample_input(tools[n].get("input_schema") or {}, user))
                                         for n in named))
        name = _best_tool(user, tools)
        if name is not None:
            return Turn(text=f"{SIMULATED_NOTE} I'll use {name} for this.",
                        tool_calls=(ToolCall(name, _sample_input(tools[name].get("input_schema") or {}, user)),))
    if not searched and not paused:
        urls = server_tools.urls_in(user)
        if "web_fetch" in server and urls:
            return Turn(text=f"{SIMULATED_NOTE} I fetched {urls[0]}; see the page above.", web_fetch=(urls[0],))
        if "web_search" in server:
            return Turn(text=f"{SIMULATED_NOTE} From a web search: {{search_result}}", web_search=(user[:200],))
    short = user if len(user) <= 80 else user[:77] + "..."
    return Turn(text=f"{SIMULATED_NOTE} You asked: \u201c{short}\u201d. This answer comes from agentkit's offline "
                     "simulator, which replays scripted scenarios; set ANTHROPIC_API_KEY to ask Claude itself.")


def _search_for_deferred(user: str, visible: dict[str, dict[str, Any]],
                         hidden: dict[str, dict[str, Any]]) -> Turn | None:
    """With deferred tools and only a client-side search tool, call that searcher with the word that finds the
    deferred tool the request needs (the next turn, with its tool_reference loaded, calls the tool itself)."""
    target = _best_tool(user, hidden)
    searcher = next((n for n, t in visible.items()
                     if "search" in n.lower() and "tool" in (n + " " + t.get("description", "")).lower()), None)
    if target is None or searcher is None:
        return None
    keyword = sorted(_words(user) & _words(target + " " + hidden[target].get("description", "")))[0]
    schema = visible[searcher].get("input_schema") or {}
    args = _sample_input(schema, user)
    for name in list(args) or list((schema.get("properties") or {}))[:1]:
        args[name] = keyword
    return Turn(text=f"{SIMULATED_NOTE} Let me find a tool for this.", tool_calls=(ToolCall(searcher, args),))


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
