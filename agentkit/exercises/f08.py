"""The checked exercises of lesson F08 Planning."""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pydantic

from agentkit.course.lab import AnswerError, FunctionTask, Task, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises
from agentkit.patterns import examples as ex


# -- Lesson 08 ------------------------------------------------------------------------------


def _check_aviator_plan(answer: Any) -> Verdict:
    from agentkit.patterns.planning import Guardrails, Plan, PlanRejected, execute_plan
    from agentkit.tools import tool

    if not isinstance(answer, dict):
        raise AnswerError(f"your answer is a {type(answer).__name__}; give the plan as a dict with goal and steps.")
    try:
        plan = Plan.model_validate(answer)
    except pydantic.ValidationError as exc:
        return wrong(f"That is not a plan yet: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}.")
    tools = [tool(f) for f in ex.STORE_TOOLS]
    try:
        run = execute_plan(plan, tools, Guardrails(frozenset({"read"}), ex.STORE_PERMISSIONS, max_steps=4))
    except PlanRejected as exc:
        return wrong(f"The guardrails refused it: {'; '.join(exc.problems)}.")
    if not run.ok:
        failed = run.results[-1]
        return wrong(f"Step {failed.step.id} failed: {failed.output}")
    want = {i for i, p in ex.PRODUCTS.items() if p["shape"] == "aviator" and ex.INVENTORY[i] > 0}
    last = run.results[-1].output
    got = {item.get("id") for item in last} if isinstance(last, list) and all(isinstance(i, dict) for i in last) else None
    if got != want:
        return wrong(f"Its last step returned {last!r}; the in-stock aviators are a different set. "
                     "Find the aviators, then keep those in stock.")
    return passed(f"Valid, within budget, read-only, and it finds {', '.join(sorted(want))}.")


EXERCISES = Exercises("f08_planning", "Lesson 08 exercises", "F08 Planning", lesson_notebook="notebooks/08_*.ipynb", tasks=[
    Task("aviator_plan", "A plan for 'Which aviators are in stock?'", _check_aviator_plan,
         "a dict {'goal': ..., 'steps': [{'id': 's1', 'tool': ..., 'args': {...}}, ...]}",
         ("Two steps: find the aviators, then check which are in stock. Hint 2 says which tools.",
          "get_item_descriptions finds products by a word of their description; check_inventory keeps the ids "
          "that are in stock. Hint 3 says how the second step gets the first one's ids.",
          "An argument can be a reference to an earlier step's output: '$<step id>.<field>' takes that field "
          "of every item the step returned.")),
], solutions={
    "aviator_plan": """
        aviator_plan = {"goal": "Find the aviators that are in stock", "steps": [
            {"id": "s1", "tool": "get_item_descriptions", "args": {"query": "aviator"}},
            {"id": "s2", "tool": "check_inventory", "args": {"item_ids": "$s1.id"}},
        ]}
    """,
}, answers={"aviator_plan": "aviator_plan"})


# -- a plan validator ---------------------------------------------------------------------------------------

# The planted defects, by kind: what a validator must catch before anything runs. The notebook's own validator
# checks tool names and permissions; these are the four it leaves to the learner.
DEFECTS = ("over_budget", "duplicate_id", "forward_reference", "missing_argument")

_NAMES = ("find", "stock", "price", "lookup", "a1", "b2", "step_x", "q", "first", "then", "pick", "s7")


def _base_plans() -> list[dict[str, Any]]:
    """Valid plans on the store's tools, ids s1, s2, ... (renamed per check)."""
    return [
        {"goal": "round frames in stock under $100", "steps": [
            {"id": "s1", "tool": "get_item_descriptions", "args": {"query": "round"}},
            {"id": "s2", "tool": "check_inventory", "args": {"item_ids": "$s1.id"}},
            {"id": "s3", "tool": "get_item_price", "args": {"item_ids": "$s2.id", "max_price": 100}}]},
        {"goal": "return the gold pair", "steps": [
            {"id": "s1", "tool": "get_purchase_history", "args": {"customer_id": "C-1042", "matching": "gold"}},
            {"id": "s2", "tool": "process_item_return",
             "args": {"order_id": "$s1[0].order_id", "item_id": "$s1[0].item_id"}}]},
        {"goal": "aviators in stock", "steps": [
            {"id": "s1", "tool": "get_item_descriptions", "args": {"query": "aviator"}},
            {"id": "s2", "tool": "check_inventory", "args": {"item_ids": ["SG-201", "$s1[0].id"]}}]},
    ]


def _rename(plan: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same plan with fresh step ids (references follow), so a validator cannot assume s1, s2, ..."""
    names = rng.sample(_NAMES, len(plan["steps"]))
    mapping = {s["id"]: n for s, n in zip(plan["steps"], names)}

    def swap(value: Any) -> Any:
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, str) and value.startswith("$"):
            m = re.match(r"\$([A-Za-z0-9_-]+)(.*)$", value)
            if m and m.group(1) in mapping:
                return f"${mapping[m.group(1)]}{m.group(2)}"
        return value

    return {"goal": plan["goal"], "steps": [{"id": mapping[s["id"]], "tool": s["tool"],
                                             "args": {k: swap(v) for k, v in s["args"].items()}}
                                            for s in plan["steps"]]}


def _plant(plan: dict[str, Any], kind: str, rng: random.Random, max_steps: int) -> dict[str, Any]:
    """`plan` with one defect of `kind` planted in it."""
    steps = copy.deepcopy(plan["steps"])
    if kind == "over_budget":
        while len(steps) <= max_steps:
            steps.append({"id": f"extra{len(steps)}", "tool": "get_item_descriptions", "args": {"query": "gold"}})
    elif kind == "duplicate_id":
        i = rng.randrange(1, len(steps))
        steps[i]["id"] = steps[i - 1]["id"]
    elif kind == "forward_reference":
        # the first step now reads the output of a step that runs after it
        later = steps[rng.randrange(1, len(steps))]["id"]
        tool = steps[0]["tool"]
        arg = next(iter(steps[0]["args"]))
        steps[0]["args"][arg] = f"${later}.id" if tool != "get_purchase_history" else f"${later}[0].customer_id"
    elif kind == "missing_argument":
        from agentkit.tools import tool as make_tool

        by_name = {t.name: t for t in (make_tool(f) for f in ex.STORE_TOOLS)}
        candidates = [i for i, s in enumerate(steps) if by_name[s["tool"]].input_schema.get("required")]
        i = rng.choice(candidates)
        needed = rng.choice(by_name[steps[i]["tool"]].input_schema["required"])
        steps[i]["args"].pop(needed, None)
    return {"goal": plan["goal"], "steps": steps}


_WHAT = {"over_budget": "a plan with more steps than max_steps",
         "duplicate_id": "a plan where two steps share one id",
         "forward_reference": "a plan where a step refers to a step that runs after it",
         "missing_argument": "a plan where a step leaves out an argument its tool requires"}


def _show(plan: Any) -> str:
    return "; ".join(f"{s.id}: {s.tool}({', '.join(f'{k}={v!r}' for k, v in s.args.items())})" for s in plan.steps)


def _check_plan_problems(answer: Any) -> Verdict:
    from agentkit.patterns.planning import Plan
    from agentkit.tools import tool as make_tool

    fn = as_function(answer, "plan_problems")
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    tools = [make_tool(f) for f in ex.STORE_TOOLS]
    cases: list[tuple[str, Any, int]] = []  # (kind or "valid", plan, max_steps)
    for base in _base_plans():
        renamed = _rename(base, rng)
        cases.append(("valid", renamed, len(renamed["steps"]) + rng.randrange(0, 3)))
        for kind in DEFECTS:
            budget = len(renamed["steps"]) + (0 if kind == "over_budget" else 2)
            cases.append((kind, _plant(renamed, kind, rng, budget), budget))
    rng.shuffle(cases)
    for kind, raw, budget in cases:
        plan = Plan.model_validate(raw)
        got, error = call_learner_code(fn, plan.model_copy(deep=True), list(tools), budget)
        case = f"(max_steps={budget}; check seed {seed}): {_show(plan)}"
        where = f"on {_WHAT.get(kind, 'a valid plan')} {case}"
        if error:
            return wrong(f"It raised {error} {where}.")
        if not isinstance(got, (list, tuple)) or not all(isinstance(p, str) for p in got):
            return wrong(f"It returned {got!r} {where}. Return a list of problem sentences (empty when the plan may run).")
        if kind == "valid" and got:
            return wrong(f"It refused a plan that may run, saying {list(got)!r}, {where}. References such as "
                         "$x[0].order_id and lists that hold a reference are fine when the step runs earlier.")
        if kind != "valid" and not got:
            return wrong(f"It let through {_WHAT[kind]} {case}.")
    valid = sum(k == "valid" for k, _, _ in cases)
    return passed(f"It passed {valid} good plans and refused all {len(cases) - valid} planted defects "
                  f"({', '.join(d.replace('_', ' ') for d in DEFECTS)}), with step ids it had never seen.")


EXERCISES.tasks.append(
    FunctionTask("plan_problems", "A plan validator: refuse a plan before it runs", _check_plan_problems,
                 "a function plan_problems(plan, tools, max_steps) -> list of problem sentences",
                 ("Walk the steps in order, keeping the set of ids that have run so far: each check below is a "
                  "question about one step against that set (or against the tool it names). "
                  "lab.hint('plan_problems', 2) shows the shape.",
                  "Four checks: len(plan.steps) against max_steps; an id already in the set; every string argument "
                  "(also inside a list) that starts with '$' names a step that must already be in the set; every "
                  "name in the tool's input_schema['required'] must be in step.args. Hint 3 shows how to read a "
                  "reference's step id.",
                  "The step id of a reference is what follows '$' up to the first '.' or '[': "
                  "re.match(r'\\$([A-Za-z0-9_-]+)', value).group(1). A tool by name: "
                  "{t.name: t for t in tools}[step.tool]."),
                 probes=((None, [], 0),)))
EXERCISES.solutions["plan_problems"] = """
    import re


    def plan_problems(plan, tools, max_steps):
        "Every reason the plan must not run: the step budget, duplicate ids, references, required arguments."
        by_name = {t.name: t for t in tools}
        problems = []
        if len(plan.steps) > max_steps:
            problems.append(f"{len(plan.steps)} steps; the budget is {max_steps}")
        earlier = set()
        for step in plan.steps:
            if step.id in earlier:
                problems.append(f"{step.id}: the id is used twice")
            for value in step.args.values():
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item.startswith("$"):
                        ref = re.match(r"\\$([A-Za-z0-9_-]+)", item)
                        if ref is None or ref.group(1) not in earlier:
                            problems.append(f"{step.id}: {item} does not refer to an earlier step")
            for name in by_name[step.tool].input_schema.get("required", []):
                if name not in step.args:
                    problems.append(f"{step.id}: {step.tool} needs {name!r}")
            earlier.add(step.id)
        return problems
"""
EXERCISES.answers["plan_problems"] = "plan_problems"
