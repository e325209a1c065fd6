"""Latency profiling: where an agent's seconds go, measured from its trace.

The course splits an agent's end-to-end latency into seven components. This
module measures each one from the spans of a run (never by subtracting the
others from the total), turns many runs into distributions (percentiles,
ECDFs, before/after), and reads a waterfall's shape the way the lesson does:

    traces = profile(agent, prompt, runs=50)          # 50 traced runs
    table = breakdowns(traces)                        # one row per run, one column per component
    percentiles(table["wall_s"])                      # p50 / p95 / p99
    compare(before_table, after_table)                # what a fix changed, at each percentile
    diagnose(trace)                                   # which pathological shapes a waterfall shows

Where each component comes from (seconds are simulated offline, real live):

==========================  ==========================================================
request_serialization       model span start -> the request reaching the API (the
                            simulator's ``agentkit.sim.request_received`` event):
                            building and encoding the HTTP request, client middleware;
                            plus, offline, the reply fully arrived -> span end (decoding it)
time_to_first_token         request reached -> first token (the simulator's TTFT offline;
                            live, the SDK's ``gen_ai.response.time_to_first_chunk``
                            when streaming)
generation                  first token -> last token (output tokens x TPOT; offline the
                            simulator's duration of the reply, so TTFT + generation is
                            exactly the simulated model time)
tool_execution              ``execute_tool`` spans (concurrent calls count once)
context_injection           the agent's ``agentkit.request_built`` events (each carries
                            how long building the next request took)
framework_overhead          the agent's ``agentkit.hooks`` events (callbacks, state
                            saving, with their duration) and spans marked
                            ``agentkit.latency.component=framework_overhead``
inter_step_coordination     handoffs between agents: spans named ``agentkit.handoff...``
                            (`handoff()` opens one) or marked
                            ``agentkit.latency.component=inter_step_coordination``
==========================  ==========================================================

Spans can nest or overlap (a hook inside a tool, two tools at once); each
instant of the run is attributed once, to the first component in `COMPONENTS`
order that covers it, so the components plus `unaccounted_s` (time no span or
timed event covers: the gaps) add up exactly to the wall clock.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.sdk.trace import ReadableSpan

from agentkit.trace_context import SIM_RECEIVED_EVENT, SIM_SECONDS_ATTRIBUTE, SIM_TTFT_ATTRIBUTE
from agentkit.tracing import Trace, capture, span_kind

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from agentkit.agent import Agent, RunResult
    from agentkit.sim.latency import Timing

__all__ = [
    "COMPONENTS",
    "COMPONENT_LABELS",
    "PERCENTILE_METHOD",
    "SHAPES",
    "Breakdown",
    "Diagnosis",
    "Finding",
    "Run",
    "breakdown",
    "breakdowns",
    "call_time",
    "client_under_load",
    "compare",
    "diagnose",
    "ecdf",
    "handoff",
    "median_run",
    "model_call_time",
    "percentiles",
    "plot_components",
    "plot_distributions",
    "profile",
]

#: The seven components, in attribution priority order (see the module docstring).
COMPONENTS: tuple[str, ...] = (
    "framework_overhead",
    "inter_step_coordination",
    "tool_execution",
    "request_serialization",
    "time_to_first_token",
    "generation",
    "context_injection",
)

COMPONENT_LABELS: dict[str, str] = {
    "request_serialization": "request serialisation",
    "time_to_first_token": "time to first token",
    "generation": "generation (output x TPOT)",
    "tool_execution": "tool execution",
    "context_injection": "context injection",
    "framework_overhead": "framework overhead",
    "inter_step_coordination": "inter-step coordination",
}

#: Span attribute a span can carry to say which component its time belongs to.
COMPONENT_ATTRIBUTE = "agentkit.latency.component"
#: The simulator's event and attribute on the SDK's span (see agentkit.sim.transport).
RECEIVED_EVENT = SIM_RECEIVED_EVENT

#: How percentiles are computed: linear interpolation between the closest ranks
#: (NumPy's default "linear" method, Hyndman & Fan type 7, also pandas' quantile default).
PERCENTILE_METHOD: Final = "linear"


# ---------------------------------------------------------------------------
# One trace -> seven components
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """Where one run's wall-clock seconds went, by component (simulated seconds offline)."""

    wall_s: float
    seconds: dict[str, float]  # component -> seconds, every name in COMPONENTS
    unaccounted_s: float  # covered by no span: gaps between spans
    model_calls: int
    tool_calls: int
    streamed: bool  # whether TTFT came from streamed first chunks (else from the simulator's TTFT)

    def __getitem__(self, component: str) -> float:
        if component not in self.seconds:
            raise KeyError(f"no component {component!r}; the components are {', '.join(COMPONENTS)}")
        return self.seconds[component]

    @property
    def inference_s(self) -> float:
        """Time to first token plus generation: what the model itself took."""
        return self.seconds["time_to_first_token"] + self.seconds["generation"]

    @property
    def largest(self) -> str:
        """The component with the most seconds."""
        return max(COMPONENTS, key=lambda c: self.seconds[c])

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": self.wall_s, **self.seconds, "unaccounted_s": self.unaccounted_s,
                "inference_s": self.inference_s}

    def __str__(self) -> str:
        lines = [f"wall clock {self.wall_s:8.2f} s  ({self.model_calls} model calls, {self.tool_calls} tool calls)"]
        for c in sorted(COMPONENTS, key=lambda c: -self.seconds[c]):
            share = self.seconds[c] / self.wall_s if self.wall_s else 0.0
            lines.append(f"  {COMPONENT_LABELS[c]:<28} {self.seconds[c]:6.2f} s  {share:4.0%}")
        lines.append(f"  {'(gaps: no span)':<28} {self.unaccounted_s:6.2f} s")
        return "\n".join(lines)


class _Clock:
    """Span times as simulated seconds since the trace's first span (the same axis as `Trace.waterfall`)."""

    def __init__(self, trace: Trace) -> None:
        spans = trace.spans
        self.scale = trace.time_scale
        self.origin = min((s.start_time or 0) for s in spans) if spans else 0
        self.closed = max((s.end_time or s.start_time or 0) for s in spans) if spans else 0

    def at(self, ns: int) -> float:
        return (ns - self.origin) / 1e9 / self.scale

    def interval(self, span: ReadableSpan) -> tuple[float, float]:
        end = span.end_time if span.end_time is not None else self.closed
        return self.at(span.start_time or 0), self.at(end)


def _model_phases(span: ReadableSpan, clock: _Clock) -> tuple[list[tuple[float, float, str]], bool]:
    """A model span cut into serialisation, TTFT, generation and decoding; and whether it was streamed.

    Offline the simulator records when the request arrived (an event), the reply's TTFT and its whole duration
    (`agentkit.sim.ttft_s`, `agentkit.sim.seconds`, simulated seconds), so TTFT and generation are exact and the
    SDK's own work before and after (encoding the request, middleware, decoding the reply) is serialisation.
    Live, TTFT comes from the SDK's first streamed chunk, and without streaming it cannot be told apart.
    """
    start, end = clock.interval(span)
    received = [e.timestamp for e in span.events if e.name == RECEIVED_EVENT]
    sent = min(max(clock.at(received[-1]), start), end) if received else start  # the last attempt's request
    attrs = span.attributes or {}
    first_chunk = attrs.get("gen_ai.response.time_to_first_chunk")
    sim_ttft = attrs.get(SIM_TTFT_ATTRIBUTE)
    sim_total = attrs.get(SIM_SECONDS_ATTRIBUTE)
    streamed = isinstance(first_chunk, (int, float))
    done = end
    if isinstance(sim_ttft, (int, float)):
        first = sent + float(sim_ttft)  # already simulated seconds
        if isinstance(sim_total, (int, float)):
            done = min(sent + float(sim_total), end)
    elif isinstance(first_chunk, (int, float)):
        first = start + float(first_chunk) / clock.scale  # the SDK measures it from the span's start, in real seconds
    else:
        first = sent  # live and not streamed: no way to split TTFT from generation; all of it counts as generation
    first = min(max(first, sent), done)
    phases = [(start, sent, "request_serialization"), (sent, first, "time_to_first_token"),
              (first, done, "generation"), (done, end, "request_serialization")]
    return [p for p in phases if p[1] > p[0]], streamed


def _component_of(span: ReadableSpan) -> str | None:
    attrs = span.attributes or {}
    marked = attrs.get(COMPONENT_ATTRIBUTE)
    if isinstance(marked, str) and marked in COMPONENTS:
        return marked
    if span.name.startswith("agentkit.handoff"):
        return "inter_step_coordination"
    if span_kind(span) == "tool":
        return "tool_execution"
    return None


#: The agent's timed events (agentkit.agent): each carries its duration and ends at its timestamp.
_EVENT_COMPONENTS = {"agentkit.request_built": "context_injection", "agentkit.hooks": "framework_overhead"}


def _event_intervals(span: ReadableSpan, clock: _Clock) -> list[tuple[float, float, str]]:
    out = []
    for event in span.events:
        component = _EVENT_COMPONENTS.get(event.name)
        took = (event.attributes or {}).get("agentkit.duration_ns")
        if component is not None and isinstance(took, int) and took > 0:
            end = clock.at(event.timestamp)
            out.append((end - took / 1e9 / clock.scale, end, component))
    return out


def _attribute(intervals: list[tuple[float, float, str]], window: tuple[float, float]) -> tuple[dict[str, float], float]:
    """Attribute every instant of `window` to the highest-priority component covering it; the rest is a gap."""
    rank = {c: i for i, c in enumerate(COMPONENTS)}
    lo, hi = window
    cuts = sorted({lo, hi, *(min(max(t, lo), hi) for a, b, _ in intervals for t in (a, b))})
    seconds = dict.fromkeys(COMPONENTS, 0.0)
    gaps = 0.0
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        mid = (a + b) / 2
        covering = [c for s, e, c in intervals if s <= mid < e]
        if covering:
            seconds[min(covering, key=rank.__getitem__)] += b - a
        else:
            gaps += b - a
    return seconds, gaps


def breakdown(trace: Trace) -> Breakdown:
    """The seven components of one traced run, each measured from its spans (see the module docstring)."""
    if not isinstance(trace, Trace):
        raise TypeError(f"breakdown() takes an agentkit Trace (from `with agentkit.capture() as trace:`), "
                        f"got {type(trace).__name__}")
    spans = trace.spans
    if not spans:
        raise ValueError("this trace has no spans: run the agent inside `with agentkit.capture() as trace:` "
                         "(and call agentkit.setup_tracing() first)")
    clock = _Clock(trace)
    intervals: list[tuple[float, float, str]] = []
    model_calls = tool_calls = 0
    streamed = False
    for span in spans:
        intervals += _event_intervals(span, clock)
        kind = span_kind(span)
        if kind == "model":
            model_calls += 1
            phases, was_streamed = _model_phases(span, clock)
            intervals += phases
            streamed = streamed or was_streamed
            continue
        component = _component_of(span)
        if component == "tool_execution":
            tool_calls += 1
        if component is not None:
            start, end = clock.interval(span)
            intervals.append((start, end, component))
    all_iv = [clock.interval(s) for s in spans]
    window = (min(a for a, _ in all_iv), max(b for _, b in all_iv))
    seconds, gaps = _attribute(intervals, window)
    return Breakdown(window[1] - window[0], seconds, gaps, model_calls, tool_calls, streamed)


@contextmanager
def handoff(to: str, **attributes: Any) -> Iterator[Any]:
    """A span around handing work to another agent (routing, serialising the handoff state, starting the next
    agent), named `agentkit.handoff {to}`, so `breakdown` counts it as inter-step coordination:

        with latency.handoff("billing_agent"):
            state = json.dumps(conversation_state)
            billing = build_billing_agent(client)
    """
    from agentkit.tracing import tracer

    if not isinstance(to, str) or not to:
        raise ValueError("handoff() needs the name of the agent that takes over, such as 'billing_agent'")
    with tracer().start_as_current_span(f"agentkit.handoff {to}", attributes={"agentkit.handoff.to": to,
                                                                             **attributes}) as span:
        yield span


# ---------------------------------------------------------------------------
# Many runs: profile, table, percentiles, ECDF, compare
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One profiled run: what the agent returned and its trace."""

    result: RunResult
    trace: Trace

    @property
    def breakdown(self) -> Breakdown:
        return breakdown(self.trace)


def profile(agent: Agent, prompt: str | Sequence[str], runs: int = 30, *,
            between: Callable[[int], None] | None = None) -> list[Run]:
    """Run `agent` `runs` times, each inside its own `capture()`; returns the runs with their traces.

    `prompt` is one prompt, or a list used in turn (run i gets prompt[i % len]).
    `between(i)`, if given, is called before run i (for example to move a
    cache's clock on, as if requests arrived a minute apart).
    """
    if not hasattr(agent, "run"):
        raise TypeError(f"profile() takes an agent with .run(prompt), such as agentkit.Agent; got {type(agent).__name__}")
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    if not prompts or not all(isinstance(p, str) and p for p in prompts):
        raise ValueError("prompt must be a non-empty string or a non-empty list of them")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a whole number of at least 1, got {runs!r}")
    out: list[Run] = []
    for i in range(runs):
        if between is not None:
            between(i)
        with capture() as trace:
            result = agent.run(prompts[i % len(prompts)])
        out.append(Run(result, trace))
    return out


def median_run(runs: Sequence[Run]) -> Run:
    """The run whose wall clock is the median (the lower middle one for an even count): a typical trace to
    look at, rather than whichever run happened to come first."""
    if not runs:
        raise ValueError("median_run() needs at least one run")
    ordered = sorted(runs, key=lambda r: breakdown(r.trace).wall_s)
    return ordered[(len(ordered) - 1) // 2]


def breakdowns(runs: Iterable[Run | Trace | Breakdown]) -> pd.DataFrame:
    """One row per run: wall_s, the seven components, unaccounted_s and inference_s (seconds)."""
    import pandas as pd

    rows = []
    for item in runs:
        if isinstance(item, Run):
            item = item.trace
        b = item if isinstance(item, Breakdown) else breakdown(item)
        rows.append(b.as_dict())
    if not rows:
        raise ValueError("breakdowns() needs at least one run, trace or breakdown")
    return pd.DataFrame(rows, columns=["wall_s", *COMPONENTS, "unaccounted_s", "inference_s"])


def _values(values: Iterable[float] | pd.Series) -> list[float]:
    out = [float(v) for v in values]
    if not out:
        raise ValueError("no values: a percentile needs at least one measurement")
    if any(v != v for v in out):
        raise ValueError("the values contain NaN: drop the missing measurements first")
    return out


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """{"p50": ..., "p95": ..., "p99": ...} of `values`, by linear interpolation (`PERCENTILE_METHOD`).

    With n runs, p99 rests on the slowest 1% of them: under 100 runs it is
    an interpolation between the two slowest, so measure at least 100.
    """
    import numpy as np

    data = _values(values)
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"percentiles are between 0 and 100, got {q!r}")
    return {f"p{q:g}": float(np.percentile(data, q, method=PERCENTILE_METHOD)) for q in qs}


def ecdf(values: Iterable[float]) -> tuple[list[float], list[float]]:
    """The empirical CDF: sorted values, and for each the share of runs at or below it."""
    data = sorted(_values(values))
    n = len(data)
    return data, [(i + 1) / n for i in range(n)]


def compare(before: Iterable[float] | pd.DataFrame, after: Iterable[float] | pd.DataFrame,
            column: str = "wall_s", qs: Sequence[float] = (50, 95, 99)) -> pd.DataFrame:
    """Before vs after at each percentile (and the mean): seconds, change in seconds, change in percent.

    `before`/`after` are lists of seconds, or `breakdowns()` tables (then `column` picks one).
    """
    import pandas as pd

    def pick(x: Any) -> list[float]:
        if isinstance(x, pd.DataFrame):
            if column not in x.columns:
                raise KeyError(f"no column {column!r}; choose one of {', '.join(map(str, x.columns))}")
            return _values(x[column])
        return _values(x)

    b, a = pick(before), pick(after)
    pb, pa = percentiles(b, qs), percentiles(a, qs)
    pb["mean"], pa["mean"] = statistics.fmean(b), statistics.fmean(a)
    rows = {k: {"before_s": pb[k], "after_s": pa[k], "change_s": pa[k] - pb[k],
                "change_pct": (pa[k] - pb[k]) / pb[k] * 100 if pb[k] else float("nan")} for k in pb}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["runs"] = (len(b), len(a))
    return table


def plot_distributions(series: Mapping[str, Iterable[float]], ax: Axes | None = None, *,
                       title: str | None = None, unit: str = "simulated seconds") -> Any:
    """ECDFs of several sets of runs on one axis, with each set's p50 / p95 / p99 marked. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not series:
        raise ValueError("plot_distributions() needs at least one named set of values")
    fig: Any
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
    else:
        fig = ax.figure
    for label, values in series.items():
        xs, ys = ecdf(values)
        p = percentiles(xs)
        (line,) = ax.step(xs, ys, where="post", label=f"{label}: p50 {p['p50']:.2f}, p95 {p['p95']:.2f}, "
                                                         f"p99 {p['p99']:.2f} ({len(xs)} runs)")
        for q, marker in (("p50", "o"), ("p95", "s"), ("p99", "^")):
            ax.plot([p[q]], [float(q[1:]) / 100], marker=marker, color=line.get_color(), markersize=5)
    ax.set_xlabel(unit)
    ax.set_ylabel("share of runs at or below")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


_PALETTE = {
    "request_serialization": "#9b59b6", "time_to_first_token": "#1f5f99", "generation": "#3b78c2",
    "tool_execution": "#e8912d", "context_injection": "#16a085", "framework_overhead": "#6aa84f",
    "inter_step_coordination": "#c0392b",
}


def plot_components(tables: Mapping[str, pd.DataFrame], ax: Axes | None = None, *, title: str | None = None,
                    stat: str = "median") -> Any:
    """One stacked bar per set of runs: the `stat` ("median" or "mean") of each component, in seconds.

    `tables` maps a label ("before", "after") to a `breakdowns()` table. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    if not tables:
        raise ValueError("plot_components() needs at least one labelled breakdowns() table")
    if stat not in ("median", "mean"):
        raise ValueError(f"stat must be 'median' or 'mean', got {stat!r}")
    fig: Any
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 1.2 + 0.7 * len(tables)))
    else:
        fig = ax.figure
    labels = list(tables)
    for row, label in enumerate(labels):
        table = tables[label]
        missing = [c for c in COMPONENTS if c not in table.columns]
        if missing:
            raise KeyError(f"table {label!r} lacks {', '.join(missing)}: pass breakdowns(runs)")
        left = 0.0
        for c in COMPONENTS:
            value = float(getattr(table[c], stat)())
            if value <= 0:
                continue
            ax.barh(row, value, left=left, color=_PALETTE[c], label=COMPONENT_LABELS[c] if row == 0 else None)
            if value >= 0.35:
                ax.text(left + value / 2, row, f"{value:.1f}", ha="center", va="center", fontsize=8, color="white")
            left += value
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(f"{stat} simulated seconds per run")
    ax.legend(fontsize=8, ncol=4, loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# The latency model's arithmetic (TTFT / TPOT), and provider load
# ---------------------------------------------------------------------------


def call_time(input_tokens: int, output_tokens: int, *, ttft_base: float, prefill_per_1k: float,
              tokens_per_second: float) -> Timing:
    """One call's TTFT and generation time for a given API, by the simulator's latency formula (no jitter):
    TTFT = ttft_base + prefill_per_1k x input/1000; generation = output / tokens_per_second."""
    from agentkit.sim.latency import LatencyModel, ModelLatency

    for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number of tokens, 0 or more; got {value!r}")
    if not tokens_per_second > 0:
        raise ValueError(f"tokens_per_second must be positive, got {tokens_per_second!r}")
    api = LatencyModel(models={"api": ModelLatency(ttft_base, prefill_per_1k, tokens_per_second, jitter=0.0)})
    return api.expected("api", input_tokens=input_tokens, output_tokens=output_tokens)


def model_call_time(model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Timing:
    """What the simulator's latency model predicts for one call to `model` (no jitter, no load)."""
    from agentkit.sim.latency import LatencyModel

    return LatencyModel().expected(model, input_tokens=input_tokens, output_tokens=output_tokens,
                                   cached_tokens=cached_tokens)


def client_under_load(load: str, **client_options: Any) -> Any:
    """`agentkit.client(**client_options)` whose simulated provider runs at `load` ("off_peak" or "peak").

    Live (with an API key) the load is whatever the real API has at that
    hour, so `load` is ignored there and a normal live client is returned.
    """
    from agentkit.clients import _want_live, client
    from agentkit.sim.core import Simulator
    from agentkit.sim.latency import LOAD_PROFILES, LatencyModel

    if load not in LOAD_PROFILES:
        raise ValueError(f"unknown load {load!r}; choose one of {', '.join(LOAD_PROFILES)}")
    if "simulator" in client_options:
        raise TypeError("client_under_load() makes its own simulator; pass scenarios=/seed= instead of simulator=")
    if _want_live(client_options.get("live")):
        return client(**client_options)
    seed = client_options.pop("seed", 0)
    return client(simulator=Simulator(seed=seed, latency=LatencyModel(load=LOAD_PROFILES[load])), **client_options)


# ---------------------------------------------------------------------------
# Reading a waterfall: diagnose()
# ---------------------------------------------------------------------------

#: The pathological waterfall shapes, and what each means.
SHAPES: dict[str, str] = {
    "wide_gaps": "wide gaps between spans: work no span covers (framework overhead, blocking waits)",
    "sequential_independent_tools": "sequential tool spans with no data dependency: they could run at once",
    "growing_llm_spans": "model spans that widen step by step: context piling up drives TTFT",
    "tools_wider_than_llm": "tool spans wider than model spans: external I/O is the bottleneck",
    "many_short_llm_calls": "many short model calls: the agent makes excessive small calls",
}

_ADVICE: dict[str, str] = {
    "wide_gaps": "instrument the gap (a span around what runs there) to find what is blocking",
    "sequential_independent_tools": "run them concurrently (asyncio.gather or a thread pool)",
    "growing_llm_spans": "compress or trim the context before the step where the growth inflects",
    "tools_wider_than_llm": "profile the tool; cache its results or make its I/O async",
    "many_short_llm_calls": "consolidate reasoning steps: fewer, fuller model calls",
}


@dataclass(frozen=True)
class Finding:
    """One shape a waterfall shows: which, the evidence from the spans, and what to do."""

    shape: str
    evidence: str
    advice: str

    def __str__(self) -> str:
        return f"{self.shape}: {self.evidence} -> {self.advice}"


@dataclass(frozen=True)
class Diagnosis:
    """What `diagnose` found in one trace: a list of findings (empty for a healthy waterfall)."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def shapes(self) -> list[str]:
        return [f.shape for f in self.findings]

    @property
    def healthy(self) -> bool:
        return not self.findings

    def __contains__(self, shape: object) -> bool:
        return shape in self.shapes

    def __str__(self) -> str:
        if self.healthy:
            return "healthy: spans tile with small gaps, model calls are the widest bars, tools are quick"
        return "\n".join(str(f) for f in self.findings)


def _union(intervals: Iterable[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def _rank_correlation(values: Sequence[float]) -> float:
    """Spearman's rank correlation of `values` with their order (1.0: each is larger than the one before)."""
    n = len(values)
    ranks = {i: r for r, i in enumerate(sorted(range(n), key=values.__getitem__))}
    d2 = sum((ranks[i] - i) ** 2 for i in range(n))
    return 1 - 6 * d2 / (n * (n * n - 1)) if n > 1 else 0.0


def _gaps(intervals: list[tuple[float, float]], window: tuple[float, float]) -> list[float]:
    """Lengths of the stretches of `window` that no interval covers."""
    out, cursor = [], window[0]
    for a, b in sorted(intervals):
        if a > cursor:
            out.append(a - cursor)
        cursor = max(cursor, b)
    if window[1] > cursor:
        out.append(window[1] - cursor)
    return out


def diagnose(trace: Trace, *, gap_share: float = 0.15, min_seconds: float = 0.3) -> Diagnosis:
    """Which of the five pathological shapes (`SHAPES`) this trace shows, each with its evidence.

    Thresholds: gaps count when they add up to more than `gap_share` of the
    wall clock; other shapes need at least `min_seconds` at stake. A healthy
    sequential agent returns no findings.
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"diagnose() takes an agentkit Trace, got {type(trace).__name__}")
    spans = trace.spans
    if not spans:
        raise ValueError("this trace has no spans: capture a run first")
    clock = _Clock(trace)
    iv = {s.context.span_id: clock.interval(s) for s in spans}
    window = (min(a for a, _ in iv.values()), max(b for _, b in iv.values()))
    wall = window[1] - window[0]
    ids = set(iv)
    roots = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
    models = sorted((s for s in spans if span_kind(s) == "model"), key=lambda s: iv[s.context.span_id][0])
    tools = [s for s in spans if span_kind(s) == "tool"]
    findings: list[Finding] = []

    # 1. Gaps: time inside the run that no child span covers.
    # (The agent's own timed events, hooks and request building, count as covered: that time is measured.)
    children = [iv[s.context.span_id] for s in spans if s not in roots]
    children += [(a, b) for s in spans for a, b, _ in _event_intervals(s, clock)]
    gaps = _gaps(children, window)
    total_gap = sum(gaps)
    if wall and total_gap > gap_share * wall and total_gap >= min_seconds and max(gaps) >= min_seconds:
        findings.append(Finding("wide_gaps", f"{total_gap:.2f} s of {wall:.2f} s ({total_gap / wall:.0%}) is covered "
                                f"by no span; the widest gap is {max(gaps):.2f} s", _ADVICE["wide_gaps"]))

    # 2. Sequential siblings with no data dependency: tool calls of one model turn, or repeated calls of
    # one kind (same span name) inside one tool, that never overlap.
    groups: dict[tuple[Any, ...], list[ReadableSpan]] = {}
    for s in tools:
        groups.setdefault(("step", (s.attributes or {}).get("agentkit.step"), s.parent.span_id if s.parent else None),
                          []).append(s)
    tool_ids = {s.context.span_id for s in tools}
    for s in spans:
        if s.parent is not None and s.parent.span_id in tool_ids:
            groups.setdefault(("in_tool", s.parent.span_id, s.name), []).append(s)
    worst: tuple[float, str] | None = None
    for key, group in groups.items():
        if len(group) < 2:
            continue
        ordered = sorted((iv[s.context.span_id] for s in group))
        sequential = all(b[0] >= a[1] - 1e-6 for a, b in zip(ordered, ordered[1:]))
        total = sum(b - a for a, b in ordered)
        longest = max(b - a for a, b in ordered)
        saving = total - longest  # what running them at once would save
        if sequential and saving >= min_seconds and saving >= 0.1 * wall:
            what = (f"{len(group)} tool calls of step {key[1]}" if key[0] == "step"
                    else f"{len(group)} '{key[2]}' spans inside one tool call")
            text = f"{what} ran one after another ({total:.2f} s); at once they would take about {longest:.2f} s"
            if worst is None or saving > worst[0]:
                worst = (saving, text)
    if worst is not None:
        findings.append(Finding("sequential_independent_tools", worst[1], _ADVICE["sequential_independent_tools"]))

    # 3. Model spans that widen step by step because their TTFT grows with the context (a long final answer
    # also makes the last span wide, so the rule reads each call's time to first token, not its whole width).
    widths = [iv[s.context.span_id][1] - iv[s.context.span_id][0] for s in models]
    ttfts = []
    for s in models:
        phases, _ = _model_phases(s, clock)
        ttfts.append(sum(b - a for a, b, c in phases if c == "time_to_first_token"))
    tokens = [(s.attributes or {}).get("gen_ai.usage.input_tokens") for s in models]
    known_ttft = all(t > 0 for t in ttfts)
    growth = ttfts if known_ttft else widths  # live and not streamed: no TTFT, so the widths
    if len(growth) >= 4:
        # Robust to one slow call: the calls' order must agree with their TTFTs (rank correlation), the last
        # third must be clearly slower to start than the first third, and the input must have grown.
        third = max(len(growth) // 3, 1)
        early, late = statistics.fmean(growth[:third]), statistics.fmean(growth[-third:])
        inputs_grew = not (isinstance(tokens[0], int) and isinstance(tokens[-1], int)) or tokens[-1] > 1.5 * tokens[0]
        if _rank_correlation(growth) >= 0.7 and late >= 1.5 * early and late - early >= min_seconds / 2 and inputs_grew:
            what = "time to first token" if known_ttft else "model call width"
            grown = (f"; input grew from {tokens[0]:,} to {tokens[-1]:,} tokens"
                     if isinstance(tokens[0], int) and isinstance(tokens[-1], int) else "")
            findings.append(Finding("growing_llm_spans", f"{what} grew from {early:.2f} s to {late:.2f} s over "
                                    f"{len(growth)} model calls{grown}", _ADVICE["growing_llm_spans"]))

    # 4. Tools wider than the model.
    tool_s = _union(iv[s.context.span_id] for s in tools)
    model_s = _union(iv[s.context.span_id] for s in models)
    if tools and tool_s > model_s and tool_s >= min_seconds and tool_s >= 0.25 * wall:
        per_tool: dict[str, float] = {}
        for s in tools:
            name = str((s.attributes or {}).get("gen_ai.tool.name", s.name))
            a, b = iv[s.context.span_id]
            per_tool[name] = per_tool.get(name, 0.0) + b - a
        top = max(per_tool, key=per_tool.__getitem__)
        findings.append(Finding("tools_wider_than_llm", f"tools took {tool_s:.2f} s against {model_s:.2f} s in the "
                                f"model; {top} alone {per_tool[top]:.2f} s", _ADVICE["tools_wider_than_llm"]))

    # 5. Many short model calls.
    if len(models) >= 6:
        outputs = [(s.attributes or {}).get("gen_ai.usage.output_tokens") for s in models]
        known = [o for o in outputs if isinstance(o, int)]
        median_out = statistics.median(known) if known else 0
        median_width = statistics.median(widths)
        if median_width < 1.0 and median_out <= 40:
            findings.append(Finding("many_short_llm_calls", f"{len(models)} model calls, median {median_width:.2f} s "
                                    f"and {median_out:g} output tokens each", _ADVICE["many_short_llm_calls"]))
    return Diagnosis(tuple(findings))
