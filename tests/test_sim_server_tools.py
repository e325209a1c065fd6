"""Tool use as it is today, through the real SDK: parallel calls, web search and fetch with citations,
pause_turn, tool search with deferred loading, and server-tool usage priced."""

from __future__ import annotations

import anthropic
import pytest

from agentkit import models
from agentkit.pricing import cost_of, price_of
from agentkit.sim import Scenario, simulator_of
from agentkit.sim.server_tools import corpus
from sim_helpers import TIME_TOOL, WEATHER_TOOL, user

MODEL = models.DEFAULT_MODEL
SEARCH = {"type": "web_search_20260318", "name": "web_search"}
FETCH = {"type": "web_fetch_20260318", "name": "web_fetch", "citations": {"enabled": True}}
BM25 = {"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"}


pytestmark = pytest.mark.usefixtures("no_latency")


def test_default_policy_calls_independent_tools_in_parallel(c):
    m = c.messages.create(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL, TIME_TOOL],
                          messages=user("What are the weather and the time in Oslo?"))
    calls = [b for b in m.content if b.type == "tool_use"]
    assert [b.name for b in calls] == ["get_weather", "get_time"] and m.stop_reason == "tool_use"
    assert calls[0].input == {"city": "Oslo"}
    one = c.messages.create(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL, TIME_TOOL],
                            tool_choice={"type": "auto", "disable_parallel_tool_use": True},
                            messages=user("What are the weather and the time in Oslo?"))
    assert len([b for b in one.content if b.type == "tool_use"]) == 1


def test_web_search_returns_results_citations_and_priced_usage(c):
    m = c.messages.create(model=MODEL, max_tokens=500, tools=[SEARCH],
                          messages=user("What did teams learn running AI agents in production?"))
    assert [b.type for b in m.content] == ["server_tool_use", "web_search_tool_result", "text"]
    use, result, answer = m.content
    assert use.name == "web_search" and result.tool_use_id == use.id
    assert result.content[0].url == "https://news.example.com/ai-agents-in-production"
    assert answer.citations and answer.citations[0].url == result.content[0].url
    page = next(p for p in corpus() if p.url == result.content[0].url)
    assert page.text.startswith(answer.citations[0].cited_text)
    assert m.usage.server_tool_use.web_search_requests == 1
    tokens_only = cost_of(MODEL, {"input_tokens": m.usage.input_tokens, "output_tokens": m.usage.output_tokens})
    assert cost_of(MODEL, m.usage) == pytest.approx(tokens_only + 0.01)  # $10 per 1,000 searches
    assert price_of(MODEL)  # the same row prices the tokens


def test_scripted_searches_max_uses_and_domains(c):
    simulator_of(c).register(Scenario.from_dict({
        "name": "research", "match": "caching and batches",
        "corpus": [{"url": "https://blog.example.net/cache", "title": "Caching notes", "text": "Caching pays."}],
        "turns": [{"web_search": ["prompt caching price", "message batches discount", "caching notes"],
                   "text": "Both cut cost: {search_result}"}]}))
    m = c.messages.create(model=MODEL, max_tokens=500, tools=[{**SEARCH, "max_uses": 2,
                                                               "blocked_domains": ["blog.example.net"]}],
                          messages=user("Compare caching and batches"))
    results = [b for b in m.content if b.type == "web_search_tool_result"]
    assert len(results) == 3 and results[2].content.error_code == "max_uses_exceeded"
    assert all("blog.example.net" not in r.url for res in results[:2] for r in res.content)
    assert m.usage.server_tool_use.web_search_requests == 2
    assert m.content[-1].text.startswith("Both cut cost: Prompt caching stores")


def test_pause_turn_and_continuation(c):
    simulator_of(c).register(Scenario.from_dict({"name": "long", "match": "deep research", "turns": [
        {"web_search": ["agent loop"], "stop_reason": "pause_turn"},
        {"text": "Done: {search_result}", "web_search": ["designing tools"]}]}))
    messages = user("Do deep research on agents")
    first = c.messages.create(model=MODEL, max_tokens=500, tools=[SEARCH], messages=messages)
    assert first.stop_reason == "pause_turn" and first.content[-1].type == "web_search_tool_result"
    second = c.messages.create(model=MODEL, max_tokens=500, tools=[SEARCH],
                               messages=[*messages, {"role": "assistant", "content": first.content}])
    assert second.stop_reason == "end_turn" and second.content[-1].text.startswith("Done: A good tool")


def test_web_fetch_documents_and_errors(c):
    m = c.messages.create(model=MODEL, max_tokens=500, tools=[FETCH],
                          messages=user("Summarise https://weather.example.com/paris please"))
    result = next(b for b in m.content if b.type == "web_fetch_tool_result")
    assert result.content.type == "web_fetch_result" and "Paris is mild" in result.content.content.source.data
    assert m.usage.server_tool_use.web_fetch_requests == 1
    missing = c.messages.create(model=MODEL, max_tokens=500, tools=[FETCH],
                                messages=user("Read https://nowhere.example.invalid/page"))
    err = next(b for b in missing.content if b.type == "web_fetch_tool_result")
    assert err.content.error_code == "url_not_accessible"


def test_streamed_search_carries_citations(c):
    with c.messages.stream(model=MODEL, max_tokens=500, tools=[SEARCH],
                           messages=user("What are Message Batches good for?")) as stream:
        final = stream.get_final_message()
    assert final.content[-1].citations and final.content[1].type == "web_search_tool_result"


def _many_tools(n: int) -> list[dict]:
    tools = [{"name": f"crm_lookup_{i}", "description": f"Look up CRM record set {i}", "defer_loading": True,
              "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}}
             for i in range(n)]
    weather = {**WEATHER_TOOL, "defer_loading": True}
    return [BM25, TIME_TOOL, *tools, weather]


def test_tool_search_loads_a_deferred_tool_then_calls_it(c):
    tools = _many_tools(20)
    m = c.messages.create(model=MODEL, max_tokens=500, tools=tools, messages=user("What is the weather in Rome?"))
    assert [b.type for b in m.content] == ["server_tool_use", "tool_search_tool_result", "text", "tool_use"]
    assert m.content[1].content.tool_references[0].tool_name == "get_weather"
    # Deferred schemas are not part of the prompt: 20 extra deferred tools cost no input tokens.
    fewer = c.messages.count_tokens(model=MODEL, tools=_many_tools(1), messages=user("What is the weather in Rome?"))
    more = c.messages.count_tokens(model=MODEL, tools=tools, messages=user("What is the weather in Rome?"))
    assert more.input_tokens == fewer.input_tokens
    call = m.content[-1]
    follow = c.messages.create(model=MODEL, max_tokens=500, tools=tools, messages=[
        *user("What is the weather in Rome?"), {"role": "assistant", "content": m.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "14 C"}]}])
    assert "14 C" in follow.content[-1].text


@pytest.mark.parametrize("tools, phrase", [
    ([BM25, {**WEATHER_TOOL, "defer_loading": True}], "at least one tool must not be deferred"),
    ([{**SEARCH, "max_uses": 0}], "max_uses"),
    ([{**SEARCH, "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}], "not both"),
    ([{"type": "web_search_20260318", "name": "search"}], "web_search"),
])
def test_server_tool_definitions_are_validated(c, tools, phrase):
    with pytest.raises(anthropic.BadRequestError, match=phrase):
        c.messages.create(model=MODEL, max_tokens=100, tools=tools, messages=user("x"))


def test_a_long_server_tool_loop_pauses_after_ten_calls(c):
    simulator_of(c).register(Scenario.from_dict({"name": "sweep", "match": "sweep the web", "turns": [
        {"web_search": [f"agents topic {i}" for i in range(12)], "text": "Summary."}]}))
    m = c.messages.create(model=MODEL, max_tokens=500, tools=[SEARCH], messages=user("Please sweep the web"))
    assert m.stop_reason == "pause_turn" and m.usage.server_tool_use.web_search_requests == 10
    assert m.content[-1].type == "web_search_tool_result"
