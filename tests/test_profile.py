"""agentkit.profile: traces from the kit and from two ecosystem instrumentations give the run's own tokens and
dollars; the command, the CSV and the HTML page; every kind of bad input named and survived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentkit.pricing import cost_of
from agentkit.profile import (
    Problem,
    TraceFileError,
    profile_file,
    profile_trace,
    text_report,
    vocabulary,
    write_csv,
    write_html,
    write_otlp_json,
)
from agentkit.profile.vocabulary import normalize

# A small agent written with the raw SDK, as the lesson has it: a calculator tool, a loop until end_turn.
AGENT = textwrap.dedent('''
    import json, sys
    import agentkit
    from opentelemetry import trace as otel
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from agentkit.profile import OTLPJsonFileExporter

    which, out = sys.argv[1], sys.argv[2]
    provider = agentkit.setup_tracing()
    provider.add_span_processor(SimpleSpanProcessor(OTLPJsonFileExporter(out)))
    if which == "openinference":
        from openinference.instrumentation.anthropic import AnthropicInstrumentor
        AnthropicInstrumentor().instrument(tracer_provider=provider)
    elif which in ("openllmetry", "both_openllmetry"):
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        AnthropicInstrumentor().instrument(tracer_provider=provider)
    # The ecosystem runs turn the SDK's own spans off, so their trace holds only the instrumentation's spans;
    # "both" keeps them on, so the same call is seen twice and must be counted once (OpenInference's span nests the
    # SDK's; OpenLLMetry's sits beside it, the same response id on both).
    sdk_spans = which in ("kit", "both", "both_openllmetry")
    if which == "both":
        from openinference.instrumentation.anthropic import AnthropicInstrumentor
        AnthropicInstrumentor().instrument(tracer_provider=provider)
    client = agentkit.client(seed=3, quiet=True, **({} if sdk_spans else {"open_telemetry": False}))
    tracer = otel.get_tracer("my_agent")
    tools = [{"name": "calculator", "description": "Evaluate an arithmetic expression.",
              "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}},
                               "required": ["expression"]}}]
    messages = [{"role": "user", "content": "What is 1234 * 5678? Use the calculator."}]
    # A long system prompt and a top-level cache_control: later steps read the cache, so the profile must get
    # each vocabulary's cache counts (and whether its input count includes them) right to match the run's dollars.
    system = "Be brief. " + " ".join(f"Rule {i}: answer in plain words and cite the tool's result." for i in range(300))
    usage = []
    with tracer.start_as_current_span("invoke_agent calc", attributes={"gen_ai.operation.name": "invoke_agent"}):
        for _ in range(4):
            reply = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=400, system=system,
                                           tools=tools, messages=messages, cache_control={"type": "ephemeral"})
            u = reply.usage
            usage.append({"model": reply.model, "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                          "cache_read_input_tokens": u.cache_read_input_tokens or 0,
                          "cache_creation_input_tokens": u.cache_creation_input_tokens or 0})
            messages.append({"role": "assistant", "content": reply.content})
            if reply.stop_reason != "tool_use":
                break
            results = []
            for block in reply.content:
                if block.type == "tool_use":
                    with tracer.start_as_current_span(f"execute_tool {block.name}", attributes={
                            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": block.name}):
                        results.append({"type": "tool_result", "tool_use_id": block.id, "content": "7006652"})
            messages.append({"role": "user", "content": results})
    print(json.dumps(usage))
''')


def _run(which: str, out: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "-c", AGENT, which, str(out)], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "ANTHROPIC_API_KEY": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_totals(usage: list[dict]) -> tuple[int, int, float]:
    whole = sum(u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"] for u in usage)
    return whole, sum(u["output_tokens"] for u in usage), sum(cost_of(u["model"], u) for u in usage)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return {which: (_run(which, folder / f"{which}.jsonl"), folder / f"{which}.jsonl")
            for which in ("kit", "openinference", "openllmetry", "both", "both_openllmetry")}


@pytest.mark.parametrize("which", ["kit", "openinference", "openllmetry", "both", "both_openllmetry"])
def test_each_instrumentation_gives_the_runs_own_tokens_and_dollars(runs, which):
    usage, path = runs[which]
    report = profile_file(path)
    assert len(report.traces) == 1, text_report(report)
    tp = report.traces[0]
    want_in, want_out, want_cost = _run_totals(usage)
    assert len(usage) >= 2  # a real loop: at least one tool round
    assert sum(u["cache_read_input_tokens"] for u in usage) > 0 and tp.costs.cache_read_tokens == sum(
        u["cache_read_input_tokens"] for u in usage)
    assert tp.costs.cache_write_tokens == sum(u["cache_creation_input_tokens"] for u in usage)
    assert tp.costs is not None and len(tp.costs.steps) == len(usage)
    assert tp.costs.input_tokens == want_in
    assert tp.costs.output_tokens == want_out
    assert tp.costs.cost == pytest.approx(want_cost, rel=1e-9)
    assert not tp.unpriced
    assert tp.breakdown is not None and tp.breakdown.tool_calls == len(usage) - 1
    # The ecosystem instrumentations record the prompt, so the input splits into buckets that add up.
    if which != "kit":
        assert tp.buckets_known
        assert sum(tp.costs.bucket_totals().values()) == want_in
        assert tp.costs.bucket_totals()["tools"] > 0 and tp.costs.bucket_totals()["system"] > 0
    else:
        assert not tp.buckets_known
        assert "token counts only" in text_report(report)


def test_the_same_run_gives_the_same_figures_in_every_vocabulary(runs):
    figures = set()
    for which in runs:
        tp = profile_file(runs[which][1]).traces[0]
        assert tp.costs is not None
        figures.add((tp.costs.input_tokens, tp.costs.output_tokens, round(tp.costs.cost, 10)))
    assert len(figures) == 1


def test_a_captured_kit_trace_profiles_in_process_and_through_a_file(tmp_path):
    import agentkit
    from agentkit.tracing import capture

    client = agentkit.client(seed=1, quiet=True)
    with capture() as trace:
        reply = client.messages.create(model=agentkit.FAST_MODEL, max_tokens=100,
                                       messages=[{"role": "user", "content": "Say hello."}])
    want = reply.usage.input_tokens + (reply.usage.cache_read_input_tokens or 0) + (
        reply.usage.cache_creation_input_tokens or 0)
    direct = profile_trace(trace).traces[0]
    through_file = profile_file(write_otlp_json(trace.spans, tmp_path / "t.jsonl")).traces[0]
    for tp in (direct, through_file):
        assert tp.costs is not None and tp.costs.input_tokens == want
        assert tp.costs.cost == pytest.approx(cost_of(reply.model, reply.usage))
        assert tp.time_scale == trace.time_scale


# -- vocabularies ----------------------------------------------------------------------------------------------


def test_every_name_in_the_table_has_a_known_source():
    v = vocabulary()
    sources = {n.source for names in v.fields.values() for n in names}
    assert sources <= {"semconv", "anthropic", "openinference", "openllmetry", "agentkit"}
    assert v.source_of("llm.token_count.prompt") == "openinference"
    assert v.source_of("gen_ai.usage.cache_creation.input_tokens") == "semconv"


@pytest.mark.parametrize("attrs", [
    {"gen_ai.system": "anthropic", "gen_ai.operation.name": "chat", "gen_ai.response.model": "m",
     "gen_ai.usage.prompt_tokens": 120, "gen_ai.usage.completion_tokens": 7,
     "gen_ai.usage.cache_read_input_tokens": 100, "gen_ai.usage.cache_creation_input_tokens": 0},
    {"openinference.span.kind": "LLM", "llm.model_name": "m", "llm.token_count.prompt": 120,
     "llm.token_count.completion": 7, "llm.token_count.prompt_details.cache_read": 100},
    {"gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "chat", "gen_ai.response.model": "m",
     "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 7, "gen_ai.usage.cache_read.input_tokens": 100},
    {"llm.request.type": "chat", "gen_ai.response.model": "m", "gen_ai.usage.prompt_tokens": "120",
     "gen_ai.usage.completion_tokens": 7.0, "gen_ai.usage.cache_read.input_tokens": 100},
], ids=["older-semconv+openllmetry", "openinference", "current-semconv", "older-openllmetry-text-numbers"])
def test_vocabularies_normalize_to_the_kits_names(attrs):
    out, problems = normalize(attrs)
    assert not problems
    assert out["gen_ai.operation.name"] == "chat"
    assert out["gen_ai.usage.input_tokens"] == 120
    assert out["gen_ai.usage.output_tokens"] == 7
    assert out["gen_ai.usage.cache_read.input_tokens"] == 100
    assert out["gen_ai.response.model"] == "m"


# -- bad input ------------------------------------------------------------------------------------------------


def _span(trace="0af7651916cd43dd8448eb211c80319c", span="b7ad6b7169203331", parent=None, name="chat",
          start=1_000_000_000, end=2_000_000_000, **attrs):
    def value(v):
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        if isinstance(v, list):
            return {"arrayValue": {"values": [value(x) for x in v]}}
        return {"stringValue": v}
    s = {"traceId": trace, "spanId": span, "name": name, "startTimeUnixNano": str(start),
         "attributes": [{"key": k.replace("__", "."), "value": value(v)} for k, v in attrs.items()]}
    if parent:
        s["parentSpanId"] = parent
    if end is not None:
        s["endTimeUnixNano"] = str(end)
    return s


def _export(*spans):
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "t"},
                                                                               "spans": list(spans)}]}]}


def _model_span(span="b7ad6b7169203331", parent=None, start=1_000_000_000, end=2_000_000_000, **extra):
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.response.model": "claude-sonnet-5-5",
             "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100}
    attrs.update({k.replace("__", "."): v for k, v in extra.items()})
    return _span(span=span, parent=parent, start=start, end=end,
                 **{k.replace(".", "__"): v for k, v in attrs.items()})


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _messages(report) -> str:
    return "\n".join(str(p) for p in report.problems)


def test_a_truncated_line_is_named_and_the_rest_is_profiled(tmp_path):
    good = json.dumps(_export(_model_span()))
    other = json.dumps(_export(_model_span(span="c7ad6b7169203331", start=3_000_000_000, end=4_000_000_000)))
    path = _write(tmp_path / "t.jsonl", good, good[: len(good) // 2], other)
    report = profile_file(path)
    assert "line 2: not valid JSON" in _messages(report) and "truncated" in _messages(report)
    assert report.spans_read == 2
    assert report.traces[0].costs is not None and report.traces[0].costs.input_tokens == 2000


def test_a_truncated_first_line_is_named_too(tmp_path):
    good = json.dumps(_export(_model_span()))
    report = profile_file(_write(tmp_path / "t.jsonl", good[:100], good))
    assert "line 1: not valid JSON" in _messages(report)
    assert report.traces[0].costs is not None and report.traces[0].costs.input_tokens == 1000


def test_spans_with_no_common_root_get_one_and_their_gaps_are_measured(tmp_path):
    first = _model_span(span="0000000000000001", start=1_000_000_000, end=2_000_000_000)
    second = _model_span(span="0000000000000002", start=5_000_000_000, end=6_000_000_000)
    report = profile_file(_write(tmp_path / "t.jsonl", json.dumps(_export(first, second))))
    tp = report.traces[0]
    assert "2 spans have no parent in the file" in _messages(report)
    assert tp.breakdown is not None and tp.breakdown.unaccounted_s == pytest.approx(3.0)
    assert tp.diagnosis is not None and "wide_gaps" in tp.diagnosis


def test_a_span_with_no_end_time_is_named_and_drawn_to_the_traces_end(tmp_path):
    root = _span(span="a1a1a1a1a1a1a1a1", name="invoke_agent", start=0 + 1, end=None,
                 gen_ai__operation__name="invoke_agent")
    path = _write(tmp_path / "t.jsonl", json.dumps(_export(root, _model_span(parent="a1a1a1a1a1a1a1a1"))))
    report = profile_file(path)
    text = _messages(report)
    assert "span 'invoke_agent' (a1a1a1a1a1a1a1a1)" in text and "no end time" in text
    tp = report.traces[0]
    assert tp.costs is not None and tp.costs.input_tokens == 1000
    assert tp.breakdown is not None and tp.breakdown.wall_s == pytest.approx(2.0, abs=1e-6)


def test_a_trace_with_no_model_spans_still_gets_its_latency(tmp_path):
    tool = _span(name="execute_tool search", gen_ai__operation__name="execute_tool", gen_ai__tool__name="search")
    report = profile_file(_write(tmp_path / "t.jsonl", json.dumps(_export(tool))))
    assert "no model spans" in _messages(report) and "trace 0af7651916cd43dd" in _messages(report)
    tp = report.traces[0]
    assert tp.costs is None and tp.breakdown is not None and tp.breakdown.seconds["tool_execution"] == pytest.approx(1.0)
    assert "no model spans" in text_report(report)


def test_attributes_of_the_wrong_type_are_named_and_ignored(tmp_path):
    bad = _model_span(gen_ai__usage__output_tokens="lots", gen_ai__usage__cache_read__input_tokens=[1, 2])
    report = profile_file(_write(tmp_path / "t.jsonl", json.dumps(_export(bad))))
    text = _messages(report)
    assert "span 'chat' (b7ad6b7169203331)" in text
    assert "gen_ai.usage.output_tokens is 'lots' (a str), not a whole number" in text
    assert "gen_ai.usage.cache_read.input_tokens is" in text
    tp = report.traces[0]
    assert tp.costs is not None and tp.costs.input_tokens == 1000 and tp.costs.output_tokens == 0


def test_an_unknown_model_is_unpriced_never_guessed(tmp_path):
    span = _model_span(gen_ai__response__model="gpt-9-turbo")
    report = profile_file(_write(tmp_path / "t.jsonl", json.dumps(_export(span))))
    tp = report.traces[0]
    assert tp.unpriced == ["gpt-9-turbo"] and tp.costs is not None and tp.costs.cost == 0.0
    assert "no price for gpt-9-turbo" in _messages(report)
    assert "unpriced" in text_report(report)


def test_a_2_gb_file_is_read_up_to_the_limit_and_says_so(tmp_path):
    path = tmp_path / "huge.jsonl"
    good = json.dumps(_export(_model_span()))
    with path.open("w") as f:
        f.write(good + "\n")
        f.truncate(2 * 1024**3)  # sparse: 2 GiB on paper, a few kB on disk
    report = profile_file(path)
    text = _messages(report)
    assert "huge.jsonl is 2.1 GB; only its first 1.1 GB are read" in text
    assert "line 2: binary data (NUL bytes)" in text
    assert report.traces[0].costs is not None and report.traces[0].costs.input_tokens == 1000


def test_a_limit_below_the_file_size_reads_the_first_part(tmp_path):
    lines = [json.dumps(_export(_model_span(span=f"{i:016x}", start=(i + 1) * 10**9, end=(i + 2) * 10**9)))
             for i in range(1, 6)]
    path = _write(tmp_path / "t.jsonl", *lines)
    report = profile_file(path, max_bytes=len(lines[0]) * 2 + 2)
    assert report.spans_read == 2 and "only its first" in _messages(report)


def test_not_a_trace_file_is_a_clear_error(tmp_path):
    with pytest.raises(TraceFileError, match="line 1 is not JSON"):
        list(profile_file(_write(tmp_path / "t.txt", "hello world")).traces)
    with pytest.raises(TraceFileError, match="no such file"):
        profile_file(tmp_path / "missing.jsonl")


def test_a_single_pretty_printed_document_and_base64_ids(tmp_path):
    import base64

    span = _model_span()
    span["traceId"] = base64.b64encode(bytes.fromhex(span["traceId"])).decode()
    span["spanId"] = base64.b64encode(bytes.fromhex(span["spanId"])).decode()
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(_export(span), indent=2))
    report = profile_file(path)
    assert not report.problems
    assert report.traces[0].trace_id == "0af7651916cd43dd8448eb211c80319c"


def test_the_kits_console_spans_are_read(tmp_path):
    import agentkit
    from agentkit.tracing import capture

    client = agentkit.client(seed=2, quiet=True)
    with capture() as trace:
        client.messages.create(model=agentkit.FAST_MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    path = tmp_path / "console.txt"
    path.write_text("".join(s.to_json() + "\n" for s in trace.spans))  # what setup_tracing(console=True) prints
    report = profile_file(path)
    assert not report.problems, _messages(report)
    want = profile_trace(trace).traces[0]
    assert report.traces[0].costs is not None and want.costs is not None
    assert report.traces[0].costs.input_tokens == want.costs.input_tokens


# -- the command, CSV, HTML ------------------------------------------------------------------------------------


def test_the_command_prints_the_report_and_writes_csv_and_html(runs, tmp_path):
    path = runs["openinference"][1]
    csv_path, html_path = tmp_path / "steps.csv", tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "agentkit", "profile", str(path), "--csv", str(csv_path),
                           "--html", str(html_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for part in ("Cost:", "per step", "Compression trigger", "Compounding", "Input by bucket", "gaps (no span covers",
                 "Diagnosis"):
        assert part in out
    import csv

    rows = list(csv.DictReader(csv_path.open()))
    usage = runs["openinference"][0]
    assert len(rows) == len(usage)
    assert sum(float(r["cost_usd"]) for r in rows) == pytest.approx(_run_totals(usage)[2], rel=1e-6)
    page = html_path.read_text()
    assert "<svg" in page and "class='waterfall'" in page
    for fetch in ('src="http', "src='http", 'href="http', "href='http", "url(http", "<link", "<script"):
        assert fetch not in page  # nothing to load: the page works offline


def test_the_command_on_a_missing_file_says_so(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentkit", "profile", str(tmp_path / "nope.jsonl")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_many_traces_give_percentiles(tmp_path):
    lines = []
    for i in range(20):
        trace = f"{i + 1:032x}"
        lines.append(json.dumps(_export(_span(trace=trace, span=f"{i + 1:016x}", start=10**9, end=10**9 + (i + 1) * 10**8,
                                              gen_ai__operation__name="chat", gen_ai__response__model="claude-sonnet-5-5",
                                              gen_ai__usage__input_tokens=100 * (i + 1), gen_ai__usage__output_tokens=10))))
    report = profile_file(_write(tmp_path / "many.jsonl", *lines))
    assert report.trace_count == 20 and len(report.traces) <= 7 and len(report.rows) == 20
    p = report.percentiles()
    import numpy as np

    assert p["wall_s"]["p95"] == pytest.approx(float(np.percentile([0.1 * (i + 1) for i in range(20)], 95)))
    assert "p50 / p95 / p99" in text_report(report)
    write_csv(report, tmp_path / "s.csv")
    write_html(report, tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text().count("class='waterfall'") >= 1


def test_problem_reads_as_where_and_what():
    assert str(Problem("line 3", "skipped")) == "line 3: skipped"


def test_the_kits_own_agent_with_prompt_caching_matches_measure_run(tmp_path):
    """The coding-agent case (20 steps, prompt caching on): the profile of its captured trace, in process and through
    an OTLP JSON file, gives measure_run's tokens, cache reads and writes, and dollars, step by step."""
    import agentkit
    from agentkit.cases.coding_agent import run_case
    from agentkit.tracing import capture

    with capture() as trace:
        run = run_case(agentkit.client(quiet=True, scenarios=["coding_agent"]), cache=True)
    want = run.costs
    for report in (profile_trace(trace), profile_file(write_otlp_json(trace.spans, tmp_path / "coding.jsonl"))):
        tp = report.traces[0]
        assert tp.costs is not None and len(tp.costs.steps) == len(want.steps)
        for got, expected in zip(tp.costs.steps, want.steps):
            assert (got.input_tokens, got.cache_read_tokens, got.cache_write_tokens, got.output_tokens) == (
                expected.input_tokens, expected.cache_read_tokens, expected.cache_write_tokens, expected.output_tokens)
            assert got.cost == pytest.approx(expected.cost, rel=1e-9)
        assert tp.costs.cache_read_tokens > 0 and tp.costs.cache_write_tokens > 0
        assert tp.costs.compression_due() == want.compression_due()


def test_a_trace_too_big_for_the_latency_attribution_still_gets_its_costs(tmp_path):
    from agentkit.profile import LARGE_TRACE_SPANS

    spans = [_span(span="f" * 16, name="invoke_agent", start=1, end=10**12, gen_ai__operation__name="invoke_agent")]
    spans += [_model_span(span=f"{i + 1:016x}", parent="f" * 16, start=(i + 1) * 10**8, end=(i + 1) * 10**8 + 5 * 10**7)
              for i in range(LARGE_TRACE_SPANS)]
    report = profile_file(_write(tmp_path / "big.jsonl", json.dumps(_export(*spans))))
    tp = report.traces[0]
    assert tp.breakdown is None and "latency breakdown and diagnosis are skipped" in _messages(report)
    assert tp.costs is not None and tp.costs.input_tokens == 1000 * LARGE_TRACE_SPANS


def test_many_captured_runs_profile_together():
    import agentkit
    from agentkit.profile import profile_traces
    from agentkit.tracing import capture

    client = agentkit.client(seed=5, quiet=True)
    traces = []
    for prompt in ("hi", "hello there", "good morning to you"):
        with capture() as trace:
            client.messages.create(model=agentkit.FAST_MODEL, max_tokens=60, messages=[{"role": "user", "content": prompt}])
        traces.append(trace)
    report = profile_traces(traces)
    assert report.trace_count == 3 and set(report.percentiles()) == {"wall_s", "cost_usd", "input_tokens"}
    assert report.total_cost == pytest.approx(sum(profile_trace(t).total_cost for t in traces))
