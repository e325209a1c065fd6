"""Tests for agentkit.models: the data file, the defaults, statuses and the tokenizer generations."""

from __future__ import annotations

import pytest

from agentkit import models
from agentkit.tokens import count_tokens

DEFAULTS = {name: getattr(models, name) for name in
            ("DEFAULT_MODEL", "FAST_MODEL", "LARGEST_MODEL", "FABLE_MODEL")}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_default_is_a_current_model(name):
    # Fails the day a default's status in agentkit/data/models.yaml stops being "current": move the default.
    assert models.status(DEFAULTS[name]) == "current", f"{name} = {DEFAULTS[name]} is no longer current"


def test_the_lineup_as_of_the_check_date():
    assert models.CHECKED == "2026-12-07"
    assert set(models.CURRENT_MODELS) == {"claude-fable-5-2", "claude-opus-5-5", "claude-sonnet-5-5",
                                          "claude-haiku-5-5"}
    assert models.status("claude-opus-4-6") == "legacy"
    assert models.status("claude-opus-4-5") == "deprecated"
    assert models.info("claude-opus-4-5").retires == "2027-01-22"
    assert models.status("claude-sonnet-4-20250514") == "retired"
    assert models.MODELS[0] == models.FABLE_MODEL  # newest first


def test_december_2026_facts():
    # issue 19: each checked against the official pages (sources and dates in agentkit/data/models.yaml)
    opus47 = models.info("claude-opus-4-7")
    assert opus47.status == "legacy" and opus47.tokenizer == "claude-v2" and opus47.thinking == "adaptive"
    assert (opus47.price["input"], opus47.price["output"], opus47.price["cache_read"]) == (5.0, 25.0, 0.5)
    assert models.status("claude-sonnet-4-5") == models.status("claude-sonnet-4-5-20250929") == "retired"
    assert {m: models.info(m).min_cacheable_tokens for m in ("claude-opus-5", "claude-opus-4-8")} == {
        "claude-opus-5": 512, "claude-opus-4-8": 1024}
    assert models.info("claude-opus-4-8").thinking_default == "off"
    assert models.info("claude-opus-5").thinking_default == "on"
    assert models.info(models.LARGEST_MODEL).released == "2026-09-22"
    assert not models.info(models.DEFAULT_MODEL).sampling and models.info(models.PREVIOUS_DEFAULT_MODEL).sampling


def test_every_model_names_its_source_and_date():
    for m in models.MODELS:
        fact = models.info(m)
        assert fact.source.startswith("https://") and fact.as_of >= "2026-11-30", m


def test_facts_from_the_model_pages():
    haiku = models.info(models.FAST_MODEL)
    assert (haiku.context_window, haiku.max_output, haiku.default_effort) == (1_000_000, 128_000, "medium")
    assert models.info(models.LARGEST_MODEL).thinking == "adaptive_always"
    assert models.info(models.DEFAULT_MODEL).off_type == "between_tools"
    assert models.info(models.PREVIOUS_FAST_MODEL).thinking == "extended"


def test_snapshot_ids_resolve_and_unknown_or_retired_ids_raise():
    assert models.info("claude-haiku-4-5-20251001").id == "claude-haiku-4-5"
    with pytest.raises(models.ModelNotFoundError) as err:
        models.info("claude-3-5-sonnet-20241022")
    assert err.value.retired and "retired" in str(err.value)
    with pytest.raises(models.ModelNotFoundError) as err:
        models.info("claude-sonnet-9")
    assert not err.value.retired and models.DEFAULT_MODEL in str(err.value)


def test_newer_tokenizer_counts_about_thirty_percent_more():
    text = "Agents call tools, read the results, and decide what to do next. " * 40
    old, new = count_tokens(text, models.PREVIOUS_FAST_MODEL), count_tokens(text, models.FAST_MODEL)
    assert old == count_tokens(text)  # the older generation is the plain estimate
    assert new == round(old * models.info(models.FAST_MODEL).tokenizer_factor)
    assert 1.25 < new / old < 1.35
