"""Tracing agent runs with OpenTelemetry: set up once, capture a run, look at it.

An agent run is a tree of spans: one `invoke_agent {name}` root, a model call
per step (the anthropic SDK's own `anthropic.messages.create` spans) and an
`execute_tool {tool}` span per tool call, all named and attributed after the
OpenTelemetry GenAI semantic conventions. This module turns that on and makes
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
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.metadata
import inspect
import os
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import trace as otel_trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import StatusCode, Tracer

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "TRACER_NAME",
    "setup_tracing",
    "tracer",
    "capture",
    "finished_spans",
    "Trace",
    "TraceSummary",
    "AttributeCheck",
    "check_genai_attributes",
    "genai_attribute_names",
    "hook_spans",
    "span_kind",
]

#: The instrumentation scope of agentkit's own spans (the agent and hook spans).
TRACER_NAME = "agentkit"
#: How many finished spans the in-memory exporter keeps (oldest dropped first).
MEMORY_LIMIT = 20_000

# gen_ai.operation.name -> the kind a learner reads in tables and plots.
_KINDS = {
    "invoke_agent": "agent",
    "create_agent": "agent",
    "chat": "model",
    "text_completion": "model",
    "generate_content": "model",
    "embeddings": "model",
    "execute_tool": "tool",
}


def tracer() -> Tracer:
    """The agentkit tracer, for manual spans: `with tracer().start_as_current_span("rerank"): ...`."""
    return otel_trace.get_tracer(TRACER_NAME)


# ---------------------------------------------------------------------------
# Set-up: one processor ("hub") on the process's tracer provider
# ---------------------------------------------------------------------------


class _MemoryExporter(SpanExporter):
    """Keeps the most recent finished spans in memory.

    The SDK's `InMemorySpanExporter` keeps every span forever; a notebook that
    runs an agent hundreds of times should not grow without bound, hence this
    bounded twin.
    """

    def __init__(self, limit: int = MEMORY_LIMIT) -> None:
        self._spans: deque[ReadableSpan] = deque(maxlen=limit)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def get_finished_spans(self) -> list[ReadableSpan]:
        return list(self._spans)

    def clear(self) -> None:
        self._spans.clear()


class _Collector:
    """The spans of one `capture()` block: those started while it was open."""

    def __init__(self) -> None:
        self.started: dict[int, Span] = {}  # span_id -> live span, in start order
        self.ended: dict[int, ReadableSpan] = {}


def _current_step() -> int | None:
    # The agent module sets this ContextVar while a step runs. Looked up in
    # sys.modules rather than imported: tracing must work (and stay cheap)
    # whether or not the agent has been loaded.
    agent = sys.modules.get("agentkit.agent")
    var = getattr(agent, "CURRENT_STEP", None) if agent is not None else None
    if var is None:
        return None
    step = var.get(0)  # 0 means "not inside a step"; steps count from 1
    return step if isinstance(step, int) and not isinstance(step, bool) and step > 0 else None


class _Hub(SpanProcessor):
    """agentkit's one span processor on the tracer provider.

    Stamps `agentkit.step` on spans started during an agent step, hands spans
    to open `capture()` blocks, keeps recent spans in memory, and forwards to
    the optional console/OTLP processors. Being a single processor whose
    exporters can be swapped is what makes `setup_tracing` safe to call again:
    an SDK provider cannot remove a processor once added.
    """

    def __init__(self) -> None:
        self.memory = _MemoryExporter()
        self.exporters: dict[str, SpanProcessor] = {}  # "console" / "otlp:<url>" -> processor
        self._forward: tuple[SpanProcessor, ...] = ()
        self._collectors: tuple[_Collector, ...] = ()  # copy-on-write: read without a lock
        self._lock = threading.Lock()

    # -- configuration --------------------------------------------------
    def configure(self, wanted: dict[str, Callable[[], SpanProcessor]]) -> None:
        with self._lock:
            for key in list(self.exporters):
                if key not in wanted:
                    self.exporters.pop(key).shutdown()  # flushes what is queued first
            for key, make in wanted.items():
                if key not in self.exporters:
                    self.exporters[key] = make()
            self._forward = tuple(self.exporters.values())

    def open(self, collector: _Collector) -> None:
        with self._lock:
            self._collectors = (*self._collectors, collector)

    def close(self, collector: _Collector) -> None:
        with self._lock:
            self._collectors = tuple(c for c in self._collectors if c is not collector)

    # -- SpanProcessor ----------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if "agentkit.step" not in (span.attributes or {}):
            step = _current_step()
            if step is not None:
                span.set_attribute("agentkit.step", step)
        for collector in self._collectors:
            collector.started[span.context.span_id] = span
        for processor in self._forward:
            processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        span_id = span.context.span_id
        for collector in self._collectors:
            if span_id in collector.started:
                collector.ended[span_id] = span
        # Straight to the store: a SimpleSpanProcessor would also suppress instrumentation
        # around the export, which costs more than the export itself and guards no I/O here.
        self.memory.export((span,))
        for processor in self._forward:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self._forward:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self._forward)


_HUB: _Hub | None = None
_PROVIDER: TracerProvider | None = None
_SETUP_LOCK = threading.Lock()


def _otlp_url(endpoint: str) -> str:
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise ValueError(
            f"otlp_endpoint must be an http(s) URL such as 'http://localhost:4318' (Jaeger) or "
            f"'http://localhost:6006/v1/traces' (Phoenix); got {endpoint!r}."
        )
    # The OTLP/HTTP exporter wants the full traces URL; collectors document the base one.
    url = endpoint.rstrip("/")
    return url if url.endswith("/v1/traces") else url + "/v1/traces"


def setup_tracing(console: bool = False, otlp_endpoint: str | None = None) -> TracerProvider:
    """Turn on tracing for this process and return its tracer provider.

    Registers an OpenTelemetry `TracerProvider` as the global one (or, if the
    notebook already registered an SDK provider, e.g. Phoenix's `register()`,
    joins that one). Finished spans always go to an in-memory store that
    `capture()` and `finished_spans()` read; `console=True` also prints them and
    `otlp_endpoint="http://localhost:4318"` also sends them over OTLP/HTTP to
    Jaeger, Phoenix or any collector.

    That global provider is all the anthropic SDK needs: its clients trace
    every API call to it by default (`open_telemetry=` client option, unless
    `ANTHROPIC_OPEN_TELEMETRY=false`), including clients made before this call.

    Safe to call again: the provider is set once per process (OpenTelemetry
    allows no more), and each call makes the exporters match its arguments,
    so `setup_tracing(console=True)` then `setup_tracing()` stops printing.
    """
    global _HUB, _PROVIDER
    wanted: dict[str, Callable[[], SpanProcessor]] = {}
    if console:
        # sys.stdout read now, not at import, so the spans print where this call's output goes.
        wanted["console"] = lambda: SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout))
    if otlp_endpoint is not None:
        url = _otlp_url(otlp_endpoint)

        def make_otlp() -> SpanProcessor:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # Batched: a slow or absent collector must not slow the agent down.
            return BatchSpanProcessor(OTLPSpanExporter(endpoint=url))

        wanted[f"otlp:{url}"] = make_otlp

    with _SETUP_LOCK:
        if _PROVIDER is None:
            current = otel_trace.get_tracer_provider()
            if isinstance(current, TracerProvider):
                provider = current  # someone else registered an SDK provider first: join it
            elif isinstance(current, otel_trace.ProxyTracerProvider):
                provider = TracerProvider(resource=Resource.create({"service.name": "agentkit-course"}))
                otel_trace.set_tracer_provider(provider)
            else:
                raise RuntimeError(
                    f"A non-SDK tracer provider ({type(current).__name__}) is already registered, so agentkit "
                    "cannot add its span processor. Register an opentelemetry.sdk.trace.TracerProvider instead "
                    "(or unset OTEL_PYTHON_TRACER_PROVIDER) and restart the kernel."
                )
            hub = _Hub()
            provider.add_span_processor(hub)
            _HUB, _PROVIDER = hub, provider
        assert _HUB is not None and _PROVIDER is not None
        _HUB.configure(wanted)

    if os.environ.get("ANTHROPIC_OPEN_TELEMETRY", "").lower() == "false":
        warnings.warn(
            "ANTHROPIC_OPEN_TELEMETRY=false is set, so anthropic clients made without an open_telemetry= option "
            "emit no model-call spans. Unset it (and make the client again) to see model calls in traces.",
            stacklevel=2,
        )
    return _PROVIDER


def _hub() -> _Hub:
    if _HUB is None:
        setup_tracing()
    assert _HUB is not None
    return _HUB


def finished_spans() -> list[ReadableSpan]:
    """Every span finished since `setup_tracing()` (the most recent 20,000), oldest first."""
    return _hub().memory.get_finished_spans()


#: set by agentkit's simulator on the SDK's span of every call it answers
SIM_TIME_SCALE_ATTRIBUTE = "agentkit.sim.time_scale"


@contextmanager
def capture(time_scale: float | None = None) -> Iterator[Trace]:
    """Collect the spans started inside the `with` block into a `Trace`.

    The trace is filled when the block exits. Sets tracing up first if no
    `setup_tracing()` call has yet. `time_scale` is the simulator's: spans took
    `simulated seconds * time_scale` of real time, so the trace reports
    durations divided by it. Left as None, it is read off the spans: the
    simulator stamps `agentkit.sim.time_scale` on every model call it answers,
    and a trace with no simulated call (live mode) uses 1.0.
    """
    result = Trace([], time_scale=1.0 if time_scale is None else time_scale, complete=False)  # validates time_scale before any work
    hub = _hub()
    collector = _Collector()
    hub.open(collector)
    try:
        yield result
    finally:
        hub.close(collector)
        # A span still open (e.g. a stream never read to its end) is kept as it stands now:
        # a frozen copy (the SDK's own snapshot method), so ending it later changes nothing here.
        spans = [collector.ended.get(sid) or _snapshot(live) for sid, live in collector.started.items()]
        if time_scale is None:
            result.time_scale = _simulated_time_scale(spans) or 1.0
        result._fill(spans)


def _simulated_time_scale(spans: Iterable[ReadableSpan]) -> float | None:
    """The time scale the simulator stamped on the model calls it answered, if any (0 means it slept nothing:
    durations are then real overhead only, reported as they are)."""
    for span in spans:
        scale = (span.attributes or {}).get(SIM_TIME_SCALE_ATTRIBUTE)
        if isinstance(scale, (int, float)) and scale > 0:
            return float(scale)
    return None


def _snapshot(span: Span) -> ReadableSpan:
    snapshot = getattr(span, "_readable_span", None)
    return snapshot() if callable(snapshot) else span


# ---------------------------------------------------------------------------
# Trace: the spans of one capture, as text, table, plot and summary
# ---------------------------------------------------------------------------


def span_kind(span: ReadableSpan) -> str:
    """'agent', 'model', 'tool' or 'other', from the span's `gen_ai.operation.name`."""
    return _KINDS.get(str((span.attributes or {}).get("gen_ai.operation.name", "")), "other")


@dataclass(frozen=True)
class TraceSummary:
    """Where one trace's wall-clock time and tokens went (seconds are simulated when time_scale != 1).

    `model_s` and `tool_s` are the time covered by at least one model (tool)
    span, so concurrent tool calls count once; `other_s` is the wall-clock time
    covered by neither. If model and tool spans overlap, the three add up to
    more than `wall_s`.
    """

    wall_s: float
    model_s: float
    tool_s: float
    other_s: float
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    model_calls: int
    tool_calls: int
    errors: int
    per_tool_s: dict[str, float] = field(default_factory=dict)
    per_tool_calls: dict[str, int] = field(default_factory=dict)

    @property
    def model_share(self) -> float:
        return self.model_s / self.wall_s if self.wall_s else 0.0

    @property
    def tool_share(self) -> float:
        return self.tool_s / self.wall_s if self.wall_s else 0.0

    def __str__(self) -> str:
        lines = [
            f"wall clock   {self.wall_s:8.2f} s",
            f"  model      {self.model_s:8.2f} s  ({self.model_share:.0%}, {self.model_calls} calls)",
            f"  tools      {self.tool_s:8.2f} s  ({self.tool_share:.0%}, {self.tool_calls} calls)",
            f"  other      {self.other_s:8.2f} s",
        ]
        for name, seconds in sorted(self.per_tool_s.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {name:<20} {seconds:8.2f} s  ({self.per_tool_calls.get(name, 0)} calls)")
        lines.append(
            f"tokens       {self.input_tokens} in ({self.cache_read_tokens} cache read, "
            f"{self.cache_write_tokens} cache write), {self.output_tokens} out"
        )
        if self.errors:
            lines.append(f"errors       {self.errors}")
        return "\n".join(lines)


def _union_length(intervals: Iterable[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def _int_attr(attrs: Any, *names: str) -> int | None:
    for name in names:
        value = attrs.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class Trace:
    """The spans of one run: `str(trace)`, `.to_dataframe()`, `.waterfall()`, `.summary()`.

    Times are reported in seconds from the trace's first span start, divided by
    `time_scale` (the simulator's; 1.0 against the real API).
    """

    def __init__(self, spans: Iterable[ReadableSpan], time_scale: float = 1.0, *, complete: bool = True) -> None:
        if not isinstance(time_scale, (int, float)) or isinstance(time_scale, bool) or not time_scale > 0:
            raise ValueError(f"time_scale must be a positive number (the simulator's, 1.0 for real time); got {time_scale!r}.")
        self.time_scale = float(time_scale)
        self._spans: list[ReadableSpan] = []
        self._complete = complete
        self._closed_at = time.time_ns()
        if complete:
            self._fill(spans)

    def _fill(self, spans: Iterable[ReadableSpan]) -> None:
        self._closed_at = time.time_ns()
        self._spans = sorted(spans, key=lambda s: (s.start_time or 0, s.context.span_id))
        self._complete = True

    def _ready(self) -> list[ReadableSpan]:
        if not self._complete:
            raise RuntimeError(
                "This trace is filled when its `with capture() as trace:` block ends; "
                "use it after the block (dedent the line)."
            )
        return self._spans

    # -- basic access -------------------------------------------------------
    @property
    def spans(self) -> list[ReadableSpan]:
        """The OpenTelemetry spans, in start order."""
        return list(self._ready())

    def __len__(self) -> int:
        return len(self._ready())

    def __iter__(self) -> Iterator[ReadableSpan]:
        return iter(self._ready())

    def select(self, kind: str | None = None, name: str | None = None) -> list[ReadableSpan]:
        """The spans of one kind ('agent', 'model', 'tool', 'other') and/or whose name starts with `name`."""
        if kind is not None and kind not in ("agent", "model", "tool", "other"):
            raise ValueError(f"kind must be 'agent', 'model', 'tool' or 'other'; got {kind!r}.")
        return [
            s for s in self._ready()
            if (kind is None or span_kind(s) == kind) and (name is None or s.name.startswith(name))
        ]

    # -- time helpers --------------------------------------------------------
    @property
    def _origin(self) -> int:
        return min((s.start_time or 0) for s in self._spans) if self._spans else 0

    def _end_ns(self, span: ReadableSpan) -> int:
        return span.end_time if span.end_time is not None else max(self._closed_at, span.start_time or 0)

    def _interval(self, span: ReadableSpan) -> tuple[float, float]:
        origin, scale = self._origin, self.time_scale
        start = ((span.start_time or 0) - origin) / 1e9 / scale
        simulated = (span.attributes or {}).get("agentkit.sim.seconds")
        if isinstance(simulated, (int, float)) and scale != 1.0:
            # A simulated model call lasts exactly its simulated seconds; wall time / scale would add the real
            # overhead of the SDK and the simulator, magnified by 1/scale (seconds of noise at scale 0.02).
            return start, start + float(simulated)
        return start, (self._end_ns(span) - origin) / 1e9 / scale

    def _tree_order(self) -> list[tuple[ReadableSpan, int]]:
        """Spans depth-first (children after their parent, by start), with their depth."""
        spans = self._ready()
        ids = {s.context.span_id for s in spans}
        children: dict[int | None, list[ReadableSpan]] = {}
        for s in spans:
            parent = s.parent.span_id if s.parent is not None and s.parent.span_id in ids else None
            children.setdefault(parent, []).append(s)
        out: list[tuple[ReadableSpan, int]] = []

        def walk(parent: int | None, depth: int) -> None:
            for s in children.get(parent, []):
                out.append((s, depth))
                walk(s.context.span_id, depth + 1)

        walk(None, 0)
        return out

    def _decisions(self) -> dict[int, str]:
        """step -> decision, from the `agentkit.step` events on agent spans."""
        out: dict[int, str] = {}
        for s in self._ready():
            for event in s.events:
                attrs = event.attributes or {}
                if event.name == "agentkit.step" and isinstance(attrs.get("agentkit.step"), int):
                    out[int(attrs["agentkit.step"])] = str(attrs.get("agentkit.decision", ""))
        return out

    # -- text ------------------------------------------------------------------
    def tree(self) -> str:
        """The span tree as text: start offset, duration, kind and key attributes per span."""
        spans = self._tree_order()
        if not spans:
            return "(no spans: was tracing set up and did the block run anything?)"
        unit = "s" if self.time_scale == 1.0 else "s sim"
        lines = []
        for span, depth in spans:
            start, end = self._interval(span)
            attrs = span.attributes or {}
            bits = [f"step={attrs['agentkit.step']}"] if "agentkit.step" in attrs else []
            kind = span_kind(span)
            if kind == "agent":
                bits += [f"model={attrs.get('gen_ai.request.model', '?')}"]
                if "agentkit.steps" in attrs:
                    bits.append(f"steps={attrs['agentkit.steps']}")
                if "agentkit.stop_reason" in attrs:
                    bits.append(f"stop={attrs['agentkit.stop_reason']}")
            if kind in ("agent", "model"):
                tokens_in = _int_attr(attrs, "gen_ai.usage.input_tokens")
                if tokens_in is not None:
                    bits.append(f"tokens={tokens_in}in/{_int_attr(attrs, 'gen_ai.usage.output_tokens') or 0}out")
                cache_read = _int_attr(attrs, "gen_ai.usage.cache_read.input_tokens")
                if cache_read:
                    bits.append(f"cache_read={cache_read}")
            if kind == "model":
                finish = _finish_reason(attrs)
                if finish:
                    bits.append(f"finish={finish}")
                ttft = attrs.get("gen_ai.response.time_to_first_chunk")
                if isinstance(ttft, (int, float)):
                    bits.append(f"ttft={ttft / self.time_scale:.2f}{unit.split()[0]}")
            if kind == "tool" and "gen_ai.tool.call.id" in attrs:
                bits.append(f"call={attrs['gen_ai.tool.call.id']}")
            if span.status.status_code is StatusCode.ERROR:
                bits.append(f"ERROR {attrs.get('error.type') or span.status.description or ''}".rstrip())
            if span.end_time is None:
                bits.append("(still open)")
            indent = "  " * depth + ("└─ " if depth else "")
            label = f"{indent}{span.name}"
            lines.append(f"{label:<44} +{start:7.2f} {end - start:7.2f}{unit:<6} [{kind}] {' '.join(bits)}".rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.tree()

    def __repr__(self) -> str:
        if not self._complete:
            return "<Trace (filled when the capture block ends)>"
        return f"<Trace: {len(self._spans)} spans, time_scale={self.time_scale}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the tree
        printer.text(repr(self) if cycle or not self._complete else self.tree())

    # -- table ------------------------------------------------------------------
    def to_dataframe(self) -> pd.DataFrame:
        """One row per span, in tree order.

        Columns: name, span_id, parent (the parent's span_id, missing for a root),
        depth, kind, start, end, duration_s (seconds from the trace start,
        divided by time_scale), step, decision, tool, call_id, model,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
        ttft_s, finish_reason, status, error.
        """
        import pandas as pd

        decisions = self._decisions()
        rows = []
        for span, depth in self._tree_order():
            attrs = span.attributes or {}
            start, end = self._interval(span)
            step = _int_attr(attrs, "agentkit.step")
            ttft = attrs.get("gen_ai.response.time_to_first_chunk")
            kind = span_kind(span)
            rows.append(
                {
                    "name": span.name,
                    "span_id": format(span.context.span_id, "016x"),
                    "parent": format(span.parent.span_id, "016x") if span.parent is not None else None,
                    "depth": depth,
                    "kind": kind,
                    "start": start,
                    "end": end,
                    "duration_s": end - start,
                    "step": step,
                    "decision": decisions.get(step) if step is not None and kind != "tool" else None,
                    "tool": attrs.get("gen_ai.tool.name"),
                    "call_id": attrs.get("gen_ai.tool.call.id"),
                    "model": attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"),
                    "input_tokens": _int_attr(attrs, "gen_ai.usage.input_tokens"),
                    "output_tokens": _int_attr(attrs, "gen_ai.usage.output_tokens"),
                    "cache_read_tokens": _int_attr(attrs, "gen_ai.usage.cache_read.input_tokens"),
                    "cache_write_tokens": _int_attr(
                        attrs, "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens"
                    ),
                    "ttft_s": ttft / self.time_scale if isinstance(ttft, (int, float)) else None,
                    "finish_reason": _finish_reason(attrs),
                    "status": "OPEN" if span.end_time is None else span.status.status_code.name,
                    "error": attrs.get("error.type") or (span.status.description or None),
                }
            )
        columns = [
            "name", "span_id", "parent", "depth", "kind", "start", "end", "duration_s", "step", "decision",
            "tool", "call_id", "model", "input_tokens", "output_tokens", "cache_read_tokens",
            "cache_write_tokens", "ttft_s", "finish_reason", "status", "error",
        ]
        df = pd.DataFrame(rows, columns=columns)
        for col in ("step", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            df[col] = df[col].astype("Int64")  # whole numbers with gaps, not floats
        return df

    def steps(self) -> pd.DataFrame:
        """One row per agent step from the root's `agentkit.step` events: step, decision, finish_reasons, at (s)."""
        import pandas as pd

        rows = []
        origin = self._origin
        for span in self._ready():
            for event in span.events:
                attrs = event.attributes or {}
                if event.name != "agentkit.step":
                    continue
                reasons = attrs.get("gen_ai.response.finish_reasons")
                rows.append(
                    {
                        "step": attrs.get("agentkit.step"),
                        "decision": attrs.get("agentkit.decision"),
                        "finish_reasons": ",".join(reasons) if isinstance(reasons, (list, tuple)) else reasons,
                        "at": (event.timestamp - origin) / 1e9 / self.time_scale,
                    }
                )
        return pd.DataFrame(rows, columns=["step", "decision", "finish_reasons", "at"])

    def seconds_by_step(self) -> dict[int, float]:
        """Seconds of model and tool spans per agent step (`agentkit.step`), summed: which step was slow.

        Concurrent tool calls each count in full here (a sum of span durations, not wall clock);
        `summary()` has the wall-clock view.
        """
        out: dict[int, float] = {}
        for span in self._ready():
            if span_kind(span) in ("model", "tool"):
                step = span.attributes.get("agentkit.step")
                start, end = self._interval(span)
                out[step] = out.get(step, 0.0) + (end - start)
        return out

    # -- summary -------------------------------------------------------------------
    def summary(self) -> TraceSummary:
        """Wall clock, time in model vs tools vs other (unions of intervals), tokens, per-tool time."""
        spans = self._ready()
        if not spans:
            return TraceSummary(0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0)
        intervals = {s.context.span_id: self._interval(s) for s in spans}
        wall = max(e for _, e in intervals.values()) - min(b for b, _ in intervals.values())
        by_kind: dict[str, list[ReadableSpan]] = {}
        for s in spans:
            by_kind.setdefault(span_kind(s), []).append(s)
        models, tools = by_kind.get("model", []), by_kind.get("tool", [])
        model_iv = [intervals[s.context.span_id] for s in models]
        tool_iv = [intervals[s.context.span_id] for s in tools]
        per_tool: dict[str, list[tuple[float, float]]] = {}
        for s in tools:
            per_tool.setdefault(str((s.attributes or {}).get("gen_ai.tool.name", s.name)), []).append(
                intervals[s.context.span_id]
            )
        # Token totals from the model spans; an agent span's totals only when no model span was recorded
        # (e.g. the SDK's spans were turned off), so nothing is counted twice.
        token_spans = models or by_kind.get("agent", [])

        def total(*names: str) -> int:
            return sum(_int_attr(s.attributes or {}, *names) or 0 for s in token_spans)

        return TraceSummary(
            wall_s=wall,
            model_s=_union_length(model_iv),
            tool_s=_union_length(tool_iv),
            other_s=wall - _union_length(model_iv + tool_iv),
            input_tokens=total("gen_ai.usage.input_tokens"),
            output_tokens=total("gen_ai.usage.output_tokens"),
            cache_read_tokens=total("gen_ai.usage.cache_read.input_tokens"),
            cache_write_tokens=total("gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens"),
            model_calls=len(models),
            tool_calls=len(tools),
            errors=sum(s.status.status_code is StatusCode.ERROR for s in spans),
            per_tool_s={name: _union_length(iv) for name, iv in per_tool.items()},
            per_tool_calls={name: len(iv) for name, iv in per_tool.items()},
        )

    # -- plot ------------------------------------------------------------------------
    def waterfall(self, ax: Any = None, title: str | None = None) -> Figure:
        """A waterfall: one bar per span from its start to its end, children under their parent.

        Model, tool, agent and other spans are coloured apart; failed spans
        are hatched in red. Returns the matplotlib Figure (shown by Jupyter).
        """
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch

        ordered = self._tree_order()
        if ax is None:
            height = min(1.2 + 0.26 * max(len(ordered), 1), 24.0)
            fig, ax = plt.subplots(figsize=(10, height))
        else:
            fig = ax.figure
        if not ordered:
            ax.text(0.5, 0.5, "no spans", ha="center", va="center", transform=ax.transAxes)
            return fig
        labels = []
        for row, (span, depth) in enumerate(ordered):
            start, end = self._interval(span)
            kind = span_kind(span)
            failed = span.status.status_code is StatusCode.ERROR
            ax.barh(
                row, max(end - start, 1e-9), left=start, height=0.7,
                color=_COLOURS[kind], edgecolor="#c0392b" if failed else "none",
                hatch="///" if failed else None, linewidth=1.2 if failed else 0,
            )
            step = (span.attributes or {}).get("agentkit.step")
            prefix = f"[{step}] " if step is not None and kind != "agent" else ""
            labels.append("  " * depth + prefix + _short(span.name))
        ax.set_yticks(range(len(ordered)), labels, fontsize=8, family="monospace")
        # Left-aligned so the indentation shows the nesting; a monospace character is ~0.6 em wide.
        ax.tick_params(axis="y", length=0, pad=8 * 0.6 * max(len(label) for label in labels) + 4)
        for tick_label in ax.get_yticklabels():
            tick_label.set_horizontalalignment("left")
        ax.set_ylim(len(ordered) - 0.5, -0.5)  # first span on top
        unit = "seconds" if self.time_scale == 1.0 else "simulated seconds"
        ax.set_xlabel(f"{unit} since the trace started")
        ax.grid(axis="x", alpha=0.3)
        # Step boundaries from the agent's step events, so "which step was slow" reads off the plot.
        steps = self.steps()
        for _, event in steps.iterrows():
            ax.axvline(event["at"], color="#999999", linewidth=0.6, linestyle=":", zorder=0)
        kinds_present = [k for k in ("agent", "model", "tool", "other") if any(span_kind(s) == k for s, _ in ordered)]
        handles = [Patch(color=_COLOURS[k], label=_LEGEND[k]) for k in kinds_present]
        if any(s.status.status_code is StatusCode.ERROR for s, _ in ordered):
            handles.append(Patch(facecolor="white", edgecolor="#c0392b", hatch="///", label="error"))
        if len(steps):
            handles.append(plt.Line2D([], [], color="#999999", linestyle=":", label="step ends"))
        # Above the plot: a waterfall fills its lower right corner, where a legend would hide bars.
        ax.legend(
            handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(handles),
            fontsize=8, frameon=False, borderaxespad=0.2,
        )
        summary = self.summary()
        fig.suptitle(
            title or f"{summary.wall_s:.1f} s wall clock: model {summary.model_share:.0%}, tools {summary.tool_share:.0%}",
            fontsize=10,
        )
        fig.tight_layout()
        return fig


_COLOURS = {"agent": "#b0b7c3", "model": "#3b78c2", "tool": "#e8912d", "other": "#6aa84f"}
_LEGEND = {"agent": "agent (invoke_agent)", "model": "model call", "tool": "tool call (execute_tool)", "other": "other"}


def _short(name: str, width: int = 38) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _finish_reason(attrs: Any) -> str | None:
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, (list, tuple)) and reasons:
        return ",".join(str(r) for r in reasons)
    for name in ("anthropic.message.stop_reason", "agentkit.stop_reason"):
        if isinstance(attrs.get(name), str):
            return str(attrs[name])
    return None


# ---------------------------------------------------------------------------
# GenAI semantic-convention names
# ---------------------------------------------------------------------------

#: Where the list of `gen_ai.*` names comes from. The GenAI conventions moved
#: to their own repository (open-telemetry/semantic-conventions-genai) in 2026
#: without renaming attributes; the Python package below still ships the
#: registry snapshot, marking each name "Moved to" (still current) or
#: "Removed"/"Replaced by" (retired). Checked 2026-11-21.
GENAI_SOURCE_PACKAGE = "opentelemetry-semantic-conventions"

#: Names in the GenAI registry newer than that package's snapshot, which the
#: anthropic SDK 2.11 emits on its `anthropic.messages.create` spans
#: (anthropic/_tracing.py, SPAN_ATTRIBUTES). Typed by hand because no installed
#: package lists them; extend with care, with a source, as the registry grows.
NEWER_GENAI_NAMES: dict[str, str] = {
    "gen_ai.usage.cache_write.input_tokens": "registry name for cache-write tokens (package snapshot: cache_creation)",
    "gen_ai.request.reasoning.level": "requested reasoning effort (Anthropic: output_config.effort)",
}


@functools.lru_cache(maxsize=1)
def genai_attribute_names() -> tuple[frozenset[str], dict[str, str]]:
    """(current names, {retired name: what replaced it}) for `gen_ai.*` attributes.

    Read from the installed semantic-conventions package's source (each
    constant's docstring says whether it moved or was retired), plus
    `NEWER_GENAI_NAMES`.
    """
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as module

    tree = ast.parse(inspect.getsource(module))
    current: set[str] = set(NEWER_GENAI_NAMES)
    retired: dict[str, str] = {}
    body = tree.body
    for i, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant)):
            continue
        name = node.value.value
        if not (isinstance(name, str) and name.startswith("gen_ai.")):
            continue
        doc = ""
        if i + 1 < len(body) and isinstance(body[i + 1], ast.Expr) and isinstance(body[i + 1].value, ast.Constant):
            doc = str(body[i + 1].value.value).strip()
        if "Removed" in doc:
            retired[name] = "removed, no replacement"
        elif "Replaced by `" in doc:
            retired[name] = "use " + doc.split("Replaced by `", 1)[1].split("`", 1)[0]
        else:
            current.add(name)
    if not current - set(NEWER_GENAI_NAMES):
        raise RuntimeError(f"Found no gen_ai.* names in {module.__file__}; has {GENAI_SOURCE_PACKAGE} changed layout?")
    return frozenset(current), retired


def genai_source() -> str:
    """Which package version (and date) the GenAI name list was derived from."""
    return f"{GENAI_SOURCE_PACKAGE} {importlib.metadata.version(GENAI_SOURCE_PACKAGE)}, checked 2026-11-21"


@dataclass(frozen=True)
class AttributeCheck:
    """Result of `check_genai_attributes`: `unknown` names (with a likely intended name) and `retired` ones."""

    unknown: dict[str, str | None]  # name -> closest real name, if any
    retired: dict[str, str]  # name -> what to use instead
    where: dict[str, list[str]]  # name -> span names it was found on
    source: str

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.retired

    def __str__(self) -> str:
        if self.ok:
            return f"All gen_ai.* attribute names are real GenAI convention names ({self.source})."
        lines = []
        for name, guess in self.unknown.items():
            hint = f" (did you mean {guess}?)" if guess else ""
            lines.append(f"unknown  {name}{hint} on {', '.join(self.where[name])}")
        for name, instead in self.retired.items():
            lines.append(f"retired  {name}: {instead}; on {', '.join(self.where[name])}")
        return "\n".join(lines)


def check_genai_attributes(spans: Trace | Iterable[ReadableSpan]) -> AttributeCheck:
    """Check every `gen_ai.*` attribute name on the spans (and their events) against the GenAI conventions.

    Returns the unknown names (a misspelling such as `gen_ai.usage.input_token`
    or a made-up one) with the closest real name, and retired names (such as
    `gen_ai.system`) with their replacement.
    """
    current, retired_names = genai_attribute_names()
    unknown: dict[str, str | None] = {}
    retired: dict[str, str] = {}
    where: dict[str, list[str]] = {}
    for span in spans:
        keys = list(span.attributes or {})
        for event in span.events:
            keys += list(event.attributes or {})
        for key in keys:
            if not key.startswith("gen_ai.") or key in current:
                continue
            if span.name not in where.setdefault(key, []):
                where[key].append(span.name)
            if key in retired_names:
                retired[key] = retired_names[key]
            else:
                close = difflib.get_close_matches(key, sorted(current), n=1, cutoff=0.9)
                unknown[key] = close[0] if close else None
    return AttributeCheck(unknown=unknown, retired=retired, where=where, source=genai_source())


# ---------------------------------------------------------------------------
# Callback-based instrumentation: spans from the agent's hooks
# ---------------------------------------------------------------------------


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

    def _start(self, key: tuple[str, Any], name: str, attributes: dict[str, Any]) -> None:
        span = self._tracer.start_span(name, attributes={"agentkit.layer": "callback", **attributes})
        with self._lock:
            self._open[key] = span

    def _pop(self, key: tuple[str, Any]) -> Any:
        with self._lock:
            return self._open.pop(key, None)

    def model_start(self, step: Any) -> None:
        self._start(("model", step.index), "hook model_call", {"agentkit.step": step.index})

    def model_end(self, step: Any) -> None:
        span = self._pop(("model", step.index))
        if span is not None:
            span.set_attribute("agentkit.decision", step.decision or "")
            span.end()

    def tool_start(self, step: Any, call: Any) -> None:
        self._start(
            ("tool", call.id), f"hook tool_call {call.name}", {"agentkit.step": step.index, "agentkit.tool_call_id": call.id}
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
