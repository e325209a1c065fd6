"""Tests for agentkit.tools: schemas from typed functions, validation, errors, timeouts, cache, async."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from agentkit.tools import Tool, ToolError, as_tool, tool, unknown_tool_output


@tool
def add(a: int, b: int = 2) -> int:
    """Add two whole numbers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


def test_definition_comes_from_hints_and_docstring():
    d = add.to_dict()
    assert d["name"] == "add"
    assert d["description"] == "Add two whole numbers."
    schema = d["input_schema"]
    assert schema["type"] == "object"
    assert schema["required"] == ["a"]
    assert schema["properties"]["a"]["type"] == "integer"
    assert schema["properties"]["a"]["description"] == "the first number"
    assert schema["properties"]["b"]["default"] == 2
    # to_dict hands out a copy: editing it does not change the tool
    d["name"] = "changed"
    assert add.definition["name"] == "add"


def test_tool_object_still_calls_the_function():
    assert add(3, b=4) == 7
    assert isinstance(add, Tool) and not add.is_async


def test_invoke_success_and_json_for_non_strings():
    assert add.invoke({"a": 1, "b": 5}).content == "6"

    @tool
    def info(city: str) -> dict:
        """Facts about a city."""
        return {"city": city, "population": 2_100_000}

    out = info.invoke({"city": "Paris"})
    assert not out.is_error
    assert json.loads(out.content) == {"city": "Paris", "population": 2100000}


def test_bad_input_becomes_an_actionable_error():
    out = add.invoke({"a": "seven", "c": 1})
    assert out.is_error and out.error_type == "invalid_input"
    assert "a:" in out.content and "'seven'" in out.content
    assert "c: not a parameter" in out.content
    assert '"required":["a"]' in out.content  # the schema, so the model can fix its call

    missing = add.invoke({})
    assert missing.is_error and "a: required but missing" in missing.content

    not_a_dict = add.invoke(["a", 1])
    assert not_a_dict.is_error and not_a_dict.error_type == "invalid_input"


def test_exception_in_tool_is_reported_not_raised():
    @tool
    def divide(a: float, b: float) -> float:
        """Divide a by b."""
        return a / b

    out = divide.invoke({"a": 1, "b": 0})
    assert out.is_error and out.error_type == "ZeroDivisionError"
    assert "divide" in out.content and "ZeroDivisionError" in out.content


def test_tool_error_content_goes_to_the_model_as_is():
    @tool
    def lookup(key: str) -> str:
        """Look up a key."""
        raise ToolError(f"No record for {key}; valid keys start with 'K-'.")

    out = lookup.invoke({"key": "x"})
    assert out.is_error and out.content == "No record for x; valid keys start with 'K-'."


def test_timeout_abandons_a_slow_sync_tool():
    @tool(timeout=0.1)
    def slow(seconds: float) -> str:
        """Sleep."""
        time.sleep(seconds)
        return "done"

    started = time.perf_counter()
    out = slow.invoke({"seconds": 2})
    assert time.perf_counter() - started < 1.0
    assert out.is_error and out.error_type == "timeout" and "0.1 s" in out.content
    assert slow.invoke({"seconds": 0}).content == "done"


def test_cache_hits_for_identical_input_and_expires():
    calls: list[str] = []

    def fetch(customer_id: str, fields: list[str]) -> str:
        """Fetch a customer record."""
        calls.append(customer_id)
        return f"record {customer_id} {len(calls)}"

    t = tool(fetch, cache_ttl=0.2)
    first = t.invoke({"customer_id": "c1", "fields": ["a"]})
    again = t.invoke({"fields": ["a"], "customer_id": "c1"})  # key order does not matter
    assert again.cached and again.content == first.content and calls == ["c1"]
    other = t.invoke({"customer_id": "c2", "fields": ["a"]})
    assert not other.cached and calls == ["c1", "c2"]
    time.sleep(0.25)
    expired = t.invoke({"customer_id": "c1", "fields": ["a"]})
    assert not expired.cached and calls == ["c1", "c2", "c1"]


def test_errors_are_not_cached():
    attempts: list[int] = []

    @tool(cache_ttl=60)
    def flaky(x: int) -> str:
        """Fails the first time."""
        attempts.append(x)
        if len(attempts) == 1:
            raise RuntimeError("temporary")
        return "ok"

    assert flaky.invoke({"x": 1}).is_error
    assert flaky.invoke({"x": 1}).content == "ok"
    assert flaky.invoke({"x": 1}).cached
    assert len(attempts) == 2


def test_async_tool_sync_and_async_paths():
    @tool
    async def get_weather(city: str) -> str:
        """Current weather in a city."""
        await asyncio.sleep(0)
        return f"sunny in {city}"

    assert get_weather.is_async
    assert get_weather.invoke({"city": "Oslo"}).content == "sunny in Oslo"
    assert asyncio.run(get_weather.ainvoke({"city": "Rome"})).content == "sunny in Rome"
    bad = asyncio.run(get_weather.ainvoke({"town": "Rome"}))
    assert bad.is_error and bad.error_type == "invalid_input"

    async def inside_a_running_loop() -> str:  # as in Jupyter, where a loop is already running
        return get_weather.invoke({"city": "Lima"}).content

    assert asyncio.run(inside_a_running_loop()) == "sunny in Lima"


def test_async_timeout_and_sync_tool_under_ainvoke():
    @tool(timeout=0.05)
    async def hang() -> str:
        """Never finishes in time."""
        await asyncio.sleep(5)
        return "late"

    out = asyncio.run(hang.ainvoke({}))
    assert out.is_error and out.error_type == "timeout"

    @tool(timeout=0.05)
    def slow_sync() -> str:
        """Too slow."""
        time.sleep(1)
        return "late"

    assert asyncio.run(slow_sync.ainvoke({})).error_type == "timeout"
    assert asyncio.run(add.ainvoke({"a": 2})).content == "4"


def test_a_tool_raising_timeouterror_is_its_own_error():
    @tool
    async def net() -> str:
        """Network call."""
        raise TimeoutError("upstream timed out")

    out = asyncio.run(net.ainvoke({}))
    assert out.is_error and out.error_type == "TimeoutError" and "upstream timed out" in out.content


def test_clear_errors_for_unusable_functions():
    def undocumented(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="docstring"):
        tool(undocumented)
    with pytest.raises(TypeError, match="function"):
        tool(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        tool(add.fn, timeout=0)
    with pytest.raises(TypeError, match="tools="):
        as_tool("add")


def test_as_tool_and_custom_name():
    def ping() -> str:
        """Reply pong."""
        return "pong"

    t = as_tool(ping)
    assert t.name == "ping" and as_tool(t) is t
    renamed = tool(ping, name="health_check", description="Check the service is up.")
    assert renamed.definition["name"] == "health_check"
    assert renamed.definition["description"] == "Check the service is up."


def test_unknown_tool_output_lists_the_alternatives():
    out = unknown_tool_output("serach", ["search", "fetch"])
    assert out.is_error and out.error_type == "unknown_tool"
    assert "'serach'" in out.content and "'search', 'fetch'" in out.content


def test_a_tool_error_subclass_names_its_own_error_type():
    from agentkit.tools import ToolError, tool

    class SandboxCrash(ToolError):
        pass

    def run(code: str) -> str:
        """Run code.

        Args:
            code: the code
        """
        raise SandboxCrash("the sandbox crashed after printing 2 lines")

    out = tool(run).invoke({"code": "print(1)"})
    assert out.is_error and out.error_type == "SandboxCrash"


def test_a_timeout_in_the_main_thread_stops_the_tool_where_it_is():
    """With the timer free (a notebook, a script), a hung tool is interrupted, not left running."""
    import signal
    import threading
    import time as _time

    from agentkit import tool as make_tool

    progress = {"ticks": 0}

    @make_tool(timeout=0.2)
    def hang() -> str:
        """Never finishes."""
        while True:
            progress["ticks"] += 1
            _time.sleep(0.01)

    assert threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)  # pytest-timeout's handler, put back below
    delay, interval = signal.getitimer(signal.ITIMER_REAL)
    try:
        started = _time.monotonic()
        out = hang.invoke({})
        took = _time.monotonic() - started
        ticks_then = progress["ticks"]
        _time.sleep(0.1)
        assert out.is_error and out.error_type == "timeout" and took < 5
        assert progress["ticks"] == ticks_then  # really stopped, not abandoned in a thread
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL  # the timer is left as it was found
    finally:
        signal.signal(signal.SIGALRM, previous)
        if delay:
            signal.setitimer(signal.ITIMER_REAL, delay, interval)


def test_a_tool_gets_the_smaller_of_its_timeout_and_the_time_left():
    @tool(timeout=0.2)
    def slow() -> str:
        """Sleeps past its own timeout."""
        time.sleep(5)
        return "late"

    out = slow.invoke({}, time_left=30)  # the tool's own limit is the smaller: its usual message
    assert out.error_type == "timeout" and "did not finish within 0.2 s" in out.content
    started = time.perf_counter()
    out = slow.invoke({}, time_left=0.05)  # the deadline is the smaller
    assert time.perf_counter() - started < 0.2 and "deadline" in out.content
