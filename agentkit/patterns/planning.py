"""Planning: let the model choose the steps, then check the plan before anything runs.

Instead of a hard-coded flow per kind of question, the model gets a toolkit
and writes a plan for *this* question. Two forms:

- a **JSON plan** (`Plan`): numbered steps, each naming a tool and its
  arguments; an argument may refer to an earlier step's output, as
  ``"$s1.id"`` (the ``id`` of every item step s1 returned) or ``"$s2[0].order_id"``.
  `make_plan` asks the model for one, `validate_plan` checks it against the
  guardrails, `execute_plan` runs it step by step.
- **code as plan**: the model writes a short Python program that calls the
  tools as functions (`make_code_plan`); `check_code_plan` reads it (only the
  tools and a few safe built-ins may be called, nothing imported) and
  `run_code_plan` runs it in a separate process, where only the store's
  read-only tools exist.

Guardrails (`Guardrails`): which tools this request may use at all
(permissions: a question about stock must not be able to issue a refund),
a step budget, and validation of every tool name, argument name and literal
value against the tool's schema, and of every reference (it must point to an
earlier step). A plan that fails any of them is refused with `PlanRejected`,
whose `problems` say why, before a single tool runs.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import jsonschema
import pydantic
from opentelemetry import trace

from agentkit.models import DEFAULT_MODEL
from agentkit.sandbox import run_code
from agentkit.patterns.measure import Cost, Meter
from agentkit.patterns.reflection import extract_json
from agentkit.tools import Tool, as_tool

__all__ = [
    "ANSWER_SYSTEM", "CodePlanRejected", "Guardrails", "Plan", "PlanArg", "PlanRejected", "PlanRun", "PlanStep", "StepResult",
    "answer_from", "check_code_plan", "execute_plan", "make_code_plan", "make_plan", "plan_prompt", "resolve", "run_code_plan",
    "validate_plan", "WirePlan",
]

_tracer = trace.get_tracer("agentkit")


class PlanStep(pydantic.BaseModel):
    """One step: which tool, with which arguments, and why."""

    model_config = pydantic.ConfigDict(extra="forbid")

    # Any short name will do ("s1", "find_frames"): the wire schema cannot require "s1, s2, ...", so a live
    # model may pick its own names, and a plan is no worse for it. A name cannot hold "$", "." or "[".
    id: str = pydantic.Field(pattern=r"^[A-Za-z0-9_-]+$", description="a short name such as s1, s2, ...")
    tool: str
    args: dict[str, Any] = {}
    why: str = ""


class Plan(pydantic.BaseModel):
    """A plan: the goal in a sentence, and the steps."""

    model_config = pydantic.ConfigDict(extra="forbid")

    goal: str
    steps: list[PlanStep] = pydantic.Field(min_length=1)

    def __str__(self) -> str:
        lines = [f"goal: {self.goal}"]
        for s in self.steps:
            args = ", ".join(f"{k}={v!r}" for k, v in s.args.items())
            lines.append(f"  {s.id}: {s.tool}({args})" + (f"  # {s.why}" if s.why else ""))
        return "\n".join(lines)


class PlanArg(pydantic.BaseModel):
    """One argument of a step, as structured outputs carry it: a name and a value (a reference such as
    "$s1.id" is a string value)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str
    value: str | int | float | bool | None | list[str | int | float]


class _WireStep(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    id: str
    tool: str
    args: list[PlanArg]
    why: str


class WirePlan(pydantic.BaseModel):
    """A plan in the shape structured outputs can constrain. Structured outputs need every object's
    keys fixed in advance, and a step's arguments differ per tool, so they travel as a list of
    name/value pairs; `to_plan()` turns them into a `Plan`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    goal: str
    steps: list[_WireStep]

    def to_plan(self) -> Plan:
        problems = []
        for step in self.steps:
            names = [a.name for a in step.args]
            for name in sorted({n for n in names if names.count(n) > 1}):
                problems.append(f"step {step.id}: the argument {name!r} is given twice")
        if problems:
            raise PlanRejected(problems)
        steps = []
        for n, s in enumerate(self.steps, 1):
            try:
                steps.append(PlanStep(id=s.id, tool=s.tool, args={a.name: a.value for a in s.args}, why=s.why))
            except pydantic.ValidationError as exc:
                problems += [f"step {n} ({s.id!r}): {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        if problems or not steps:
            raise PlanRejected(problems or ["the plan has no steps"])
        return Plan(goal=self.goal, steps=steps)


class PlanRejected(ValueError):
    """A plan that failed the guardrails; `problems` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("plan rejected: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Guardrails:
    """What a plan may do: the permissions this request has, and a step budget.

    `permissions` maps a tool's name to the permission it needs ("read" unless
    listed); `granted` is what this request holds.
    """

    granted: frozenset[str] = frozenset({"read"})
    permissions: Mapping[str, str] = field(default_factory=dict)
    max_steps: int = 6

    def needs(self, tool_name: str) -> str:
        return self.permissions.get(tool_name, "read")


_REF = re.compile(r"^\$([A-Za-z0-9_-]+)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*)$")


def _refs(value: Any) -> list[str]:
    """Every reference string ("$s1...") inside an argument value."""
    if isinstance(value, str):
        return [value] if value.startswith("$") else []
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    return []


def validate_plan(plan: Plan, tools: Sequence[Tool], guardrails: Guardrails = Guardrails()) -> list[str]:
    """Every reason `plan` must not run (an empty list: it may). Nothing is executed."""
    by_name = {t.name: t for t in map(as_tool, tools)}
    problems: list[str] = []
    if len(plan.steps) > guardrails.max_steps:
        problems.append(f"the plan has {len(plan.steps)} steps; the budget is {guardrails.max_steps}")
    seen: set[str] = set()
    for step in plan.steps:
        where = f"step {step.id}"
        if step.id in seen:
            problems.append(f"{where}: the id is used twice")
        tool = by_name.get(step.tool)
        if tool is None:
            problems.append(f"{where}: there is no tool {step.tool!r} (tools: {', '.join(by_name)})")
            seen.add(step.id)
            continue
        needed = guardrails.needs(step.tool)
        if needed not in guardrails.granted:
            problems.append(f"{where}: {step.tool} needs the {needed!r} permission, which this request does not "
                            f"have (granted: {', '.join(sorted(guardrails.granted))})")
        schema = tool.input_schema
        properties = schema.get("properties", {})
        for name in step.args:
            if name not in properties:
                problems.append(f"{where}: {step.tool} has no argument {name!r} (arguments: {', '.join(properties)})")
        for name in schema.get("required", []):
            if name not in step.args:
                problems.append(f"{where}: {step.tool} needs the argument {name!r}")
        for name, value in step.args.items():
            refs = _refs(value)
            for ref in refs:
                m = _REF.match(ref)
                if m is None:
                    problems.append(f"{where}: {ref!r} is not a reference like $s1, $s1.id or $s1[0].order_id")
                elif m.group(1) not in seen:
                    problems.append(f"{where}: {ref!r} refers to {m.group(1)}, which does not run before {step.id}")
            if not refs and name in properties:  # a literal: check it against the tool's schema now
                try:
                    jsonschema.validate(value, properties[name])
                except jsonschema.ValidationError as exc:
                    problems.append(f"{where}: argument {name}={value!r} is invalid: {exc.message}")
        seen.add(step.id)
    return problems


def resolve(value: Any, outputs: Mapping[str, Any]) -> Any:
    """Replace references in an argument value with earlier steps' outputs.

    ``$s1`` is step s1's whole output; ``.field`` takes a field (of each item,
    when the output is a list); ``[n]`` takes the n-th item.
    """
    if isinstance(value, list):
        return [resolve(v, outputs) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, outputs) for k, v in value.items()}
    if not (isinstance(value, str) and value.startswith("$")):
        return value
    m = _REF.match(value)
    if m is None or m.group(1) not in outputs:
        raise KeyError(f"cannot resolve {value!r}: no such step output")
    current = outputs[m.group(1)]
    for part in re.findall(r"\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\]", m.group(2)):
        if part.startswith("["):
            current = current[int(part[1:-1])]
        elif isinstance(current, list):
            current = [item[part[1:]] for item in current]
        else:
            current = current[part[1:]]
    return current


@dataclass(frozen=True)
class StepResult:
    """What one plan step did."""

    step: PlanStep
    args: dict[str, Any]  # after references were resolved
    output: Any
    ok: bool


@dataclass
class PlanRun:
    """An executed plan: each step's result; `ok` is False if a step failed (later steps did not run)."""

    plan: Plan
    results: list[StepResult]

    @property
    def ok(self) -> bool:
        return len(self.results) == len(self.plan.steps) and all(r.ok for r in self.results)

    @property
    def outputs(self) -> dict[str, Any]:
        return {r.step.id: r.output for r in self.results}

    def __str__(self) -> str:
        lines = []
        for r in self.results:
            args = ", ".join(f"{k}={v!r}" for k, v in r.args.items())
            out = json.dumps(r.output) if not isinstance(r.output, str) else r.output
            lines.append(f"{r.step.id}: {r.step.tool}({args})\n    -> {out if len(out) < 200 else out[:199] + '…'}")
        return "\n".join(lines)


def execute_plan(plan: Plan, tools: Sequence[Tool], guardrails: Guardrails = Guardrails()) -> PlanRun:
    """Validate `plan` (raising `PlanRejected` if it fails) and run it, step by step.

    Each step's arguments are resolved from earlier outputs and validated
    again by the tool itself; a step that fails stops the run there. Traced
    as ``execute_plan`` with one ``execute_tool {tool}`` span per step.
    """
    problems = validate_plan(plan, tools, guardrails)
    if problems:
        raise PlanRejected(problems)
    by_name = {t.name: t for t in map(as_tool, tools)}
    results: list[StepResult] = []
    outputs: dict[str, Any] = {}
    with _tracer.start_as_current_span("execute_plan", attributes={"agentkit.pattern": "planning",
                                                                   "agentkit.plan.steps": len(plan.steps)}):
        for step in plan.steps:
            args = resolve(step.args, outputs)
            with _tracer.start_as_current_span(f"execute_tool {step.tool}", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": step.tool,
                "agentkit.plan.step": step.id,
            }) as span:
                out = by_name[step.tool].invoke(args)
                if out.is_error:
                    span.set_status(trace.Status(trace.StatusCode.ERROR, str(out.content)[:200]))
            value = out.content
            if isinstance(value, str) and not out.is_error:
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            outputs[step.id] = value
            results.append(StepResult(step, args, value, not out.is_error))
            if out.is_error:
                break
    return PlanRun(plan, results)


# ---------------------------------------------------------------------------
# Asking the model for a plan
# ---------------------------------------------------------------------------


def _type_name(schema: Mapping[str, Any]) -> str:
    """A JSON Schema's type in a word: "string", "array of string", "number or null"."""
    if "anyOf" in schema:
        return " or ".join(_type_name(s) for s in schema["anyOf"])
    kind = str(schema.get("type", "any"))
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"array of {_type_name(schema['items'])}"
    return kind


def plan_prompt(tools: Sequence[Tool], *, structured: bool = False) -> str:
    """The planner's system prompt: the tools, the plan format (unless structured outputs fix it),
    the reference syntax."""
    lines = []
    for t in map(as_tool, tools):
        params = ", ".join(f"{k}: {_type_name(v)}" for k, v in t.input_schema.get("properties", {}).items())
        lines.append(f"- {t.name}({params}): {t.description.splitlines()[0]}")
    fmt = ("Each step names a tool and lists its arguments as name/value pairs. " if structured else
           'Reply with JSON only, in this form: {"goal": "...", "steps": [{"id": "s1", "tool": "...", '
           '"args": {...}, "why": "..."}]}. ')
    return (
        "You are the planner of a retail assistant. Write a plan that answers the customer's request using only "
        "these tools:\n" + "\n".join(lines) + "\n\n" + fmt +
        'An argument may refer to an earlier step\'s output: "$s1" (all of it), "$s1.id" (the id of each item), '
        '"$s2[0].order_id" (a field of the first item).'
    )


def make_plan(client: Any, request: str, tools: Sequence[Tool], *, meter: Meter, model: str = DEFAULT_MODEL,
              max_tokens: int = 1024, structured: bool = True) -> tuple[Plan, Cost]:
    """Ask the model for a plan and return it as a `Plan`, with what the call cost.

    With `structured` (the default), the request carries `WirePlan`'s JSON Schema as
    ``output_config.format`` through the SDK's ``messages.parse``: the API's structured outputs
    guarantee a reply of that shape. Without it (for a model or gateway that lacks structured
    outputs), the model is asked for JSON in its text and pydantic parses it. Either way a reply that
    is not a well-formed plan raises `PlanRejected` naming what was wrong; what the plan *does* is
    checked later, by `validate_plan`.
    """
    params: dict[str, Any] = {"model": model, "max_tokens": max_tokens,
                              "system": plan_prompt(tools, structured=structured),
                              "messages": [{"role": "user", "content": request}]}
    if structured:
        message = client.messages.parse(**params, output_format=WirePlan)
        wire = message.parsed_output
        if wire is None:
            raise PlanRejected([f"the planner gave no plan (stop reason {message.stop_reason!r})"])
        return wire.to_plan(), meter.cost(message)
    message = client.messages.create(**params)
    text = "".join(b.text for b in message.content if b.type == "text")
    try:
        plan = Plan.model_validate_json(extract_json(text))
    except (ValueError, pydantic.ValidationError) as exc:
        raise PlanRejected([f"the planner's reply is not a valid plan: {exc}"]) from None
    return plan, meter.cost(message)


ANSWER_SYSTEM = ("Answer the customer in two sentences, using only the results of the plan that ran for their "
                 "request. Do not promise anything the results do not show.")


def answer_from(client: Any, request: str, run: PlanRun, *, meter: Meter, model: str = DEFAULT_MODEL,
                max_tokens: int = 400) -> tuple[str, Cost]:
    """The final step of every plan: the model writes the reply from the executed plan's results."""
    results = json.dumps(run.outputs, indent=1)
    message = client.messages.create(model=model, max_tokens=max_tokens, system=ANSWER_SYSTEM, messages=[
        {"role": "user", "content": f"{request}\n\nResults of the plan:\n{results}"}])
    return "".join(b.text for b in message.content if b.type == "text"), meter.cost(message)


# ---------------------------------------------------------------------------
# Code as plan
# ---------------------------------------------------------------------------

#: Built-ins a code plan may call besides the tools.
SAFE_BUILTINS = frozenset({"len", "sorted", "min", "max", "sum", "round", "list", "dict", "set", "print", "any",
                           "all", "enumerate", "range", "str", "int", "float", "bool", "zip"})


class CodePlanRejected(ValueError):
    """A code plan that reaches for something it must not; `problems` says what."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("code plan rejected: " + "; ".join(self.problems))


def check_code_plan(code: str, tool_names: Sequence[str]) -> list[str]:
    """Read a code plan without running it: no imports, no dunder names, no calls except the
    tools, `SAFE_BUILTINS`, functions the plan defines itself and methods of its own values."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"not valid Python: {exc.msg} (line {exc.lineno})"]
    allowed = set(tool_names) | SAFE_BUILTINS
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append(f"line {node.lineno}: imports are not allowed in a plan")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            problems.append(f"line {node.lineno}: {node.attr} is off limits")
        elif isinstance(node, ast.Name) and node.id.startswith("__"):
            problems.append(f"line {node.lineno}: {node.id} is off limits")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id not in allowed and node.func.id not in defined:
                problems.append(f"line {node.lineno}: {node.func.id}() is not a tool or an allowed built-in")
    return problems


def make_code_plan(client: Any, request: str, tools: Sequence[Tool], *, meter: Meter, model: str = DEFAULT_MODEL,
                   max_tokens: int = 1024) -> tuple[str, Cost]:
    """Ask the model for a Python program that answers `request` with the tools; returns (code, cost)."""
    signatures = "\n".join(f"- {t.name}: {t.description.splitlines()[0]}" for t in map(as_tool, tools))
    system = ("You are the planner of a retail assistant. Write a short Python program that answers the request "
              "by calling these functions (each returns a list of dicts):\n" + signatures +
              "\nDo not import anything. Put the final answer in a variable named answer. Reply with one python "
              "code block.")
    message = client.messages.create(model=model, max_tokens=max_tokens, system=system,
                                     messages=[{"role": "user", "content": request}])
    text = "".join(b.text for b in message.content if b.type == "text")
    fenced = re.search(r"```(?:python)?\s*\n(.*?)```", text, re.DOTALL)
    return (fenced.group(1) if fenced else text).strip(), meter.cost(message)


def run_code_plan(code: str, tool_names: Sequence[str], preamble: str, *, data: Mapping[str, Any] | None = None,
                  timeout: float = 5.0) -> Any:
    """Check a code plan, then run it in `agentkit.sandbox` (a separate process: OS limits, a timeout,
    no network, an import allow-list) after `preamble`, the source that defines the tools; `data`
    become its global variables. Returns the plan's `answer` variable (passed back as JSON)."""
    problems = check_code_plan(code, tool_names)
    if problems:
        raise CodePlanRejected(problems)
    program = "\n".join([preamble, code, "result = answer"])
    with _tracer.start_as_current_span("execute_code_plan", attributes={"agentkit.pattern": "planning"}) as span:
        run = run_code(program, timeout=timeout, inputs=dict(data or {}))
        if not run.ok:
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{run.error_type}: {run.error}"))
            raise RuntimeError(f"the code plan failed: {run.feedback(600)}")
    return run.result
