"""Tests for agentkit.pricing: the table, per-model multipliers, bands, and cost_of on SDK usage objects.

The dollar figures typed here are the official pages' figures (see agentkit/data/models.yaml for each
source and date); the tests check that the kit's table and arithmetic reproduce them.
"""

from __future__ import annotations

import math

import pytest
from anthropic.types import Usage

from agentkit import models
from agentkit.pricing import (
    BATCH_DISCOUNT,
    PRICES,
    UnknownModelError,
    UsageError,
    cost_of,
    price_of,
    price_table,
)

# (input, output, 5m write, 1h write, cache read) $/MTok, as the model pages and the pricing page state them.
DOCUMENTED = {
    "claude-fable-5-2": (8, 40, 10, 16, 0.20),
    "claude-fable-5-1": (10, 50, 12.50, 20, 0.25),
    "claude-opus-5-5": (4, 20, 5, 8, 0.20),
    "claude-sonnet-5-5": (2, 10, 2.50, 4, 0.10),
    "claude-haiku-5-5": (0.10, 0.50, 0.125, 0.20, 0.01),
    "claude-opus-5": (5, 25, 6.25, 10, 0.50),
    "claude-sonnet-5": (2, 10, 2.50, 4, 0.20),
    "claude-fable-5": (10, 50, 12.50, 20, 1.00),
    "claude-opus-4-8": (5, 25, 6.25, 10, 0.50),
    "claude-opus-4-7": (5, 25, 6.25, 10, 0.50),
    "claude-opus-4-6": (5, 25, 6.25, 10, 0.50),
    "claude-sonnet-4-6": (3, 15, 3.75, 6, 0.30),
    "claude-haiku-4-5": (1, 5, 1.25, 2, 0.10),
}


def test_every_served_model_has_one_dated_sourced_row():
    assert set(PRICES) == set(models.MODELS)
    for row in PRICES.values():
        # each row carries the date it was last checked; the file's `checked` is the latest of them
        assert "2026-11-30" <= row.as_of <= models.CHECKED
        assert row.source.startswith("https://")
    assert max(row.as_of for row in PRICES.values()) == models.CHECKED


@pytest.mark.parametrize("model", sorted(DOCUMENTED))
def test_rows_match_the_documented_prices(model):
    row = price_of(model)
    got = (row.input_per_mtok, row.output_per_mtok, row.cache_write_5m_per_mtok, row.cache_write_1h_per_mtok,
           row.cache_read_per_mtok)
    assert got == pytest.approx(DOCUMENTED[model])


def test_cache_read_multipliers_differ_by_model():
    assert price_of("claude-fable-5-1").cache_read_multiplier == 0.025
    assert price_of(models.LARGEST_MODEL).cache_read_multiplier == 0.05
    assert price_of(models.FAST_MODEL).cache_read_multiplier == 0.1
    assert {r.cache_read_multiplier for r in PRICES.values()} == {0.1, 0.05, 0.025}


def test_plain_call_cost_from_a_dict_and_from_the_sdk_usage_object():
    row = price_of(models.DEFAULT_MODEL)
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert cost_of(models.DEFAULT_MODEL, usage) == pytest.approx(row.input_per_mtok + row.output_per_mtok)
    sdk = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost_of(models.DEFAULT_MODEL, sdk) == pytest.approx(12.0)  # $2 + $10 on Sonnet 5.5


def test_cache_writes_and_reads_use_each_models_rates():
    # Sonnet 5.5: a 5-minute write is 1.25 x $2; a read is $0.10 (0.05x).
    assert cost_of(models.DEFAULT_MODEL, {"cache_creation_input_tokens": 1_000_000}) == pytest.approx(2.50)
    assert cost_of(models.DEFAULT_MODEL, {"cache_read_input_tokens": 1_000_000}) == pytest.approx(0.10)
    assert cost_of("claude-fable-5-1", {"cache_read_input_tokens": 1_000_000}) == pytest.approx(0.25)
    # The SDK's per-TTL split: 1-hour writes cost 2x.
    sdk = Usage(
        input_tokens=0,
        output_tokens=0,
        cache_creation_input_tokens=2_000_000,
        cache_creation={"ephemeral_5m_input_tokens": 1_000_000, "ephemeral_1h_input_tokens": 1_000_000},
    )
    assert cost_of(models.PREVIOUS_FAST_MODEL, sdk) == pytest.approx(1.25 + 2.0)


def test_haiku_5_5_band_prices_the_whole_request_at_the_higher_rate():
    row = price_of(models.FAST_MODEL)
    assert row.band is not None and row.band.threshold_tokens == 100_000
    at_limit = {"input_tokens": 60_000, "cache_read_input_tokens": 40_000, "output_tokens": 1_000}
    low = cost_of(models.FAST_MODEL, at_limit)
    assert low == pytest.approx((60_000 * 0.10 + 40_000 * 0.01 + 1_000 * 0.50) / 1e6)
    # One token more (a cache write counts too) and every token, output included, pays the higher band.
    over = {**at_limit, "cache_creation_input_tokens": 1}
    high = cost_of(models.FAST_MODEL, over)
    assert high == pytest.approx((60_000 * 0.50 + 40_000 * 0.05 + 1 * 0.625 + 1_000 * 2.50) / 1e6)
    assert high / low > 4.9


def test_batch_discount_from_service_tier_or_flag():
    usage = Usage(input_tokens=1_000_000, output_tokens=0, service_tier="batch")
    rate = price_of(models.LARGEST_MODEL).input_per_mtok
    assert cost_of(models.LARGEST_MODEL, usage) == pytest.approx(rate * BATCH_DISCOUNT)
    assert cost_of(models.LARGEST_MODEL, usage, batch=False) == pytest.approx(rate)
    assert cost_of(models.LARGEST_MODEL, {"output_tokens": 1_000_000}, batch=True) == pytest.approx(10.0)


def test_web_searches_are_billed_per_use():
    usage = {"input_tokens": 0, "output_tokens": 0, "server_tool_use": {"web_search_requests": 3}}
    assert cost_of(models.DEFAULT_MODEL, usage) == pytest.approx(0.03)  # $10 per 1,000 searches


def test_snapshot_ids_resolve_to_their_alias():
    assert price_of(models.PREVIOUS_FAST_MODEL + "-20251001") is PRICES[models.PREVIOUS_FAST_MODEL]


def test_unknown_and_retired_models_name_the_known_ones():
    with pytest.raises(UnknownModelError) as err:
        cost_of("gpt-4o", {"input_tokens": 1})
    message = str(err.value)
    assert "gpt-4o" in message
    for model in models.MODELS:
        assert model in message
    with pytest.raises(UnknownModelError, match="retired"):
        price_of("claude-sonnet-4-20250514")


def test_the_old_single_cache_read_multiplier_is_gone_with_a_pointer():
    import agentkit.pricing as pricing

    with pytest.raises(AttributeError, match="differ by model"):
        pricing.CACHE_READ_MULTIPLIER  # noqa: B018


def test_bad_usage_gets_a_clear_error():
    with pytest.raises(UsageError, match="input_tokens"):
        cost_of(models.DEFAULT_MODEL, {"input_tokens": "12"})
    with pytest.raises(UsageError, match="negative"):
        cost_of(models.DEFAULT_MODEL, {"output_tokens": -1})
    with pytest.raises(UsageError, match="usage object"):
        cost_of(models.DEFAULT_MODEL, 42)


def test_price_table_rows_carry_date_source_and_per_model_read_rate():
    rows = price_table()
    assert len(rows) == len(models.MODELS)
    for row in rows:
        assert math.isclose(row["cache read $/MTok"], row["input $/MTok"] * row["cache read x input"], rel_tol=1e-6)
        assert row["as of"] and row["source"]
    current = price_table(include_legacy=False)
    assert {r["model"] for r in current} == set(models.CURRENT_MODELS)
