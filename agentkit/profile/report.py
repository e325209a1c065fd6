"""A profile as text (the command's output), as a CSV of steps, and as one self-contained HTML page.

The page has no network references: the waterfall (`Trace.waterfall`) and the bucket chart
(`agentkit.costs.plot_buckets`) are inline SVG drawn by matplotlib, the tables are plain HTML.
"""

from __future__ import annotations

import csv
import html
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agentkit.costs import BUCKETS, COMPOUNDING_ALERT, COMPRESSION_TRIGGER, plot_buckets
from agentkit.latency import COMPONENT_LABELS, COMPONENTS
from agentkit.profile.analysis import Profile, TraceProfile

__all__ = ["text_report", "trace_text", "write_csv", "write_html", "step_rows", "StepWriter", "STEP_COLUMNS"]

STEP_COLUMNS = ["trace_id", "step", "span", "model", "priced", "input_tokens", "uncached_input_tokens",
                "cache_read_tokens", "cache_write_tokens", "output_tokens", "cost_usd", "input_growth",
                *[f"bucket_{b}" for b in BUCKETS]]

_BUCKET_LABELS = {"tools": "tool schemas", "system": "system prompt", "history": "history",
                  "tool_outputs": "tool outputs", "user_input": "user input"}


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _pct(x: float) -> str:
    return "n/a" if x == float("inf") else f"{x:+.0%}"


def trace_text(tp: TraceProfile) -> str:
    """One trace: steps, tokens and dollars, growth and the two alerts, buckets, latency with gaps, diagnosis."""
    unit = "s" if tp.time_scale == 1.0 else "simulated s"
    lines = [f"Trace {tp.trace_id[:16] or '(captured)'}: {_n(tp.spans, 'span')}, {_n(len(tp.calls), 'model call')}"
             + (f", {_n(tp.breakdown.tool_calls, 'tool call')}" if tp.breakdown else "")]
    c = tp.costs
    if c is None:
        lines.append("  Cost: no model spans, so no tokens or dollars.")
    else:
        unpriced = tp.unpriced
        lines.append(f"  Cost: {_n(len(c.steps), 'step')}, ${c.cost:.4f}"
                     + (f" (unpriced: {', '.join(unpriced)}; not counted)" if unpriced else "")
                     + f", ${c.cost_per_step:.4f} per step on average")
        lines.append(f"  Tokens: {c.input_tokens:,} input (of which {c.cache_read_tokens:,} cache reads, "
                     f"{c.cache_write_tokens:,} cache writes), {c.output_tokens:,} output")
        lines.append(f"  {'step':>4}  {'model':<22} {'input':>9} {'cache rd':>9} {'cache wr':>9} {'output':>7} "
                     f"{'cost $':>9} {'growth':>7}")
        growth = [float("nan"), *c.growth()]
        for s, g, call in zip(c.steps, growth, tp.calls):
            cost = f"{s.cost:9.4f}" if call.priced else f"{'unpriced':>9}"
            lines.append(f"  {s.step:>4}  {s.model[:22]:<22} {s.input_tokens:>9,} {s.cache_read_tokens:>9,} "
                         f"{s.cache_write_tokens:>9,} {s.output_tokens:>7,} {cost} "
                         f"{'' if g != g else _pct(g):>7}")
        due = c.compression_due()
        lines.append(f"  Compression trigger (input growth over {COMPRESSION_TRIGGER:.0%} a step): "
                     + (f"ALERT at steps {', '.join(map(str, due))}: compress or trim the context before them"
                        if due else "no step grew that fast"))
        ratio = c.compounding_ratio
        lines.append(f"  Compounding: the task used {c.total_tokens:,} tokens, {ratio:.1f}x one call with the same "
                     f"reasoning ({c.single_call_tokens:,}); "
                     + ("ALERT (over {:.0f}x): context is paid for again on every step".format(COMPOUNDING_ALERT)
                        if c.compounding_alert() else f"no alert (it fires over {COMPOUNDING_ALERT:.0f}x)"))
        if tp.buckets_known:
            totals = c.bucket_totals()
            whole = sum(totals.values()) or 1
            parts = ", ".join(f"{_BUCKET_LABELS[b]} {totals[b]:,} ({totals[b] / whole:.0%})" for b in BUCKETS)
            lines.append(f"  Input by bucket over the task: {parts}")
        else:
            lines.append("  Buckets: the trace records token counts only (no prompt contents), so input is not split "
                         "into system prompt / tool schemas / history / tool outputs; input, output and cache are above.")
    if tp.breakdown is not None:
        b = tp.breakdown
        lines.append(f"  Latency ({unit}): wall clock {b.wall_s:.2f}")
        for comp in sorted(COMPONENTS, key=lambda x: -b.seconds[x]):
            if b.seconds[comp] > 0:
                lines.append(f"    {COMPONENT_LABELS[comp]:<28} {b.seconds[comp]:8.2f}  {b.seconds[comp] / b.wall_s:4.0%}"
                             if b.wall_s else f"    {COMPONENT_LABELS[comp]:<28} {b.seconds[comp]:8.2f}")
        lines.append(f"    {'gaps (no span covers them)':<28} {b.unaccounted_s:8.2f}"
                     + (f"  {b.unaccounted_s / b.wall_s:4.0%}" if b.wall_s else ""))
    if tp.diagnosis is not None:
        lines.append("  Diagnosis: " + (str(tp.diagnosis) if tp.diagnosis.healthy else "what the waterfall shows"))
        for f in tp.diagnosis.findings:
            lines.append(f"    {f.shape}: {f.evidence}")
            lines.append(f"      -> {f.advice}")
    return "\n".join(lines)


def _chosen(profile: Profile) -> list[TraceProfile]:
    return profile.detailed()


def text_report(profile: Profile) -> str:
    """The whole report: per trace (all, or the slowest and the costliest of many), percentiles, problems."""
    out = [f"Profile of {Path(profile.source).name}: {_n(profile.trace_count, 'trace')}, {_n(profile.spans_read, 'span')}"]
    chosen = _chosen(profile)
    if len(chosen) < profile.trace_count:
        out.append(f"(showing the slowest and the most expensive trace in full; --csv writes every step)")
    for tp in chosen:
        out += ["", trace_text(tp)]
    if profile.trace_count > 1:
        out += ["", f"Across {profile.trace_count:,} traces (p50 / p95 / p99):"]
        labels = {"wall_s": "wall clock (s)", "cost_usd": "cost ($)", "input_tokens": "input tokens"}
        for col, p in profile.percentiles().items():
            fmt = "{:,.4f}" if col == "cost_usd" else "{:,.2f}" if col == "wall_s" else "{:,.0f}"
            out.append(f"  {labels[col]:<16} " + " / ".join(fmt.format(p[k]) for k in ("p50", "p95", "p99")))
        out.append(f"  total cost ${profile.total_cost:.4f} over {profile.model_trace_count:,} traces with model calls")
    if profile.problems:
        out += ["", f"Problems ({len(profile.problems) + profile.more_problems:,}; what could be read is reported above):"]
        out += [f"  {p}" for p in profile.problems]
        if profile.more_problems:
            out.append(f"  ... and {profile.more_problems:,} more")
    return "\n".join(out)


def step_rows(traces: Iterable[TraceProfile]) -> Iterator[dict[str, Any]]:
    """One CSV row per step (model call) of each trace."""
    for tp in traces:
        if tp.costs is None:
            continue
        growth = [None, *tp.costs.growth()]
        for s, call, g in zip(tp.costs.steps, tp.calls, growth):
            row: dict[str, Any] = {
                "trace_id": tp.trace_id, "step": s.step, "span": call.span, "model": s.model, "priced": call.priced,
                "input_tokens": s.input_tokens, "uncached_input_tokens": s.uncached_input_tokens,
                "cache_read_tokens": s.cache_read_tokens, "cache_write_tokens": s.cache_write_tokens,
                "output_tokens": s.output_tokens, "cost_usd": round(s.cost, 8) if call.priced else "",
                "input_growth": "" if g is None or g == float("inf") else round(g, 4)}
            for b in BUCKETS:
                row[f"bucket_{b}"] = s.tokens[b] if call.buckets_recorded else ""
            yield row


class StepWriter:
    """A CSV of steps written trace by trace (pass `.add` as `profile_file(on_trace=...)`): every step of every
    trace, with nothing held back in memory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = Path(path).open("w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=STEP_COLUMNS)
        self._writer.writeheader()
        self.rows = 0

    def add(self, tp: TraceProfile) -> None:
        for row in step_rows([tp]):
            self._writer.writerow(row)
            self.rows += 1

    def close(self) -> None:
        self._file.close()


def write_csv(profile: Profile, path: str | os.PathLike[str]) -> int:
    """One row per step of the traces the profile kept in full (all of them for a short file; for a long one,
    use `StepWriter` while profiling); returns the rows written."""
    writer = StepWriter(path)
    try:
        for tp in profile.traces:
            writer.add(tp)
    finally:
        writer.close()
    return writer.rows


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and doctype: inline SVG in HTML needs neither
    start, end = text.find("<metadata>"), text.find("</metadata>")
    return text[:start] + text[end + len("</metadata>"):] if 0 <= start < end else text


def _gap_intervals(trace: Any) -> list[tuple[float, float]]:
    """Stretches of the trace (in the waterfall's seconds) that no span below the root covers: the gaps."""
    df = trace.to_dataframe()
    if df.empty:
        return []
    lo, hi = float(df["start"].min()), float(df["end"].max())
    covered = sorted(zip(df.loc[df["depth"] > 0, "start"], df.loc[df["depth"] > 0, "end"]))
    gaps, cursor = [], lo
    for a, b in covered:
        if a > cursor:
            gaps.append((cursor, float(a)))
        cursor = max(cursor, float(b))
    if hi > cursor:
        gaps.append((cursor, hi))
    return [(a, b) for a, b in gaps if b - a >= 0.01 * (hi - lo)]


def _waterfall(tp: TraceProfile) -> Any:
    """The trace's waterfall (`Trace.waterfall`) with its gaps shaded: the time the latency breakdown calls gaps."""
    from matplotlib.patches import Patch

    assert tp.trace is not None
    fig = tp.trace.waterfall()
    ax = fig.axes[0]
    gaps = _gap_intervals(tp.trace)
    for a, b in gaps:
        ax.axvspan(a, b, color="#f4cccc", alpha=0.6, zorder=0, linewidth=0)
    if gaps:
        legend = ax.get_legend()
        handles = list(legend.legend_handles) if legend is not None else []
        handles.append(Patch(color="#f4cccc", label="gap (no span)"))
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(handles), fontsize=8,
                  frameon=False, borderaxespad=0.2)
    return fig


def _token_chart(tp: TraceProfile) -> Any:
    """Input (uncached, cache reads, cache writes) and output per step, for traces that kept no prompt contents."""
    import matplotlib.pyplot as plt

    assert tp.costs is not None
    steps = tp.costs.steps
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = [s.step for s in steps]
    bottom = [0] * len(steps)
    for label, values, colour in (("uncached input", [s.uncached_input_tokens for s in steps], "#3b78c2"),
                                  ("cache reads", [s.cache_read_tokens for s in steps], "#8e7cc3"),
                                  ("cache writes", [s.cache_write_tokens for s in steps], "#e8912d"),
                                  ("output", [s.output_tokens for s in steps], "#6aa84f")):
        if any(values):
            ax.bar(x, values, bottom=bottom, label=label, color=colour, width=0.75)
            bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xlabel("step")
    ax.set_ylabel("tokens")
    ax.set_xticks(x)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_title("Tokens per step (the trace kept counts only, so no buckets)", fontsize=10)
    fig.tight_layout()
    return fig


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            text = f"{v:,.4f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            "</div>")


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}
.scroll{overflow-x:auto}figure{margin:0 0 1.5em}svg{max-width:100%;height:auto}"""


def write_html(profile: Profile, path: str | os.PathLike[str]) -> Path:
    """A self-contained page: per trace shown, the waterfall, the bucket (or token) chart, the steps table and
    the report text; the traces table and percentiles; the problems. Returns the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Agent profile: "
             f"{html.escape(Path(profile.source).name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Agent profile</h1><p>{html.escape(Path(profile.source).name)}: {_n(profile.trace_count, 'trace')}, "
             f"{_n(profile.spans_read, 'span')}.</p>"]
    shown = [t for t in _chosen(profile) if t.trace is not None] or [t for t in profile.traces if t.trace is not None][:1]
    for tp in shown:
        assert tp.trace is not None
        parts.append(f"<section class='trace'><h2>Trace {html.escape(tp.trace_id[:16])}</h2>")
        parts.append(f"<figure id='waterfall-{html.escape(tp.trace_id[:16])}' class='waterfall'>"
                     f"{_svg(_waterfall(tp))}<figcaption>Waterfall: one bar per span; shaded stretches are gaps no span "
                     "covers.</figcaption></figure>")
        if tp.costs is not None:
            chart = plot_buckets(tp.costs.steps, title="Input per step, by bucket") if tp.buckets_known else _token_chart(tp)
            parts.append(f"<figure class='buckets'>{_svg(chart)}</figure>")
            rows = list(step_rows([tp]))
            parts.append(_table(rows, [c for c in STEP_COLUMNS if c != "trace_id"]))
        parts.append(f"<pre>{html.escape(trace_text(tp))}</pre></section>")
    if profile.trace_count > 1:
        parts.append("<h2>All traces</h2>")
        rows = profile.rows
        cols = ["trace_id", "spans", "model_calls", "input_tokens", "output_tokens", "cost_usd", "wall_s", "gaps_s",
                "diagnosis"]
        parts.append(_table(rows, cols))
        if profile.trace_count > len(rows):
            parts.append(f"<p>(the first {len(rows):,} of {profile.trace_count:,}; the CSV has every step)</p>")
        pct = profile.percentiles()
        parts.append(_table([{"measure": k, **{q: v for q, v in p.items()}} for k, p in pct.items()],
                            ["measure", "p50", "p95", "p99"]))
    if profile.problems:
        parts.append("<h2>Problems</h2><ul>" + "".join(f"<li>{html.escape(str(p))}</li>" for p in profile.problems)
                     + "</ul>")
    parts.append("</body></html>")
    out = Path(path)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
