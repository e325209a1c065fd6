"""Prices: one dated, sourced table, and the cost of one API call.

Every dollar figure in the course comes from here, so a price change is one
edit (in `agentkit/data/models.yaml`, shared with `agentkit.models` and the
simulator) and a learner can always see where a number came from: the date and
the official source URL sit on each row. `cost_of(model, usage)` prices the
`usage` block that the Messages API returns, including prompt-cache writes and
reads, prompt-length bands, server-tool fees and the Message Batches discount.

Anthropic's `usage.input_tokens` counts only the uncached input: cache writes
(`cache_creation_input_tokens`) and cache reads (`cache_read_input_tokens`)
are reported, and billed, separately. Cache writes cost a fixed multiple of
the input price on every model (1.25x for 5 minutes, 2x for 1 hour); cache
reads differ by model (0.1x, 0.05x or 0.025x), so each row carries its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping  # not typing.Mapping: its isinstance check is ~10x slower
from typing import Any

from agentkit import models
from agentkit.models import DEFAULT_MODEL, ModelNotFoundError

_DATA = models.data()

PRICING_SOURCE: str = _DATA["sources"]["pricing"]
#: A 5-minute cache write costs 1.25x the base input price (every model).
CACHE_WRITE_5M_MULTIPLIER: float = float(_DATA["cache_write_5m_multiplier"])
#: A 1-hour cache write (`"ttl": "1h"`) costs 2x the base input price (every model).
CACHE_WRITE_1H_MULTIPLIER: float = float(_DATA["cache_write_1h_multiplier"])
#: The Message Batches API bills input and output at 50% of the standard price.
BATCH_DISCOUNT: float = float(_DATA["batch_discount"])
#: Server tools billed per use: name -> (US dollars per use, the usage.server_tool_use field that counts them).
SERVER_TOOL_PRICES: dict[str, tuple[float, str]] = {
    name: (float(t["usd_per_1000"]) / 1000, t["usage_field"]) for name, t in _DATA["server_tools"].items()
}

PER_MILLION = 1_000_000


def __getattr__(name: str) -> Any:
    # The kit used to have one cache-read multiplier; now each model has its own. Say so instead of a bare error.
    if name == "CACHE_READ_MULTIPLIER":
        raise AttributeError("Cache-read prices differ by model (0.1x, 0.05x, 0.025x of input): use "
                             "agentkit.pricing.price_of(model).cache_read_multiplier.")
    raise AttributeError(f"module 'agentkit.pricing' has no attribute {name!r}")


class UnknownModelError(KeyError):
    """No price row for this model id; the message lists the ids that have one."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class UsageError(ValueError):
    """A usage object or dict that cannot be priced; the message says which field and why."""


@dataclass(frozen=True)
class Band:
    """Rates for a request whose prompt is over `threshold_tokens` (every token of it, output included)."""

    threshold_tokens: int
    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float


@dataclass(frozen=True)
class ModelPrice:
    """One row of the price table: standard (non-batch) prices in US dollars per million tokens."""

    model: str
    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float
    as_of: str
    source: str
    band: Band | None = None
    note: str = ""

    @property
    def input_per_token(self) -> float:
        return self.input_per_mtok / PER_MILLION

    @property
    def output_per_token(self) -> float:
        return self.output_per_mtok / PER_MILLION

    @property
    def cache_read_multiplier(self) -> float:
        """The cache-read price as a share of the input price (0.1, 0.05 or 0.025)."""
        return round(self.cache_read_per_mtok / self.input_per_mtok, 6)

    @property
    def cache_write_5m_per_mtok(self) -> float:
        return self.input_per_mtok * CACHE_WRITE_5M_MULTIPLIER

    @property
    def cache_write_1h_per_mtok(self) -> float:
        return self.input_per_mtok * CACHE_WRITE_1H_MULTIPLIER

    def rates(self, prompt_tokens: int) -> tuple[float, float, float]:
        """(input, output, cache read) $/MTok for a request whose whole prompt is `prompt_tokens`."""
        if self.band is not None and prompt_tokens > self.band.threshold_tokens:
            return self.band.input_per_mtok, self.band.output_per_mtok, self.band.cache_read_per_mtok
        return self.input_per_mtok, self.output_per_mtok, self.cache_read_per_mtok


def _row(m: models.ModelInfo) -> ModelPrice:
    p = m.price
    band = None
    if "band_threshold_tokens" in p:
        above = p["above_band"]
        band = Band(int(p["band_threshold_tokens"]), float(above["input"]), float(above["output"]),
                    float(above["cache_read"]))
    return ModelPrice(m.id, float(p["input"]), float(p["output"]), float(p["cache_read"]), m.as_of, m.source,
                      band, m.note)


#: The table. One row per model id in `agentkit.models.MODELS`, newest first.
PRICES: dict[str, ModelPrice] = {m: _row(models.info(m)) for m in models.MODELS}


def price_of(model: str) -> ModelPrice:
    """The price row for `model`.

    A dated snapshot id (say ``claude-haiku-4-5-20251001``, as `response.model`
    may report it) resolves to its alias's row.
    """
    if not isinstance(model, str):
        raise UnknownModelError(f"A model id must be a string such as {DEFAULT_MODEL!r}, not {type(model).__name__}.")
    try:
        return PRICES[models.info(model).id]
    except ModelNotFoundError as err:
        known = ", ".join(sorted(PRICES))
        why = " It is retired, so the API no longer serves or bills it." if err.retired else ""
        raise UnknownModelError(
            f"No price for model {model!r}.{why} Known models: {known}. "
            "Use an id from agentkit.models, or add a dated, sourced row to agentkit/data/models.yaml."
        ) from None


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


def server_tool_cost(usage: Any) -> float:
    """The per-use fees for server tools in `usage.server_tool_use` (web search is billed per search)."""
    uses = _field(usage, "server_tool_use")
    if uses is None:
        return 0.0
    return sum(_count(uses, fld) * per_use for per_use, fld in SERVER_TOOL_PRICES.values())


def cost_of(model: str, usage: Any, *, batch: bool | None = None) -> float:
    """The dollar cost of one call.

    `usage` is the SDK's `Usage` object (`response.usage`) or a dict with the
    same keys: input_tokens, output_tokens, cache_creation_input_tokens,
    cache_read_input_tokens (missing keys count as 0), and optionally
    server_tool_use. When the usage carries the per-TTL split
    (`cache_creation.ephemeral_1h_input_tokens`), 1-hour writes are billed at
    2x; otherwise every write is billed as a 5-minute write. A model with
    prompt-length bands (Haiku 5.5) bills the whole request, output included,
    at the higher band when the prompt (input + cache writes + cache reads) is
    over the threshold. `batch=None` applies the batch discount to the tokens
    when `usage.service_tier` says "batch"; pass True or False to decide
    yourself. Server-tool fees (web searches) are added undiscounted.
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

    input_rate, output_rate, read_rate = row.rates(input_tokens + writes + reads)
    dollars = (
        input_tokens * input_rate
        + writes_5m * input_rate * CACHE_WRITE_5M_MULTIPLIER
        + writes_1h * input_rate * CACHE_WRITE_1H_MULTIPLIER
        + reads * read_rate
        + output_tokens * output_rate
    ) / PER_MILLION
    if batch is None:
        batch = _field(usage, "service_tier") == "batch"
    if batch:
        dollars *= BATCH_DISCOUNT
    return dollars + server_tool_cost(usage)


def price_table(*, include_legacy: bool = True) -> list[dict[str, Any]]:
    """The table as plain rows (for `pandas.DataFrame(price_table())` in a lesson)."""
    rows = []
    for r in PRICES.values():
        status = models.status(r.model)
        if not include_legacy and status != "current":
            continue
        rows.append({
            "model": r.model,
            "status": status,
            "input $/MTok": r.input_per_mtok,
            "output $/MTok": r.output_per_mtok,
            "cache write 5m $/MTok": r.cache_write_5m_per_mtok,
            "cache write 1h $/MTok": r.cache_write_1h_per_mtok,
            "cache read $/MTok": r.cache_read_per_mtok,
            "cache read x input": r.cache_read_multiplier,
            "prompts over": r.band.threshold_tokens if r.band else None,
            "as of": r.as_of,
            "source": r.source,
        })
    return rows
