"""One trace's profile, and many traces': the kit's cost and latency analyses run on an adapted trace.

`profile_spans(spans)` takes one trace's spans (already read, in any vocabulary) and returns a `TraceProfile`:
the cost anatomy as `agentkit.costs.RunCosts` (steps, tokens, dollars, growth, the compression and
compounding alerts), the latency `agentkit.latency.Breakdown` (seven components, gaps) and the
`agentkit.latency.diagnose` verdict. `Profile` gathers many of them with percentiles over the traces.
Every number comes from those analyses; this module only feeds them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from agentkit import latency
from agentkit.costs import BUCKETS, RunCosts, StepCost, _reconcile  # _reconcile: the costs module's own scaling
from agentkit.pricing import UnknownModelError, UsageError, cost_of
from agentkit.profile.adapt import BUCKET_PREFIX, assemble
from agentkit.profile.reader import Problem, RawSpan
from agentkit.profile.vocabulary import KIT_NAMES
from agentkit.tracing import Trace

__all__ = ["TraceProfile", "Profile", "profile_spans", "ModelCall", "LARGE_TRACE_SPANS", "DETAILED_TRACES", "MAX_ROWS"]

#: Above this many spans in one trace the latency breakdown is skipped (its attribution compares every span with
#: every cut point, so a 10,000-span trace would take minutes); the costs are still reported.
LARGE_TRACE_SPANS = 3000


@dataclass(frozen=True)
class ModelCall:
    """One model call as the trace recorded it: the model it was priced by, and whether it could be."""

    span: str
    model: str | None
    priced: bool
    buckets_recorded: bool
    model_source: str  # "response" or "request"


@dataclass
class TraceProfile:
    """What one trace shows: costs, latency components, the diagnosis, and the problems met reading it."""

    trace_id: str
    spans: int
    costs: RunCosts | None  # None when the trace has no model spans
    calls: list[ModelCall]
    breakdown: latency.Breakdown | None
    diagnosis: latency.Diagnosis | None
    problems: list[Problem] = field(default_factory=list)
    trace: Trace | None = None  # kept for the waterfall; dropped on long files except for the traces shown
    time_scale: float = 1.0

    @property
    def buckets_known(self) -> bool:
        """True when every model call recorded its prompt, so input splits into the four buckets."""
        return bool(self.calls) and all(c.buckets_recorded for c in self.calls)

    @property
    def unpriced(self) -> list[str]:
        """Models with no price row (reported, never guessed)."""
        return sorted({str(c.model) for c in self.calls if not c.priced})

    @property
    def wall_s(self) -> float:
        return self.breakdown.wall_s if self.breakdown else 0.0

    def row(self) -> dict[str, Any]:
        """One flat row for the traces table and the percentiles."""
        c = self.costs
        row: dict[str, Any] = {
            "trace_id": self.trace_id, "spans": self.spans, "model_calls": len(self.calls),
            "steps": len(c.steps) if c else 0,
            "input_tokens": c.input_tokens if c else 0, "output_tokens": c.output_tokens if c else 0,
            "cache_read_tokens": c.cache_read_tokens if c else 0, "cache_write_tokens": c.cache_write_tokens if c else 0,
            "cost_usd": c.cost if c else 0.0, "unpriced_calls": sum(not x.priced for x in self.calls),
            "wall_s": self.wall_s,
        }
        if self.breakdown is not None:
            row.update(self.breakdown.seconds)
            row["gaps_s"] = self.breakdown.unaccounted_s
        row["diagnosis"] = ", ".join(self.diagnosis.shapes) if self.diagnosis and not self.diagnosis.healthy else (
            "healthy" if self.diagnosis else "")
        return row


def _model_of(attrs: Any) -> tuple[str | None, str]:
    response = attrs.get(KIT_NAMES["response_model"])
    if isinstance(response, str) and response:
        return response, "response"
    request = attrs.get(KIT_NAMES["request_model"])
    return (request if isinstance(request, str) and request else None), "request"


def _tokens(attrs: Any, name: str) -> int:
    return _tokens_at(attrs, KIT_NAMES[name])


def _tokens_at(attrs: Any, key: str) -> int:
    value = attrs.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _costs(models: Sequence[ReadableSpan], where: str, problems: list[Problem]) -> tuple[RunCosts | None, list[ModelCall]]:
    """The model calls priced one by one with `agentkit.pricing.cost_of`, gathered as the costs module's RunCosts.

    Not `costs.measure_run`: it prices a whole run at one model and refuses an unknown one, while a foreign trace
    may mix models and must report an unknown one as unpriced. Growth, the alerts and bucket totals are still
    RunCosts' own, and the bucket split is `request_buckets` scaled by the costs module's `_reconcile`."""
    if not models:
        return None, []
    steps: list[StepCost] = []
    calls: list[ModelCall] = []
    used: Counter[str] = Counter()
    for span in models:
        a = span.attributes or {}
        model, source = _model_of(a)
        read, write = _tokens(a, "cache_read_tokens"), _tokens(a, "cache_write_tokens")
        whole = _tokens(a, "input_tokens")
        if whole and whole < read + write:
            problems.append(Problem(f"{where}, span {span.name!r}", f"input tokens ({whole}) are fewer than its cache "
                                                                     f"reads + writes ({read + write}): read as uncached input"))
            whole = whole + read + write
        write_1h = min(_tokens(a, "cache_write_1h_tokens"), write)
        uncached, output = max(whole - read - write, 0), _tokens(a, "output_tokens")
        usage: dict[str, Any] = {"input_tokens": uncached, "output_tokens": output,
                 "cache_read_input_tokens": read, "cache_creation_input_tokens": write,
                 "cache_creation": {"ephemeral_1h_input_tokens": write_1h, "ephemeral_5m_input_tokens": write - write_1h}}
        priced = True
        dollars = 0.0
        if model is None:
            priced = False
            problems.append(Problem(f"{where}, span {span.name!r}", "no model recorded: the call is unpriced"))
        else:
            try:
                dollars = cost_of(model, usage)
            except (UnknownModelError, UsageError):
                priced = False
        if model is not None and source == "request":
            problems.append(Problem(f"{where}, span {span.name!r}", f"no response model recorded: priced by the "
                                                                     f"requested model {model}"))
        estimate = {name: _tokens_at(a, BUCKET_PREFIX + name) for name in BUCKETS}
        recorded = any(BUCKET_PREFIX + name in a for name in BUCKETS)
        steps.append(StepCost(
            step=len(steps) + 1, model=model or "(none)", estimate=estimate,
            tokens=_reconcile(estimate, whole) if recorded else dict.fromkeys(BUCKETS, 0),
            input_tokens=whole, uncached_input_tokens=uncached, cache_read_tokens=read,
            cache_write_tokens=write, output_tokens=output, cost=dollars))
        calls.append(ModelCall(span.name, model, priced, recorded, source))
        used[model or "(none)"] += 1
    return RunCosts(steps=steps, model=used.most_common(1)[0][0]), calls


def profile_spans(spans: Iterable[RawSpan], trace_id: str = "", *, keep_trace: bool = True,
                  diagnose: bool = True) -> TraceProfile:
    """The profile of one trace's spans (prepared with `adapt.prepare`).

    `diagnose=False` leaves the diagnosis for later (`Profile.add` runs it if the trace turns out to be one it
    shows): on a long file most traces are only counted, and the diagnosis is a fifth of the work."""
    assembled = assemble(spans, trace_id)
    trace = assembled.trace
    where = f"trace {trace_id[:16]}" if trace_id else "trace"
    problems = list(assembled.problems)
    models = assembled.model_calls
    costs, calls = _costs(models, where, problems)
    if not models:
        problems.append(Problem(where, "no model spans (none with a gen_ai.operation.name, openinference.span.kind or "
                                       "traceloop/llm.request.type that says it is a model call): no tokens or "
                                       "dollars; latency is still reported"))
    unpriced = sorted({c.model or "(none)" for c in calls if not c.priced and c.model})
    if unpriced:
        problems.append(Problem(where, f"no price for {', '.join(unpriced)}: those calls are unpriced (dollars cover "
                                       "the priced calls only; add a dated, sourced row to agentkit/data/models.yaml)"))
    breakdown = diagnosis = None
    if len(trace) > LARGE_TRACE_SPANS:
        problems.append(Problem(where, f"{len(trace):,} spans: over {LARGE_TRACE_SPANS:,}, so the latency breakdown "
                                       "and diagnosis are skipped for this trace (costs are reported)"))
    elif len(trace):
        breakdown = latency.breakdown(trace)
        diagnosis = latency.diagnose(trace) if diagnose else None
    return TraceProfile(trace_id=trace_id, spans=len(trace), costs=costs, calls=calls, breakdown=breakdown,
                        diagnosis=diagnosis, problems=problems, trace=trace if keep_trace else None,
                        time_scale=trace.time_scale)


#: Traces kept with every detail (steps, latency, the spans for a waterfall): the first few, then only the
#: slowest and the most expensive so far. Every trace keeps one row of figures; percentiles use them all.
DETAILED_TRACES = 5
#: Rows kept for the traces table (the CSV, written while streaming, has every step of every trace).
MAX_ROWS = 2000
_MEASURES = ("wall_s", "cost_usd", "input_tokens")


@dataclass
class Profile:
    """Many traces profiled: a few in full (`traces`), a row of figures for the first `MAX_ROWS`, three measures
    of every trace for the percentiles, the problems met, and what was read."""

    traces: list[TraceProfile] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    measures: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in _MEASURES})
    trace_count: int = 0
    model_trace_count: int = 0
    total_cost: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    spans_read: int = 0
    bytes_read: int = 0
    source: str = ""
    more_problems: int = 0  # problems past the stored limit, counted only
    slowest: TraceProfile | None = None
    costliest: TraceProfile | None = None

    @property
    def wants_diagnosis(self) -> bool:
        """Whether the next trace's diagnosis will be read (its row is still kept); else `add` runs it if shown."""
        return len(self.rows) < MAX_ROWS

    def add(self, tp: TraceProfile) -> None:
        """Count one profiled trace in; keep it in full only while it is among the first, the slowest or the
        most expensive (the others give up their steps and spans, so memory stays flat on a long file)."""
        row = tp.row()
        self.trace_count += 1
        if tp.costs is not None:
            self.model_trace_count += 1
            self.total_cost += tp.costs.cost
        for m in _MEASURES:
            if m != "wall_s" or tp.breakdown is not None:
                self.measures[m].append(float(row[m]))
        if len(self.rows) < MAX_ROWS:
            self.rows.append(row)
        cost = tp.costs.cost if tp.costs else 0.0
        before = (self.slowest, self.costliest)
        if self.slowest is None or tp.wall_s > self.slowest.wall_s:
            self.slowest = tp
        if self.costliest is None or cost > (self.costliest.costs.cost if self.costliest.costs else 0.0):
            self.costliest = tp
        self.traces.append(tp)
        if self.trace_count > DETAILED_TRACES:
            keep = {id(x) for x in (self.slowest, self.costliest)} | {id(x) for x in self.traces[:DETAILED_TRACES]}
            if any(x is not None and id(x) not in keep for x in before) or id(tp) not in keep:
                self.traces = [x for x in self.traces if id(x) in keep]
        if tp.diagnosis is None and tp.breakdown is not None and tp.trace is not None and any(x is tp for x in self.traces):
            tp.diagnosis = latency.diagnose(tp.trace)  # left for later by the streaming reader: shown, so needed now

    def table(self) -> Any:
        """One row per trace (the first `MAX_ROWS`), a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def percentiles(self, columns: Sequence[str] = _MEASURES) -> dict[str, dict[str, float]]:
        """p50 / p95 / p99 of each measure over every trace, with `agentkit.latency.percentiles`."""
        return {col: latency.percentiles(self.measures[col]) for col in columns if self.measures.get(col)}

    def detailed(self) -> list[TraceProfile]:
        """The traces to show in full: all of them when there are few, else the slowest and the most expensive."""
        if self.trace_count <= DETAILED_TRACES:
            return list(self.traces)
        out = [x for x in (self.slowest, self.costliest) if x is not None]
        return out[:1] if len(out) == 2 and out[0] is out[1] else out
