"""What the simulated model says: the matching scenario's turn, or the default policy's answer.

The reply depends only on the request (and the scenarios), never on a random draw, so every rerun answers
the same. Scenarios (`scenarios.py`) script lessons; the default policy answers whatever no scenario
matches, such as a learner's own agent, so that code written against Claude behaves sensibly offline.

The default policy, in the order it decides (each behaviour has its own test in tests/test_sim_policy.py).
"The request" is the latest user message that has text; the tool calls after it are this task's progress.

1. Refusal. A clearly harmful ask (weapons that kill many, malware, sexual content involving minors, ...)
   gets a short refusal with `stop_reason: "refusal"` and `stop_details` naming the category.
2. Tool calls, one per turn. With client tools offered, the policy plans the task and makes the next call
   only; the next turn, with its `tool_result`, makes the following one. Parallel calls come only when the
   request names several independent tasks for different tools in one sentence and nothing orders them
   ("the weather in Paris and the time in Tokyo"); "then", "after that", "next" order them into turns.
   `disable_parallel_tool_use` always gets one call.
3. Arithmetic goes to a calculator-like tool (a tool named or described as calculator / calculate / math /
   arithmetic / evaluate / compute) with the expression as its string argument, one step per turn
   ("17 * 23, then add 100" is two calls: "17 * 23", then "391 + 100" with the first result). Names in the
   expression are first looked up with the request's other tool, one per turn ("the population of Lyon plus
   the population of Marseille" calls lookup(Lyon), lookup(Marseille), then the calculator). When the last
   result is back, the answer states it as the tool wrote it ("The answer is 491."). With no calculator
   offered, a request that is plainly arithmetic ("What is 12 * 7?") is answered directly; `arithmetic.py`
   says which phrasings it understands. "3-5 bullet points" is a range, not a subtraction.
4. Arguments come from the conversation (`extract.py`): names, numbers, dates, e-mails, enum values found
   in the text, so a forced `tool_choice` on an extraction tool returns the paragraph's own values. They
   always validate against the tool's `input_schema`; `output_config.format` replies are filled the same
   way and validate against their schema (structured outputs).
5. "Reply in JSON" (or "respond with JSON", "as JSON", "JSON only") in the system prompt or the request gets
   a JSON object: the keys of an example object in the prompt, or of a list of quoted key names, filled from
   the text; otherwise {"answer": ..., "simulated": true}.
6. Requested lengths ("a 500-word essay", "five 1,000-word stories", "3 paragraphs") are written out in
   full (placeholder prose on the request's topic), so a reply longer than `max_tokens` is cut there with
   `stop_reason: "max_tokens"`. Lengths under 100 words only for a writing task ("Write a 50-word ...").
7. Documents with `citations: {"enabled": true}` are quoted with citations (`documents.py`): `char_location`
   for text documents, `page_location` for PDFs, `content_block_location` for custom content.
8. Web search / web fetch server tools, when offered and no client tool fits, search the offline corpus.
9. Otherwise it says it is agentkit's offline simulator and how to reach Claude.

Features with their own module: thinking (`thinking.py`), structured outputs (`structured.py`), server
tools (`server_tools.py`). This module puts their pieces in the order the API returns them: thinking,
server-tool blocks, text (with citations), then `tool_use` blocks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..models import tokenizer_factor
from ..tokens import count_tokens, encoding
from . import arithmetic, documents, extract, server_tools, structured, thinking
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
    #: the API's `stop_details` (a refusal's category), or None
    stop_details: dict[str, Any] | None = None


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
    """Arguments for a tool nobody scripted: the values the text gives for its fields (`extract.fill`), always
    valid against its schema."""
    value = extract.fill(schema, user)
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
        context = Context.of(messages, system)
        turn = _refusal(context.request) or _default_turn(context, offered, last_results, result_text, messages,
                                                          server, paused)
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
            calls = [ToolCall(name=name, input=_sample_input(tools[name].get("input_schema") or {},
                                                             _conversation_text(messages)))]
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

    # Structured output: the final answer is JSON that matches the schema, its values taken from the text.
    schema = structured.output_schema(req)
    if schema is not None:
        scripted = turn.json
        if scripted is None and scenario is None:
            scripted = extract.fill(schema, _conversation_text(messages))
        text = "" if calls or turn.stop_reason == "pause_turn" else structured.reply_json(
            schema, user, scripted, scenario=scenario_name)
    elif scenario is None and not calls and turn.stop_reason != "refusal" and not outcome.blocks:
        wanted = _json_wanted(system, Context.of(messages, system).request)
        if wanted is not None:
            text = _json_reply(wanted, text, _conversation_text(messages))
    cited = None
    if scenario is None and not calls and schema is None and turn.stop_reason != "refusal":
        request = Context.of(messages, system).request
        cited = documents.citation_blocks(messages, request, f"{SIMULATED_NOTE} From the document: ")

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
    if cited is not None:
        content.extend(cited)
    elif text:
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
    details = None
    if stop_reason == "refusal":
        details = {"type": "refusal", "category": _refusal_category(Context.of(messages, system).request),
                   "explanation": None}
    return Reply(content=content, stop_reason=stop_reason, stop_sequence=stop_sequence,
                 output_tokens=max(output_tokens, 1), scenario=scenario_name, thinking_tokens=thought_tokens,
                 server_tool_use=outcome.usage(),
                 extra_input_tokens=sum(count_tokens(t, model) for t in outcome.read_text), stop_details=details)


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


@dataclass(frozen=True)
class Call:
    """A tool call made since the request, with what came back."""

    name: str
    input: dict[str, Any]
    result: str | None
    is_error: bool = False


@dataclass(frozen=True)
class Context:
    """The task in hand: the request (the latest user message with text) and the tool calls made since."""

    request: str
    calls: tuple[Call, ...]
    system: str

    @classmethod
    def of(cls, messages: list[dict[str, Any]], system: str) -> Context:
        start = 0
        for i, m in enumerate(messages):
            # a request is a user turn with text; text sent beside tool results ("continue") is not a new one
            has_results = isinstance(m["content"], list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in m["content"])
            if m["role"] == "user" and not has_results and text_of(m["content"]).strip():
                start = i
        results: dict[str, tuple[str, bool]] = {}
        for m in messages[start:]:
            if m["role"] == "user" and isinstance(m["content"], list):
                for b in m["content"]:
                    if isinstance(b, dict) and b.get("type") == "tool_result":
                        results[str(b.get("tool_use_id"))] = (text_of(b.get("content", "")), bool(b.get("is_error")))
        calls = []
        for m in messages[start:]:
            if m["role"] == "assistant" and isinstance(m["content"], list):
                for b in m["content"]:
                    if isinstance(b, dict) and b.get("type") == "tool_use":
                        got = results.get(str(b.get("id")))
                        args = b.get("input")
                        calls.append(Call(str(b.get("name")), args if isinstance(args, dict) else {},
                                          got[0] if got else None, got[1] if got else False))
        request = text_of(messages[start]["content"]) if messages else ""
        return cls(request, tuple(calls), system)


def _conversation_text(messages: list[dict[str, Any]]) -> str:
    """What the user gave the model to read: their text and plain-text documents, in order."""
    parts = []
    for m in messages:
        if m["role"] != "user":
            continue
        content = m["content"]
        if isinstance(content, str):
            parts.append(content)
            continue
        for b in content or []:
            if not isinstance(b, dict):
                continue
            if b.get("type") == "text":
                parts.append(str(b.get("text", "")))
            elif b.get("type") == "document" and (b.get("source") or {}).get("type") == "text":
                parts.append(str((b.get("source") or {}).get("data", "")))
    return "\n".join(parts)


# -- refusals --------------------------------------------------------------------------------------------------
_HARMFUL: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bio", re.compile(r"\b(make|build|create|synthesi[sz]e|produce|culture|weaponi[sz]e|grow)\b.{0,60}\b(bioweapon|"
                       r"anthrax|smallpox|botulinum|ricin|nerve agent|sarin|vx|chemical weapon|pathogen)", re.I)),
    ("general_harms", re.compile(r"\b(make|build|assemble|construct)\b.{0,40}\b(pipe bomb|bomb|explosive device|"
                                 r"ied|dirty bomb)\b|\bhow (?:do i|to|can i)\b.{0,30}\b(kill|poison|murder)\b.{0,30}"
                                 r"\b(someone|a person|people|my)\b", re.I)),
    ("cyber", re.compile(r"\b(write|create|build|code|develop)\b.{0,50}\b(ransomware|keylogger|malware|botnet|"
                         r"credential stealer|virus that)\b", re.I)),
    ("general_harms", re.compile(r"\b(sexual|explicit)\b.{0,40}\b(minor|child|children|underage)\b", re.I)),
)


def _refusal_category(request: str) -> str | None:
    for category, pattern in _HARMFUL:
        if pattern.search(request):
            return category
    return None


def _refusal(request: str) -> Turn | None:
    """A refusal for a clearly harmful ask; None for anything else."""
    if _refusal_category(request) is None:
        return None
    return Turn(text=f"{SIMULATED_NOTE} I can't help with that.", stop_reason="refusal")


# -- JSON when asked -------------------------------------------------------------------------------------------
_JSON_ASK = re.compile(r"\b(?:reply|respond|answer|return|output|write|give|format|formatted|only|valid|strict|"
                       r"with|in|as)\b[^.\n]{0,40}\bjson\b|\bjson\b[^.\n]{0,15}\b(?:only|object|format)\b", re.I)
_KEY_LIST = re.compile(r"\b(?:keys?|fields?|properties)\b[^.\n]{0,20}?((?:[`\"'][A-Za-z_][\w]*[`\"'][,\s]*(?:and|or)?"
                       r"\s*)+)", re.I)


def _json_wanted(system: str, request: str) -> dict[str, Any] | None:
    """The shape of JSON the prompt asks for (a JSON schema), or None when it asks for none."""
    for text in (system, request):
        if not text or not _JSON_ASK.search(text):
            continue
        for candidate in re.findall(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}", text):
            try:
                example = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(example, dict) and example:
                return _schema_of(example)
        keys = _KEY_LIST.search(text)
        if keys:
            names = re.findall(r"[`\"']([A-Za-z_]\w*)[`\"']", keys.group(1))
            if names:
                return {"type": "object", "properties": {n: {"type": "string"} for n in names},
                        "required": names, "additionalProperties": False}
        return {}
    return None


def _schema_of(example: Any) -> dict[str, Any]:
    if isinstance(example, dict):
        return {"type": "object", "properties": {k: _schema_of(v) for k, v in example.items()},
                "required": list(example), "additionalProperties": False}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int):
        return {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number"}
    if isinstance(example, list):
        return {"type": "array", "items": _schema_of(example[0]) if example else {"type": "string"}}
    return {"type": "string"}


def _json_reply(schema: dict[str, Any], text: str, conversation: str) -> str:
    if schema:
        return json.dumps(extract.fill(schema, conversation), ensure_ascii=False)
    answer = text.replace(SIMULATED_NOTE, "").strip()
    return json.dumps({"answer": answer, "simulated": True}, ensure_ascii=False)


# -- requested lengths -----------------------------------------------------------------------------------------
_NUMBER_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                            "thirteen fourteen fifteen sixteen seventeen eighteen nineteen "
                                            "twenty".split())}
_COUNT = r"(\d[\d,]*|" + "|".join(_NUMBER_WORDS) + r"|a|an)"
_LENGTH = re.compile(rf"\b(?:{_COUNT}\s+)?{_COUNT}[\s-]*(words?|sentences?|paragraphs?|pages?)\b", re.I)
_WORDS_PER = {"word": 1, "sentence": 15, "paragraph": 90, "page": 500}
#: a writing task: a short requested length ("in one sentence") is written out only for these
_WRITE = re.compile(r"^\s*(?:please\s+)?(write|compose|draft|generate|create|produce|tell me)\b", re.I)
_FILLER = ("The {a} matters here because every later step depends on it.",
           "Seen closely, the {a} and the {b} turn out to be connected.",
           "Each part of the {c} adds a detail that the next part builds on.",
           "A careful reader notices how the {b} changes from start to finish.",
           "Nothing about the {a} is simple, and that is why it is worth writing about.",
           "In the end the {c} returns to where it began, but changed.")


def _count(word: str | None) -> int | None:
    if word is None:
        return None
    w = word.lower()
    if w in ("a", "an"):
        return 1
    if w in _NUMBER_WORDS:
        return _NUMBER_WORDS[w]
    return int(w.replace(",", ""))


def requested_words(request: str) -> int:
    """How many words the request asks for ("five 1,000-word stories" -> 5000), 0 when it names no length."""
    total = 0
    for m in _LENGTH.finditer(request):
        times, size, unit = _count(m.group(1)), _count(m.group(2)), m.group(3).lower().rstrip("s")
        if size is None:
            continue
        total = max(total, (times or 1) * size * _WORDS_PER[unit])
    return min(total, 200_000)


def _long_text(request: str, words: int) -> str:
    topic = [w for w in re.findall(r"[a-z]{4,}", request.lower()) if w not in _STOP and not w.startswith("word")]
    a, b, c = (topic + ["story", "idea", "journey"])[:3]
    out: list[str] = []
    count, i = 0, 0
    while count < words:
        sentence = _FILLER[i % len(_FILLER)].format(a=a, b=b, c=c)
        out.append(sentence)
        count += len(sentence.split())
        i += 1
        if i % 6 == 0:
            out.append("\n\n")
    return " ".join(" ".join(out).split(" ")[:words]).replace(" \n\n ", "\n\n").strip()


# -- tools -----------------------------------------------------------------------------------------------------
_CALCULATOR = re.compile(r"calc|math|arithmetic|evaluat|compute|expression", re.I)
_SEQUENCE = re.compile(r"\b(then|after that|afterwards|next|once you have|using the result|based on (?:that|the "
                       r"result))\b", re.I)
_CALC_CUE = re.compile(r"\b(what(?:'s| is)|calculate|compute|how much|how many|evaluate|work out|solve|add|"
                       r"multiply|divide|subtract|sum|product|average)\b|=\s*\?|^\s*[\d(]", re.I)


_ONLY_ARITHMETIC = re.compile(r"^\s*(?:please\s+)?(what(?:'s| is)|calculate|compute|evaluate|work out|solve|"
                              r"how much is|multiply|add|subtract|divide)\b", re.I)


def _calculator(tools: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """(tool name, its expression argument) of a calculator-like tool taking an expression string, or None."""
    for name, t in tools.items():
        if not _CALCULATOR.search(name + " " + str(t.get("description", ""))):
            continue
        props = ((t.get("input_schema") or {}).get("properties") or {})
        strings = [p for p, sch in props.items() if isinstance(sch, dict) and sch.get("type", "string") == "string"
                   and not sch.get("enum")]
        if strings:
            preferred = [p for p in strings if re.search(r"expr|input|query|formula|calc|equation|math", p, re.I)]
            return name, (preferred or strings)[0]
    return None


def _main_string(schema: dict[str, Any]) -> str | None:
    """The string argument a lookup is about (the first required string that is not an enum)."""
    props = schema.get("properties") or {}
    names = [p for p in (schema.get("required") or list(props)) if isinstance(props.get(p), dict)
             and props[p].get("type", "string") == "string" and not props[p].get("enum")]
    return names[0] if names else None


def _call_for(tool: dict[str, Any], text: str, entity: str | None = None) -> ToolCall:
    schema = tool.get("input_schema") or {}
    args = _sample_input(schema, text)
    main = _main_string(schema)
    if entity is not None and main is not None:
        args[main] = entity
    return ToolCall(str(tool["name"]), args)


def _final(context: Context, last_results_text: str) -> Turn:
    texts = [c.result for c in context.calls if c.result is not None]
    return Turn(text=f"{SIMULATED_NOTE} Here is what the tools returned: {'; '.join(texts) or last_results_text}")


def _arithmetic_turn(context: Context, tools: dict[str, dict[str, Any]]) -> Turn | None:
    """Lookups, then calculator steps, one call per turn; the answer once the last result is back. None when
    the request asks for no arithmetic."""
    request = context.request
    if not _CALC_CUE.search(request):
        return None
    calc = _calculator(tools)
    others = {n: t for n, t in tools.items() if calc is None or n != calc[0]}
    lookup = _best_tool(request, others) if others else None
    entities: list[str] = []
    if lookup is not None and _main_string(others[lookup].get("input_schema") or {}) is not None:
        nouns = [n for n in extract.proper_nouns(request) if not _words(n) & _words(lookup)]
        marked = request
        for i, noun in enumerate(nouns):
            marked = re.sub(rf"\b{re.escape(noun)}\b", str(9_000_001 + i), marked)
        planned = arithmetic.steps(marked, values=[9_000_001 + i for i in range(len(nouns))])
        entities = [n for i, n in enumerate(nouns) if any(str(9_000_001 + i) in step for step in planned)]
    values: list[float] = []
    substituted = request
    for entity in entities:
        done = next((c for c in context.calls if c.name == lookup and entity in json.dumps(c.input)), None)
        if done is None:
            assert lookup is not None
            return Turn(text=f"{SIMULATED_NOTE} I'll look up {entity} first.",
                        tool_calls=(_call_for(others[lookup], request, entity),))
        value = arithmetic.first_number(done.result or "") if not done.is_error else None
        if value is None:
            return Turn(text=f"{SIMULATED_NOTE} I could not get a number for {entity}: {done.result}")
        values.append(value)
        substituted = re.sub(rf"\b{re.escape(entity)}\b", arithmetic.fmt(value), substituted)
    plan = arithmetic.steps(substituted, values=values)
    if not plan:
        return None
    if calc is None:
        if not _ONLY_ARITHMETIC.search(request):
            return None  # no calculator and the arithmetic is incidental: not a question to answer with a number
        result: float | None = None
        try:
            for step in plan:
                result = arithmetic.evaluate(step, result)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        return Turn(text=f"{SIMULATED_NOTE} The answer is {arithmetic.fmt(result)}.")
    name, arg = calc
    done_calcs = [c for c in context.calls if c.name == name]
    for c in done_calcs:
        if c.is_error or c.result is None or arithmetic.first_number(c.result) is None:
            return Turn(text=f"{SIMULATED_NOTE} The calculator could not do it: {c.result}")
    if len(done_calcs) >= len(plan):
        last = done_calcs[-1].result or ""
        shown = re.search(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?", last)
        return Turn(text=f"{SIMULATED_NOTE} The answer is {shown.group(0) if shown else last}.")
    prev = arithmetic.first_number(done_calcs[-1].result or "") if done_calcs else None
    expression = plan[len(done_calcs)].replace(arithmetic.PREV, arithmetic.fmt(prev))
    args = _sample_input(tools[name].get("input_schema") or {}, request)
    args[arg] = _strip_parens(expression)
    return Turn(text=f"{SIMULATED_NOTE} Let me calculate {args[arg]}.", tool_calls=(ToolCall(name, args),))


def _strip_parens(expr: str) -> str:
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr
        expr = expr[1:-1].strip()
    return expr


def _tasks(request: str, tools: dict[str, dict[str, Any]]) -> list[list[ToolCall]]:
    """The request's tool calls, turn by turn: ordered steps ("then") one per turn; independent tasks for
    different tools in one step together (parallel); several names for one tool one per turn."""
    turns: list[list[ToolCall]] = []
    for clause in (c for c in _SEQUENCE.split(request) if c and not _SEQUENCE.fullmatch(c)):
        named = _named_tools(clause, tools)
        segments = [seg for seg in re.split(r"\band\b|,|;", clause) if seg.strip()]
        if len(named) >= 2:
            group = []
            for n in named:
                seg = next((sg for sg in segments if _words(sg) & _words(n)), clause)
                # the segment's own names ("the time in Tokyo"), else the whole step's ("weather and time in Oslo")
                group.append(_call_for(tools[n], seg if extract.proper_nouns(seg) else clause))
            turns.append(group)
            continue
        name = _best_tool(clause, tools)
        if name is None:
            continue
        main = _main_string(tools[name].get("input_schema") or {})
        nouns = [n for n in extract.proper_nouns(clause) if not _words(n) & _words(name)]
        if main is not None and len(nouns) >= 2 and re.search(r"\band\b|,", clause):
            turns.extend([[_call_for(tools[name], clause, noun)] for noun in nouns[:MAX_PARALLEL]])
        else:
            turns.append([_call_for(tools[name], clause)])
    return turns


def _default_turn(context: Context, tools: dict[str, dict[str, Any]], last_results: list[dict[str, Any]],
                  result_text: str, messages: list[dict[str, Any]], server: dict[Any, dict[str, Any]],
                  paused: bool) -> Turn:
    request = context.request
    if tools:
        planned = _arithmetic_turn(context, tools)
        if planned is not None:
            return planned
        turns = _tasks(request, tools)
        made = len(context.calls)
        done = 0
        for i, group in enumerate(turns):
            done += len(group)
            if made < done:
                if made > done - len(group):  # part of a parallel group answered: finish the rest one by one
                    group = group[made - (done - len(group)):]
                names = " and ".join(c.name for c in group)
                return Turn(text=f"{SIMULATED_NOTE} I'll use {names} for this.", tool_calls=tuple(group))
        if context.calls or last_results:
            return _final(context, result_text)
    elif last_results:
        return Turn(text=f"{SIMULATED_NOTE} Here is what the tools returned: {result_text}")
    else:
        planned = _arithmetic_turn(context, {})
        if planned is not None:
            return planned
    searched = any(isinstance(m["content"], list) and any(
        isinstance(b, dict) and b.get("type") == "server_tool_use" for b in m["content"]) for m in messages)
    if not searched and not paused:
        urls = server_tools.urls_in(request)
        if "web_fetch" in server and urls:
            return Turn(text=f"{SIMULATED_NOTE} I fetched {urls[0]}; see the page above.", web_fetch=(urls[0],))
        if "web_search" in server:
            return Turn(text=f"{SIMULATED_NOTE} From a web search: {{search_result}}", web_search=(request[:200],))
    words = requested_words(request)
    if words >= 100 or (words and _WRITE.search(request)):
        return Turn(text=f"{SIMULATED_NOTE} {_long_text(request, words)}")
    short = request if len(request) <= 80 else request[:77] + "..."
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
