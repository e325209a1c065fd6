"""Fault drills: how a client setup holds up when the API misbehaves, measured rather than assumed.

`drill` sends the same workload of independent calls through a client whose
simulated API injects faults (`agentkit.Faults`), with whatever retries and
middleware you configure, and reads the outcome from a `Ledger`: the share of
calls that succeeded, and p50/p95/p99 of the time each call took end to end,
retry-after waits included. Compare setups side by side: no retries, the SDK's
retries, a model fallback, a circuit breaker.
"""

from __future__ import annotations

from typing import Any, Callable

import anthropic

from agentkit.middleware import Ledger, LedgerSummary
from agentkit.models import DEFAULT_MODEL
from agentkit.scorecard import instant_simulation
from agentkit.sim.faults import Faults

__all__ = ["drill"]


def drill(faults: Faults, *, middleware: Callable[[Ledger], list[Any]] = lambda ledger: [], max_retries: int = 2,
          calls: int = 200, model: str = DEFAULT_MODEL, seed: int = 0) -> LedgerSummary:
    """Send `calls` short, independent requests for `model` under `faults`; summarize what the caller saw.

    `middleware(ledger)` returns the middleware to put after the ledger (so it can use `ledger.clock`, the
    simulated time so far, e.g. for a circuit breaker's cool-down). `max_retries` is the SDK's own setting.
    A call that still fails after its retries (or is refused by an open breaker) counts as failed.
    """
    from agentkit.clients import client as make_client

    if not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be a whole number of at least 1, got {calls!r}")
    ledger = Ledger()
    c = make_client(False, faults=faults, seed=seed, quiet=True, max_retries=max_retries,
                    middleware=[ledger, *middleware(ledger)])
    with instant_simulation():
        for i in range(calls):
            try:
                c.messages.create(model=model, max_tokens=64,
                                  messages=[{"role": "user", "content": f"Ticket {i}: summarise the customer's issue."}])
            except anthropic.AnthropicError:
                pass  # counted as a failed call by the ledger
    return ledger.summary()
