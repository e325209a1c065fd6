"""The token cost of a multi-step agent run: four buckets that compound.

Every step of an agent loop re-sends its whole context as input. The course
splits that input into four buckets, and keeps the user's own words visible
beside them:

- **system**: the system prompt, identical on every step;
- **tools**: the JSON schemas of every bound tool, identical on every step;
- **history**: what earlier steps said (the model's replies and tool calls,
  earlier user turns), which grows by one exchange per step;
- **tool_outputs**: what tools returned, which comes back as input on every
  later step until someone trims or summarises it;
- **user_input**: the new user turn this step adds.

This module does two things with them.

1. **Measure a real run.** `measure_run(result)` takes an `Agent.run` result
   and splits the request each step actually sent into the buckets (a
   tiktoken estimate per part), reconciles the estimate with the API's own
   count in `response.usage` (and reports how far off the estimate was), and
   prices each step with `agentkit.pricing.cost_of`. The result holds the
   per-task view a cost review needs: totals, cost per step against cost per
   task, step-over-step growth, the compression trigger (growth above 15-20%
   per step) and the compounding alert (task tokens over 10x a single call
   doing the same reasoning), a sortable table and a stacked bar chart.
   `cost_by_step(trace)` does the per-step dollars from OpenTelemetry spans
   alone, for when all you kept is the trace.
2. **Model a run on paper.** `AgentProfile` describes an agent in round
   numbers (a 3,500-token system prompt, 12 tools of 350 tokens, ...) and
   `step_tokens` / `run_cost` compute what each step sends and costs, with or
   without prompt caching, so a lesson can reproduce the course's worked
   figures exactly and a lab can check a learner's arithmetic.

Prompt caching, as the API works today: a `cache_control` breakpoint caches
the request up to that block; the first request writes it (1.25x the input
price for the 5-minute cache, 2x for the 1-hour one) and later requests with
the same prefix read it at the model's cache-read price. A fixed breakpoint
at the end of the system prompt caches tools + system only. A top-level
`cache_control` puts the breakpoint on the last block and moves it forward as
the conversation grows; each request then reads what the one before wrote
(the API looks back up to 20 blocks for it), so the history is read from the
cache too. Prefixes shorter than the model's minimum cacheable length are
not cached at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from agentkit.models import info as model_info
from agentkit.pricing import cost_of, price_of
from agentkit.tokens import count_tokens

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "BUCKETS",
    "STABLE_PREFIX",
    "COMPRESSION_TRIGGER",
    "COMPOUNDING_ALERT",
    "AgentProfile",
    "StepTokens",
    "RunCost",
    "StepCost",
    "RunCosts",
    "request_buckets",
    "measure_run",
    "cost_by_step",
    "step_tokens",
    "run_steps",
    "bucket_totals",
    "largest_bucket",
    "marginal_growth",
    "compression_due",
    "run_cost",
    "caching_savings",
    "plot_buckets",
]

#: The course's four input buckets (tools, system, history, tool outputs), in the order the API
#: assembles a request, and the user's own new input beside them.
BUCKETS: tuple[str, ...] = ("tools", "system", "history", "tool_outputs", "user_input")

#: The buckets that are identical on every step, at the start of the request: what a fixed
#: `cache_control` breakpoint at the end of the system prompt covers.
STABLE_PREFIX: tuple[str, ...] = ("tools", "system")

#: Step-over-step input growth above which compressing the context pays (the course says 15-20%;
#: the lower edge, so the alert comes early).
COMPRESSION_TRIGGER = 0.15

#: Task tokens over this many times a single call doing the same reasoning: context is compounding.
COMPOUNDING_ALERT = 10.0

CacheTTL = Literal["5m", "1h"]
#: "prefix": a fixed breakpoint after the system prompt (tools + system cached).
#: "moving": a top-level cache_control, whose breakpoint follows the end of the conversation.
CachePlan = Literal["prefix", "moving"]

_COLOURS = {
    "tools": "#8e7cc3",
    "system": "#3b78c2",
    "history": "#e8912d",
    "tool_outputs": "#c0504d",
    "user_input": "#6aa84f",
}


# ---------------------------------------------------------------------------
# Measuring a real run: the request each step sent, and the API's usage
# ---------------------------------------------------------------------------


def _plain(block: Any) -> Any:
    """An SDK content block (a pydantic model) as the dict it is sent as; dicts and strings unchanged."""
    dump = getattr(block, "model_dump", None)
    return dump(exclude_none=True) if callable(dump) else block


def _block_tokens(block: Any, model: str | None = None) -> int:
    """Estimated tokens of one content block: its text, a tool call's name and input, a result's content."""
    block = _plain(block)
    if isinstance(block, str) or not isinstance(block, Mapping):
        return count_tokens(block, model)
    kind = block.get("type")
    if kind == "text":
        return count_tokens(block.get("text", ""), model)
    if kind == "tool_use":
        return count_tokens(block.get("name", ""), model) + count_tokens(block.get("input", {}), model)
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return sum(_block_tokens(b, model) for b in content)
        return count_tokens(content, model)
    if kind in ("thinking", "redacted_thinking"):
        return count_tokens(block.get("thinking", block.get("data", "")), model)
    return count_tokens({k: v for k, v in block.items() if k != "cache_control"}, model)


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content or [])


def request_buckets(request: Mapping[str, Any], model: str | None = None) -> dict[str, int]:
    """Estimated input tokens of one Messages API request, bucket by bucket.

    `request` is what was sent (`step.request` of an agent step: model,
    system, tools, messages). Tool results anywhere in the messages count as
    tool_outputs; text in the final user message is this step's user_input;
    everything else in the messages (the model's earlier replies and tool
    calls, earlier user turns) is history. The counts are tiktoken estimates,
    scaled for `model`'s tokenizer generation (the request's own model if
    not given; newer Claude models count about 30% more for the same text).
    Claude's tokenizer is not public, so `measure_run` reconciles them with
    the usage the API reported.
    """
    if not isinstance(request, Mapping) or "messages" not in request:
        raise ValueError(
            "request_buckets() needs the request a step sent: a dict with 'messages' (and usually 'system', "
            f"'tools'), such as step.request; got {type(request).__name__}."
        )
    model = model or request.get("model")
    out = dict.fromkeys(BUCKETS, 0)
    for t in request.get("tools") or []:
        t = _plain(t)
        out["tools"] += count_tokens({k: v for k, v in t.items() if k != "cache_control"} if isinstance(t, Mapping) else t,
                                     model)
    system = request.get("system")
    if isinstance(system, str):
        out["system"] = count_tokens(system, model)
    elif system:
        out["system"] = sum(_block_tokens(b, model) for b in system)
    messages = list(request.get("messages") or [])
    for i, message in enumerate(messages):
        last_user = i == len(messages) - 1 and message.get("role") == "user"
        for block in _blocks(message.get("content")):
            plain = _plain(block)
            kind = plain.get("type") if isinstance(plain, Mapping) else "text"
            if kind == "tool_result":
                out["tool_outputs"] += _block_tokens(plain, model)
            elif last_user:
                out["user_input"] += _block_tokens(plain, model)
            else:
                out["history"] += _block_tokens(plain, model)
    return out


def _reconcile(estimate: Mapping[str, int], actual: int) -> dict[str, int]:
    """Scale the estimate so the buckets add up to the API's count (largest remainder, so whole tokens)."""
    total = sum(estimate.values())
    if actual <= 0:
        return dict.fromkeys(BUCKETS, 0)
    if total <= 0:  # nothing recognisable was sent: call it all history rather than drop it
        return {name: (actual if name == "history" else 0) for name in BUCKETS}
    shares = {name: estimate[name] * actual / total for name in BUCKETS}
    out = {name: int(share) for name, share in shares.items()}
    left = actual - sum(out.values())
    for name in sorted(BUCKETS, key=lambda n: shares[n] - out[n], reverse=True)[:left]:
        out[name] += 1
    return out


def _usage_count(usage: Any, name: str) -> int:
    value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
    return int(value or 0)


@dataclass(frozen=True)
class StepCost:
    """One step of a real run: its input by bucket, the API's usage, and its price.

    `estimate` is the tiktoken estimate per bucket from the request sent;
    `tokens` is the same split scaled to the API's own count, so the buckets
    add up to `input_tokens` exactly. `input_tokens` is the whole prompt:
    uncached input plus cache reads plus cache writes (Anthropic's
    `usage.input_tokens` is only the first of the three).
    """

    step: int
    model: str
    estimate: dict[str, int]
    tokens: dict[str, int]
    input_tokens: int
    uncached_input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    cost: float  # USD, from agentkit.pricing.cost_of on the step's usage

    def buckets(self) -> dict[str, int]:
        """Input tokens per bucket, reconciled with the API's count."""
        return dict(self.tokens)

    @property
    def input(self) -> int:
        return self.input_tokens

    @property
    def estimate_error(self) -> float:
        """(estimate - API count) / API count: how far the tiktoken estimate was off for this step."""
        return (sum(self.estimate.values()) - self.input_tokens) / self.input_tokens if self.input_tokens else 0.0


def _growth(values: Sequence[float]) -> list[float]:
    return [(b - a) / a if a else float("inf") for a, b in zip(values, values[1:])]


@dataclass(frozen=True)
class RunCosts:
    """What one task cost, step by step: `measure_run(result)` returns it.

    `extra_tokens` and `extra_cost` are calls made for the task outside the
    agent's own steps (summaries written by a context compressor, a judge):
    they count in the task's totals, not in any step.
    """

    steps: list[StepCost]
    model: str
    extra_tokens: int = 0
    extra_cost: float = 0.0

    # -- per task ------------------------------------------------------------
    @property
    def input_tokens(self) -> int:
        return sum(s.input_tokens for s in self.steps)

    @property
    def output_tokens(self) -> int:
        """Everything the model wrote, thinking included: the task's reasoning."""
        return sum(s.output_tokens for s in self.steps)

    @property
    def cache_read_tokens(self) -> int:
        return sum(s.cache_read_tokens for s in self.steps)

    @property
    def cache_write_tokens(self) -> int:
        return sum(s.cache_write_tokens for s in self.steps)

    @property
    def total_tokens(self) -> int:
        """Input and output over every step, plus any extra calls: the task's tokens."""
        return self.input_tokens + self.output_tokens + self.extra_tokens

    @property
    def cost(self) -> float:
        """The task's cost in USD: every step plus any extra calls."""
        return sum(s.cost for s in self.steps) + self.extra_cost

    @property
    def cost_per_step(self) -> float:
        """The average step's cost: a task's cost divided by its steps (hides the growth; see `growth`)."""
        return sum(s.cost for s in self.steps) / len(self.steps) if self.steps else 0.0

    def bucket_totals(self) -> dict[str, int]:
        """Input tokens per bucket over the task."""
        return {name: sum(s.tokens[name] for s in self.steps) for name in BUCKETS}

    @property
    def estimate_error(self) -> float:
        """How far the tiktoken estimate was off the API's count over the task ((estimate - API) / API)."""
        estimated = sum(sum(s.estimate.values()) for s in self.steps)
        return (estimated - self.input_tokens) / self.input_tokens if self.input_tokens else 0.0

    # -- growth and the two alerts -----------------------------------------------
    def growth(self, by: Literal["tokens", "cost"] = "tokens") -> list[float]:
        """Step-over-step growth (0.25 = the step sent 25% more than the step before), from step 2 on.

        `by="tokens"` compares input tokens, which is what history accumulation
        drives whatever the caching; `by="cost"` compares dollars.
        """
        if by not in ("tokens", "cost"):
            raise ValueError(f'growth(by=...) takes "tokens" or "cost", got {by!r}.')
        return _growth([s.input_tokens if by == "tokens" else s.cost for s in self.steps])

    def compression_due(self, threshold: float = COMPRESSION_TRIGGER) -> list[int]:
        """The steps whose input grew by more than `threshold` over the step before."""
        return compression_due(self.growth(), threshold)

    @property
    def single_call_tokens(self) -> int:
        """Tokens of one call doing the same reasoning: the final context read once, all the output written once.

        The last step's input holds the system prompt, the tool schemas, the
        task and every tool output and reply once; add what the model wrote
        over the task. (The visible replies count twice, once as history and
        once as output, so this errs on the generous side.)
        """
        return (self.steps[-1].input_tokens if self.steps else 0) + self.output_tokens

    @property
    def compounding_ratio(self) -> float:
        """Task tokens / single-call tokens: how many times over the context was paid for."""
        return self.total_tokens / self.single_call_tokens if self.single_call_tokens else 0.0

    def compounding_alert(self, factor: float = COMPOUNDING_ALERT) -> bool:
        """True when the task used over `factor` times the tokens of one call with the same reasoning."""
        return self.compounding_ratio > factor

    # -- views -------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """One row per step: input by bucket, the API's counts, dollars, growth. Sort it like any DataFrame."""
        import pandas as pd

        growth = [None, *self.growth()]
        rows = []
        for s, g in zip(self.steps, growth):
            rows.append({
                "step": s.step,
                **s.tokens,
                "input": s.input_tokens,
                "cache_read": s.cache_read_tokens,
                "cache_write": s.cache_write_tokens,
                "output": s.output_tokens,
                "cost_usd": s.cost,
                "growth": g,
                "estimate_error": s.estimate_error,
            })
        columns = ["step", *BUCKETS, "input", "cache_read", "cache_write", "output", "cost_usd", "growth", "estimate_error"]
        return pd.DataFrame(rows, columns=columns).set_index("step")

    def chart(self, ax: Any = None, title: str | None = None) -> Figure:
        """Stacked bars: input tokens per bucket per step (see `plot_buckets`)."""
        return plot_buckets(self.steps, ax=ax, title=title or (
            f"{self.total_tokens:,} tokens, ${self.cost:.2f} over {len(self.steps)} steps"))

    def __str__(self) -> str:
        due = self.compression_due()
        lines = [
            f"{len(self.steps)} steps on {self.model}: {self.total_tokens:,} tokens "
            f"({self.input_tokens:,} in, {self.output_tokens:,} out"
            + (f", {self.extra_tokens:,} in extra calls" if self.extra_tokens else "") + f"), ${self.cost:.4f}",
            f"  cache: {self.cache_read_tokens:,} read, {self.cache_write_tokens:,} written",
            f"  per step: ${self.cost_per_step:.4f} on average; step 1 ${self.steps[0].cost:.4f}, "
            f"step {self.steps[-1].step} ${self.steps[-1].cost:.4f}" if self.steps else "  no steps",
            f"  compression due (growth > {COMPRESSION_TRIGGER:.0%}) at steps: {due or 'none'}",
            f"  {self.compounding_ratio:.1f}x a single call with the same reasoning"
            + (" -> compounding alert" if self.compounding_alert() else ""),
            f"  token estimate off the API's count by {self.estimate_error:+.1%}",
        ]
        return "\n".join(lines)


def measure_run(
    result: Any,
    *,
    model: str | None = None,
    extra_usage: Iterable[tuple[str, Any]] = (),
) -> RunCosts:
    """The cost anatomy of one agent run (an `agentkit.RunResult`).

    For each step, `step.request` (what was sent, after any hook rewrote it)
    is split into buckets and reconciled with `step.response.usage`; the
    step is priced at the run's model (or `model`). `extra_usage` takes
    (model, usage) pairs of calls made for the task outside its steps, such
    as summaries a context compressor asked for; they count in the totals.
    """
    steps_in = getattr(result, "steps", None)
    if steps_in is None:
        raise TypeError(f"measure_run() takes an agent run's result (agent.run(...)); got {type(result).__name__}.")
    model = model or getattr(result, "model", None)
    if not isinstance(model, str):
        raise ValueError("measure_run() could not tell which model to price at: pass model=agentkit.DEFAULT_MODEL (or the one used).")
    price_of(model)  # an unknown model fails here, naming the known ones
    steps: list[StepCost] = []
    for step in steps_in:
        usage = step.response.usage
        uncached = _usage_count(usage, "input_tokens")
        reads = _usage_count(usage, "cache_read_input_tokens")
        writes = _usage_count(usage, "cache_creation_input_tokens")
        actual = uncached + reads + writes
        estimate = request_buckets(step.request)
        steps.append(StepCost(
            step=step.index,
            model=model,
            estimate=estimate,
            tokens=_reconcile(estimate, actual),
            input_tokens=actual,
            uncached_input_tokens=uncached,
            cache_read_tokens=reads,
            cache_write_tokens=writes,
            output_tokens=_usage_count(usage, "output_tokens"),
            cost=cost_of(model, usage),
        ))
    extra_tokens, extra_cost = 0, 0.0
    for extra_model, usage in extra_usage:
        extra_tokens += sum(_usage_count(usage, n) for n in (
            "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"))
        extra_cost += cost_of(extra_model, usage)
    return RunCosts(steps=steps, model=model, extra_tokens=extra_tokens, extra_cost=extra_cost)


def cost_by_step(trace: Any) -> dict[int, float]:
    """Dollars per agent step from a trace's model spans alone (their model and token attributes).

    Reads, per model span: `gen_ai.request.model`, `gen_ai.usage.input_tokens`,
    `gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens`,
    `gen_ai.usage.cache_write.input_tokens` and `agentkit.step`. The GenAI
    convention's input count includes cached tokens; Anthropic's usage does
    not, so the cached ones are taken out before pricing. Lab 1 checks its
    "essential attributes" against exactly these reads.
    """
    out: dict[int, float] = {}
    for span in trace.select(kind="model"):
        a = span.attributes
        read = a.get("gen_ai.usage.cache_read.input_tokens") or 0
        write = a.get("gen_ai.usage.cache_write.input_tokens") or 0
        usage = {
            "input_tokens": (a.get("gen_ai.usage.input_tokens") or 0) - read - write,
            "output_tokens": a.get("gen_ai.usage.output_tokens") or 0,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
        }
        step = a.get("agentkit.step")
        out[step] = out.get(step, 0.0) + cost_of(a.get("gen_ai.request.model"), usage)
    return out


# ---------------------------------------------------------------------------
# Modelling a run on paper: an agent described in round numbers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentProfile:
    """What one run of an agent sends and receives, in tokens.

    Each step adds `user_input_tokens` of new user input, writes
    `output_tokens`, and (if it calls tools) gets `tool_output_tokens` of tool
    output back, plus `tool_output_increase` more on each later step (a
    coding agent whose test logs grow as it touches more files). Both the
    exchange and the tool output come back as input on every later step.
    """

    system_prompt_tokens: int
    tool_count: int
    tokens_per_tool: int
    user_input_tokens: int  # new input each step
    output_tokens: int  # the model's output each step
    steps: int = 10
    tool_output_tokens: int = 0  # tool output step 1 gets back
    tool_output_increase: int = 0  # how much longer each later step's tool output is

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"AgentProfile.{f.name} must be a whole number >= 0, got {value!r}.")
        if self.steps < 1:
            raise ValueError(f"AgentProfile.steps must be at least 1, got {self.steps}.")

    @property
    def tool_schema_tokens(self) -> int:
        return self.tool_count * self.tokens_per_tool

    @property
    def prefix_tokens(self) -> int:
        """The stable prefix (tools + system) that is the same on every step."""
        return self.tool_schema_tokens + self.system_prompt_tokens

    @property
    def exchange_tokens(self) -> int:
        """What one finished step adds to the history bucket: the user's turn and the model's reply."""
        return self.user_input_tokens + self.output_tokens

    def tool_output_of(self, step: int) -> int:
        """The tool output that step `step` gets back (and every later step re-sends)."""
        return self.tool_output_tokens + (step - 1) * self.tool_output_increase


@dataclass(frozen=True)
class StepTokens:
    """Input by bucket, and output, for one step of an `AgentProfile`."""

    step: int
    tools: int
    system: int
    history: int
    tool_outputs: int
    user_input: int
    output: int

    @property
    def input(self) -> int:
        return self.tools + self.system + self.history + self.tool_outputs + self.user_input

    def buckets(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in BUCKETS}


@dataclass(frozen=True)
class RunCost:
    """Tokens and dollars for a whole modelled run under one caching plan."""

    model: str
    input_tokens: int  # uncached input, billed at the base price
    cache_write_tokens: int
    cache_read_tokens: int
    output_tokens: int
    dollars: float
    per_step: tuple[float, ...] = field(default=())

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens


def _check_step(profile: AgentProfile, step: int) -> None:
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= profile.steps:
        raise ValueError(f"step must be a whole number from 1 to {profile.steps} (the profile's steps), got {step!r}.")


def step_tokens(profile: AgentProfile, step: int) -> StepTokens:
    """The input of step `step` (1-based), bucket by bucket, with nothing compressed."""
    _check_step(profile, step)
    return StepTokens(
        step=step,
        tools=profile.tool_schema_tokens,
        system=profile.system_prompt_tokens,
        history=(step - 1) * profile.exchange_tokens,
        tool_outputs=sum(profile.tool_output_of(k) for k in range(1, step)),
        user_input=profile.user_input_tokens,
        output=profile.output_tokens,
    )


def run_steps(profile: AgentProfile, steps: int | None = None) -> list[StepTokens]:
    """Every step of a run (all `profile.steps` unless `steps` says fewer)."""
    steps = profile.steps if steps is None else steps
    _check_step(profile, steps)
    return [step_tokens(profile, n) for n in range(1, steps + 1)]


def bucket_totals(profile: AgentProfile, steps: int | None = None) -> dict[str, int]:
    """Input tokens per bucket summed over the run: where the run's input went."""
    totals = dict.fromkeys(BUCKETS, 0)
    for s in run_steps(profile, steps):
        for name, value in s.buckets().items():
            totals[name] += value
    return totals


def largest_bucket(profile: AgentProfile, steps: int | None = None) -> str:
    """The bucket with the most input tokens over the run: the one where a cut saves most."""
    totals = bucket_totals(profile, steps)
    return max(totals, key=totals.__getitem__)


def marginal_growth(profile: AgentProfile, steps: int | None = None) -> list[float]:
    """Step-over-step growth of input tokens (0.25 = 25% more than the previous step), from step 2 on.

    When every step adds the same amount, the percentage falls step by step:
    the same addition is a smaller share of a bigger context. It stays high
    only while the additions are large next to the context, or grow.
    """
    return _growth([s.input for s in run_steps(profile, steps)])


def compression_due(growth: Sequence[float], threshold: float = COMPRESSION_TRIGGER) -> list[int]:
    """The step numbers whose growth (as `marginal_growth` or `RunCosts.growth` returns it) passes `threshold`.

    `growth[0]` is step 2's growth over step 1, so the steps are numbered from 2.
    """
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 < threshold < 10:
        raise ValueError(f"threshold is a fraction such as 0.15 (15% per step); got {threshold!r}.")
    return [i + 2 for i, g in enumerate(growth) if g > threshold]


def _cached_usage(
    s: StepTokens, prev_input: int | None, plan: CachePlan, prefix: int, ttl: CacheTTL, minimum: int
) -> dict[str, Any]:
    """The usage block one step would report under a caching plan (first step writes, later steps read)."""
    if plan == "prefix":
        cached_part = prefix
        read = prefix if prev_input is not None else 0
    else:  # moving: the breakpoint sits at the end; each step reads what the one before sent
        cached_part = s.input
        read = prev_input or 0
    if cached_part < minimum:  # too short to cache: the API silently does not
        return {"input_tokens": s.input, "output_tokens": s.output}
    write = cached_part - read
    return {
        "input_tokens": s.input - read - write,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
        "cache_creation": {
            "ephemeral_5m_input_tokens": write if ttl == "5m" else 0,
            "ephemeral_1h_input_tokens": write if ttl == "1h" else 0,
        },
        "output_tokens": s.output,
    }


def run_cost(
    profile: AgentProfile,
    model: str,
    *,
    cache: CachePlan | None = None,
    ttl: CacheTTL = "5m",
    steps: int | None = None,
    min_cacheable: int | None = None,
) -> RunCost:
    """The run's cost under a caching plan: None (no caching), "prefix" or "moving".

    "prefix" caches tools + system: step 1 writes them, later steps read them.
    "moving" is a top-level `cache_control`: every step writes what is new
    since the step before and reads the rest (all of the previous request),
    so the history is read from the cache too. Steps are assumed close
    enough together to stay inside the cache's lifetime (each read refreshes
    it). `min_cacheable` is the minimum cacheable prompt length (the model's
    own, from `agentkit.models`, unless given): a shorter cached part is not
    cached, silently, as the API does. Each step is priced with
    `agentkit.pricing.cost_of` exactly as the API's usage block would report it.
    """
    if ttl not in ("5m", "1h"):
        raise ValueError(f'ttl must be "5m" or "1h", got {ttl!r}.')
    if cache not in (None, "prefix", "moving"):
        raise ValueError(f'cache must be None, "prefix" (tools + system) or "moving" (top-level cache_control), got {cache!r}.')
    price_of(model)  # fail early, naming the known models
    if min_cacheable is None:
        min_cacheable = model_info(model).min_cacheable_tokens
    uncached = writes = reads = output = 0
    per_step: list[float] = []
    prev: int | None = None
    for s in run_steps(profile, steps):
        if cache is None:
            usage: dict[str, Any] = {"input_tokens": s.input, "output_tokens": s.output}
        else:
            usage = _cached_usage(s, prev, cache, profile.prefix_tokens, ttl, min_cacheable)
        prev = s.input
        uncached += usage["input_tokens"]
        writes += usage.get("cache_creation_input_tokens", 0)
        reads += usage.get("cache_read_input_tokens", 0)
        output += s.output
        per_step.append(cost_of(model, usage))
    return RunCost(model, uncached, writes, reads, output, sum(per_step), tuple(per_step))


def caching_savings(
    profile: AgentProfile, model: str, *, cache: CachePlan = "moving", ttl: CacheTTL = "5m", steps: int | None = None
) -> float:
    """Dollars one run saves under a caching plan (negative if caching costs more)."""
    plain = run_cost(profile, model, steps=steps)
    cached = run_cost(profile, model, cache=cache, ttl=ttl, steps=steps)
    return plain.dollars - cached.dollars


# ---------------------------------------------------------------------------
# The picture
# ---------------------------------------------------------------------------


def plot_buckets(steps: Sequence[Any], ax: Any = None, title: str | None = None) -> Figure:
    """A stacked bar per step: input tokens per bucket (tools, system, history, tool outputs, user input).

    `steps` is a run's `RunCosts.steps`, or `run_steps(profile)`: anything
    with `.step` and `.buckets()`. The growing layers are the compounding.
    """
    import matplotlib.pyplot as plt

    steps = list(steps)
    if not steps or not all(hasattr(s, "buckets") and hasattr(s, "step") for s in steps):
        raise ValueError("plot_buckets() takes a non-empty list of steps with .step and .buckets(), "
                         "such as measure_run(result).steps or run_steps(profile).")
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.2))
    else:
        fig = ax.figure
    x = [s.step for s in steps]
    bottom = [0] * len(steps)
    labels = {"tools": "tool schemas", "system": "system prompt", "history": "history",
              "tool_outputs": "tool outputs", "user_input": "user input"}
    for name in BUCKETS:
        values = [s.buckets()[name] for s in steps]
        if any(values):
            ax.bar(x, values, bottom=bottom, color=_COLOURS[name], label=labels[name], width=0.75)
            bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xlabel("step")
    ax.set_ylabel("input tokens sent")
    ax.set_xticks(x)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
