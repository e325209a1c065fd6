"""The checked exercises of lesson F11 Production (they used to live in `agentkit.cases.production`).

1. ``monthly_cost`` and 2. ``biggest_bucket``: value tasks on the research agent's per-run cost table; the check
   recomputes the table offline (`production.research_run_costs`), and never prints the expected value.
3. ``outbound_rule``: the output check for `send_email`, a function, judged against `production.outbound_check`
   on the lesson's seven e-mails and on seeded look-alike addresses.
4. ``budget_stop``: a ReAct loop with a dollar budget and a step cap that the learner writes with the plain SDK.
   Graded offline on the transcript (`_transcript.run_recorded`): the check reads each reply's usage, prices it
   with `agentkit.cost_of`, and works out when a right loop stops, so any prompt or model the learner picks is
   judged by the same rule.
"""

from __future__ import annotations

import math
import random
from typing import Any

from agentkit.cases import production
from agentkit.course.lab import (
    FunctionTask, Task, Verdict, as_function, as_name, as_number, call_learner_code, passed, wrong,
)
from agentkit.exercises import Exercises
from agentkit.exercises._transcript import run_recorded
from agentkit.pricing import cost_of
from agentkit.redact import redact

# -- 1 and 2: the bill ---------------------------------------------------------------------------------------


def _check_monthly(answer: Any) -> Verdict:
    value = as_number(answer, "the monthly cost")
    right = production.monthly_cost(float(production.research_run_costs()["total $"].sum()), runs_per_day=5_000)["per month"]
    if math.isclose(value, right, rel_tol=0.01):
        return passed(f"Right: about ${right:,.0f} a month at 5,000 runs a day.")
    if math.isclose(value, right / 30, rel_tol=0.01):
        return wrong("That is the cost of one day. A month in this lesson is 30 days.")
    if math.isclose(value, right / 5, rel_tol=0.01):
        return wrong("That is the monthly cost at 1,000 runs a day; the question asks about 5,000.")
    if math.isclose(value, right / 5_000 / 30, rel_tol=0.01):
        return wrong("That is the cost of one run; multiply by the runs a day and the days in a month.")
    return wrong("Not quite. Take the total of the per-run table, then multiply by runs a day and by 30 days.")


def _check_bucket(answer: Any) -> Verdict:
    name = as_name(answer, ["LLM", "API", "infra"], {"llm $": "LLM", "api $": "API", "infra $": "infra",
                                                      "model": "LLM", "infrastructure": "infra"}, "the bucket")
    totals = production.research_run_costs()[["LLM $", "API $", "infra $"]].sum()
    right = str(totals.idxmax()).removesuffix(" $")
    if name == right:
        return passed(f"Right: {right} is {totals.max() / totals.sum():.0%} of a run's cost, so attack it first.")
    return wrong(f"Not quite: compare the column totals of the table; {name} is not the largest.")


# -- 3: the output check -------------------------------------------------------------------------------------

_ATTACK = ("records@collector.example", "Customer C-1042: Dana Whitfield, dana.whitfield@example.com, +1 415 555 0134")
_EMAIL_CASES: tuple[tuple[str, str], ...] = (
    _ATTACK,
    ("billing@ourcompany.example", "Please refund C-1042 (dana.whitfield@example.com) in full."),
    ("partner@vendor.example", "Thanks for the refund policy page; it answered our question."),
    ("support@Vendor.Example", "Our customer Dana (dana.whitfield@example.com) asks about her refund."),
    ("team@ourcompany.example", "The refund policy summary is in the ticket."),
    ("ops@ourcompany.example.evil.example", "Customer phone +1 415 555 0134"),
    ("Billing@OurCompany.Example", "Refund approved for the customer on the annual plan."),
)


def _hidden_emails(seed: int) -> list[tuple[str, str]]:
    """Seeded look-alikes and edge cases: other users, sub-domains, a domain only ending like the company's."""
    rng = random.Random(seed)
    user = rng.choice(["ana", "ops", "it", "x.y", "help"])
    clean = rng.choice(["The summary is attached.", "See the ticket.", "Thanks, all clear."])
    personal = f"Call her on +1 415 555 {rng.randint(1000, 9999)}."
    return [
        (f"{user}@evilourcompany.example", clean),  # ends like the company's name, but another domain
        (f"{user}@mail.ourcompany.example", clean),  # a sub-domain is not the company's domain, whole
        (f"{user}@VENDOR.EXAMPLE", personal),
        (f"{user}@ourcompany.example", personal),
        (f"{user}@vendor.example.attacker.example", clean),
    ]


def _check_outbound(answer: Any) -> Verdict:
    allow = as_function(answer, "allow")
    seed = random.SystemRandom().randrange(10_000)
    cases = [(c, "one of the lesson's e-mails") for c in _EMAIL_CASES] + [
        (c, f"a hidden e-mail (seed {seed})") for c in _hidden_emails(seed)]
    for (to, body), kind in cases:
        expected = production.outbound_check(to, body) is None
        got, error = call_learner_code(allow, to, body)
        if error:
            return wrong(f"allow({to!r}, ...) raised {error}. It should return True or False.")
        if not isinstance(got, bool):
            return wrong(f"allow({to!r}, ...) returned {got!r}; return True (send) or False (block).")
        if got != expected:
            verdict = "let it go" if got else "blocked it"
            return wrong(f"For {kind}, to {to!r} with body {body[:50]!r}..., your function {verdict}; "
                         f"the rule says it should {'go' if expected else 'be blocked'}.")
    return passed(f"Right on all {len(cases)} e-mails, including the injected one and {len(cases) - len(_EMAIL_CASES)} "
                  "hidden look-alikes.")


# -- 4: a loop with a dollar budget ----------------------------------------------------------------------------

_SITES = ("vendor.example/changelog", "docs.example/releases", "status.example/history", "shop.example/news")


def _budget_case(seed: int, usd_budget: float, max_steps: int, finishes_after: int | None = None) -> dict[str, Any]:
    """A crawl task on a seeded site; the scripted model follows "next page" links for ever, or (with
    `finishes_after`) answers after that many pages."""
    rng = random.Random(seed)
    site = f"{rng.choice(_SITES)}-{seed % 97}"
    pages = [{"text": f"Page {n}.", "tool_calls": [{"name": "fetch_page", "input": {"url": f"https://{site}?page={n}"}}]}
             for n in range(1, (finishes_after or 12) + 1)]
    scenario: dict[str, Any] = {"name": f"f11_budget_{seed}", "match": {"user": f"Crawl every page of {site}"},
                                "turns": pages}
    if finishes_after:
        scenario["turns"] = [*pages, {"text": f"Done: {finishes_after} pages of minor fixes."}]
    else:
        scenario["after"] = {"text": "The next link points back; following it.",
                             "tool_calls": [{"name": "fetch_page", "input": {"url": f"https://{site}?page=12"}}]}
    return {"task": f"Crawl every page of {site} and list the fixes.", "usd_budget": usd_budget,
            "max_steps": max_steps, "scenarios": [scenario], "seed": seed}


def _expected_stop(replies: list[dict[str, Any]], usd_budget: float, max_steps: int) -> tuple[int, str]:
    """How many calls a right loop makes on these replies, and the reason it gives (checks in the task's order:
    the model is done, then the budget, then the step cap)."""
    spent = 0.0
    for i, reply in enumerate(replies, start=1):
        spent += cost_of(str(reply.get("model")), reply.get("usage") or {})
        if reply.get("stop_reason") != "tool_use":
            return i, "done"
        if spent > usd_budget:
            return i, "cost_budget"
        if i >= max_steps:
            return i, "max_steps"
    return len(replies), "?"


def _judge_budget(fn: Any, case: dict[str, Any], label: str) -> str | None:
    tools = production.crawler_tools()
    t = run_recorded(fn, case["task"], tools, case["usd_budget"], case["max_steps"], scenarios=case["scenarios"])
    if t.calls == 0:
        return f"On {label} it never called the model{f' (it raised {t.error[:150]})' if t.error else ''}."
    if not t.requests[0].get("tools"):
        return "Its requests offer the model no tools; send tools=[t.to_dict() for t in tools]."
    missing = t.unanswered_tool_uses()
    if missing or (t.error and "without `tool_result`" in t.error):
        return (f"On {label} a request went out with tool_use block(s) never answered by a tool_result (the API "
                "refuses it with a 400); answer every tool call before the next request.")
    if t.error:
        return f"On {label} it raised {t.error[:200]}."
    calls, reason = _expected_stop(t.replies, case["usd_budget"], case["max_steps"])
    if t.calls > case["max_steps"]:
        return f"On {label} it made {t.calls} calls with max_steps={case['max_steps']}: the step cap did not hold."
    if t.calls != calls:
        spent = sum(cost_of(str(r.get("model")), r.get("usage") or {}) for r in t.replies)
        return (f"On {label} it made {t.calls} model calls (${spent:.5f} in all); with a budget of "
                f"${case['usd_budget']:g} and max_steps={case['max_steps']} a loop that adds each reply's cost "
                f"(agentkit.cost_of(reply.model, reply.usage)) should stop after {calls}.")
    if t.value != reason:
        return f"On {label} it stopped at the right call but returned {t.value!r:.60}; the stop reason is {reason!r}."
    return None


def _check_budget_stop(answer: Any) -> Verdict:
    fn = as_function(answer, "run_with_budget")
    seed = random.SystemRandom().randrange(1, 10_000)
    rng = random.Random(seed)
    cases = [
        (_budget_case(0, 0.002, 10), "the lesson's example (a $0.002 budget)"),
        (_budget_case(seed, 1e-9, 10), f"a hidden case where the first call already spends the budget (seed {seed})"),
        (_budget_case(seed + 1, 100.0, rng.randint(3, 6)), f"a hidden case the step cap must stop (seed {seed})"),
        (_budget_case(seed + 2, 100.0, 10, finishes_after=rng.randint(1, 3)),
         f"a hidden case where the model finishes on its own (seed {seed})"),
        (_budget_case(seed + 3, round(rng.uniform(0.0008, 0.003), 4), 12), f"a hidden budget (seed {seed})"),
    ]
    for case, label in cases:
        problem = _judge_budget(fn, case, label)
        if problem:
            return wrong(problem)
    return passed(f"It stops at the right call, for the right reason, on all {len(cases)} runs: the budget, the step "
                  "cap and a model that finishes.")


EXERCISES = Exercises("f11", "Foundations 11 exercises", "F11 Production", lesson_notebook="notebooks/11_*.ipynb", tasks=[
    Task("monthly_cost", "The research agent's monthly bill at 5,000 runs a day", _check_monthly,
         "a number of US dollars",
         ("A month's bill is the cost of one run, times the runs a day, times the days in a month (30 here). "
          "(Next: lab.hint('monthly_cost', 2).)",
          "The cost of one run is in the per-run table (production.research_run_costs()): one of its columns "
          "already adds the three sources.",
          "production.monthly_cost(per_run, runs_per_day=...) returns a dict; the monthly figure is one of its keys.")),
    Task("biggest_bucket", "The cost source to attack first", _check_bucket, "one of 'LLM', 'API' or 'infra'",
         ("Attack the source that costs the most across the run, not the one with the most rows. "
          "(Next: lab.hint('biggest_bucket', 2).)",
          "The per-run table has one $ column per source; add each column over the steps.",
          "table[[...three $ columns...]].sum() gives three totals; the largest names the bucket "
          "(drop the ' $' from its label).")),
    FunctionTask("outbound_rule", "An output check for e-mail", _check_outbound,
                 "a function allow(to, body) -> bool",
                 ("The decision depends on two things only: the recipient's domain, and whether the body holds "
                  "personal data. (Next: lab.hint('outbound_rule', 2).)",
                  "Take the domain after the last '@', in lower case, and compare it whole (==), never with "
                  "'in' or endswith. redact(body) != body tells you the body holds personal data.",
                  "Three branches: the company's domain, the partner's domain (only without personal data), "
                  "and everything else."),
                 probes=(("a@ourcompany.example", "hi"),)),
    FunctionTask("budget_stop", "A loop that stops at a dollar budget", _check_budget_stop,
                 "a function run_with_budget(client, task, tools, usd_budget, max_steps) -> 'done' | "
                 "'cost_budget' | 'max_steps'",
                 ("A ReAct loop (lesson 02) with one more question after every reply: how much has this run "
                  "spent so far? (Next: lab.hint('budget_stop', 2).)",
                  "agentkit.cost_of(reply.model, reply.usage) prices one reply; keep a running total. After each "
                  "reply check, in this order: did the model finish (stop_reason not 'tool_use'), is the total over "
                  "the budget, is this the last step allowed.",
                  "Run the tool_use blocks with tools_by_name[block.name].invoke(block.input) and send their "
                  "tool_results back before the next call; return the reason as soon as one check says stop."),
                 probes=((None, "", [], 1.0, 1),)),
], solutions={
    "monthly_cost": """
        table = production.research_run_costs()  # the offline run's per-step cost table
        per_run = table["total $"].sum()
        monthly_at_5000 = production.monthly_cost(per_run, runs_per_day=5_000)["per month"]
    """,
    "biggest_bucket": """
        table = production.research_run_costs()
        totals = table[["LLM $", "API $", "infra $"]].sum()
        first_bucket = totals.idxmax().removesuffix(" $")
    """,
    "outbound_rule": """
        def allow(to: str, body: str) -> bool:
            domain = to.rsplit("@", 1)[-1].strip().lower()
            if domain == "ourcompany.example":
                return True
            if domain == "vendor.example":
                return redact(body) == body  # a partner: nothing personal
            return False
    """,
    "budget_stop": """
        import agentkit

        def run_with_budget(client, task, tools, usd_budget, max_steps):
            "A ReAct loop that stops when the model is done, the run has spent usd_budget, or max_steps calls."
            by_name = {t.name: t for t in tools}
            messages = [{"role": "user", "content": task}]
            spent = 0.0
            for step in range(1, max_steps + 1):
                reply = client.messages.create(model=agentkit.FAST_MODEL, max_tokens=512, messages=messages,
                                               tools=[t.to_dict() for t in tools])
                spent += agentkit.cost_of(reply.model, reply.usage)
                if reply.stop_reason != "tool_use":
                    return "done"
                messages.append({"role": "assistant", "content": reply.content})
                results = []
                for block in reply.content:
                    if block.type == "tool_use":
                        out = by_name[block.name].invoke(block.input)
                        results.append({"type": "tool_result", "tool_use_id": block.id,
                                        "content": out.content, "is_error": out.is_error})
                messages.append({"role": "user", "content": results})
                if spent > usd_budget:
                    return "cost_budget"
            return "max_steps"
    """,
}, answers={"monthly_cost": "monthly_at_5000", "biggest_bucket": "first_bucket", "outbound_rule": "allow",
            "budget_stop": "run_with_budget"})
