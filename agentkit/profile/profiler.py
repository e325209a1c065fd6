"""Profiling a trace file (streamed) or a trace the kit captured: the entry points.

    report = profile_file("spans.jsonl")     # any OTLP JSON file, or the kit's console spans
    report = profile_trace(trace)            # a `with agentkit.capture() as trace:` block's trace

A file is read span by span and each trace is profiled as soon as it looks complete (its root has arrived and
no span of it has come for a while), then its spans are let go: only one row of figures per trace is kept, plus
the spans of the traces a report draws (the first and the slowest). So memory stays bounded however long the file.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from agentkit.profile.adapt import prepare
from agentkit.profile.analysis import Profile, TraceProfile, profile_spans
from agentkit.profile.reader import DEFAULT_MAX_BYTES, Problem, RawSpan, read_spans
from agentkit.tracing import Trace

__all__ = ["profile_file", "profile_trace", "profile_traces", "MAX_BUFFERED_SPANS", "IDLE_SPANS", "MAX_PROBLEMS"]

#: Spans held while their traces are still open; past this the oldest open traces are profiled as they stand.
MAX_BUFFERED_SPANS = 200_000
#: A trace whose root has arrived is profiled once this many spans of other traces have come after its last one.
IDLE_SPANS = 2_000
#: Problems kept word for word; more are counted.
MAX_PROBLEMS = 200


class _Collector:
    """The profile so far, and the problems (the first `MAX_PROBLEMS` word for word, the rest counted)."""

    def __init__(self, source: str, on_trace: Callable[[TraceProfile], None] | None = None) -> None:
        self.profile = Profile(source=source)
        self.on_trace = on_trace

    def problem(self, p: Problem) -> None:
        if len(self.profile.problems) < MAX_PROBLEMS:
            self.profile.problems.append(p)
        else:
            self.profile.more_problems += 1

    def add(self, tp: TraceProfile) -> None:
        for p in tp.problems:
            self.problem(p)
        if self.on_trace is not None:
            self.on_trace(tp)  # every trace in full, before the profile lets most of it go
        self.profile.add(tp)


def _flush(collector: _Collector, trace_id: str, spans: list[RawSpan]) -> None:
    collector.add(profile_spans(spans, trace_id, diagnose=collector.profile.wants_diagnosis))


def profile_file(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 on_trace: Callable[[TraceProfile], None] | None = None) -> Profile:
    """Profile every trace in a file (see the module docstring). Problems are in `Profile.problems`.

    `on_trace(trace_profile)` is called with each trace's full profile as soon as it is done (the command writes
    its CSV rows there, so the CSV has every step however many traces the file holds)."""
    collector = _Collector(str(path), on_trace)
    problems: list[Problem] = []
    stats: dict[str, int] = {}
    open_traces: dict[str, list[RawSpan]] = {}
    last_seen: dict[str, int] = {}
    rooted: set[str] = set()
    done: deque[str] = deque(maxlen=10_000)
    done_set: set[str] = set()
    buffered = 0
    count = 0

    def finish(trace_id: str) -> None:
        nonlocal buffered
        spans = open_traces.pop(trace_id)
        buffered -= len(spans)
        last_seen.pop(trace_id, None)
        rooted.discard(trace_id)
        _flush(collector, trace_id, spans)
        if len(done) == done.maxlen:
            done_set.discard(done[0])
        done.append(trace_id)
        done_set.add(trace_id)

    for raw in read_spans(path, problems, max_bytes=max_bytes, stats=stats):
        for p in problems:
            collector.problem(p)
        problems.clear()
        count += 1
        prepare(raw, problems)
        tid = raw.trace_id
        if tid in done_set and tid not in open_traces:
            collector.problem(Problem(raw.where(), f"arrived after trace {tid[:16]} was profiled: profiled with the "
                                                   "other late spans of that trace as a separate part"))
            done_set.discard(tid)
        open_traces.setdefault(tid, []).append(raw)
        last_seen[tid] = count
        buffered += 1
        if raw.parent_id is None:
            rooted.add(tid)
        if count % 500 == 0:
            for t in [t for t in rooted if count - last_seen[t] > IDLE_SPANS]:
                finish(t)
        while buffered > MAX_BUFFERED_SPANS and open_traces:
            oldest = min(last_seen, key=last_seen.__getitem__)
            collector.problem(Problem(f"trace {oldest[:16]}", f"still open after {MAX_BUFFERED_SPANS:,} buffered spans: "
                                                              "profiled as it stood (later spans form a separate part)"))
            finish(oldest)
    for p in problems:
        collector.problem(p)
    for tid in list(open_traces):
        finish(tid)
    collector.profile.spans_read = count
    collector.profile.bytes_read = stats.get("bytes_read", 0)
    if not collector.profile.trace_count:
        collector.problem(Problem("file", "no spans found: is this an OTLP JSON trace file?"))
    return collector.profile


def _raw(span: ReadableSpan) -> RawSpan:
    """A span the kit captured, as the reader would have read it from a file (so both take one path)."""
    ctx = span.context
    parent = span.parent.span_id if span.parent is not None else None
    return RawSpan(
        trace_id=format(ctx.trace_id, "032x"), span_id=format(ctx.span_id, "016x"),
        parent_id=format(parent, "016x") if parent is not None else None, name=span.name,
        start_ns=span.start_time or 0, end_ns=span.end_time, attributes=dict(span.attributes or {}),
        events=[(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events],
        status=span.status.status_code.name, status_message=span.status.description or "",
        scope=span.instrumentation_scope.name if span.instrumentation_scope else "")


def _by_trace(spans: Iterable[ReadableSpan], problems: list[Problem]) -> Iterator[tuple[str, list[RawSpan]]]:
    groups: dict[str, list[RawSpan]] = {}
    for span in spans:
        raw = prepare(_raw(span), problems)
        groups.setdefault(raw.trace_id, []).append(raw)
    yield from groups.items()


def profile_trace(trace: Trace | Iterable[ReadableSpan]) -> Profile:
    """Profile spans the kit captured (`with agentkit.capture() as trace:`), one `TraceProfile` per trace id."""
    spans: Any = trace.spans if isinstance(trace, Trace) else list(trace)
    collector = _Collector("captured trace")
    problems: list[Problem] = []
    for tid, raws in _by_trace(spans, problems):
        collector.add(profile_spans(raws, tid))
        collector.profile.spans_read += len(raws)
    for p in problems:
        collector.problem(p)
    if not collector.profile.trace_count:
        collector.problem(Problem("trace", "no spans: run the agent inside `with agentkit.capture() as trace:`"))
    return collector.profile


def profile_traces(traces: Iterable[Trace]) -> Profile:
    """Profile many captured traces together (percentiles over runs)."""
    collector = _Collector("captured traces")
    for trace in traces:
        for tid, raws in _by_trace(trace.spans, []):
            tp = profile_spans(raws, tid)
            collector.add(tp)
            collector.profile.spans_read += tp.spans
    return collector.profile
