"""Callback-based instrumentation: spans recorded from the agent's hooks (`hook_spans(agent)`)."""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.trace import StatusCode

from agentkit.tracing.setup import tracer

__all__ = ["HookSpans", "hook_spans"]

_LAYER = {"agentkit.layer": "callback"}  # marks the spans this layer records

class HookSpans:
    """Hook functions that turn the agent's callbacks into spans (the callback layer).

    `hook_spans(agent)` registers them: each model call becomes a
    `hook model_call` span (with the step and the decision the model made),
    each tool call a `hook tool_call {tool}` span (failed calls get status
    ERROR and `error.type`). They are deliberately *not* GenAI `chat` /
    `execute_tool` spans, so a trace holding both the agent's own spans and
    these counts nothing twice; they show what a callback can record.

    Hook signatures are the agent's (`agentkit.agent.HOOK_EVENTS`):
    model_start(step), model_end(step), tool_start(step, call),
    tool_end(step, call), step_end(step).
    """

    def __init__(self) -> None:
        # Tool hooks run in worker threads when calls run concurrently.
        self._open: dict[tuple[str, Any], Any] = {}
        self._lock = threading.Lock()
        self._tracer = tracer()

    def _start(self, key: tuple[str, Any], name: str, attributes: dict[str, Any], parent: Any = None) -> Any:
        """Start a span (under `parent`, else the current span) and keep it open under `key`."""
        context = otel_trace.set_span_in_context(parent) if parent is not None else None
        span = self._tracer.start_span(name, context=context, attributes=attributes)
        with self._lock:
            self._open[key] = span
        return span

    def _pop(self, key: tuple[str, Any]) -> Any:
        with self._lock:
            return self._open.pop(key, None)

    def model_start(self, step: Any) -> None:
        self._start(("model", step.index), "hook model_call", {**_LAYER, "agentkit.step": step.index})

    def model_end(self, step: Any) -> None:
        span = self._pop(("model", step.index))
        if span is not None:
            span.set_attribute("agentkit.decision", step.decision or "")
            span.end()

    def tool_start(self, step: Any, call: Any) -> None:
        self._start(
            ("tool", call.id), f"hook tool_call {call.name}",
            {**_LAYER, "agentkit.step": step.index, "agentkit.tool_call_id": call.id},
        )

    def tool_end(self, step: Any, call: Any) -> None:
        span = self._pop(("tool", call.id))
        if span is None:
            return
        if getattr(call, "is_error", False):
            span.set_status(otel_trace.Status(StatusCode.ERROR))
            span.set_attribute("error.type", getattr(call, "error_type", None) or "tool_error")
        span.end()

    def step_end(self, step: Any) -> None:
        # A step that stopped early (budget, refusal) may leave a span open: close it with its step.
        with self._lock:
            leftovers = [key for key in self._open if key[0] == "model" and key[1] == step.index]
        for key in leftovers:
            span = self._pop(key)
            if span is not None:
                span.end()


def hook_spans(agent: Any) -> HookSpans:
    """Register span-recording hooks on `agent` (an `agentkit.Agent`) and return them."""
    if not callable(getattr(agent, "add_hook", None)):
        raise TypeError(
            f"hook_spans needs an agent with add_hook(event, fn), such as agentkit.Agent; got {type(agent).__name__}."
        )
    hooks = HookSpans()
    for event in ("model_start", "model_end", "tool_start", "tool_end", "step_end"):
        agent.add_hook(event, getattr(hooks, event))
    return hooks
