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


# -- a model-based check that fails closed: follows / contradicts / unsure --------------------------------------

_SENTENCES = {
    "follows": ("We've refunded the shipping fee for the delay.", "Your tracking number is {track}.",
                "We're sorry it is late; the shipping fee is back on your card."),
    "contradicts": ("Shipping fees are never refunded.", "We cannot refund shipping for delays.",
                    "The delivery fee stays, as the parcel did arrive."),
    "unsure": ("We'll see what we can do about the fee.", "Someone may look at the shipping cost later.",
               "The fee might be reviewed."),
}


def _policy_cases(rng: random.Random) -> list[tuple[str, str, str]]:
    """(verdict, reply, evidence): every verdict at least once, in a shuffled order, names and ids perturbed."""
    kinds = ["follows", "contradicts", "unsure", rng.choice(["follows", "contradicts", "unsure"])]
    rng.shuffle(kinds)
    cases = []
    for kind in kinds:
        evidence = rng.choice(_SENTENCES[kind]).format(track=f"TRK-{rng.randrange(10000, 99999)}")
        reply = (f"Hi {rng.choice(['Sam', 'Kim', 'Lee', 'Ana'])}, order A-{rng.randrange(1000, 9999)} is delayed at "
                 f"the depot. {evidence} Northwind Support")
        cases.append((kind, reply, evidence))
    return cases


def _check_policy_check(answer: Any) -> Verdict:
    from agentkit.cases.support import REPLY_POLICY
    from agentkit.exercises._transcript import run_recorded

    fn = as_function(answer, "policy_check")
    seed = random.randrange(1_000_000)
    for kind, reply, evidence in _policy_cases(random.Random(seed)):
        scenario = {"name": "f06_policy_check", "match": {"user": re.escape(reply)},
                    "turns": [{"json": {"verdict": kind, "evidence": evidence}}]}
        run = run_recorded(fn, reply, scenarios=[scenario])
        shown = f"on the reply {reply!r}, judged {kind!r} (check seed {seed})"
        if not run.requests:
            return wrong(f"It made no model call {shown}: this check asks a model whether the reply follows the policy.")
        sent = run.requests[0]
        schema = (sent.get("output_config") or {}).get("format", {}).get("schema", {})
        if not schema:
            return wrong("Its request carried no output_config.format: read the verdict through structured outputs "
                         "(client.messages.parse(..., output_format=PolicyVerdict)), not from the reply's text.")
        if set(schema.get("properties", {})) != {"verdict", "evidence"}:
            return wrong(f"Its output format has the fields {sorted(schema.get('properties', {}))}; use PolicyVerdict "
                         "(verdict, evidence).")
        if run.error:
            return wrong(f"It raised {run.error} {shown}.")
        if len(run.requests) != 1:
            return wrong(f"It made {len(run.requests)} model calls {shown}; one verdict is one call.")
        sent_text = json.dumps({"system": sent.get("system"), "messages": sent.get("messages")})
        if json.dumps(reply)[1:-1] not in sent_text:
            return wrong(f"The reply never reached the model {shown}: send it in the user message.")
        if json.dumps(REPLY_POLICY)[1:-1] not in sent_text:
            return wrong("The model was not told the policy (REPLY_POLICY): it cannot tell whether a reply follows a "
                         "policy it has never seen.")
        got = run.value
        if kind == "follows":
            if got is not None:
                return wrong(f"It returned {got!r} {shown}; a reply that follows the policy passes: return None.")
            continue
        if not isinstance(got, str) or not got.strip():
            why = ("an unsure verdict must not pass a reply: fail closed, so a person looks" if kind == "unsure" else
                   "a reply that contradicts the policy fails")
            return wrong(f"It returned {got!r} {shown}; {why}. Return a sentence.")
        if evidence not in got:
            return wrong(f"Its sentence {got!r} {shown} leaves out the evidence: quote the sentence the model found, so "
                         "the agent (or the person) sees what to fix.")
    return passed("It passes what follows the policy, fails what contradicts it, fails closed when the model is unsure, "
                  "quotes the evidence, and reads the verdict through structured outputs.")


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
    FunctionTask("policy_check", "A model-based check that fails closed", _check_policy_check,
                 "a function policy_check(client, output) -> None (passes) or a sentence (fails)",
                 ("One client.messages.parse call with PolicyVerdict as the output format; the model must see the "
                  "policy and the reply. Hint 2 is about the message.",
                  "Put REPLY_POLICY and the output in the user message, in tags such as <policy> and <reply> so the "
                  "model can tell them apart. Hint 3 is about the verdict.",
                  "response.parsed_output has .verdict and .evidence (it is None when no verdict came back). Only "
                  "'follows' passes (return None); anything else, no verdict included, returns a sentence that "
                  "quotes the evidence."),
                 probes=((None, "a reply"),)),
], solutions={
    "policy_check": """
        from typing import Literal

        from pydantic import BaseModel

        import agentkit
        from agentkit.cases.support import REPLY_POLICY


        class PolicyVerdict(BaseModel):
            verdict: Literal["follows", "contradicts", "unsure"]
            evidence: str


        def policy_check(client, output):
            "Ask a model whether the reply follows the policy; only a clear 'follows' passes."
            response = client.messages.parse(
                model=agentkit.FAST_MODEL, max_tokens=300, output_format=PolicyVerdict,
                system="Decide whether the reply follows the policy. Quote the sentence that decides it.",
                messages=[{"role": "user", "content": f"<policy>{REPLY_POLICY}</policy>\\n<reply>{output}</reply>"}])
            found = response.parsed_output
            problem = None
            if found is None:
                problem = f"no verdict came back (stop reason {response.stop_reason}): a person should look"
            elif found.verdict != "follows":
                problem = f'{found.verdict}: "{found.evidence}"'
            return problem
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
}, answers={"voucher_rule": "no_vouchers", "policy_check": "policy_check"})
