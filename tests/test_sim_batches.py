"""Tests for agentkit.sim.batches on their own: results, the batch's life, the bounded store (the SDK path is in
test_sim_validate.py and test_sim_models.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from agentkit.sim.batches import Batch, BatchStore, results_of
from agentkit.sim.errors import APIError, invalid


def answer(params: dict[str, Any]) -> dict[str, Any]:
    """A stand-in for the simulator: echoes the prompt, refuses a params with `bad`."""
    if params.get("bad"):
        raise invalid("messages: Field required")
    return {"id": "msg", "content": [{"type": "text", "text": params["q"]}], "usage": {"input_tokens": 1}}


def requests(*qs: str) -> dict[str, Any]:
    return {"requests": [{"custom_id": f"r{i}", "params": {"q": q}} for i, q in enumerate(qs)]}


def test_each_request_gets_a_result_succeeded_or_errored():
    data = requests("a", "b")
    data["requests"].append({"custom_id": "bad", "params": {"bad": True}})
    data["requests"].append({"custom_id": "streamed", "params": {"q": "c", "stream": True}})
    data["requests"].append({"custom_id": "nope", "params": "not an object"})
    results = results_of(data, answer, "req_1")
    assert [r["result"]["type"] for r in results] == ["succeeded", "succeeded", "errored", "errored", "errored"]
    assert results[0]["result"]["message"]["usage"]["service_tier"] == "batch"
    err = results[2]["result"]["error"]
    assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error" and err["request_id"] == "req_1"
    assert "cannot stream" in results[3]["result"]["error"]["error"]["message"]
    assert "params: must be an object" in results[4]["result"]["error"]["error"]["message"]


@pytest.mark.parametrize("data, message", [
    ({}, "non-empty list"),
    ({"requests": []}, "non-empty list"),
    ({"requests": [{"custom_id": "has space", "params": {}}]}, "requests.0.custom_id: 1-64"),
    ({"requests": [{"custom_id": "x" * 65, "params": {}}]}, "requests.0.custom_id: 1-64"),
    ({"requests": [{"custom_id": "a", "params": {"q": "1"}}, {"custom_id": "a", "params": {"q": "2"}}]},
     "requests.1.custom_id: 'a' is used twice"),
])
def test_a_malformed_batch_fails_as_a_whole(data, message):
    with pytest.raises(APIError, match=message):
        results_of(data, answer, "req_1")


def test_in_progress_then_ended_with_counts_and_jsonl():
    store = BatchStore(kept=5, cancel_seconds=1.0)
    results = results_of({"requests": [{"custom_id": "a", "params": {"q": "x"}},
                                       {"custom_id": "b", "params": {"bad": True}}]}, answer, "req")
    batch = store.add("msgbatch_1", results, seconds=3600)
    view = batch.as_json("http://sim")
    assert view["processing_status"] == "in_progress" and view["request_counts"]["processing"] == 2
    assert view["results_url"] is None and view["ended_at"] is None
    with pytest.raises(APIError, match="still processing"):
        batch.results_jsonl()
    with pytest.raises(APIError, match="must end"):
        store.delete(batch)
    store.finish_all()
    view = batch.as_json("http://sim")
    assert view["processing_status"] == "ended" and view["ended_at"].endswith("Z")
    assert view["request_counts"] == {"processing": 0, "succeeded": 1, "errored": 1, "canceled": 0, "expired": 0}
    assert view["results_url"] == "http://sim/v1/messages/batches/msgbatch_1/results"
    lines = batch.results_jsonl().decode().splitlines()
    assert [json.loads(line)["custom_id"] for line in lines] == ["a", "b"]
    store.delete(batch)
    assert "msgbatch_1" not in store and len(store) == 0
    with pytest.raises(APIError) as info:
        store.get("msgbatch_1")
    assert info.value.status == 404


def test_cancel_goes_canceling_then_ended_keeping_what_was_processed():
    store = BatchStore(kept=5, cancel_seconds=3600)
    results = [{"custom_id": f"r{i}", "result": {"type": "succeeded", "message": {}}} for i in range(10)]
    batch = store.add("b", results, seconds=3600)
    batch.started, batch.ends_at = batch.started - 1800, batch.ends_at - 1800  # halfway when the cancel comes
    store.cancel(batch, scale=1.0)
    assert batch.done_at_cancel == 5 and batch.as_json("")["processing_status"] == "canceling"
    store.cancel(batch, scale=1.0)  # a second cancel changes nothing
    assert batch.done_at_cancel == 5
    store.finish_all()
    assert [r["result"]["type"] for r in batch.final_results()] == ["succeeded"] * 5 + ["canceled"] * 5
    assert batch.as_json("")["request_counts"]["canceled"] == 5


def test_the_store_drops_the_oldest_ended_batch_only():
    store = BatchStore(kept=2, cancel_seconds=0)
    running = store.add("running", [], seconds=3600)
    store.add("ended1", [], seconds=0)
    store.add("ended2", [], seconds=0)  # over the bound: the oldest *ended* batch goes, not the running one
    assert "running" in store and "ended1" not in store and "ended2" in store
    assert [b.id for b in store.newest_first()] == ["ended2", "running"]
    assert store.get("running") is running


def test_a_batch_ends_at_its_mark():
    now = time.monotonic()
    batch = Batch(id="b", created_at=None, started=now, ends_at=now + 3600, results=[])  # type: ignore[arg-type]
    assert not batch.ended()
    batch.cancel_ends_at = now - 1
    assert batch.ended()  # canceling is over before processing would have been
