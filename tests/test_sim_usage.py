"""Tests for agentkit.sim.usage: token usage and prompt caching, as the SDK reports them.

Expected numbers are computed from the tokenizer (agentkit.tokens) and the documented rules, never typed in.
"""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from agentkit.models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL, PREVIOUS_FAST_MODEL
from agentkit.sim import simulator_of
from agentkit.sim.usage import IMAGE_TOKENS, MAX_BREAKPOINTS, MIN_CACHEABLE, TTL_SECONDS
from agentkit.tokens import count_tokens
from sim_helpers import WEATHER_TOOL, async_sim_client, user

SENTENCE = "Agents call tools, read the results, and decide what to do next. "


pytestmark = pytest.mark.usefixtures("no_latency")


def text_of_at_least(tokens: int, topic: str = "") -> str:
    text = topic
    while count_tokens(text) < tokens:
        text += SENTENCE
    return text


def cached_system(text: str, ttl: str | None = None) -> list[dict]:
    cc = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": text, "cache_control": cc}]


def total(u) -> int:
    return u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens


def ask(c, system, question: str, model: str = DEFAULT_MODEL, **kw):
    m = c.messages.create(model=model, max_tokens=100, system=system, messages=user(question), **kw)
    counted = c.messages.count_tokens(model=model, system=system, messages=user(question), **kw).input_tokens
    assert total(m.usage) == counted  # the three buckets always add up to the whole prompt
    return m.usage


def test_first_request_writes_the_cache_and_later_ones_read_it(c):
    big = text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] + 200)
    system = cached_system(big)
    first = ask(c, system, "Question one?")
    prefix = count_tokens(big, DEFAULT_MODEL)
    assert first.cache_creation_input_tokens == prefix and first.cache_read_input_tokens == 0
    assert first.cache_creation.ephemeral_5m_input_tokens == prefix
    assert first.cache_creation.ephemeral_1h_input_tokens == 0
    assert first.input_tokens == total(first) - prefix
    second = ask(c, system, "A rather different question?")
    assert second.cache_read_input_tokens == prefix and second.cache_creation_input_tokens == 0
    assert second.input_tokens == total(second) - prefix
    # a different prefix misses
    other = ask(c, cached_system(big + "One more sentence."), "Question one?")
    assert other.cache_read_input_tokens == 0 and other.cache_creation_input_tokens > prefix


def test_one_hour_ttl_goes_to_its_own_bucket_and_lasts(c):
    big = text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] + 10)
    system = cached_system(big, ttl="1h")
    first = ask(c, system, "Q1")
    assert first.cache_creation.ephemeral_1h_input_tokens == count_tokens(big, DEFAULT_MODEL)
    assert first.cache_creation.ephemeral_5m_input_tokens == 0
    simulator_of(c).advance(TTL_SECONDS["5m"] + 1)
    assert ask(c, system, "Q2").cache_read_input_tokens == count_tokens(big, DEFAULT_MODEL)  # still there after 5 minutes
    simulator_of(c).advance(TTL_SECONDS["1h"] + 1)
    assert ask(c, system, "Q3").cache_creation_input_tokens == count_tokens(big, DEFAULT_MODEL)  # gone after an hour


def test_five_minute_entry_expires_and_reads_refresh_it(c):
    sim = simulator_of(c)
    big = text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] + 10)
    system = cached_system(big)
    ask(c, system, "Q1")
    sim.advance(200)
    assert ask(c, system, "Q2").cache_read_input_tokens == count_tokens(big, DEFAULT_MODEL)
    sim.advance(200)  # 400 s after the write, but only ~200 s after the read that refreshed it
    assert ask(c, system, "Q3").cache_read_input_tokens == count_tokens(big, DEFAULT_MODEL)
    sim.advance(301)
    expired = ask(c, system, "Q4")
    assert expired.cache_read_input_tokens == 0 and expired.cache_creation_input_tokens == count_tokens(big, DEFAULT_MODEL)


def test_prefixes_below_the_model_minimum_are_not_cached(c):
    small = text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] // 2)
    for q in ("Q1", "Q2"):
        u = ask(c, cached_system(small), q)
        assert u.cache_creation_input_tokens == 0 and u.cache_read_input_tokens == 0
        assert u.input_tokens == total(u)
    # the minimum depends on the model: a prefix that is enough for one is too short for another
    # (Sonnet 5.5: 512 tokens; Haiku 4.5: 4,096, per agentkit/data/models.yaml)
    assert MIN_CACHEABLE[PREVIOUS_FAST_MODEL] > MIN_CACHEABLE[DEFAULT_MODEL]
    mid = text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] + 100, topic="Mid-sized. ")
    assert count_tokens(mid, PREVIOUS_FAST_MODEL) < MIN_CACHEABLE[PREVIOUS_FAST_MODEL]
    assert ask(c, cached_system(mid), "Q", model=DEFAULT_MODEL).cache_creation_input_tokens == count_tokens(mid, DEFAULT_MODEL)
    assert ask(c, cached_system(mid), "Q", model=PREVIOUS_FAST_MODEL).cache_creation_input_tokens == 0


def test_each_model_has_its_own_cache(c):
    big = text_of_at_least(max(MIN_CACHEABLE.values()) + 10)
    ask(c, cached_system(big), "Q1", model=DEFAULT_MODEL)
    u = ask(c, cached_system(big), "Q1", model=LARGEST_MODEL)
    assert u.cache_read_input_tokens == 0 and u.cache_creation_input_tokens == count_tokens(big, DEFAULT_MODEL)


def test_tools_then_system_prefix_order_with_two_breakpoints(c):
    tool = {**WEATHER_TOOL, "description": text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] + 50, "Weather tool. "),
            "cache_control": {"type": "ephemeral"}}
    tool_tokens = count_tokens({k: v for k, v in tool.items() if k != "cache_control"}, DEFAULT_MODEL)
    sys_a = text_of_at_least(300, "Persona A. ")
    sys_b = text_of_at_least(300, "Persona B. ")
    first = ask(c, cached_system(sys_a), "Q", tools=[tool])
    assert first.cache_creation_input_tokens == tool_tokens + count_tokens(sys_a, DEFAULT_MODEL)
    # same tools, new system: the tools prefix is read, the new system block is written
    second = ask(c, cached_system(sys_b), "Q", tools=[tool])
    assert second.cache_read_input_tokens == tool_tokens
    assert second.cache_creation_input_tokens == count_tokens(sys_b, DEFAULT_MODEL)


def test_conversation_prefix_marked_on_messages(c):
    history = [{"role": "user", "content": [{"type": "text", "text": text_of_at_least(1200, "Document. "),
                                             "cache_control": {"type": "ephemeral"}}]}]
    first = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=history)
    assert first.usage.cache_creation_input_tokens == total(first.usage)
    follow = [*history, {"role": "assistant", "content": first.content}, *user("And a follow-up?")]
    second = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=follow)
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_moving_breakpoint_reads_the_previous_turns_prefix(c):
    # The docs' multi-turn pattern: cache_control on the last block of the latest message, moved every turn.
    # The API checks earlier block boundaries (up to 20 blocks back) for hits, so turn 2 reads what turn 1 wrote.
    doc = text_of_at_least(1200, "Document. ")
    turn1 = [{"role": "user", "content": [{"type": "text", "text": doc, "cache_control": {"type": "ephemeral"}}]}]
    first = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=turn1)
    turn2 = [{"role": "user", "content": [{"type": "text", "text": doc}]},
             {"role": "assistant", "content": first.content},
             {"role": "user", "content": [{"type": "text", "text": "Follow-up?",
                                           "cache_control": {"type": "ephemeral"}}]}]
    second = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=turn2)
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_top_level_cache_control_caches_the_last_block(c):
    doc = text_of_at_least(1200, "Document. ")
    turn1 = user(doc)
    first = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=turn1, cache_control={"type": "ephemeral"})
    assert first.usage.cache_creation_input_tokens == total(first.usage)  # the whole prompt, up to its last block
    turn2 = [*turn1, {"role": "assistant", "content": first.content}, *user("Follow-up?")]
    second = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=turn2,
                               cache_control={"type": "ephemeral"})
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_more_than_four_breakpoints_is_a_400(c):
    blocks = [{"type": "text", "text": f"Part {i}.", "cache_control": {"type": "ephemeral"}}
              for i in range(MAX_BREAKPOINTS + 1)]
    with pytest.raises(anthropic.BadRequestError, match=f"maximum of {MAX_BREAKPOINTS}") as err:
        c.messages.create(model=DEFAULT_MODEL, max_tokens=100, system=blocks, messages=user("Q"))
    assert err.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.BadRequestError, match="Found 5"):
        c.messages.count_tokens(model=DEFAULT_MODEL, system=blocks, messages=user("Q"))
    ok = c.messages.create(model=DEFAULT_MODEL, max_tokens=100, system=blocks[:MAX_BREAKPOINTS], messages=user("Q"))
    assert ok.stop_reason == "end_turn"


def test_bad_cache_control_is_a_400(c):
    with pytest.raises(anthropic.BadRequestError, match=r"system\.0\.cache_control\.ttl"):
        c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=user("Q"),
                          system=[{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}])
    with pytest.raises(anthropic.BadRequestError, match="ephemeral"):
        c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=user("Q"),
                          system=[{"type": "text", "text": "x", "cache_control": {"type": "forever"}}])


def test_streamed_usage_carries_the_cache_buckets(c):
    system = cached_system(text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] + 10))
    ask(c, system, "Warm the cache")
    with c.messages.stream(model=DEFAULT_MODEL, max_tokens=100, system=system, messages=user("Q")) as s:
        final = s.get_final_message()
    assert final.usage.cache_read_input_tokens == count_tokens(system[0]["text"], DEFAULT_MODEL)
    assert final.usage.output_tokens == count_tokens(final.content[0].text, DEFAULT_MODEL)


def test_async_client_shares_the_rules():
    async def go():
        ac = async_sim_client()
        system = cached_system(text_of_at_least(MIN_CACHEABLE[DEFAULT_MODEL] + 10))
        a = await ac.messages.create(model=DEFAULT_MODEL, max_tokens=50, system=system, messages=user("Q1"))
        b = await ac.messages.create(model=DEFAULT_MODEL, max_tokens=50, system=system, messages=user("Q2"))
        return a.usage, b.usage, count_tokens(system[0]["text"], DEFAULT_MODEL)

    a, b, prefix = asyncio.run(go())
    assert (a.cache_creation_input_tokens, b.cache_read_input_tokens) == (prefix, prefix)


def test_block_token_estimates(c):
    base = c.messages.count_tokens(model=DEFAULT_MODEL, messages=user("Describe this.")).input_tokens
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    with_image = c.messages.count_tokens(model=DEFAULT_MODEL, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Describe this."}, image]}]).input_tokens
    assert with_image == base + IMAGE_TOKENS
    with_tool = c.messages.count_tokens(model=DEFAULT_MODEL, tools=[WEATHER_TOOL],
                                        messages=user("Describe this.")).input_tokens
    assert with_tool == base + count_tokens(WEATHER_TOOL, DEFAULT_MODEL)
