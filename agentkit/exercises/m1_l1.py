"""The checked exercises of lesson M1 L1 The Trace Layer.

- `tool_span`: a `tool_end` callback that records one span per tool call, named by the convention
  (`tool.{tool name}`: varying values go into attributes) and carrying the GenAI tool attributes; judged on a real
  simulated run of the lesson's research agent, and on a failed tool call (which must carry `error.type`).
- `heaviest_leaf`: from a trace, the name of the leaf spans (spans with no child) that take the most time in
  total, and how many there are; judged against the kit's own table on real simulated runs of two agents.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agentkit.course.lab import FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises

_NEEDED = ("gen_ai.operation.name", "gen_ai.tool.name", "gen_ai.tool.call.id")


def _hook_spans(trace: Any) -> list[Any]:
    return [s for s in trace.spans if s.name.startswith("tool.")]


def _check_tool_span(answer: Any) -> Verdict:
    import agentkit
    from agentkit.agent import Step, ToolCall
    from agentkit.cases.research_agent import QUESTION, build_research_agent

    hook = as_function(answer, "your tool_span")
    agentkit.setup_tracing()
    client = agentkit.client(scenarios=["l1_research"], quiet=True, live=False)
    agent = build_research_agent(client, concurrent=True)
    errors: list[str] = []

    def guarded(step: Any, call: Any) -> None:
        _, error = call_learner_code(hook, step, call)
        if error:
            errors.append(f"on the {call.name} call: {error}")

    agent.add_hook("tool_end", guarded)
    with agentkit.capture() as trace:
        result = agent.run(QUESTION)
    if errors:
        return wrong(f"tool_span(step, call) raised {errors[0]}")
    calls = result.tool_calls
    spans = _hook_spans(trace)
    if not spans:
        return wrong("The run finished with no span named tool.<name>: open one in the hook with "
                     "tracer().start_as_current_span(...) and name it 'tool.' + the tool's name.")
    if len(spans) != len(calls):
        return wrong(f"The agent made {len(calls)} tool calls and your hook recorded {len(spans)} tool.* spans: one "
                     "span per call.")
    by_id = {s.attributes.get("gen_ai.tool.call.id"): s for s in spans}
    for call in calls:
        span = by_id.get(call.id)
        if span is None:
            return wrong(f"No tool.* span carries gen_ai.tool.call.id = the call's id (the {call.name} call, "
                         f"{call.id}): record call.id under that attribute.")
        if span.name != f"tool.{call.name}":
            return wrong(f"The span for the {call.name} call is named {span.name!r}; name it 'tool.{call.name}': "
                         "the tool's name only, ids and inputs go into attributes.")
        missing = [k for k in _NEEDED if k not in (span.attributes or {})]
        if missing:
            return wrong(f"The {span.name} span lacks {', '.join(missing)}.")
        attrs = span.attributes
        if attrs["gen_ai.operation.name"] != "execute_tool" or attrs["gen_ai.tool.name"] != call.name:
            return wrong(f"On {span.name}: gen_ai.operation.name should be 'execute_tool' and gen_ai.tool.name the "
                         f"tool's name; got {attrs['gen_ai.operation.name']!r} and {attrs['gen_ai.tool.name']!r}.")
        if "error.type" in attrs:
            return wrong(f"The {span.name} call succeeded, but its span carries error.type: set it only when "
                         "call.is_error.")
    failed = ToolCall(id="toolu_hidden_failure", name="web_search", input={"query": "x"}, output="Error: timeout",
                      is_error=True, error_type="timeout")
    with agentkit.capture() as failure:
        _, error = call_learner_code(hook, Step(index=1, request={}), failed)
    if error:
        return wrong(f"tool_span(step, call) raised {error} on a failed tool call.")
    spans = _hook_spans(failure)
    if len(spans) != 1 or (spans[0].attributes or {}).get("error.type") != "timeout":
        return wrong("On a failed tool call (call.is_error is True, call.error_type 'timeout') the span must carry "
                     "error.type = call.error_type, so a dashboard can count failures by kind.")
    return passed(f"Right: one tool.<name> span per call ({len(calls)} on the research agent's run), with the GenAI "
                  "tool attributes, and error.type on the failed call.")


# -- heaviest leaf --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _traces() -> dict[str, Any]:
    import agentkit
    from agentkit.cases.crm_agent import QUESTION as CRM_QUESTION
    from agentkit.cases.crm_agent import build_crm_agent, crm_client
    from agentkit.cases.research_agent import QUESTION, build_research_agent

    agentkit.setup_tracing()
    research = agentkit.client(scenarios=["l1_research"], quiet=True, live=False)
    out: dict[str, Any] = {}
    with agentkit.capture() as trace:
        build_research_agent(research).run(QUESTION)
    out["the research agent's slow run"] = trace
    crm = crm_client(live=False)
    with agentkit.capture() as trace:
        build_crm_agent(crm).run(CRM_QUESTION)
    out["another agent (a CRM-backed support agent)"] = trace
    return out


def _reference(trace: Any) -> tuple[str, int]:
    table = trace.to_dataframe()
    leaves = table[~table["span_id"].isin(table["parent"].dropna())]
    totals = leaves.groupby("name")["duration_s"].agg(["sum", "count"])
    name = str(totals["sum"].idxmax())
    return name, int(totals.loc[name, "count"])


def _check_heaviest_leaf(answer: Any) -> Verdict:
    fn = as_function(answer, "your heaviest_leaf")
    for label, trace in _traces().items():
        got, error = call_learner_code(fn, trace)
        if error:
            return wrong(f"heaviest_leaf(trace) raised {error} on {label}.")
        if not (type(got) is tuple and len(got) == 2 and type(got[0]) is str
                and isinstance(got[1], int) and not isinstance(got[1], bool)):
            return wrong(f"heaviest_leaf(trace) returned {type(got).__name__} on {label}; return a tuple "
                         "(span name as a str, number of spans as an int).")
        name, count = _reference(trace)
        if got[0] != name:
            return wrong(f"Wrong name on {label}: add up duration_s per span name over the leaf spans only (a span "
                         "whose span_id is no other span's parent); a parent's time already contains its children's.")
        if got[1] != count:
            return wrong(f"Right name on {label}, wrong count: count the leaf spans with that name.")
    return passed("Right on both agents' traces: the widest bar in total is what to fix first.")


EXERCISES = Exercises("m1_l1", "M1 L1 exercises", "M1 L1 The Trace Layer",
                      lesson_notebook="notebooks/m1_l1_*.ipynb", tasks=[
    FunctionTask("tool_span", "A callback that records a well-named tool span with the GenAI attributes",
                 _check_tool_span, "a function (step, call) -> None that records one span per tool call",
                 ("A tool_end hook gets the step and the ToolCall (call.name, call.id, call.is_error, "
                  "call.error_type). Open a span with tracer().start_as_current_span(name, attributes={...}).",
                  "Name it by the convention for tools with a fixed prefix: the tool's name only. The attributes are "
                  "the three gen_ai.* names of a tool call: the operation, the tool's name and the call's id.",
                  "Add error.type only when call.is_error; its value is call.error_type."),
                 probes=((None, None),)),
    FunctionTask("heaviest_leaf", "Find the span name that takes the most time in total",
                 _check_heaviest_leaf, "a function (trace) -> (span name, number of such spans)",
                 ("Only leaf spans count: a parent's duration already contains its children's. "
                  "trace.to_dataframe() has span_id and parent columns.",
                  "A leaf is a row whose span_id appears in no row's parent. Group the leaves by name and add up "
                  "duration_s.",
                  "Of those totals take the largest, and count the leaves that carry its name; hand back plain "
                  "Python types (a str and an int), not pandas or NumPy ones."),
                 probes=((None,),)),
], solutions={
    "tool_span": """
        from agentkit.tracing import tracer

        def tool_span(step, call):
            "A tool_end hook: one span per tool call, named tool.<name>, with the GenAI tool attributes."
            attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name,
                          "gen_ai.tool.call.id": call.id}
            if call.is_error:
                attributes["error.type"] = call.error_type or "tool_error"
            with tracer().start_as_current_span(f"tool.{call.name}", attributes=attributes):
                pass
    """,
    "heaviest_leaf": """
        def heaviest_leaf(trace):
            "The leaf span name with the most seconds in total, and how many leaf spans have it."
            table = trace.to_dataframe()
            leaves = table[~table["span_id"].isin(table["parent"].dropna())]
            totals = leaves.groupby("name")["duration_s"].agg(["sum", "count"])
            name = totals["sum"].idxmax()
            answer = (str(name), int(totals.loc[name, "count"]))
            return answer
    """,
}, answers={"tool_span": "tool_span", "heaviest_leaf": "heaviest_leaf"})
