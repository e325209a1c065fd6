"""GET /v1/models through the SDK: the data file's lineup, capabilities, pagination, retired ids."""

from __future__ import annotations

import anthropic
import pytest

from agentkit import models
from agentkit.sim import simulator_of
from sim_helpers import user


pytestmark = pytest.mark.usefixtures("no_latency")


def test_list_carries_limits_and_capabilities_from_the_data_file(c):
    listed = {m.id: m for m in c.models.list()}
    assert set(listed) == set(models.MODELS)  # active and deprecated; retired only on request
    sonnet = listed[models.DEFAULT_MODEL]
    facts = models.info(models.DEFAULT_MODEL)
    assert (sonnet.max_input_tokens, sonnet.max_tokens, sonnet.line) == (facts.context_window, facts.max_output, "sonnet")
    types = sonnet.capabilities.thinking.types
    assert types.adaptive.supported and types.between_tools.supported and not types.disabled.supported
    assert not listed[models.LARGEST_MODEL].capabilities.thinking.types.disabled.supported
    haiku45 = listed[models.PREVIOUS_FAST_MODEL]
    assert haiku45.capabilities.thinking.types.enabled.supported and not haiku45.capabilities.effort.supported
    assert listed["claude-opus-4-5"].lifecycle == "deprecated"
    assert listed["claude-opus-4-5"].retires_at.date().isoformat() == "2027-01-22"
    assert listed["claude-opus-4-5"].deprecated_at.date().isoformat() == "2026-11-23"


def test_real_pagination_forward_and_back(c):
    first = c.models.list(limit=3)
    assert [m.id for m in first.data] == list(models.MODELS[:3]) and first.has_more
    assert first.first_id == models.MODELS[0] and first.last_id == models.MODELS[2]
    second = c.models.list(limit=3, after_id=first.last_id)
    assert [m.id for m in second.data] == list(models.MODELS[3:6])
    back = c.models.list(limit=2, before_id=second.first_id)
    assert [m.id for m in back.data] == list(models.MODELS[1:3]) and back.has_more
    # The SDK's auto-pagination walks every page.
    assert [m.id for m in c.models.list(limit=4)] == list(models.MODELS)
    with pytest.raises(anthropic.BadRequestError, match="limit"):
        c.models.list(limit=0)


def test_retired_ids_are_listed_on_request_and_404_on_messages(c):
    retired = [m.id for m in c.models.list(lifecycle=["retired"])]
    assert "claude-sonnet-4-0" in retired
    assert c.models.retrieve("claude-sonnet-4-20250514").lifecycle == "retired"
    with pytest.raises(anthropic.NotFoundError) as err:
        c.messages.create(model="claude-sonnet-4-20250514", max_tokens=10, messages=user("hi"))
    assert err.value.body["error"] == {"type": "not_found_error", "message": "model: claude-sonnet-4-20250514"}
    with pytest.raises(anthropic.NotFoundError):
        c.models.retrieve("claude-nope")


def test_dated_snapshot_ids_work_where_the_api_serves_them(c):
    m = c.messages.create(model="claude-haiku-4-5-20251001", max_tokens=50, messages=user("hi"))
    assert m.model == "claude-haiku-4-5-20251001" and m.usage.output_tokens > 0


def test_max_tokens_is_checked_against_the_models_own_limit(c):
    limit = models.info(models.PREVIOUS_FAST_MODEL).max_output
    with pytest.raises(anthropic.BadRequestError, match=str(limit)):
        c.messages.create(model=models.PREVIOUS_FAST_MODEL, max_tokens=limit + 1, messages=user("x"), stream=True)


def test_batches_list_paginates_too(c):
    ids = []
    for i in range(3):
        b = c.messages.batches.create(requests=[{"custom_id": f"r{i}", "params": {
            "model": models.FAST_MODEL, "max_tokens": 20, "messages": user("hi")}}])
        ids.append(b.id)
    page = c.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == ids[::-1][:2] and page.has_more
    assert [b.id for b in c.messages.batches.list(limit=2)] == ids[::-1]
    assert simulator_of(c) is not None


def test_usage_counts_in_the_models_tokenizer_generation(c):
    text = "Agents call tools, read the results, and decide what to do next. " * 50
    old = c.messages.count_tokens(model=models.PREVIOUS_FAST_MODEL, messages=user(text)).input_tokens
    new = c.messages.count_tokens(model=models.FAST_MODEL, messages=user(text)).input_tokens
    assert 1.25 < new / old < 1.35  # "about 30% more tokens" on the newer tokenizer
