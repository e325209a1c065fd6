"""The token cost model of a multi-step agent run: four buckets that compound.

Every step of an agent loop re-sends its whole context as input. That input
comes from four buckets:

- **system**: the system prompt, identical on every step;
- **tools**: the JSON schemas of every bound tool, identical on every step;
- **history**: everything earlier steps said (user turns, the model's output,
  tool results), which grows by one exchange per step;
- **user_input**: the new turn this step adds.

Step n's input is therefore system + tools + (n-1) exchanges of history +
this turn, and a run's input is the sum over its steps. The model here is
deliberately small and exact so a lesson or lab can compute the course's
figures with it (2,000-token system prompt x 15 steps = 30,000 tokens) and
then compare them with what a traced run reports.

Prompt caching: marking the stable prefix (tools then system, the order the
API assembles them) with `cache_control` makes step 1 write it at 1.25x the
input price and later steps read it at 0.1x. Models also have a minimum
cacheable prefix length; check the model's documentation for it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from agentkit.pricing import cost_of, price_of

#: The four input buckets, in the order the API assembles a request.
BUCKETS: tuple[str, ...] = ("tools", "system", "history", "user_input")

#: The buckets whose content is identical on every step, at the start of the
#: request: the prefix a fixed `cache_control` breakpoint can cover. History
#: grows and the user's turn is new each step, so neither is ever re-read as is.
STABLE_PREFIX: tuple[str, ...] = ("tools", "system")

CacheTTL = Literal["5m", "1h"]


@dataclass(frozen=True)
class AgentProfile:
    """What one run of an agent sends and receives, in tokens."""

    system_prompt_tokens: int
    tool_count: int
    tokens_per_tool: int
    user_input_tokens: int  # new input each step
    output_tokens: int  # the model's output each step
    steps: int = 10
    tool_output_tokens: int = 0  # tool results that each step adds to the history

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
        return sum(step_tokens(self, 1).buckets()[name] for name in STABLE_PREFIX)

    @property
    def exchange_tokens(self) -> int:
        """What one finished step adds to the history."""
        return self.user_input_tokens + self.output_tokens + self.tool_output_tokens


@dataclass(frozen=True)
class StepTokens:
    """Input by bucket, and output, for one step."""

    step: int
    tools: int
    system: int
    history: int
    user_input: int
    output: int

    @property
    def input(self) -> int:
        return self.tools + self.system + self.history + self.user_input

    def buckets(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in BUCKETS}


@dataclass(frozen=True)
class RunCost:
    """Tokens and dollars for a whole run under one caching plan."""

    model: str
    input_tokens: int  # uncached input, billed at the base price
    cache_write_tokens: int
    cache_read_tokens: int
    output_tokens: int
    dollars: float

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens


def _check_step(profile: AgentProfile, step: int) -> None:
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= profile.steps:
        raise ValueError(f"step must be a whole number from 1 to {profile.steps} (the profile's steps), got {step!r}.")


def step_tokens(profile: AgentProfile, step: int) -> StepTokens:
    """The input of step `step` (1-based), bucket by bucket, with no compression."""
    _check_step(profile, step)
    return StepTokens(
        step=step,
        tools=profile.tool_schema_tokens,
        system=profile.system_prompt_tokens,
        history=(step - 1) * profile.exchange_tokens,
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
    """Step-over-step growth of input tokens (0.25 = 25% more than the previous step).

    The course's rule of thumb: growth above 15-20% per step means context
    compression has become worth its cost.
    """
    inputs = [s.input for s in run_steps(profile, steps)]
    return [(b - a) / a if a else float("inf") for a, b in zip(inputs, inputs[1:])]


def run_cost(
    profile: AgentProfile,
    model: str,
    *,
    cache_prefix: bool = False,
    ttl: CacheTTL = "5m",
    steps: int | None = None,
) -> RunCost:
    """The run's cost with or without caching the stable prefix (tools + system).

    With `cache_prefix`, step 1 writes the prefix to the cache and every later
    step reads it (each read refreshes the TTL, so steps a few seconds apart
    keep hitting). Each step is priced with `agentkit.pricing.cost_of` exactly
    as the API's usage block would report it.
    """
    if ttl not in ("5m", "1h"):
        raise ValueError(f'ttl must be "5m" or "1h", got {ttl!r}.')
    price_of(model)  # fail early, naming the known models
    uncached = writes = reads = output = 0
    dollars = 0.0
    for s in run_steps(profile, steps):
        usage = {"input_tokens": s.input, "output_tokens": s.output}
        if cache_prefix:
            prefix = profile.prefix_tokens
            usage["input_tokens"] = s.input - prefix
            if s.step == 1:
                usage["cache_creation_input_tokens"] = prefix
                usage["cache_creation"] = {
                    "ephemeral_5m_input_tokens": prefix if ttl == "5m" else 0,
                    "ephemeral_1h_input_tokens": prefix if ttl == "1h" else 0,
                }
            else:
                usage["cache_read_input_tokens"] = prefix
        uncached += usage["input_tokens"]
        writes += usage.get("cache_creation_input_tokens", 0)
        reads += usage.get("cache_read_input_tokens", 0)
        output += s.output
        dollars += cost_of(model, usage)
    return RunCost(model, uncached, writes, reads, output, dollars)


def caching_savings(profile: AgentProfile, model: str, *, ttl: CacheTTL = "5m", steps: int | None = None) -> float:
    """Dollars one run saves by caching the stable prefix (negative if caching costs more)."""
    plain = run_cost(profile, model, steps=steps)
    cached = run_cost(profile, model, cache_prefix=True, ttl=ttl, steps=steps)
    return plain.dollars - cached.dollars
