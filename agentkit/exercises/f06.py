"""The checked exercises of lesson F06 Guardrails."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from agentkit.course.lab import AnswerError, FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises


# -- F06 ----------------------------------------------------------------------------------


def _voucher_variants(rng: random.Random) -> dict[str, tuple[str, bool]]:
    """The seven replies of the lesson, plus hidden ones: other spellings of a voucher offer, and replies that
    mention neither (name -> (output, offers a voucher))."""
    from agentkit.cases.support import GATE_CANDIDATES

    cases = {name: (output, name == "voucher") for name, (output, _) in GATE_CANDIDATES.items()}
    code = f"SORRY{rng.randrange(10, 99)}"
    cases["hidden: a capitalised offer"] = (f'{{"subject": "Order A-{rng.randrange(1000, 9999)}", "body": "Hi, '
                                            f'here is a VOUCHER ({code}) for the trouble."}}', True)
    cases["hidden: two vouchers"] = ('{"subject": "Sorry", "body": "Two Vouchers are on their way to you."}', True)
    cases["hidden: a plain update"] = (f'{{"subject": "Sorry", "body": "The order ships {rng.choice(["today", "on Monday", "tomorrow"])}."}}', False)
    return cases


def _check_voucher_rule(answer: Any) -> Verdict:
    fn = as_function(answer, "your check")
    flagged, crashes, missed = [], [], []
    for name, (output, offers) in _voucher_variants(random.Random(random.randrange(1_000_000))).items():
        result, error = call_learner_code(fn, output)
        if error:
            crashes.append(f"{name}: {error}")
        elif result is not None:
            if not isinstance(result, str):
                raise AnswerError(f"your check returned {result!r} for {name!r}; return None to pass, or a sentence")
            if not offers:
                flagged.append(name)
        elif offers:
            missed.append(name)
    if crashes:
        return wrong("Your check raised an error on: " + "; ".join(crashes))
    if "voucher" in missed:
        return wrong("It let the voucher reply through: return a sentence when the reply offers a voucher.")
    if flagged:
        return wrong(f"It also flags {', '.join(flagged)}, which offer no voucher.")
    if missed:
        return wrong(f"It let through {', '.join(missed)}: the offer can be spelt in other ways.")
    return passed("It catches the voucher and nothing else: a rule the reviewer taught, now free and instant.")


# -- the feedback loop: draft, check, send the problem back, cap the revisions ----------------------------------

def _loop_cases(rng: random.Random) -> list[tuple[str, int, int, str]]:
    """(kind, passes_at, max_revisions, tracking number): the draft passes at attempt `passes_at` (-1: never)."""
    cases = [("passes at once", 0, rng.randint(1, 3)), ("passes after one revision", 1, rng.randint(1, 3)),
             ("passes after two revisions", 2, rng.randint(2, 3)), ("never passes", -1, rng.randint(1, 3)),
             ("never passes, no revisions allowed", -1, 0), ("would pass one revision too late", 2, 1)]
    return [(kind, at, cap, f"TRK-{rng.randrange(10000, 99999)}") for kind, at, cap in cases]


def _check_feedback_loop(answer: Any) -> Verdict:
    from agentkit.exercises._transcript import run_recorded

    fn = as_function(answer, "write_until_it_passes")
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    for kind, passes_at, cap, track in _loop_cases(rng):
        order = f"A-{rng.randrange(1000, 9999)}"
        task = f"Reply to Sam: where is order {order}?"
        drafts = [f"Hi Sam, order {order} is on its way (draft {i + 1})." if i != passes_at else
                  f"Hi Sam, order {order} is on its way; tracking {track} (draft {i + 1})." for i in range(cap + 2)]
        problem = f"the reply must give the tracking number {track}"

        def check(draft: str, track: str = track, problem: str = problem) -> str | None:
            return None if isinstance(draft, str) and track in draft else problem

        scenario = {"name": "f06_feedback_loop", "match": {"user": re.escape(task)}, "turns": drafts,
                    "after": drafts[-1]}
        run = run_recorded(fn, task, check, cap, scenarios=[scenario])
        shown = f"in the case '{kind}' (max_revisions={cap}; check seed {seed})"
        if run.error:
            return wrong(f"It raised {run.error} {shown}.")
        calls = (passes_at if 0 <= passes_at <= cap else cap) + 1
        if len(run.requests) != calls:
            return wrong(f"It made {len(run.requests)} model calls {shown}; it should make {calls}: one draft, then "
                         "one revision per failed check, and no more than max_revisions revisions.")
        for i, sent in enumerate(run.requests[1:], 1):
            messages = sent.get("messages", [])
            if len(messages) < 3 or task not in json.dumps(messages[0]):
                return wrong(f"Revision {i} {shown} did not continue the conversation: keep the task, the draft "
                             "and the feedback in one message list.")
            if messages[-2].get("role") != "assistant" or drafts[i - 1] not in json.dumps(messages[-2]):
                return wrong(f"Revision {i} {shown} did not show the model its previous draft as the assistant's "
                             "turn, so it cannot revise it.")
            if messages[-1].get("role") != "user" or problem not in json.dumps(messages[-1]):
                return wrong(f"Revision {i} {shown} did not send the check's problem back in the user turn: the "
                             "model cannot fix what it is not told.")
        want = drafts[passes_at] if 0 <= passes_at <= cap else None
        got = run.value.strip() if isinstance(run.value, str) else run.value
        if want is None and got is not None:
            return wrong(f"It returned {got!r} {shown}, but no draft passed the check: return None, so nothing "
                         "that failed the gate ships.")
        if want is not None and got != want:
            return wrong(f"It returned {got!r} {shown}; return the draft that passed the check.")
    return passed("It revises from the check's problem, stops as soon as a draft passes, and stops at the cap "
                  "without shipping a failing draft.")


EXERCISES = Exercises("f06", "Foundations 06 exercises", "F06 Guardrails", lesson_notebook="notebooks/06_*.ipynb", tasks=[
    FunctionTask("voucher_rule", "Turn the reviewer's catch into a code check", _check_voucher_rule,
                 "a function output -> None (passes) or a sentence (fails)",
                 ("The rule is about one word in the reply. Return None when it is absent, a sentence when it is "
                  "there. Hint 2 says how to look for it.",
                  "A regular expression finds a word anywhere in the text; the check also tries other spellings "
                  "(capitals, plurals). Hint 3 says which flag.",
                  "re.search(pattern, output, re.IGNORECASE) ignores case; the sentence you return should name "
                  "the rule, so the agent knows what to fix."),
                 probes=(("a reply",),)),
    FunctionTask("feedback_loop", "The gate's feedback loop, with a cap", _check_feedback_loop,
                 "a function write_until_it_passes(client, task, check, max_revisions) -> the passing draft, or None",
                 ("Keep one message list. Call the model, read the draft's text, run check(draft): None means it "
                  "passes. Hint 2 is about what to do when it fails.",
                  "On a failure, append the draft as the assistant's turn and the problem as the next user turn, "
                  "then call again. Hint 3 is about when to stop.",
                  "A for loop over range(max_revisions + 1) makes one draft plus at most max_revisions revisions; "
                  "return the draft as soon as it passes, and None after the loop."),
                 probes=((None, "a task", lambda draft: None, 0),)),
], solutions={
    "feedback_loop": """
        import agentkit


        def write_until_it_passes(client, task, check, max_revisions):
            "Draft, check, and revise from the check's problem; the passing draft, or None after the cap."
            messages = [{"role": "user", "content": task}]
            for attempt in range(max_revisions + 1):
                response = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=400, messages=messages)
                draft = "".join(block.text for block in response.content if block.type == "text")
                problem = check(draft)
                if problem is None:
                    return draft
                messages += [{"role": "assistant", "content": draft},
                             {"role": "user", "content": f"This failed a check: {problem}. Revise it."}]
            return None
    """,
    "voucher_rule": """
        import re


        def no_vouchers(output):
            "Fail replies that offer a voucher: this account is flagged for voucher abuse."
            problem = None
            if re.search(r"voucher", output, re.IGNORECASE):
                problem = "offers a voucher, but this account is flagged for voucher abuse"
            return problem
    """,
}, answers={"voucher_rule": "no_vouchers", "feedback_loop": "write_until_it_passes"})
