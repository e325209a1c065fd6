"""Lab 2, Token Cost Anatomy: model a support agent's token bill, bucket by bucket.

The scenario (from the course's Lesson 2 lab): a customer-support agent with a
3,500-token system prompt, 12 tool schemas of about 350 tokens each, 800
tokens of user input and 600 tokens of output per step, running up to 10
steps. Every checker computes its figure from `SCENARIO` with
`agentkit.costs` and prices it with `agentkit.pricing`, so changing the
scenario or a price changes what the checks expect.
"""

from __future__ import annotations

import math
from typing import Any

from agentkit.costs import (
    BUCKETS,
    STABLE_PREFIX,
    AgentProfile,
    bucket_totals,
    caching_savings,
    largest_bucket,
    run_cost,
    run_steps,
    step_tokens,
)
from agentkit.course.lab import (
    Lab,
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
from agentkit.pricing import CACHE_WRITE_1H_MULTIPLIER, CACHE_WRITE_5M_MULTIPLIER, price_of

SCENARIO = AgentProfile(
    system_prompt_tokens=3_500,
    tool_count=12,
    tokens_per_tool=350,
    user_input_tokens=800,
    output_tokens=600,
    steps=10,
)
#: The model the lab prices the run at (prices and its cache-read rate come from agentkit.pricing).
MODEL = DEFAULT_MODEL
#: Cache multipliers of the input price: writes are the same on every model, reads differ by model.
W5, W1 = CACHE_WRITE_5M_MULTIPLIER, CACHE_WRITE_1H_MULTIPLIER
READ = price_of(MODEL).cache_read_multiplier
OUTPUT_RATIO = price_of(MODEL).output_per_mtok / price_of(MODEL).input_per_mtok

# Other spellings learners reach for, mapped to the bucket names.
ALIASES: dict[str, str] = {
    "system_prompt": "system",
    "prompt": "system",
    "tool_schemas": "tools",
    "schemas": "tools",
    "tool": "tools",
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
        f"user input {right['user_input']:,}. History is already the biggest bucket and the only one that grows."
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
        return wrong(f"You added the output tokens. The task asks for input tokens; output is billed separately "
                     f"(at {OUTPUT_RATIO:g}x the price).")
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


# -- task 4: what to put in the cached prefix -------------------------------------


def check_cache_prefix(answer: Any) -> Verdict:
    p = SCENARIO
    chosen = as_names(answer, BUCKETS, ALIASES, what="cache_prefix")
    right = frozenset(STABLE_PREFIX)
    if chosen == right:
        return passed(f"Tools and system are byte-for-byte the same on every step and come first in the request: "
                      f"a {p.prefix_tokens:,}-token prefix to mark with cache_control (on the last system block).")
    notes = []
    if "history" in chosen:
        notes.append("history changes every step (one more exchange each time), so a fixed cache entry covering it is "
                     f"written at {W5:g}x and never read back as it was")
    if "user_input" in chosen:
        notes.append("the user's turn is new every step, so it can never be read from the cache")
    for name in sorted(right - chosen):
        notes.append(f"{name} is left out, yet it is identical on every step, so caching it would pay off from step 2")
    if not chosen:
        notes.append("an empty plan caches nothing")
    return wrong("Not quite: " + "; ".join(notes) + ".")


# -- task 5: the savings ------------------------------------------------------------


def check_cache_savings(answer: Any) -> Verdict:
    p = SCENARIO
    got = as_number(answer, what="cache_savings")
    right = caching_savings(p, MODEL)
    base = price_of(MODEL).input_per_token
    prefix = p.prefix_tokens
    plain = run_cost(p, MODEL)
    cached = run_cost(p, MODEL, cache_prefix=True)
    prefix_plain = prefix * p.steps * base
    if abs(got - right) <= 0.0005:
        return passed(
            f"Caching the {prefix:,}-token prefix saves ${right:.4f} per run: {right / prefix_plain:.1%} of what the prefix "
            f"cost uncached, {right / plain.dollars:.1%} of the whole run (${plain.dollars:.4f} -> ${cached.dollars:.4f}). "
            f"At 1,000 runs a day that is ${right * 1000:,.0f} a day."
        )
    token_figures = (right / base, prefix * (p.steps - 1) * (1 - READ))
    if any(_near(got, t) for t in token_figures):
        return wrong(f"That looks like a number of tokens. The task asks for dollars per run, at "
                     f"${price_of(MODEL).input_per_mtok:g} per million input tokens.")
    if _near(got, prefix * (p.steps - 1) * (1 - READ) * base):
        return wrong(f"You left out the write premium: step 1 writes the prefix to the cache at {W5:g}x the input price.")
    if _near(got, prefix * p.steps * (1 - READ) * base):
        return wrong(f"Step 1 cannot read from the cache: it writes the prefix (at {W5:g}x); only steps 2 onwards read it.")
    if _near(got, prefix * (p.steps - W5 - (p.steps - 1) * 0.1) * base) and READ != 0.1:
        return wrong(f"That uses a 0.1x cache-read price. Read rates differ by model: {MODEL} reads at {READ:g}x "
                     "(agentkit.pricing.price_of(model).cache_read_multiplier).")
    prefix_cached = prefix * (W5 + (p.steps - 1) * READ) * base
    if _near(got, prefix_cached) or _near(got, cached.dollars):
        return wrong("That is what the run (or the prefix) costs with caching. The savings are the difference from the uncached cost.")
    if _near(got, right / prefix_plain * 100) or _near(got, right / plain.dollars * 100):
        return wrong("That looks like a percentage. The task asks for dollars saved per run.")
    if _near(got, caching_savings(p, MODEL, ttl="1h")):
        return wrong(f"That uses the 1-hour cache's write price ({W1:g}x). Steps seconds apart only need the 5-minute "
                     f"cache ({W5:g}x).")
    if abs(got - right) <= 0.005:
        return wrong("Close, but not within a twentieth of a cent. Keep at least three decimals: at thousands of runs a day they add up.")
    return wrong("Not it. Compare the prefix's cost over the run without caching (every step at 1x) with its cost when "
                 f"step 1 writes it ({W5:g}x) and the other steps read it ({READ:g}x for {MODEL}).")


TASKS = [
    Task(
        id="step10_input",
        title="Step 10's input, bucket by bucket",
        checker=check_step10_input,
        expects=f"a dict of token counts with the keys {', '.join(map(repr, BUCKETS))}",
        hints=(
            "Three buckets are easy: the system prompt and the tool schemas are sent whole on every call, and the "
            "user's new turn is one turn. Only history needs thought.",
            "History at step n holds the exchanges of the steps before it: n - 1 of them. Each exchange is the "
            "user's input plus the model's output.",
            "tools = tool_count * tokens_per_tool; history = (steps - 1) * (user_input_tokens + output_tokens).",
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
            "sum(prefix + user_input + (n - 1) * exchange for n in range(1, 11)), where exchange = user input + output.",
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
            "The growing bucket sums an arithmetic series: exchange * (0 + 1 + ... + 9) = exchange * 45.",
        ),
    ),
    Task(
        id="cache_prefix",
        title="What goes in the cached prefix",
        checker=check_cache_prefix,
        expects="a set (or list) of bucket names",
        hints=(
            "A cache hit needs the start of the request to be exactly what was cached before.",
            "The API assembles tools, then system, then messages. Which of the four buckets are byte-for-byte "
            "identical on every step?",
            "Two buckets never change during the run; both come before the messages.",
        ),
    ),
    Task(
        id="cache_savings",
        title="What caching the prefix saves per run",
        checker=check_cache_savings,
        expects="a number of US dollars per run (a float such as 0.123)",
        hints=(
            "Only the prefix's price changes with caching; everything else costs the same. Compare the prefix's "
            "cost over the run with and without the cache.",
            f"Without caching the prefix is paid at 1x on each of the 10 steps. With it: step 1 writes at {W5:g}x, "
            f"steps 2-10 read at the model's cache-read rate ({READ:g}x for {MODEL}).",
            f"prefix_tokens * (10 * 1 - ({W5:g} + 9 * {READ:g})) * input_price_per_token, with the price and the read "
            "rate from agentkit.pricing.price_of(agentkit.DEFAULT_MODEL).",
        ),
    ),
]

NOTES = f"""\
# Token Cost Anatomy: lesson notes for the tutor

## Four buckets of input
Every call an agent makes re-sends its whole context, and that context comes from four places. The system prompt is sent in full on every call. The tool schemas (name, description, parameters of every bound tool) are sent on every call too; a tool with a few described parameters is typically 200 to 400 tokens. The conversation history holds everything earlier steps added: the user's turns, the model's replies and any tool results. The user input is the new turn a step adds.

## Why the history compounds
History is the only bucket that grows. At step n it holds the exchanges of the n - 1 steps before it, so step 10 of a run re-sends nine earlier exchanges. Summed over a run, history grows like 0 + 1 + 2 + ... + (n - 1) exchanges, which is why long runs cost far more than their step count suggests. Tool results count here as well: they come back as input on the next step, so a long search result is paid for again on every later step until it is summarised.

## Step cost, not just task cost
A task's total tells you what you spent; a per-step breakdown tells you where. Record the input and output tokens of each call and split the input into the four buckets. The marginal cost per step is how much more a step costs than the one before; when it grows by more than about 15 to 20 percent per step, compressing the context (summarising finished steps) pays for itself.

## Worked numbers
A 2,000-token system prompt over 15 steps is 30,000 input tokens before any reasoning. Fifteen tools of about 300 tokens over 10 steps is 45,000 tokens: ${45_000 * price_of(PREVIOUS_DEFAULT_MODEL).input_per_token:.3f} per run at ${price_of(PREVIOUS_DEFAULT_MODEL).input_per_mtok:g} per million input tokens (the course's figure, {PREVIOUS_DEFAULT_MODEL}'s price), ${45_000 * price_of(MODEL).input_per_token:.3f} at {MODEL}'s ${price_of(MODEL).input_per_mtok:g} (prices checked {price_of(MODEL).as_of}).

## Prompt caching
Marking the stable start of a request with cache_control lets the API reuse it. Writing the cache costs {W5:g} times the normal input price for the 5-minute cache ({W1:g} times for the 1-hour cache) on every model; reading it costs a fraction that differs by model: 0.1x on some, 0.05x or 0.025x on others ({READ:g}x on {MODEL}). Only an identical prefix hits: tools, then system, then messages, in that order. So the tool schemas and system prompt are the natural prefix; history grows and the user's turn is new on every step. The first step pays the write premium; every later step within the cache lifetime reads at the model's cache-read rate.

## Output tokens
Output is priced separately from input and costs about {OUTPUT_RATIO:g} times as much per token for current Claude models (${price_of(MODEL).output_per_mtok:g} against ${price_of(MODEL).input_per_mtok:g} per million for {MODEL}), so keep the two apart in any cost model.
"""

LAB = Lab(
    id="l2_token_cost",
    title="Lab 2: Token Cost Anatomy",
    lesson="M1 L2 Token Cost Anatomy",  # as quizzes/l2_token_cost_anatomy.yaml names it
    tasks=TASKS,
    lesson_notebook="notebooks/*token_cost*.ipynb",
    notes=NOTES,
    scenario=SCENARIO,
)
