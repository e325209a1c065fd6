"""Tracing set-up and capture: one span processor on the process's tracer provider, and `capture()`.

`setup_tracing()` registers (or joins) an OpenTelemetry SDK tracer provider and adds agentkit's one
processor, the hub: it stamps the running agent step on every span, keeps recent spans in memory,
hands spans to open `capture()` blocks and forwards to the console or OTLP exporters asked for.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace as otel_trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Tracer

from agentkit import clock
from agentkit.trace_context import CURRENT_STEP, STEP_ATTRIBUTE
from agentkit.tracing.view import Trace

# Spans and events are stamped with the kit's clock: simulated waits at their simulated size, real time live.
clock.use_for_spans()

__all__ = ["TRACER_NAME", "MEMORY_LIMIT", "tracer", "setup_tracing", "finished_spans", "capture"]

#: The instrumentation scope of agentkit's own spans (the agent and hook spans).
TRACER_NAME = "agentkit"
#: How many finished spans the in-memory exporter keeps (oldest dropped first).
MEMORY_LIMIT = 20_000

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
        if STEP_ATTRIBUTE not in (span.attributes or {}):
            step = CURRENT_STEP.get()  # 0 outside a step; steps count from 1
            if step > 0:
                span.set_attribute(STEP_ATTRIBUTE, step)
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


@contextmanager
def capture(time_scale: float | None = None) -> Iterator[Trace]:
    """Collect the spans started inside the `with` block into a `Trace`.

    The trace is filled when the block exits. Sets tracing up first if no
    `setup_tracing()` call has yet. Spans are stamped with the kit's clock
    (`agentkit.clock`), so simulated waits show at their simulated size and
    no conversion is needed; `time_scale` (default 1.0) is kept for spans
    recorded by a clock that ran faster than real time.
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
        result._fill(spans)


def _snapshot(span: Span) -> ReadableSpan:
    snapshot = getattr(span, "_readable_span", None)
    return snapshot() if callable(snapshot) else span
