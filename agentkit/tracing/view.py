"""The `Trace` view: the spans of one capture as a tree of text, a table, a waterfall and a summary.

Times are seconds from the trace's first span on the kit's clock (`agentkit.clock`): offline, real Python
time plus the simulated waits (model calls, simulated tools, serialisation), each at its true size; live, real time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from agentkit import clock
from agentkit.trace_context import SIM_TTFT_ATTRIBUTE

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Trace", "TraceSummary", "span_kind", "union_length"]

# gen_ai.operation.name -> the kind a learner reads in tables and plots.
_KINDS = {
    "invoke_agent": "agent",
    "create_agent": "agent",
    "chat": "model",
    "text_completion": "model",
    "generate_content": "model",
    "embeddings": "model",
    "execute_tool": "tool",
}



def span_kind(span: ReadableSpan) -> str:
    """'agent', 'model', 'tool' or 'other', from the span's `gen_ai.operation.name`."""
    return _KINDS.get(str((span.attributes or {}).get("gen_ai.operation.name", "")), "other")


@dataclass(frozen=True)
class TraceSummary:
    """Where one trace's wall-clock time and tokens went (offline: simulated waits plus real Python time).

    `model_s` and `tool_s` are the time covered by at least one model (tool)
    span, so concurrent tool calls count once; `other_s` is the wall-clock time
    covered by neither. If model and tool spans overlap, the three add up to
    more than `wall_s`.
    """

    wall_s: float
    model_s: float
    tool_s: float
    other_s: float
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    model_calls: int
    tool_calls: int
    errors: int
    per_tool_s: dict[str, float] = field(default_factory=dict)
    per_tool_calls: dict[str, int] = field(default_factory=dict)

    @property
    def model_share(self) -> float:
        return self.model_s / self.wall_s if self.wall_s else 0.0

    @property
    def tool_share(self) -> float:
        return self.tool_s / self.wall_s if self.wall_s else 0.0

    def __str__(self) -> str:
        lines = [
            f"wall clock   {self.wall_s:8.2f} s",
            f"  model      {self.model_s:8.2f} s  ({self.model_share:.0%}, {self.model_calls} calls)",
            f"  tools      {self.tool_s:8.2f} s  ({self.tool_share:.0%}, {self.tool_calls} calls)",
            f"  other      {self.other_s:8.2f} s",
        ]
        for name, seconds in sorted(self.per_tool_s.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {name:<20} {seconds:8.2f} s  ({self.per_tool_calls.get(name, 0)} calls)")
        lines.append(
            f"tokens       {self.input_tokens} in ({self.cache_read_tokens} cache read, "
            f"{self.cache_write_tokens} cache write), {self.output_tokens} out"
        )
        if self.errors:
            lines.append(f"errors       {self.errors}")
        return "\n".join(lines)


def _span_state(span: ReadableSpan) -> dict[str, Any]:
    ctx, parent = span.context, span.parent
    scope = span.instrumentation_scope
    return {
        "name": span.name, "trace_id": ctx.trace_id, "span_id": ctx.span_id, "flags": int(ctx.trace_flags),
        "parent": (parent.trace_id, parent.span_id) if parent is not None else None,
        "attributes": dict(span.attributes or {}), "kind": span.kind.value,
        "events": [(e.name, dict(e.attributes or {}), e.timestamp) for e in span.events],
        "status": (span.status.status_code.value, span.status.description),
        "start": span.start_time, "end": span.end_time,
        "scope": (scope.name, scope.version) if scope is not None else None,
    }


def _trace_from_state(time_scale: float, closed_at: int, states: list[dict[str, Any]]) -> Trace:
    from opentelemetry.sdk.trace import Event
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, TraceFlags

    spans = []
    for st in states:
        parent = (SpanContext(st["parent"][0], st["parent"][1], is_remote=False)
                  if st["parent"] is not None else None)
        spans.append(ReadableSpan(
            name=st["name"], context=SpanContext(st["trace_id"], st["span_id"], is_remote=False,
                                                trace_flags=TraceFlags(st["flags"])),
            parent=parent, attributes=st["attributes"], kind=SpanKind(st["kind"]),
            events=tuple(Event(name, attrs, timestamp) for name, attrs, timestamp in st["events"]),
            status=Status(StatusCode(st["status"][0]), st["status"][1]), start_time=st["start"], end_time=st["end"],
            instrumentation_scope=InstrumentationScope(*st["scope"]) if st["scope"] is not None else None))
    trace = Trace(spans, time_scale=time_scale)
    trace._closed_at = closed_at
    return trace


def union_length(intervals: Iterable[tuple[float, float]]) -> float:
    """The length of the union of [start, end] intervals: time covered by at least one of them."""
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def _int_attr(attrs: Any, *names: str) -> int | None:
    for name in names:
        value = attrs.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class Trace:
    """The spans of one run: `str(trace)`, `.to_dataframe()`, `.waterfall()`, `.summary()`.

    Times are reported in seconds from the trace's first span start. `time_scale`
    (default 1.0) divides them, for spans recorded by a clock that ran faster than
    real time; the kit's own spans never need it.
    """

    def __init__(self, spans: Iterable[ReadableSpan], time_scale: float = 1.0, *, complete: bool = True) -> None:
        if not isinstance(time_scale, (int, float)) or isinstance(time_scale, bool) or not time_scale > 0:
            raise ValueError(f"time_scale must be a positive number (the simulator's, 1.0 for real time); got {time_scale!r}.")
        self.time_scale = float(time_scale)
        self._spans: list[ReadableSpan] = []
        self._complete = complete
        self._closed_at = clock.time_ns()
        if complete:
            self._fill(spans)

    # -- pickling: a trace handed in as a lab answer is judged again in a fresh process (sent with cloudpickle) --
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """A trace pickles as plain data (the SDK's spans hold locks, which do not pickle) and comes back as
        frozen `ReadableSpan`s with the same names, ids, times, attributes, events and statuses."""
        return _trace_from_state, (self.time_scale, self._closed_at, [_span_state(s) for s in self._ready()])

    def _fill(self, spans: Iterable[ReadableSpan]) -> None:
        self._closed_at = clock.time_ns()
        self._spans = sorted(spans, key=lambda s: (s.start_time or 0, s.context.span_id))
        self._complete = True

    def _ready(self) -> list[ReadableSpan]:
        if not self._complete:
            raise RuntimeError(
                "This trace is filled when its `with capture() as trace:` block ends; "
                "use it after the block (dedent the line)."
            )
        return self._spans

    # -- basic access -------------------------------------------------------
    @property
    def spans(self) -> list[ReadableSpan]:
        """The OpenTelemetry spans, in start order."""
        return list(self._ready())

    def __len__(self) -> int:
        return len(self._ready())

    def __iter__(self) -> Iterator[ReadableSpan]:
        return iter(self._ready())

    def select(self, kind: str | None = None, name: str | None = None) -> list[ReadableSpan]:
        """The spans of one kind ('agent', 'model', 'tool', 'other') and/or whose name starts with `name`."""
        if kind is not None and kind not in ("agent", "model", "tool", "other"):
            raise ValueError(f"kind must be 'agent', 'model', 'tool' or 'other'; got {kind!r}.")
        return [
            s for s in self._ready()
            if (kind is None or span_kind(s) == kind) and (name is None or s.name.startswith(name))
        ]

    # -- time helpers --------------------------------------------------------
    @property
    def _origin(self) -> int:
        return min((s.start_time or 0) for s in self._spans) if self._spans else 0

    def _end_ns(self, span: ReadableSpan) -> int:
        return span.end_time if span.end_time is not None else max(self._closed_at, span.start_time or 0)

    def _interval(self, span: ReadableSpan) -> tuple[float, float]:
        origin, scale = self._origin, self.time_scale
        start = ((span.start_time or 0) - origin) / 1e9 / scale
        return start, (self._end_ns(span) - origin) / 1e9 / scale

    def _ttft(self, attrs: Any) -> float | None:
        """A streamed model call's time to first token, in the trace's seconds (None if not streamed).

        A simulated call's is the simulator's own figure: the SDK measures the first chunk with its own
        stopwatch (real time), which does not see the simulated waits."""
        measured = attrs.get("gen_ai.response.time_to_first_chunk")
        if not isinstance(measured, (int, float)):
            return None
        simulated = attrs.get(SIM_TTFT_ATTRIBUTE)
        if isinstance(simulated, (int, float)):
            return float(simulated)
        return measured / self.time_scale

    def _tree_order(self) -> list[tuple[ReadableSpan, int]]:
        """Spans depth-first (children after their parent, by start), with their depth."""
        spans = self._ready()
        ids = {s.context.span_id for s in spans}
        children: dict[int | None, list[ReadableSpan]] = {}
        for s in spans:
            parent = s.parent.span_id if s.parent is not None and s.parent.span_id in ids else None
            children.setdefault(parent, []).append(s)
        out: list[tuple[ReadableSpan, int]] = []

        def walk(parent: int | None, depth: int) -> None:
            for s in children.get(parent, []):
                out.append((s, depth))
                walk(s.context.span_id, depth + 1)

        walk(None, 0)
        return out

    def _decisions(self) -> dict[int, str]:
        """step -> decision, from the `agentkit.step` events on agent spans."""
        out: dict[int, str] = {}
        for s in self._ready():
            for event in s.events:
                attrs = event.attributes or {}
                step = attrs.get("agentkit.step")
                if event.name == "agentkit.step" and isinstance(step, int):
                    out[step] = str(attrs.get("agentkit.decision", ""))
        return out

    # -- text ------------------------------------------------------------------
    def tree(self) -> str:
        """The span tree as text: start offset, duration, kind and key attributes per span."""
        spans = self._tree_order()
        if not spans:
            return "(no spans: was tracing set up and did the block run anything?)"
        unit = "s"
        lines = []
        for span, depth in spans:
            start, end = self._interval(span)
            attrs = span.attributes or {}
            bits = [f"step={attrs['agentkit.step']!s}"] if "agentkit.step" in attrs else []
            kind = span_kind(span)
            if kind == "agent":
                bits += [f"model={attrs.get('gen_ai.request.model', '?')}"]
                if "agentkit.steps" in attrs:
                    bits.append(f"steps={attrs['agentkit.steps']!s}")
                if "agentkit.stop_reason" in attrs:
                    bits.append(f"stop={attrs['agentkit.stop_reason']!s}")
            if kind in ("agent", "model"):
                tokens_in = _int_attr(attrs, "gen_ai.usage.input_tokens")
                if tokens_in is not None:
                    bits.append(f"tokens={tokens_in}in/{_int_attr(attrs, 'gen_ai.usage.output_tokens') or 0}out")
                cache_read = _int_attr(attrs, "gen_ai.usage.cache_read.input_tokens")
                if cache_read:
                    bits.append(f"cache_read={cache_read}")
            if kind == "model":
                finish = _finish_reason(attrs)
                if finish:
                    bits.append(f"finish={finish}")
                ttft = self._ttft(attrs)
                if ttft is not None:
                    bits.append(f"ttft={ttft:.2f}{unit.split()[0]}")
            if kind == "tool" and "gen_ai.tool.call.id" in attrs:
                bits.append(f"call={attrs['gen_ai.tool.call.id']!s}")
            if span.status.status_code is StatusCode.ERROR:
                bits.append(f"ERROR {attrs.get('error.type') or span.status.description or ''}".rstrip())
            if span.end_time is None:
                bits.append("(still open)")
            indent = "  " * depth + ("└─ " if depth else "")
            label = f"{indent}{span.name}"
            lines.append(f"{label:<44} +{start:7.2f} {end - start:7.2f}{unit:<6} [{kind}] {' '.join(bits)}".rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.tree()

    def __repr__(self) -> str:
        if not self._complete:
            return "<Trace (filled when the capture block ends)>"
        return f"<Trace: {len(self._spans)} spans, time_scale={self.time_scale}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the tree
        printer.text(repr(self) if cycle or not self._complete else self.tree())

    # -- table ------------------------------------------------------------------
    def to_dataframe(self) -> pd.DataFrame:
        """One row per span, in tree order.

        Columns: name, span_id, parent (the parent's span_id, missing for a root),
        depth, kind, start, end, duration_s (seconds from the trace start,
        divided by time_scale), step, decision, tool, call_id, model,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
        ttft_s, finish_reason, status, error.
        """
        import pandas as pd

        decisions = self._decisions()
        rows = []
        for span, depth in self._tree_order():
            attrs = span.attributes or {}
            start, end = self._interval(span)
            step = _int_attr(attrs, "agentkit.step")
            ttft = self._ttft(attrs)
            kind = span_kind(span)
            rows.append(
                {
                    "name": span.name,
                    "span_id": format(span.context.span_id, "016x"),
                    "parent": format(span.parent.span_id, "016x") if span.parent is not None else None,
                    "depth": depth,
                    "kind": kind,
                    "start": start,
                    "end": end,
                    "duration_s": end - start,
                    "step": step,
                    "decision": decisions.get(step) if step is not None and kind != "tool" else None,
                    "tool": attrs.get("gen_ai.tool.name"),
                    "call_id": attrs.get("gen_ai.tool.call.id"),
                    "model": attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"),
                    "input_tokens": _int_attr(attrs, "gen_ai.usage.input_tokens"),
                    "output_tokens": _int_attr(attrs, "gen_ai.usage.output_tokens"),
                    "cache_read_tokens": _int_attr(attrs, "gen_ai.usage.cache_read.input_tokens"),
                    "cache_write_tokens": _int_attr(
                        attrs, "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens"
                    ),
                    "ttft_s": ttft,
                    "finish_reason": _finish_reason(attrs),
                    "status": "OPEN" if span.end_time is None else span.status.status_code.name,
                    "error": attrs.get("error.type") or (span.status.description or None),
                }
            )
        columns = [
            "name", "span_id", "parent", "depth", "kind", "start", "end", "duration_s", "step", "decision",
            "tool", "call_id", "model", "input_tokens", "output_tokens", "cache_read_tokens",
            "cache_write_tokens", "ttft_s", "finish_reason", "status", "error",
        ]
        df = pd.DataFrame(rows, columns=columns)
        for col in ("step", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            df[col] = df[col].astype("Int64")  # whole numbers with gaps, not floats
        return df

    def table(self, columns: list[str] | None = None, digits: int = 2) -> pd.DataFrame:
        """`to_dataframe()` for reading: the chosen columns, numbers rounded, a missing value left blank.

        The raw frame keeps proper dtypes for analysis (whole numbers with gaps show as <NA>, text as NaN);
        a table a learner reads should show a gap one way, as an empty cell.
        """
        df = self.to_dataframe()
        if columns is not None:
            unknown = [c for c in columns if c not in df.columns]
            if unknown:
                raise KeyError(f"no column {unknown[0]!r} in the trace table; columns: {', '.join(df.columns)}")
            df = df[list(columns)]
        df = df.round(digits)
        return df.astype(object).where(df.notna(), "")

    def steps(self) -> pd.DataFrame:
        """One row per agent step from the root's `agentkit.step` events: step, decision, finish_reasons, at (s)."""
        import pandas as pd

        rows = []
        origin = self._origin
        for span in self._ready():
            for event in span.events:
                attrs = event.attributes or {}
                if event.name != "agentkit.step":
                    continue
                reasons = attrs.get("gen_ai.response.finish_reasons")
                rows.append(
                    {
                        "step": attrs.get("agentkit.step"),
                        "decision": attrs.get("agentkit.decision"),
                        "finish_reasons": ",".join(reasons) if isinstance(reasons, (list, tuple)) else reasons,
                        "at": (event.timestamp - origin) / 1e9 / self.time_scale,
                    }
                )
        return pd.DataFrame(rows, columns=["step", "decision", "finish_reasons", "at"])

    def seconds_by_step(self) -> dict[int | None, float]:
        """Seconds of model and tool spans per agent step (`agentkit.step`), summed: which step was slow.

        Concurrent tool calls each count in full here (a sum of span durations, not wall clock);
        `summary()` has the wall-clock view. Spans outside any step are summed under None.
        """
        out: dict[int | None, float] = {}
        for span in self._ready():
            if span_kind(span) in ("model", "tool"):
                step = _int_attr(span.attributes or {}, "agentkit.step")
                start, end = self._interval(span)
                out[step] = out.get(step, 0.0) + (end - start)
        return out

    # -- summary -------------------------------------------------------------------
    def summary(self) -> TraceSummary:
        """Wall clock, time in model vs tools vs other (unions of intervals), tokens, per-tool time."""
        spans = self._ready()
        if not spans:
            return TraceSummary(0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0)
        intervals = {s.context.span_id: self._interval(s) for s in spans}
        wall = max(e for _, e in intervals.values()) - min(b for b, _ in intervals.values())
        by_kind: dict[str, list[ReadableSpan]] = {}
        for s in spans:
            by_kind.setdefault(span_kind(s), []).append(s)
        models, tools = by_kind.get("model", []), by_kind.get("tool", [])
        model_iv = [intervals[s.context.span_id] for s in models]
        tool_iv = [intervals[s.context.span_id] for s in tools]
        per_tool: dict[str, list[tuple[float, float]]] = {}
        for s in tools:
            per_tool.setdefault(str((s.attributes or {}).get("gen_ai.tool.name", s.name)), []).append(
                intervals[s.context.span_id]
            )
        # Token totals from the model spans; an agent span's totals only when no model span was recorded
        # (e.g. the SDK's spans were turned off), so nothing is counted twice.
        token_spans = models or by_kind.get("agent", [])

        def total(*names: str) -> int:
            return sum(_int_attr(s.attributes or {}, *names) or 0 for s in token_spans)

        return TraceSummary(
            wall_s=wall,
            model_s=union_length(model_iv),
            tool_s=union_length(tool_iv),
            other_s=wall - union_length(model_iv + tool_iv),
            input_tokens=total("gen_ai.usage.input_tokens"),
            output_tokens=total("gen_ai.usage.output_tokens"),
            cache_read_tokens=total("gen_ai.usage.cache_read.input_tokens"),
            cache_write_tokens=total("gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens"),
            model_calls=len(models),
            tool_calls=len(tools),
            errors=sum(s.status.status_code is StatusCode.ERROR for s in spans),
            per_tool_s={name: union_length(iv) for name, iv in per_tool.items()},
            per_tool_calls={name: len(iv) for name, iv in per_tool.items()},
        )

    # -- plot ------------------------------------------------------------------------
    def waterfall(self, ax: Any = None, title: str | None = None) -> Figure:
        """A waterfall: one bar per span from its start to its end, children under their parent.

        Model, tool, agent and other spans are coloured apart; failed spans
        are hatched in red. Returns the matplotlib Figure (shown by Jupyter).
        """
        import matplotlib.pyplot as plt
        from matplotlib.artist import Artist
        from matplotlib.patches import Patch

        ordered = self._tree_order()
        if ax is None:
            height = min(1.2 + 0.26 * max(len(ordered), 1), 24.0)
            fig, ax = plt.subplots(figsize=(10, height))
        else:
            fig = ax.figure
        if not ordered:
            ax.text(0.5, 0.5, "no spans", ha="center", va="center", transform=ax.transAxes)
            return fig
        labels = []
        for row, (span, depth) in enumerate(ordered):
            start, end = self._interval(span)
            kind = span_kind(span)
            failed = span.status.status_code is StatusCode.ERROR
            ax.barh(
                row, max(end - start, 1e-9), left=start, height=0.7,
                color=_COLOURS[kind], edgecolor="#c0392b" if failed else "none",
                hatch="///" if failed else None, linewidth=1.2 if failed else 0,
            )
            step = (span.attributes or {}).get("agentkit.step")
            prefix = f"[{step}] " if step is not None and kind != "agent" else ""
            labels.append("  " * depth + prefix + _short(span.name))
        ax.set_yticks(range(len(ordered)), labels, fontsize=8, family="monospace")
        # Left-aligned so the indentation shows the nesting; a monospace character is ~0.6 em wide.
        ax.tick_params(axis="y", length=0, pad=8 * 0.62 * max(len(label) for label in labels) + 10)
        for tick_label in ax.get_yticklabels():
            tick_label.set_horizontalalignment("left")
        ax.set_ylim(len(ordered) - 0.5, -0.5)  # first span on top
        unit = "seconds" if self.time_scale == 1.0 else "simulated seconds"
        ax.set_xlabel(f"{unit} since the trace started")
        ax.grid(axis="x", alpha=0.3)
        # Step boundaries from the agent's step events, so "which step was slow" reads off the plot.
        steps = self.steps()
        for _, event in steps.iterrows():
            ax.axvline(event["at"], color="#999999", linewidth=0.6, linestyle=":", zorder=0)
        kinds_present = [k for k in ("agent", "model", "tool", "other") if any(span_kind(s) == k for s, _ in ordered)]
        handles: list[Artist] = [Patch(color=_COLOURS[k], label=_LEGEND[k]) for k in kinds_present]
        if any(s.status.status_code is StatusCode.ERROR for s, _ in ordered):
            handles.append(Patch(facecolor="white", edgecolor="#c0392b", hatch="///", label="error"))
        if len(steps):
            handles.append(plt.Line2D([], [], color="#999999", linestyle=":", label="step ends"))
        # Above the plot: a waterfall fills its lower right corner, where a legend would hide bars.
        ax.legend(
            handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(handles),
            fontsize=8, frameon=False, borderaxespad=0.2,
        )
        summary = self.summary()
        fig.suptitle(
            title or f"{summary.wall_s:.1f} s wall clock: model {summary.model_share:.0%}, tools {summary.tool_share:.0%}",
            fontsize=10,
        )
        fig.tight_layout()
        return fig


_COLOURS = {"agent": "#b0b7c3", "model": "#3b78c2", "tool": "#e8912d", "other": "#6aa84f"}
_LEGEND = {"agent": "agent (invoke_agent)", "model": "model call", "tool": "tool call (execute_tool)", "other": "other"}


def _short(name: str, width: int = 38) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _finish_reason(attrs: Any) -> str | None:
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, (list, tuple)) and reasons:
        return ",".join(str(r) for r in reasons)
    for name in ("anthropic.message.stop_reason", "agentkit.stop_reason"):
        if isinstance(attrs.get(name), str):
            return str(attrs[name])
    return None
