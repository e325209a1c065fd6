"""Spans to a file in OTLP JSON, one export per line: what the Collector's file exporter writes.

The OpenTelemetry Python SDK has no file exporter of its own, only the console one, so this is a small
`SpanExporter` around the real pieces: the OTLP exporter's own encoder (`encode_spans`, the protobuf an OTLP
collector receives) and protobuf's JSON mapping, with trace and span ids as hex as OTLP/JSON requires
(protobuf's mapping alone would write base64). Any OpenTelemetry set-up can use it:

    provider.add_span_processor(SimpleSpanProcessor(OTLPJsonFileExporter("spans.jsonl")))
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["OTLPJsonFileExporter", "otlp_json", "write_otlp_json"]

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(node: Any) -> None:
    """protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants trace and span ids as hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str) and value:
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The spans as one OTLP/JSON `ExportTraceServiceRequest` (a dict ready for json.dumps)."""
    from google.protobuf import json_format  # type: ignore[import-untyped]  # protobuf ships no type stubs
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    doc: dict[str, Any] = json_format.MessageToDict(encode_spans(spans))
    _hex_ids(doc)
    return doc


class OTLPJsonFileExporter(SpanExporter):
    """Appends each batch of finished spans to `path` as one OTLP/JSON line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        line = json.dumps(otlp_json(spans), separators=(",", ":"))
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._closed = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def write_otlp_json(spans: Sequence[ReadableSpan], path: str | os.PathLike[str]) -> Path:
    """Write spans (a captured `Trace`'s `.spans`, say) to `path` as one OTLP/JSON line; returns the path."""
    out = Path(path)
    out.write_text(json.dumps(otlp_json(list(spans)), separators=(",", ":")) + "\n", encoding="utf-8")
    return out
