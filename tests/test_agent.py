"""Tests for agentkit.agent: the ReAct loop, its stop reasons, hooks, concurrency and spans.

The client is a scripted fake with the SDK's `messages.create` shape that returns
real SDK `Message` objects, so the loop is tested without the simulator.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, Callable

import pytest
from anthropic.types import Message, TextBlock, ToolUseBlock, Usage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import agentkit.agent as agent_module
from agentkit import Agent, StopReason, tool
from agentkit.agent import CURRENT_STEP
from agentkit.models import DEFAULT_MODEL
from agentkit.pricing import cost_of


def reply(text: str = "", calls: list[tuple[str, dict[str, Any]]] = (), stop: str | None = None,
          usage: tuple[int, int] = (100, 20)) -> Message:
    content: list[Any] = [TextBlock(type="text", text=text)] if text else []
    content += [ToolUseBlock(type="tool_use", id=f"toolu_{i}_{name}", name=name, input=inp) for i, (name, inp) in enumerate(calls)]
    return Message(id="msg_test", type="message", role="assistant", model=DEFAULT_MODEL, content=content,
                   stop_reason=stop or ("tool_use" if calls else "end_turn"), stop_sequence=None,
                   usage=Usage(input_tokens=usage[0], output_tokens=usage[1]))


class FakeMessages:
    def __init__(self, script: list[Message] | Callable[[dict[str, Any]], Message]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.streamed = 0

    def create(self, **params: Any) -> Message:
        self.requests.append(params)
        if callable(self.script):
            return self.script(params)
        return self.script[min(len(self.requests), len(self.script)) - 1]

    def stream(self, **params: Any) -> Any:
        self.streamed += 1
        message = self.create(**params)

        class _Stream:
            def __enter__(self) -> "_Stream":
                return self

            def __exit__(self, *exc: Any) -> None:
                return None

            def get_final_message(self) -> Message:
                return message

        return _Stream()


class FakeClient:
    def __init__(self, script: Any) -> None:
        self.messages = FakeMessages(script)


class AsyncFakeClient:
    def __init__(self, script: Any) -> None:
        sync = FakeMessages(script)

        class _Messages:
            requests = sync.requests

            async def create(self, **params: Any) -> Message:
                await asyncio.sleep(0)
                return sync.create(**params)

        self.messages = _Messages()


@tool
def get_current_time(timezone: str) -> str:
    """The current time in an IANA timezone.

    Args:
        timezone: for example Europe/Paris
    """
    return f"14:05 in {timezone}"


def test_final_answer_without_tools():
    client = FakeClient([reply("Paris is the capital of France.")])
    result = Agent(client, system="Be brief.").run("Capital of France?")
    assert result.stop_reason is StopReason.FINAL_ANSWER
    assert result.text == "Paris is the capital of France."
    assert len(result.steps) == 1 and result.steps[0].decision == "final_answer"
    request = client.messages.requests[0]
    assert request["system"] == "Be brief." and request["model"] == DEFAULT_MODEL and "tools" not in request


def test_tool_call_then_answer_records_everything():
    client = FakeClient([
        reply("Let me check.", [("get_current_time", {"timezone": "Europe/Paris"})], usage=(300, 40)),
        reply("It is 14:05 in Paris.", usage=(360, 15)),
    ])
    result = Agent(client, tools=[get_current_time]).run("What time is it in Paris?")
    assert result.stop_reason == "final_answer" and result.text == "It is 14:05 in Paris."
    first = result.steps[0]
    assert first.decision == "tool_call" and first.text == "Let me check."
    (call,) = first.tool_calls
    assert (call.name, call.input, call.output, call.is_error) == ("get_current_time", {"timezone": "Europe/Paris"}, "14:05 in Europe/Paris", False)
    assert call.duration >= 0
    # the second request carries the tool_use and its tool_result
    second = client.messages.requests[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[2]["content"] == [{"type": "tool_result", "tool_use_id": call.id, "content": "14:05 in Europe/Paris"}]
    # step.request is a snapshot: the first request held only the prompt
    assert len(first.request["messages"]) == 1
    assert client.messages.requests[0]["tools"] == [get_current_time.definition]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (660, 55)
    expected = cost_of(DEFAULT_MODEL, {"input_tokens": 300, "output_tokens": 40}) + cost_of(DEFAULT_MODEL, {"input_tokens": 360, "output_tokens": 15})
    assert result.cost == pytest.approx(expected)


def test_unknown_tool_and_bad_input_do_not_crash_the_run():
    client = FakeClient([
        reply("", [("get_time", {"timezone": "UTC"}), ("get_current_time", {"tz": "UTC"})]),
        reply("", [("get_current_time", {"timezone": "UTC"})]),
        reply("It is 14:05 UTC."),
    ])
    result = Agent(client, tools=[get_current_time]).run("time?")
    assert result.stop_reason is StopReason.FINAL_ANSWER
    unknown, bad = result.steps[0].tool_calls
    assert unknown.is_error and unknown.error_type == "unknown_tool" and "'get_current_time'" in unknown.output
    assert bad.is_error and bad.error_type == "invalid_input" and "timezone: required but missing" in bad.output
    sent = client.messages.requests[1]["messages"][-1]["content"]
    assert all(block["is_error"] is True for block in sent)
    assert not result.steps[1].tool_calls[0].is_error


def test_exception_in_tool_is_sent_back_as_error():
    @tool
    def explode(x: int) -> str:
        """Always fails."""
        raise KeyError(f"no row {x}")

    client = FakeClient([reply("", [("explode", {"x": 3})]), reply("The lookup failed.")])
    result = Agent(client, tools=[explode]).run("go")
    call = result.tool_calls[0]
    assert call.is_error and call.error_type == "KeyError" and "no row 3" in call.output
    assert result.stop_reason is StopReason.FINAL_ANSWER


def test_max_steps():
    counter = iter(range(100))
    client = FakeClient(lambda params: reply("again", [("get_current_time", {"timezone": f"Etc/GMT+{next(counter) % 12}"})]))
    result = Agent(client, tools=[get_current_time], max_steps=4).run("loop")
    assert result.stop_reason is StopReason.MAX_STEPS
    assert len(result.steps) == 4 and len(client.messages.requests) == 4
    assert result.text == ""


def test_token_budget_stops_before_more_tools():
    counter = iter(range(100))
    client = FakeClient(lambda p: reply("", [("get_current_time", {"timezone": str(next(counter))})], usage=(1000, 100)))
    result = Agent(client, tools=[get_current_time], token_budget=2500).run("go")
    # 1,100 tokens per step: 2,200 after two steps, 3,300 (over budget) after three
    assert result.stop_reason is StopReason.TOKEN_BUDGET
    assert len(result.steps) == 3 and result.steps[-1].tool_calls == []
    assert result.usage.total_tokens == 3300


def test_cost_budget():
    counter = iter(range(100))
    client = FakeClient(lambda p: reply("", [("get_current_time", {"timezone": str(next(counter))})], usage=(10_000, 1_000)))
    per_step = cost_of(DEFAULT_MODEL, {"input_tokens": 10_000, "output_tokens": 1_000})
    result = Agent(client, tools=[get_current_time], cost_budget=per_step * 2.5).run("go")
    assert result.stop_reason is StopReason.COST_BUDGET and len(result.steps) == 3
    assert result.cost == pytest.approx(per_step * 3)


def test_final_answer_is_kept_even_over_budget():
    client = FakeClient([reply("Done.", usage=(5000, 10))])
    result = Agent(client, token_budget=100).run("go")
    assert result.stop_reason is StopReason.FINAL_ANSWER and result.text == "Done."


def test_repeated_identical_tool_call():
    client = FakeClient(lambda p: reply("", [("get_current_time", {"timezone": "UTC"})]))
    result = Agent(client, tools=[get_current_time], max_identical_calls=2).run("go")
    assert result.stop_reason is StopReason.REPEATED_TOOL_CALL
    assert len(result.steps) == 3  # two calls ran; the third identical request stopped the run
    assert [len(s.tool_calls) for s in result.steps] == [1, 1, 0]


def test_refusal_and_max_tokens():
    refused = Agent(FakeClient([reply("I can't help with that.", stop="refusal")])).run("bad idea")
    assert refused.stop_reason is StopReason.REFUSAL and refused.steps[0].decision == "refusal"
    cut = Agent(FakeClient([reply("The first half of a long", stop="max_tokens")]), max_tokens=8).run("essay")
    assert cut.stop_reason is StopReason.MAX_TOKENS and cut.text == "The first half of a long"


def test_clarification_is_a_final_answer_with_a_question():
    result = Agent(FakeClient([reply("Which city do you mean?")])).run("time?")
    assert result.stop_reason is StopReason.FINAL_ANSWER and result.steps[0].decision == "clarification"


def test_independent_calls_run_concurrently_and_see_the_step():
    seen: list[tuple[int, str]] = []

    @tool
    def slow_lookup(key: str) -> str:
        """Slow lookup."""
        time.sleep(0.3)
        seen.append((CURRENT_STEP.get(), threading.current_thread().name))
        return key.upper()

    calls = [("slow_lookup", {"key": k}) for k in "abc"]
    client = FakeClient([reply("", calls), reply("ABC")])
    started = time.perf_counter()
    result = Agent(client, tools=[slow_lookup]).run("go")
    elapsed = time.perf_counter() - started
    assert elapsed < 0.75, f"three 0.3 s calls took {elapsed:.2f} s: not concurrent"
    assert [c.output for c in result.tool_calls] == ["A", "B", "C"]  # results keep the model's order
    assert all(step == 1 for step, _ in seen)


def test_hooks_fire_in_order_with_their_arguments():
    events: list[str] = []
    client = FakeClient([reply("", [("get_current_time", {"timezone": "UTC"})]), reply("done")])
    agent = Agent(client, tools=[get_current_time], hooks={"model_start": lambda s: events.append(f"model_start {s.index}")})
    agent.add_hook("model_end", lambda s: events.append(f"model_end {s.index} {s.decision}"))
    agent.add_hook("tool_start", lambda s, c: events.append(f"tool_start {c.name} {c.output}"))
    agent.add_hook("tool_end", lambda s, c: events.append(f"tool_end {c.name} {c.output}"))
    agent.add_hook("step_end", lambda s: events.append(f"step_end {s.index}"))
    agent.run("time?")
    assert events == [
        "model_start 1", "model_end 1 tool_call", "tool_start get_current_time None",
        "tool_end get_current_time 14:05 in UTC", "step_end 1",
        "model_start 2", "model_end 2 final_answer", "step_end 2",
    ]
    with pytest.raises(ValueError, match="unknown hook event"):
        agent.add_hook("on_tool", print)


def test_stream_mode_uses_messages_stream():
    client = FakeClient([reply("hi")])
    result = Agent(client, stream=True).run("hello")
    assert client.messages.streamed == 1 and result.text == "hi"


def test_arun_with_async_client_and_concurrent_async_tools():
    @tool
    async def fetch(url: str) -> str:
        """Fetch a page."""
        await asyncio.sleep(0.2)
        return f"<html>{url}</html>"

    calls = [("fetch", {"url": u}) for u in ("a", "b", "c", "d")]
    client = AsyncFakeClient([reply("", calls + [("get_current_time", {"timezone": "UTC"})]), reply("fetched")])
    started = time.perf_counter()
    result = asyncio.run(Agent(client, tools=[fetch, get_current_time]).arun("go"))
    assert time.perf_counter() - started < 0.6
    assert result.stop_reason is StopReason.FINAL_ANSWER and result.text == "fetched"
    assert [c.output for c in result.tool_calls] == ["<html>a</html>", "<html>b</html>", "<html>c</html>", "<html>d</html>", "14:05 in UTC"]


def test_continue_a_conversation_and_bad_prompts():
    client = FakeClient([reply("first"), reply("second")])
    agent = Agent(client)
    first = agent.run("one")
    second = agent.run(first.messages + [{"role": "user", "content": "two"}])
    assert second.text == "second" and len(client.messages.requests[1]["messages"]) == 3
    with pytest.raises(TypeError, match="prompt"):
        agent.run([])
    with pytest.raises(TypeError, match="messages.create"):
        Agent(object())
    with pytest.raises(ValueError, match="two tools"):
        Agent(client, tools=[get_current_time, get_current_time])


@pytest.fixture
def spans(monkeypatch):
    """Route agentkit's tracer to a private provider (the global one can be set only once per process)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(agent_module, "_tracer", provider.get_tracer("agentkit"))
    monkeypatch.setattr(agent_module, "_REDACT", lambda value: {k: "[redacted]" if k == "email" else v for k, v in value.items()}
                        if isinstance(value, dict) else value.replace("CRM", "[redacted]"))
    return exporter


def test_spans_follow_the_genai_contract(spans):
    @tool
    def lookup_customer(email: str, fields: list[str]) -> str:
        """Find a customer."""
        raise RuntimeError("CRM down")

    client = FakeClient([
        reply("", [("lookup_customer", {"email": "a@b.c", "fields": ["name"]}), ("get_current_time", {"timezone": "UTC"})], usage=(100, 10)),
        reply("Is there anything else?", usage=(150, 5)),
    ])
    result = Agent(client, tools=[lookup_customer, get_current_time], name="support").run("help")
    finished = {s.name: s for s in spans.get_finished_spans()}
    assert set(finished) == {"invoke_agent support", "execute_tool lookup_customer", "execute_tool get_current_time"}
    root = finished["invoke_agent support"]
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "support"
    assert root.attributes["gen_ai.provider.name"] == "anthropic"
    assert root.attributes["gen_ai.request.model"] == DEFAULT_MODEL
    assert root.attributes["gen_ai.usage.input_tokens"] == 250
    assert root.attributes["gen_ai.usage.output_tokens"] == 15
    assert root.attributes["agentkit.stop_reason"] == "final_answer" == result.stop_reason.value
    assert root.attributes["agentkit.steps"] == 2
    events = [(e.name, dict(e.attributes)) for e in root.events if e.name == "agentkit.step"]
    # the latency lesson's timed event: one per step, saying how long building the request took
    built = [e for e in root.events if e.name == "agentkit.request_built"]
    assert [e.attributes["agentkit.step"] for e in built] == [1, 2]
    assert all(e.attributes["agentkit.duration_ns"] >= 0 for e in built)
    assert events == [
        ("agentkit.step", {"agentkit.step": 1, "agentkit.decision": "tool_call", "gen_ai.response.finish_reasons": ("tool_use",)}),
        ("agentkit.step", {"agentkit.step": 2, "agentkit.decision": "clarification", "gen_ai.response.finish_reasons": ("end_turn",)}),
    ]
    bad = finished["execute_tool lookup_customer"]
    assert bad.parent.span_id == root.context.span_id  # child of the root, even from a worker thread
    assert bad.attributes["gen_ai.tool.type"] == "function" and bad.attributes["agentkit.step"] == 1
    assert bad.attributes["gen_ai.tool.call.id"] == result.tool_calls[0].id
    assert json.loads(bad.attributes["gen_ai.tool.call.arguments"]) == {"email": "[redacted]", "fields": ["name"]}
    assert bad.status.status_code is StatusCode.ERROR and bad.attributes["error.type"] == "RuntimeError"
    good = finished["execute_tool get_current_time"]
    assert good.parent.span_id == root.context.span_id and good.status.status_code is not StatusCode.ERROR


def test_no_arguments_recorded_without_a_redactor(spans, monkeypatch):
    monkeypatch.setattr(agent_module, "_REDACT", None)
    client = FakeClient([reply("", [("get_current_time", {"timezone": "UTC"})]), reply("ok")])
    Agent(client, tools=[get_current_time]).run("time")
    (tool_span,) = [s for s in spans.get_finished_spans() if s.name.startswith("execute_tool")]
    assert "gen_ai.tool.call.arguments" not in tool_span.attributes


def test_transcript_shows_reason_act_observe():
    client = FakeClient([
        reply("Let me check.", [("get_current_time", {"timezone": "Europe/Paris"})], usage=(300, 40)),
        reply("It is 14:05 in Paris.", usage=(360, 15)),
    ])
    text = Agent(client, tools=[get_current_time]).run("time?").transcript()
    assert text.splitlines() == [
        "step 1 · tool_call · 300 in / 40 out tokens",
        "  reason:  Let me check.",
        "  act:     get_current_time(timezone='Europe/Paris')",
        "  observe: 14:05 in Europe/Paris",
        "step 2 · final_answer · 360 in / 15 out tokens",
        "stopped: final_answer after 2 step(s)",
        "answer:  It is 14:05 in Paris.",
    ]


def test_spans_opened_inside_a_tool_nest_under_its_execute_tool_span(spans):
    tracer = agent_module._tracer  # the private provider's tracer from the fixture

    @tool
    def query_db(sql: str) -> str:
        """Run a query."""
        with tracer.start_as_current_span("db.query"):
            return "3 rows"

    calls = [("query_db", {"sql": "select 1"}), ("query_db", {"sql": "select 2"})]  # two calls: worker threads
    Agent(FakeClient([reply("", calls), reply("done")]), tools=[query_db]).run("go")
    finished = spans.get_finished_spans()
    tool_spans = {s.context.span_id for s in finished if s.name == "execute_tool query_db"}
    inner = [s for s in finished if s.name == "db.query"]
    assert len(tool_spans) == 2 and len(inner) == 2
    assert {s.parent.span_id for s in inner} == tool_spans


def _roll_dice(count: int, sides: int) -> str:
    """Roll dice and return the faces, comma-separated."""
    return ", ".join(str(min(6, sides)) for _ in range(count))


def test_against_the_simulator_streaming_and_async():
    import agentkit

    scenario = {"name": "dice", "match": "roll two dice",
                "turns": [{"text": "Rolling.", "tool_calls": [{"name": "_roll_dice", "input": {"count": 2, "sides": 6}}]},
                          "You rolled {last_tool_result}."]}
    client = agentkit.client(scenarios=[scenario], quiet=True)
    streamed = Agent(client, tools=[_roll_dice], stream=True).run("Please roll two dice.")
    assert streamed.stop_reason is StopReason.FINAL_ANSWER and streamed.text == "You rolled 6, 6."
    assert streamed.usage.input_tokens > 0 and len(streamed.steps) == 2

    aclient = agentkit.async_client(scenarios=[scenario], quiet=True)
    result = asyncio.run(Agent(aclient, tools=[_roll_dice], stream=True).arun("Please roll two dice."))
    assert result.text == "You rolled 6, 6." and result.tool_calls[0].output == "6, 6"


# -- hostile or careless input: nothing hangs, leaks or crashes ----------------------------------


@pytest.mark.parametrize("option, value, says", [
    ("max_steps", "3", "max_steps=...) must be a whole number from 1 up; got str '3'"),
    ("max_steps", None, "max_steps=...) must be a whole number from 1 up; got NoneType None"),
    ("max_steps", 0, "max_steps"),
    ("max_tokens", 2.5, "max_tokens"),
    ("token_budget", "100", "token_budget=...) must be a whole number from 1 up, or None for no limit; got str"),
    ("cost_budget", "0.5", "cost_budget=...) must be a positive number of US dollars"),
    ("cost_budget", float("nan"), "cost_budget"),
    ("deadline", -1, "deadline=...) must be a positive number of seconds"),
    ("max_identical_calls", True, "max_identical_calls"),
])
def test_configuration_is_checked_up_front_and_names_the_parameter(option, value, says):
    with pytest.raises(TypeError) as info:
        Agent(FakeClient([reply("hi")]), **{option: value})
    assert says in str(info.value)


def test_tool_output_is_normalised_once():
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

        __repr__ = __str__

    @tool
    def weird() -> Any:
        """Returns an object that cannot be printed."""
        return {"thing": Unprintable()}

    @tool
    def records() -> list:
        """Returns records that look like content blocks but are not."""
        return [{"type": "refund", "amount": 12.5}]

    @tool
    def huge() -> str:
        """Returns 12 MB of text."""
        return "x" * 12_000_000

    client = FakeClient([reply("", [("weird", {}), ("records", {}), ("huge", {})]), reply("done")])
    result = Agent(client, tools=[weird, records, huge]).run("go")
    assert result.stop_reason is StopReason.FINAL_ANSWER
    by_name = {c.name: c for c in result.tool_calls}
    assert "cannot be shown as text" in by_name["weird"].output and not by_name["weird"].is_error
    assert json.loads(by_name["records"].output) == [{"type": "refund", "amount": 12.5}]
    assert len(by_name["huge"].output) < 100_500 and "output truncated: 12,000,000 characters" in by_name["huge"].output


def test_a_tool_without_a_timeout_of_its_own_gets_the_default():
    from agentkit.tools import DEFAULT_TIMEOUT_S

    assert get_current_time.timeout == DEFAULT_TIMEOUT_S
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        tool(lambda: 1, timeout="5")


def test_a_run_deadline_stops_a_run_between_steps():
    @tool(timeout=5)
    def slow_lookup(n: int) -> str:
        """Looks something up slowly."""
        time.sleep(0.15)
        return str(n)

    client = FakeClient(lambda params: reply("", [("slow_lookup", {"n": len(params["messages"])})]))
    result = Agent(client, tools=[slow_lookup], max_steps=50, deadline=0.4).run("go")
    assert result.stop_reason is StopReason.DEADLINE
    assert 1 <= len(result.steps) <= 4
    assert all("timeout" in r for r in client.messages.requests)  # each call gets the time that is left


def _hanging_tool_run(deadline: float, in_thread: bool) -> tuple[Any, float]:
    """An agent whose second step calls a tool that never returns (timeout 60 s), under `deadline`."""
    release = threading.Event()

    @tool(timeout=60)
    def hang() -> str:
        """Never returns (until the test lets it go)."""
        release.wait(120)
        return "too late"

    script = iter([reply("", [("get_current_time", {"timezone": "UTC"})]), reply("", [("hang", {})]),
                   reply("never asked")])
    agent = Agent(FakeClient(lambda params: next(script)), tools=[get_current_time, hang], deadline=deadline)
    box: list[Any] = []
    started = time.perf_counter()
    try:
        if in_thread:  # no timer signal off the main thread: the call is abandoned at the deadline
            worker = threading.Thread(target=lambda: box.append(agent.run("go")))
            worker.start()
            worker.join(10)
        else:
            box.append(agent.run("go"))
        return box[0] if box else None, time.perf_counter() - started
    finally:
        release.set()


@pytest.mark.parametrize("in_thread", [False, True], ids=["main thread", "worker thread"])
def test_a_hanging_tool_cannot_outlive_the_run_deadline(in_thread):
    result, elapsed = _hanging_tool_run(2.0, in_thread)
    assert result is not None and elapsed < 3.0
    assert result.stop_reason is StopReason.DEADLINE
    assert [s.index for s in result.steps] == [1, 2]  # the completed steps are kept
    first, hung = result.tool_calls
    assert first.output == "14:05 in UTC" and not first.is_error
    assert hung.is_error and hung.error_type == "timeout" and "deadline" in hung.output


def test_a_hanging_async_tool_cannot_outlive_the_run_deadline():
    @tool(timeout=60)
    async def hang_async() -> str:
        """Never returns."""
        await asyncio.sleep(3600)
        return "too late"

    client = AsyncFakeClient([reply("", [("get_current_time", {"timezone": "UTC"})]), reply("", [("hang_async", {})]),
                              reply("never asked")])
    started = time.perf_counter()
    result = asyncio.run(Agent(client, tools=[get_current_time, hang_async], deadline=2).arun("go"))
    assert time.perf_counter() - started < 3.0
    assert result.stop_reason is StopReason.DEADLINE and len(result.steps) == 2
    assert result.tool_calls[1].error_type == "timeout" and "deadline" in result.tool_calls[1].output


def test_an_api_error_keeps_the_completed_steps_and_the_run_can_continue():
    import anthropic
    import httpx2

    calls = {"n": 0}

    def script(params):
        calls["n"] += 1
        if calls["n"] == 2:
            request = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")
            raise anthropic.InternalServerError("boom", response=httpx2.Response(500, request=request), body=None)
        if calls["n"] == 1:
            return reply("", [("get_current_time", {"timezone": "UTC"})])
        return reply("It is 14:05.")

    agent = Agent(FakeClient(script), tools=[get_current_time])
    partial = agent.run("time?")
    assert partial.stop_reason is StopReason.API_ERROR and isinstance(partial.error, anthropic.InternalServerError)
    assert len(partial.steps) == 1 and partial.tool_calls[0].output == "14:05 in UTC"
    assert partial.messages[-1]["content"][0]["type"] == "tool_result"
    assert partial.cost > 0 and partial.text == ""
    resumed = agent.run(partial.messages)
    assert resumed.stop_reason is StopReason.FINAL_ANSWER and resumed.text == "It is 14:05."


def test_a_tool_error_never_puts_a_secret_on_the_span(monkeypatch):
    from agentkit.redact import redact

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(agent_module, "_tracer", provider.get_tracer("agentkit"))
    monkeypatch.setattr(agent_module, "_REDACT", redact)
    key = "sk-ant-" + "api03-" + "k" * 30

    @tool
    def login(user: str) -> str:
        """Logs in."""
        raise RuntimeError(f"auth failed for {user} with key {key}")

    Agent(FakeClient([reply("", [("login", {"user": "ana@example.com"})]), reply("sorry")]), tools=[login]).run("go")
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool login"]
    assert span.status.status_code is StatusCode.ERROR
    assert key not in span.status.description and "ana@example.com" not in span.status.description


def test_at_a_20_percent_fault_rate_no_completed_step_is_lost():
    """200 runs through the SDK's default retries against a simulator failing 20% of attempts."""
    import agentkit
    from agentkit import Faults

    from sim_helpers import scale

    client = agentkit.client(faults=Faults(server_error=0.1, overloaded=0.1, retry_after=0.0), seed=7, quiet=True)
    agent = Agent(client, tools=[get_current_time], max_steps=3)
    ended = {"final": 0, "partial": 0}
    for n in range(200):
        with scale(0.0):  # simulated latency is not what this test is about
            result = agent.run(f"What time is it in Europe/Paris? (run {n})")
        completed = [s for s in result.steps if s.response is not None]
        assert completed == result.steps  # every step kept has its reply
        if result.stop_reason is StopReason.API_ERROR:
            ended["partial"] += 1
            # the conversation holds every completed step: assistant turns = steps kept
            assert sum(m["role"] == "assistant" for m in result.messages) == len(result.steps)
        else:
            ended["final"] += 1
    # 20% per attempt and 3 attempts per call: about 0.8% of calls fail for good
    assert ended["partial"] >= 1 and ended["final"] >= 150, ended


def test_stop_reason_reads_as_its_value():
    assert repr(StopReason.FINAL_ANSWER) == "'final_answer'" and str(StopReason.MAX_STEPS) == "max_steps"
