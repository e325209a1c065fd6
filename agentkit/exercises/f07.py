"""The checked exercises of lesson F07 Reflection."""

from __future__ import annotations

import random
from typing import Any

from agentkit.course.lab import FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises
from agentkit.patterns.measure import Cost
from agentkit.patterns.reflection import Feedback, ItemOutcome


# -- Lesson 07 ------------------------------------------------------------------------------


def _outcome(name: str, before: bool, after: bool, t0: int, t1: int) -> ItemOutcome:
    return ItemOutcome(name, before, after, Cost(t0, 0), Cost(t1, 0), 1, "accepted")


def _check_tokens_per_fix(answer: Any) -> Verdict:
    fn = as_function(answer, "your answer")
    rng = random.Random(7)
    cases = [[_outcome("a", False, True, 100, 400), _outcome("b", True, True, 50, 60), _outcome("c", False, False, 80, 300)]]
    for _ in range(3):
        cases.append([_outcome(f"i{k}", rng.random() < 0.3, rng.random() < 0.7, rng.randint(50, 200),
                               rng.randint(250, 900)) for k in range(6)])
    cases = [c for c in cases if any(o.passed_with and not o.passed_without for o in c)]
    for outcomes in cases:
        fixed = sum(o.passed_with and not o.passed_without for o in outcomes)
        extra = sum(o.cost_with.tokens - o.cost_without.tokens for o in outcomes)
        want = extra / fixed
        got, error = call_learner_code(fn, outcomes)
        if error:
            return wrong(f"It raised {error} on a list of {len(outcomes)} outcomes.")
        if not isinstance(got, (int, float)) or abs(got - want) > 1e-6 * max(1.0, want):
            return wrong(f"On {len(outcomes)} outcomes it returned {got!r}. Count the extra tokens of every item "
                         "(fixed or not: all of them were paid for), and divide by the items that went from fail to pass.")
    return passed(f"Right on {len(cases)} sets of outcomes: every extra token counts, only real fixes divide.")


_DRAFTS = {
    "Dear [NAME], thanks for your order.": False,
    "Hi Sam, your order ships on Friday. Best, Jo": True,
    "TODO: add the delivery date. Best, Jo": False,
    "Hi Sam, the total is {total}. Best, Jo": False,
    "Hi Sam, all three items [SG-101, SG-104, SG-105] ship today. Best, Jo": True,
}


def _check_placeholder_check(answer: Any) -> Verdict:
    fn = as_function(answer, "your answer")
    for draft, ok in _DRAFTS.items():
        got, error = call_learner_code(fn, draft)
        if error:
            return wrong(f"It raised {error} on the draft {draft!r}.")
        if not isinstance(got, Feedback):
            return wrong(f"It returned a {type(got).__name__}; return Feedback(ok, problems, source).")
        if got.ok != ok:
            verdict = "passed" if got.ok else "failed"
            return wrong(f"It {verdict} {draft!r}, which should {'pass' if ok else 'fail'}.")
        if not ok and not got.problems:
            return wrong(f"It failed {draft!r} but listed no problem: the reviser needs to know what to fix.")
    return passed("It catches [NAME], {total} and TODO, names the problem, and lets real brackets through.")


# The arguments each function is first called with, to tell a stub (returns ...) from an attempt.
_PROBE_OUTCOMES = (([_outcome("probe", False, True, 1, 2)],),)


EXERCISES = Exercises("f07_reflection", "Lesson 07 exercises", "F07 Reflection", lesson_notebook="notebooks/07_*.ipynb", tasks=[
    FunctionTask("tokens_per_fix", "Extra tokens per item reflection fixed", _check_tokens_per_fix,
                 "a function tokens_per_fix(outcomes) -> float",
                 ("Two sums: extra tokens over every item, and items that went from failing to passing.",
                  "extra = sum(o.cost_with.tokens - o.cost_without.tokens for o in outcomes)"),
                 probes=_PROBE_OUTCOMES),
    FunctionTask("placeholder_check", "A check for unfilled placeholders", _check_placeholder_check,
                 "a function no_placeholders(draft) -> Feedback",
                 ("Look for TODO, {...} and [UPPERCASE] with re.search.",
                  r"re.findall(r'\[[A-Z_]+\]|\{[a-z_]+\}|TODO', draft) gives the problems to report."),
                 probes=(("Hi",),)),
], solutions={
    "tokens_per_fix": """
        def tokens_per_fix(outcomes):
            "Extra tokens reflection spent per item it fixed."
            fixed = sum(o.passed_with and not o.passed_without for o in outcomes)
            extra = sum(o.cost_with.tokens - o.cost_without.tokens for o in outcomes)
            per_fix = extra / fixed
            return per_fix
    """,
    "placeholder_check": """
        import re

        from agentkit.patterns.reflection import Feedback

        def no_placeholders(draft):
            "Fail drafts that still contain [UPPERCASE], {lowercase} or TODO placeholders."
            found = re.findall(r"\\[[A-Z_]+\\]|\\{[a-z_]+\\}|TODO", draft)
            feedback = Feedback(not found, tuple(f"unfilled placeholder {p}" for p in found), "placeholder check")
            return feedback
    """,
}, answers={"tokens_per_fix": "tokens_per_fix", "placeholder_check": "no_placeholders"})
