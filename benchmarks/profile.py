"""The profiler on a big trace file: spans per second and peak memory for 100,000 spans (target: under 10 s).

Writes a synthetic OTLP JSON file the way a Collector's file exporter would (one export of 50 spans per line,
traces interleaved): 100,000 spans in traces of 20 (an agent root, 8 model calls in three vocabularies, 11 tool
calls). Each measurement runs in a fresh process, so its peak resident memory (ru_maxrss) is its own:

- the floor: the same file read and parsed with json.loads line by line, nothing else;
- the profiler on half the file and on the whole file: if memory is bounded, the peak barely moves when the
  file doubles (only one small row per trace is kept, not the spans).

    python benchmarks/profile.py [--spans 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_SECONDS = 10.0
SPANS_PER_TRACE = 20
SPANS_PER_LINE = 50

_VOCABULARIES = [
    {"gen_ai.operation.name": "chat", "gen_ai.response.model": "claude-sonnet-5-5",
     "gen_ai.usage.input_tokens": None, "gen_ai.usage.output_tokens": 120, "gen_ai.usage.cache_read.input_tokens": 0},
    {"openinference.span.kind": "LLM", "llm.model_name": "claude-haiku-5-5", "llm.token_count.prompt": None,
     "llm.token_count.completion": 120, "llm.provider": "anthropic"},
    {"llm.request.type": "chat", "gen_ai.system": "anthropic", "gen_ai.response.model": "claude-sonnet-5-5",
     "gen_ai.usage.prompt_tokens": None, "gen_ai.usage.completion_tokens": 120},
]


def _value(v: object) -> dict[str, object]:
    if isinstance(v, int):
        return {"intValue": str(v)}
    return {"stringValue": str(v)}


def _trace_spans(t: int) -> list[dict[str, object]]:
    trace_id = f"{t + 1:032x}"
    start = 1_700_000_000_000_000_000 + t * 10**9
    root = f"{(t << 8) + 1:016x}"
    spans = [{"traceId": trace_id, "spanId": root, "name": "invoke_agent bench", "startTimeUnixNano": str(start),
              "endTimeUnixNano": str(start + 30 * 10**9),
              "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}]}]
    clock = start
    for i in range(1, SPANS_PER_TRACE):
        sid = f"{(t << 8) + 1 + i:016x}"
        if i % 2 == 1 and i < 17:  # model calls, each vocabulary in turn, growing input
            attrs = dict(_VOCABULARIES[(t + i) % 3])
            for k in attrs:
                if attrs[k] is None:
                    attrs[k] = 2000 + 400 * i
            length = 900_000_000
        else:
            attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}
            length = 300_000_000
        spans.append({"traceId": trace_id, "spanId": sid, "parentSpanId": root, "name": f"span {i}",
                      "startTimeUnixNano": str(clock), "endTimeUnixNano": str(clock + length),
                      "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()]})
        clock += length + 50_000_000
    return spans


def write_file(path: Path, spans: int) -> None:
    traces = spans // SPANS_PER_TRACE
    pending: list[dict[str, object]] = []
    with path.open("w") as f:
        for t in range(traces):
            pending += _trace_spans(t)
            while len(pending) >= SPANS_PER_LINE:
                batch, pending = pending[:SPANS_PER_LINE], pending[SPANS_PER_LINE:]
                f.write(json.dumps({"resourceSpans": [{"resource": {"attributes": []},
                                                       "scopeSpans": [{"scope": {"name": "bench"}, "spans": batch}]}]})
                        + "\n")
        if pending:
            f.write(json.dumps({"resourceSpans": [{"scopeSpans": [{"scope": {"name": "bench"}, "spans": pending}]}]}) + "\n")


_CHILD = r'''
import json, resource, sys, time
mode, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
import agentkit.profile  # imports before the clock and the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0, c0 = time.perf_counter(), time.process_time()
if mode == "floor":
    spans = 0
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            spans += sum(len(ss["spans"]) for rs in json.loads(line)["resourceSpans"] for ss in rs["scopeSpans"])
    traces = 0
else:
    report = agentkit.profile.profile_file(path, max_bytes=limit)
    spans, traces = report.spans_read, len(report.traces)
took, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"spans": spans, "traces": traces, "seconds": took, "cpu": cpu, "base_mb": base / 1024, "peak_mb": peak / 1024}))
'''


def _run(mode: str, path: Path, limit: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path), str(limit)], capture_output=True, text=True,
                         check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spans.jsonl"
        write_file(path, args.spans)
        size = path.stat().st_size
        lines = sum(1 for _ in path.open("rb"))
        print(f"{args.spans:,} spans in {args.spans // SPANS_PER_TRACE:,} traces, {lines:,} lines, {size / 1e6:.1f} MB")
        floor = _run("floor", path, lines)
        half = _run("profile", path, size // 2)
        whole = _run("profile", path, size + 1)
    print(f"\n{'':<28}{'spans':>9}{'wall s':>8}{'CPU s':>8}{'spans/s':>10}{'peak MB':>9}{'(+ over imports)':>18}")
    for label, r in (("json.loads only (floor)", floor), ("profile, half the file", half), ("profile, whole file", whole)):
        print(f"{label:<28}{int(r['spans']):>9,}{r['seconds']:>8.2f}{r['cpu']:>8.2f}{r['spans'] / r['seconds']:>10,.0f}"
              f"{r['peak_mb']:>9.0f}{r['peak_mb'] - r['base_mb']:>+18.0f}")
    print("(spans/s on wall time; on this shared machine CPU seconds show the profiler's own cost when others load it)")
    print(f"\nprofiling costs {whole['seconds'] / floor['seconds']:.1f}x a bare JSON parse of the same file")
    grew = (whole["peak_mb"] - whole["base_mb"]) / max(half["peak_mb"] - half["base_mb"], 1e-9)
    print(f"memory over imports: whole file {grew:.2f}x the half file's (bounded: spans are let go per trace)")
    verdict = "within" if whole["seconds"] <= TARGET_SECONDS else "OVER"
    print(f"{int(whole['spans']):,} spans in {whole['seconds']:.2f} s wall ({whole['cpu']:.2f} s CPU): {verdict} the "
          f"{TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
