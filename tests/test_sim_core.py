"""Tests for agentkit.sim.core (with validate, policy, faults, transport): the Messages API through the real SDK.

Every test drives the simulator with the official `anthropic` client, sync and async, and the clients validate
responses strictly against the SDK's own types, so "the SDK cannot tell" is checked, not assumed.
"""

from __future__ import annotations

import asyncio
import json

import anthropic
import httpx2
import pytest
from anthropic import beta_tool

import agentkit
from agentkit import models
from agentkit.models import DEFAULT_MODEL, DISPLAY_NAMES, FAST_MODEL, MODELS, PREVIOUS_DEFAULT_MODEL
from agentkit.sim import Faults, Scenario, SimTransport, simulator_of
from agentkit.sim.core import THREADS_BETA
from agentkit.tokens import count_tokens, encoding
from sim_helpers import (MODEL, TIME_TOOL, WEATHER_TOOL, RecordingSimulator, async_sim_client, scale, sim_client, 
                         user)


pytestmark = pytest.mark.usefixtures("no_latency")


def story_scenario(text: str = "Once upon a time there was a fox. END It ran away. STOP The end.") -> Scenario:
    return Scenario.from_dict({"name": "story", "match": "tell me a story", "turns": [{"text": text}]})


# -- create ------------------------------------------------------------------------------------------------------
def test_create_returns_a_message_with_usage_from_the_tokenizer(c):
    m = c.messages.create(model=MODEL, max_tokens=200, messages=user("Hello there"))
    assert isinstance(m, anthropic.types.Message)
    assert m.id.startswith("msg_") and m.type == "message" and m.role == "assistant" and m.model == MODEL
    assert m.stop_reason == "end_turn" and m.stop_sequence is None
    [block] = m.content
    assert block.type == "text" and "simulated" in block.text
    assert m.usage.output_tokens == count_tokens(block.text, MODEL)  # in the model's tokenizer generation
    # a one-message prompt: the text plus the per-message overhead, and count_tokens agrees
    assert m.usage.input_tokens == c.messages.count_tokens(model=MODEL, messages=user("Hello there")).input_tokens
    assert m.usage.input_tokens > count_tokens("Hello there")
    assert m.usage.cache_read_input_tokens == 0 and m.usage.cache_creation_input_tokens == 0
    assert m.usage.service_tier == "standard"


def test_system_as_string_and_as_blocks(c):
    sim = simulator_of(c)
    plain = c.messages.create(model=MODEL, max_tokens=200, messages=user("Hi"))
    system = "You are a terse assistant who answers in French."
    as_str = c.messages.create(model=MODEL, max_tokens=200, system=system, messages=user("Hi"))
    as_blocks = c.messages.create(model=MODEL, max_tokens=200, messages=user("Hi"),
                                  system=[{"type": "text", "text": system}, {"type": "text", "text": "Be kind."}])
    assert as_str.usage.input_tokens == plain.usage.input_tokens + count_tokens(system, MODEL)
    assert as_blocks.usage.input_tokens == plain.usage.input_tokens + count_tokens(system, MODEL) + count_tokens("Be kind.", MODEL)
    assert sim.requests[1]["system"] == system
    assert [b["text"] for b in sim.requests[2]["system"]] == [system, "Be kind."]
    with pytest.raises(anthropic.BadRequestError, match=r"system\.0"):
        c.messages.create(model=MODEL, max_tokens=200, messages=user("Hi"), system=[{"type": "image"}])


def test_metadata_is_accepted_and_checked(c):
    m = c.messages.create(model=MODEL, max_tokens=100, messages=user("Hi"), metadata={"user_id": "learner-42"})
    assert m.stop_reason == "end_turn"
    assert simulator_of(c).requests[-1]["metadata"] == {"user_id": "learner-42"}


OLD_API = {"anthropic-version": "2023-06-01"}


@pytest.mark.parametrize("field, value", [("temperature", 0.2), ("temperature", 1.0), ("top_p", 0.9), ("top_k", 5)])
def test_sampling_parameters_are_refused_under_the_sdk_s_api_version(c, field, value):
    # anthropic 2.x sends anthropic-version 2026-10-21, which removed them: a 400 even at the default value
    with pytest.raises(anthropic.BadRequestError, match=f"{field}: Extra inputs are not permitted"):
        c.messages.create(model=PREVIOUS_DEFAULT_MODEL, max_tokens=100, messages=user("Hi"),
                          extra_body={field: value})
    with pytest.raises(anthropic.BadRequestError, match=field):
        c.messages.count_tokens(model=PREVIOUS_DEFAULT_MODEL, messages=user("Hi"), extra_body={field: value})


def test_sampling_parameters_under_2023_06_01_where_the_model_allows_them(c):
    m = c.messages.create(model=PREVIOUS_DEFAULT_MODEL, max_tokens=100, messages=user("Hi"),
                          extra_body={"temperature": 0.2}, extra_headers=OLD_API)
    assert m.stop_reason == "end_turn" and simulator_of(c).requests[-1]["temperature"] == 0.2
    with pytest.raises(anthropic.BadRequestError, match="temperature: Input should be between 0 and 1"):
        c.messages.create(model=PREVIOUS_DEFAULT_MODEL, max_tokens=100, messages=user("Hi"),
                          extra_body={"temperature": 1.5}, extra_headers=OLD_API)
    with pytest.raises(anthropic.BadRequestError, match="cannot both be specified"):
        c.messages.create(model=PREVIOUS_DEFAULT_MODEL, max_tokens=100, messages=user("Hi"),
                          extra_body={"temperature": 0.2, "top_p": 0.9}, extra_headers=OLD_API)
    # models from Opus 4.7 on refuse non-default values, whatever the version; the default passes
    with pytest.raises(anthropic.BadRequestError, match="`temperature` is deprecated for this model"):
        c.messages.create(model=MODEL, max_tokens=100, messages=user("Hi"), extra_body={"temperature": 0.2},
                          extra_headers=OLD_API)
    assert c.messages.create(model=MODEL, max_tokens=100, messages=user("Hi"), extra_body={"temperature": 1},
                             extra_headers=OLD_API).stop_reason == "end_turn"


def test_a_batch_keeps_the_api_version_it_was_created_with(c):
    req = {"custom_id": "t", "params": {"model": PREVIOUS_DEFAULT_MODEL, "max_tokens": 50, "messages": user("Hi"),
                                        "temperature": 0.3}}
    sim = simulator_of(c)
    new = c.messages.batches.create(requests=[req])
    old = c.messages.batches.create(requests=[req], extra_headers=OLD_API)
    sim.finish_batches()
    (new_result,) = list(c.messages.batches.results(new.id))
    (old_result,) = list(c.messages.batches.results(old.id))
    assert new_result.result.type == "errored" and old_result.result.type == "succeeded"


def test_async_create_matches_sync(c):
    async def go():
        ac = async_sim_client()
        return await ac.messages.create(model=MODEL, max_tokens=200, messages=user("Hello there"))

    am = asyncio.run(go())
    m = c.messages.create(model=MODEL, max_tokens=200, messages=user("Hello there"))
    assert am.model_dump() == m.model_dump()  # same seed, same request: same body, ids included


# -- streaming -----------------------------------------------------------------------------------------------------
def test_raw_stream_event_sequence_for_text_and_tool_use(c):
    kwargs = dict(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL], messages=user("What is the weather in Paris?"))
    events = list(c.messages.create(stream=True, **kwargs))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    # text block 0 then tool_use block 1, each opened, filled by deltas, closed
    body = types[1:-2]
    assert body[0] == "content_block_start" and body[-1] == "content_block_stop"
    starts = [e for e in events if e.type == "content_block_start"]
    assert [(s.index, s.content_block.type) for s in starts] == [(0, "text"), (1, "tool_use")]
    assert starts[1].content_block.input == {} and starts[1].content_block.name == "get_weather"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    js = "".join(e.delta.partial_json for e in events
                 if e.type == "content_block_delta" and e.delta.type == "input_json_delta")
    assert [e.index for e in events if e.type == "content_block_stop"] == [0, 1]
    assert all(e.index == 1 for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta")
    start, delta = events[0], events[-2]
    assert start.message.content == [] and start.message.stop_reason is None
    assert delta.delta.stop_reason == "tool_use"

    # the same request, not streamed, to a fresh simulator with the same seed: the stream carries the same message
    m = sim_client().messages.create(**kwargs)
    assert m.content[0].text == text
    assert json.loads(js) == m.content[1].input
    assert start.message.id == m.id and starts[1].content_block.id == m.content[1].id
    assert delta.usage.output_tokens == m.usage.output_tokens
    assert start.message.usage.input_tokens == m.usage.input_tokens


def test_stream_helper_text_stream_and_final_message(c):
    kwargs = dict(model=MODEL, max_tokens=300, messages=user("Tell me something about foxes, at length"))
    with c.messages.stream(**kwargs) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1  # it really arrives in several deltas
    assert "".join(pieces) == final.content[0].text
    m = sim_client().messages.create(**kwargs)
    assert final.model_dump(exclude={"content"}) == m.model_dump(exclude={"content"})
    assert final.content[0].text == m.content[0].text


def test_async_stream_helper():
    async def go():
        ac = async_sim_client()
        async with ac.messages.stream(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL],
                                      messages=user("What is the weather in Paris?")) as stream:
            texts = [t async for t in stream.text_stream]
            return texts, await stream.get_final_message()

    texts, final = asyncio.run(go())
    assert "".join(texts) == final.content[0].text
    assert final.stop_reason == "tool_use" and final.content[1].type == "tool_use"
    assert final.content[1].input == {"city": final.content[1].input["city"]}


# -- tools ---------------------------------------------------------------------------------------------------------
def two_calls() -> Scenario:
    return Scenario.from_dict({"name": "two", "match": "weather and time", "turns": [{
        "text": "Checking both.", "tool_calls": [{"name": "get_weather", "input": {"city": "Oslo"}},
                                                 {"name": "get_time", "input": {"tz": "Europe/Oslo"}}]}]})


def test_tool_choice_auto_calls_the_matching_tool(c):
    m = c.messages.create(model=MODEL, max_tokens=300, tools=[TIME_TOOL, WEATHER_TOOL],
                          messages=user("What is the weather like in Paris?"))
    assert m.stop_reason == "tool_use"
    [call] = [b for b in m.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.id.startswith("toolu_") and set(call.input) == {"city"}


# Forced tool use is refused by the 5.5 models (their "what's new" pages); earlier models still accept it.
FORCING_MODEL = models.PREVIOUS_DEFAULT_MODEL


def test_forced_tool_use_is_refused_where_the_model_does_not_support_it(c):
    assert not models.info(MODEL).forced_tool_choice
    with pytest.raises(anthropic.BadRequestError, match="forced tool use"):
        c.messages.create(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL], tool_choice={"type": "any"},
                          messages=user("Say hello"))


def test_tool_choice_any_forces_a_call_without_preamble(c):
    m = c.messages.create(model=FORCING_MODEL, max_tokens=300, tools=[WEATHER_TOOL], tool_choice={"type": "any"},
                          messages=user("Say hello"))
    assert [b.type for b in m.content] == ["tool_use"] and m.stop_reason == "tool_use"


def test_tool_choice_tool_forces_the_named_tool(c):
    m = c.messages.create(model=FORCING_MODEL, max_tokens=300, tools=[WEATHER_TOOL, TIME_TOOL],
                          tool_choice={"type": "tool", "name": "get_time"}, messages=user("Say hello"))
    assert [(b.type, b.name) for b in m.content] == [("tool_use", "get_time")]
    assert set(m.content[0].input) == {"tz"}


def test_tool_choice_tool_wins_over_the_tool_the_policy_would_pick(c):
    m = c.messages.create(model=FORCING_MODEL, max_tokens=300, tools=[WEATHER_TOOL, TIME_TOOL],
                          tool_choice={"type": "tool", "name": "get_time"},
                          messages=user("What is the weather in Paris?"))
    assert [b.name for b in m.content if b.type == "tool_use"] == ["get_time"]


def test_tool_choice_none_never_calls_a_tool(c):
    m = c.messages.create(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL], tool_choice={"type": "none"},
                          messages=user("What is the weather in Paris?"))
    assert [b.type for b in m.content] == ["text"] and m.stop_reason == "end_turn"


def test_tool_choice_none_does_not_promise_a_tool_call(c):
    m = c.messages.create(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL], tool_choice={"type": "none"},
                          messages=user("What is the weather in Paris?"))
    assert "get_weather" not in m.content[0].text


def test_parallel_calls_and_disable_parallel_tool_use(c):
    simulator_of(c).register(two_calls())
    kwargs = dict(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL, TIME_TOOL],
                  messages=user("What are the weather and time in Oslo?"))
    both = c.messages.create(**kwargs)
    assert [b.name for b in both.content if b.type == "tool_use"] == ["get_weather", "get_time"]
    one = c.messages.create(tool_choice={"type": "auto", "disable_parallel_tool_use": True}, **kwargs)
    assert [b.name for b in one.content if b.type == "tool_use"] == ["get_weather"]


def test_tool_choice_is_validated(c):
    with pytest.raises(anthropic.BadRequestError, match="tool_choice.name"):
        c.messages.create(model=MODEL, max_tokens=100, tools=[WEATHER_TOOL], messages=user("x"),
                          tool_choice={"type": "tool", "name": "nope"})
    with pytest.raises(anthropic.BadRequestError, match="tool_choice"):
        c.messages.create(model=MODEL, max_tokens=100, messages=user("x"), tools=[WEATHER_TOOL],
                          tool_choice={"type": "sometimes"})
    with pytest.raises(anthropic.BadRequestError, match=r"tools\.0\.name"):
        c.messages.create(model=MODEL, max_tokens=100, messages=user("x"),
                          tools=[{**WEATHER_TOOL, "name": "bad name!"}])


def test_tool_choice_without_tools_is_rejected(c):
    with pytest.raises(anthropic.BadRequestError, match="tool_choice"):
        c.messages.create(model=MODEL, max_tokens=100, messages=user("x"), tool_choice={"type": "any"})


def weather(city: str) -> str:
    return f"{city}: 21 C and sunny"


def test_manual_tool_use_loop(c):
    messages = user("What is the weather in Paris?")
    replies = []
    while True:
        reply = c.messages.create(model=MODEL, max_tokens=400, tools=[WEATHER_TOOL], messages=messages)
        replies.append(reply)
        if reply.stop_reason != "tool_use":
            break
        messages.append({"role": "assistant", "content": reply.content})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": b.id, "content": weather(**b.input)}
            for b in reply.content if b.type == "tool_use"]})
        assert len(replies) < 5, "the loop never ended"
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    city = replies[0].content[-1].input["city"]
    assert weather(city) in replies[-1].content[0].text
    # the simulator saw the whole conversation, tool_result and all
    assert [m["role"] for m in simulator_of(c).requests[-1]["messages"]] == ["user", "assistant", "user"]


# -- tool_runner and server-side threads ----------------------------------------------------------------------------
@beta_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: the city name
    """
    return weather(city)


def test_tool_runner_uses_a_server_side_thread(c):
    sim = simulator_of(c)
    runner = c.beta.messages.tool_runner(model=MODEL, max_tokens=400, tools=[get_weather], system="Be brief.",
                                         messages=user("What is the weather in Paris?"))
    replies = list(runner)
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    first, second = sim.messages_wire()
    assert THREADS_BETA in first.headers["anthropic-beta"]
    assert first.body["thread"] == {"type": "create"} and first.body["system"] == "Be brief."
    # the second turn continues the thread: only the new message, no system, no tools
    assert second.body["thread"] == {"type": "continue", "previous_message_id": replies[0].id}
    assert "system" not in second.body and "tools" not in second.body
    [only] = second.body["messages"]
    assert only["role"] == "user" and only["content"][0]["type"] == "tool_result"
    # ...and the simulator answered it with the full history
    full = sim.requests[-1]
    assert [m["role"] for m in full["messages"]] == ["user", "assistant", "user"]
    assert full["system"] == "Be brief." and full["tools"][0]["name"] == "get_weather"
    assert "21 C and sunny" in replies[-1].content[0].text


def test_async_tool_runner():
    from anthropic import beta_async_tool

    @beta_async_tool
    async def get_time(tz: str) -> str:
        """Current local time in a timezone.

        Args:
            tz: an IANA timezone name
        """
        return f"12:34 in {tz}"

    async def go():
        ac = async_sim_client()
        runner = ac.beta.messages.tool_runner(model=MODEL, max_tokens=400, tools=[get_time],
                                              messages=user("What is the local time in a timezone?"))
        return [m async for m in runner], simulator_of(ac)

    replies, sim = asyncio.run(go())
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    assert [r.body["thread"]["type"] for r in sim.messages_wire()] == ["create", "continue"]
    assert "12:34 in" in replies[-1].content[0].text


def test_streaming_tool_runner_over_a_thread(c):
    runner = c.beta.messages.tool_runner(model=MODEL, max_tokens=400, tools=[get_weather], stream=True,
                                         messages=user("What is the weather in Paris?"))
    finals = []
    for stream in runner:
        text = "".join(e.delta.text for e in stream if e.type == "content_block_delta" and e.delta.type == "text_delta")
        finals.append(stream.get_final_message())
        assert text == finals[-1].content[0].text
    assert [m.stop_reason for m in finals] == ["tool_use", "end_turn"]
    assert [w.body["thread"]["type"] for w in simulator_of(c).messages_wire()] == ["create", "continue"]
    assert all(w.body["stream"] for w in simulator_of(c).messages_wire())


def threaded(c, messages, thread, **extra):
    return c.beta.messages.create(model=MODEL, max_tokens=200, messages=messages, thread=thread,
                                  betas=[THREADS_BETA], **extra)


def test_thread_errors_have_the_codes_the_sdk_recovers_from(c):
    first = threaded(c, user("Hello"), {"type": "create"})
    second = threaded(c, user("And again"), {"type": "continue", "previous_message_id": first.id})
    assert [m["content"] for m in simulator_of(c).requests[-1]["messages"]] == [
        "Hello", [b.model_dump(exclude_none=True) for b in first.content], "And again"]
    # continuing from a reply that was already continued
    with pytest.raises(anthropic.BadRequestError) as err:
        threaded(c, user("Fork"), {"type": "continue", "previous_message_id": first.id})
    assert err.value.body["error"]["details"]["error_code"] == "thread_already_continued"
    assert second.id in err.value.message
    # continuing from a message no thread holds
    with pytest.raises(anthropic.NotFoundError) as err:
        threaded(c, user("Lost"), {"type": "continue", "previous_message_id": "msg_unknown"})
    assert err.value.body["error"]["details"]["error_code"] == "thread_not_found"
    # a continue cannot change the thread's system or tools
    with pytest.raises(anthropic.BadRequestError, match="system"):
        threaded(c, user("x"), {"type": "continue", "previous_message_id": second.id}, system="New")
    # and threads need their beta header
    with pytest.raises(anthropic.BadRequestError, match=THREADS_BETA):
        c.messages.create(model=MODEL, max_tokens=100, messages=user("x"), extra_body={"thread": {"type": "create"}})


def test_tool_runner_replays_when_its_thread_was_continued_elsewhere(c):
    sim = simulator_of(c)
    runner = c.beta.messages.tool_runner(model=MODEL, max_tokens=400, tools=[get_weather],
                                         messages=user("What is the weather in Paris?"))
    replies = []
    for reply in runner:
        if not replies:  # someone else continues the runner's thread first
            threaded(c, [{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": reply.content[-1].id, "content": "stolen"}]}],
                {"type": "continue", "previous_message_id": reply.id})
        replies.append(reply)
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    statuses = [(r.body.get("thread", {}).get("type"), r.status) for r in sim.messages_wire()]
    assert statuses == [("create", 200), ("continue", 200), ("continue", 400), ("create", 200)]
    replay = sim.messages_wire()[-1].body
    assert [m["role"] for m in replay["messages"]] == ["user", "assistant", "user"]
    assert "21 C and sunny" in replies[-1].content[0].text


def test_tool_runner_replays_when_the_server_lost_its_thread(c):
    sim = simulator_of(c)
    runner = c.beta.messages.tool_runner(model=MODEL, max_tokens=400, tools=[get_weather],
                                         messages=user("What is the weather in Paris?"))
    replies = []
    for reply in runner:
        if not replies:
            # What a server restart does: every thread is gone.
            sim.forget_threads()
        replies.append(reply)
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    statuses = [(r.body["thread"]["type"], r.status) for r in sim.messages_wire()]
    assert statuses == [("create", 200), ("continue", 404), ("create", 200)]


# -- stop sequences, max_tokens, prefill ------------------------------------------------------------------------
def test_stop_sequences_cut_at_the_earliest_match(c):
    simulator_of(c).register(story_scenario())
    m = c.messages.create(model=MODEL, max_tokens=200, messages=user("Tell me a story"), stop_sequences=["STOP", "END"])
    assert m.stop_reason == "stop_sequence" and m.stop_sequence == "END"
    assert m.content[0].text == "Once upon a time there was a fox. "
    assert m.usage.output_tokens == count_tokens(m.content[0].text, MODEL)
    events = list(c.messages.create(model=MODEL, max_tokens=200, messages=user("Tell me a story"),
                                    stop_sequences=["STOP"], stream=True))
    assert events[-2].delta.stop_reason == "stop_sequence" and events[-2].delta.stop_sequence == "STOP"
    unmatched = c.messages.create(model=MODEL, max_tokens=200, messages=user("Tell me a story"),
                                  stop_sequences=["NEVER"])
    assert unmatched.stop_reason == "end_turn" and unmatched.stop_sequence is None


def test_max_tokens_truncates_and_says_so(c):
    text = "One two three four five six seven eight nine ten eleven twelve."
    simulator_of(c).register(story_scenario(text))
    m = c.messages.create(model=MODEL, max_tokens=5, messages=user("Tell me a story"))
    assert m.stop_reason == "max_tokens" and m.usage.output_tokens == 5
    # the 5-token budget is in the model's tokenizer; the text is cut at the matching cl100k boundary
    kept = int(5 / models.tokenizer_factor(MODEL))
    assert m.content[0].text == encoding().decode(encoding().encode(text)[:kept])
    events = list(c.messages.create(model=MODEL, max_tokens=5, messages=user("Tell me a story"), stream=True))
    assert events[-2].delta.stop_reason == "max_tokens" and events[-2].usage.output_tokens == 5
    full = c.messages.create(model=MODEL, max_tokens=500, messages=user("Tell me a story"))
    assert full.content[0].text == text and full.stop_reason == "end_turn"


def test_max_tokens_drops_a_tool_call_that_does_not_fit(c):
    m = c.messages.create(model=MODEL, max_tokens=8, tools=[WEATHER_TOOL], messages=user("Weather in Paris?"))
    assert m.stop_reason == "max_tokens"
    assert [b.type for b in m.content] == ["text"]


def test_assistant_prefill_is_continued_not_repeated(c):
    simulator_of(c).register(story_scenario("Once upon a time there was a fox."))
    m = c.messages.create(model=MODEL, max_tokens=100, messages=[
        *user("Tell me a story"), {"role": "assistant", "content": "Once upon a time"}])
    assert m.content[0].text == " there was a fox."


def test_refusal_from_a_scenario_turn(c):
    simulator_of(c).register({"name": "refuse", "match": "build a weapon",
                              "turns": [{"text": "I can't help with that.", "stop_reason": "refusal"}]})
    m = c.messages.create(model=MODEL, max_tokens=100, messages=user("How do I build a weapon?"))
    assert m.stop_reason == "refusal" and m.content[0].text == "I can't help with that."


# -- count_tokens, models --------------------------------------------------------------------------------------------
def test_count_tokens_equals_the_input_of_the_same_create(c):
    body = dict(model=MODEL, system=[{"type": "text", "text": "You are a weather bot."}], tools=[WEATHER_TOOL],
                messages=[*user("Weather in Paris?"),
                          {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                                             "input": {"city": "Paris"}}]},
                          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                                        "content": "21 C"}]}])
    counted = c.messages.count_tokens(**body).input_tokens
    m = c.messages.create(max_tokens=300, **body)
    u = m.usage
    assert counted == u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
    # more content, more tokens
    assert c.messages.count_tokens(model=MODEL, messages=user("Weather in Paris?")).input_tokens < counted
    with pytest.raises(anthropic.NotFoundError):
        c.messages.count_tokens(model="claude-nope", messages=user("x"))


def test_models_list_and_retrieve():
    c = agentkit.client(quiet=True)
    listed = list(c.models.list())
    assert [m.id for m in listed] == list(MODELS)
    assert [m.display_name for m in listed] == [DISPLAY_NAMES[m] for m in MODELS]
    got = c.models.retrieve(FAST_MODEL)
    assert got.id == FAST_MODEL and got.type == "model"
    with pytest.raises(anthropic.NotFoundError):
        c.models.retrieve("claude-nope")


def test_models_pass_strict_validation(c):
    assert c.models.retrieve(DEFAULT_MODEL).lifecycle == "active"
    assert [m.id for m in c.models.list()] == list(MODELS)


# -- message batches ---------------------------------------------------------------------------------------------------
def batch_requests():
    return [
        {"custom_id": "ok-1", "params": {"model": MODEL, "max_tokens": 200, "messages": user("Hello there")}},
        {"custom_id": "ok-2", "params": {"model": FAST_MODEL, "max_tokens": 200, "messages": user("Bonjour")}},
        {"custom_id": "bad", "params": {"model": MODEL, "max_tokens": 200, "messages": []}},
    ]


def test_batch_create_retrieve_list_results(c):
    sim = simulator_of(c)
    with scale(1):  # a batch takes 30 s + 0.5 s per request of simulated time: still processing right after create
        batch = c.messages.batches.create(requests=batch_requests())
    assert batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 3 and batch.results_url is None
    with pytest.raises(anthropic.AnthropicError, match="results_url"):  # the SDK itself refuses
        list(c.messages.batches.results(batch.id))
    with pytest.raises(anthropic.BadRequestError, match="still processing"):  # and so does the API
        c.get(f"/v1/messages/batches/{batch.id}/results", cast_to=object)
    sim.finish_batches()
    done = c.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended" and done.ended_at is not None
    assert (done.request_counts.succeeded, done.request_counts.errored, done.request_counts.processing) == (2, 1, 0)
    assert done.results_url == f"https://api.anthropic.com/v1/messages/batches/{batch.id}/results"
    assert [b.id for b in c.messages.batches.list()] == [batch.id]

    results = {r.custom_id: r.result for r in c.messages.batches.results(batch.id)}
    assert [w.path for w in sim.wire if w.method == "GET"][-1] == f"/v1/messages/batches/{batch.id}/results"
    assert results["bad"].type == "errored"
    assert results["bad"].error.error.type == "invalid_request_error"
    assert "messages" in results["bad"].error.error.message
    assert results["ok-1"].type == "succeeded"
    direct = sim_client().messages.create(**batch_requests()[0]["params"])
    assert results["ok-1"].message.content == direct.content and results["ok-1"].message.usage == direct.usage.model_copy(
        update={"service_tier": "batch"})  # the same tokens, billed as a batch
    assert results["ok-2"].message.model == FAST_MODEL


def test_batch_cancel_gives_canceled_results(c):
    with scale(1):
        batch = c.messages.batches.create(requests=batch_requests()[:2])
        canceled = c.messages.batches.cancel(batch.id)
    assert canceled.cancel_initiated_at is not None
    assert canceled.processing_status in ("canceling", "ended")
    simulator_of(c).finish_batches()
    done = c.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended" and done.request_counts.canceled == 2
    assert {r.custom_id: r.result.type for r in c.messages.batches.results(batch.id)} == {
        "ok-1": "canceled", "ok-2": "canceled"}
    assert c.messages.batches.delete(batch.id).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        c.messages.batches.retrieve(batch.id)


def test_batch_request_errors(c):
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        c.messages.batches.create(requests=[batch_requests()[0], batch_requests()[0]])
    with pytest.raises(anthropic.BadRequestError, match="requests"):
        c.messages.batches.create(requests=[])
    with pytest.raises(anthropic.NotFoundError):
        c.messages.batches.retrieve("msgbatch_nope")


def test_async_batch_round_trip():
    async def go():
        ac = async_sim_client()
        batch = await ac.messages.batches.create(requests=batch_requests())
        simulator_of(ac).finish_batches()
        assert (await ac.messages.batches.retrieve(batch.id)).processing_status == "ended"
        return {r.custom_id: r.result.type async for r in await ac.messages.batches.results(batch.id)}

    assert asyncio.run(go()) == {"ok-1": "succeeded", "ok-2": "succeeded", "bad": "errored"}


# -- errors --------------------------------------------------------------------------------------------------------
def assert_api_error(err: anthropic.APIStatusError, status: int, kind: str, *phrases: str) -> None:
    assert err.status_code == status
    body = err.body
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert isinstance(body["error"]["message"], str) and body["request_id"] == err.request_id
    for p in phrases:
        assert p in body["error"]["message"]


@pytest.mark.parametrize("messages, phrases", [
    ([], ["at least one message"]),
    ([{"role": "assistant", "content": "Hi"}], ["first message", "user"]),
    ([{"role": "user", "content": ""}], ["messages.0", "non-empty"]),
    ([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]}],
     ["messages.0.content.0", "toolu_x", "tool_use"]),
    ([*user("x"), {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_y", "name": "f", "input": {}}]},
      *user("no result")], ["messages.2", "toolu_y", "tool_result"]),
    ([{"role": "user", "content": [{"type": "banana"}]}], ["messages.0.content.0.type", "banana"]),
    ([{"role": "system", "content": "x"}], ["messages.0.role"]),
])
def test_bad_messages_get_the_apis_error_shape(c, messages, phrases):
    with pytest.raises(anthropic.BadRequestError) as err:
        c.messages.create(model=MODEL, max_tokens=100, messages=messages)
    assert_api_error(err.value, 400, "invalid_request_error", *phrases)


@pytest.mark.parametrize("messages, phrase", [
    # "tool_result blocks must come FIRST in the content array" (tool use docs); text first is a 400
    ([*user("x"), {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_z", "name": "f", "input": {}}]},
      {"role": "user", "content": [{"type": "text", "text": "Here:"},
                                   {"type": "tool_result", "tool_use_id": "toolu_z", "content": "1"}]}], "tool_result"),
    # "final assistant content cannot end with trailing whitespace"
    ([*user("x"), {"role": "assistant", "content": "The answer is "}], "trailing whitespace"),
], ids=["text_before_tool_result", "prefill_trailing_space"])
def test_more_rules_the_api_enforces(c, messages, phrase):
    with pytest.raises(anthropic.BadRequestError, match=phrase):
        c.messages.create(model=MODEL, max_tokens=100, messages=messages)


def test_missing_max_tokens(c):
    # the SDK insists on max_tokens, so send the body through its generic post()
    with pytest.raises(anthropic.BadRequestError) as err:
        c.post("/v1/messages", cast_to=object, body={"model": MODEL, "messages": user("x")})
    assert_api_error(err.value, 400, "invalid_request_error", "max_tokens")
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):  # streamed: the SDK refuses long non-streams
        c.messages.create(model=MODEL, max_tokens=models.info(MODEL).max_output + 1, messages=user("x"), stream=True)


def test_unknown_model_is_not_found(c):
    with pytest.raises(anthropic.NotFoundError) as err:
        c.messages.create(model="claude-nope-9", max_tokens=100, messages=user("x"))
    assert_api_error(err.value, 404, "not_found_error", "claude-nope-9")


def test_invalid_json_and_unknown_path(c):
    with pytest.raises(anthropic.BadRequestError) as err:
        c.post("/v1/messages", cast_to=object, content=b'{"model": ',
               options={"headers": {"content-type": "application/json"}})
    assert_api_error(err.value, 400, "invalid_request_error", "not valid JSON")
    with pytest.raises(anthropic.NotFoundError) as err:
        c.get("/v1/nothing/here", cast_to=object)
    assert_api_error(err.value, 404, "not_found_error", "/v1/nothing/here")


def test_raw_httpx2_request_gets_the_error_body():
    http = httpx2.Client(transport=SimTransport(RecordingSimulator()))
    r = http.post("https://api.anthropic.com/v1/messages", content=b"not json at all",
                  headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "invalid_request_error"
    assert r.headers["request-id"] == r.json()["request_id"]


def test_simulator_bug_becomes_an_api_error_not_a_crash(c, monkeypatch):
    sim = simulator_of(c)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(sim, "_answer", broken)
    with pytest.raises(anthropic.InternalServerError) as err:
        anthropic_client = c.with_options(max_retries=3)
        anthropic_client.messages.create(model=MODEL, max_tokens=100, messages=user("x"))
    assert_api_error(err.value, 500, "api_error", "ZeroDivisionError")
    assert len(sim.messages_wire()) == 1  # x-should-retry: false, so the SDK did not retry


# -- faults and retries ----------------------------------------------------------------------------------------------
def test_fail_first_two_the_sdk_retries_and_succeeds():
    with scale(0.001):  # retry-after is simulated time too; keep the SDK's waits tiny
        c = sim_client(faults=Faults(fail_first=2))
        m = c.messages.create(model=MODEL, max_tokens=100, messages=user("Hello"))
    sim = simulator_of(c)
    assert m.stop_reason == "end_turn"
    assert [r.status for r in sim.messages_wire()] == [529, 529, 200]
    assert [r.headers["x-stainless-retry-count"] for r in sim.messages_wire()] == ["0", "1", "2"]
    assert len(sim.requests) == 1  # failed attempts never reach the model


def test_streams_are_retried_too():
    with scale(0.001):
        c = sim_client(faults=Faults(fail_first=2))
        with c.messages.stream(model=MODEL, max_tokens=100, messages=user("Hello")) as stream:
            text = "".join(stream.text_stream)
    assert text and [r.status for r in simulator_of(c).messages_wire()] == [529, 529, 200]


def test_concurrent_calls_on_one_client():
    from concurrent.futures import ThreadPoolExecutor

    c = sim_client()
    questions = [f"Question number {i}" for i in range(12)]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda q: c.messages.create(model=MODEL, max_tokens=100, messages=user(q)), questions))
    assert all(q in r.content[0].text for q, r in zip(questions, replies))
    assert len({r.id for r in replies}) == len(questions)


def test_fail_first_five_exhausts_two_retries():
    with scale(0.001):
        c = sim_client(faults=Faults(fail_first=5), max_retries=2)
        with pytest.raises(anthropic.OverloadedError) as err:
            c.messages.create(model=MODEL, max_tokens=100, messages=user("Hello"))
    assert_api_error(err.value, 529, "overloaded_error")
    assert len(simulator_of(c).messages_wire()) == 3


@pytest.mark.parametrize("status, exc, kind", [(429, anthropic.RateLimitError, "rate_limit_error"),
                                               (500, anthropic.InternalServerError, "api_error")])
def test_fault_statuses_map_to_the_sdks_exceptions(status, exc, kind):
    with scale(0.001):
        c = sim_client(faults=Faults(fail_first=1, fail_status=status), max_retries=0)
        with pytest.raises(exc) as err:
            c.messages.create(model=MODEL, max_tokens=100, messages=user("Hello"))
    assert_api_error(err.value, status, kind)
    assert int(err.value.response.headers["retry-after"]) >= 1
    assert float(err.value.response.headers["retry-after-ms"]) == pytest.approx(1.0 * 0.001 * 1000)


def test_retry_after_ms_stays_positive_at_time_scale_zero():
    c = sim_client(faults=Faults(fail_first=1), max_retries=0)
    with pytest.raises(anthropic.OverloadedError) as err:
        c.messages.create(model=MODEL, max_tokens=100, messages=user("Hello"))
    # the SDK only honours a retry-after that is > 0 (anthropic/_base_client.py _calculate_retry_timeout)
    assert float(err.value.response.headers["retry-after-ms"]) > 0


def rate_limited_pattern(seed: int) -> list[bool]:
    c = sim_client(seed=seed, faults=Faults(rate_limit=0.3), max_retries=0)
    pattern = []
    for i in range(30):
        try:
            c.messages.create(model=MODEL, max_tokens=50, messages=user(f"Question {i % 3}"))
            pattern.append(False)
        except anthropic.RateLimitError:
            pattern.append(True)
    return pattern


def test_seeded_fault_rates_fail_the_same_requests_on_every_run():
    first, again, other = rate_limited_pattern(7), rate_limited_pattern(7), rate_limited_pattern(8)
    assert first == again
    assert first != other
    assert 3 <= sum(first) <= 18  # about 30% of 30


def test_faults_reject_bad_settings():
    with pytest.raises(ValueError, match="rate_limit"):
        Faults(rate_limit=1.5)
    with pytest.raises(ValueError, match="fail_status"):
        Faults(fail_status=404)


def test_retries_with_the_async_client():
    async def go():
        ac = async_sim_client(faults=Faults(fail_first=2))
        m = await ac.messages.create(model=MODEL, max_tokens=100, messages=user("Hello"))
        return m, simulator_of(ac)

    with scale(0.001):
        m, sim = asyncio.run(go())
    assert m.stop_reason == "end_turn"
    assert [r.headers["x-stainless-retry-count"] for r in sim.messages_wire()] == ["0", "1", "2"]


def test_sdk_timeouts_fire_in_process_as_over_http():
    with scale(0.1):  # a response slowed 20x takes several real seconds at this scale; the client waits 0.2 s
        c = sim_client(faults=Faults(slow=1.0, slow_factor=20.0), max_retries=0, timeout=0.2)
        with pytest.raises(anthropic.APITimeoutError):
            c.messages.create(model=MODEL, max_tokens=100, messages=user("Hello"))


# -- determinism -----------------------------------------------------------------------------------------------------
def conversation(c) -> list[bytes]:
    out = []
    for text in ("Hello", "What is the weather in Paris?", "Hello"):
        raw = c.messages.with_raw_response.create(model=MODEL, max_tokens=200, tools=[WEATHER_TOOL],
                                                  messages=user(text))
        out.append(raw.http_response.content)
        out.append(raw.headers["x-agentkit-simulated-seconds"].encode())
    events = c.messages.create(model=MODEL, max_tokens=200, messages=user("Hi"), stream=True)
    out.append(json.dumps([e.model_dump() for e in events]).encode())
    return out


def test_same_seed_same_requests_same_bytes():
    a, b = conversation(sim_client(seed=3)), conversation(sim_client(seed=3))
    assert a == b  # ids, text, usage and simulated latency included
    other = conversation(sim_client(seed=4))
    assert json.loads(other[0])["id"] != json.loads(a[0])["id"]
    assert json.loads(other[0])["content"] == json.loads(a[0])["content"]  # the seed moves ids and timing, not words


def test_a_connection_dropped_during_batch_results_raises_a_connection_error():
    # anthropic 2.17: a dropped connection while reading batch results is an APIConnectionError
    c = sim_client(simulator=RecordingSimulator(faults=Faults(stream_drop=1.0)), max_retries=0)
    batch = c.messages.batches.create(requests=[
        {"custom_id": f"q{i}", "params": {"model": MODEL, "max_tokens": 50, "messages": user(f"Hi {i}")}}
        for i in range(4)])
    simulator_of(c).finish_batches()
    with pytest.raises(anthropic.APIConnectionError):
        list(c.messages.batches.results(batch.id))


def test_api_version_2026_10_21_message_rules(c):
    cited = {"type": "text", "text": "Paris.", "citations": [{"type": "char_location", "cited_text": "Paris",
                                                               "document_index": 0, "start_char_index": 0,
                                                               "end_char_index": 5}]}
    with pytest.raises(anthropic.BadRequestError, match="citations on a text block in a user message"):
        c.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": [cited]}])
    accepted = c.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": [cited]}],
                                 extra_headers={"anthropic-version": "2023-06-01"})
    assert accepted.stop_reason == "end_turn"
