"""The Message Batches API: many independent requests at half price, for work that can wait.

`run_batch` submits requests with the SDK (`client.messages.batches.create`),
polls until the batch has ended, and collects each result with its cost. Use
it for offline work: evaluations, nightly tagging, bulk summaries. The API
promises results within 24 hours (most batches end within one) and bills
every token at 50% of the standard price; a user waiting on a reply is not
batch work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

from agentkit import sim
from agentkit.clients import is_live
from agentkit.pricing import cost_of

__all__ = ["BatchOutcome", "run_batch"]


@dataclass(frozen=True)
class BatchOutcome:
    """What came back: results by custom_id, dollars, how many succeeded, and how long we waited."""

    messages: dict[str, Any]  # custom_id -> Message, for succeeded requests
    errors: dict[str, str]  # custom_id -> result type or error, for the rest
    cost: float
    polls: int
    waited_seconds: float  # polls x poll interval (simulated seconds against the simulator)


def run_batch(client: Any, requests: Sequence[dict[str, Any]], *, poll_seconds: float = 10.0,
              max_polls: int = 10_000) -> BatchOutcome:
    """Submit `requests` ({"custom_id": ..., "params": {...}}) as one batch and wait for the results."""
    if not requests:
        raise ValueError("run_batch needs at least one request: {'custom_id': 'id-1', 'params': {...}}")
    sleep = time.sleep if is_live(client) else sim.sleep  # simulated seconds against the simulator
    batch = client.messages.batches.create(requests=list(requests))
    polls = 0
    while batch.processing_status != "ended":
        if polls >= max_polls:
            raise TimeoutError(f"batch {batch.id} has not ended after {polls} polls; check it later with "
                               "client.messages.batches.retrieve(batch_id)")
        sleep(poll_seconds)
        polls += 1
        batch = client.messages.batches.retrieve(batch.id)
    messages, errors, dollars = {}, {}, 0.0
    for item in client.messages.batches.results(batch.id):
        if item.result.type == "succeeded":
            message = item.result.message
            messages[item.custom_id] = message
            dollars += cost_of(message.model, message.usage, batch=True)  # every batched token at half price
        else:
            errors[item.custom_id] = item.result.type
    return BatchOutcome(messages, errors, dollars, polls, polls * poll_seconds)
