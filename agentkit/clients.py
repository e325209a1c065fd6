"""`client()`: the official Anthropic client, live or simulated.

(The module is `clients.py`, not `client.py`, so that importing it can never
shadow the function `agentkit.client` on the package.)

With `ANTHROPIC_API_KEY` set (or `live=True`), you get a normal
`anthropic.Anthropic` that talks to Claude. Without a key you get the *same
class*, whose HTTP transport is agentkit's in-process simulator, so every
notebook cell runs offline and identically on every run. Lessons never branch
on the mode; they only use the SDK's own API on the client.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import anthropic
import httpx2

from .sim.core import Simulator
from .models import MODELS
from .sim.faults import Faults
from .sim.latency import LatencyModel, ModelLatency
from .sim.scenarios import Scenario
from .sim.transport import AsyncSimTransport, SimTransport

# The SDK needs some credential; the simulator ignores it. Not key-shaped on purpose.
SIMULATED_API_KEY = "simulated-offline"


def live_by_default() -> bool:
    """Whether `client()` talks to Claude when not told: ANTHROPIC_API_KEY is set, or AGENTKIT_LIVE=1."""
    return bool(os.environ.get("ANTHROPIC_API_KEY")) or os.environ.get("AGENTKIT_LIVE") == "1"


def _want_live(live: bool | None) -> bool:
    if live is None:
        live = live_by_default()
    if live and not os.environ.get("ANTHROPIC_API_KEY") and not os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        raise RuntimeError("live mode (live=True or AGENTKIT_LIVE=1) needs an API key: set the ANTHROPIC_API_KEY environment variable (never "
                           "paste it into a notebook cell), or call agentkit.client() without live=True to "
                           "use the offline simulator.")
    return live


def _scenarios(items: Iterable[Scenario | dict[str, Any] | str | Path]) -> list[Scenario]:
    """Scenario objects, dicts, YAML paths, or names of the kit's own scenario files (e.g. "lesson01")."""
    out: list[Scenario] = []
    for item in items:
        if isinstance(item, Scenario):
            out.append(item)
        elif isinstance(item, dict):
            out.append(Scenario.from_dict(item))
        elif isinstance(item, (str, Path)) and (Path(item).suffix in (".yaml", ".yml") or os.sep in str(item)):
            out.extend(Scenario.load(item))
        elif isinstance(item, str):
            packaged = resources.files("agentkit") / "scenarios" / f"{item}.yaml"
            if not packaged.is_file():
                raise ValueError(f"no scenario file named {item!r} in agentkit/scenarios/; pass a Scenario, a dict, "
                                 "or a path to a .yaml file")
            out.extend(Scenario.load(Path(str(packaged))))
        else:
            raise TypeError(f"scenarios takes Scenario objects, dicts, names or paths, not {type(item).__name__}")
    return out


def _simulator(simulator: Simulator | None, scenarios: Iterable[Any], seed: int, faults: Faults | None) -> Simulator:
    if simulator is not None:
        if scenarios or faults is not None:
            simulator.register(*_scenarios(scenarios))
            if faults is not None:
                simulator.faults = faults
        return simulator
    return Simulator(seed=seed, scenarios=_scenarios(scenarios), faults=faults or Faults())


_warmed_up = False


def _warm_up() -> None:
    """Pay the one-off start-up costs (tokenizer load, the SDK's first parse of a message and of a stream) once per
    process, on a private zero-latency simulator, so a learner's first traced call is not 0.3 s slower than the
    rest: at the default time scale that would read as ~15 extra simulated seconds."""
    global _warmed_up
    if _warmed_up:
        return
    _warmed_up = True
    instant = LatencyModel(models={m: ModelLatency(0.0, 0.0, 1e9, jitter=0.0) for m in MODELS})
    warm = anthropic.Anthropic(api_key=SIMULATED_API_KEY, open_telemetry=False,
                               http_client=httpx2.Client(transport=SimTransport(Simulator(latency=instant))))
    params: dict[str, Any] = {"model": MODELS[0], "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    # Instrumentations that patch every Anthropic client (OpenInference's, OpenLLMetry's) honour OpenTelemetry's
    # suppress-instrumentation flag: without it these two private calls would land in the learner's traces.
    from opentelemetry import context as otel_context

    token = otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        warm.messages.create(**params)
        with warm.messages.stream(**params) as stream:
            stream.get_final_message()
    finally:
        otel_context.detach(token)


def _announce(live: bool, quiet: bool) -> None:
    if quiet:
        return
    if live:
        print("agentkit: live mode, requests go to the Claude API and are billed to your key.")
    else:
        print("agentkit: simulated mode, an offline Messages API answers (set ANTHROPIC_API_KEY to use Claude).")


def _make(sync: bool, live: bool | None, scenarios: Iterable[Any], seed: int, faults: Faults | None,
          simulator: Simulator | None, quiet: bool, kwargs: dict[str, Any]) -> Any:
    """The one recipe behind `client()` and `async_client()`; only the SDK and httpx2 classes differ."""
    sdk_class = anthropic.Anthropic if sync else anthropic.AsyncAnthropic
    is_live = _want_live(live)
    _announce(is_live, quiet)
    if is_live:
        return sdk_class(**kwargs)
    sim = _simulator(simulator, scenarios, seed, faults)
    _warm_up()
    c: anthropic.Anthropic | anthropic.AsyncAnthropic
    if sync:
        c = anthropic.Anthropic(api_key=SIMULATED_API_KEY, http_client=httpx2.Client(transport=SimTransport(sim)), **kwargs)
    else:
        c = anthropic.AsyncAnthropic(api_key=SIMULATED_API_KEY,
                                     http_client=httpx2.AsyncClient(transport=AsyncSimTransport(sim)), **kwargs)
    setattr(c, "_agentkit_simulator", sim)  # an attribute the SDK class does not declare; read by agentkit.sim.simulator_of
    return c


def client(live: bool | None = None, *, scenarios: Iterable[Any] = (), seed: int = 0, faults: Faults | None = None,
           simulator: Simulator | None = None, quiet: bool = False, **kwargs: Any) -> anthropic.Anthropic:
    """An `anthropic.Anthropic`: live if `ANTHROPIC_API_KEY` is set (or `live=True`), simulated otherwise.

    scenarios, seed, faults, simulator: how the simulator behaves (ignored live).
    kwargs: passed to `anthropic.Anthropic` (max_retries, open_telemetry, middleware, ...).
    """
    return _make(True, live, scenarios, seed, faults, simulator, quiet, kwargs)


def async_client(live: bool | None = None, *, scenarios: Iterable[Any] = (), seed: int = 0,
                 faults: Faults | None = None, simulator: Simulator | None = None, quiet: bool = False,
                 **kwargs: Any) -> anthropic.AsyncAnthropic:
    """The `anthropic.AsyncAnthropic` twin of `client()`, with the same arguments."""
    return _make(False, live, scenarios, seed, faults, simulator, quiet, kwargs)


def is_live(c: Any) -> bool:
    """Whether a client made by `client()` / `async_client()` talks to the real API."""
    return getattr(c, "_agentkit_simulator", None) is None
