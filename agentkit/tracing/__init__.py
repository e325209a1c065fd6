"""Tracing agent runs with OpenTelemetry: set up once, capture a run, look at it.

An agent run is a tree of spans: one `invoke_agent {name}` root, a model call
per step (the anthropic SDK's own `anthropic.messages.create` spans) and an
`execute_tool {tool}` span per tool call, all named and attributed after the
OpenTelemetry GenAI semantic conventions. This package turns that on and makes
it readable in a notebook:

    setup_tracing()                  # once per notebook (calling again is fine)
    with capture() as trace:         # the spans started inside the block
        agent.run("...")
    print(trace)                     # the span tree as text
    trace.to_dataframe()             # one row per span
    trace.waterfall()                # nested bars on a time axis
    trace.summary()                  # where wall-clock time and tokens went

The three instrumentation layers the course teaches all end up here:
automatic (the SDK's spans, on as soon as a tracer provider is registered),
callback-based (`hook_spans(agent)` records spans from the agent's hooks) and
manual (`with tracer().start_as_current_span("..."):` around your own code).

One module per concept: `setup` (the tracer provider, the hub processor,
`capture`), `view` (`Trace`: tree, table, waterfall, summary, steps),
`genai_names` (`check_genai_attributes`) and `hooks` (`hook_spans`). The names
shared with the agent and the simulator (the current step, the simulated-time
attributes) live in `agentkit.trace_context`.
"""

from __future__ import annotations

from agentkit.trace_context import SIM_TIME_SCALE_ATTRIBUTE
from agentkit.tracing.genai_names import (
    GENAI_SOURCE_PACKAGE,
    NEWER_GENAI_NAMES,
    AttributeCheck,
    check_genai_attributes,
    genai_attribute_names,
    genai_source,
)
from agentkit.tracing.hooks import HookSpans, hook_spans
from agentkit.tracing.setup import MEMORY_LIMIT, TRACER_NAME, capture, finished_spans, setup_tracing, tracer
from agentkit.tracing.view import Trace, TraceSummary, span_kind, union_length

__all__ = [
    "TRACER_NAME",
    "MEMORY_LIMIT",
    "SIM_TIME_SCALE_ATTRIBUTE",
    "setup_tracing",
    "tracer",
    "capture",
    "finished_spans",
    "Trace",
    "TraceSummary",
    "span_kind",
    "union_length",
    "AttributeCheck",
    "check_genai_attributes",
    "genai_attribute_names",
    "genai_source",
    "GENAI_SOURCE_PACKAGE",
    "NEWER_GENAI_NAMES",
    "HookSpans",
    "hook_spans",
]
