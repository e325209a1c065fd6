"""Lab 2, Token Cost Anatomy: model a support agent's token bill, bucket by bucket.

The scenario (from the course's Lesson 2 lab): a customer-support agent with a
3,500-token system prompt, 12 tool schemas of about 350 tokens each, 800
tokens of user input and 600 tokens of output per step, running up to 10
steps. Every checker computes its figure from `SCENARIO` (and, for the
growth task, `GROWING`: the same agent once its order lookups return more
history each step) with `agentkit.costs` and prices it with
`agentkit.pricing`, so changing the scenario or a price changes what the
checks expect.
"""

from __future__ import annotations

import math
from typing import Any

from dataclasses import replace

from agentkit.costs import (
    BUCKETS,
    COMPRESSION_TRIGGER,
    STABLE_PREFIX,
    AgentProfile,
    bucket_totals,
    caching_savings,
    compression_due,
    largest_bucket,
    marginal_growth,
    run_cost,
    run_steps,
    step_tokens,
)
from agentkit.course.lab import (
    FunctionTask,
    Lab,
    as_function,
    call_learner_code,
    Task,
    Verdict,
    as_mapping,
    as_name,
    as_names,
    as_number,
    as_whole_number,
    passed,
    wrong,
)
from agentkit.models import DEFAULT_MODEL, PREVIOUS_DEFAULT_MODEL
from agentkit.pricing import cost_of, price_of

SCENARIO = AgentProfile(
    system_prompt_tokens=3_500,
    tool_count=12,
    tokens_per_tool=350,
    user_input_tokens=800,
    output_tokens=600,
    steps=10,
)
#: The same agent after it gained an order-history lookup whose output grows each step (400 tokens at
#: step 1, 300 more on every later step): the profile of the growth task, where the trigger really fires.
GROWING = replace(SCENARIO, tool_output_tokens=400, tool_output_increase=300)
#: The model the lab prices the run at.
MODEL = DEFAULT_MODEL

# Other spellings learners reach for, mapped to the bucket names.
ALIASES: dict[str, str] = {
    "system_prompt": "system",
    "prompt": "system",
    "tool_schemas": "tools",
    "schemas": "tools",
    "tool": "tools",
    "tool_output": "tool_outputs",
    "tool_results": "tool_outputs",
    "outputs": "tool_outputs",
    "conversation_history": "history",
    "conversation": "history",
    "user": "user_input",
    "input": "user_input",
    "user_turn": "user_input",
    "new_input": "user_input",
}


def _near(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-3)


# -- task 1: step 10's input, bucket by bucket ---------------------------------


def _explain_bucket(name: str, got: int, right: int, p: AgentProfile) -> str:
    last = p.steps
    if name == "system":
        if got == right * last:
            return f"system: {got:,} is the system prompt over all {last} steps; the task asks what step {last} alone sends."
        return f"system: {got:,} is not it. The whole system prompt goes out on every call, step {last} included."
    if name == "tools":
        if got == p.tokens_per_tool:
            return f"tools: {got:,} is one tool's schema; every bound tool's schema is sent on every call."
        if got == right * last:
            return f"tools: {got:,} is the schemas over all {last} steps; the task asks about step {last} alone."
        return "tools: not it. Count every bound tool's schema, each about the same size."
    if name == "history":
        if got == last * p.exchange_tokens:
            return (f"history: {got:,} counts {last} exchanges, but at step {last} only steps 1-{last - 1} are finished; "
                    "the current turn is the user_input bucket.")
        if got == (last - 1) * p.output_tokens:
            return "history: that counts only the model's replies; the history also keeps every earlier user turn."
        if got == (last - 1) * p.user_input_tokens:
            return "history: that counts only the user's turns; the model's earlier replies are re-sent too."
        if got == 0:
            return f"history: it is empty only at step 1; by step {last} every finished step has added an exchange."
        return "history: not it. It holds every finished exchange (user input plus model output) from the earlier steps."
    if name == "tool_outputs":
        if right == 0:
            return ("tool_outputs: this configuration counts no tool output (the course's scenario gives none), so the "
                    "bucket is 0 here; the growth task below has an agent whose lookups return a lot.")
        return "tool_outputs: not it. Add up what the tools returned on every earlier step: it is all sent again."
    if got == p.exchange_tokens:
        return "user_input: that adds the output; this step's new input is only the user's turn (the output comes after the call)."
    return "user_input: not it. This bucket is the new turn the user sends at this step."


def check_step10_input(answer: Any) -> Verdict:
    p = SCENARIO
    right = step_tokens(p, p.steps).buckets()
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        total = sum(right.values())
        verdict = "matches" if answer == total else "does not match"
        return wrong(f"This task wants the input by bucket, not one total (your total {verdict} the step's input). "
                     f"Give a dict with the keys {', '.join(map(repr, BUCKETS))}.")
    given = as_mapping(answer, BUCKETS, ALIASES, what="step10")
    got = {name: as_whole_number(value, what=f"step10[{name!r}]") for name, value in given.items()}
    problems = [_explain_bucket(name, got[name], right[name], p) for name in BUCKETS if got[name] != right[name]]
    if problems:
        ok = len(BUCKETS) - len(problems)
        return wrong(f"{ok} of {len(BUCKETS)} buckets are right. " + " ".join(problems))
    total = sum(right.values())
    return passed(
        f"Step {p.steps} sends {total:,} input tokens: tools {right['tools']:,}, system {right['system']:,}, "
        f"history {right['history']:,} ({p.steps - 1} finished exchanges of {p.exchange_tokens:,}), "
        f"tool outputs {right['tool_outputs']:,}, user input {right['user_input']:,}. History is already the biggest "
        "bucket, and with no tool output counted it is the only one that grows."
    )


# -- task 2: the whole run's input ------------------------------------------------


def check_run_input(answer: Any) -> Verdict:
    p = SCENARIO
    steps = run_steps(p)
    right = sum(s.input for s in steps)
    got = as_whole_number(answer, what="run_input")
    if got == right:
        totals = bucket_totals(p)
        dollars = right * price_of(MODEL).input_per_token
        parts = ", ".join(f"{name} {totals[name]:,}" for name in BUCKETS)
        return passed(f"{right:,} input tokens over {p.steps} steps ({parts}); "
                      f"at ${price_of(MODEL).input_per_mtok:g} per million that is ${dollars:.3f} of input per run.")
    last = steps[-1].input
    if got == last:
        return wrong(f"That is step {p.steps}'s input alone; add up the input of all {p.steps} steps.")
    if got == last * p.steps:
        return wrong(f"That treats every step as if it were step {p.steps}. History is smaller early on "
                     "(empty at step 1), so each step's input is different.")
    if got == right + p.output_tokens * p.steps:
        ratio = price_of(MODEL).output_per_mtok / price_of(MODEL).input_per_mtok
        return wrong(f"You added the output tokens. The task asks for input tokens; output is billed separately "
                     f"(at {ratio:g}x the price).")
    if got == steps[0].input * p.steps:
        return wrong("That leaves out the history, which grows by one exchange each step.")
    return wrong(f"Not {got:,}. Work out each step's input (like step 10, with one exchange of history fewer "
                 "per earlier step) and add them up.")


# -- task 3: the bucket with the most leverage -----------------------------------


def check_leverage(answer: Any) -> Verdict:
    p = SCENARIO
    name = as_name(answer, BUCKETS, ALIASES, what="leverage")
    totals = bucket_totals(p)
    right = largest_bucket(p)
    if name == right:
        share = totals[right] / sum(totals.values())
        return passed(f"{right} is {totals[right]:,} of the run's {sum(totals.values()):,} input tokens ({share:.0%}), "
                      "and its share grows with every extra step: summarising or trimming it cuts the most.")
    grows = [b for b in BUCKETS if len({s.buckets()[b] for s in run_steps(p)}) > 1]
    if name in STABLE_PREFIX:
        return wrong(f"{name} is {totals[name]:,} tokens over the run and the same on every step, which makes it a fine "
                     "caching target. But another bucket sends more over the whole run, and it keeps growing.")
    return wrong(f"{name} is {totals[name]:,} tokens over the run, the smallest share. Compare all four buckets' totals; "
                 f"{'one of them' if grows else 'the largest'} grows with every step.")


# -- task 4: what step 10 reads from the cache -------------------------------------

#: What step 10 reads from the cache under each plan (tool outputs of earlier steps are history too).
MOVING_READS = frozenset({"tools", "system", "history", "tool_outputs"})
PREFIX_READS = frozenset(STABLE_PREFIX)


def check_cache_reads(answer: Any) -> Verdict:
    p = SCENARIO
    chosen = as_names(answer, BUCKETS, ALIASES, what="cache_reads")
    moving = chosen | {"tool_outputs"} == MOVING_READS  # this scenario's tool outputs are 0 tokens: either way
    if moving:
        s10 = step_tokens(p, p.steps)
        read = s10.input - s10.user_input
        return passed(
            f"With a top-level cache_control the breakpoint moves to the end of each request, so step {p.steps} reads "
            f"everything step {p.steps - 1} sent: tools, system and the history ({read:,} of its {s10.input:,} input "
            f"tokens). Only the new turn ({s10.user_input:,}) is written, to be read by the next step."
        )
    if chosen == PREFIX_READS:
        return passed(
            f"That is the fixed plan: a breakpoint after the system prompt caches the {p.prefix_tokens:,}-token prefix of "
            "tools and system. It works, but the history, the biggest bucket, is still paid in full on every step. "
            "A top-level cache_control moves the breakpoint forward each step so the history is read from the cache "
            "too; task 5 prices that plan."
        )
    notes = []
    if "user_input" in chosen:
        notes.append("the user's new turn has never been sent before, so no cache holds it yet: it is written at this "
                     "step and read from the next one on")
    if "history" in chosen and not PREFIX_READS <= chosen:
        notes.append("a cached prefix is read from the start of the request: to read the history, the tools and "
                     "system before it must be read too")
    for name in sorted(PREFIX_READS - chosen):
        notes.append(f"{name} is left out, yet it is identical on every step and comes first in the request")
    if not chosen:
        notes.append("an empty plan caches nothing")
    return wrong("Not quite: " + "; ".join(notes) + ".")


# -- task 5: the savings ------------------------------------------------------------


def multiplier(model: str, field: str) -> float:
    """A usage field's price as a multiple of plain input, read off `cost_of` itself (so per-model
    cache-read prices and any future change carry over): 1.25 for a 5-minute cache write, 0.1 for a read ..."""
    per_million = cost_of(model, {"input_tokens": 1_000_000})
    return cost_of(model, {field: 1_000_000}) / per_million


def check_cache_savings(answer: Any) -> Verdict:
    p = SCENARIO
    got = as_number(answer, what="cache_savings")
    right = caching_savings(p, MODEL, cache="moving")
    base = price_of(MODEL).input_per_token
    plain = run_cost(p, MODEL)
    cached = run_cost(p, MODEL, cache="moving")
    if abs(got - right) <= 0.0005:
        return passed(
            f"A top-level cache_control saves ${right:.4f} per run, {right / plain.dollars:.1%} of the whole run "
            f"(${plain.dollars:.4f} -> ${cached.dollars:.4f}): {cached.cache_write_tokens:,} tokens written once each "
            f"and {cached.cache_read_tokens:,} read back. At 1,000 runs a day that is ${right * 1000:,.0f} a day."
        )
    read_x = multiplier(MODEL, "cache_read_input_tokens")
    if _near(got, caching_savings(p, MODEL, cache="prefix")):
        return wrong("That is what the fixed plan saves (tools and system cached, history paid in full). This task "
                     "prices the moving breakpoint, which reads the history from the cache too.")
    if _near(got, right / base):
        return wrong(f"That looks like a number of tokens. The task asks for dollars per run, at "
                     f"${price_of(MODEL).input_per_mtok:g} per million input tokens.")
    no_premium = plain.dollars - (cached.cache_write_tokens + cached.cache_read_tokens * read_x) * base
    if _near(got, no_premium):
        return wrong("You left out the write premium: whatever a step writes to the cache costs 1.25x the input price.")
    if _near(got, cached.dollars):
        return wrong("That is what the run costs with caching. The savings are the difference from the uncached cost.")
    if _near(got, right / plain.dollars * 100):
        return wrong("That looks like a percentage. The task asks for dollars saved per run.")
    if _near(got, caching_savings(p, MODEL, cache="moving", ttl="1h")):
        return wrong("That uses the 1-hour cache's write price (2x). Steps seconds apart only need the 5-minute cache (1.25x).")
    if abs(got - right) <= 0.005:
        return wrong("Close, but not within a twentieth of a cent. Keep at least three decimals: at thousands of runs a day they add up.")
    return wrong("Not it. Each step n > 1 reads all of step n - 1's input from the cache and writes only what is new; "
                 "step 1 writes its whole input. Price writes at 1.25x and reads at the model's read price, then "
                 "subtract from the uncached run.")


# -- task 6: the growth trigger --------------------------------------------------------


def check_growth_trigger(answer: Any) -> Verdict:
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (list, tuple, set, frozenset)):
        return wrong(f"Give the step numbers as a list, such as [2, 3]; got a {type(answer).__name__}.")
    got = sorted(as_whole_number(x, what="an item of growth_steps") for x in answer)
    growth = marginal_growth(GROWING)
    right = compression_due(growth)
    shown = ", ".join(f"step {i + 2} {g:.1%}" for i, g in enumerate(growth))
    if got == right:
        return passed(
            f"Compression is due at steps {right[0]}-{right[-1]}: {shown}. The percentage still falls, because each "
            "addition lands on a bigger context, but the growing tool outputs keep it over the trigger for most of "
            f"the run. With constant additions (lab.scenario) only step 2 passes it: "
            f"{', '.join(f'{g:.1%}' for g in marginal_growth(SCENARIO)[:3])}, ..."
        )
    if got == [i + 1 for i in right]:
        return wrong("Off by one: growth[0] compares step 2 with step 1, so it is step 2's growth.")
    if got == [i - 1 for i in right] or got == [i - 2 for i in right]:
        return wrong("Those look like list positions. Name the steps: growth[0] is step 2's growth over step 1.")
    if got == compression_due(marginal_growth(SCENARIO)):
        return wrong("That is the constant-addition profile (lab.scenario). This task is about GROWING, whose tool "
                     "outputs get longer each step.")
    if got == compression_due(growth, 0.20):
        return wrong(f"Those steps pass 20%. The lab uses the lower edge of the course's 15-20% range: "
                     f"{COMPRESSION_TRIGGER:.0%}, so the alert comes early.")
    return wrong("Not those steps. Compute each step's input, then (input_n - input_n-1) / input_n-1 for n = 2..10, "
                 "and list the steps where that passes 0.15.")


TASKS = [
    Task(
        id="step10_input",
        title="Step 10's input, bucket by bucket",
        checker=check_step10_input,
        expects=f"a dict of token counts with the keys {', '.join(map(repr, BUCKETS))}",
        hints=(
            "Three buckets are easy: the system prompt and the tool schemas are sent whole on every call, and the "
            "user's new turn is one turn. This agent's tools return nothing the course counts, so tool_outputs is 0. "
            "Only history needs thought.",
            "History at step n holds the exchanges of the steps before it: n - 1 of them. Each exchange is the "
            "user's input plus the model's output.",
            "Check your history figure against the step: step 10 carries the exchanges of the steps before it, and "
            "an exchange has two parts. Then check tools: how many schemas does one call carry?",
        ),
    ),
    Task(
        id="run_input",
        title="Input tokens over the whole run",
        checker=check_run_input,
        expects="one whole number: input tokens summed over all 10 steps",
        hints=(
            "Each step re-sends the stable parts plus a history one exchange longer than the step before.",
            "The fixed part (tools + system + user input) is the same on every step; multiply it by the steps. "
            "History adds 0 + 1 + 2 + ... + 9 exchanges.",
            "Add the two parts: the fixed part over all 10 steps, and the exchange times that series. Did you count "
            "input only? Output is billed apart.",
        ),
    ),
    Task(
        id="leverage",
        title="The bucket with the most leverage",
        checker=check_leverage,
        expects=f"one bucket name as a string, one of {', '.join(map(repr, BUCKETS))}",
        hints=(
            "Leverage here means: which bucket, summed over the whole run, sends the most tokens?",
            "Work out each bucket's total over 10 steps; three of them are a per-step figure times 10.",
            "Compare the growing bucket's total over 10 steps with the system prompt's and the tool schemas' "
            "totals over the same steps; which is largest?",
        ),
    ),
    Task(
        id="cache_reads",
        title="What step 10 reads from the cache",
        checker=check_cache_reads,
        expects="a set (or list) of bucket names",
        hints=(
            "A cache hit needs the start of the request to be exactly what an earlier request sent (and wrote).",
            "The API assembles tools, then system, then messages. A top-level cache_control puts the breakpoint on "
            "the last block of each request, so each request writes its whole prompt.",
            "Write down what step 9 sent, in order. Which of step 10's buckets were already in it, and so written "
            "to the cache by step 9?",
        ),
    ),
    Task(
        id="cache_savings",
        title="What the caching plan saves per run",
        checker=check_cache_savings,
        expects="a number of US dollars per run (a float such as 0.123)",
        hints=(
            "Without caching every input token of every step is paid at 1x. With the moving breakpoint each step "
            "pays 1.25x for what it writes and the read price for what it reads.",
            "Step 1 writes all of its input. Step n > 1 reads step n - 1's whole input and writes the difference.",
            "Count how many tokens are written over the run (each one the first time it is sent) and how many are "
            "read (each step's prefix from the step before); price each at its multiple of the input price and "
            "compare with the uncached run.",
        ),
    ),
    Task(
        id="growth_steps",
        title="When the compression trigger fires",
        checker=check_growth_trigger,
        expects="a list of step numbers, such as [2, 3]",
        hints=(
            "Growth at step n is (input_n - input_n-1) / input_n-1. Work it out for GROWING, step 2 to 10.",
            "In GROWING each step's tool output is 300 tokens longer than the one before, and every earlier "
            "output is sent again: the tool_outputs bucket grows faster and faster.",
            "Number each growth figure by the step it belongs to (the first is step 2), then keep the steps over "
            "0.15.",
        ),
    ),
]

NOTES = f"""\
# Token Cost Anatomy: lesson notes for the tutor

## Four buckets of input
Every call an agent makes re-sends its whole context, and that context comes from four buckets. The system prompt is sent in full on every call. The tool schemas (name, description, parameters of every bound tool) are sent on every call too; a tool with a few described parameters is typically 200 to 400 tokens. The conversation history holds what earlier steps said: the model's replies and tool calls, and earlier user turns. The tool outputs are what tools returned: search results, file contents, test logs; they come back as input on the next step and on every step after it. Beside the four buckets sits the user's own new input.

## Why the history compounds
History and tool outputs are the buckets that grow. At step n they hold what the n - 1 steps before it added, so step 10 re-sends nine earlier exchanges and every tool output so far. Summed over a run this grows like 0 + 1 + 2 + ... + (n - 1) exchanges, which is why long runs cost far more than their step count suggests. A long tool output is paid for again on every later step until it is summarised.

## Step cost, not just task cost
A task's total tells you what you spent; a per-step breakdown tells you where. Record each call's input and output tokens and split the input into the buckets. Marginal cost per step is how much more a step costs than the one before. When it grows by more than about 15 to 20 percent per step, compressing the context (summarising finished steps) pays for itself. When every step adds the same amount, the percentage falls step by step even though the cost keeps rising, because the same addition is a smaller share of a bigger context; it stays above the trigger when the additions are large or grow, as with tool outputs that get longer. A second alert: a task that uses more than 10 times the tokens of one call doing the same reasoning is compounding.

## Worked numbers
A 2,000-token system prompt over 15 steps is 30,000 input tokens before any reasoning. Fifteen tools of about 300 tokens over 10 steps is 45,000 tokens: ${45_000 * price_of(PREVIOUS_DEFAULT_MODEL).input_per_token:.3f} per run at ${price_of(PREVIOUS_DEFAULT_MODEL).input_per_mtok:g} per million input tokens (the mid-2024 price the course quotes, still {PREVIOUS_DEFAULT_MODEL}'s), ${45_000 * price_of(MODEL).input_per_token:.3f} at {MODEL}'s ${price_of(MODEL).input_per_mtok:g} (prices as of {price_of(MODEL).as_of}).

## Prompt caching
A cache_control breakpoint caches the request up to that block; the next request that starts with exactly the same content reads it. Writing costs 1.25 times the input price for the 5-minute cache and 2 times for the 1-hour cache; reading costs a fraction of the input price that depends on the model. The API assembles tools, then system, then messages. A fixed breakpoint after the system prompt caches tools and system only. A top-level cache_control puts the breakpoint on the last block of each request and so moves it forward as the conversation grows: each request reads everything the previous one sent (the API looks back up to 20 blocks for an earlier entry) and writes only what is new, so the history is read from the cache too. Prompts shorter than a model's minimum cacheable length are not cached.

## Output tokens
Output is priced separately from input and costs more per token ({price_of(MODEL).output_per_mtok / price_of(MODEL).input_per_mtok:g}x on {MODEL}: ${price_of(MODEL).output_per_mtok:g} against ${price_of(MODEL).input_per_mtok:g} per million), so keep the two apart in any cost model.
"""

LAB = Lab(
    id="l2_token_cost",
    title="Lab 2: Token Cost Anatomy",
    lesson="M1 L2 Token Cost Anatomy",  # as quizzes/l2_token_cost_anatomy.yaml names it
    tasks=TASKS,
    lesson_notebook="notebooks/m1_l2_token_cost.ipynb",
    notes=NOTES,
    scenario=SCENARIO,
)
