"""Lab 1, Designing a trace schema: name, attribute and status the spans of a research agent.

The agent (from the course's Lesson 1 lab) has three tools, a web search API
(`web_search`), a vector store retriever (`retrieve`) and a code executor
(`run_code`), and runs up to 8 reasoning steps; it is the case study's agent
from `agentkit.cases.research_agent`, with the retriever's fix applied. Every
check *runs* that agent on the simulator under the learner's answer and
inspects the spans it produced:

1. `naming`: a span-naming convention, as two functions (name a span, parse a
   name back). Checked on the names a real 8-step, 3-tool run gets.
2. `essential`: which attributes per tool are essential. Checked against the
   attributes the later cost and latency analysis actually reads, found by
   running that analysis on a real trace and recording every attribute read.
3. `finish_kind`: telling a tool-call finish from a natural stop, as a function
   of a model span's attributes. Checked on every model span of two runs.
4. `code_failures`: recording a code executor that fails part-way or returns
   partial output (the tutor's suggested question), as a function giving the
   sandbox span's status and attributes. Checked on the sandbox spans of a
   run whose executor fails in different ways.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Status, StatusCode

from agentkit.cases.research_agent import (
    CUTOFF_QUESTION,
    LAB_QUESTION,
    ExecutionResult,
    ResearchTools,
    build_research_agent,
    research_tools,
)
from agentkit.clients import client as make_client
from agentkit.course.lab import (
    FunctionTask,
    as_function,
    call_learner_code,
    AnswerError,
    Lab,
    Task,
    Verdict,
    as_mapping,
    load_lab_text,
    passed,
    wrong,
)
from agentkit.costs import cost_by_step
from agentkit.tracing import HookSpans, Trace, capture, span_kind

TOOLS: tuple[str, ...] = ("web_search", "retrieve", "run_code")
MAX_STEPS = 8
#: The kinds of span the naming convention covers.
KINDS: tuple[str, ...] = ("step", "model", "tool")
#: What `finish_kind` returns.
FINISH_KINDS: tuple[str, ...] = ("tool_call", "natural_stop", "other")
#: Names longer than this stop being readable in a trace UI's tree.
MAX_NAME_LENGTH = 60
#: The code executor's seeded faults in task 4: on top of the scenario's own failing scripts,
#: the sandbox is killed at a random statement in about one run in three.
CRASH_RATE = 0.35
CRASH_SEED = 3

#: Lesson content (hints, notes, the attribute menu) lives in l1_trace_schema.yaml beside this module.
_TEXT = load_lab_text(__file__, ("naming", "essential", "finish_kind", "code_failures"))


def _attribute_groups(raw: Any) -> dict[str, dict[str, str]]:
    """The YAML's `attributes`: for each of model, tool, vector_db and sandbox, {attribute name: what it says}."""
    groups = ("model", "tool", "vector_db", "sandbox")
    if not isinstance(raw, dict) or sorted(raw) != sorted(groups):
        raise ValueError(f"l1_trace_schema.yaml: 'attributes' must have exactly the groups {list(groups)}")
    for group, attributes in raw.items():
        if not (isinstance(attributes, dict) and attributes
                and all(isinstance(k, str) and isinstance(v, str) and v for k, v in attributes.items())):
            raise ValueError(f"l1_trace_schema.yaml: attributes.{group} must map attribute names to what each says")
    return raw


#: For task 2: the attributes each group of spans carries, with what each one says.
#: "retrieve" covers its execute_tool span and its vector_db.query spans; "run_code" its sandbox.run span.
_GROUPS = _attribute_groups(_TEXT["attributes"])
_MODEL, _TOOL, _VECTOR_DB, _SANDBOX = (_GROUPS[g] for g in ("model", "tool", "vector_db", "sandbox"))
MENU: dict[str, dict[str, str]] = {
    "model": _MODEL,
    "web_search": dict(_TOOL),
    "retrieve": {**_TOOL, **_VECTOR_DB},
    "run_code": {**_TOOL, **_SANDBOX},
}


# ---------------------------------------------------------------------------
# Running the lab's agent
# ---------------------------------------------------------------------------

_RUN_LOCK = threading.Lock()  # one lab run at a time: the checks' runs share the research tools' pool


@dataclass
class LabRun:
    """One traced run of the lab's agent: what it returned, its spans, and its tools (for the executor's results)."""

    result: Any
    trace: Trace
    kit: ResearchTools


def run_agent(question: str = LAB_QUESTION, *, hooks: Mapping[str, Callable[..., Any]] | None = None,
              on_code_result: Callable[[Any, ExecutionResult], None] | None = None, crash_rate: float = 0.0,
              seed: int = 0) -> LabRun:
    """Run the research agent (offline, 8 steps at most, streaming so model spans carry TTFT) and trace it.
    Simulated waits cost no real time (they move the kit's clock), so a check's runs are quick."""
    client = make_client(live=False, quiet=True, scenarios=["l1_research"])
    kit = research_tools(concurrent=True, seed=seed, crash_rate=crash_rate, on_code_result=on_code_result)
    agent = build_research_agent(client, tools=kit, max_steps=MAX_STEPS, stream=True)
    for event, fn in (hooks or {}).items():
        agent.add_hook(event, fn)
    with _RUN_LOCK, capture() as trace:
        result = agent.run(question)
    return LabRun(result, trace, kit)


@functools.lru_cache(maxsize=1)
def _reference_run() -> LabRun:
    return run_agent()


@functools.lru_cache(maxsize=1)
def _cutoff_run() -> LabRun:
    return run_agent(CUTOFF_QUESTION)


def sample_trace() -> Trace:
    """A trace of the lab's agent, to look at while you design the schema."""
    return run_agent().trace


@dataclass(frozen=True)
class Scenario:
    """What the lab is about, handed to the notebook as `lab.scenario`."""

    question: str = LAB_QUESTION
    tools: tuple[str, ...] = TOOLS
    max_steps: int = MAX_STEPS
    kinds: tuple[str, ...] = KINDS
    finish_kinds: tuple[str, ...] = FINISH_KINDS
    #: group -> {attribute: what it says}, read-only
    menu: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({k: MappingProxyType(v) for k, v in MENU.items()}))

    def sample_trace(self) -> Trace:
        return sample_trace()


SCENARIO = Scenario()


# ---------------------------------------------------------------------------
# Task 1: a naming convention
# ---------------------------------------------------------------------------


class _NamingHooks(HookSpans):
    """Callback-layer spans named by the learner's function: a span per step, with its model call and tool calls
    inside. `HookSpans` keeps the open spans (tool hooks run in worker threads); only names and nesting differ."""

    def __init__(self, name: Callable[..., Any]) -> None:
        super().__init__()
        self.name = name
        self.problems: list[str] = []
        self._steps: dict[int, Any] = {}

    def _named(self, key: tuple[str, Any], kind: str, step: int, tool: str | None, parent: Any = None) -> Any:
        name, error = call_learner_code(self.name, kind, step, tool)
        if error is not None or not isinstance(name, str) or not name.strip():
            got = error or (f"{name!r}" if not isinstance(name, str) else "an empty name")
            with self._lock:
                self.problems.append(f"span_name({kind!r}, {step}, {tool!r}) gave {got}")
            name = "(no name)"
        return self._start(key, name, {"agentkit.lab.kind": kind, "agentkit.lab.step": step,
                                       "agentkit.lab.tool": tool or ""}, parent)

    def model_start(self, step: Any) -> None:
        self._steps[step.index] = self._named(("step", step.index), "step", step.index, None)
        self._named(("model", step.index), "model", step.index, None, self._steps[step.index])

    def model_end(self, step: Any) -> None:
        self._pop(("model", step.index)).end()

    def tool_start(self, step: Any, call: Any) -> None:
        self._named(("tool", call.id), "tool", step.index, call.name, self._steps[step.index])

    def tool_end(self, step: Any, call: Any) -> None:
        self._pop(("tool", call.id)).end()

    def step_end(self, step: Any) -> None:
        self._pop(("step", step.index)).end()
        del self._steps[step.index]


def check_naming(answer: Any) -> Verdict:
    if not isinstance(answer, tuple) or len(answer) != 2:
        raise AnswerError("Give both functions as a tuple: (span_name, parse_span_name).")
    name_fn = as_function(answer[0], "the first item (span_name)")
    parse_fn = as_function(answer[1], "the second item (parse_span_name)")
    hooks = _NamingHooks(name_fn)
    run = run_agent(hooks={e: getattr(hooks, e) for e in ("model_start", "model_end", "tool_start", "tool_end", "step_end")})
    if hooks.problems:
        return wrong("span_name must return a non-empty string for every span; " + "; ".join(hooks.problems[:3]) + ".")
    spans = [s for s in run.trace.spans if "agentkit.lab.kind" in (s.attributes or {})]
    facts: list[tuple[str, str, int, str | None]] = [
        (s.name, str(_attrs(s)["agentkit.lab.kind"]), _step_of(_attrs(s), "agentkit.lab.step"),
         str(_attrs(s)["agentkit.lab.tool"]) or None) for s in spans]
    steps = sorted({step for _, kind, step, _ in facts if kind == "step"})
    problems: list[str] = []

    # Unique where they must be: each step's span says which step it is.
    step_names: dict[str, list[int]] = {}
    for name, kind, step, _ in facts:
        if kind == "step":
            step_names.setdefault(name, []).append(step)
    for name, at in step_names.items():
        if len(at) > 1:
            problems.append(f"steps {', '.join(map(str, at))} all got the name {name!r}: a step's span must say which "
                            "step it is, or the 8 steps of a run cannot be told apart in the tree")
            break
    # Grouped: every call of one tool (and every model call) shares one name, whatever the step.
    by_group: dict[str, set[str]] = {}
    for name, kind, _, tool in facts:
        if kind != "step":
            by_group.setdefault(tool or "model calls", set()).add(name)
    for group, names in by_group.items():
        if len(names) > 1:
            sample = ", ".join(repr(n) for n in sorted(names)[:3])
            problems.append(f"{group} got {len(names)} different names ({sample}{', ...' if len(names) > 3 else ''}): "
                            "keep the step out of model and tool span names (it belongs in an attribute) so all "
                            "calls of one kind group together and a dashboard can aggregate them")
    # One name, one meaning: no name is shared by two kinds or two tools.
    meaning: dict[str, set[tuple[str, str | None]]] = {}
    for name, kind, _, tool in facts:
        meaning.setdefault(name, set()).add((kind, tool))
    for name, what in meaning.items():
        if len(what) > 1:
            parts = " and ".join(f"{k} spans" if t is None else f"{t} calls" for k, t in sorted(what, key=str))
            problems.append(f"{name!r} names both {parts}: a name must tell which kind of span (and which tool) it is")
    # Readable.
    long = sorted({n for n, *_ in facts if len(n) > MAX_NAME_LENGTH})
    if long:
        problems.append(f"{long[0]!r} is {len(long[0])} characters; keep names under {MAX_NAME_LENGTH} so the tree stays readable")
    # Parseable: the name alone gives back (kind, tool).
    for name, kind, _, tool in facts:
        got, error = call_learner_code(parse_fn, name)
        want = (kind, tool)
        if error is not None:
            problems.append(f"parse_span_name({name!r}) raised {error}")
            break
        if not isinstance(got, (tuple, list)) or tuple(got) != want:
            problems.append(f"parse_span_name({name!r}) gave {got!r}, but that span is {want!r}")
            break
    if problems:
        return wrong(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} with the names of a real run: "
                     + "; ".join(problems[:3]) + ".")
    tool_names = ", ".join(repr(min(by_group[t])) for t in TOOLS if t in by_group)
    return passed(
        f"A run of {len(steps)} steps and {sum(1 for f in facts if f[1] == 'tool')} tool calls got "
        f"{len(meaning)} distinct names: one per step, one for all model calls, one per tool ({tool_names}); "
        "every name parses back to its kind and tool."
    )


# ---------------------------------------------------------------------------
# Task 2: essential attributes = what the cost and latency analysis reads
# ---------------------------------------------------------------------------


class _ReadAttributes(Mapping[str, Any]):
    """A span's attributes that note every name read from them."""

    def __init__(self, attributes: Mapping[str, Any], span_id: int, log: set[tuple[int, str]]) -> None:
        self._attributes, self._id, self._log = attributes, span_id, log

    def __getitem__(self, key: str) -> Any:
        self._log.add((self._id, key))
        return self._attributes[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._log.add((self._id, key))
        return key in self._attributes

    def get(self, key: str, default: Any = None) -> Any:
        self._log.add((self._id, key))
        return self._attributes.get(key, default)

    def __iter__(self) -> Iterator[str]:  # reading them all counts as reading each
        for key in self._attributes:
            self._log.add((self._id, key))
            yield key

    def __len__(self) -> int:
        return len(self._attributes)


class _SpanView:
    """A finished span whose attribute reads are recorded; everything else is the span's own."""

    def __init__(self, span: Any, log: set[tuple[int, str]]) -> None:
        self._span = span
        self.attributes = _ReadAttributes(span.attributes or {}, span.context.span_id, log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._span, name)


def _attrs(span: Any) -> Mapping[str, Any]:
    """A span's attributes; `span` is a finished span or, inside `check_attributes`, a `_SpanView` of one
    (so reads go through `.get` and are logged)."""
    return span.attributes or {}


def _step_of(attributes: Mapping[str, Any], name: str = "agentkit.step") -> int:
    """The step number the agent (or the lab's hooks) stamped on a span; every span the checks read has one."""
    step = attributes.get(name)
    if not isinstance(step, int):
        raise TypeError(f"a span the lab reads has {name}={step!r}, not a step number: a bug in the lab")
    return step


def _seconds(span: Any) -> float:
    return ((span.end_time or 0) - (span.start_time or 0)) / 1e9


def _ttft(trace: Trace) -> list[float | None]:
    """Time to first token per model call (Lesson 3's TTFT / TPOT split)."""
    return [_attrs(s).get("gen_ai.response.time_to_first_chunk") for s in trace.select(kind="model")]


def _model_time_by_decision(trace: Trace) -> dict[str | None, float]:
    """Model seconds on steps that called tools vs steps that answered: answers are longer, so slower."""
    out: dict[str | None, float] = {}
    for span in trace.select(kind="model"):
        reason = _attrs(span).get("anthropic.message.stop_reason")
        out[reason] = out.get(reason, 0.0) + _seconds(span)
    return out


def _retrieval_by_collection(trace: Trace) -> dict[str | None, float]:
    """Seconds per vector-store collection: which collection is slow (the 47-second case)."""
    out: dict[str | None, float] = {}
    for span in trace.spans:
        if _attrs(span).get("db.system.name") is not None:
            collection = _attrs(span).get("db.collection.name")
            out[collection] = out.get(collection, 0.0) + _seconds(span)
    return out


def _errors_by_type(trace: Trace) -> dict[str, int]:
    """How many spans failed, by error type (retries and fallbacks cost time; Lesson 4)."""
    out: dict[str, int] = {}
    for span in trace.spans:
        kind = _attrs(span).get("error.type")
        if kind is not None:
            out[kind] = out.get(kind, 0) + 1
    return out


#: The later lessons' cost and latency analysis, run on a trace to see which attributes it reads.
ANALYSIS: dict[str, Callable[[Trace], Any]] = {
    "Trace.summary() (time and tokens by kind and tool)": lambda t: t.summary(),
    "cost per step": cost_by_step,
    "latency per step": Trace.seconds_by_step,
    "time to first token": _ttft,
    "model time by stop reason": _model_time_by_decision,
    "retrieval time per collection": _retrieval_by_collection,
    "errors by type": _errors_by_type,
}


def _group(span: Any, by_id: dict[int, Any]) -> str | None:
    """Which MENU group a span belongs to: 'model', or the tool whose execute_tool span holds it."""
    kind = span_kind(span)
    if kind == "model":
        return "model"
    while span is not None:
        if span_kind(span) == "tool":
            return str((span.attributes or {}).get("gen_ai.tool.name"))
        span = by_id.get(span.parent.span_id) if span.parent is not None else None
    return None


#: What Lesson 1's table ("What to put in span metadata") says every span of a kind must record, beyond what the
#: analysis reads: the sampling settings of a model call, and a tool call's (redacted) inputs.
LESSON_TABLE = "Lesson 1's table of what every span must record"
RECORD_ALWAYS: dict[str, tuple[str, ...]] = {"model": ("gen_ai.request.max_tokens",),
                                             "tool": ("gen_ai.tool.call.arguments",)}


@functools.lru_cache(maxsize=1)
def needed_attributes() -> dict[str, dict[str, tuple[str, ...]]]:
    """group -> {attribute: why it is essential}: the analyses that read it, found by running `ANALYSIS` on a real
    run's trace, and Lesson 1's table (`RECORD_ALWAYS`), so the lab and the lesson agree."""
    trace = _reference_run().trace
    by_id = {s.context.span_id: s for s in trace.spans}
    groups = {sid: _group(s, by_id) for sid, s in by_id.items()}
    needed: dict[str, dict[str, list[str]]] = {g: {} for g in MENU}
    for name, analysis in ANALYSIS.items():
        log: set[tuple[int, str]] = set()
        # A _SpanView stands in for the span it wraps (attribute reads logged, all else delegated), hence the cast.
        views = [cast(ReadableSpan, _SpanView(s, log)) for s in trace.spans]
        analysis(Trace(views))
        for span_id, key in log:
            group = groups.get(span_id)
            # A read counts even where the span lacks the attribute (error.type on a call that did not
            # fail): the analysis looks for it on every such span, so every such span must be able to carry it.
            if group in MENU and key in MENU[group]:
                readers = needed[group].setdefault(key, [])
                if name not in readers:
                    readers.append(name)
    for group in MENU:
        for key in RECORD_ALWAYS["model" if group == "model" else "tool"]:
            if key in MENU[group]:
                needed[group].setdefault(key, []).append(LESSON_TABLE)
    return {g: {k: tuple(v) for k, v in sorted(attrs.items())} for g, attrs in needed.items()}


def check_essential(answer: Any) -> Verdict:
    given = as_mapping(answer, MENU, what="essential")
    chosen: dict[str, set[str]] = {}
    for group, names in given.items():
        if isinstance(names, str) or not isinstance(names, (set, frozenset, list, tuple)):
            raise AnswerError(f"essential[{group!r}] is a {type(names).__name__}; give a set of attribute names.")
        unknown = sorted(str(n) for n in names if n not in MENU[group])
        if unknown:
            raise AnswerError(f"essential[{group!r}] has {', '.join(map(repr, unknown))}, which {group} spans do not "
                              f"carry here. Choose from lab.scenario.menu[{group!r}].")
        chosen[group] = set(names)
    need = needed_attributes()
    problems: list[str] = []
    for group in MENU:
        for name in sorted(set(need[group]) - chosen[group]):
            if need[group][name] == (LESSON_TABLE,):
                problems.append(f"{group}: {name} is in {LESSON_TABLE}")
            else:
                problems.append(f"{group}: {name} is read by {' and '.join(r for r in need[group][name] if r != LESSON_TABLE)}, "
                                "so without it that analysis cannot be done")
        for name in sorted(chosen[group] - set(need[group])):
            problems.append(f"{group}: neither the cost and latency analysis nor {LESSON_TABLE} needs {name}; it is "
                            "nice to have")
    if problems:
        return wrong(f"{len(problems)} attribute{'s are' if len(problems) > 1 else ' is'} in the wrong pile. "
                     + "; ".join(problems[:4]) + ("; ..." if len(problems) > 4 else "."))
    counts = ", ".join(f"{g} {len(need[g])} of {len(MENU[g])}" for g in MENU)
    return passed(f"Right: essential attributes per group ({counts}) are what the analysis reads plus what Lesson 1's "
                  "table asks every span to record (max_tokens, the redacted tool arguments). The rest (ids, the "
                  "response model) help when debugging one run.")


# ---------------------------------------------------------------------------
# Task 3: tool-call finish vs natural stop
# ---------------------------------------------------------------------------

_DECISION_TO_FINISH = {"tool_call": "tool_call", "final_answer": "natural_stop", "clarification": "natural_stop"}


def check_finish_kind(answer: Any) -> Verdict:
    fn = as_function(answer, "finish_kind")
    seen = 0
    for run in (_reference_run(), _cutoff_run()):
        truth = {int(row.step): _DECISION_TO_FINISH.get(row.decision, "other")
                 for row in run.trace.steps().itertuples()}
        for span in run.trace.select(kind="model"):
            attributes = span.attributes or {}
            step = _step_of(attributes)
            got, error = call_learner_code(fn, MappingProxyType(dict(attributes)))
            where = f"the model span of step {step} ({'cut-off run' if run is _cutoff_run() else 'main run'})"
            if error is not None:
                return wrong(f"finish_kind raised {error} on {where}. Its attributes are: "
                             f"{', '.join(sorted(attributes))}.")
            if type(got) is not str or got not in FINISH_KINDS:  # type-strict: no object that claims to equal all
                return wrong(f"finish_kind gave {got!r} on {where}; return one of {', '.join(map(repr, FINISH_KINDS))}.")
            if got != truth[step]:
                reason = attributes.get("anthropic.message.stop_reason")
                return wrong(f"On {where} the model's stop reason was {reason!r}, so that step is {truth[step]!r}; "
                             f"finish_kind said {got!r}.")
            seen += 1
    return passed(f"All {seen} model spans of two runs labelled right, the cut-off answer included. The SDK records "
                  "Anthropic's stop_reason on each model span; the agent's step events carry the GenAI "
                  "gen_ai.response.finish_reasons and its own decision.")


# ---------------------------------------------------------------------------
# Task 4: a code executor that fails part-way
# ---------------------------------------------------------------------------


class _ApplyRecord:
    """The sandbox's handler: asks the learner's `code_span(result)` for (status, attributes) and sets them."""

    def __init__(self, fn: Callable[[ExecutionResult], Any]) -> None:
        self.fn = fn
        self.problems: list[str] = []

    def __call__(self, span: Any, result: ExecutionResult) -> None:
        out, error = call_learner_code(self.fn, result)
        if error is not None:
            self.problems.append(f"code_span raised {error}")
            return
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], StatusCode)
                and isinstance(out[1], Mapping)):
            self.problems.append(f"code_span returned {out!r}; return (a StatusCode, a dict of attributes)")
            return
        status, attributes = out
        span.set_status(Status(status, result.error if status is StatusCode.ERROR else None))
        span.set_attributes(dict(attributes))


def check_code_failures(answer: Any) -> Verdict:
    apply = _ApplyRecord(as_function(answer, "code_span"))
    run = run_agent(on_code_result=apply, crash_rate=CRASH_RATE, seed=CRASH_SEED)
    executor = run.kit.executor
    problems = apply.problems + [f"{type(e).__name__}: {e}" for e in executor.handler_errors]
    if problems:
        return wrong(problems[0] + ". It must work for every run: a broken recorder loses exactly the runs you "
                     "most need to see.")
    spans = sorted((s for s in run.trace.spans if s.name == "sandbox.run"), key=lambda s: s.start_time or 0)
    if len(spans) != len(executor.results):  # a lab bug, not the learner's
        raise RuntimeError(f"{len(spans)} sandbox spans for {len(executor.results)} runs")
    for number, (span, result) in enumerate(zip(spans, executor.results), start=1):
        attributes = span.attributes or {}
        failed = span.status.status_code is StatusCode.ERROR
        what = (f"run {number} ({'completed' if result.completed else f'stopped by {result.error_type}'}"
                f"{', after printing part of its output' if result.partial else ''})")
        if failed != (not result.completed):
            return wrong(f"{what}: span status is {span.status.status_code.name}; a run that "
                         f"{'did not finish' if not result.completed else 'finished'} should "
                         f"{'be' if not result.completed else 'not be'} ERROR.")
        if attributes.get("error.type") != result.error_type:
            return wrong(f"{what}: error.type is {attributes.get('error.type')!r}, expected {result.error_type!r} "
                         f"(result.error_type{'' if result.error_type else ', so no error.type at all'}).")
        if attributes.get("agentkit.code.partial_output") is not result.partial:
            return wrong(f"{what}: agentkit.code.partial_output is {attributes.get('agentkit.code.partial_output')!r}, "
                         f"expected {result.partial} (a bool on every run: True only when the script stopped early "
                         "after printing something).")
    kinds = sorted({r.error_type or "completed" for r in executor.results})
    return passed(f"All {len(spans)} sandbox runs recorded right ({', '.join(kinds)}). A trace now tells a clean run, "
                  "a run that failed with nothing to show, and one that handed back partial output apart.")


# ---------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------

TASKS: list[Task] = [
    FunctionTask(
        id="naming",
        title="A span naming convention for 8 steps and 3 tools",
        checker=check_naming,
        expects="a tuple of two functions: (span_name, parse_span_name)",
        probes=(("tool", 1, "web_search"), ("tool.web_search",)),
        hints=_TEXT["hints"]["naming"],
    ),
    Task(
        id="essential",
        title="Essential vs nice-to-have attributes per tool",
        checker=check_essential,
        expects=f"a dict with the keys {', '.join(map(repr, MENU))}, each a set of attribute names from lab.scenario.menu",
        hints=_TEXT["hints"]["essential"],
    ),
    FunctionTask(
        id="finish_kind",
        title="Tool-call finish vs natural stop",
        checker=check_finish_kind,
        expects=f"a function of a model span's attributes returning one of {', '.join(map(repr, FINISH_KINDS))}",
        probes=(({"anthropic.message.stop_reason": "end_turn"},),),
        hints=_TEXT["hints"]["finish_kind"],
    ),
    FunctionTask(
        id="code_failures",
        title="A code executor that fails mid-run or returns partial output",
        checker=check_code_failures,
        expects="a function code_span(result) returning (a StatusCode, a dict of attributes) for the run's span",
        probes=((ExecutionResult("", "", True, 0, 0, 0.0),),),
        hints=_TEXT["hints"]["code_failures"],
    ),
]

NOTES: str = _TEXT["notes"]

LAB = Lab(
    id="l1_trace_schema",
    title="Lab 1: Designing a trace schema",
    lesson="M1 L1 The Trace Layer",  # as quizzes/l1_trace_layer.yaml names it
    tasks=TASKS,
    lesson_notebook="notebooks/m1_l1_trace_layer.ipynb",
    notes=NOTES,
    scenario=SCENARIO,
)
