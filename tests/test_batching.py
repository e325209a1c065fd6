"""Tests for agentkit.batching.run_batch: polling with exponential backoff, and a progress bar when the wait is real."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentkit import batching


class FakeBatches:
    """A Message Batches endpoint whose batch ends after `polls` retrievals, a quarter of the requests at a time."""

    def __init__(self, total: int, polls: int) -> None:
        self.total, self.polls, self.seen = total, polls, 0

    def _batch(self) -> SimpleNamespace:
        done = min(self.total, self.total * self.seen // self.polls)
        counts = SimpleNamespace(succeeded=done, errored=0, canceled=0, expired=0, processing=self.total - done)
        return SimpleNamespace(id="b1", processing_status="ended" if self.seen >= self.polls else "in_progress",
                               request_counts=counts)

    def create(self, requests):
        return self._batch()

    def retrieve(self, batch_id):
        self.seen += 1
        return self._batch()

    def results(self, batch_id):
        return []


def test_polls_back_off_exponentially_up_to_the_cap_and_show_progress(monkeypatch):
    slept, bars = [], []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True

    monkeypatch.setattr(batching.time, "sleep", slept.append)  # a client not made by agentkit counts as live
    monkeypatch.setattr(batching, "_progress_bar", lambda total: Bar(total))
    client = SimpleNamespace(messages=SimpleNamespace(batches=FakeBatches(total=8, polls=7)))
    outcome = batching.run_batch(client, [{"custom_id": str(i), "params": {}} for i in range(8)],
                                 poll_seconds=5, max_poll_seconds=60)
    assert slept == [5, 10, 20, 40, 60, 60, 60]
    assert outcome.polls == 7 and outcome.waited_seconds == sum(slept)
    assert bars and bars[0].total == 8 and bars[0].n == 8 and bars[0].closed


def test_no_progress_bar_against_the_simulator():
    import agentkit
    from agentkit.cases import support_desk

    client = agentkit.client(scenarios=support_desk.scenarios(), quiet=True)
    requests = [{"custom_id": t.id, "params": support_desk.tagging_request(t)} for t in support_desk.TASKS[:3]]
    outcome = batching.run_batch(client, requests, poll_seconds=10)
    assert len(outcome.messages) == 3 and outcome.waited_seconds >= 10


def test_bad_poll_settings_say_what_to_fix():
    with pytest.raises(ValueError, match="poll_seconds"):
        batching.run_batch(SimpleNamespace(), [{"custom_id": "a", "params": {}}], poll_seconds=0)
