"""agentkit.sim: the Messages API, simulated at the wire level.

The official SDK talks to it exactly as it talks to Claude: in-process through
an httpx2 transport (`agentkit.client()` does this when no API key is set), or
over loopback HTTP (`python -m agentkit.sim serve`). See `core.Simulator`.

One module per concept: `core` (the `Simulator`, which owns the state),
`routing` (method + path dispatch), `messages` (POST /v1/messages), `request`
(a request body read once), `batches`, `threads` (server-side threads), `sse`
(a Message as an event stream), `response`; the API's features (`thinking`,
`structured`, `server_tools`, `fallbacks`, `models_api`), what the model says
(`policy`, `scenarios`), its checks (`validate`), its accounting (`usage`,
`prefix`), its timing and failures (`latency`, `faults`), and the two ways in
(`transport`, `server`).
"""

from __future__ import annotations

from typing import Any

from .core import SimResponse, Simulator
from .errors import APIError
from .faults import Faults, RateLimits
from .latency import LatencyModel, ModelLatency, Timing, asleep, set_time_scale, sleep, time_scale
from .scenarios import Match, Scenario, ScenarioError, ToolCall, Turn
from .server import SimServer
from .transport import AsyncSimTransport, SimTransport

__all__ = [
    "APIError", "AsyncSimTransport", "Faults", "LatencyModel", "Match", "ModelLatency", "RateLimits", "Scenario",
    "ScenarioError",
    "SimResponse", "SimServer", "SimTransport", "Simulator", "Timing", "ToolCall", "Turn", "asleep",
    "set_time_scale", "simulator_of", "sleep", "time_scale",
]


def simulator_of(client: Any) -> Simulator | None:
    """The simulator behind a client made by `agentkit.client()`, or None for a live client."""
    return getattr(client, "_agentkit_simulator", None)
