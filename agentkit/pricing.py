"""Prices: one dated, sourced table, and the cost of one API call.

Every dollar figure in the course comes from here, so a price change is one
edit and a learner can always see where a number came from (the date and the
source URL sit on each row). `cost_of(model, usage)` prices the `usage` block
that the Messages API returns, including prompt-cache writes and reads and the
Message Batches discount.

Anthropic's `usage.input_tokens` counts only the uncached input: cache writes
(`cache_creation_input_tokens`) and cache reads (`cache_read_input_tokens`)
are reported, and billed, separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from agentkit.models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL

PRICING_SOURCE = "https://www.anthropic.com/pricing"

#: A 5-minute cache write costs 1.25x the base input price.
CACHE_WRITE_5M_MULTIPLIER = 1.25
#: A 1-hour cache write (`"ttl": "1h"`) costs 2x the base input price.
CACHE_WRITE_1H_MULTIPLIER = 2.0
#: A cache read (a hit) costs 0.1x the base input price: 90% off.
CACHE_READ_MULTIPLIER = 0.1
#: The Message Batches API bills input and output at 50% of the standard price.
BATCH_DISCOUNT = 0.5

PER_MILLION = 1_000_000


class UnknownModelError(KeyError):
    """No price row for this model id; the message lists the ids that have one."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class UsageError(ValueError):
    """A usage object or dict that cannot be priced; the message says which field and why."""


@dataclass(frozen=True)
class ModelPrice:
    """One row of the price table: standard (non-batch) prices in US dollars per million tokens."""

    model: str
    input_per_mtok: float
    output_per_mtok: float
    as_of: str
    source: str

    @property
    def input_per_token(self) -> float:
        return self.input_per_mtok / PER_MILLION

    @property
    def output_per_token(self) -> float:
        return self.output_per_mtok / PER_MILLION


#: The table. One row per model id in `agentkit.models`.
PRICES: dict[str, ModelPrice] = {
    row.model: row
    for row in (
        ModelPrice(LARGEST_MODEL, 5.00, 25.00, "2026-02", PRICING_SOURCE),
        ModelPrice(DEFAULT_MODEL, 3.00, 15.00, "2026-02", PRICING_SOURCE),
        ModelPrice(FAST_MODEL, 1.00, 5.00, "2026-02", PRICING_SOURCE),
    )
}


def price_of(model: str) -> ModelPrice:
    """The price row for `model`.

    A dated snapshot id (say ``claude-haiku-4-5-20251001``, as `response.model`
    may report it) resolves to its alias's row.
    """
    if not isinstance(model, str):
        raise UnknownModelError(f"A model id must be a string such as {DEFAULT_MODEL!r}, not {type(model).__name__}.")
    row = PRICES.get(model)
    if row is None:
        # Snapshot ids are the alias plus "-YYYYMMDD".
        for alias, candidate in PRICES.items():
            rest = model[len(alias) :]
            if model.startswith(alias + "-") and rest[1:].isdigit():
                row = candidate
                break
    if row is None:
        known = ", ".join(sorted(PRICES))
        raise UnknownModelError(
            f"No price for model {model!r}. Known models: {known}. "
            "Use an id from agentkit.models, or add a dated, sourced row to agentkit.pricing.PRICES."
        )
    return row


_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _field(usage: Any, name: str) -> Any:
    if isinstance(usage, Mapping):
        return usage.get(name)
    return getattr(usage, name, None)


def _count(usage: Any, name: str) -> int:
    value = _field(usage, name)
    if value is None:  # the API omits or nulls fields that do not apply
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise UsageError(f"usage.{name} must be a whole number of tokens, got {value!r} ({type(value).__name__}).")
    if value < 0:
        raise UsageError(f"usage.{name} must not be negative, got {value}.")
    return value


def cost_of(model: str, usage: Any, *, batch: bool | None = None) -> float:
    """The dollar cost of one call.

    `usage` is the SDK's `Usage` object (`response.usage`) or a dict with the
    same keys: input_tokens, output_tokens, cache_creation_input_tokens,
    cache_read_input_tokens (missing keys count as 0). When the usage carries
    the per-TTL split (`cache_creation.ephemeral_1h_input_tokens`), 1-hour
    writes are billed at 2x; otherwise every write is billed as a 5-minute
    write. `batch=None` applies the batch discount when `usage.service_tier`
    says "batch"; pass True or False to decide yourself.
    """
    row = price_of(model)
    if usage is None or (not isinstance(usage, Mapping) and not any(hasattr(usage, f) for f in _USAGE_FIELDS)):
        raise UsageError(
            f"cost_of() needs a usage object (response.usage) or a dict with {', '.join(_USAGE_FIELDS)}; "
            f"got {type(usage).__name__}."
        )
    input_tokens = _count(usage, "input_tokens")
    output_tokens = _count(usage, "output_tokens")
    writes = _count(usage, "cache_creation_input_tokens")
    reads = _count(usage, "cache_read_input_tokens")

    writes_1h = 0
    split = _field(usage, "cache_creation")
    if split is not None:
        writes_1h = _count(split, "ephemeral_1h_input_tokens")
        writes_5m = _count(split, "ephemeral_5m_input_tokens")
        if writes_1h + writes_5m > writes:
            # Trust the split when the total was left out (a hand-made dict).
            writes = writes_1h + writes_5m
    writes_5m = writes - writes_1h

    dollars = (
        input_tokens * row.input_per_token
        + writes_5m * row.input_per_token * CACHE_WRITE_5M_MULTIPLIER
        + writes_1h * row.input_per_token * CACHE_WRITE_1H_MULTIPLIER
        + reads * row.input_per_token * CACHE_READ_MULTIPLIER
        + output_tokens * row.output_per_token
    )
    if batch is None:
        batch = _field(usage, "service_tier") == "batch"
    if batch:
        dollars *= BATCH_DISCOUNT
    return dollars


def price_table() -> list[dict[str, Any]]:
    """The table as plain rows (for `pandas.DataFrame(price_table())` in a lesson)."""
    return [
        {
            "model": r.model,
            "input $/MTok": r.input_per_mtok,
            "output $/MTok": r.output_per_mtok,
            "cache write 5m $/MTok": r.input_per_mtok * CACHE_WRITE_5M_MULTIPLIER,
            "cache write 1h $/MTok": r.input_per_mtok * CACHE_WRITE_1H_MULTIPLIER,
            "cache read $/MTok": r.input_per_mtok * CACHE_READ_MULTIPLIER,
            "as of": r.as_of,
            "source": r.source,
        }
        for r in PRICES.values()
    ]
