"""Foreign spans adapted into what the kit's analyses take: a `Trace` of OpenTelemetry SDK spans in the kit's names.

Nothing here measures anything. `prepare(raw)` renames a span's attributes through the vocabulary table and,
where the prompt was recorded, counts its buckets with `agentkit.costs.request_buckets` (then drops the
contents, so memory stays flat on a long file). `assemble(spans)` turns one trace's spans into an
`agentkit.tracing.Trace`: open spans closed at the trace's last timestamp, the same model call seen by two
instrumentations (the SDK's own span and OpenInference's or OpenLLMetry's) counted once, steps numbered.
`agentkit.latency.breakdown`, `diagnose` and `Trace.waterfall` then run on it unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from agentkit.costs import BUCKETS, request_buckets
from agentkit.profile.prompts import is_content, request_of
from agentkit.profile.reader import Problem, RawSpan
from agentkit.profile.vocabulary import KIT_NAMES, normalize
from agentkit.trace_context import SIM_SECONDS_ATTRIBUTE, SIM_TIME_SCALE_ATTRIBUTE, STEP_ATTRIBUTE
from agentkit.tracing import Trace, span_kind

__all__ = ["prepare", "assemble", "Assembled", "BUCKET_PREFIX", "OPEN_ATTRIBUTE", "DUPLICATE_ATTRIBUTE", "SYNTHETIC_ROOT"]

#: Per-bucket token estimates counted from a span's recorded prompt: `agentkit.profile.bucket.<bucket>`.
BUCKET_PREFIX = "agentkit.profile.bucket."
#: Set on a span that had no end time in the file.
OPEN_ATTRIBUTE = "agentkit.profile.open"
#: Set on the second sighting of a model call already counted (its span id of the one counted).
DUPLICATE_ATTRIBUTE = "agentkit.profile.duplicate_of"
#: The name and mark of the root added over a trace whose spans have no common parent.
SYNTHETIC_ROOT = "(trace: no root span recorded)"
SYNTHETIC_ATTRIBUTE = "agentkit.profile.synthetic_root"
_RESOURCE = Resource({})  # one shared resource: Resource.create() runs detectors for every span


def prepare(raw: RawSpan, problems: list[Problem]) -> RawSpan:
    """Rename `raw`'s attributes into the kit's names (in place) and count its prompt's buckets if recorded."""
    attrs, wrong = normalize(raw.attributes)
    for message in wrong:
        problems.append(Problem(raw.where(), message))
    has_content = any(is_content(k) for k in attrs)
    if has_content and attrs.get(KIT_NAMES["operation"]) == "chat":
        request = request_of(attrs)
        if request is not None:
            model = attrs.get(KIT_NAMES["response_model"]) or attrs.get(KIT_NAMES["request_model"])
            try:
                buckets = request_buckets(request, model if isinstance(model, str) else None)
            except Exception as err:  # noqa: BLE001 - a recorded prompt in an odd shape: counted as unknown
                problems.append(Problem(raw.where(), f"recorded prompt could not be split into buckets ({err})"))
            else:
                for name in BUCKETS:
                    attrs[BUCKET_PREFIX + name] = buckets[name]
    raw.attributes = {k: v for k, v in attrs.items() if not is_content(k)} if has_content else attrs
    return raw


@dataclass
class Assembled:
    """One trace adapted: the kit `Trace`, its model calls (one span per call, in start order) and its problems."""

    trace: Trace
    model_calls: list[ReadableSpan]
    problems: list[Problem]


def _to_int(hex_id: str) -> int:
    return int(hex_id, 16)


def _model_groups(spans: list[RawSpan]) -> dict[str, str]:
    """span id -> the span id counted for the same model call, for every second sighting of a call.

    The same call is seen twice when two instrumentations trace it: nested (OpenInference's span around the
    SDK's) or side by side with the same response id (OpenLLMetry's and the SDK's). The span kept is the one
    closest to the wire: the simulator's timing marks, else a time-to-first-chunk, else the shortest.
    """
    by_id = {s.span_id: s for s in spans}
    models = [s for s in spans if s.attributes.get(KIT_NAMES["operation"]) == "chat"]

    def rank(s: RawSpan) -> tuple[int, int]:
        a = s.attributes
        marks = 0 if SIM_SECONDS_ATTRIBUTE in a else 1 if KIT_NAMES["time_to_first_chunk"] in a else 2
        return marks, (s.end_ns or s.start_ns) - s.start_ns

    groups: list[list[RawSpan]] = []
    by_response: dict[str, list[RawSpan]] = {}
    model_ids = {s.span_id for s in models}
    nested: dict[str, list[RawSpan]] = {}
    for s in models:
        rid = s.attributes.get(KIT_NAMES["response_id"])
        if isinstance(rid, str):
            by_response.setdefault(rid, []).append(s)
        # the outermost model span above this one, if any
        top, cursor, seen = None, s.parent_id, 0
        while cursor is not None and cursor in by_id and seen < 64:
            if cursor in model_ids:
                top = cursor
            cursor, seen = by_id[cursor].parent_id, seen + 1
        if top is not None:
            nested.setdefault(top, [by_id[top]]).append(s)
    groups += [g for g in by_response.values() if len(g) > 1]
    groups += list(nested.values())
    duplicate_of: dict[str, str] = {}
    for group in groups:
        keep = min(group, key=rank)
        while keep.span_id in duplicate_of:
            keep = by_id[duplicate_of[keep.span_id]]
        for s in group:
            if s is not keep and s.span_id not in duplicate_of:
                duplicate_of[s.span_id] = keep.span_id
                for key, value in s.attributes.items():  # the prompt's buckets may be on the other span only
                    keep.attributes.setdefault(key, value)
    return duplicate_of


def assemble(spans: Iterable[RawSpan], trace_id: str = "") -> Assembled:
    """One trace's prepared spans as a kit `Trace` (see the module docstring)."""
    spans = list(spans)
    problems: list[Problem] = []
    last = max(max((s.end_ns or s.start_ns) for s in spans),
               max((t for s in spans for _, t, _ in s.events), default=0))
    for s in spans:
        if s.end_ns is None:
            problems.append(Problem(s.where(), "no end time (still open when exported, or cut off): drawn to the "
                                               "trace's last timestamp and marked open"))
            s.end_ns = max(last, s.start_ns)
            s.attributes[OPEN_ATTRIBUTE] = True
        elif s.end_ns < s.start_ns:
            problems.append(Problem(s.where(), "ends before it starts: treated as instantaneous"))
            s.end_ns = s.start_ns
    duplicate_of = _model_groups(spans)
    for sid, kept in duplicate_of.items():
        for s in spans:
            if s.span_id == sid:
                s.attributes[KIT_NAMES["operation"]] = "duplicate"  # not a model span any more: counted once
                s.attributes[DUPLICATE_ATTRIBUTE] = kept
    # Steps: the kit's own spans carry agentkit.step; elsewhere model calls are numbered in start order and a
    # tool belongs to the step of the last model call that started before it.
    ordered = sorted(spans, key=lambda s: s.start_ns)
    step = 0
    has_steps = any(STEP_ATTRIBUTE in s.attributes for s in spans)
    for s in ordered:
        op = s.attributes.get(KIT_NAMES["operation"])
        if not has_steps and op == "chat":
            step += 1
            s.attributes[STEP_ATTRIBUTE] = step
        elif not has_steps and op == "execute_tool" and step:
            s.attributes[STEP_ATTRIBUTE] = step
    # Spans with no parent in the file (several roots: the agent loop itself was not traced) get one synthetic root
    # over the whole trace, so the time between them reads as gaps in the latency breakdown and the diagnosis.
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id is None or s.parent_id not in ids]
    if len(roots) > 1:
        root_id = format(int(spans[0].trace_id[:16], 16) ^ 0x5EED, "016x")
        while root_id in ids:
            root_id = format((int(root_id, 16) + 1) % (1 << 64) or 1, "016x")
        first = min(s.start_ns for s in spans)
        end = max(s.end_ns or s.start_ns for s in spans)
        for r in roots:
            r.parent_id = root_id
        spans.append(RawSpan(spans[0].trace_id, root_id, None, SYNTHETIC_ROOT, first, end,
                             {SYNTHETIC_ATTRIBUTE: True}, scope="agentkit.profile"))
        problems.append(Problem(f"trace {spans[0].trace_id[:16]}", f"{len(roots)} spans have no parent in the file "
                                "(the agent loop itself was not traced): they are drawn under one synthetic root, "
                                "so the time between them shows as gaps"))
    scale = next((float(v) for s in spans for v in [s.attributes.get(SIM_TIME_SCALE_ATTRIBUTE)]
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0), 1.0)
    ids = {s.span_id for s in spans}
    readable = [_readable(s, s.parent_id if s.parent_id in ids else None, s.parent_id) for s in spans]
    trace = Trace(readable, time_scale=scale)
    models = [s for s in trace.spans if span_kind(s) == "model"]
    return Assembled(trace, models, problems)


def _readable(s: RawSpan, parent: str | None, recorded_parent: str | None) -> ReadableSpan:
    trace_id = _to_int(s.trace_id)
    context = SpanContext(trace_id, _to_int(s.span_id), is_remote=False, trace_flags=TraceFlags(1))
    # A parent not in the file (a remote caller) is kept as recorded: the Trace view treats it as a root.
    parent_ctx = SpanContext(trace_id, _to_int(recorded_parent), is_remote=parent is None) if recorded_parent else None
    events = [Event(name, attrs, timestamp) for name, timestamp, attrs in s.events]
    status = Status(StatusCode.ERROR, s.status_message or None) if s.status == "ERROR" else _STATUSES[s.status]
    attrs: dict[str, Any] = s.attributes
    return ReadableSpan(name=s.name, context=context, parent=parent_ctx, resource=_RESOURCE, attributes=attrs,
                        events=events, status=status, start_time=s.start_ns, end_time=s.end_ns,
                        instrumentation_scope=_scope(s.scope or "unknown"))


_STATUSES = {"OK": Status(StatusCode.OK), "UNSET": Status(StatusCode.UNSET)}


@functools.lru_cache(maxsize=256)
def _scope(name: str) -> InstrumentationScope:
    return InstrumentationScope(name)
