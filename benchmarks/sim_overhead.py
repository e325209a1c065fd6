"""What the simulator itself costs per call, measured next to a bare mock.

Both columns drive the same `anthropic.Anthropic.messages.create` call through
the SDK. The baseline's transport is `httpx2.MockTransport` with a handler that
returns a fixed Message; the other is agentkit's simulator (validation, policy,
token estimates, prompt-cache accounting), with its time scale at 0 so no
simulated latency is slept. The difference is the simulator's own overhead.

    python benchmarks/sim_overhead.py [--calls N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import anthropic
import httpx2

import agentkit
from agentkit.models import DEFAULT_MODEL
from agentkit.sim import set_time_scale

FIXED = {
    "id": "msg_fixed", "type": "message", "role": "assistant", "model": DEFAULT_MODEL,
    "content": [{"type": "text", "text": "The capital of France is Paris."}],
    "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 14, "output_tokens": 8},
}
PARAMS = dict(model=DEFAULT_MODEL, max_tokens=256,
              system="You are a concise geography tutor.",
              messages=[{"role": "user", "content": "What is the capital of France?"}])


def per_call_us(client: anthropic.Anthropic, calls: int, repeats: int = 5) -> float:
    """Median over `repeats` rounds of the mean microseconds per call."""
    for _ in range(50):  # warm caches and lazy imports
        client.messages.create(**PARAMS)
    rounds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            client.messages.create(**PARAMS)
        rounds.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    set_time_scale(0)

    bare = anthropic.Anthropic(api_key="bench", http_client=httpx2.Client(
        transport=httpx2.MockTransport(lambda request: httpx2.Response(200, json=FIXED))))
    sim = agentkit.client(live=False, quiet=True)

    bare_us = per_call_us(bare, args.calls)
    sim_us = per_call_us(sim, args.calls)
    print(f"one non-streaming messages.create through the SDK, {args.calls} calls x 5 rounds (median):")
    print(f"  bare httpx2.MockTransport, fixed reply : {bare_us:8.0f} us/call")
    print(f"  agentkit simulator                     : {sim_us:8.0f} us/call")
    print(f"  simulator overhead                     : {sim_us - bare_us:8.0f} us/call   ratio {sim_us / bare_us:.2f}x")


if __name__ == "__main__":
    main()
