"""Tests for agentkit.pricing: the table, the multipliers, and cost_of on SDK usage objects."""

from __future__ import annotations

import math

import pytest
from anthropic.types import Usage

from agentkit import models
from agentkit.pricing import (
    PRICES,
    UnknownModelError,
    UsageError,
    cost_of,
    price_of,
    price_table,
)


def test_every_model_id_has_one_dated_sourced_row():
    assert set(PRICES) == set(models.MODELS)
    for row in PRICES.values():
        assert row.as_of == "2026-02"
        assert row.source.startswith("https://")
    assert (PRICES[models.LARGEST_MODEL].input_per_mtok, PRICES[models.LARGEST_MODEL].output_per_mtok) == (5, 25)
    assert (PRICES[models.DEFAULT_MODEL].input_per_mtok, PRICES[models.DEFAULT_MODEL].output_per_mtok) == (3, 15)
    assert (PRICES[models.FAST_MODEL].input_per_mtok, PRICES[models.FAST_MODEL].output_per_mtok) == (1, 5)


def test_plain_call_cost_from_a_dict_and_from_the_sdk_usage_object():
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert cost_of(models.DEFAULT_MODEL, usage) == pytest.approx(18.0)
    sdk = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost_of(models.DEFAULT_MODEL, sdk) == pytest.approx(18.0)


def test_cache_writes_and_reads_use_the_multipliers():
    # 1M tokens written (5 min) costs 1.25x the input price; 1M read costs 0.1x.
    assert cost_of(models.DEFAULT_MODEL, {"cache_creation_input_tokens": 1_000_000}) == pytest.approx(3.75)
    assert cost_of(models.DEFAULT_MODEL, {"cache_read_input_tokens": 1_000_000}) == pytest.approx(0.30)
    # The SDK's per-TTL split: 1-hour writes cost 2x.
    sdk = Usage(
        input_tokens=0,
        output_tokens=0,
        cache_creation_input_tokens=2_000_000,
        cache_creation={"ephemeral_5m_input_tokens": 1_000_000, "ephemeral_1h_input_tokens": 1_000_000},
    )
    assert cost_of(models.FAST_MODEL, sdk) == pytest.approx(1.25 + 2.0)


def test_batch_discount_from_service_tier_or_flag():
    usage = Usage(input_tokens=1_000_000, output_tokens=0, service_tier="batch")
    assert cost_of(models.LARGEST_MODEL, usage) == pytest.approx(2.5)
    assert cost_of(models.LARGEST_MODEL, usage, batch=False) == pytest.approx(5.0)
    assert cost_of(models.LARGEST_MODEL, {"output_tokens": 1_000_000}, batch=True) == pytest.approx(12.5)


def test_snapshot_ids_resolve_to_their_alias():
    assert price_of(models.FAST_MODEL + "-20251001") is PRICES[models.FAST_MODEL]


def test_unknown_model_names_the_known_ones():
    with pytest.raises(UnknownModelError) as err:
        cost_of("gpt-4o", {"input_tokens": 1})
    message = str(err.value)
    assert "gpt-4o" in message
    for model in models.MODELS:
        assert model in message


def test_bad_usage_gets_a_clear_error():
    with pytest.raises(UsageError, match="input_tokens"):
        cost_of(models.DEFAULT_MODEL, {"input_tokens": "12"})
    with pytest.raises(UsageError, match="negative"):
        cost_of(models.DEFAULT_MODEL, {"output_tokens": -1})
    with pytest.raises(UsageError, match="usage object"):
        cost_of(models.DEFAULT_MODEL, 42)


def test_price_table_rows_carry_date_and_source():
    rows = price_table()
    assert len(rows) == len(models.MODELS)
    for row in rows:
        assert math.isclose(row["cache read $/MTok"], row["input $/MTok"] * 0.1)
        assert row["as of"] and row["source"]
