"""Thinking: the `thinking` and `output_config.effort` request fields, validated per model, and the
`thinking` / `redacted_thinking` blocks a reply carries.

What each model accepts comes from `agentkit/data/models.yaml` (its `thinking` mode and `off_type`):

* ``adaptive_always`` (Opus 5.5, Fable): adaptive only; ``disabled`` and manual ``enabled`` get 400.
* ``adaptive`` (Sonnet 5.5, Haiku 5.5, Opus 5, Sonnet 5): adaptive, or off; manual ``enabled`` gets 400.
  Sonnet 5.5 turns up-front thinking off with ``between_tools``, and ``disabled`` gets 400 naming it.
* ``adaptive_manual`` (Opus 4.6, Sonnet 4.6): adaptive, manual ``enabled`` with ``budget_tokens``, or off.
* ``extended`` (Haiku 4.5, Opus 4.5): manual ``enabled`` only, and no effort parameter.

Thinking tokens are billed as output tokens (`usage.output_tokens`, with
`output_tokens_details.thinking_tokens`). With ``display: "omitted"`` (the default on models from
Claude 4.7 on) the block's ``thinking`` text is empty and only the signature carries it, as the API
does. The simulated signature is the thought itself plus an HMAC, so the simulator can check that a
thinking block sent back in a later request is unmodified and came from the same model.

When does the simulated model think? With ``thinking`` set to ``adaptive`` or ``enabled`` it thinks
on every reply (a scripted thought, or a short plausible one from the default policy). With no
``thinking`` field, a model whose default is adaptive thinking "decides for itself"; the simulator
then thinks only where a scenario scripts a thought, so unscripted replies stay plain text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .. import models as _models
from .errors import invalid
from .models_api import effort_levels, thinking_types
from .request import MessagesRequest

MIN_BUDGET = 1024
_KEY = b"agentkit-simulated-thinking"  # not a secret: it only lets the simulator recognise its own blocks
_TYPES = ("adaptive", "between_tools", "disabled", "enabled")
_DISPLAYS = ("summarized", "omitted")
#: sentences of default thought per effort level: more effort, longer thinking (and more output tokens)
_SENTENCES = {"low": 1, "medium": 2, "high": 3, "xhigh": 4, "max": 5}
#: models whose thinking blocks only that model may read back (their "what's new" pages say so). They read other
#: models' blocks: only a block they produced is refused by another model.
_TIED_FAMILIES_FROM = ("claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-1", "claude-fable-5-2")


@dataclass(frozen=True)
class Plan:
    """How the reply thinks: `explicit` when the request asked for thinking (not just the model's default)."""

    explicit: bool
    display: str
    effort: str
    budget: int | None = None


def default_display(m: _models.ModelInfo) -> str:
    # Opus 4.7 and later (the newer-tokenizer generation) default to "omitted"; earlier models to "summarized".
    return "omitted" if m.tokenizer != "claude-v1" else "summarized"


def _effort(config: Any, m: _models.ModelInfo) -> str | None:
    if config is None:
        return None
    if not isinstance(config, dict):
        raise invalid("output_config: Input should be an object such as {\"effort\": \"medium\"}")
    effort = config.get("effort")
    if effort is None:
        return None
    levels = effort_levels(m)
    if not levels:
        raise invalid(f"output_config.effort: effort is not supported on {m.id}; control thinking with "
                      "thinking.budget_tokens instead")
    if effort not in levels:
        raise invalid(f"output_config.effort: Input should be {', '.join(repr(v) for v in levels)}; got {effort!r}")
    return str(effort)


def validate(req: MessagesRequest) -> None:
    """Raise the API's 400 for a thinking or effort setting this model does not accept."""
    m = _models.info(req.model)
    effort = _effort(req.output_config, m)
    thinking: Any = req.thinking
    choice: Any = req.tool_choice or {}
    forced = isinstance(choice, dict) and choice.get("type") in ("any", "tool")
    if forced and not m.forced_tool_choice:
        raise invalid(f"tool_choice: forced tool use (type {choice.get('type')!r}) is not supported on {m.id}. "
                      "Use tool_choice {\"type\": \"auto\"} and say in the prompt when the tool must be called.")
    if thinking is None:
        return
    if not isinstance(thinking, dict) or thinking.get("type") not in _TYPES:
        got = thinking.get("type") if isinstance(thinking, dict) else thinking
        raise invalid(f"thinking.type: Input tag {got!r} found using 'type' does not match any of the expected tags: "
                      + ", ".join(repr(t) for t in _TYPES))
    kind = thinking["type"]
    accepted = thinking_types(m)
    if not accepted[kind]:
        raise invalid(_refusal(m, kind))
    display = thinking.get("display")
    if display is not None and display not in _DISPLAYS:
        raise invalid(f"thinking.display: Input should be 'summarized' or 'omitted'; got {display!r}")
    if kind in ("disabled", "between_tools") and effort in ("xhigh", "max"):
        raise invalid(f"thinking.type: {kind!r} cannot be combined with output_config.effort {effort!r} on {m.id}; "
                      "use adaptive thinking (omit `thinking`) to run at xhigh or max effort.")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise invalid("thinking.enabled.budget_tokens: Field required (a whole number of tokens, at least 1024)")
        if budget < MIN_BUDGET:
            raise invalid(f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_BUDGET}")
        if req.max_tokens <= budget:
            raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                          "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
                          "#max-tokens-and-context-window-size")
    if kind in ("enabled", "adaptive"):
        if forced:
            raise invalid("Thinking may not be enabled when tool_choice forces tool use.")
        temperature = req.body.get("temperature")
        if temperature is not None and temperature != 1:
            raise invalid("`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. Please "
                          "consult our documentation at https://docs.claude.com/en/docs/build-with-claude/"
                          "extended-thinking#feature-compatibility")
        if req.body.get("top_k") is not None:
            raise invalid("`top_k` is not supported when thinking is enabled or in adaptive mode.")


def _refusal(m: _models.ModelInfo, kind: str) -> str:
    if kind == "enabled":
        if m.thinking == "extended":
            return ""  # unreachable: extended models accept enabled
        return (f"thinking.type: 'enabled' (manual thinking with budget_tokens) is not supported on {m.id}. Use "
                "{\"type\": \"adaptive\"} and set the depth with output_config.effort.")
    if kind == "adaptive":
        return (f"thinking.type: 'adaptive' is not supported on {m.id}. Use {{\"type\": \"enabled\", "
                f"\"budget_tokens\": {MIN_BUDGET}}} or more.")
    if kind == "disabled" and m.off_type == "between_tools":
        return (f"thinking.type: 'disabled' is not supported on {m.id}. To turn off up-front thinking, send "
                "{\"type\": \"between_tools\"}.")
    if kind == "disabled":
        return (f"thinking.type: thinking cannot be disabled on {m.id}; it is always on. Lower "
                "output_config.effort to make it shorter.")
    return f"thinking.type: 'between_tools' is not supported on {m.id}."


def plan(req: MessagesRequest) -> Plan | None:
    """Whether (and how) this reply may think; None when thinking is off for the (checked) request."""
    m = _models.info(req.model)
    thinking = req.thinking
    effort = ((req.output_config or {}).get("effort") or m.default_effort or "high")
    if thinking is None:
        if m.thinking == "extended" or m.thinking_default == "off":
            return None  # these models think only when asked (extended thinking; Opus 4.8 and 4.7)
        return Plan(explicit=False, display=default_display(m), effort=effort)
    kind = thinking["type"]
    if kind in ("disabled", "between_tools"):
        return None
    return Plan(explicit=True, display=thinking.get("display") or default_display(m), effort=effort,
                budget=thinking.get("budget_tokens") if kind == "enabled" else None)


def default_thought(user: str, tool_names: list[str], called: list[str], have_results: bool, effort: str,
                    wants_json: bool) -> str:
    """A short, plausible thought for a reply nobody scripted; longer at higher effort."""
    short = user if len(user) <= 100 else user[:97] + "..."
    sentences = [f"The user asks: \u201c{short}\u201d."]
    if have_results:
        sentences.append("The tool results are back, so I can answer from them rather than guess.")
    elif called:
        sentences.append(f"I need {', '.join(called)} for this before I can answer.")
    elif tool_names:
        sentences.append(f"None of the tools offered ({', '.join(tool_names)}) is needed; I can answer directly.")
    else:
        sentences.append("No tools are offered, so I answer from what I know.")
    if wants_json:
        sentences.append("The reply must be JSON that matches the given schema, every required field filled.")
    sentences.append("I should keep the answer short and say plainly that this is the offline simulator.")
    sentences.append("Let me check the request once more for anything I missed before answering.")
    return " ".join(sentences[: max(1, _SENTENCES.get(effort, 3))])


def signature(thought: str, model: str) -> str:
    payload = json.dumps({"m": model, "t": thought}, separators=(",", ":")).encode()
    mac = hmac.new(_KEY, payload, hashlib.sha256).digest()[:12]
    return base64.b64encode(mac + payload).decode()


def _open(sig: Any) -> dict[str, str] | None:
    try:
        raw = base64.b64decode(sig, validate=True)
        mac, payload = raw[:12], raw[12:]
        if not hmac.compare_digest(mac, hmac.new(_KEY, payload, hashlib.sha256).digest()[:12]):
            return None
        data = json.loads(payload)
        return data if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None


def blocks(thought: str, model: str, display: str, redacted: bool) -> list[dict[str, Any]]:
    if redacted:
        data = base64.b64encode(b"redacted:" + signature(thought, model).encode()).decode()
        return [{"type": "redacted_thinking", "data": data}]
    shown = thought if display == "summarized" else ""
    return [{"type": "thinking", "thinking": shown, "signature": signature(thought, model)}]


class Ledger:
    """The tool_use ids this simulator issued right after a thinking block (bounded), so a continuation that
    drops that thinking block can be refused the way the API refuses it."""

    def __init__(self, limit: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def record(self, content: list[dict[str, Any]]) -> None:
        if not content or content[0].get("type") not in ("thinking", "redacted_thinking"):
            return
        with self._lock:
            for b in content:
                if b.get("type") == "tool_use":
                    self._ids[b["id"]] = None
            while len(self._ids) > self._limit:
                self._ids.popitem(last=False)

    def thought_before(self, tool_use_id: str) -> bool:
        with self._lock:
            return tool_use_id in self._ids


def check_history(req: MessagesRequest, ledger: Ledger) -> None:
    """Thinking blocks sent back must be unmodified and from a model that may read them, and a tool-use
    continuation must keep the thinking block its assistant turn started with."""
    model = req.model
    messages = req.messages or []
    for i, msg in enumerate(messages):
        if msg.get("role") != "assistant" or not isinstance(msg.get("content"), list):
            continue
        for j, b in enumerate(msg["content"]):
            if not isinstance(b, dict) or b.get("type") != "thinking":
                continue
            opened = _open(b.get("signature"))
            if opened is None or (b.get("thinking") and b.get("thinking") != opened.get("t")):
                raise invalid(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block: the block was "
                              "modified or did not come from this API. Send thinking blocks back exactly as received.")
            if opened.get("m") != model and opened.get("m") in _TIED_FAMILIES_FROM:
                raise invalid(f"messages.{i}.content.{j}: this thinking block was produced by {opened.get('m')} and "
                              f"cannot be sent to {model}; drop earlier turns' thinking blocks when switching models.")
    # The last assistant turn that called tools, answered by the final user message's tool results.
    kind = (req.thinking or {}).get("type")  # a dict by now: `validate` ran first
    if len(messages) < 2 or messages[-1].get("role") != "user" or kind not in (
            "enabled", "adaptive"):
        return
    last_assistant = messages[-2]
    content = last_assistant.get("content")
    if last_assistant.get("role") != "assistant" or not isinstance(content, list) or not content:
        return
    uses = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
    starts_with_thought = isinstance(content[0], dict) and content[0].get("type") in ("thinking", "redacted_thinking")
    if uses and not starts_with_thought and (kind == "enabled"
                                            or any(ledger.thought_before(u.get("id", "")) for u in uses)):
        i = len(messages) - 2
        raise invalid(f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                      f"`{content[0].get('type')}`. When `thinking` is enabled, a final `assistant` message must start "
                      "with a thinking block (preceding the lastmost set of `tool_use` and `tool_result` blocks). We "
                      "recommend you include thinking blocks from previous turns. To avoid this requirement, disable "
                      "`thinking`. Please consult our documentation at "
                      "https://docs.claude.com/en/docs/build-with-claude/extended-thinking")
