"""The checked exercises of lesson F03 Choosing and shaping agent work."""

from __future__ import annotations

from typing import Any

from agentkit.course.lab import AnswerError, Task, Verdict, as_mapping, as_name, passed, wrong
from agentkit.exercises import Exercises


# -- F03 ----------------------------------------------------------------------------------


def _check_quadrants(answer: Any) -> Verdict:
    from agentkit.shaping import EXAMPLE_TASKS, place

    names = [t.name for t in EXAMPLE_TASKS]
    given = as_mapping(answer, names)
    mistakes = []
    for item in EXAMPLE_TASKS:
        got = given[item.name]
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise AnswerError(f"the value for {item.name!r} is {got!r}; give a pair like ('high', 'low')")
        got = tuple(as_name(g, ("low", "high"), what=f"the placement of {item.name!r}") for g in got)
        p = place(item)
        if got != p.quadrant:
            axis = "complexity" if got[0] != p.quadrant[0] else "precision"
            mistakes.append(f"{item.name}: look again at its {axis} (steps: {item.steps}, known in advance: "
                            f"{item.steps_known}, research: {item.needs_research}, cost of an error: "
                            f"{item.error_cost}, human review: {item.human_review})")
    if mistakes:
        return wrong("Not all placements match the task facts:\n" + "\n".join(mistakes))
    return passed("All five placed. The lecture-note summaries are the only task in the starting quadrant.")


def _check_decomposition(answer: Any) -> Verdict:
    from agentkit.shaping import check_decomposition

    if not isinstance(answer, (list, tuple)):
        raise AnswerError(f"your plan is a {type(answer).__name__}; give a list of (description, kind) pairs")
    try:
        problems = check_decomposition(answer)
    except ValueError as err:
        raise AnswerError(str(err)) from None
    if problems:
        return wrong("The plan needs work:\n" + "\n".join(problems))
    return passed(f"{len(answer)} steps, each one LLM call, a bit of code or an API call, of the right kind.")


EXERCISES = Exercises("f03", "Foundations 03 exercises", "F03 Choosing and shaping agent work", lesson_notebook="notebooks/03_*.ipynb", tasks=[
    Task("quadrants", "Place the five example tasks on the matrix", _check_quadrants,
         "a dict: task name -> (complexity, precision), each 'low' or 'high'",
         ("Use shaping.place(task).quadrant's rule, not your gut: complexity is high from 3 points, precision too.",
          "Complexity adds a point for 3+ steps, 6+ steps, unknown steps and research; precision is 1/3/5 by the "
          "cost of an error, minus 1 with a human review.",
          "Only one task is high complexity and low precision: the summaries.")),
    Task("decomposition", "Split the essay task into checkable steps", _check_decomposition,
         "a list of (description, kind) pairs, kind 'llm', 'code' or 'api'",
         ("Start from how you would write an essay yourself: plan, research, write, check, improve.",
          "Research is three steps: an LLM writes search terms, an API searches, code fetches the pages.",
          "Seven steps: outline (llm), search terms (llm), search (api), fetch pages (code), draft (llm), "
          "critique (llm), revise (llm).")),
], solutions={
    "quadrants": """
        my_placements = {
            "invoice field extraction": ("low", "high"),
            "customer email replies": ("low", "low"),
            "full returns agent": ("high", "high"),
            "tax forms": ("high", "high"),
            "lecture-note summaries": ("high", "low"),
        }
    """,
    "decomposition": """
        my_plan = [
            ("outline the essay", "llm"),
            ("generate search terms", "llm"),
            ("call the search API", "api"),
            ("fetch the pages", "code"),
            ("write a first draft from the sources", "llm"),
            ("critique the draft and list its gaps", "llm"),
            ("revise the draft using the critique", "llm"),
        ]
    """,
}, answers={"quadrants": "my_placements", "decomposition": "my_plan"})
