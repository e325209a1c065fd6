"""Profile any agent's trace with the course's analyses: costs by step and bucket, latency components, diagnosis.

The Module 1 analyses (`agentkit.costs`, `agentkit.latency`, the `Trace` waterfall) read the kit's own spans.
This package adapts traces the kit did not write (OTLP JSON from the Collector or any exporter; OpenTelemetry
GenAI, OpenInference or OpenLLMetry attribute names) into what those analyses take, and runs them:

    from agentkit.profile import profile_file, text_report
    report = profile_file("spans.jsonl")
    print(text_report(report))

From the command line: `python -m agentkit profile spans.jsonl --html report.html --csv steps.csv`.

One module per concept: `reader` (files -> spans, with problems named by line and span), `vocabulary` (the
attribute-name table in `agentkit/data/trace_attributes.yaml`), `prompts` (recorded prompts -> the request
sent), `adapt` (spans -> a kit `Trace`), `analysis` (one trace's and many traces' figures), `profiler`
(streaming a file; profiling a captured trace), `report` (text, CSV, HTML) and `export` (spans -> an OTLP JSON
file, for instrumenting your own agent).
"""

from __future__ import annotations

from agentkit.profile.analysis import LARGE_TRACE_SPANS, ModelCall, Profile, TraceProfile, profile_spans
from agentkit.profile.export import OTLPJsonFileExporter, otlp_json, write_otlp_json
from agentkit.profile.profiler import profile_file, profile_trace, profile_traces
from agentkit.profile.reader import DEFAULT_MAX_BYTES, Problem, RawSpan, TraceFileError, read_spans
from agentkit.profile.report import StepWriter, step_rows, text_report, trace_text, write_csv, write_html
from agentkit.profile.vocabulary import normalize, vocabulary

__all__ = [
    "profile_file", "profile_trace", "profile_traces", "profile_spans",
    "Profile", "TraceProfile", "ModelCall", "Problem", "RawSpan", "TraceFileError",
    "text_report", "trace_text", "write_csv", "write_html", "StepWriter", "step_rows",
    "OTLPJsonFileExporter", "otlp_json", "write_otlp_json",
    "read_spans", "normalize", "vocabulary", "DEFAULT_MAX_BYTES", "LARGE_TRACE_SPANS",
]
