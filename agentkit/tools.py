"""Tools: a typed, documented Python function the model can ask to call.

`tool(fn)` reads the function's type hints and its docstring ("Args:" section)
and produces the definition the Messages API expects (name, description,
input_schema). It is a thin layer over the SDK's own `beta_tool` /
`beta_async_tool`, which derive the JSON schema with pydantic and validate each
input against the signature before the function runs; we add what an agent
loop needs around one call:

- every failure becomes a result, never an exception: bad input, a tool that
  raises, a tool that runs past its timeout, all come back as a `ToolOutput`
  with ``is_error=True`` and a message the model can act on;
- a per-tool timeout;
- an optional TTL cache of successful results for identical inputs.

The agent loop (`agentkit.agent`) decides *when* tools run and how many at
once; this module only knows how to run one.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import pydantic
from anthropic import beta_async_tool, beta_tool
from anthropic.lib.tools import BetaAsyncFunctionTool, BetaFunctionTool, ToolError

from agentkit import clock
from agentkit.timelimit import time_limit

__all__ = ["Tool", "ToolOutput", "ToolError", "as_tool", "canonical_json", "tool", "unknown_tool_output"]

#: What a tool's result may hold: text, or a list of content blocks (text, image, ...).
Content = str | list[dict[str, Any]]

#: A tool without its own `timeout` is abandoned after this many seconds, so no tool can hang a run.
DEFAULT_TIMEOUT_S = 60.0
#: Tool output longer than this (in characters, ~25,000 tokens) is cut, with a note saying so:
#: a 12 MB result would otherwise become a multi-million-token prompt.
MAX_OUTPUT_CHARS = 100_000
# Block types a tool_result may contain, with the field each needs (see the Messages API reference).
_CONTENT_BLOCKS = {"text": "text", "image": "source", "document": "source", "search_result": "content"}


@dataclass(slots=True)
class ToolOutput:
    """The outcome of one tool call, ready to go back to the model as a `tool_result`."""

    content: Content
    is_error: bool = False
    #: the exception's class name, or "invalid_input", "unknown_tool", "timeout"
    error_type: str | None = None
    #: True when the result came from the TTL cache and the function did not run
    cached: bool = False


class Tool:
    """A function the model can call. Create one with `tool(fn)`.

    Calling the Tool object calls the plain function, so a learner can still
    test it by hand. The agent uses `invoke` / `ainvoke`, which never raise.

    The cache (when ``cache_ttl`` is set) keys on the tool input as canonical
    JSON (keys sorted), per Tool object; only successful results are cached,
    and an entry expires ``cache_ttl`` seconds after it was stored.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        cache_ttl: float | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"tool() needs a function, got {type(fn).__name__}: {fn!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds (None for no limit), got {timeout!r}")
        if cache_ttl is not None and cache_ttl <= 0:
            raise ValueError(f"cache_ttl must be a positive number of seconds, got {cache_ttl!r}")
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        make = beta_async_tool if self.is_async else beta_tool
        try:
            self._sdk: BetaFunctionTool[Any] | BetaAsyncFunctionTool[Any] = make(fn, name=name, description=description)
        except (TypeError, pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError) as exc:
            raise TypeError(
                f"cannot turn {getattr(fn, '__name__', fn)!r} into a tool: {exc}. "
                "Give every parameter a JSON-friendly type hint (str, int, float, bool, list, dict, "
                "a Literal, or a pydantic model)."
            ) from None
        self.name: str = self._sdk.name
        self.description: str = self._sdk.description
        if not self.description:
            raise ValueError(
                f"tool {self.name!r} has no description: add a docstring saying what it does and when to use it "
                "(the model reads it to decide whether to call the tool)."
            )
        self.input_schema: dict[str, Any] = dict(self._sdk.input_schema)
        # The same validating wrapper the SDK's `call` uses, called directly: it skips the
        # SDK's per-call checks (a few microseconds per step) and gives us pydantic's
        # ValidationError itself to turn into a message for the model.
        self._validated = pydantic.validate_call(fn)
        #: the definition sent in the request's ``tools`` list (built once)
        self.definition: dict[str, Any] = dict(self._sdk.to_dict())
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Content]] = {}
        self._cache_lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v}" for k, v in (("timeout", self.timeout), ("cache_ttl", self.cache_ttl)) if v is not None
        )
        return f"Tool({self.name!r}{', async' if self.is_async else ''}{extra})"

    def to_dict(self) -> dict[str, Any]:
        """The tool definition for the request's ``tools`` list."""
        return dict(self.definition)

    # -- running one call ---------------------------------------------------

    def invoke(self, input: object, *, time_left: float | None = None) -> ToolOutput:
        """Run the tool on `input` (the ``tool_use`` block's input); never raises.

        Sync tools run in the calling thread. Their timeout is a timer signal
        that stops the call where it is, when this is the main thread and no
        one else uses the timer (a notebook cell, a script); elsewhere the call
        runs in a daemon thread we stop waiting for. Async tools run on an
        event loop of their own (in a helper thread if this thread already has
        a running loop, as in Jupyter). `time_left` is what remains of the
        caller's own deadline (an agent run's): the call gets the smaller of
        that and the tool's timeout.
        """
        key, hit = self._cache_get(input)
        if hit is not None:
            return hit
        started = clock.monotonic()
        limit = self._limit(time_left)
        if self.is_async:
            out = _run_coroutine_blocking(self._ainvoke_once(input, limit))
        elif limit is None:
            out = self._call_sync(input)
        else:
            out = _call_with_timeout(self, input, limit)
        self._cache_put(key, out, started)
        return out

    async def ainvoke(self, input: object, *, time_left: float | None = None) -> ToolOutput:
        """Async twin of `invoke`: async tools are awaited, sync tools run in a worker thread."""
        key, hit = self._cache_get(input)
        if hit is not None:
            return hit
        started = clock.monotonic()
        limit = self._limit(time_left)
        if self.is_async:
            out = await self._ainvoke_once(input, limit)
        else:
            # asyncio.to_thread copies contextvars, so spans opened in the tool nest correctly.
            call = asyncio.to_thread(self._call_sync, input)
            out = await (call if limit is None else _await_with_timeout(self, call, limit))
        self._cache_put(key, out, started)
        return out

    def _limit(self, time_left: float | None) -> _Limit | None:
        """The call's time limit: the tool's timeout or the caller's time left, whichever is smaller."""
        if time_left is not None and (self.timeout is None or time_left < self.timeout):
            return _Limit(max(time_left, 0.001), deadline=True)
        return None if self.timeout is None else _Limit(self.timeout, deadline=False)

    async def _ainvoke_once(self, input: object, limit: _Limit | None = None) -> ToolOutput:
        """Await an async tool once, with its time limit, turning failures into error outputs."""
        if limit is not None:
            return await _await_with_timeout(self, self._acall(input), limit)
        return await self._acall(input)

    async def _acall(self, input: object) -> ToolOutput:
        if not isinstance(input, dict):
            return self._not_an_object(input)
        try:
            return ToolOutput(_to_content(await self._validated(**input)))
        except Exception as exc:  # a tool's failure is data for the model, not a crash
            return self._error_output(exc)

    def _call_sync(self, input: object) -> ToolOutput:
        if not isinstance(input, dict):
            return self._not_an_object(input)
        try:
            return ToolOutput(_to_content(self._validated(**input)))
        except Exception as exc:  # a tool's failure is data for the model, not a crash
            return self._error_output(exc)

    # -- errors the model can act on -----------------------------------------

    def _error_output(self, exc: Exception) -> ToolOutput:
        # The title tells the arguments' validation apart from a ValidationError
        # raised inside the tool (whose title is a model's name).
        if isinstance(exc, pydantic.ValidationError) and exc.title in (
            getattr(self.fn, "__name__", None),
            getattr(self.fn, "__qualname__", None),
        ):
            return ToolOutput(self._invalid_input_message(exc), True, "invalid_input")
        if isinstance(exc, ToolError):  # the tool chose what the model should see
            content = exc.content if isinstance(exc.content, str) else [dict(block) for block in exc.content]
            # The class name, so a subclass (class SandboxCrash(ToolError)) reads as its own error.type on the span.
            return ToolOutput(content, True, type(exc).__name__)
        return ToolOutput(
            f"Error: tool {self.name!r} failed with {type(exc).__name__}: {_safe_str(exc)}. "
            "Check the arguments, or try a different approach.",
            True,
            type(exc).__name__,
        )

    def _invalid_input_message(self, error: pydantic.ValidationError) -> str:
        problems = []
        for item in error.errors(include_url=False):
            where = ".".join(str(part) for part in item["loc"]) or "(input)"
            if item["type"].startswith("missing"):
                problems.append(f"{where}: required but missing")
            elif item["type"] == "unexpected_keyword_argument":
                problems.append(f"{where}: not a parameter of this tool")
            else:
                problems.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
        return (
            f"Error: invalid input for tool {self.name!r}: {'; '.join(problems)}. "
            f"Call it again with input matching this schema: {_compact(self.input_schema)}"
        )

    def _not_an_object(self, input: object) -> ToolOutput:
        return ToolOutput(
            f"Error: tool {self.name!r} needs a JSON object of named arguments, got {type(input).__name__} "
            f"{input!r}. Call it again with input matching this schema: {_compact(self.input_schema)}",
            True,
            "invalid_input",
        )

    def _timeout_output(self, limit: _Limit) -> ToolOutput:
        if limit.deadline:  # the run's deadline, not the tool, set the limit: retrying cannot help
            return ToolOutput(
                f"Error: tool {self.name!r} was stopped after {limit.seconds:.3g} s, when the run's deadline "
                "came. Continue without this result.",
                True,
                "timeout",
            )
        return ToolOutput(
            f"Error: tool {self.name!r} did not finish within {limit.seconds:g} s and was abandoned. "
            "Try again with a smaller request, or continue without this result.",
            True,
            "timeout",
        )

    # -- TTL cache --------------------------------------------------------------

    def _cache_get(self, input: object) -> tuple[str | None, ToolOutput | None]:
        if self.cache_ttl is None:
            return None, None
        try:
            key = canonical_json(input)
        except (TypeError, ValueError):
            return None, None  # not JSON: cannot come from the API anyway; just don't cache
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is not None:
                if entry[0] > clock.monotonic():
                    return key, ToolOutput(entry[1], cached=True)
                del self._cache[key]
        return key, None

    def _cache_put(self, key: str | None, out: ToolOutput, started: float) -> None:
        ttl = self.cache_ttl
        if key is None or ttl is None or out.is_error:  # a key is only made when there is a TTL
            return
        with self._cache_lock:
            # the TTL counts from when the call started: the data is as old as the request
            self._cache[key] = (started + ttl, out.content)

    def clear_cache(self) -> None:
        """Forget every cached result (e.g. when the data behind the tool changes)."""
        with self._cache_lock:
            self._cache.clear()


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
    cache_ttl: float | None = None,
) -> Any:
    """Turn a typed, documented function into a `Tool`.

    Use it as ``@tool``, ``@tool(timeout=2.0)``, or ``tool(fn, cache_ttl=60)``.
    The description comes from the docstring (or `description=`), each
    parameter's from its "Args:" entry; the schema from the type hints.
    `timeout` is in seconds (default `DEFAULT_TIMEOUT_S`; None waits for ever);
    `cache_ttl` keeps successful results for identical inputs (see `Tool`).
    """

    def make(f: Callable[..., Any]) -> Tool:
        return Tool(f, name=name, description=description, timeout=timeout, cache_ttl=cache_ttl)

    return make(fn) if fn is not None else make


def as_tool(obj: object) -> Tool:
    """Accept what a learner is likely to pass in ``tools=[...]``: a Tool, a plain function, or an SDK function tool."""
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, (BetaFunctionTool, BetaAsyncFunctionTool)):
        return Tool(obj.func, name=obj.name, description=obj.description)
    if callable(obj):
        return Tool(obj)
    raise TypeError(
        f"tools=[...] takes functions or agentkit.tool(...) objects, got {type(obj).__name__}: {obj!r}"
    )


def unknown_tool_output(name: str, available: list[str]) -> ToolOutput:
    """The result sent back when the model asks for a tool this agent does not have."""
    offer = ", ".join(repr(n) for n in available) if available else "none"
    return ToolOutput(
        f"Error: there is no tool named {name!r}. Available tools: {offer}. Use one of them, or answer without a tool.",
        True,
        "unknown_tool",
    )


# -- helpers ---------------------------------------------------------------------


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # built once: json.dumps(sort_keys=...) rebuilds it per call


def canonical_json(value: Any) -> str:
    """`value` as JSON with sorted keys: equal inputs give equal text (cache and repeat keys)."""
    return _CANONICAL.encode(value)


def _to_content(value: Any) -> Content:
    """A tool's return value as tool_result content, normalised once here.

    Text passes through; a list of valid content blocks (text, image, document,
    search_result) passes through; anything else, records like
    ``[{"type": "refund", "amount": 12.5}]`` included, is sent as JSON text, so the
    model sees the data rather than blocks the API would reject. Text over
    `MAX_OUTPUT_CHARS` is cut with a note saying how much was left out.
    """
    if isinstance(value, str):
        return _capped(value)
    if type(value) is int or type(value) is float:  # fast path: their JSON is their repr
        return repr(value)
    if isinstance(value, list) and value and all(_is_content_block(b) for b in value):
        return [dict(b) for b in value]
    try:
        text = json.dumps(value, ensure_ascii=False, default=_safe_str)
    except (TypeError, ValueError, RecursionError):
        text = _safe_str(value)
    return _capped(text)


def _is_content_block(block: Any) -> bool:
    if not isinstance(block, Mapping):
        return False
    needs = _CONTENT_BLOCKS.get(str(block.get("type")))
    if needs is None or needs not in block:
        return False
    return not (block["type"] == "text" and not isinstance(block["text"], str))


def _capped(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return (text[:MAX_OUTPUT_CHARS] + f"\n[output truncated: {len(text):,} characters, only the first "
            f"{MAX_OUTPUT_CHARS:,} were sent. Ask the tool for a smaller piece if you need the rest.]")


def _safe_str(value: Any) -> str:
    """str(value), or a stand-in when the object's own __str__ / __repr__ raises."""
    for render in (str, repr):
        try:
            return render(value)
        except Exception:  # noqa: BLE001 - a broken __str__ must not crash the run
            continue
    return f"<{type(value).__name__} object that cannot be shown as text>"


def _compact(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"))


class _DaemonWorkers:
    """Reusable daemon threads for timed tool calls.

    Python cannot kill a thread, so a call that runs past its timeout is abandoned,
    not stopped. Daemon threads (unlike a ThreadPoolExecutor's, which are joined at
    exit) never keep a kernel from shutting down over a hung tool, and a worker
    taken by a hung call is simply replaced, so hangs cannot starve the others.
    Threads are reused because every tool call is timed (`DEFAULT_TIMEOUT_S`) and
    starting a thread per call doubled the agent's cost per step.
    """

    MAX_IDLE = 32

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[Any]] = []
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], ToolOutput], timeout: float) -> ToolOutput | None:
        """fn() in a worker thread; None if it did not finish within `timeout` seconds."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), daemon=True, name="agentkit-tool").start()
        box: list[ToolOutput] = []
        done = threading.Event()
        inbox.put((fn, box, done))
        done.wait(timeout)
        return box[0] if box else None

    def _serve(self, inbox: queue.SimpleQueue[Any]) -> None:
        while True:
            fn, box, done = inbox.get()
            box.append(fn())
            done.set()
            with self._lock:
                if len(self._idle) >= self.MAX_IDLE:
                    return
                self._idle.append(inbox)


_WORKERS = _DaemonWorkers()


class _ToolTimeout(BaseException):
    """Raised in a tool that ran past its timeout (a BaseException, so the tool's own `except Exception` lets it by)."""


@dataclass(frozen=True)
class _Limit:
    """One call's time limit: `seconds`, and whether the caller's deadline (not the tool's timeout) set it."""

    seconds: float
    deadline: bool


def _call_with_timeout(t: Tool, input: object, limit: _Limit) -> ToolOutput:
    # Two limits: simulated waits (agentkit.sim.sleep) past the limit end at it on the kit's clock, and
    # real time past it stops (or abandons) the call.
    with clock.deadline(limit.seconds, _ToolTimeout):
        try:
            with time_limit(limit.seconds, _ToolTimeout) as armed:
                if armed:
                    # In the calling thread, under a timer signal: no thread hop per call (which doubled the loop's
                    # cost per step), and a hung tool is really stopped rather than left running in the background.
                    return t._call_sync(input)
        except _ToolTimeout:
            return t._timeout_output(limit)
        ctx = contextvars.copy_context()  # so spans the tool opens nest under its execute_tool span
        out = _WORKERS.run(lambda: ctx.run(_call_limited, t, input, limit), limit.seconds)
    return out if out is not None else t._timeout_output(limit)


def _call_limited(t: Tool, input: object, limit: _Limit) -> ToolOutput:
    try:
        return t._call_sync(input)
    except _ToolTimeout:  # a simulated wait ran past the limit
        return t._timeout_output(limit)


async def _await_with_timeout(t: Tool, call: Any, limit: _Limit) -> ToolOutput:
    with clock.deadline(limit.seconds, _ToolTimeout):
        try:
            return await asyncio.wait_for(call, limit.seconds)
        except (asyncio.TimeoutError, _ToolTimeout):
            return t._timeout_output(limit)



def _run_coroutine_blocking(coro: Any) -> ToolOutput:
    """Run an async tool from sync code, even when this thread already runs an
    event loop (Jupyter), by giving it a fresh loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: list[ToolOutput] = []
    ctx = contextvars.copy_context()
    worker = threading.Thread(target=lambda: box.append(ctx.run(asyncio.run, coro)), daemon=True)
    worker.start()
    worker.join()
    return box[0]
