"""What does agentkit's loop itself cost per step?

    python benchmarks/step_overhead.py [--runs 2000]

A zero-latency fake client returns prebuilt SDK `Message` objects (tool_use for
9 steps, then end_turn) and the tool is trivial, so everything measured is loop
overhead. Four loops do the same 10-step work, side by side in one process:

1. a plain hand-written loop (the floor);
2. the plain loop plus one OpenTelemetry span per step (the floor with tracing);
3. agentkit's Agent with tracing off (no TracerProvider: OTel's no-op);
4. agentkit's Agent with an SDK TracerProvider and a SimpleSpanProcessor
   exporting to memory (spans are built, recorded and exported).

Target (issue 3): (4) within 2x of (2), i.e. under about 50 us per step, and an
order of magnitude under smolagents (about 360 us per step on this 2-core
machine with the same kind of fake).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any, Callable

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit.agent as agent_module
from agentkit import Agent, tool
from agentkit.models import DEFAULT_MODEL

from harness import measure  # benchmarks/ is on sys.path when run as a script
from fake_client import STEPS, FakeClient, add  # benchmarks/ is on sys.path when run as a script


def plain_loop(client: FakeClient, tracer: Any = None) -> str:
    """A hand-written ReAct loop doing the same work, optionally with one span per step."""
    messages: list[Any] = [{"role": "user", "content": "Add up the numbers."}]
    tools = [{"name": "add", "description": "Add two numbers.", "input_schema": {"type": "object"}}]
    for _ in range(STEPS):
        span = tracer.start_span("step") if tracer is not None else None
        response = client.messages.create(model=DEFAULT_MODEL, max_tokens=1024, tools=tools, messages=messages)
        messages.append({"role": "assistant", "content": response.content})
        if response.stop_reason != "tool_use":
            if span is not None:
                span.end()
            return "".join(b.text for b in response.content if b.type == "text")
        results = []
        for block in response.content:
            if block.type == "tool_use":
                results.append({"type": "tool_result", "tool_use_id": block.id, "content": str(add(**block.input))})
        messages.append({"role": "user", "content": results})
        if span is not None:
            span.end()
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000, help="10-step runs per loop (default 4000)")
    args = parser.parse_args()

    add_tool = tool(add)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sdk_tracer = provider.get_tracer("bench")

    def agentkit_run(tracer: Any) -> Callable[[], Any]:
        def run_once() -> None:
            agent_module._tracer = tracer
            result = Agent(FakeClient(), tools=[add_tool], max_steps=STEPS).run("Add up the numbers.")
            assert result.stop_reason == "final_answer" and len(result.steps) == STEPS, result
            exporter.clear()
        return run_once

    def plain(tracer: Any) -> Callable[[], Any]:
        def run_once() -> None:
            assert plain_loop(FakeClient(), tracer) == "The answer is 45."
            exporter.clear()
        return run_once

    # trace.NoOpTracer is what get_tracer returns when no TracerProvider is set.
    loops = {
        "plain loop": plain(None),
        "plain loop + 1 OTel span/step": plain(sdk_tracer),
        "agentkit, tracing off (no-op)": agentkit_run(trace.NoOpTracer()),
        "agentkit, SDK TracerProvider": agentkit_run(provider.get_tracer("agentkit")),
    }
    # Each loop's fastest round is reported (as `timeit` does): noise only ever adds time.
    per_round = max(1, args.runs // 20)
    samples = measure(loops, units=dict.fromkeys(loops, STEPS), repeats=dict.fromkeys(loops, per_round), rounds=20)
    best = {name: min(xs) for name, xs in samples.items()}
    floor, floor_traced = best["plain loop"], best["plain loop + 1 OTel span/step"]

    print(f"per-step overhead: {STEPS}-step runs x {args.runs} per loop, zero-latency fake client, trivial tool")
    print(f"(fastest of {len(samples['plain loop'])} interleaved rounds; median in brackets)\n")
    print(f"{'loop':32} {'us/step':>8} {'(median)':>9} {'x plain':>8} {'x plain+span':>13}")
    for name, xs in samples.items():
        us = best[name]
        print(f"{name:32} {us:8.1f} {f'({statistics.median(xs):.1f})':>9} {us / floor:8.1f} {us / floor_traced:13.2f}")
    traced = best["agentkit, SDK TracerProvider"]
    r = traced / floor_traced
    verdict = "meets" if r <= 2 else "MISSES"
    print(f"\nagentkit with tracing: {traced:.1f} us/step = {r:.2f}x plain+span ({verdict} the 2x target); "
          f"smolagents at ~360 us/step is {360 / traced:.0f}x that.")


if __name__ == "__main__":
    main()
