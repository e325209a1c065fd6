"""Checked exercises for Foundations 03-06, on the lab engine (`agentkit.course.lab`).

A lesson's exercises are a small `Lab`: `lab = agentkit.exercises.load("f03")`, then
`lab.check("quadrants", answer)`, `lab.hint("quadrants")` and `lab.solution("quadrants")`. Every checker computes the
right answer with the same kit functions the lesson uses, so it never holds a typed result.
(They are not under `agentkit.labs`, which is for the full labs with reference notebooks.)
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from agentkit.course.lab import (AnswerError, FunctionTask, Lab, LabText, Task, Verdict, as_function, as_mapping,
                                 as_name, as_number, call_learner_code, passed, wrong)

__all__ = ["load", "LESSONS", "Exercises"]


@dataclass
class Exercises(Lab):
    """A lesson's exercises: a `Lab` whose reference solutions live here, beside the checks, rather than in a
    lab notebook under labs/src (a lesson has no separate lab notebook). `answers` names the variable each
    solution defines, so a test can run every solution through its own check."""

    solutions: dict[str, str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)

    def solution(self, task_id: str) -> LabText:
        self.task(task_id)
        code = self.solutions.get(task_id)
        if code is None:
            return LabText(f"No reference solution for {task_id}", "Try the hints: lab.hint(task_id, 1), 2, 3.")
        return LabText(f"Reference solution for {task_id}", "Read it, then write your own version and check it.",
                       textwrap.dedent(code).strip("\n"))

LESSONS = {
    "f03": "F03 Choosing and shaping agent work",
    "f04": "F04 Evaluation",
    "f05": "F05 Memory and knowledge",
    "f06": "F06 Guardrails",
}


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


F03 = Exercises("f03", "Foundations 03 exercises", LESSONS["f03"], lesson_notebook="notebooks/03_*.ipynb", tasks=[
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


# -- F04 ----------------------------------------------------------------------------------


def _check_exact_agreement(answer: Any) -> Verdict:
    from agentkit.evals import agreement

    fn = as_function(answer, "your exact_agreement")
    trials = [([5, 4, 4, 3], [5, 3, 4, 2]), ([1, 2, 3], [1, 2, 3]), ([5, 5], [1, 2]), ([4, 4, 5, 5, 3], [4, 3, 5, 4, 3])]
    for judge, human in trials:
        got, error = call_learner_code(fn, list(judge), list(human))
        if error:
            return wrong(f"exact_agreement({judge}, {human}) raised {error}")
        value = as_number(got, f"exact_agreement({judge}, {human})")
        right = agreement(judge, human).exact
        if abs(value - right) > 1e-9:
            hint = " Give a fraction between 0 and 1, not a percentage." if value > 1 else ""
            return wrong(f"exact_agreement({judge}, {human}) returned {value:g}; count the pairs with the same "
                         f"score and divide by the number of pairs.{hint}")
    return passed("Right on every test pair. agentkit.evals.agreement computes it too, with kappa beside it.")


F04 = Exercises("f04", "Foundations 04 exercises", LESSONS["f04"], lesson_notebook="notebooks/04_*.ipynb", tasks=[
    FunctionTask("exact_agreement", "Write exact_agreement(judge, human): the share of items scored the same",
                 _check_exact_agreement, "a function (judge_scores, human_scores) -> a fraction between 0 and 1",
                 ("Walk the two lists side by side with zip(judge, human).",
                  "sum(j == h for j, h in zip(judge, human)) / len(judge)"), probes=(([4, 5], [4, 3]),)),
], solutions={
    "exact_agreement": """
        def exact_agreement(judge_scores, human_scores):
            "The share of items (0 to 1) where the judge's score equals the human's."
            share = sum(j == h for j, h in zip(judge_scores, human_scores)) / len(judge_scores)
            return share
    """,
}, answers={"exact_agreement": "exact_agreement"})


# -- F05 ----------------------------------------------------------------------------------


def _check_citation(answer: Any) -> Verdict:
    from agentkit.cases.support import POLICY_DOCS
    from agentkit.memory import Knowledge

    knowledge = Knowledge(POLICY_DOCS)
    ids = [p.id for p in knowledge.passages]
    got = as_name(answer, ids, what="your citation")
    right = next(p.id for p in knowledge.passages if "12 months" in p.text)
    if got != right:
        return wrong(f"[{got}] says: {knowledge.get(got).text!r}. Does that answer how long a faulty item can be "
                     "returned?")
    return passed(f"[{right}] is the passage that says so.")


F05 = Exercises("f05", "Foundations 05 exercises", LESSONS["f05"], lesson_notebook="notebooks/05_*.ipynb", tasks=[
    Task("citation", "Which passage answers: how long can I return a faulty item?", _check_citation,
         "a passage id such as 'returns#1', as a string",
         ("knowledge.search(question) returns passages with their ids, best first.",
          "Read the passages' text: the answer names a number of months.")),
], solutions={
    "citation": """
        print(knowledge.context(knowledge.search("how long can I return a faulty item")))
        my_citation = "returns#2"
    """,
}, answers={"citation": "my_citation"})


# -- F06 ----------------------------------------------------------------------------------


def _check_voucher_rule(answer: Any) -> Verdict:
    from agentkit.cases.support import GATE_CANDIDATES

    fn = as_function(answer, "your check")
    flagged, crashes = [], []
    for name, (output, _) in GATE_CANDIDATES.items():
        result, error = call_learner_code(fn, output)
        if error:
            crashes.append(f"{name}: {error}")
        elif result is not None:
            if not isinstance(result, str):
                raise AnswerError(f"your check returned {result!r} for {name!r}; return None to pass, or a sentence")
            flagged.append(name)
    if crashes:
        return wrong("Your check raised an error on: " + "; ".join(crashes))
    if "voucher" not in flagged:
        return wrong("It let the voucher reply through: return a sentence when the reply offers a voucher.")
    if len(flagged) > 1:
        return wrong(f"It also flags {', '.join(n for n in flagged if n != 'voucher')}, which offer no voucher.")
    return passed("It catches the voucher and nothing else: a rule the reviewer taught, now free and instant.")


F06 = Exercises("f06", "Foundations 06 exercises", LESSONS["f06"], lesson_notebook="notebooks/06_*.ipynb", tasks=[
    FunctionTask("voucher_rule", "Turn the reviewer's catch into a code check", _check_voucher_rule,
                 "a function output -> None (passes) or a sentence (fails)",
                 ("Write def no_vouchers(output): ... that returns None when the reply is fine.",
                  "re.search(r'voucher', output, re.IGNORECASE) finds the word; return a sentence naming the rule."),
                 probes=(("a reply",),)),
], solutions={
    "voucher_rule": """
        import re


        def no_vouchers(output):
            "Fail replies that offer a voucher: this account is flagged for voucher abuse."
            problem = None
            if re.search(r"voucher", output, re.IGNORECASE):
                problem = "offers a voucher, but this account is flagged for voucher abuse"
            return problem
    """,
}, answers={"voucher_rule": "no_vouchers"})

_LABS = {"f03": F03, "f04": F04, "f05": F05, "f06": F06}


def load(lesson: str) -> Lab:
    """A fresh copy of one lesson's exercises ("f03" .. "f06")."""
    from dataclasses import replace

    if lesson not in _LABS:
        raise KeyError(f"no exercises for {lesson!r}; choose one of {', '.join(_LABS)}")
    return replace(_LABS[lesson], _results={})
