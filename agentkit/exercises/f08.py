"""The checked exercises of lesson F08 Planning."""

from __future__ import annotations

from typing import Any

import pydantic

from agentkit.course.lab import AnswerError, Task, Verdict, passed, wrong
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
         ("Two steps: find the aviators, then check which are in stock.",
          "s2's item_ids can be the reference '$s1.id'.")),
], solutions={
    "aviator_plan": """
        aviator_plan = {"goal": "Find the aviators that are in stock", "steps": [
            {"id": "s1", "tool": "get_item_descriptions", "args": {"query": "aviator"}},
            {"id": "s2", "tool": "check_inventory", "args": {"item_ids": "$s1.id"}},
        ]}
    """,
}, answers={"aviator_plan": "aviator_plan"})
