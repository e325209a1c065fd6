"""The agent loop (ReAct): reason, act, observe, until the model answers.

One `Agent.run(prompt)` is a series of *steps*. In each step the model reads
the conversation so far and either answers (the run ends) or asks for one or
more tool calls; we run those tools and send their results back, and the next
step begins. The loop also stops, and says why, when it runs out of steps or
budget, when the model repeats the same call over and over, when it refuses, or
when its answer is cut off by ``max_tokens``.

    agent = Agent(client, tools=[get_current_time])
    result = agent.run("What time is it in Paris?")
    result.text, result.stop_reason, result.steps, result.usage

Read `run` top to bottom next to the ReAct lesson; `arun` is the same loop
with ``await``. The loop is kept lean on purpose (a few microseconds per step
plus the tracing spans): see ``benchmarks/step_overhead.py``.

Tracing: a root span ``invoke_agent {name}``, an ``agentkit.step`` event per
step, one ``execute_tool {tool}`` span per tool call (OpenTelemetry GenAI
conventions). `CURRENT_STEP` holds the step number while it runs so other
spans (the SDK's own ``chat`` spans) can be stamped with it.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
from dataclasses import dataclass, field
from enum import Enum
from collections.abc import Generator
from contextvars import Token
from typing import Any, Callable, Iterable

import anthropic
from anthropic.types import Message, ToolUseBlock
from anthropic.types import Usage as MessageUsage
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from agentkit import clock
from agentkit.models import DEFAULT_MODEL
from agentkit.pools import SharedPool
from agentkit.pricing import cost_of
from agentkit.redact import redact
from agentkit.trace_context import CURRENT_STEP  # the step number while a step runs; tracing stamps it on spans
from agentkit.tools import Tool, ToolOutput, as_tool, canonical_json, unknown_tool_output

__all__ = ["Agent", "RunResult", "Step", "StopReason", "ToolCall", "Usage", "CURRENT_STEP", "HOOK_EVENTS"]

_tracer = trace.get_tracer("agentkit")  # a proxy: picks up a TracerProvider set later


class StopReason(str, Enum):
    """Why a run ended."""

    FINAL_ANSWER = "final_answer"  # the model answered without asking for a tool
    MAX_STEPS = "max_steps"  # still asking for tools after max_steps steps
    TOKEN_BUDGET = "token_budget"  # total tokens reached token_budget
    COST_BUDGET = "cost_budget"  # total cost (USD) reached cost_budget
    REPEATED_TOOL_CALL = "repeated_tool_call"  # the same call, same input, once too often
    REFUSAL = "refusal"  # the model declined (stop_reason "refusal")
    MAX_TOKENS = "max_tokens"  # the reply was cut off at max_tokens
    DEADLINE = "deadline"  # the run's time limit (Agent(deadline=...)) passed
    API_ERROR = "api_error"  # the API still failed after the SDK's retries: result.error says why

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # what a notebook shows for `result.stop_reason`: the reason, not <StopReason.FINAL_ANSWER: 'final_answer'>
        return repr(self.value)


@dataclass(slots=True)
class Usage:
    """Tokens summed over a run; the same field names as the SDK's `Usage`.
    Anthropic's ``input_tokens`` excludes cached tokens: `total_input_tokens` adds them back."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.output_tokens

    def add(self, usage: MessageUsage) -> None:
        self.input_tokens += usage.input_tokens or 0
        self.output_tokens += usage.output_tokens or 0
        self.cache_read_input_tokens += getattr(usage, "cache_read_input_tokens", None) or 0
        self.cache_creation_input_tokens += getattr(usage, "cache_creation_input_tokens", None) or 0


@dataclass(slots=True)
class ToolCall:
    """One tool call the model asked for, and what came of it."""

    id: str
    name: str
    input: Any
    output: Any = None  # the tool_result content sent back (text or content blocks)
    is_error: bool = False
    error_type: str | None = None
    duration: float = 0.0  # seconds
    cached: bool = False


@dataclass(slots=True)
class Step:
    """One turn of the loop: the request sent, the model's response, the tools it ran."""

    index: int  # 1-based
    request: dict[str, Any]
    response: Message | None = None  # the model's reply, once it came
    decision: str = ""  # tool_call | final_answer | clarification | refusal | max_tokens
    tool_calls: list[ToolCall] = field(default_factory=list)
    model_duration: float = 0.0  # seconds waiting for the model
    duration: float = 0.0  # seconds for the whole step

    @property
    def text(self) -> str:
        """The text the model wrote in this step (its visible reasoning, or the answer)."""
        return _text_of(self.response)

    @property
    def reply(self) -> Message:
        """The model's reply. Every step of a finished run has one; only a `model_start` hook sees a step without."""
        if self.response is None:
            raise RuntimeError(f"step {self.index} has no reply yet: its model call has not returned")
        return self.response


@dataclass(slots=True)
class RunResult:
    """What `Agent.run` returns."""

    text: str
    stop_reason: StopReason
    steps: list[Step]
    usage: Usage
    messages: list[Any]  # the whole conversation, to continue it with agent.run(result.messages + [...])
    model: str = DEFAULT_MODEL
    duration: float = 0.0  # seconds
    #: the exception that ended the run (stop_reason API_ERROR or DEADLINE), else None.
    #: Every completed step is kept; continue with agent.run(result.messages).
    error: BaseException | None = None

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [call for step in self.steps for call in step.tool_calls]

    @property
    def cost(self) -> float:
        """Cost in USD, priced per step with `agentkit.pricing.cost_of` (so cache-write
        TTLs and batch discounts in each response's usage count)."""
        return sum(cost_of(self.model, step.reply.usage) for step in self.steps)

    def transcript(self, width: int = 160) -> str:
        """The run as text, one block per step: what the model said (reason), the
        tools it called (act) and what came back (observe). Long texts are cut to `width`."""

        def cut(text: str) -> str:
            text = " ".join(str(text).split())
            return text if len(text) <= width else text[: width - 1] + "…"

        lines = []
        for step in self.steps:
            usage = step.reply.usage
            lines.append(f"step {step.index} · {step.decision} · {usage.input_tokens} in / {usage.output_tokens} out tokens")
            if step.text and step.decision == "tool_call":
                lines.append(f"  reason:  {cut(step.text)}")
            for call in step.tool_calls:
                args = ", ".join(f"{k}={v!r}" for k, v in call.input.items()) if isinstance(call.input, dict) else call.input
                lines.append(f"  act:     {cut(f'{call.name}({args})')}")
                output = cut(call.output)
                flag = "ERROR " if call.is_error and not output.lower().startswith("error") else ""
                lines.append(f"  observe: {flag}{output}")
        lines.append(f"stopped: {self.stop_reason.value} after {len(self.steps)} step(s)")
        if self.text:
            lines.append(f"answer:  {cut(self.text)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"RunResult(stop_reason={self.stop_reason.value!r}, steps={len(self.steps)}, "
            f"tool_calls={len(self.tool_calls)}, tokens={self.usage.total_tokens}, text={self.text[:60]!r})"
        )


#: Hook events and what each hook receives:
#:   model_start(step)        before the request goes out; step.request is set
#:   model_end(step)          after the reply; step.response and step.decision are set
#:   tool_start(step, call)   before a tool runs; call.id, .name, .input are set
#:   tool_end(step, call)     after it ran; call.output, .is_error, .duration are set
#:   step_end(step)           after the step's tools ran (or the run decided to stop)
#: Tool hooks run in the tool's thread when calls run concurrently.
HOOK_EVENTS = ("model_start", "model_end", "tool_start", "tool_end", "step_end")

# Worker threads for concurrent sync tool calls, shared by every run; tools with a timeout
# run in their own daemon thread instead.
_pool = SharedPool(16, "agentkit-tool")


class Agent:
    """A model, a system prompt and some tools, run as a ReAct loop.

    `client` is anything with the SDK's ``client.messages.create(**params)``
    (and ``.stream`` when ``stream=True``): `agentkit.client()`, an
    ``anthropic.Anthropic``/``AsyncAnthropic``, or a test fake.

    Limits: `max_steps` model calls; `token_budget` total tokens (input, cached
    input and output, summed over steps); `cost_budget` in USD; a tool call with
    the same name and input made more than `max_identical_calls` times stops the
    run (the model is going round in circles). Budgets are checked after each
    reply: a final answer is always kept, but no further tools run.

    `deadline` limits the whole run to that many seconds on the kit's clock (real time live, simulated offline): each
    model call gets the time that is left as its timeout, each tool call the
    smaller of its own timeout and the time left, and no step starts after it
    (stop reason ``deadline``; the completed steps are kept).

    Any other keyword (``temperature``, ``tool_choice``, ``metadata``, ...) is
    sent with every request. ``stream=True`` uses ``client.messages.stream``,
    so the SDK's spans record time to first token. Hooks: see `HOOK_EVENTS`.
    Errors from the API itself (rate limits, overload) are retried by the SDK;
    one that still fails ends the run with stop reason ``api_error`` and the
    steps completed so far (``result.error`` holds the exception), and
    ``agent.run(result.messages)`` carries on from there.
    """

    def __init__(
        self,
        client: Any,
        model: str = DEFAULT_MODEL,
        system: str | list[dict[str, Any]] | None = None,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        max_steps: int = 10,
        max_tokens: int = 1024,
        token_budget: int | None = None,
        cost_budget: float | None = None,
        max_identical_calls: int = 2,
        name: str = "agent",
        stream: bool = False,
        hooks: dict[str, Callable[..., Any] | list[Callable[..., Any]]] | None = None,
        deadline: float | None = None,
        **request_options: Any,
    ) -> None:
        if not hasattr(client, "messages"):
            raise TypeError(
                f"Agent needs a client with .messages.create(...), such as agentkit.client(); got {type(client).__name__}"
            )
        _check_whole("max_steps", max_steps, minimum=1)
        _check_whole("max_tokens", max_tokens, minimum=1)
        _check_whole("max_identical_calls", max_identical_calls, minimum=1)
        _check_whole("token_budget", token_budget, minimum=1, optional=True)
        _check_positive("cost_budget", cost_budget, "US dollars")
        _check_positive("deadline", deadline, "seconds")
        if not isinstance(model, str) or not model:
            raise TypeError(f"model must be a model id string such as agentkit.DEFAULT_MODEL, got {model!r}")
        if not isinstance(stream, bool):
            raise TypeError(f"stream must be True or False, got {stream!r}")
        self.client = client
        self.model = model
        self.system = system
        self.tools: dict[str, Tool] = {}
        for t in tools:
            t = as_tool(t)
            if t.name in self.tools:
                raise ValueError(f"two tools are named {t.name!r}; give one a different name with tool(fn, name=...)")
            self.tools[t.name] = t
        self.max_steps = max_steps
        self.max_tokens = max_tokens
        self.token_budget = token_budget
        self.cost_budget = cost_budget
        self.max_identical_calls = max_identical_calls
        self.name = name
        self.stream = stream
        self.deadline = deadline
        self._hooks: dict[str, list[Callable[..., Any]]] = {}
        for event, fns in (hooks or {}).items():
            for fn in fns if isinstance(fns, list) else [fns]:
                self.add_hook(event, fn)
        # The parts of the request that do not change between steps, built once.
        self._base: dict[str, Any] = {"model": model, "max_tokens": max_tokens, **request_options}
        if system is not None:
            self._base["system"] = system
        if self.tools:
            self._base["tools"] = [t.definition for t in self.tools.values()]

    def add_hook(self, event: str, fn: Callable[..., Any]) -> None:
        """Call `fn` on `event` (one of `HOOK_EVENTS`; see there for its arguments)."""
        if event not in HOOK_EVENTS:
            raise ValueError(f"unknown hook event {event!r}; choose one of {', '.join(HOOK_EVENTS)}")
        if not callable(fn):
            raise TypeError(f"a hook must be callable, got {type(fn).__name__}")
        self._hooks.setdefault(event, []).append(fn)

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r}, model={self.model!r}, tools={list(self.tools)}, max_steps={self.max_steps})"

    # -- the loop ---------------------------------------------------------------

    def run(self, prompt: str | list[Any]) -> RunResult:
        """Run the loop until the model answers or a limit stops it."""
        with _Run(self, prompt) as run:  # the invoke_agent span, the clock, the conversation
            for step in run.steps():  # one step at a time, while no limit or deadline stops the run
                try:
                    step.response = self._call_model(step.request, run.time_left())  # reason
                except anthropic.APIError as error:  # still failing after the SDK's retries
                    return run.fail(error)
                if run.observe(step) is None:  # read the reply: an answer, or tools to run?
                    step.tool_calls = self._run_tools(step, run.traced, run.time_left())  # act
                    run.add_tool_results(step)  # observe: the results go back in the next request
            return run.finish()

    async def arun(self, prompt: str | list[Any]) -> RunResult:
        """`run`, for an async client (``AsyncAnthropic`` / `agentkit.async_client()`) and async tools."""
        with _Run(self, prompt) as run:
            for step in run.steps():
                try:
                    step.response = await self._acall_model(step.request, run.time_left())
                except anthropic.APIError as error:
                    return run.fail(error)
                if run.observe(step) is None:
                    step.tool_calls = await self._arun_tools(step, run.traced, run.time_left())
                    run.add_tool_results(step)
            return run.finish()

    # -- calling the model ---------------------------------------------------------

    def _call_model(self, params: dict[str, Any], time_left: float | None = None) -> Message:
        if time_left is not None:  # the SDK's per-request timeout: the call may not outlive the run's deadline
            params = {**params, "timeout": time_left}
        if self.stream:
            # Streaming lets the SDK's spans record time to first token.
            with self.client.messages.stream(**params) as stream:
                return stream.get_final_message()
        return self.client.messages.create(**params)

    async def _acall_model(self, params: dict[str, Any], time_left: float | None = None) -> Message:
        if time_left is not None:
            params = {**params, "timeout": time_left}
        if self.stream:
            manager = self.client.messages.stream(**params)
            if hasattr(manager, "__aenter__"):
                async with manager as stream:
                    return await stream.get_final_message()
            with manager as stream:  # a sync client handed to arun: still works, just blocks
                return stream.get_final_message()
        response = self.client.messages.create(**params)
        return await response if inspect.isawaitable(response) else response

    # -- running tools --------------------------------------------------------------

    def _run_tools(self, step: Step, traced: bool, time_left: float | None = None) -> list[ToolCall]:
        calls = _tool_calls_of(step.reply)
        if len(calls) == 1:
            self._execute(step, calls[0], traced, time_left)
        else:
            # Independent calls from one turn run at once. Each worker runs in a copy of
            # this context, so its execute_tool span gets the agent span as parent.
            futures = [_pool().submit(contextvars.copy_context().run, self._execute, step, c, traced, time_left)
                       for c in calls]
            for f in futures:
                f.result()
        return calls

    async def _arun_tools(self, step: Step, traced: bool, time_left: float | None = None) -> list[ToolCall]:
        calls = _tool_calls_of(step.reply)
        await asyncio.gather(*(self._aexecute(step, c, traced, time_left) for c in calls))  # tasks copy the context
        return calls

    def _execute(self, step: Step, call: ToolCall, traced: bool, time_left: float | None = None) -> None:
        # time_left: the run's deadline bounds the tool too (the smaller of it and the tool's own timeout)
        with _ToolRun(self, step, call, traced) as run:  # the execute_tool span, hooks and timing
            run.out = run.tool.invoke(call.input, time_left=time_left) if run.tool is not None \
                else self._unknown_tool(call)

    async def _aexecute(self, step: Step, call: ToolCall, traced: bool, time_left: float | None = None) -> None:
        with _ToolRun(self, step, call, traced) as run:
            run.out = await run.tool.ainvoke(call.input, time_left=time_left) if run.tool is not None \
                else self._unknown_tool(call)

    def _unknown_tool(self, call: ToolCall) -> ToolOutput:
        return unknown_tool_output(call.name, list(self.tools))

    def _start_tool(self, step: Step, call: ToolCall, traced: bool) -> Span | None:
        if "tool_start" in self._hooks:
            self._fire("tool_start", step, call)
        if not traced:  # the agent span is not recording (no TracerProvider, or sampled out): no tool spans
            return None
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
            "gen_ai.tool.type": "function",
            "agentkit.step": step.index,
        }
        mask = _REDACT
        if mask is not None:  # arguments may hold personal data: only ever recorded redacted
            attributes["gen_ai.tool.call.arguments"] = _ARGS_JSON.encode(mask(call.input))
        return _tracer.start_span(f"execute_tool {call.name}", attributes=attributes)

    def _end_tool(self, step: Step, call: ToolCall, out: ToolOutput, started: float, span: Span | None) -> None:
        call.duration = clock.monotonic() - started
        call.output, call.is_error, call.error_type, call.cached = out.content, out.is_error, out.error_type, out.cached
        if span is not None:
            if out.is_error:
                # the error text can quote what the tool was given (a key, an e-mail): redacted like the arguments
                mask = _REDACT
                summary = _first_line(out.content)
                span.set_status(Status(StatusCode.ERROR, mask(summary) if mask is not None else out.error_type or "error"))
                span.set_attribute("error.type", out.error_type or "tool_error")
            span.end()
        if "tool_end" in self._hooks:
            self._fire("tool_end", step, call)

    # -- helpers ---------------------------------------------------------------------

    def _fire(self, event: str, *args: Any) -> None:
        started = clock.monotonic_ns()
        for fn in self._hooks.get(event, ()):
            fn(*args)
        # Hooks are the framework's own work (callbacks, state saving): an event with their duration on the
        # current span, so the latency lesson can measure framework overhead without adding spans.
        span = trace.get_current_span()
        if span.is_recording():
            step = args[0].index if args and isinstance(args[0], Step) else 0
            span.add_event("agentkit.hooks", {"agentkit.hook": event, "agentkit.step": step,
                                              "agentkit.duration_ns": clock.monotonic_ns() - started})

    def _span_attributes(self) -> dict[str, Any]:
        return {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": self.name,
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": self.model,
        }


class _Run:
    """The state of one run: conversation, steps, usage, repeat counts. Shared by `run` and `arun`.

    A context manager: inside it the run's ``invoke_agent`` span is current; `steps()` hands out the
    steps, each with `CURRENT_STEP` set, its request built and its timing and hooks around it.
    """

    __slots__ = ("agent", "messages", "steps_taken", "usage", "cost", "span", "traced", "seen_calls", "started",
                 "step_started", "stop", "_span_cm", "_stepper")

    def __init__(self, agent: Agent, prompt: str | list[Any]) -> None:
        if isinstance(prompt, str):
            messages: list[Any] = [{"role": "user", "content": prompt}]
        elif isinstance(prompt, list) and prompt:
            messages = list(prompt)
        else:
            raise TypeError("run() takes a prompt string, or a non-empty list of messages to continue a conversation")
        self.agent = agent
        self.messages = messages
        self.steps_taken: list[Step] = []
        self.usage = Usage()
        self.cost = 0.0  # USD, only kept when there is a cost_budget
        self.span: Span = trace.INVALID_SPAN
        self.traced = False  # whether the agent span records: tool spans and step events only then
        self.seen_calls: dict[str, int] = {}
        self.started = self.step_started = clock.monotonic()
        self.stop: StopReason | None = None  # why the run ends, once something has decided it
        self._span_cm: Any = None
        self._stepper: Generator[Step, None, None] | None = None

    def __enter__(self) -> _Run:
        self._span_cm = _tracer.start_as_current_span(f"invoke_agent {self.agent.name}",
                                                      attributes=self.agent._span_attributes())
        self.span = self._span_cm.__enter__()
        self.traced = self.span.is_recording()
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        if self._stepper is not None:  # a step left early (a return or an error inside it): reset CURRENT_STEP now
            self._stepper.close()
        return self._span_cm.__exit__(*exc)

    def steps(self) -> Generator[Step, None, None]:
        """The steps to take: up to max_steps, none after the deadline, none after one that stopped the run."""
        self._stepper = self._steps()
        return self._stepper

    def _steps(self) -> Generator[Step, None, None]:
        for index in range(1, self.agent.max_steps + 1):
            if self.out_of_time():
                self.stop = StopReason.DEADLINE
                return
            token = CURRENT_STEP.set(index)
            try:
                step = self.start_step(index)  # build the request
                yield step  # the loop calls the model and runs the tools
                self.end_step(step)
            finally:
                CURRENT_STEP.reset(token)
            if self.stop is not None:
                return
        self.stop = StopReason.MAX_STEPS

    def start_step(self, index: int) -> Step:
        self.step_started = clock.monotonic()
        built = clock.monotonic_ns()
        # A shallow copy of the message list, so step.request shows exactly what was sent.
        step = Step(index, {**self.agent._base, "messages": list(self.messages)})
        self.steps_taken.append(step)
        if self.traced:  # how long building the request took ("context injection" in the latency lesson)
            self.span.add_event("agentkit.request_built", {"agentkit.step": index,
                                                           "agentkit.duration_ns": clock.monotonic_ns() - built})
        if "model_start" in self.agent._hooks:
            self.agent._fire("model_start", step)
        return step

    def observe(self, step: Step) -> StopReason | None:
        """Read the model's reply; return why to stop, or None to run its tools."""
        agent, response = self.agent, step.reply
        step.model_duration = clock.monotonic() - self.step_started
        self.usage.add(response.usage)
        if agent.cost_budget is not None:
            self.cost += cost_of(agent.model, response.usage)
        self.messages.append({"role": "assistant", "content": response.content})
        reason = response.stop_reason
        if reason == "tool_use":
            step.decision, stop = "tool_call", self._check_limits(step)
        elif reason == "refusal":
            step.decision, stop = "refusal", StopReason.REFUSAL
        elif reason == "max_tokens":
            step.decision, stop = "max_tokens", StopReason.MAX_TOKENS
        elif reason == "pause_turn":  # a long server-side tool turn: send it back to continue
            step.decision, stop = "tool_call", self._check_limits(step)
        else:  # end_turn, stop_sequence
            text = _text_of(response).rstrip()
            step.decision = "clarification" if text.endswith("?") else "final_answer"
            stop = StopReason.FINAL_ANSWER
        if self.traced:
            self.span.add_event(
                "agentkit.step",
                {
                    "agentkit.step": step.index,
                    "agentkit.decision": step.decision,
                    "gen_ai.response.finish_reasons": (reason or "",),
                },
            )
        if "model_end" in agent._hooks:
            agent._fire("model_end", step)
        self.stop = stop
        return stop

    def _check_limits(self, step: Step) -> StopReason | None:
        agent = self.agent
        if agent.token_budget is not None and self.usage.total_tokens >= agent.token_budget:
            return StopReason.TOKEN_BUDGET
        if agent.cost_budget is not None and self.cost >= agent.cost_budget:
            return StopReason.COST_BUDGET
        for block in _tool_uses(step.reply):
            key = block.name + canonical_json(block.input)
            count = self.seen_calls[key] = self.seen_calls.get(key, 0) + 1
            if count > agent.max_identical_calls:
                return StopReason.REPEATED_TOOL_CALL
        return None

    def add_tool_results(self, step: Step) -> None:
        results = []
        for call in step.tool_calls:
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call.id, "content": call.output}
            if call.is_error:
                block["is_error"] = True
            results.append(block)
        if results:  # pause_turn has no tool calls: the assistant turn alone goes back
            self.messages.append({"role": "user", "content": results})

    def time_left(self) -> float | None:
        """Seconds left before the agent's deadline (None: no deadline)."""
        if self.agent.deadline is None:
            return None
        return max(0.001, self.agent.deadline - (clock.monotonic() - self.started))

    def out_of_time(self) -> bool:
        return self.agent.deadline is not None and clock.monotonic() - self.started >= self.agent.deadline

    def fail(self, error: BaseException) -> RunResult:
        """End the run on an API error, keeping every completed step; the failed request is not a step."""
        self.steps_taken.pop()
        stop = StopReason.DEADLINE if isinstance(error, anthropic.APITimeoutError) and self.out_of_time() else StopReason.API_ERROR
        if self.traced:
            self.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}"))
            self.span.set_attribute("error.type", type(error).__name__)
        result = self.finish(stop)
        result.error = error
        return result

    def end_step(self, step: Step) -> None:
        step.duration = clock.monotonic() - self.step_started
        if "step_end" in self.agent._hooks:
            self.agent._fire("step_end", step)

    def finish(self, stop: StopReason | None = None) -> RunResult:
        """The run's result, stopped for `stop` (by default the reason the steps ended for)."""
        stop = stop or self.stop or StopReason.MAX_STEPS
        # Only a reply that ended the conversation is an answer; a tool-asking reply's text is reasoning.
        answered = stop in (StopReason.FINAL_ANSWER, StopReason.REFUSAL, StopReason.MAX_TOKENS)
        text = _text_of(self.steps_taken[-1].response) if answered and self.steps_taken else ""
        result = RunResult(
            text=text,
            stop_reason=stop,
            steps=self.steps_taken,
            usage=self.usage,
            messages=self.messages,
            model=self.agent.model,
            duration=clock.monotonic() - self.started,
        )
        if self.traced:
            self.span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": self.usage.total_input_tokens,
                    "gen_ai.usage.output_tokens": self.usage.output_tokens,
                    "agentkit.stop_reason": stop.value,
                    "agentkit.steps": len(self.steps_taken),
                }
            )
        return result


class _ToolRun:
    """One tool call's bracket, shared by `_execute` and `_aexecute`: hooks, the ``execute_tool`` span
    (current while the tool runs, so spans the tool opens nest under it) and the timing."""

    __slots__ = ("agent", "step", "call", "tool", "span", "token", "started", "out")

    def __init__(self, agent: Agent, step: Step, call: ToolCall, traced: bool) -> None:
        self.agent, self.step, self.call = agent, step, call
        self.tool = agent.tools.get(call.name)  # None: the model asked for a tool the agent does not have
        self.span = agent._start_tool(step, call, traced)
        self.token: Token[Context] | None = None
        self.out: ToolOutput | None = None

    def __enter__(self) -> _ToolRun:
        if self.span is not None:  # attach/detach directly: trace.use_span's generator costs more per call
            self.token = otel_context.attach(trace.set_span_in_context(self.span))
        self.started = clock.monotonic()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.token is not None:
            otel_context.detach(self.token)
        if self.out is not None:  # Tool.invoke never raises: no output means the run itself is being interrupted
            self.agent._end_tool(self.step, self.call, self.out, self.started, self.span)
        elif self.span is not None:
            self.span.end()


# -- small functions ------------------------------------------------------------------


def _check_whole(name: str, value: Any, *, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = f"a whole number from {minimum} up" + (", or None for no limit" if optional else "")
        raise TypeError(f"Agent({name}=...) must be {allowed}; got {type(value).__name__} {value!r}")


def _check_positive(name: str, value: Any, unit: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
        raise TypeError(f"Agent({name}=...) must be a positive number of {unit}, or None for no limit; "
                        f"got {type(value).__name__} {value!r}")


def _text_of(message: Message | None) -> str:
    if message is None:
        return ""
    return "".join(block.text for block in message.content if block.type == "text")


def _tool_uses(message: Message) -> list[ToolUseBlock]:
    return [b for b in message.content if b.type == "tool_use"]


def _tool_calls_of(message: Message) -> list[ToolCall]:
    return [ToolCall(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]


def _first_line(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    return text.splitlines()[0][:200] if text else ""


_ARGS_JSON = json.JSONEncoder(default=str)  # built once; json.dumps(default=...) builds one per call
#: What masks secrets and personal data before a span records them; None records no tool arguments at all.
_REDACT: Callable[[Any], Any] | None = redact
