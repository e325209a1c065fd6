"""Thinking through the real SDK: per-model validation, blocks, streaming, billing, continuations."""

from __future__ import annotations

import anthropic
import pytest

from agentkit import models
from agentkit.sim import Scenario, simulator_of
from agentkit.tokens import count_tokens
from sim_helpers import WEATHER_TOOL, sim_client, user

SONNET, OPUS, HAIKU, OLD_HAIKU, OLD_SONNET = (models.DEFAULT_MODEL, models.LARGEST_MODEL, models.FAST_MODEL,
                                              models.PREVIOUS_FAST_MODEL, models.PREVIOUS_DEFAULT_MODEL)
THOUGHT = "Paris is in France, so the capital question is easy; I should double-check nothing else is asked."


pytestmark = pytest.mark.usefixtures("no_latency")


@pytest.fixture
def c():
    client = sim_client()
    simulator_of(client).register(Scenario.from_dict({
        "name": "capital", "match": "capital of France",
        "turns": [{"thinking": THOUGHT, "text": "Paris."}]}))
    return client


def ask(c, model=SONNET, **kw):
    return c.messages.create(model=model, max_tokens=kw.pop("max_tokens", 4000),
                             messages=kw.pop("messages", user("What is the capital of France?")), **kw)


def test_adaptive_thinking_returns_a_signed_block_billed_as_output(c):
    m = ask(c, thinking={"type": "adaptive", "display": "summarized"})
    assert [b.type for b in m.content] == ["thinking", "text"]
    block = m.content[0]
    assert block.thinking == THOUGHT and block.signature
    thought = count_tokens(THOUGHT, SONNET)
    assert m.usage.output_tokens_details.thinking_tokens == thought
    assert m.usage.output_tokens == thought + count_tokens("Paris.", SONNET)


def test_newer_models_omit_the_thinking_text_by_default(c):
    omitted = ask(c, thinking={"type": "adaptive"})
    assert omitted.content[0].thinking == "" and omitted.content[0].signature
    # still billed in full: the model thought the whole thing
    assert omitted.usage.output_tokens_details.thinking_tokens == count_tokens(THOUGHT, SONNET)
    older = ask(c, model=OLD_SONNET, thinking={"type": "adaptive"})
    assert older.content[0].thinking == THOUGHT  # Claude 4.6 and earlier default to summarized


def test_without_a_thinking_field_only_scripted_thoughts_appear(c):
    scripted = ask(c)
    assert scripted.content[0].type == "thinking"  # adaptive is on by default on Sonnet 5.5
    plain = c.messages.create(model=SONNET, max_tokens=400, messages=user("Tell me a joke"))
    assert [b.type for b in plain.content] == ["text"]
    assert [b.type for b in ask(c, model=OLD_HAIKU).content] == ["text"]  # extended-only: thinks when asked


def test_default_policy_writes_a_short_thought_that_grows_with_effort(c):
    def thought(effort):
        m = c.messages.create(model=SONNET, max_tokens=4000, messages=user("Tell me a joke"),
                              thinking={"type": "adaptive", "display": "summarized"},
                              output_config={"effort": effort})
        return m.content[0].thinking, m.usage.output_tokens_details.thinking_tokens

    low, high = thought("low"), thought("max")
    assert low[0] and "Tell me a joke" in low[0]
    assert high[1] > low[1]


@pytest.mark.parametrize("model, thinking, extra, phrase", [
    (OPUS, {"type": "disabled"}, {}, "cannot be disabled"),
    (OPUS, {"type": "enabled", "budget_tokens": 2000}, {}, "not supported"),
    (SONNET, {"type": "disabled"}, {}, "between_tools"),
    (SONNET, {"type": "between_tools"}, {"output_config": {"effort": "max"}}, "xhigh or max"),
    (OLD_HAIKU, {"type": "adaptive"}, {}, "budget_tokens"),
    (OLD_HAIKU, {"type": "enabled", "budget_tokens": 500}, {}, "greater than or equal to 1024"),
    (OLD_HAIKU, {"type": "enabled", "budget_tokens": 8000}, {}, "max_tokens"),
    (OLD_HAIKU, None, {"output_config": {"effort": "high"}}, "effort is not supported"),
    (SONNET, None, {"output_config": {"effort": "extreme"}}, "output_config.effort"),
    (SONNET, {"type": "sometimes"}, {}, "does not match any of the expected tags"),
    (SONNET, {"type": "adaptive"}, {"extra_body": {"temperature": 0.2}}, "temperature"),
    (OLD_SONNET, {"type": "adaptive"}, {"tool_choice": {"type": "any"}, "tools": [WEATHER_TOOL]},
     "forces tool use"),
])
def test_the_api_s_400s(c, model, thinking, extra, phrase):
    kw = dict(extra)
    if thinking is not None:
        kw["thinking"] = thinking
    with pytest.raises(anthropic.BadRequestError, match=phrase):
        ask(c, model=model, max_tokens=4000 if model != OLD_HAIKU else 6000, **kw)


def test_accepted_settings_per_model(c):
    assert ask(c, model=SONNET, thinking={"type": "between_tools"}).content[-1].text == "Paris."
    assert ask(c, model=HAIKU, thinking={"type": "disabled"}, output_config={"effort": "low"})
    m = ask(c, model=OLD_HAIKU, thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2000)
    assert m.content[0].type == "thinking" and m.content[0].thinking == THOUGHT  # summarized on Claude 4.5


def test_budget_caps_the_thought(c):
    long = "I weigh every option carefully. " * 400
    simulator_of(c).register(Scenario.from_dict({"name": "long", "match": "ponder",
                                                 "turns": [{"thinking": long, "text": "Done."}]}))
    m = ask(c, model=OLD_HAIKU, thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=3000,
            messages=user("ponder this"))
    assert m.usage.output_tokens_details.thinking_tokens == 1024


def test_redacted_thinking_when_a_scenario_asks(c):
    simulator_of(c).register(Scenario.from_dict({"name": "secret", "match": "classified", "turns": [
        {"thinking": "Some of this reasoning is flagged.", "redacted_thinking": True, "text": "I can help."}]}))
    m = ask(c, thinking={"type": "adaptive"}, messages=user("A classified question"))
    assert [b.type for b in m.content] == ["redacted_thinking", "text"] and m.content[0].data


def test_streaming_sends_thinking_and_signature_deltas(c):
    kinds = []
    with c.messages.stream(model=SONNET, max_tokens=4000, messages=user("What is the capital of France?"),
                           thinking={"type": "adaptive", "display": "summarized"}) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                kinds.append(event.delta.type)
        final = stream.get_final_message()
    assert "thinking_delta" in kinds and "signature_delta" in kinds and "text_delta" in kinds
    assert final.content[0].thinking == THOUGHT and final.content[0].signature


def _tool_loop(c, keep_thinking: bool, **thinking_kw):
    messages = user("What is the weather in Paris?")
    first = c.messages.create(model=SONNET, max_tokens=4000, tools=[WEATHER_TOOL], messages=messages, **thinking_kw)
    assert first.content[0].type == "thinking" and first.stop_reason == "tool_use"
    call = next(b for b in first.content if b.type == "tool_use")
    sent = first.content if keep_thinking else [b for b in first.content if b.type != "thinking"]
    messages = [*messages, {"role": "assistant", "content": sent},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "11 C"}]}]
    return c.messages.create(model=SONNET, max_tokens=4000, tools=[WEATHER_TOOL], messages=messages,
                             **thinking_kw)


def test_interleaved_thinking_between_tool_calls(c):
    second = _tool_loop(c, keep_thinking=True, thinking={"type": "adaptive"})
    assert [b.type for b in second.content] == ["thinking", "text"]  # it thinks again after the tool result


def test_dropping_the_thinking_block_in_a_tool_continuation_is_a_400(c):
    with pytest.raises(anthropic.BadRequestError, match="must start with a thinking block"):
        _tool_loop(c, keep_thinking=False, thinking={"type": "adaptive"})


def test_a_modified_thinking_block_is_refused(c):
    m = ask(c, thinking={"type": "adaptive", "display": "summarized"})
    tampered = {"type": "thinking", "thinking": "I changed my mind.", "signature": m.content[0].signature}
    with pytest.raises(anthropic.BadRequestError, match="Invalid `signature`"):
        ask(c, thinking={"type": "adaptive"}, messages=[
            *user("What is the capital of France?"),
            {"role": "assistant", "content": [tampered, {"type": "text", "text": "Paris."}]},
            *user("And of Spain?")])


def test_opus_4_8_thinks_only_when_asked(c):
    # its "what's new" successor page: requests run without thinking unless thinking {"type": "adaptive"} is set
    assert [b.type for b in ask(c, model="claude-opus-4-8").content] == ["text"]
    assert ask(c, model="claude-opus-4-8", thinking={"type": "adaptive"}).content[0].type == "thinking"
    assert [b.type for b in ask(c, model="claude-opus-5").content] == ["thinking", "text"]  # Opus 5: on by default


def test_fable_5_1_reads_earlier_models_thinking_but_its_own_blocks_stay_with_it(c):
    def history(block):
        return [*user("What is the capital of France?"),
                {"role": "assistant", "content": [block, {"type": "text", "text": "Paris."}]},
                *user("And of Spain?")]

    earlier = ask(c, model="claude-opus-5", thinking={"type": "adaptive", "display": "summarized"}).content[0]
    fable = "claude-fable-5-1"
    assert ask(c, model=fable, messages=history(earlier.model_dump())).stop_reason == "end_turn"
    own = ask(c, model=fable).content[0]
    with pytest.raises(anthropic.BadRequestError, match="cannot be sent to claude-opus-5"):
        ask(c, model="claude-opus-5", messages=history(own.model_dump()))
