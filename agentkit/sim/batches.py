"""Message batches: many Messages requests answered asynchronously, at the batch discount.

A batch is answered when it is created (each request validated and answered as `/v1/messages` would,
an invalid one becoming an `errored` result), then reports `in_progress` for a simulated while:
`batch_seconds + batch_seconds_per_request * n`, times the simulator's time scale, in real seconds. A
cancel answers `canceling` at once and ends the batch after `cancel_seconds` (scaled); requests already
processed by then keep their results, the rest are `canceled`. Results are JSON lines, available once the
batch has ended. The store is bounded: past `kept` batches the oldest ended one goes, as if its results
had expired (the API deletes them after 29 days), and is then a 404.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from .errors import APIError, invalid

#: Requests one batch may hold (the API's documented limit).
MAX_REQUESTS = 100_000
_CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@dataclass
class Batch:
    """One batch: its results (computed at creation) and the real-time marks of its life."""

    id: str
    created_at: datetime
    started: float  # time.monotonic() at creation
    ends_at: float  # time.monotonic() when processing ends
    results: list[dict[str, Any]]
    canceled_at: datetime | None = None
    cancel_ends_at: float | None = None  # time.monotonic() when canceling is over
    done_at_cancel: int = 0  # requests already processed when the cancel came
    ended_at: datetime | None = None

    def ended(self) -> bool:
        now = time.monotonic()
        if self.cancel_ends_at is not None:
            return now >= min(self.cancel_ends_at, self.ends_at)
        return now >= self.ends_at

    def final_results(self) -> list[dict[str, Any]]:
        """The results as the results endpoint reports them: after a cancel, the unprocessed ones are `canceled`."""
        if self.canceled_at is None:
            return self.results
        done = self.done_at_cancel
        return [*self.results[:done],
                *({"custom_id": r["custom_id"], "result": {"type": "canceled"}} for r in self.results[done:])]

    def as_json(self, base_url: str) -> dict[str, Any]:
        """The `message_batch` object the API returns for this batch now."""
        ended = self.ended()
        if ended and self.ended_at is None:
            self.ended_at = datetime.now(timezone.utc)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for r in self.final_results():
                counts[r["result"]["type"]] += 1
        else:
            counts["processing"] = len(self.results)
        status = "ended" if ended else ("canceling" if self.canceled_at else "in_progress")
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.created_at + timedelta(hours=24)),
            "ended_at": _iso(self.ended_at) if ended and self.ended_at else None,
            "cancel_initiated_at": _iso(self.canceled_at) if self.canceled_at else None,
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }

    def results_jsonl(self) -> bytes:
        """The results file: one JSON object per line. 400 while the batch is still processing."""
        if not self.ended():
            raise invalid(f"Batch {self.id} is still processing; results are available once it has ended.")
        return ("\n".join(json.dumps(r) for r in self.final_results()) + "\n").encode()


def results_of(data: dict[str, Any], answer: Callable[[dict[str, Any]], dict[str, Any]],
               request_id: str) -> list[dict[str, Any]]:
    """Each request of a batch-create body answered: `answer(params)` returns the Message or raises the API's
    error, which becomes that request's `errored` result. A malformed list or custom_id fails the whole call."""
    requests = data.get("requests")
    if not isinstance(requests, list) or not requests:
        raise invalid("requests: must be a non-empty list of {custom_id, params}")
    if len(requests) > MAX_REQUESTS:
        raise invalid("requests: a batch holds at most 100,000 requests")
    seen: set[str] = set()
    results = []
    for i, r in enumerate(requests):
        cid = r.get("custom_id") if isinstance(r, dict) else None
        if not isinstance(cid, str) or not _CUSTOM_ID.fullmatch(cid):
            raise invalid(f"requests.{i}.custom_id: 1-64 letters, digits, '_' or '-'")
        if cid in seen:
            raise invalid(f"requests.{i}.custom_id: {cid!r} is used twice; custom_ids must be unique")
        seen.add(cid)
        params = r.get("params")
        try:
            if not isinstance(params, dict):
                raise invalid(f"requests.{i}.params: must be an object of message parameters")
            if params.get("stream"):
                raise invalid("stream: batched requests cannot stream")
            message = answer(params)
            message["usage"]["service_tier"] = "batch"  # billed at the batch discount (agentkit.pricing)
            results.append({"custom_id": cid, "result": {"type": "succeeded", "message": message}})
        except APIError as err:
            results.append({"custom_id": cid, "result": {"type": "errored", "error": json.loads(
                err.body(request_id))}})
    return results


class BatchStore:
    """The batches one `Simulator` holds, at most `kept` of them; thread-safe."""

    def __init__(self, kept: int, cancel_seconds: float) -> None:
        self.kept = kept
        self.cancel_seconds = cancel_seconds  # simulated seconds a canceled batch spends `canceling`
        self._batches: dict[str, Batch] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._batches)

    def __contains__(self, batch_id: object) -> bool:
        return batch_id in self._batches

    def add(self, batch_id: str, results: list[dict[str, Any]], seconds: float) -> Batch:
        """A new batch that is `in_progress` for `seconds` real seconds; the oldest ended batch goes past `kept`."""
        started = time.monotonic()
        batch = Batch(id=batch_id, created_at=datetime.now(timezone.utc), started=started,
                      ends_at=started + seconds, results=results)
        with self._lock:
            self._batches[batch.id] = batch
            if len(self._batches) > self.kept:  # the oldest ended batch goes (as if its results expired)
                old = next((k for k, b in self._batches.items() if b.ended()), None)
                if old is not None:
                    del self._batches[old]
        return batch

    def get(self, batch_id: str) -> Batch:
        """The batch, or the API's 404."""
        batch = self._batches.get(batch_id)
        if batch is None:
            raise APIError(f"message_batch_id: no batch with id {batch_id!r}", "not_found_error")
        return batch

    def newest_first(self) -> list[Batch]:
        with self._lock:
            return list(reversed(self._batches.values()))

    def cancel(self, batch: Batch, scale: float) -> None:
        """Start canceling (a no-op once ended or already canceled)."""
        with self._lock:
            if not batch.ended() and batch.canceled_at is None:
                # The API answers `canceling` at once and ends the batch once in-flight work stops:
                # what was already processed keeps its result, the rest is `canceled`.
                now = time.monotonic()
                span = max(batch.ends_at - batch.started, 1e-9)
                batch.done_at_cancel = int(len(batch.results) * min(1.0, (now - batch.started) / span))
                batch.canceled_at = datetime.now(timezone.utc)
                batch.cancel_ends_at = now + self.cancel_seconds * scale

    def delete(self, batch: Batch) -> None:
        """Forget an ended batch; 400 while it is still processing."""
        if not batch.ended():
            raise invalid("A batch must end (or be canceled) before it can be deleted.")
        with self._lock:
            del self._batches[batch.id]

    def finish_all(self) -> None:
        """End every batch's processing (and canceling) now."""
        with self._lock:
            now = time.monotonic()
            for b in self._batches.values():
                b.ends_at = min(b.ends_at, now)
                if b.cancel_ends_at is not None:
                    b.cancel_ends_at = min(b.cancel_ends_at, now)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
