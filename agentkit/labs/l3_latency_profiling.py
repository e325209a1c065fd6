"""Lab 3, Latency Profiling: profile a slow agent, find its real bottleneck, fix it, prove it over many runs.

The agent: a bookshop's support agent with three quick tools (`lookup_order`,
`delivery_options`, `returns_policy`). Company policy says every message must
pass a data-loss-prevention (DLP) scan before it goes to the model, so a
callback sends messages to an external DLP service before each model call.
The way it was written, it scans the *whole conversation* again before every
call, one message at a time: 1 + 3 + 5 + 7 = 16 scans of 0.7 s in a
four-call run, where 7 would do. That is the hidden bottleneck, and it is not
the lesson's (slow tools): here the tools are quick and the time goes to
framework overhead, which the trace records as the agent's `agentkit.hooks`
events.

The checks measure, they do not compare with stored numbers:

- `bottleneck`: the check profiles the slow agent itself and compares the
  learner's named component with the component whose median is largest.
- `fix`: the check runs the learner's fixed agent `FIX_RUNS` times next to
  the slow one, and requires p50 and p95 to improve by `MIN_IMPROVEMENT`,
  the answers to stay the same, and every message to be scanned before it is
  sent. A faster model, or dropping the scan, is told why it does not count.
- `distribution`: a `latency.compare` table of at least `MIN_RUNS` runs of
  each, checked against the lab's own measurement.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from agentkit import latency, sim
from agentkit.agent import Agent
from agentkit.clients import client as make_client
from agentkit.clients import is_live
from agentkit.course.lab import (
    AnswerError,
    FunctionTask,
    Lab,
    Task,
    Verdict,
    as_function,
    as_name,
    call_learner_code,
    load_lab_text,
    passed,
    wrong,
)
from agentkit.latency import COMPONENTS
from agentkit.models import DEFAULT_MODEL
from agentkit.tools import tool

QUESTION = "My order arrived with a torn cover. Can you help? Order B-2291, postcode EH1 2NG."
SYSTEM = "You are the support agent of an online bookshop. Use the tools to check orders and policies. Be brief."

SCAN_SECONDS = 0.7  # one message through the external DLP service
TOOL_SECONDS = {"lookup_order": 0.35, "delivery_options": 0.30, "returns_policy": 0.25}
JITTER = 0.08
#: Runs the `fix` check makes of each agent, and what it asks of the fix at p50 and p95.
FIX_RUNS = 10
MIN_IMPROVEMENT = 0.25
#: Fewest runs per side the `distribution` task accepts.
MIN_RUNS = 30

ALIASES: dict[str, str] = {
    "framework": "framework_overhead", "hooks": "framework_overhead", "callbacks": "framework_overhead",
    "callback": "framework_overhead", "hook": "framework_overhead", "overhead": "framework_overhead",
    "tools": "tool_execution", "tool": "tool_execution",
    "ttft": "time_to_first_token", "first_token": "time_to_first_token",
    "tpot": "generation", "output": "generation", "decode": "generation",
    "serialization": "request_serialization", "serialisation": "request_serialization",
    "request_serialisation": "request_serialization",
    "context": "context_injection", "coordination": "inter_step_coordination", "handoff": "inter_step_coordination",
    "model": "inference", "llm": "inference", "inference_s": "inference",
}


def message_key(message: Any) -> str:
    """A stable fingerprint of one conversation message (dicts, or the SDK's content blocks), for the DLP log."""
    def plain(value: Any) -> Any:
        if hasattr(value, "model_dump"):
            return value.model_dump(mode="json", exclude_none=True)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return hashlib.sha256(json.dumps(plain(message), sort_keys=True, default=str).encode()).hexdigest()[:16]


class DLPService:
    """The external data-loss-prevention API (simulated): `scan(message)` takes about 0.7 s per message.

    `calls` is how many calls it served and `scanned` (read-only) the fingerprints of what it scanned. A lab check
    passes its own `observer`, called with each scanned message's fingerprint, so the verdict rests on the scans
    the check saw happen, not on a set the agent's code could write. `ascan` is the non-blocking twin.
    """

    def __init__(self, *, seed: int = 0, live: bool = False, observer: Callable[[str], None] | None = None) -> None:
        self.seed, self.live = seed, live
        self._scanned: set[str] = set()
        self._observer = observer
        self.calls = 0
        self._lock = threading.Lock()

    @property
    def scanned(self) -> frozenset[str]:
        """The fingerprints (`message_key`) of the messages scanned so far: a read-only copy."""
        with self._lock:
            return frozenset(self._scanned)

    def _seconds(self) -> float:
        with self._lock:
            n = self.calls
            self.calls += 1
        return SCAN_SECONDS * math.exp(random.Random(f"{self.seed}:dlp:{n}").gauss(0.0, JITTER))

    def _record(self, message: Any) -> bool:
        key = message_key(message)
        with self._lock:
            self._scanned.add(key)
        if self._observer is not None:
            self._observer(key)
        return True  # nothing in this shop's messages is blocked

    def scan(self, message: Any) -> bool:
        """Scan one message; True if it may be sent."""
        seconds = self._seconds()
        time.sleep(seconds) if self.live else sim.sleep(seconds)
        return self._record(message)

    async def ascan(self, message: Any) -> bool:
        seconds = self._seconds()
        await (asyncio.sleep(seconds) if self.live else sim.asleep(seconds))
        return self._record(message)


def bookshop_tools(*, seed: int = 0, live: bool = False) -> list[Any]:
    """The agent's three tools: quick internal lookups."""
    sleep = time.sleep if live else sim.sleep
    counter = {"n": 0}

    def wait(name: str) -> None:
        counter["n"] += 1
        sleep(TOOL_SECONDS[name] * math.exp(random.Random(f"{seed}:{name}:{counter['n']}").gauss(0.0, JITTER)))

    def lookup_order(order_id: str) -> str:
        """An order's items, status and address.

        Args:
            order_id: the order number, such as "B-2291"
        """
        wait("lookup_order")
        return json.dumps({"order_id": order_id, "items": ["The Salt Roads (hardback)"], "status": "delivered",
                           "postcode": "EH1 2NG"})

    def delivery_options(postcode: str) -> str:
        """Delivery options and dates to a postcode.

        Args:
            postcode: the delivery postcode
        """
        wait("delivery_options")
        return json.dumps({"postcode": postcode, "tracked": "Wednesday", "standard": "Friday"})

    def returns_policy(item: str) -> str:
        """The returns policy for a kind of item.

        Args:
            item: the kind of item, such as "hardback"
        """
        wait("returns_policy")
        return json.dumps({"item": item, "damaged": "free replacement, no return needed"})

    return [tool(lookup_order), tool(delivery_options), tool(returns_policy)]


def lab_client(*, seed: int = 0, **options: Any) -> Any:
    """The client the lab's agents run on: the simulator (or Claude, with a key), with the lab's scenario."""
    return make_client(scenarios=["l3_latency"], seed=seed, quiet=True, **options)


def slow_agent(client: Any, dlp: DLPService, *, model: str = DEFAULT_MODEL) -> Agent:
    """The agent as it ships: before every model call, scan every message of the conversation, one by one."""

    def scan_conversation(step: Any) -> None:
        for message in step.request["messages"]:
            dlp.scan(message)

    return Agent(client, model=model, system=SYSTEM, tools=bookshop_tools(live=is_live(client)), name="bookshop",
                 hooks={"model_start": scan_conversation})


@dataclass(frozen=True)
class Scenario:
    """What the lab hands the learner as `lab.scenario`."""

    question: str = QUESTION
    slow_agent: Callable[..., Agent] = slow_agent
    client: Callable[..., Any] = lab_client
    dlp: type = DLPService
    scan_seconds: float = SCAN_SECONDS
    min_runs: int = MIN_RUNS


SCENARIO = Scenario()


# -- measuring (shared by the checks; cached per process: the slow agent does not change) ---------------------

_BASELINE: dict[int, tuple[list[latency.Run], DLPService]] = {}


def _profile(build: Callable[[Any, DLPService], Agent], runs: int) -> tuple[list[latency.Run], DLPService, list[str]]:
    """Run an agent built by `build(client, dlp)` `runs` times; also return the DLP service and any message that
    went to the model without being scanned first."""
    seen: set[str] = set()  # the check's own record of the scans it saw the DLP service make
    client, dlp = lab_client(), DLPService(observer=seen.add)
    agent = build(client, dlp)
    if not isinstance(agent, Agent):
        raise TypeError(f"the function must return an agentkit Agent, it returned {type(agent).__name__}")
    unscanned: list[str] = []

    def verify(step: Any) -> None:  # registered last, so it runs after every scan the agent does at model_start
        for i, message in enumerate(step.request["messages"]):
            if message_key(message) not in seen:
                unscanned.append(f"step {step.index}, message {i + 1} ({message.get('role', '?')})")

    agent.add_hook("model_start", verify)
    return latency.profile(agent, QUESTION, runs=runs), dlp, unscanned


def baseline(runs: int | None = None) -> list[latency.Run]:
    """The slow agent's runs (`FIX_RUNS` of them unless told), measured once per process."""
    runs = FIX_RUNS if runs is None else runs
    if runs not in _BASELINE:
        measured, dlp, _ = _profile(slow_agent, runs)
        _BASELINE[runs] = (measured, dlp)
    return _BASELINE[runs][0]


def _baseline_scans() -> float:
    baseline()
    return _BASELINE[FIX_RUNS][1].calls / FIX_RUNS


def _medians(runs: list[latency.Run]) -> Any:
    return latency.breakdowns(runs).median()


# -- task 1: name the bottleneck --------------------------------------------------------------------------------


def check_bottleneck(answer: Any) -> Verdict:
    name = as_name(answer, [*COMPONENTS, "inference"], ALIASES, what="bottleneck")
    med = _medians(baseline())
    right = max(COMPONENTS, key=lambda c: med[c])
    parts = ", ".join(f"{latency.COMPONENT_LABELS[c]} {med[c]:.1f} s" for c in sorted(COMPONENTS, key=lambda c: -med[c])[:4])
    if name == right:
        return passed(f"Right: over {FIX_RUNS} runs the median run spends {med[right]:.1f} of {med['wall_s']:.1f} s in "
                      f"{latency.COMPONENT_LABELS[right]} ({parts}). Those are the agent's hook events: the DLP scan "
                      "before every model call.")
    if name == "inference" or name in ("time_to_first_token", "generation"):
        return wrong(f"The model is not it: its inference (TTFT + generation) is {med['inference_s']:.1f} s at the median, "
                     f"split into {med['time_to_first_token']:.1f} s TTFT and {med['generation']:.1f} s generation, while "
                     f"another component takes {med[right]:.1f} s. Medians per component: {parts}.")
    if name == "tool_execution":
        return wrong(f"The tools are quick here: {med['tool_execution']:.1f} s at the median. "
                     f"Medians per component: {parts}. Which one is the biggest?")
    return wrong(f"{latency.COMPONENT_LABELS[name]} is {med[name]:.1f} s at the median. Medians per component: {parts}.")


# -- task 2: fix it ----------------------------------------------------------------------------------------------


def check_fix(answer: Any) -> Verdict:
    build = as_function(answer, "fixed_agent")
    before = baseline()
    runs = len(before)
    result, error = call_learner_code(lambda: _profile(build, runs))
    if error is not None:
        return wrong(f"Running fixed_agent(client, dlp) failed: {error}")
    after, dlp, unscanned = result
    b, a = latency.breakdowns(before), latency.breakdowns(after)
    pb, pa = latency.percentiles(b["wall_s"], (50, 95)), latency.percentiles(a["wall_s"], (50, 95))
    gain = {q: 1 - pa[q] / pb[q] for q in pb}
    summary = (f"p50 {pb['p50']:.1f} -> {pa['p50']:.1f} s ({gain['p50']:.0%} faster), p95 {pb['p95']:.1f} -> "
               f"{pa['p95']:.1f} s ({gain['p95']:.0%} faster) over {runs} runs each")
    answers_before = {r.result.text for r in before}
    answers_after = {r.result.text for r in after}
    models = {r.result.model for r in after}
    if unscanned:
        return wrong(f"{len(unscanned)} message(s) reached the model without a DLP scan (first: {unscanned[0]}). The scan "
                     "is company policy: keep it, make it cheaper. " + summary + ".")
    if answers_after != answers_before:
        return wrong(f"The answers changed, so this is not the same agent any more (the lab compares the final text). "
                     f"{summary}.")
    fw_b, fw_a = b["framework_overhead"].median(), a["framework_overhead"].median()
    if models != {DEFAULT_MODEL}:
        return wrong(f"You switched the model to {', '.join(sorted(models))}. Inference fell from {b['inference_s'].median():.1f} "
                     f"to {a['inference_s'].median():.1f} s at the median, but the bottleneck the traces show is "
                     f"framework overhead, still {fw_a:.1f} s (was {fw_b:.1f} s): {summary}. A faster model speeds up "
                     "the part that was not slow; fix the scan instead.")
    if fw_a > 0.6 * fw_b:
        return wrong(f"Framework overhead is still {fw_a:.1f} s at the median (was {fw_b:.1f} s): the scans were not the "
                     f"part that changed. {summary}.")
    if min(gain.values()) < MIN_IMPROVEMENT:
        return wrong(f"Better, but not by {MIN_IMPROVEMENT:.0%} at both p50 and p95: {summary}.")
    return passed(f"{summary}; framework overhead {fw_b:.1f} -> {fw_a:.1f} s at the median, {dlp.calls / runs:.0f} "
                  f"DLP calls per run instead of {_baseline_scans():.0f}, every message still scanned before it was sent, same answers.")


# -- task 3: the distributions ---------------------------------------------------------------------------------


def _runs(value: Any, what: str) -> list[latency.Run]:
    """`value` as a list of profiled runs (type-strict), or an AnswerError saying what to hand in."""
    if not isinstance(value, (list, tuple)) or not all(type(r) is latency.Run for r in value):
        raise AnswerError(f"{what} must be the list latency.profile(...) returns (runs with their traces), not "
                          f"{type(value).__name__}: the check re-derives every figure from the traces.")
    return list(value)


def check_distribution(answer: Any) -> Verdict:
    if not (type(answer) is tuple and len(answer) == 2):
        return wrong("Give a pair (before, after): the runs latency.profile returned for the slow agent and for your "
                     "fixed agent. The check measures them itself, from their traces.")
    before, after = _runs(answer[0], "before"), _runs(answer[1], "after")
    if min(len(before), len(after)) < MIN_RUNS:
        return wrong(f"{len(before)} runs before and {len(after)} after: one trace, or a handful, is an anecdote. "
                     f"Profile at least {MIN_RUNS} runs of each (latency.profile(agent, question, runs={MIN_RUNS})).")
    for label, runs in (("before", before), ("after", after)):
        roots = [r.trace.select(kind="agent") for r in runs]
        if not all(len(x) == 1 and x[0].name == "invoke_agent bookshop" for x in roots):
            return wrong(f"Some '{label}' runs are not single runs of the bookshop agent: profile "
                         "s.slow_agent(...) for before and your fixed_agent(...) for after.")
        if len({x[0].context.trace_id for x in roots}) != len(runs):
            return wrong(f"The '{label}' runs repeat the same trace: profile separate runs.")
    b, a = latency.breakdowns(before), latency.breakdowns(after)
    ref = latency.percentiles(latency.breakdowns(baseline())["wall_s"], (50,))["p50"]
    p50_before, p50_after = float(b["wall_s"].median()), float(a["wall_s"].median())
    if not 0.7 * ref < p50_before < 1.4 * ref:
        return wrong(f"Your 'before' runs take {p50_before:.1f} s at the median, but the slow agent's median run takes "
                     f"about {ref:.1f} s. Did you profile the slow agent (s.slow_agent) for 'before'?")
    if {r.result.text for r in after} != {r.result.text for r in before}:
        return wrong("The 'after' runs answer differently from the 'before' runs: profile your fixed agent, which keeps "
                     "the answers.")
    if p50_after > (1 - MIN_IMPROVEMENT) * p50_before:
        return wrong(f"After your fix the median run takes {p50_after:.1f} s against {p50_before:.1f} s before: profile "
                     "the fixed agent for 'after'.")
    table = latency.compare(b, a)
    rows = ", ".join(f"{q} {table.loc[q, 'before_s']:.1f} -> {table.loc[q, 'after_s']:.1f} s" for q in ("p50", "p95", "p99"))
    return passed(f"Measured from your {len(before)} and {len(after)} traces: {rows}. That is a measured improvement, "
                  "not an anecdote.")


#: Lesson content (hints, tutor notes) lives in l3_latency_profiling.yaml beside this module.
_TEXT = load_lab_text(__file__, ("bottleneck", "fix", "distribution"), values={"min_runs": MIN_RUNS})

TASKS = [
    Task(
        id="bottleneck",
        title="Find the real bottleneck",
        checker=check_bottleneck,
        expects=f"one component name as a string, one of {', '.join(map(repr, COMPONENTS))}",
        hints=_TEXT["hints"]["bottleneck"],
    ),
    FunctionTask(
        id="fix",
        title="Fix it, and keep the answers and the scan",
        checker=check_fix,
        expects="a function fixed_agent(client, dlp) that returns an agentkit Agent",
        hints=_TEXT["hints"]["fix"],
        probes=((None, None),),
    ),
    Task(
        id="distribution",
        title="Show the distribution, not one trace",
        checker=check_distribution,
        expects=f"a pair (before, after) of the run lists latency.profile returns, at least {MIN_RUNS} runs each",
        hints=_TEXT["hints"]["distribution"],
    ),
]

NOTES: str = _TEXT["notes"]

LAB = Lab(
    id="l3_latency_profiling",
    title="Lab 3: Profile a slow agent",
    lesson="M1 L3 Latency Profiling",  # as quizzes/l3_latency_profiling.yaml names it
    tasks=TASKS,
    lesson_notebook="notebooks/*latency_profiling*.ipynb",
    notes=NOTES,
    scenario=SCENARIO,
)
