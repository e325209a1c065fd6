"""A zero-latency stand-in for `anthropic.Anthropic`, shared by the benchmarks.

It has the one method the agent loop calls, `messages.create`, and returns
prebuilt SDK `Message` objects: a tool call for the first STEPS - 1 steps,
then a final answer. Nothing is computed per call, so a benchmark built on it
measures only the loop (and tracing) around it.
"""

from __future__ import annotations

from typing import Any

from anthropic.types import Message, TextBlock, ToolUseBlock, Usage

from agentkit.models import DEFAULT_MODEL

STEPS = 10


def _message(i: int, final: bool) -> Message:
    usage = Usage(input_tokens=200 + 50 * i, output_tokens=30)
    if final:
        content: list[Any] = [TextBlock(type="text", text="The answer is 45.")]
        return Message(id=f"msg_{i}", type="message", role="assistant", model=DEFAULT_MODEL, content=content,
                       stop_reason="end_turn", stop_sequence=None, usage=usage)
    content = [TextBlock(type="text", text="Adding the next number."),
               ToolUseBlock(type="tool_use", id=f"toolu_{i}", name="add", input={"a": i, "b": 1})]
    return Message(id=f"msg_{i}", type="message", role="assistant", model=DEFAULT_MODEL, content=content,
                   stop_reason="tool_use", stop_sequence=None, usage=usage)


# Built once: the fake returns them without any per-call work.
SCRIPT = [_message(i, final=i == STEPS - 1) for i in range(STEPS)]


class FakeMessages:
    def __init__(self) -> None:
        self.calls = 0

    def create(self, **params: Any) -> Message:
        message = SCRIPT[self.calls % STEPS]
        self.calls += 1
        return message


class FakeClient:
    def __init__(self) -> None:
        self.messages = FakeMessages()


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
