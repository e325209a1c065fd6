"""The checked exercises of lesson M1 L3 Latency Profiling.

- `tool_seconds(trace)`: one latency component measured from spans: the seconds covered by at least one
  `execute_tool` span (tool calls that overlap count once), judged against `Trace.summary().tool_s` on real
  simulated runs of the lesson's agents and on a trace whose tool calls ran at the same time.
- `percentile(values, q)`: a percentile by linear interpolation between ranks (the kit's `PERCENTILE_METHOD`),
  judged against `latency.percentiles` on seeded samples, a single value and unsorted input.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from agentkit.course.lab import FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan


def _real_number(value: Any) -> float | None:
    """`value` as a float if it is a plain real number (type-strict: no strings, no objects claiming equality)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            if isinstance(value, np.floating | np.integer):
                return float(value)
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        return None
    return float(value) if math.isfinite(value) else None


# -- traces the checks run on (real simulated runs, made once per process) --------------------------------------


@lru_cache(maxsize=1)
def _traces() -> dict[str, Any]:
    """Real simulated runs: the case study's agent before and after its fix, a slow-tool agent, a run with no
    tool at all, and a trace whose two tool calls overlap."""
    import agentkit
    from agentkit.cases.crm_agent import QUESTION, build_crm_agent, crm_client
    from agentkit.cases.waterfalls import waterfall_agent

    agentkit.setup_tracing()
    client = crm_client(live=False)
    out: dict[str, Any] = {}
    for label, fixed in (("the case study's slow agent", False), ("the fixed agent", True)):
        with agentkit.capture() as trace:
            build_crm_agent(client, fixed=fixed).run(QUESTION)
        out[label] = trace
    agent, prompt = waterfall_agent("slow_tool", client)
    with agentkit.capture() as trace:
        agent.run(prompt)
    out["a slow-tool agent"] = trace
    plain = agentkit.client(quiet=True, live=False)
    with agentkit.capture() as trace:
        agentkit.Agent(plain, model=agentkit.FAST_MODEL, name="no_tools").run("Say hello in five words.")
    out["a run with no tool call"] = trace
    out["two tool calls at the same time"] = _overlapping_tools()
    return out


def _overlapping_tools() -> Any:
    """Two `execute_tool` spans that overlap (a model asking for two tools at once, run in parallel)."""
    from opentelemetry.sdk.trace import TracerProvider

    from agentkit.tracing import Trace

    tracer = TracerProvider().get_tracer("m1_l3.exercise")  # a private provider: explicit times, nothing exported
    t0 = 1_700_000_000_000_000_000
    s = 1_000_000_000
    spans = []
    root = tracer.start_span("invoke_agent parallel", attributes={"gen_ai.operation.name": "invoke_agent"},
                             start_time=t0)
    for name, a, b in (("lookup_order", 1.0, 3.0), ("delivery_options", 1.5, 4.5)):
        span = tracer.start_span(f"execute_tool {name}", attributes={"gen_ai.operation.name": "execute_tool",
                                                                      "gen_ai.tool.name": name}, start_time=t0 + int(a * s))
        span.end(end_time=t0 + int(b * s))
        spans.append(span)
    root.end(end_time=t0 + 6 * s)
    return Trace(cast("list[ReadableSpan]", [root, *spans]))


def _check_tool_seconds(answer: Any) -> Verdict:
    fn = as_function(answer, "your tool_seconds")
    for label, trace in _traces().items():
        got, error = call_learner_code(fn, trace)
        if error:
            return wrong(f"tool_seconds(trace) raised {error} on {label}.")
        value = _real_number(got)
        if value is None:
            return wrong(f"tool_seconds(trace) returned a {type(got).__name__} on {label}; return the seconds as a "
                         "float.")
        right = trace.summary().tool_s
        if abs(value - right) > 1e-6 + 1e-6 * right:
            if label == "two tool calls at the same time":
                return wrong("Wrong on a trace whose two tool calls overlapped in time: a second during which two tools "
                             "ran is one second of the run, not two. Merge overlapping intervals before adding them up.")
            if label == "a run with no tool call":
                return wrong("Wrong on a run with no tool call: it spent 0.0 s in tools.")
            return wrong(f"Wrong on {label}: count only execute_tool spans (not the spans inside them, such as "
                         "crm.request), from their start to their end.")
    return passed("Right on every trace, overlapping tool calls included. The kit's Trace.summary().tool_s and "
                  "latency.breakdown(trace) measure it the same way.")


# -- percentiles ------------------------------------------------------------------------------------------------


def _samples() -> list[tuple[str, list[float], float]]:
    rng = random.Random("m1_l3:percentile")
    runs = [round(math.exp(rng.gauss(1.5, 0.4)), 3) for _ in range(37)]
    small = [4.2, 3.1, 9.8, 5.0]
    return [("37 run times", runs, 50.0), ("37 run times", runs, 95.0), ("37 run times", runs, 99.0),
            ("four unsorted run times", small, 95.0), ("four unsorted run times", small, 50.0),
            ("one run", [2.5], 99.0), ("four unsorted run times", small, 0.0), ("four unsorted run times", small, 100.0)]


def _check_percentile(answer: Any) -> Verdict:
    from agentkit import latency

    fn = as_function(answer, "your percentile")
    for label, values, q in _samples():
        got, error = call_learner_code(fn, list(values), q)
        if error:
            return wrong(f"percentile(values, {q:g}) raised {error} on {label}.")
        value = _real_number(got)
        if value is None:
            return wrong(f"percentile(values, {q:g}) returned a {type(got).__name__} on {label}; return a float.")
        right = latency.percentiles(values, (q,))[f"p{q:g}"]
        if abs(value - right) > 1e-9 * max(1.0, abs(right)):
            if label == "four unsorted run times" and q == 95.0:
                return wrong(f"percentile([4.2, 3.1, 9.8, 5.0], 95) returned {value:g}: sort the values first, and "
                             "between two ranks interpolate linearly (rank q/100 x (n - 1), counting from 0), rather "
                             "than taking the nearest one.")
            return wrong(f"Wrong for p{q:g} of {label} (n = {len(values)}): the rank is q/100 x (n - 1) counting "
                         "from 0, and a fractional rank falls between two sorted values: interpolate linearly between "
                         "them rather than taking the nearest one.")
    return passed("Right on every sample, one value and unsorted input included: the same linear interpolation as "
                  "latency.percentiles (NumPy's default).")


EXERCISES = Exercises("m1_l3", "M1 L3 exercises", "M1 L3 Latency Profiling",
                      lesson_notebook="notebooks/m1_l3_*.ipynb", tasks=[
    FunctionTask("tool_seconds", "Measure one component from spans: the seconds the tools took",
                 _check_tool_seconds, "a function (trace) -> seconds covered by at least one execute_tool span",
                 ("Tool time is the time covered by execute_tool spans, not the sum of their durations: two calls "
                  "running at once cover their overlap once. trace.select(kind='tool') gives those spans.",
                  "Turn each span into a (start, end) pair (trace.to_dataframe() has start and end columns, in "
                  "seconds); sort the pairs; walk them and merge each pair into the previous one when it starts "
                  "before that one ends.",
                  "The total is the sum of end - start over the merged pairs; a run with no tool span gives 0.0."),
                 probes=((None,),)),
    FunctionTask("percentile", "Write percentile(values, q) with linear interpolation",
                 _check_percentile, "a function (values, q) -> the q-th percentile as a float",
                 ("Sort the values. The q-th percentile sits at rank q/100 x (n - 1), counting from 0.",
                  "If that rank is a whole number, it is the value at that rank; otherwise it lies between the values "
                  "at floor(rank) and floor(rank) + 1.",
                  "Between those two, move the fractional part of the rank of the way from the lower value to the "
                  "upper one."), probes=(([1.0, 2.0], 50.0),)),
], solutions={
    "tool_seconds": """
        def tool_seconds(trace):
            "Seconds covered by at least one execute_tool span (overlapping calls count once)."
            table = trace.to_dataframe()
            tools = table[table["kind"] == "tool"]
            total, current = 0.0, None
            for start, end in sorted(zip(tools["start"], tools["end"])):
                if current is None or start > current[1]:
                    if current is not None:
                        total += current[1] - current[0]
                    current = [start, end]
                else:
                    current[1] = max(current[1], end)
            if current is not None:
                total += current[1] - current[0]
            seconds = float(total)
            return seconds
    """,
    "percentile": """
        import math

        def percentile(values, q):
            "The q-th percentile (0-100) of values, interpolating linearly between ranks."
            ordered = sorted(values)
            rank = q / 100 * (len(ordered) - 1)
            low = math.floor(rank)
            high = min(low + 1, len(ordered) - 1)
            p = ordered[low] + (rank - low) * (ordered[high] - ordered[low])
            return float(p)
    """,
}, answers={"tool_seconds": "tool_seconds", "percentile": "percentile"})
