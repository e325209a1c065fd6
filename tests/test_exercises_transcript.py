"""The transcript recorder that exercise checks use to grade model-calling code."""

from __future__ import annotations

from agentkit.exercises._transcript import run_recorded
from agentkit.models import DEFAULT_MODEL

SCENARIO = {"name": "t", "match": {"user": "weather in paris"},
            "turns": [{"tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}}]},
                      {"text": "It is sunny in Paris."}]}
TOOLS = [{"name": "get_weather", "description": "Weather for a city.",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def loop(client, question, answer_tools=True):
    messages = [{"role": "user", "content": question}]
    while True:
        reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=TOOLS, messages=messages)
        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]})
        if reply.stop_reason != "tool_use":
            return "".join(b.text for b in reply.content if b.type == "text")
        results = [{"type": "tool_result", "tool_use_id": b.id, "content": "sunny"}
                   for b in reply.content if b.type == "tool_use"]
        messages.append({"role": "user", "content": results if answer_tools else "go on"})


def test_a_loop_is_recorded_call_by_call():
    t = run_recorded(loop, "What is the weather in Paris?", scenarios=[SCENARIO])
    assert t.error is None and t.calls == 2 and "sunny" in t.value
    assert t.unanswered_tool_uses() == []


def test_an_error_is_reported_with_what_was_sent():
    t = run_recorded(lambda c, q: loop(c, q, answer_tools=False), "What is the weather in Paris?", scenarios=[SCENARIO])
    assert t.error is not None and t.calls >= 1


def test_run_recorded_keeps_each_replys_usage_in_order():
    import agentkit
    from agentkit.exercises._transcript import run_recorded

    def two_calls(client):
        for text in ("first", "second question, a little longer"):
            client.messages.create(model=agentkit.FAST_MODEL, max_tokens=50, messages=[{"role": "user", "content": text}])

    t = run_recorded(two_calls)
    assert t.calls == len(t.replies) == 2
    assert all(r["usage"]["input_tokens"] > 0 for r in t.replies)
    assert t.replies[0]["usage"]["input_tokens"] < t.replies[1]["usage"]["input_tokens"]
