"""The official SDK's example patterns, in our own words, against the simulator: in-process and over HTTP.

Each test follows one file of anthropic-sdk-python's `examples/` folder (messages, messages_stream,
thinking, thinking_stream, tools, tools_stream, tools_runner, tools_runner_search_tool,
structured_outputs, structured_outputs_streaming, images, batch_results, web_search,
web_search_stream, fallbacks' server-side part), with the examples' own model ids, and checks that the output has what the docs
say it has. The `client` fixture runs every test twice: through the in-process transport and through
`SimServer` over loopback HTTP; `test_patterns_against_python_m_agentkit_sim_serve` repeats a few in
another process against `python -m agentkit.sim serve`.

One deliberate difference: examples/thinking.py sends manual thinking (`{"type": "enabled",
"budget_tokens": 1600}`) to claude-sonnet-5, whose model page says manual extended thinking returns
400 on that model; the simulator answers 400 as the API does, and the adaptive form works.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Literal

import anthropic
import pydantic
import pytest
from anthropic import beta_tool

import agentkit
from agentkit.sim import SimServer, Simulator

EXAMPLE_MODEL = "claude-sonnet-5"  # the id the SDK's examples use (a legacy model, still served)
ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("no_latency")


@pytest.fixture(scope="module")
def http_server():
    """One loopback server for the module (shutting one down waits half a second)."""
    server = SimServer(Simulator(seed=0))
    server.start_in_background()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["in-process", "http"])
def transport(request, http_server):
    if request.param == "in-process":
        return ("in-process", Simulator(seed=0), None)
    return ("http", http_server.simulator, http_server.url)


@pytest.fixture
def client(transport):
    kind, sim, url = transport
    if kind == "in-process":
        return agentkit.client(simulator=sim, quiet=True, _strict_response_validation=True)
    return anthropic.Anthropic(base_url=url, api_key="sk-ant-simulated", _strict_response_validation=True)


@pytest.fixture
def aclient(transport):
    kind, sim, url = transport
    if kind == "in-process":
        return agentkit.async_client(simulator=sim, quiet=True, _strict_response_validation=True)
    return anthropic.AsyncAnthropic(base_url=url, api_key="sk-ant-simulated", _strict_response_validation=True)


def test_messages_multi_turn(client):
    first = client.messages.create(model=EXAMPLE_MODEL, max_tokens=1024,
                                   messages=[{"role": "user", "content": "Hello!"}])
    assert first.model == EXAMPLE_MODEL and first.content[0].type == "text"
    second = client.messages.create(model=EXAMPLE_MODEL, max_tokens=1024, messages=[
        {"role": "user", "content": "Hello!"}, {"role": first.role, "content": first.content},
        {"role": "user", "content": "How are you?"}])
    assert second.stop_reason == "end_turn" and second.usage.input_tokens > first.usage.input_tokens


def test_async_streaming_events_and_final_message(aclient):
    async def go():
        texts, finished = [], []
        async with aclient.messages.stream(model=EXAMPLE_MODEL, max_tokens=1024,
                                           messages=[{"role": "user", "content": "Say hello there!"}]) as stream:
            async for event in stream:
                if event.type == "text":
                    texts.append(event.text)
                elif event.type == "content_block_stop":
                    finished.append(event.content_block)
        return texts, finished, await stream.get_final_message()

    texts, finished, final = asyncio.run(go())
    assert "".join(texts) == final.content[0].text == finished[0].text


def test_thinking_manual_on_sonnet_5_is_refused_as_the_docs_say_and_adaptive_works(client):
    with pytest.raises(anthropic.BadRequestError, match="adaptive"):
        client.messages.create(model=EXAMPLE_MODEL, max_tokens=3200, thinking={"type": "enabled", "budget_tokens": 1600},
                               messages=[{"role": "user", "content": "Create a haiku about Anthropic."}])
    response = client.messages.create(model=EXAMPLE_MODEL, max_tokens=3200,
                                      thinking={"type": "adaptive", "display": "summarized"},
                                      messages=[{"role": "user", "content": "Create a haiku about Anthropic."}])
    kinds = [b.type for b in response.content]
    assert kinds == ["thinking", "text"] and response.content[0].thinking and response.content[0].signature
    # A model that still takes manual thinking (Sonnet 4.6) answers the example's request as written.
    manual = client.messages.create(model="claude-sonnet-4-6", max_tokens=3200,
                                    thinking={"type": "enabled", "budget_tokens": 1600},
                                    messages=[{"role": "user", "content": "Create a haiku about Anthropic."}])
    assert manual.content[0].type == "thinking" and manual.content[0].thinking


def test_thinking_stream_events(client):
    seen = []
    with client.messages.stream(model=EXAMPLE_MODEL, max_tokens=3200,
                                thinking={"type": "adaptive", "display": "summarized"},
                                messages=[{"role": "user", "content": "Create a haiku about Anthropic."}]) as stream:
        for event in stream:
            if event.type in ("thinking", "text", "signature") and (not seen or seen[-1] != event.type):
                seen.append(event.type)
    assert seen == ["thinking", "signature", "text"]


WEATHER = {"name": "get_weather", "description": "Get the weather for a specific location",
           "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                            "required": ["location"]}}


def test_tools_round_trip(client):
    ask = {"role": "user", "content": "What is the weather in SF?"}
    message = client.messages.create(model=EXAMPLE_MODEL, max_tokens=1024, messages=[ask], tools=[WEATHER])
    assert message.stop_reason == "tool_use"
    tool = next(c for c in message.content if c.type == "tool_use")
    assert tool.input == {"location": "SF"}
    response = client.messages.create(model=EXAMPLE_MODEL, max_tokens=1024, tools=[WEATHER], messages=[
        ask, {"role": message.role, "content": message.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id,
                                      "content": [{"type": "text", "text": "The weather is 73f"}]}]}])
    assert "73f" in response.content[-1].text and response.stop_reason == "end_turn"


def test_tools_stream_input_json(aclient):
    tool = {**WEATHER, "input_schema": {"type": "object", "required": ["location"], "properties": {
        "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}}

    async def go():
        snapshots = []
        async with aclient.messages.stream(model=EXAMPLE_MODEL, max_tokens=1024, tools=[tool],
                                           messages=[{"role": "user", "content": "What is the weather in SF?"}]) as s:
            async for event in s:
                if event.type == "input_json":
                    snapshots.append(event.snapshot)
        return snapshots

    snapshots = asyncio.run(go())
    assert snapshots and "location" in snapshots[-1]


@beta_tool
def get_weather(location: str, units: Literal["c", "f"]) -> str:
    """Look up the weather for a city in celsius or fahrenheit.

    Args:
        location: The city and state, e.g. San Francisco, CA
        units: 'c' for celsius or 'f' for fahrenheit
    """
    return json.dumps({"location": location, "temperature": "20°C" if units == "c" else "68°F"})


def test_tool_runner(client):
    runner = client.beta.messages.tool_runner(model=EXAMPLE_MODEL, max_tokens=1024, tools=[get_weather],
                                              messages=[{"role": "user", "content": "What is the weather in SF?"}])
    messages = list(runner)
    assert messages[0].stop_reason == "tool_use" and messages[-1].stop_reason == "end_turn"
    assert '"location": "SF"' in messages[-1].content[-1].text and "temperature" in messages[-1].content[-1].text


def test_tool_runner_with_a_client_side_tool_search(client):
    deferred = beta_tool(defer_loading=True)(get_weather.func)

    @beta_tool
    def search_available_tools(*, keyword: str) -> list:
        """Search for useful tools using a query string"""
        return [{"type": "tool_reference", "tool_name": t.name} for t in (deferred,)
                if keyword in json.dumps(t.to_dict())]

    runner = client.beta.messages.tool_runner(model=EXAMPLE_MODEL, max_tokens=1024,
                                              tools=[deferred, search_available_tools],
                                              messages=[{"role": "user", "content": "What is the weather in SF?"}],
                                              betas=["tool-search-tool-2025-10-19"])
    calls = [b.name for m in runner for b in m.content if b.type == "tool_use"]
    assert calls == ["search_available_tools", "get_weather"]


class Order(pydantic.BaseModel):
    product_name: str
    price: float
    quantity: int


ORDER_PROMPT = "Extract the product name, price, and quantity: 'I'd like 2 packs of Green Tea at 5.50 dollars each.'"


def test_structured_outputs_parse(client):
    parsed = client.messages.parse(model=EXAMPLE_MODEL, max_tokens=1024, output_format=Order,
                                   messages=[{"role": "user", "content": ORDER_PROMPT}])
    assert isinstance(parsed.parsed_output, Order)


def test_structured_outputs_streaming(client):
    partial = []
    with client.messages.stream(model=EXAMPLE_MODEL, max_tokens=1024, output_format=Order,
                                messages=[{"role": "user", "content": ORDER_PROMPT}]) as stream:
        for event in stream:
            if event.type == "text":
                partial.append(event.parsed_snapshot())
        final = stream.get_final_message()
    assert isinstance(final.parsed_output, Order) and partial


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00\xff\x00\x00"  # one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + chunk(
        b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_images(client):
    response = client.messages.create(model=EXAMPLE_MODEL, max_tokens=1024, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Hello!"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": base64.b64encode(_png()).decode()}}]}])
    plain = client.messages.count_tokens(model=EXAMPLE_MODEL, messages=[{"role": "user", "content": "Hello!"}])
    assert response.usage.input_tokens > plain.input_tokens  # the image is billed as input


def test_batch_results(client):
    batch = client.messages.batches.create(requests=[
        {"custom_id": f"q{i}", "params": {"model": EXAMPLE_MODEL, "max_tokens": 100,
                                          "messages": [{"role": "user", "content": f"Question {i}"}]}}
        for i in range(3)])
    for _ in range(200):
        if client.messages.batches.retrieve(batch.id).processing_status == "ended":
            break
        time.sleep(0.01)
    results = list(client.messages.batches.results(batch.id))
    assert [r.custom_id for r in results] == ["q0", "q1", "q2"]
    assert all(r.result.type == "succeeded" and r.result.message.usage.service_tier == "batch" for r in results)


SEARCH_TOOL = {"name": "web_search", "type": "web_search_20250305"}


def test_web_search(client):
    message = client.messages.create(model=EXAMPLE_MODEL, max_tokens=1024, tools=[SEARCH_TOOL],
                                     messages=[{"role": "user", "content": "What's the weather in Paris?"}])
    kinds = [b.type for b in message.content]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"]
    assert message.content[1].content[0].title == "Paris weather today"
    assert message.content[2].citations and message.usage.server_tool_use.web_search_requests == 1


def test_web_search_beta_stream(aclient):
    async def go():
        started = []
        async with aclient.beta.messages.stream(model=EXAMPLE_MODEL, max_tokens=1024, tools=[SEARCH_TOOL],
                                                messages=[{"role": "user", "content": "What's the weather in Paris?"}]
                                                ) as stream:
            async for chunk in stream:
                if chunk.type == "content_block_start":
                    started.append(chunk.content_block.type)
            return started, await stream.get_final_message()

    started, message = asyncio.run(go())
    assert started == ["server_tool_use", "web_search_tool_result", "text"]
    assert message.usage.server_tool_use.web_search_requests == 1


def test_models_list_with_the_examples_ids(client):
    ids = {m.id for m in client.models.list()}
    assert {EXAMPLE_MODEL, "claude-fable-5", agentkit.DEFAULT_MODEL} <= ids


SERVE_SCRIPT = textwrap.dedent("""
    import json, anthropic, pydantic
    c = anthropic.Anthropic()  # ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY come from the environment
    out = {}
    m = c.messages.create(model="claude-sonnet-5", max_tokens=3200, thinking={"type": "adaptive", "display": "summarized"},
                          messages=[{"role": "user", "content": "Create a haiku about Anthropic."}])
    out["thinking"] = [b.type for b in m.content]
    class Order(pydantic.BaseModel):
        product_name: str
        quantity: int
    p = c.messages.parse(model="claude-sonnet-5", max_tokens=1024, output_format=Order,
                         messages=[{"role": "user", "content": "2 packs of Green Tea"}])
    out["parsed"] = type(p.parsed_output).__name__
    w = c.messages.create(model="claude-sonnet-5", max_tokens=1024, tools=[{"name": "web_search", "type": "web_search_20250305"}],
                          messages=[{"role": "user", "content": "What's the weather in Paris?"}])
    out["search"] = [b.type for b in w.content]
    print(json.dumps(out))
""")


def test_patterns_against_python_m_agentkit_sim_serve():
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    env.update(PYTHONPATH=str(ROOT), AGENTKIT_TIME_SCALE="0")
    server = subprocess.Popen([sys.executable, "-m", "agentkit.sim", "serve", "--port", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        url = next(w for w in line.split() if w.startswith("http://")).rstrip(".,")
        run = subprocess.run([sys.executable, "-c", SERVE_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                             env={**env, "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-ant-simulated"},
                             timeout=60)
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        assert out == {"thinking": ["thinking", "text"], "parsed": "Order",
                       "search": ["server_tool_use", "web_search_tool_result", "text"]}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_server_side_fallback_on_refusal(client, transport):
    _, sim, _ = transport
    sim.register({"name": "declines", "match": {"user": "triggers a refusal", "model": "fable"},
                  "turns": [{"text": "I can't help with that.", "stop_reason": "refusal"}]})
    ask = [{"role": "user", "content": "Some prompt that triggers a refusal"}]
    plain = client.beta.messages.create(model="claude-fable-5", max_tokens=1024, messages=ask)
    assert plain.stop_reason == "refusal"
    message = client.beta.messages.create(model="claude-fable-5", max_tokens=1024, messages=ask,
                                          fallbacks=[{"model": "claude-opus-4-8"}],
                                          betas=["server-side-fallback-2026-07-01"])
    assert message.model == "claude-opus-4-8" and message.stop_reason == "end_turn"
    marker = message.content[0]
    assert marker.type == "fallback" and (marker.from_.model, marker.to.model) == ("claude-fable-5", "claude-opus-4-8")
    with client.beta.messages.stream(model="claude-fable-5", max_tokens=1024, messages=ask,
                                     fallbacks=[{"model": "claude-opus-4-8"}],
                                     betas=["server-side-fallback-2026-07-01"]) as stream:
        streamed = stream.get_final_message()
    assert streamed.model == "claude-opus-4-8" and streamed.content[0].type == "fallback"
    with pytest.raises(anthropic.BadRequestError, match="server-side-fallback"):
        client.beta.messages.create(model="claude-fable-5", max_tokens=1024, messages=ask,
                                    fallbacks=[{"model": "claude-opus-4-8"}])
