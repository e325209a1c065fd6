"""The checked exercises of lesson F07 Reflection."""

from __future__ import annotations

import json
import random
import re
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


# -- a critic: one model call, its verdict through structured outputs ----------------------------------------

_PEOPLE = ("Sam", "Alex", "Priya", "Tom", "Jo", "Kim", "Marina", "Lee")
_FLAWS = (("next week", "The date is vague: name the day."), ("ASAP", "'ASAP' sets no deadline."),
          ("Thanks", "The close is abrupt: ask for a reply."), ("our meeting", "It never says which meeting."),
          ("the usual place", "The place is unclear to a new reader."))


def _critic_cases(rng: random.Random) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, draft, the scripted verdict) for pairs of a flawed draft and its fixed version, plus one verdict
    that says ok while listing a problem (which must not pass)."""
    cases = []
    for _ in range(3):
        name, ref = rng.choice(_PEOPLE), f"REF-{rng.randrange(1000, 9999)}"
        flaws = rng.sample(_FLAWS, rng.randint(1, 3))
        flawed = f"Hi {name}, about {ref}: " + " ".join(f"see {f[0]}." for f in flaws)
        fixed = f"Hi {name}, about {ref}: we meet on Tuesday 14 May at 10:00 in room 2. Could you confirm? Best, Jo"
        cases.append(("flawed", flawed, {"ok": False, "problems": [f[1] for f in flaws]}))
        cases.append(("fixed", fixed, {"ok": True, "problems": []}))
    ref = f"REF-{rng.randrange(1000, 9999)}"
    cases.append(("ok_with_problem", f"Hi Lee, about {ref}: see you then. Best, Jo",
                  {"ok": True, "problems": ["It never says when 'then' is."]}))
    return cases


def _check_critic(answer: Any) -> Verdict:
    from agentkit.exercises._transcript import run_recorded

    fn = as_function(answer, "my_critic")
    seed = random.randrange(1_000_000)
    for kind, draft, verdict in _critic_cases(random.Random(seed)):
        scenario = {"name": "f07_critic", "match": {"user": re.escape(draft)}, "turns": [{"json": verdict}]}
        run = run_recorded(fn, draft, scenarios=[scenario])
        shown = f"on the draft {draft!r} (check seed {seed})"
        if not run.requests:
            return wrong(f"It made no model call {shown}: a critic asks the model to review the draft.")
        sent = run.requests[0]
        schema = (sent.get("output_config") or {}).get("format", {}).get("schema", {})
        if not schema:
            return wrong("Its request carried no output_config.format: read the verdict through structured outputs "
                         "(client.messages.parse(..., output_format=Critique)), not from the reply's text.")
        if set(schema.get("properties", {})) != {"ok", "problems"}:
            return wrong(f"Its output format has the fields {sorted(schema.get('properties', {}))}; use Critique "
                         "(ok, problems), so the loop can read the verdict.")
        if run.error:
            return wrong(f"It raised {run.error} {shown}.")
        if len(run.requests) != 1:
            return wrong(f"It made {len(run.requests)} model calls {shown}; one review is one call.")
        if draft not in json.dumps(sent.get("messages", [])):
            return wrong(f"The draft never reached the model {shown}: send it in the user message.")
        got = run.value
        if not isinstance(got, Feedback):
            return wrong(f"It returned {type(got).__name__} {shown}; return Feedback(ok, problems, 'critic').")
        want_ok = verdict["ok"] and not verdict["problems"]
        if got.ok != want_ok:
            if kind == "ok_with_problem":
                return wrong(f"It passed a draft whose verdict said ok but still listed a problem {shown}: a draft "
                             "passes only when the verdict is ok and lists no problems.")
            return wrong(f"It {'passed' if got.ok else 'failed'} a draft the model's verdict "
                         f"{'failed' if got.ok else 'passed'} ({shown}).")
        if tuple(got.problems) != tuple(verdict["problems"]):
            return wrong(f"Its problems were {tuple(got.problems)!r}, not every problem of the model's verdict, in "
                         f"order ({shown}): the reviser needs all of them.")
    return passed("Its verdict flips when the draft is fixed, it passes every problem on, and it reads the verdict "
                  "through structured outputs.")


# The arguments each function is first called with, to tell a stub (returns ...) from an attempt.
_PROBE_OUTCOMES = (([_outcome("probe", False, True, 1, 2)],),)


EXERCISES = Exercises("f07_reflection", "Lesson 07 exercises", "F07 Reflection", lesson_notebook="notebooks/07_*.ipynb", tasks=[
    FunctionTask("tokens_per_fix", "Extra tokens per item reflection fixed", _check_tokens_per_fix,
                 "a function tokens_per_fix(outcomes) -> float",
                 ("Two sums: extra tokens over every item, and items that went from failing to passing. "
                  "Hint 2 gives the first.",
                  "extra = sum(o.cost_with.tokens - o.cost_without.tokens for o in outcomes). Hint 3 is about "
                  "the second.",
                  "An item was fixed when o.passed_with is true and o.passed_without is false; count those, "
                  "then divide."),
                 probes=_PROBE_OUTCOMES),
    FunctionTask("placeholder_check", "A check for unfilled placeholders", _check_placeholder_check,
                 "a function no_placeholders(draft) -> Feedback",
                 ("Three kinds of placeholder: TODO, {lowercase} and [UPPERCASE]. A regular expression finds "
                  "them all; hint 2 says which call.",
                  "re.findall(pattern, draft) returns every match: one sentence per match is your problems tuple.",
                  r"A pattern for the brackets: \[[A-Z_]+\] matches [NAME] but not [SG-101, SG-104]; "
                  r"\{[a-z_]+\} matches {total}. Join the three kinds with |."),
                 probes=(("Hi",),)),
    FunctionTask("critic", "A critic: one model call, read through structured outputs", _check_critic,
                 "a function my_critic(client, draft) -> Feedback",
                 ("One call to client.messages.parse, with the draft as the user message and a reviewer's system "
                  "prompt; hint 2 says how to read the verdict.",
                  "Pass output_format=Critique: the response's parsed_output then has .ok and .problems (it is None "
                  "when no verdict came back). Hint 3 is about what to return.",
                  "Return Feedback(ok, tuple(problems), 'critic'), where ok holds only if the verdict says ok and "
                  "lists no problems; with no verdict, return a failing Feedback that says so."),
                 probes=((None, "a draft"),)),
], solutions={
    "critic": """
        import agentkit
        from agentkit.patterns.reflection import Critique, Feedback


        def my_critic(client, draft):
            "Ask the model to review the draft; return Feedback(ok, problems, 'critic')."
            response = client.messages.parse(
                model=agentkit.FAST_MODEL, max_tokens=400, output_format=Critique,
                system="You are an exacting reviewer. List every concrete problem with the draft.",
                messages=[{"role": "user", "content": draft}])
            verdict = response.parsed_output
            if verdict is None:
                feedback = Feedback(False, (f"no verdict (stop reason {response.stop_reason})",), "critic")
            else:
                feedback = Feedback(verdict.ok and not verdict.problems, tuple(verdict.problems), "critic")
            return feedback
    """,
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
}, answers={"tokens_per_fix": "tokens_per_fix", "placeholder_check": "no_placeholders",
                                                            "critic": "my_critic"})
