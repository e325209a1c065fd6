"""The Message Batches API: many independent requests at half price, for work that can wait.

`run_batch` submits requests with the SDK (`client.messages.batches.create`),
polls until the batch has ended (first after `poll_seconds`, then backing off,
doubling the wait up to `max_poll_seconds`: a batch takes minutes to hours, so
polling every few seconds would only spend requests), shows a progress bar while
it waits against the real API, and collects each result with its cost. Use
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
    waited_seconds: float  # the polling waits added up (simulated seconds against the simulator)


def run_batch(client: Any, requests: Sequence[dict[str, Any]], *, poll_seconds: float = 10.0,
              max_poll_seconds: float = 300.0, max_polls: int = 10_000, progress: bool | None = None) -> BatchOutcome:
    """Submit `requests` ({"custom_id": ..., "params": {...}}) as one batch and wait for the results.

    Polls after `poll_seconds`, then doubles the wait each time up to `max_poll_seconds` (exponential backoff).
    `progress`: show a bar of requests ended (tqdm; a widget in Jupyter); None shows it only against the real
    API, where the wait is real (the simulator's batch ends in simulated seconds).
    """
    if not requests:
        raise ValueError("run_batch needs at least one request: {'custom_id': 'id-1', 'params': {...}}")
    if not (isinstance(poll_seconds, (int, float)) and poll_seconds > 0 and max_poll_seconds >= poll_seconds):
        raise ValueError(f"poll_seconds must be a positive number of seconds no larger than max_poll_seconds, got "
                         f"poll_seconds={poll_seconds!r}, max_poll_seconds={max_poll_seconds!r}")
    live = is_live(client)
    sleep = time.sleep if live else sim.sleep  # simulated seconds against the simulator
    batch = client.messages.batches.create(requests=list(requests))
    bar = _progress_bar(len(requests)) if (live if progress is None else progress) else None
    polls, waited, interval = 0, 0.0, float(poll_seconds)
    try:
        while batch.processing_status != "ended":
            if polls >= max_polls:
                raise TimeoutError(f"batch {batch.id} has not ended after {polls} polls; check it later with "
                                   "client.messages.batches.retrieve(batch_id)")
            sleep(interval)
            waited += interval
            interval = min(2 * interval, float(max_poll_seconds))
            polls += 1
            batch = client.messages.batches.retrieve(batch.id)
            if bar is not None:
                bar.update(_ended(batch) - bar.n)
        if bar is not None:
            bar.update(len(requests) - bar.n)
    finally:
        if bar is not None:
            bar.close()
    messages, errors, dollars = {}, {}, 0.0
    for item in client.messages.batches.results(batch.id):
        if item.result.type == "succeeded":
            message = item.result.message
            messages[item.custom_id] = message
            dollars += cost_of(message.model, message.usage, batch=True)  # every batched token at half price
        else:
            errors[item.custom_id] = item.result.type
    return BatchOutcome(messages, errors, dollars, polls, waited)


def _ended(batch: Any) -> int:
    """Requests of the batch that have ended, whatever their result (`request_counts` on the batch)."""
    counts = getattr(batch, "request_counts", None)
    if counts is None:
        return 0
    return sum(int(getattr(counts, name, 0) or 0) for name in ("succeeded", "errored", "canceled", "expired"))


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm  # a widget in Jupyter (ipywidgets), text in a terminal

    return tqdm(total=total, desc="batch requests ended", unit="request")
