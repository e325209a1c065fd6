"""Reading trace files: OTLP JSON and the kit's own span dumps, streamed span by span.

Formats understood, told apart by content (not by file name):

- **OTLP JSON**: the protobuf JSON mapping of an `ExportTraceServiceRequest`
  (`{"resourceSpans": [{"scopeSpans": [{"spans": [...]}]}]}`), as the OpenTelemetry Collector's file
  exporter writes it (one export per line) or as one document (pretty-printed or not). Ids may be hex (the
  OTLP/JSON rule) or base64 (the plain protobuf mapping); field names lowerCamelCase or snake_case.
- **The kit's console spans**: what `agentkit.setup_tracing(console=True)` (the SDK's `ConsoleSpanExporter`,
  `ReadableSpan.to_json()`) prints: one pretty-printed JSON object per span, one after another.
- a JSON array of either.

Nothing is read whole unless the file is one single document: lines are read one at a time, each line at
most `MAX_LINE_BYTES`, and reading stops after `max_bytes` (a 2 GB file is profiled on its first part and the
report says so). Every problem (a truncated line, a span with no end time, a value of the wrong type) is a
`Problem` naming the line and the span; what could be read is still profiled.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["RawSpan", "Problem", "TraceFileError", "read_spans", "DEFAULT_MAX_BYTES", "MAX_LINE_BYTES",
           "MAX_DOCUMENT_BYTES"]

#: Reading stops after this many bytes unless told otherwise (`max_bytes=`, `--max-bytes`).
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB
#: A longer line is skipped with a problem rather than held in memory.
MAX_LINE_BYTES = 64 << 20
#: A file that is one multi-line JSON document must fit in memory whole: at most this.
MAX_DOCUMENT_BYTES = 256 << 20


class TraceFileError(ValueError):
    """The file cannot be read as a trace at all (missing, a folder, not JSON from its first line)."""


@dataclass(frozen=True)
class Problem:
    """Something in the input the profiler could not use as it stands: where, and what it did instead."""

    where: str  # "line 12", "line 12, span 'chat claude-...' (00f0...)", "trace 4bf9..."
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(slots=True)
class RawSpan:
    """One span as read from a file, before any vocabulary is applied (times in Unix nanoseconds)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int | None
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    status: str = "UNSET"  # UNSET / OK / ERROR
    status_message: str = ""
    scope: str = ""
    line: int = 0

    def where(self) -> str:
        return f"line {self.line}, span {self.name!r} ({self.span_id})"


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)  # a trace id repeats on every span of its trace, a parent id on every child
def _id(value: Any, size: int) -> str | None:
    """A trace (size 16) or span (size 8) id as lowercase hex, from hex, 0x-hex or base64; None if unusable."""
    if not isinstance(value, str) or not value:  # (unhashable values never reach the cache: ids are strings)
        return None
    text = value[2:] if value.startswith("0x") else value
    if len(text) == size * 2:
        try:
            int(text, 16)
            return text.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == size else None


def _value(v: Any) -> Any:
    """An OTLP AnyValue as a Python value (int64 arrives as a JSON string, per the protobuf mapping)."""
    if not isinstance(v, dict):
        return None
    for kind, inner in v.items():  # an AnyValue has one field
        if kind in _STRING:
            return inner
        if kind in _INT:
            try:
                return int(inner)
            except (TypeError, ValueError):
                return inner  # left as is: the vocabulary reports a token count that is not a number
        if kind in _DOUBLE:
            try:
                return float(inner)
            except (TypeError, ValueError):
                return inner
        if kind in _ARRAY:
            return tuple(_value(x) for x in (inner or {}).get("values", []))
        if kind in _KVLIST:
            return {kv.get("key"): _value(kv.get("value")) for kv in (inner or {}).get("values", [])}
        return inner  # boolValue, bytesValue (base64 text)
    return None


_STRING = frozenset(("stringValue", "string_value"))
_INT = frozenset(("intValue", "int_value"))
_DOUBLE = frozenset(("doubleValue", "double_value"))
_ARRAY = frozenset(("arrayValue", "array_value"))
_KVLIST = frozenset(("kvlistValue", "kvlist_value"))


def _attributes(items: Any) -> dict[str, Any]:
    if isinstance(items, dict):  # the console format: a plain mapping
        return {str(k): tuple(v) if isinstance(v, list) else v for k, v in items.items()}
    out: dict[str, Any] = {}
    for kv in items or ():
        key = kv.get("key") if isinstance(kv, dict) else None
        if isinstance(key, str):
            out[key] = _value(kv.get("value"))
    return out


def _nanos(value: Any) -> int | None:
    """Unix nanoseconds from an OTLP field (a string or number); 0 and missing are None (the span has no time)."""
    if value is None:
        return None
    try:
        ns = int(value)
    except (TypeError, ValueError):
        return None
    return ns if ns > 0 else None


def _iso_nanos(value: Any) -> int | None:
    """Unix nanoseconds from the console format's ISO-8601 time ("2026-12-07T05:20:01.123456Z")."""
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000


_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR", "STATUS_CODE_UNSET": "UNSET", "STATUS_CODE_OK": "OK",
           "STATUS_CODE_ERROR": "ERROR", "UNSET": "UNSET", "OK": "OK", "ERROR": "ERROR"}


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    value = d.get(camel)
    return d.get(snake) if value is None else value


# ---------------------------------------------------------------------------
# Documents -> spans
# ---------------------------------------------------------------------------


def _otlp_spans(doc: dict[str, Any], line: int, problems: list[Problem]) -> Iterator[RawSpan]:
    for rs in _get(doc, "resourceSpans", "resource_spans") or ():
        for ss in _get(rs, "scopeSpans", "scope_spans") or _get(rs, "instrumentationLibrarySpans", "") or ():
            scope = str(((ss.get("scope") or ss.get("instrumentationLibrary") or {}).get("name")) or "")
            for s in ss.get("spans") or ():
                span = _otlp_span(s, line, scope, problems)
                if span is not None:
                    yield span


def _otlp_span(s: Any, line: int, scope: str, problems: list[Problem]) -> RawSpan | None:
    if not isinstance(s, dict):
        problems.append(Problem(f"line {line}", f"a span that is not a JSON object ({type(s).__name__}): skipped"))
        return None
    name = str(s.get("name") or "(unnamed)")
    trace_id = _id(_get(s, "traceId", "trace_id"), 16)
    span_id = _id(_get(s, "spanId", "span_id"), 8)
    if trace_id is None or span_id is None:
        problems.append(Problem(f"line {line}, span {name!r}", "no usable traceId/spanId (16 and 8 bytes, as hex "
                                                                 "or base64): skipped"))
        return None
    parent = _id(_get(s, "parentSpanId", "parent_span_id"), 8)
    start = _nanos(_get(s, "startTimeUnixNano", "start_time_unix_nano"))
    if start is None:
        problems.append(Problem(f"line {line}, span {name!r} ({span_id})", "no start time: skipped"))
        return None
    events = []
    for e in s.get("events") or ():
        if isinstance(e, dict):
            events.append((str(e.get("name", "")), _nanos(_get(e, "timeUnixNano", "time_unix_nano")) or start,
                           _attributes(e.get("attributes"))))
    status = s.get("status") or {}
    return RawSpan(trace_id, span_id, parent, name, start, _nanos(_get(s, "endTimeUnixNano", "end_time_unix_nano")),
                   _attributes(s.get("attributes")), events, _STATUS.get(status.get("code", 0), "UNSET"),
                   str(status.get("message") or ""), scope, line)


def _console_span(s: dict[str, Any], line: int, problems: list[Problem]) -> RawSpan | None:
    """A span as `ReadableSpan.to_json()` writes it (the kit's console output)."""
    name = str(s.get("name") or "(unnamed)")
    context = s.get("context") or {}
    trace_id, span_id = _id(context.get("trace_id"), 16), _id(context.get("span_id"), 8)
    if trace_id is None or span_id is None:
        problems.append(Problem(f"line {line}, span {name!r}", "no usable context.trace_id/span_id: skipped"))
        return None
    start = _iso_nanos(s.get("start_time"))
    if start is None:
        problems.append(Problem(f"line {line}, span {name!r} ({span_id})", "no start time: skipped"))
        return None
    events = [(str(e.get("name", "")), _iso_nanos(e.get("timestamp")) or start, _attributes(e.get("attributes") or {}))
              for e in s.get("events") or () if isinstance(e, dict)]
    status = s.get("status") or {}
    scope = (s.get("instrumentation_scope") or {}) if isinstance(s.get("instrumentation_scope"), dict) else {}
    return RawSpan(trace_id, span_id, _id(s.get("parent_id"), 8), name, start, _iso_nanos(s.get("end_time")),
                   _attributes(s.get("attributes") or {}), events, _STATUS.get(status.get("status_code"), "UNSET"),
                   str(status.get("description") or ""), str(scope.get("name") or ""), line)


def _spans_of(doc: Any, line: int, problems: list[Problem]) -> Iterator[RawSpan]:
    if isinstance(doc, list):
        for item in doc:
            yield from _spans_of(item, line, problems)
        return
    if not isinstance(doc, dict):
        problems.append(Problem(f"line {line}", f"JSON {type(doc).__name__}, not an OTLP export or a span: skipped"))
        return
    if "resourceSpans" in doc or "resource_spans" in doc:
        yield from _otlp_spans(doc, line, problems)
    elif "context" in doc and "name" in doc:
        span = _console_span(doc, line, problems)
        if span is not None:
            yield span
    elif "traceId" in doc and "spanId" in doc:  # a bare OTLP span
        span = _otlp_span(doc, line, "", problems)
        if span is not None:
            yield span
    else:
        keys = ", ".join(list(doc)[:4]) or "none"
        problems.append(Problem(f"line {line}", f"JSON object with keys {keys}: not an OTLP export (resourceSpans) "
                                                "nor a span: skipped"))


# ---------------------------------------------------------------------------
# The file -> documents
# ---------------------------------------------------------------------------


def _short_error(err: json.JSONDecodeError, length: int) -> str:
    if err.pos >= length - 2 or "Unterminated" in err.msg or "Expecting" in err.msg and err.pos >= length - 64:
        return f"not valid JSON ({err.msg} at column {err.colno}): the line looks truncated"
    return f"not valid JSON ({err.msg} at column {err.colno})"


def read_spans(path: str | os.PathLike[str], problems: list[Problem], *, max_bytes: int = DEFAULT_MAX_BYTES,
               stats: dict[str, int] | None = None) -> Iterator[RawSpan]:
    """Every span in the file at `path`, in file order; problems are appended to `problems` as found.

    `stats` (if given) gets "bytes_read", "lines" and "size". Raises `TraceFileError` only when the file cannot
    be opened or its start is not JSON at all; anything later is a problem and reading goes on.
    """
    p = Path(path)
    if not p.exists():
        raise TraceFileError(f"{p}: no such file. Give the path of a trace file (OTLP JSON, one export per line, "
                             "or the kit's console spans).")
    if p.is_dir():
        raise TraceFileError(f"{p} is a folder; give one trace file inside it.")
    size = p.stat().st_size
    stats = stats if stats is not None else {}
    stats.update(size=size, bytes_read=0, lines=0)
    if size > max_bytes:
        problems.append(Problem("file", f"{p.name} is {size / 1e9:.1f} GB; only its first {max_bytes / 1e9:.1f} GB "
                                        "are read (pass max_bytes= or --max-bytes to read more)"))
    with p.open("rb") as f:
        yield from _read(f, p, problems, max_bytes, stats)


def _read(f: Any, p: Path, problems: list[Problem], max_bytes: int, stats: dict[str, int]) -> Iterator[RawSpan]:
    line_no = 0
    mode: str | None = None  # "lines" (one JSON value per line) or "document" (values spread over lines)
    pending: list[bytes] = []
    pending_start = 0
    pending_bytes = 0
    read = 0
    while True:
        if read >= max_bytes:
            stats["stopped_at_line"] = line_no
            break
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            break
        line_no += 1
        read += len(raw)
        if b"\x00" in raw:
            problems.append(Problem(f"line {line_no}", "binary data (NUL bytes), not JSON text: stopped reading here "
                                                       "(is the file cut short or not a trace?)"))
            stats["stopped_at_line"] = line_no
            break
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n") and read < max_bytes:  # skip the rest of the line
                raw = f.readline(MAX_LINE_BYTES)
                read += len(raw)
            problems.append(Problem(f"line {line_no}", f"longer than {MAX_LINE_BYTES >> 20} MiB: skipped"))
            continue
        text = raw.strip()
        if not text:
            continue
        if mode is None:
            try:
                doc = json.loads(text)
                mode = "lines"
            except json.JSONDecodeError as err:
                if text[:1] not in (b"{", b"["):
                    raise TraceFileError(
                        f"{p}: line {line_no} is not JSON ({text[:40]!r}...). The profiler reads OTLP JSON (the "
                        "Collector's file exporter, one export per line) and the kit's console spans.") from None
                if text not in (b"{", b"["):  # a one-line export cut short: the file is one export per line
                    mode = "lines"
                    problems.append(Problem(f"line {line_no}", _short_error(err, len(text)) + "; skipped"))
                    continue
                mode = "document"  # pretty-printed: a value spread over lines
                pending, pending_start, pending_bytes = [raw], line_no, len(raw)
                continue
            yield from _spans_of(doc, line_no, problems)
            continue
        if mode == "lines":
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as err:
                problems.append(Problem(f"line {line_no}", _short_error(err, len(text)) + "; skipped"))
                continue
            yield from _spans_of(doc, line_no, problems)
            continue
        # document mode: gather lines until a top-level value closes (a line that is just } or ])
        if raw[:1] in (b"{", b"[") and raw.strip() in (b"{", b"[") and pending:
            problems.append(Problem(f"line {pending_start}", f"a JSON value starting here never closes before line "
                                                            f"{line_no}: the document looks truncated; skipped"))
            pending, pending_start, pending_bytes = [], line_no, 0
        if not pending:
            pending_start = line_no
        pending.append(raw)
        pending_bytes += len(raw)
        if pending_bytes > MAX_DOCUMENT_BYTES:
            problems.append(Problem(f"line {pending_start}", f"a single JSON document over {MAX_DOCUMENT_BYTES >> 20} "
                                    "MiB: too big to read whole; write one export per line (the Collector's file "
                                    "exporter does) to profile it"))
            pending, pending_bytes = [], 0
            stats["stopped_at_line"] = line_no
            break
        if raw.rstrip() in (b"}", b"]"):
            try:
                doc = json.loads(b"".join(pending))
            except json.JSONDecodeError:
                continue  # a nested closing brace at column 0: keep gathering
            yield from _spans_of(doc, pending_start, problems)
            pending, pending_bytes = [], 0
    if pending:
        try:
            doc = json.loads(b"".join(pending))
            yield from _spans_of(doc, pending_start, problems)
        except json.JSONDecodeError as err:
            problems.append(Problem(f"line {pending_start}", f"the JSON value starting here is cut short "
                                                            f"({err.msg}): the file looks truncated; skipped"))
    stats["bytes_read"] = read
    stats["lines"] = line_no
