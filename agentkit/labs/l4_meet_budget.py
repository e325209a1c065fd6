"""Lab 4, Optimization Decisions: meet the budget.

The support-desk agent of Lesson 4 (`agentkit.cases.support_desk`) holds its
quality bar, but on one strong model with no caching it is too expensive and
falls over at production traffic. The learner chooses and configures caching,
batching, routing and a fallback as a `SupportConfig`. Every check runs that
configuration for real: the labelled task set through the simulated API
(quality, cost per run, latency per run), then the measured runs through the
fleet simulation at the stated traffic (cost per 1,000 conversations, p95,
share of conversations lost to rate limits). The second task judges the same
configuration on both counts together: task 1's budget, and the task set
again during an outage of the default model, always on the simulator (a live
API is not down on cue, so a live run would pass a configuration with no
fallback). Each failing constraint is named with the figure, the budget and
the gap.

Cost is priced from the installed price table, not from the learner's kernel:
every call's usage block is priced again by a fresh copy of `agentkit.pricing`
executed from the installed source and data file, so setting prices to zero in
the notebook cannot make a configuration meet the budget (the check says so
when the two disagree).

The budgets are fractions of the measured baseline, so a change of prices or
models moves them with the kit rather than breaking the lab.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass, fields
from types import ModuleType
from typing import Any

from agentkit.cases import support_desk as sd
from agentkit.cases.support_desk import SupportConfig, evaluate_config
from agentkit.course.lab import AnswerError, Lab, Task, Verdict, load_lab_text, passed, wrong
from agentkit.fleet import FleetReport, RateLimits, profiles_from, simulate
from agentkit.models import DEFAULT_MODEL
from agentkit.routing import Router
from agentkit.scorecard import Scorecard
from agentkit.sim.faults import Faults

#: The traffic the agent must carry, and the organization's limits for each model (an example, as in the lesson).
ARRIVALS_PER_MINUTE = 1_000
LIMITS = RateLimits(rpm=4_000, itpm=2_000_000, otpm=400_000)
CONCURRENCY = 200
FLEET_RUNS = 4_000

QUALITY_BAR = 0.95  # share of the labelled tasks answered right
#: The cost budget: 5.5% of the baseline's cost per 1,000 conversations. Tighter than the lesson's router with prompt
#: caching reaches, so the lab asks for more than the lesson shows: a router built from what the fast model gets wrong.
COST_SHARE = 0.055
MAX_FAILED = 0.01  # at most 1% of conversations may be lost to rate limits
OUTAGE_ANSWERED = 0.95  # during an outage of the default model, at least 95% of conversations get an answer
OUTAGE = Faults(overloaded=1.0, models=(DEFAULT_MODEL,))

#: What the agent runs as today: everything on the default model, no caching.
BASELINE = SupportConfig(DEFAULT_MODEL, name="baseline")


@dataclass(frozen=True)
class Budget:
    """The constraints the configuration must meet, worked out from the measured baseline."""

    quality_bar: float
    cost_per_1000: float  # dollars per 1,000 conversations
    p95_seconds: float  # at ARRIVALS_PER_MINUTE
    max_failed_share: float
    outage_answered: float


@functools.lru_cache(maxsize=1)
def baseline() -> Scorecard:
    return evaluate_config(BASELINE)


def budget() -> Budget:
    """Cost: a fraction of the baseline's. Latency: no slower at 1,000 a minute than one baseline run alone (p95)."""
    card = baseline()
    return Budget(QUALITY_BAR, COST_SHARE * _baseline_cost_per_1000(), card.p95, MAX_FAILED, OUTAGE_ANSWERED)


@functools.lru_cache(maxsize=1)
def _baseline_cost_per_1000() -> float:
    return kit_cost_per_1000(baseline())  # the installed prices, like every figure the checks judge


def fleet(card: Scorecard, config: SupportConfig) -> FleetReport:
    return simulate(profiles_from(card), arrivals_per_minute=ARRIVALS_PER_MINUTE, runs=FLEET_RUNS, limits=LIMITS,
                    concurrency=CONCURRENCY, batch=config.batch)


_FIELDS = {f.name for f in fields(SupportConfig)}


def as_config(answer: Any) -> SupportConfig:
    """A SupportConfig, or a dict of its fields."""
    if isinstance(answer, SupportConfig):
        config = answer
    elif isinstance(answer, dict):
        unknown = sorted(set(map(str, answer)) - _FIELDS)
        if unknown:
            raise AnswerError(f"Unknown setting(s) {', '.join(map(repr, unknown))}. A configuration has these fields: "
                              f"{', '.join(sorted(_FIELDS))}.")
        config = SupportConfig(**answer)
    else:
        raise AnswerError(f"Give a SupportConfig(...) (from agentkit.cases.support_desk), not a "
                          f"{type(answer).__name__}.")
    if config.router is not None and not isinstance(config.router, Router):
        raise AnswerError("router must be an agentkit.routing.Router (or None to use one model).")
    models = set(sd.TIERS)
    chosen = set(config.router.tiers.values()) if config.router else {config.model}
    if config.fallback_model:
        chosen.add(config.fallback_model)
    strange = sorted(chosen - models)
    if strange:
        raise AnswerError(f"Unknown model(s) {', '.join(map(repr, strange))}: use agentkit.FAST_MODEL, DEFAULT_MODEL "
                          "or LARGEST_MODEL.")
    return config


def _quality_reason(card: Scorecard, b: Budget) -> str:
    gap = b.quality_bar - card.quality
    wrong_hard = [r.task_id for r in card.runs if not r.correct and r.difficulty == sd.HARD]
    wrong_easy = [r.task_id for r in card.runs if not r.correct and r.difficulty == sd.EASY]
    where = []
    if wrong_hard:
        where.append(f"{len(wrong_hard)} hard task(s) wrong ({_some(wrong_hard)}): the model that answers refunds "
                     "is not strong enough for them")
    if wrong_easy:
        where.append(f"{len(wrong_easy)} easy task(s) wrong ({_some(wrong_easy)})")
    return (f"quality {card.quality:.1%} is under the {b.quality_bar:.0%} bar by {100 * gap:.1f} points: "
            + "; ".join(where) + ".")


@functools.lru_cache(maxsize=1)
def _fast_gets_right() -> frozenset[str]:
    """The tasks the fast model answers right on its own (prompt caching on): measured, not listed."""
    card = evaluate_config(SupportConfig(sd.FAST_MODEL, cache_prompt=True), live=False)
    return frozenset(r.task_id for r in card.runs if r.correct)


def _cost_reason(cost: float, config: SupportConfig, b: Budget, card: Scorecard) -> str:
    over = cost - b.cost_per_1000
    advice = []
    if not config.cache_prompt:
        advice.append("every call re-sends the handbook at the full input price (prompt caching reads it at a fraction of the price)")
    models = set(config.router.tiers.values()) if config.router else {config.model}
    if config.router is None or len(models) == 1:
        advice.append("every task, easy or hard, runs on one model; easy ones do not need a strong one")
    else:
        dear = [r.task_id for r in card.runs if r.model != sd.FAST_MODEL and r.task_id in _fast_gets_right()]
        if dear:
            advice.append(f"the router sends {len(dear)} conversation(s) to a dearer model that the fast model answers "
                          "right on its own; an all-fast scorecard shows which questions really need the strong one")
    return (f"cost ${cost:.2f} per 1,000 conversations is over the ${b.cost_per_1000:.2f} budget by "
            f"${over:.2f} ({over / b.cost_per_1000:.0%})" + (": " + "; ".join(advice) if advice else "") + ".")


def _load_reasons(report: FleetReport, config: SupportConfig, b: Budget) -> list[str]:
    reasons = []
    if config.batch and report.p95 > b.p95_seconds:
        reasons.append(f"p95 is {report.p95:,.0f} s against a budget of {b.p95_seconds:.2f} s: batch results arrive "
                       "within 24 hours (most within one), and a customer in a chat cannot wait for a batch. Batch the "
                       "nightly jobs, not the conversations.")
        return reasons
    if report.failed_share > b.max_failed_share:
        reasons.append(f"at {ARRIVALS_PER_MINUTE:,} conversations a minute {report.failed_share:.0%} of them fail on "
                       f"rate limits ({report.limited_share:.0%} hit a 429; at most {b.max_failed_share:.0%} may fail): "
                       "each call's uncached input counts against the input-tokens-per-minute limit, and cache reads do "
                       "not.")
    if report.p95 > b.p95_seconds:
        reasons.append(f"p95 at {ARRIVALS_PER_MINUTE:,} a minute is {report.p95:.2f} s, over the {b.p95_seconds:.2f} s "
                       f"budget by {report.p95 - b.p95_seconds:.2f} s.")
    return reasons


def _installed_pricing() -> ModuleType:
    """A fresh copy of `agentkit.pricing`, executed now from the installed source file, with its price rows read
    now from the installed data file: whatever this kernel changed in `agentkit.pricing` (a row, a multiplier,
    `cost_of` itself) or in the cached price data, the copy has the kit's own prices."""
    from agentkit import models

    spec = importlib.util.find_spec("agentkit.pricing")
    if spec is None or spec.origin is None:  # pragma: no cover - the kit is installed or nothing runs
        raise RuntimeError("agentkit.pricing is not installed")
    models.data.cache_clear()  # read agentkit/data/models.yaml from disk again
    fresh = importlib.util.spec_from_file_location("agentkit._pricing_as_installed", spec.origin)
    assert fresh is not None and fresh.loader is not None
    module = importlib.util.module_from_spec(fresh)
    sys.modules[fresh.name] = module  # dataclasses look their module up while the class is made
    try:
        fresh.loader.exec_module(module)
    finally:
        del sys.modules[fresh.name]
    return module


def kit_cost_per_1000(card: Scorecard) -> float:
    """Dollars per 1,000 conversations, every call's usage priced by the installed price table (see
    `_installed_pricing`), not by whatever `agentkit.pricing` holds in this kernel."""
    pricing = _installed_pricing()
    dollars = sum(pricing.cost_of(a.model, a.usage) for r in card.runs for a in r.attempts if a.usage is not None)
    return 1000 * dollars / len(card.runs)


@dataclass(frozen=True)
class _Judged:
    """One configuration measured against task 1's constraints."""

    card: Scorecard
    report: FleetReport
    cost: float  # dollars per 1,000 conversations, from the installed prices (halved for batch)
    reasons: list[str]
    figures: str
    note: str  # what the check noticed about this kernel's prices, if anything


def _judge_budget(config: SupportConfig) -> _Judged:
    b = budget()
    card = evaluate_config(config)
    report = fleet(card, config)
    reasons = []
    if card.quality < b.quality_bar:
        reasons.append(_quality_reason(card, b))
    kernel = card.cost_per_1000
    priced = kit_cost_per_1000(card)
    note = ""
    if abs(priced - kernel) > 1e-6 * max(1.0, priced):
        note = (f" (This kernel's agentkit.pricing prices the same calls at ${kernel:.2f} per 1,000 conversations; "
                f"the kit's installed price table says ${priced:.2f}, and the check uses the installed table. Prices "
                "changed in a notebook do not change what the API bills: restart the kernel to undo the change.)")
    cost = priced * (0.5 if config.batch else 1.0)
    if cost > b.cost_per_1000 + 1e-9:
        reasons.append(_cost_reason(cost, config, b, card))
    reasons += _load_reasons(report, config, b)
    figures = (f"quality {card.quality:.1%} (bar {b.quality_bar:.0%}), ${cost:.2f} per 1,000 conversations "
               f"(budget ${b.cost_per_1000:.2f}), p95 {report.p95:,.2f} s at {ARRIVALS_PER_MINUTE:,} a minute "
               f"(budget {b.p95_seconds:.2f} s), {report.failed_share:.1%} lost to rate limits")
    return _Judged(card, report, cost, reasons, figures, note)


def _failed(judged: _Judged) -> str:
    reasons = judged.reasons
    head = f"{len(reasons)} constraint{'s' if len(reasons) > 1 else ''} failed. "
    return (head + " ".join(f"({i}) {r[0].upper()}{r[1:]}" for i, r in enumerate(reasons, 1))
            + f" Measured: {judged.figures}.{judged.note}")


def check_meet_budget(answer: Any) -> Verdict:
    config = as_config(answer)
    judged = _judge_budget(config)
    if judged.reasons:
        return wrong(_failed(judged))
    if judged.note:  # every constraint holds at the installed prices, but the kernel's prices were changed
        return passed(f"Every constraint holds: {judged.figures}.{judged.note}")
    return passed(f"Every constraint holds: {judged.figures}. Against the baseline that is "
                  f"{1 - judged.cost / _baseline_cost_per_1000():.0%} cheaper per conversation.")


#: Said in every outage verdict: where the outage comes from.
OUTAGE_SOURCE = ("The outage is the simulator's (every request to {model} answered 529 overloaded), forced even when "
                 "ANTHROPIC_API_KEY is set: a live API is not down on cue.")


def outage_scorecard(config: SupportConfig) -> Scorecard:
    """The task set under `config` while the default model is down: always on the simulator (live=False)."""
    return evaluate_config(config, faults=OUTAGE, live=False)


def _degradation(during: Scorecard, normal: Scorecard) -> str:
    """What the outage costs in quality, per difficulty, computed: which kinds of question got worse, if any."""
    worse = [(d, normal.quality_of(d), during.quality_of(d)) for d in (sd.EASY, sd.HARD)
             if during.quality_of(d) < normal.quality_of(d) - 1e-9]
    if not worse:
        return ("No kind of question got worse while it lasts: every conversation the default model would have "
                "answered is answered as well by the fallback.")
    parts = [f"{d} questions {before:.0%} -> {after:.0%}" for d, before, after in worse]
    return (f"That is graceful degradation: worse answers on {' and '.join(d for d, _, _ in worse)} questions for a "
            f"while ({'; '.join(parts)}), instead of errors.")


def check_outage(answer: Any) -> Verdict:
    config = as_config(answer)
    b = budget()
    source = OUTAGE_SOURCE.format(model=DEFAULT_MODEL)
    chosen = set(config.router.tiers.values()) if config.router else {config.model}
    if DEFAULT_MODEL not in chosen:
        return wrong(f"This configuration never calls {DEFAULT_MODEL}, so an outage of it cannot touch it, and it is "
                     "not the configuration that met task 1's budget with the default model answering the hard "
                     "questions. The task is to keep that configuration and carry it through the outage: keep the "
                     "default model where it is needed, and say what answers when it is down.")
    judged = _judge_budget(config)
    during = outage_scorecard(config)
    problems = []
    if judged.reasons:
        problems.append("Task 1's budget no longer holds: " + _failed(judged))
    if during.answered_share < b.outage_answered:
        lost = [r.task_id for r in during.runs if not r.answered]
        reason = ("no fallback model is set, so every conversation routed to it fails after the SDK's retries"
                  if not config.fallback_model else f"the fallback {config.fallback_model} is the model that is down")
        problems.insert(0, f"During an outage of {DEFAULT_MODEL} only {during.answered_share:.0%} of conversations "
                           f"get an answer (at least {b.outage_answered:.0%} must): {reason}. Lost: {_some(lost)}.")
    if problems:
        return wrong(" ".join(problems) + f" {source}")
    return passed(f"Both constraints hold together. Normally: {judged.figures}. During an outage of {DEFAULT_MODEL}, "
                  f"{during.answered_share:.0%} of conversations still get an answer (quality {during.quality:.0%} "
                  f"while it lasts: easy {during.quality_of(sd.EASY):.0%}, hard {during.quality_of(sd.HARD):.0%}). "
                  f"{_degradation(during, judged.card)} {source}")


def _some(ids: list[str], shown: int = 6) -> str:
    return ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


#: Lesson content (hints, tutor notes) lives in l4_meet_budget.yaml beside this module.
_TEXT = load_lab_text(__file__, ("meet_budget", "outage"))

TASKS = [
    Task(
        id="meet_budget",
        title="A configuration that meets the quality bar, the cost budget and the latency budget",
        checker=check_meet_budget,
        expects="a SupportConfig(...) from agentkit.cases.support_desk (model or router, cache_prompt, batch, "
                "fallback_model)",
        hints=_TEXT["hints"]["meet_budget"],
    ),
    Task(
        id="outage",
        title="The configuration that meets the budget, also through an outage of the default model",
        checker=check_outage,
        expects="your SupportConfig from task 1 (agentkit.cases.support_desk), changed so it survives the outage",
        hints=_TEXT["hints"]["outage"],
    ),
]

NOTES: str = _TEXT["notes"]

LAB = Lab(
    id="l4_meet_budget",
    title="Lab 4: Meet the budget",
    lesson="M1 L4 Optimization Decisions",  # as quizzes/l4_optimization_decisions.yaml names it
    tasks=TASKS,
    lesson_notebook="notebooks/m1_l4[ab]_*.ipynb",  # the lesson is in two notebooks
    notes=NOTES,
    scenario=None,
)
