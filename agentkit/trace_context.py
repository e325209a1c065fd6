"""The names that agent, tracing and simulator share: the current step, and the simulated-time marks.

Kept apart from all three so none has to import another to agree on a name: the agent sets
`CURRENT_STEP` while a step runs and the tracing hub stamps it on every span started meanwhile;
the simulator marks the SDK's span of each call it answers and `capture()` / `agentkit.latency`
read those marks to report simulated seconds exactly. Importing this module costs nothing.
"""

from __future__ import annotations

import contextvars

__all__ = [
    "CURRENT_STEP",
    "STEP_ATTRIBUTE",
    "SIMULATED_ATTRIBUTE",
    "SIM_TIME_SCALE_ATTRIBUTE",
    "SIM_SECONDS_ATTRIBUTE",
    "SIM_TTFT_ATTRIBUTE",
    "SIM_RECEIVED_EVENT",
    "current_step",
]

#: The step number (1-based) while an agent step runs, else 0.
CURRENT_STEP: contextvars.ContextVar[int] = contextvars.ContextVar("agentkit.step", default=0)

#: Span attribute: the agent step a span belongs to.
STEP_ATTRIBUTE = "agentkit.step"
#: Set (True) by the simulator on the SDK's span of every call it answers.
SIMULATED_ATTRIBUTE = "agentkit.simulated"
#: The simulator's time scale on that span: real seconds = simulated seconds x scale.
SIM_TIME_SCALE_ATTRIBUTE = "agentkit.sim.time_scale"
#: The call's simulated duration in simulated seconds (exact, unlike wall time / scale).
SIM_SECONDS_ATTRIBUTE = "agentkit.sim.seconds"
#: The reply's simulated time to first token, in simulated seconds.
SIM_TTFT_ATTRIBUTE = "agentkit.sim.ttft_s"
#: Event on that span when the request reaches the simulated API (the end of request serialisation).
SIM_RECEIVED_EVENT = "agentkit.sim.request_received"


def current_step() -> int | None:
    """The running agent step's number, or None outside a step."""
    step = CURRENT_STEP.get()
    return step if step > 0 else None
