"""Lesson 4's checked exercises (agentkit/exercises/m1_l4.py), each tested three ways: the reference passes, the
notebook's stub is "not attempted", and plausible wrong attempts fail with the message meant for them. Every check
runs the learner's code on simulated runs of the support desk."""

from __future__ import annotations

import textwrap
import time

import pytest

from agentkit import exercises
from agentkit.course.lab import TODO
from agentkit.middleware import CircuitBreaker, ModelFallback
from agentkit.models import DEFAULT_MODEL, FAST_MODEL

TASKS = ["order_cache_key", "three_tiers", "outage_middleware", "in_flight"]


@pytest.fixture
def lab(progress_db):
    return exercises.load("m1_l4")


def reference(lab, task):
    namespace = {"CircuitBreaker": CircuitBreaker, "FAST_MODEL": FAST_MODEL}
    exec(textwrap.dedent(lab.solutions[task]), namespace)  # noqa: S102 - the kit's own reference code
    return namespace[lab.answers[task]]


def _stub(*args):
    answer = ...  # the notebook's stub
    return answer


@pytest.mark.parametrize("task", TASKS)
def test_reference_passes_and_stub_is_not_attempted(lab, task):
    assert lab.check(task, reference(lab, task)).passed, lab.check(task, reference(lab, task)).message
    assert lab.check(task, _stub).status == "not_attempted"
    assert lab.check(task, TODO).status == "not_attempted"


@pytest.mark.parametrize("key, says", [
    (lambda order_id, store: order_id, "served an entry made before the write"),
    (lambda order_id, store: store.version, "two orders share one cache entry"),
    (lambda order_id, store: (order_id, time.perf_counter()), "the cache never hit"),
    (lambda order_id, store: [order_id, store.version], "cannot be a dict key"),
    (lambda order_id, store: store.missing, "raised AttributeError"),
])
def test_wrong_cache_keys_are_explained(lab, key, says):
    result = lab.check("order_cache_key", key)
    assert result.status == "wrong" and says in result.message, result.message


def test_routing_rules_are_judged_on_the_task_set(lab):
    two_tiers = lambda p: "hard" if any(w in p.lower() for w in ("refund", "return")) else "easy"  # noqa: E731
    missed = lab.check("three_tiers", two_tiers)
    assert missed.status == "wrong" and "refund_20" in missed.message and "largest model" in missed.message
    everything = lab.check("three_tiers", lambda p: "critical")
    assert everything.status == "wrong" and "24 of 24 messages go to the largest model" in everything.message
    refunds_up = lambda p: "critical" if any(w in p.lower() for w in ("refund", "return")) else "easy"  # noqa: E731
    assert lab.check("three_tiers", refunds_up).status == "wrong"
    label = lab.check("three_tiers", lambda p: "medium")
    assert label.status == "wrong" and "return one of" in label.message


def test_three_tiers_pass_message_is_computed(lab):
    from agentkit.cases.support_desk import SupportConfig, evaluate_config
    from agentkit.exercises.m1_l4 import TIERS, _two_tier_rule, reference_three_tiers
    from agentkit.routing import Router

    result = lab.check("three_tiers", reference(lab, "three_tiers"))
    three = evaluate_config(SupportConfig(router=Router(TIERS, reference_three_tiers), cache_prompt=True))
    two = evaluate_config(SupportConfig(router=Router({"easy": FAST_MODEL, "hard": DEFAULT_MODEL}, _two_tier_rule),
                                        cache_prompt=True))
    assert (f"{100 * (three.quality - two.quality):+.1f} points of quality for "
            f"{three.cost_per_1000 / two.cost_per_1000 - 1:+.0%} cost") in result.message


@pytest.mark.parametrize("make, says", [
    (lambda ledger: [CircuitBreaker(5, 30, clock=ledger.clock)], "0% of calls get an answer"),
    (lambda ledger: [], "something has to send the request to a model that is up"),
    (lambda ledger: [ModelFallback(DEFAULT_MODEL)], "at least 95% must"),
    (lambda ledger: ModelFallback(FAST_MODEL), "return a list"),
    (lambda ledger: 1 / 0, "ZeroDivisionError"),
])
def test_wrong_outage_middleware_is_explained(lab, make, says):
    result = lab.check("outage_middleware", make)
    assert result.status == "wrong" and says in result.message, result.message


def test_middleware_that_avoids_the_default_model_is_refused(lab):
    import anthropic

    from agentkit.middleware import _with_model

    class AlwaysFast(anthropic.Middleware):
        """The cheat: every request goes to the fast model, so an outage of the default model never touches it."""

        def handle(self, request, call_next):
            return call_next(_with_model(request, FAST_MODEL))

    result = lab.check("outage_middleware", lambda ledger: [AlwaysFast()])
    assert result.status == "wrong"
    assert "avoids the default model instead of falling back" in result.message


def test_hints_stop_short_of_the_solution(lab):
    for task in lab.tasks:
        lines = [line.strip() for line in lab.solutions[task.id].splitlines() if len(line.strip()) > 15]
        for hint in task.hints:
            assert not any(line in hint for line in lines), (task.id, hint)


@pytest.mark.parametrize("fn, says", [
    (lambda timings, span: sum(t.end - t.start for t in timings) / span, "from its arrival"),  # service time only
    (lambda timings, span: len(timings) / span, "your answer is off"),  # arrival rate, not runs in flight
    (lambda timings, span: str(sum(t.end - t.arrival for t in timings) / span), "return a number"),
    (lambda timings, span: timings[0].missing, "raised AttributeError"),
])
def test_wrong_in_flight_is_explained(lab, fn, says):
    result = lab.check("in_flight", fn)
    assert result.status == "wrong" and says in result.message, result.message
