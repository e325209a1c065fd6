"""The checked exercises of Module 1 Lesson 4, Optimization Decisions (both notebooks: l4a and l4b).

Each check runs the learner's code on real simulated runs of the support desk (`agentkit.cases.support_desk`),
never on a stored answer:

- `order_cache_key` (l4a): the key of a tool-result cache. The check runs the agent on order-status questions
  through a lookup tool cached under the learner's key, ships an order between two runs, and asks about another
  order: the key must miss after a write (no stale status), hit when nothing changed, and never mix two orders.
- `three_tiers` (l4a): a routing rule with a third tier for the largest model. The check routes the whole labelled
  task set with it, grades every answer, and compares it with the reference rule run the same way: every task
  right, no dearer than the reference (within 10%).
- `outage_middleware` (l4b): client middleware that keeps answering while the default model is down. The check
  drills it under the simulator's outage and on a healthy API: at least 95% answered during the outage, and the
  default model still answering when it is up (so a client that simply avoids the default model is refused).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from agentkit.course.lab import FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises
from agentkit.models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL

# -- l4a: a cache key with a data version ---------------------------------------------------------


@dataclass
class _CacheStats:
    hits: int = 0
    misses: int = 0


def _keyed_lookup_tools(key: Callable[[str, Any], Hashable]) -> tuple[Any, _CacheStats, list[str]]:
    """The support desk's tools, with the order lookup cached under `key(order_id, store)`: a plain dict cache,
    as a learner would put in front of a database call. Returns (tools, hit/miss counts, errors from `key`)."""
    from agentkit.cases import support_desk as sd
    from agentkit.tools import tool

    tools = sd.support_tools()
    original = tools.lookup_order.fn
    cache: dict[Any, str] = {}
    stats = _CacheStats()
    errors: list[str] = []

    @functools.wraps(original)
    def lookup_order(order_id: str) -> str:
        k, error = call_learner_code(key, order_id, tools.store)
        if error is not None:
            errors.append(f"order_cache_key({order_id!r}, store) raised {error}")
            return original(order_id)
        try:
            hash(k)
        except TypeError:
            errors.append(f"order_cache_key({order_id!r}, store) returned {k!r}, which cannot be a dict key "
                          "(use a tuple, not a list or dict)")
            return original(order_id)
        if k in cache:
            stats.hits += 1
            return cache[k]
        stats.misses += 1
        cache[k] = original(order_id)
        return cache[k]

    tools.lookup_order = tool(lookup_order)
    return tools, stats, errors


def _status_task(task_id: str) -> Any:
    from agentkit.cases import support_desk as sd

    return next(t for t in sd.TASKS if t.id == task_id)


def check_order_cache_key(answer: Any) -> Verdict:
    from agentkit.cases import support_desk as sd
    from agentkit.exercises._transcript import offline_client

    key = as_function(answer, "order_cache_key")
    tools, stats, errors = _keyed_lookup_tools(key)
    agent = sd.build_support_agent(offline_client(sd.scenarios()), FAST_MODEL, tools=tools)
    asked = _status_task("status_2")  # A1002, processing until it ships below
    order, other_order = "A1002", "A1003"  # A1003 is delivered: its entry differs from A1002's, shipped or not
    truth = sd.support_tools(tools.store).lookup_order.fn  # the same database, never cached

    def status_in(text: str, order_id: str) -> bool:
        return truth(order_id) in text

    first = agent.run(asked.prompt).text
    again = agent.run(asked.prompt).text
    if errors:
        return wrong(errors[0] + ".")
    if stats.hits == 0:
        return wrong(f"Asked twice about {order} with nothing changed in between, the cache never hit: the key came "
                     "out different each time, so the cache saves nothing. Keep only what the answer depends on.")
    if not (status_in(first, order) and status_in(again, order)):
        return wrong(f"With nothing changed, the answer about {order} should show its status from the database.")
    tools.store.set_status(order, "shipped")  # the warehouse ships it: a write to the store
    after = agent.run(asked.prompt).text
    if errors:
        return wrong(errors[0] + ".")
    if not status_in(after, order):
        return wrong(f"After {order} shipped, the agent still said {after.split('status: ')[-1].rstrip('.')!r}: the "
                     "cache served an entry made before the write. The key must change when the data changes; the "
                     "store counts its writes.")
    mixed = agent.run(_status_task("status_6").prompt).text
    if errors:
        return wrong(errors[0] + ".")
    if not status_in(mixed, other_order):
        return wrong(f"Asked about {other_order} next, the agent answered with another order's entry: the key leaves "
                     "out which order was looked up, so two orders share one cache entry.")
    return passed(f"No stale status, no mixed-up orders, and {stats.hits} of {stats.hits + stats.misses} lookups "
                  "served from the cache. A version in the key makes every write a miss without anyone having to "
                  "clear the cache; ResponseCache(version=...) does the same for whole model calls.")


# -- l4a: a routing rule with a third tier ----------------------------------------------------------

TIERS = {"easy": FAST_MODEL, "hard": DEFAULT_MODEL, "critical": LARGEST_MODEL}
REFUND_WORDS = ("refund", "refunded", "return", "returning", "send back")
DAMAGE_WORDS = ("scratched", "damaged", "broken")


def reference_three_tiers(prompt: str) -> str:
    """The reference rule: damage to the largest model, other refunds to the default one, the rest to the fast."""
    text = prompt.lower()
    if any(word in text for word in DAMAGE_WORDS):
        return "critical"
    if any(word in text for word in REFUND_WORDS):
        return "hard"
    return "easy"


@functools.lru_cache(maxsize=4)
def _routed(rule: Callable[[str], str]) -> Any:
    from agentkit.cases.support_desk import SupportConfig, evaluate_config
    from agentkit.routing import Router

    tiers = TIERS if rule is reference_three_tiers else {k: TIERS[k] for k in ("easy", "hard")}
    return evaluate_config(SupportConfig(router=Router(tiers, rule), cache_prompt=True), live=False)


def check_three_tiers(answer: Any) -> Verdict:
    from agentkit.cases import support_desk as sd
    from agentkit.cases.support_desk import SupportConfig, evaluate_config
    from agentkit.routing import Router

    rule = as_function(answer, "three_tiers")
    labels = {}
    for task in sd.TASKS:
        label, error = call_learner_code(rule, task.prompt)
        if error is not None:
            return wrong(f"three_tiers({task.prompt!r}) raised {error}.")
        if label not in TIERS:
            return wrong(f"three_tiers({task.prompt!r}) returned {label!r}; return one of "
                         f"{', '.join(map(repr, TIERS))}.")
        labels[task.id] = label
    frozen = dict(labels)  # judge what the rule said once, so a rule that changes its mind cannot move the verdict
    by_prompt = {t.prompt: frozen[t.id] for t in sd.TASKS}
    card = evaluate_config(SupportConfig(router=Router(TIERS, by_prompt.__getitem__), cache_prompt=True,
                                         name="your three tiers"), live=False)
    reference = _routed(reference_three_tiers)
    if card.quality < 1.0:
        missed = card.failed()
        damaged = [t for t in missed if labels[t] != "critical"]
        why = (" The model it went to gets that kind of question wrong; the largest model is the only one that "
               "gets it right." if damaged else "")
        return wrong(f"{len(missed)} task(s) answered wrong: {', '.join(missed)}.{why}")
    critical = sum(label == "critical" for label in labels.values())
    if card.cost_per_1000 > 1.1 * reference.cost_per_1000:
        return wrong(f"Every task right, but at ${card.cost_per_1000:.2f} per 1,000 conversations, "
                     f"{card.cost_per_1000 / reference.cost_per_1000 - 1:.0%} more than it needs: {critical} of "
                     f"{len(labels)} messages go to the largest model. Send it only the messages the default model "
                     "gets wrong.")
    two = _routed(_two_tier_rule)
    return passed(f"Every task right at ${card.cost_per_1000:.2f} per 1,000 conversations, {critical} message(s) on "
                  f"the largest model. Against the two-tier router: {100 * (card.quality - two.quality):+.1f} points "
                  f"of quality for {card.cost_per_1000 / two.cost_per_1000 - 1:+.0%} cost. Worth it where a wrong "
                  "answer is expensive, such as a refund for a damaged item.")


def _two_tier_rule(prompt: str) -> str:
    """The lesson's two-tier router: refunds to the default model, the rest to the fast one."""
    return "hard" if any(word in prompt.lower() for word in REFUND_WORDS) else "easy"


# -- l4b: middleware that keeps answering through an outage ---------------------------------------


def check_outage_middleware(answer: Any) -> Verdict:
    from agentkit.resilience import drill
    from agentkit.sim.faults import Faults

    make = as_function(answer, "outage_middleware")
    made: list[Any] = []

    def middleware(ledger: Any) -> list[Any]:
        value, error = call_learner_code(make, ledger)
        if error is not None:
            raise _LearnerFailed(f"outage_middleware(ledger) raised {error}")
        if not isinstance(value, (list, tuple)):
            raise _LearnerFailed(f"outage_middleware(ledger) returned {value!r}; return a list of middleware objects")
        made.append(value)
        return list(value)

    down = Faults(overloaded=1.0, models=(DEFAULT_MODEL,))
    try:
        outage = drill(down, middleware=middleware, calls=100)
        healthy = drill(Faults(), middleware=middleware, calls=50)
    except _LearnerFailed as err:
        return wrong(f"{err}.")
    if outage.success_rate < 0.95:
        served = ", ".join(f"{m}: {n}" for m, n in outage.served_by.items()) or "nobody"
        return wrong(f"While {DEFAULT_MODEL} is down, {outage.success_rate:.0%} of calls get an answer (at least 95% "
                     f"must; answered by {served}). Retries and a breaker alone only fail, slower or faster: "
                     "something has to send the request to a model that is up.")
    on_default = healthy.served_by.get(DEFAULT_MODEL, 0) / healthy.calls
    if on_default < 0.95:
        return wrong(f"With every model up, only {on_default:.0%} of calls are answered by {DEFAULT_MODEL}, the model "
                     "they ask for: this avoids the default model instead of falling back from it. A fallback acts "
                     "only when the model is failing.")
    return passed(f"During the outage {outage.success_rate:.0%} of calls answered (served by "
                  f"{', '.join(f'{m}: {n}' for m, n in outage.served_by.items())}; p99 {outage.p99:.2f} s over "
                  f"{outage.attempts} attempts); with every model up, {on_default:.0%} answered by {DEFAULT_MODEL}.")


class _LearnerFailed(Exception):
    """The learner's middleware factory failed inside a drill: reported as a wrong answer, never a traceback."""


def _fleets(seed: int) -> list[Any]:
    """Real fleet simulations the check judges on: light and heavy traffic, with and without a concurrency cap."""
    import random

    from agentkit.fleet import CallProfile, RateLimits, RunProfile, simulate

    rng = random.Random(seed)
    profiles = [RunProfile(tuple(CallProfile(rng.randint(800, 4_000), rng.randint(50, 400), rng.uniform(0.5, 3.0),
                                             rng.uniform(0.001, 0.01)) for _ in range(rng.randint(1, 4))),
                           tool_seconds=rng.uniform(0.0, 2.0)) for _ in range(6)]
    return [simulate(profiles, arrivals_per_minute=rate, runs=400, concurrency=cap, seed=seed + k,
                     limits=RateLimits(rpm=600, itpm=None, otpm=None) if cap else None)
            for k, (rate, cap) in enumerate(((60, None), (600, 8), (1_500, 20)))]


def check_in_flight(answer: Any) -> Verdict:
    """The learner's mean number of runs in the system, from per-run timings, against the fleet's own integral."""
    import random

    fn = as_function(answer, "your in_flight")
    seed = random.randrange(10_000)
    for report in _fleets(seed):
        got, error = call_learner_code(fn, list(report.timings), report.span_seconds)
        if error:
            return wrong(f"in_flight raised {error} on a fleet of {report.runs} runs (seed {seed}).")
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return wrong(f"in_flight returned {type(got).__name__}; return a number of runs (a float).")
        if abs(got - report.mean_in_system) > 1e-6 * max(1.0, report.mean_in_system):
            hint = ""
            if report.concurrency and abs(got - sum(t.end - t.start for t in report.timings) / report.span_seconds) < 1e-6:
                hint = " That counts only the time runs spent in service: a run is in the system from its arrival."
            return wrong(f"On a fleet of {report.runs} runs at {report.arrivals_per_minute:,.0f} a minute "
                         f"(concurrency {report.concurrency or 'unlimited'}, seed {seed}) your answer is off.{hint}")
    return passed("Right on three fleets, queueing ones included: the average number of runs in flight is the "
                  "time they spent in the system over the span, which is arrival rate times mean time in the "
                  "system (Little's law).")


EXERCISES = Exercises(
    id="m1_l4",
    title="Lesson 4: your turn",
    lesson="M1 L4 Optimization Decisions",
    lesson_notebook="notebooks/m1_l4a_caching_routing_batching.ipynb",
    tasks=[
        FunctionTask(
            id="order_cache_key",
            title="A cache key that cannot serve a stale order",
            checker=check_order_cache_key,
            expects="a function order_cache_key(order_id, store) returning a hashable key (a string or a tuple)",
            hints=("A cached entry is right only while everything the answer depends on is in its key. What does a "
                   "status answer depend on, besides which order it is?",
                   "The order store counts its writes; a key that includes that count changes whenever any order "
                   "changes, so an old entry can never be found again.",
                   "Build a tuple from the order number and the store's write counter (an attribute of store)."),
            probes=(("A1001", None),),
        ),
        FunctionTask(
            id="three_tiers",
            title="A router with a third tier for the largest model",
            checker=check_three_tiers,
            expects='a function three_tiers(prompt) returning "easy", "hard" or "critical"',
            hints=("Which task did only the largest model get right? Read its message: what words mark that kind "
                   "of question?",
                   "Test for those words first and send them to the critical tier; then the refund words to the hard "
                   "tier; the rest is easy.",
                   "Lower-case the prompt once and test `any(word in text for word in (...))` for each tier, in "
                   "that order."),
            probes=(("Where is my order A1001?",),),
        ),
        FunctionTask(
            id="outage_middleware",
            title="Client middleware that keeps answering while the default model is down",
            checker=check_outage_middleware,
            expects="a function outage_middleware(ledger) returning a list of middleware objects",
            hints=("Retries and a breaker decide how you fail; neither makes a call succeed while the model is "
                   "down. What could?",
                   "agentkit.middleware has a class that moves a request whose model is overloaded to another "
                   "model; a CircuitBreaker can reroute too, and needs ledger.clock for its cool-down.",
                   "Return a list holding one of them, configured with the fast model as the model to move to."),
            probes=((None,),),
        ),
        FunctionTask(
            id="in_flight",
            title="Runs in flight, from each run's arrival and end",
            checker=check_in_flight,
            expects="a function in_flight(timings, span_seconds) returning the mean number of runs in the system",
            hints=("Picture the number of runs in the system over time: it steps up at an arrival and down at an "
                   "end. Its average over the span is an area divided by a width.",
                   "The area under that step curve is the sum, over runs, of how long each one was in the system. "
                   "Which two of a RunTiming's fields bound that stay?",
                   "Sum one difference per run, then divide by span_seconds; do not start a run's stay at `start`."),
            probes=(([], 1.0),),
        ),
    ],
    notes="",
    solutions={
        "order_cache_key": """
            def order_cache_key(order_id, store):
                return (order_id.strip().upper(), store.version)
        """,
        "three_tiers": """
            def three_tiers(prompt):
                text = prompt.lower()
                if any(word in text for word in ("scratched", "damaged", "broken")):
                    return "critical"
                if any(word in text for word in ("refund", "refunded", "return", "returning", "send back")):
                    return "hard"
                return "easy"
        """,
        "outage_middleware": """
            def outage_middleware(ledger):
                return [CircuitBreaker(5, 30, fallback_model=FAST_MODEL, clock=ledger.clock)]
        """,
        "in_flight": """
            def in_flight(timings, span_seconds):
                "The time-average number of runs in the system: their total time in it over the span."
                total = sum(t.end - t.arrival for t in timings)
                return total / span_seconds
        """,
    },
    answers={"order_cache_key": "order_cache_key", "three_tiers": "three_tiers",
             "outage_middleware": "outage_middleware", "in_flight": "in_flight"},
)
