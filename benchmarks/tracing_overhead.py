"""What does tracing cost? Per span, per agent step and per SDK call, off vs on, in one run.

    python benchmarks/tracing_overhead.py [--runs 400]

Everything runs with zero latency, so what is measured is pure overhead:

- per span: one `start_span` + `end` with the no-op tracer (tracing off), with
  a bare SDK provider exporting to memory (the reference), with agentkit's
  provider from `setup_tracing()` (step stamp, in-memory store), and the same
  inside an open `capture()` block, all during an agent step;
- per agent step: `agentkit.Agent` on a fake client that returns prebuilt
  `Message`s (9 tool steps, then an answer; trivial tool), tracing off vs on vs
  on inside `capture()` (a root span, a step event and a tool span per step);
- per SDK call: `anthropic.Anthropic.messages.create` over an in-memory
  transport returning a fixed body, with the SDK's spans off
  (`open_telemetry=False`) vs on (the global provider, inside `capture()`).

The variants take turns within each round, so a noisy neighbour on the shared
machine slows all of them alike; figures are medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit.agent as agent_module
from agentkit import Agent, tool
from agentkit.agent import CURRENT_STEP
from agentkit.models import DEFAULT_MODEL
from agentkit.tracing import capture, setup_tracing

from harness import measure  # benchmarks/ is on sys.path when run as a script
from fake_client import SCRIPT, STEPS, FakeClient, add  # benchmarks/ is on sys.path when run as a script


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="10-step agent runs per variant and round (default 400)")
    args = parser.parse_args()

    provider = setup_tracing()
    noop, traced = trace.NoOpTracer(), provider.get_tracer("agentkit")
    # For reference: a bare SDK provider exporting to memory, without agentkit's processor.
    bare_memory = InMemorySpanExporter()
    bare_provider = TracerProvider()
    bare_provider.add_span_processor(SimpleSpanProcessor(bare_memory))
    bare = bare_provider.get_tracer("bare")
    add_tool = tool(add)

    # -- per span ------------------------------------------------------------------
    SPANS = 100  # spans per repeat

    def spans(tracer: Any, in_capture: bool) -> Callable[[], None]:
        def once() -> None:
            token = CURRENT_STEP.set(3)  # as during an agent step: the hub stamps agentkit.step
            try:
                if in_capture:
                    with capture():
                        for _ in range(SPANS):
                            tracer.start_span("execute_tool x").end()
                else:
                    for _ in range(SPANS):
                        tracer.start_span("execute_tool x").end()
            finally:
                CURRENT_STEP.reset(token)
                bare_memory.clear()
        return once

    # -- per agent step ----------------------------------------------------------------
    def agent(tracer: Any, in_capture: bool) -> Callable[[], None]:
        def once() -> None:
            # The agent reads its module-level tracer; swapping it lets off and on run side by side.
            agent_module._tracer = tracer
            run = Agent(FakeClient(), tools=[add_tool], max_steps=STEPS).run
            if in_capture:
                with capture():
                    result = run("Add up the numbers.")
            else:
                result = run("Add up the numbers.")
            assert len(result.steps) == STEPS
        return once

    # -- per SDK call ---------------------------------------------------------------------
    body = json.dumps(SCRIPT[-1].model_dump()).encode()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

    def sdk(open_telemetry: Any, in_capture: bool) -> Callable[[], None]:
        client = anthropic.Anthropic(api_key="sk-test", open_telemetry=open_telemetry,
                                     http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
        params = {"model": DEFAULT_MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}

        def once() -> None:
            if in_capture:
                with capture():
                    client.messages.create(**params)
            else:
                client.messages.create(**params)
        return once

    groups = {
        "span": {
            "span, tracing off (no-op tracer)": spans(noop, False),
            "span, bare SDK provider (reference)": spans(bare, False),
            "span, setup_tracing()": spans(traced, False),
            "span, setup_tracing() + capture()": spans(traced, True),
        },
        "agent step": {
            "agent step, tracing off": agent(noop, False),
            "agent step, setup_tracing()": agent(traced, False),
            "agent step, setup_tracing() + capture()": agent(traced, True),
        },
        "SDK call": {
            "SDK call, spans off": sdk(False, False),
            "SDK call, spans on + capture()": sdk(None, True),
        },
    }
    units = {**{n: SPANS for n in groups["span"]}, **{n: STEPS for n in groups["agent step"]},
             **{n: 1 for n in groups["SDK call"]}}
    repeats = {**{n: max(1, args.runs // 10) for n in groups["span"]}, **{n: args.runs for n in groups["agent step"]},
               **{n: args.runs for n in groups["SDK call"]}}
    variants = {name: fn for group in groups.values() for name, fn in group.items()}
    try:
        samples = measure(variants, units, repeats)
    finally:
        agent_module._tracer = trace.get_tracer("agentkit")

    print("tracing overhead, zero-latency fakes, median of 7 interleaved rounds\n")
    print(f"{'variant':42} {'us/unit':>8} {'+us vs off':>11} {'x off':>6}")
    for group in groups.values():
        names = list(group)
        off = samples[names[0]]
        for name in names:
            xs = samples[name]
            extra = statistics.median(x - o for x, o in zip(xs, off))
            ratio = statistics.median(x / o for x, o in zip(xs, off))
            print(f"{name:42} {statistics.median(xs):8.1f} {extra:11.1f} {ratio:6.1f}")
        print()
    step_extra = statistics.median(
        x - o for x, o in zip(samples["agent step, setup_tracing() + capture()"], samples["agent step, tracing off"])
    )
    span_cost = statistics.median(samples["span, setup_tracing() + capture()"])
    print(f"tracing adds {step_extra:.1f} us per agent step (about {step_extra / span_cost:.1f} spans' worth), "
          f"{step_extra / 1e4:.4f}% of a step whose model call takes 1 s.")


if __name__ == "__main__":
    main()
