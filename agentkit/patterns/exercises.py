"""The checked exercises inside lessons 07-10, on the lab engine (`agentkit.course.lab`).

    lab = exercises(7)
    lab.check("tokens_per_fix", tokens_per_fix)      # a function: called on cases the checker builds
    lab.hint("tokens_per_fix"), lab.solution("tokens_per_fix")

Every checker computes the right answer itself from the lesson's data and
says specifically what is wrong; checks are recorded in the progress store
under the lesson's name, beside its quiz. Reference solutions sit beside the
checks (`agentkit.exercises.Exercises`, as for lessons 03-06), and a test runs
each one through its own check.
"""

from __future__ import annotations

import random
from typing import Any, Callable

import pydantic

from agentkit.course.lab import (
    AnswerError, FunctionTask, Lab, Task, Verdict, as_function, call_learner_code, passed, wrong,
)
from agentkit.exercises import Exercises
from agentkit.patterns import examples as ex
from agentkit.patterns.measure import Cost
from agentkit.patterns.reflection import Feedback, ItemOutcome

__all__ = ["exercises"]


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


# -- Lesson 09 ------------------------------------------------------------------------------


def _check_tagline_schema(answer: Any) -> Verdict:
    if not (isinstance(answer, type) and issubclass(answer, pydantic.BaseModel)):
        raise AnswerError(f"your answer is a {type(answer).__name__}; give the pydantic model class itself.")
    good: list[dict[str, Any]] = [{"text": "Arrive fresh. Pay less.", "tone": "punchy"},
                                  {"text": "An easier way to work.", "tone": "calm"}]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"text": "Arrive fresh", "tone": "shouty"}, "a tone other than punchy or calm"),
        ({"text": "x" * 41, "tone": "calm"}, "a tagline of 41 characters"),
        ({"tone": "calm"}, "a missing text"),
        ({"text": "Arrive fresh", "tone": "calm", "score": 9}, "an extra field the writer did not ask for"),
    ]
    for sample in good:
        try:
            answer.model_validate(sample)
        except pydantic.ValidationError as exc:
            return wrong(f"It refuses a good handoff {sample}: {exc.errors()[0]['msg']}.")
    for sample, what in bad:
        try:
            answer.model_validate(sample)
        except pydantic.ValidationError:
            continue
        return wrong(f"It accepts {what}: {sample}. A handoff schema must catch that before the next agent sees it.")
    return passed("It accepts both good taglines and refuses all four malformed handoffs.")


# -- Lesson 10 ------------------------------------------------------------------------------


def _check_partition_by_endpoint(answer: Any) -> Verdict:
    fn = as_function(answer, "your answer")
    for week in ex.LOG_WEEKS:
        lines = list(ex.LOGS[week])
        want: dict[str, list[str]] = {}
        for line in lines:
            want.setdefault(line.split()[2], []).append(line)
        returned, error = call_learner_code(fn, list(lines))
        if error:
            return wrong(f"It raised {error} on week {week}'s logs.")
        if not isinstance(returned, dict):
            return wrong(f"It returned a {type(returned).__name__}; return a dict: endpoint -> its lines.")
        got: dict[Any, Any] = returned
        if set(got) != set(want):
            return wrong(f"On week {week} its keys are {sorted(got)}; the endpoints are {sorted(want)}.")
        for endpoint, endpoint_lines in want.items():
            if list(got[endpoint]) != endpoint_lines:
                return wrong(f"On week {week}, {endpoint} should get its {len(endpoint_lines)} lines in their "
                             "original order (each line once, none from other endpoints).")
    return passed("Every line lands in exactly one partition, in order: four services, four agents.")


# The arguments each function is first called with, to tell a stub (returns ...) from an attempt.
_PROBE_OUTCOMES = (([_outcome("probe", False, True, 1, 2)],),)

_LABS: dict[int, Callable[[], Lab]] = {
    7: lambda: Exercises("f07_reflection", "Lesson 07 exercises", "F07 Reflection", lesson_notebook="notebooks/07_*.ipynb", tasks=[
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
    }, answers={"tokens_per_fix": "tokens_per_fix", "placeholder_check": "no_placeholders"}),
    8: lambda: Exercises("f08_planning", "Lesson 08 exercises", "F08 Planning", lesson_notebook="notebooks/08_*.ipynb", tasks=[
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
    }, answers={"aviator_plan": "aviator_plan"}),
    9: lambda: Exercises("f09_multi_agent", "Lesson 09 exercises", "F09 Multi-agent systems", lesson_notebook="notebooks/09_*.ipynb", tasks=[
        Task("tagline_schema", "A handoff schema for a tagline", _check_tagline_schema, "a pydantic model class",
             ("Literal['punchy', 'calm'] restricts the tone; Field(max_length=40) the text.",
              "model_config = pydantic.ConfigDict(extra='forbid') refuses extra fields.")),
    ], solutions={
        "tagline_schema": """
            from typing import Literal

            import pydantic

            class Tagline(pydantic.BaseModel):
                model_config = pydantic.ConfigDict(extra="forbid")
                text: str = pydantic.Field(max_length=40)
                tone: Literal["punchy", "calm"]
        """,
    }, answers={"tagline_schema": "Tagline"}),
    10: lambda: Exercises("f10_decomposition", "Lesson 10 exercises", "F10 Decomposing big work", lesson_notebook="notebooks/10_*.ipynb", tasks=[
        FunctionTask("partition_by_endpoint", "Partition the logs by service", _check_partition_by_endpoint,
                     "a function partition_by_endpoint(lines) -> dict[str, list[str]]",
                     ("The endpoint is the third field of each line: line.split()[2].",
                      "dict.setdefault(endpoint, []).append(line) keeps the order."),
                     probes=((["2026-10-05T00:00 GET /api/cart 200 93ms"],),)),
    ], solutions={
        "partition_by_endpoint": """
            def partition_by_endpoint(lines):
                "Group log lines by endpoint, keeping their order."
                partitions = {}
                for line in lines:
                    partitions.setdefault(line.split()[2], []).append(line)
                return partitions
        """,
    }, answers={"partition_by_endpoint": "partition_by_endpoint"}),
}


def exercises(lesson: int) -> Lab:
    """The checked exercises of lesson `lesson` (7 to 10), fresh (no attempts yet)."""
    if lesson not in _LABS:
        raise ValueError(f"lessons with exercises here: {', '.join(map(str, _LABS))}; got {lesson!r}")
    return _LABS[lesson]()
