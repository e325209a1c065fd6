"""agentkit: the helper package behind the agent course.

Everything a notebook needs is importable from here. Names are resolved lazily
(PEP 562), so `import agentkit` stays fast and a notebook that only takes a quiz
does not pay for pandas, matplotlib or OpenTelemetry.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # the client: live or simulated
    "client": "agentkit.clients",
    "async_client": "agentkit.clients",
    "is_live": "agentkit.clients",
    # model ids, prices, tokens
    "DEFAULT_MODEL": "agentkit.models",
    "FAST_MODEL": "agentkit.models",
    "LARGEST_MODEL": "agentkit.models",
    # agentkit.models (sim helper): the current Fable and the model-facts lookup
    "FABLE_MODEL": "agentkit.models",
    "model_info": "agentkit.models",
    "count_tokens": "agentkit.tokens",
    "cost_of": "agentkit.pricing",
    # the simulator's data
    "Scenario": "agentkit.sim.scenarios",
    "Simulator": "agentkit.sim.core",
    "Faults": "agentkit.sim.faults",
    # tools and the agent loop
    "tool": "agentkit.tools",
    "Tool": "agentkit.tools",
    "ToolError": "agentkit.tools",
    "Agent": "agentkit.agent",
    "RunResult": "agentkit.agent",
    "Step": "agentkit.agent",
    "StopReason": "agentkit.agent",
    # tracing
    "setup_tracing": "agentkit.tracing",
    "capture": "agentkit.tracing",
    "Trace": "agentkit.tracing",
    "check_genai_attributes": "agentkit.tracing",
    "redact": "agentkit.redact",
    # latency profiling (agentkit.latency): seven components from a trace, percentiles, waterfall diagnosis
    "breakdown": "agentkit.latency",
    "diagnose": "agentkit.latency",
    "percentiles": "agentkit.latency",
    # agentkit.sandbox: model-written code in a locked-down process
    "run_code": "agentkit.sandbox",
    "Sandbox": "agentkit.sandbox",
    "SandboxResult": "agentkit.sandbox",
    "fix_and_retry": "agentkit.sandbox",
    # agentkit.patterns: reflection, planning, multi-agent teams, decomposition (lessons 07-10)
    "Meter": "agentkit.patterns.measure",
    "reflect": "agentkit.patterns.reflection",
    "Plan": "agentkit.patterns.planning",
    "execute_plan": "agentkit.patterns.planning",
    "Role": "agentkit.patterns.multi_agent",
    "Team": "agentkit.patterns.multi_agent",
    "topology": "agentkit.patterns.multi_agent",
    "Subtask": "agentkit.patterns.decomposition",
    "run_decomposed": "agentkit.patterns.decomposition",
    # foundations 03-06 (agentkit.shaping, evals, memory, guardrails): choosing work, evaluation, memory, guardrails
    "run_eval": "agentkit.evals",
    "Judge": "agentkit.evals",
    "Rubric": "agentkit.evals",
    "agreement": "agentkit.evals",
    "LessonStore": "agentkit.memory",
    "Notes": "agentkit.memory",
    "Knowledge": "agentkit.memory",
    "QualityGate": "agentkit.guardrails",
    "HumanApproval": "agentkit.guardrails",
    # course: quizzes, labs, progress, tutor
    "Quiz": "agentkit.course.quiz",
    "Lab": "agentkit.course.lab",
    "Tutor": "agentkit.course.tutor",
    "show_progress": "agentkit.course.progress",
    # costs: the four buckets of a real run (Lesson 2)
    "measure_run": "agentkit.costs",
    "RunCosts": "agentkit.costs",
    "AgentProfile": "agentkit.costs",
    # Lesson 4 (l4 helper): middleware, judging configurations, routing, fleet, batching, economics, drills
    "Ledger": "agentkit.middleware",
    "ResponseCache": "agentkit.middleware",
    "ModelFallback": "agentkit.middleware",
    "CircuitBreaker": "agentkit.middleware",
    "CircuitOpenError": "agentkit.middleware",
    "Scorecard": "agentkit.scorecard",
    "evaluate": "agentkit.scorecard",
    "gate": "agentkit.scorecard",
    "Router": "agentkit.routing",
    "keyword_classifier": "agentkit.routing",
    "RateLimits": "agentkit.fleet",
    "RunProfile": "agentkit.fleet",
    "FleetReport": "agentkit.fleet",
    "RunTiming": "agentkit.fleet",
    "profiles_from": "agentkit.fleet",
    "simulate": "agentkit.fleet",
    "run_batch": "agentkit.batching",
    "Budget": "agentkit.economics",
    "drill": "agentkit.resilience",
    # profiling any agent's trace file (lesson 12; `python -m agentkit profile`)
    "profile_file": "agentkit.profile",
    "profile_trace": "agentkit.profile",
    "OTLPJsonFileExporter": "agentkit.profile",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
