"""The checked exercises of lesson F06 Guardrails."""

from __future__ import annotations

from typing import Any

from agentkit.course.lab import AnswerError, FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises


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


EXERCISES = Exercises("f06", "Foundations 06 exercises", "F06 Guardrails", lesson_notebook="notebooks/06_*.ipynb", tasks=[
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
