"""Small agents whose waterfalls show one shape each (Lesson 3, "Reading a waterfall").

Each is a real `Agent` on the simulator, scripted by `agentkit/scenarios/l3_latency.yaml`,
and built so that its trace has the shape it is named after, for the reason the lesson gives:

- ``healthy``: two model calls and one quick tool; the spans tile with small gaps.
- ``wide_gaps``: the same agent behind a connection pool that is too small: each
  call first waits for a free connection, in code no span covers.
- ``sequential_tools``: one tool fetches three cities' forecasts one after another,
  though none depends on another.
- ``growing_llm``: every step reads another long section into the context, so
  each model call's prefill (TTFT) is longer than the last.
- ``slow_tool``: a supplier's stock API that takes seconds, longer than the model.
- ``many_short_calls``: a checklist walked one item per model call: eight tiny calls.

    agent, prompt = waterfall_agent("sequential_tools", agentkit.client(scenarios=["l3_latency"]))
    with agentkit.capture() as trace:
        agent.run(prompt)
    agentkit.latency.diagnose(trace)
"""

from __future__ import annotations

import json
import time
from typing import Any

from agentkit import sim
from agentkit.agent import Agent
from agentkit.clients import is_live
from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.tools import tool
from agentkit.tracing import tracer

__all__ = ["SHAPE_AGENTS", "PooledClient", "waterfall_agent"]

#: shape name -> what `diagnose` should report for it (None: nothing, it is healthy)
SHAPE_AGENTS: dict[str, str | None] = {
    "healthy": None,
    "wide_gaps": "wide_gaps",
    "sequential_tools": "sequential_independent_tools",
    "growing_llm": "growing_llm_spans",
    "slow_tool": "tools_wider_than_llm",
    "many_short_calls": "many_short_llm_calls",
}

_PROMPTS = {
    "order": "Hi, where is my order A-7731?",
    "weather": "What's the weather for my trip to Lisbon, Porto and Madrid next week?",
    "reader": "Please summarise the incident report, section by section.",
    "inventory": "Is the DESK-140 standing desk in stock?",
    "checklist": "Please go through the launch checklist item by item.",
}

POOL_WAIT_SECONDS = 0.9  # waiting for a free HTTP connection, per call
ORDER_SECONDS = 0.25
FORECAST_SECONDS = 0.55  # per city
SECTION_SECONDS = 0.1
SECTION_WORDS = 3600  # about 5,000 tokens of report per section
SUPPLIER_SECONDS = 3.5
ITEM_SECONDS = 0.05


class _PooledMessages:
    def __init__(self, inner: Any, wait: Any) -> None:
        self._inner, self._wait = inner, wait

    def create(self, **params: Any) -> Any:
        self._wait()
        return self._inner.create(**params)

    def stream(self, **params: Any) -> Any:
        self._wait()
        return self._inner.stream(**params)


class PooledClient:
    """A client wrapper whose connection pool is too small: every call waits `wait_seconds` for a connection.

    The wait happens before the SDK's span starts, in code no span covers, so it shows in a waterfall only
    as a gap between spans.
    """

    def __init__(self, client: Any, wait_seconds: float = POOL_WAIT_SECONDS) -> None:
        sleep = time.sleep if is_live(client) else sim.sleep
        self._client = client
        self.messages = _PooledMessages(client.messages, lambda: sleep(wait_seconds))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def waterfall_agent(shape: str, client: Any) -> tuple[Agent, str]:
    """(agent, prompt) for one of `SHAPE_AGENTS` on `client` (load the "l3_latency" scenarios offline)."""
    if shape not in SHAPE_AGENTS:
        raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPE_AGENTS)}")
    sleep = time.sleep if is_live(client) else sim.sleep

    if shape in ("healthy", "wide_gaps"):
        def order_status(order_id: str) -> str:
            """Where an order is now.

            Args:
                order_id: the order number, such as "A-7731"
            """
            sleep(ORDER_SECONDS)
            return json.dumps({"order_id": order_id, "status": "with courier", "eta": "Thursday 18:00"})

        used = PooledClient(client) if shape == "wide_gaps" else client
        return Agent(used, model=DEFAULT_MODEL, tools=[order_status], name=f"shape_{shape}"), _PROMPTS["order"]

    if shape == "sequential_tools":
        def city_forecasts(cities: list[str]) -> str:
            """Seven-day forecasts for several cities.

            Args:
                cities: city names
            """
            out = {}
            for city in cities:  # one request per city, each waiting for the one before: no need to
                with tracer().start_as_current_span("GET", attributes={"http.request.method": "GET",
                                                                      "url.path": f"/forecast/{city}"}):
                    sleep(FORECAST_SECONDS)
                out[city] = "mild and dry" if city != "Madrid" else "cool nights, rain Friday"
            return json.dumps(out)

        return Agent(client, model=DEFAULT_MODEL, tools=[city_forecasts], name="shape_sequential"), _PROMPTS["weather"]

    if shape == "growing_llm":
        def read_section(n: int) -> str:
            """One section of the incident report, in full.

            Args:
                n: the section number, from 1
            """
            sleep(SECTION_SECONDS)
            sentence = f"Section {n} log line: the service retried the TLS handshake and the request timed out. "
            return sentence * (SECTION_WORDS // len(sentence.split()))

        return Agent(client, model=DEFAULT_MODEL, tools=[read_section], max_tokens=256, name="shape_growing"), \
            _PROMPTS["reader"]

    if shape == "slow_tool":
        def supplier_stock(sku: str) -> str:
            """Stock at the supplier, from their public API.

            Args:
                sku: the product code
            """
            sleep(SUPPLIER_SECONDS)
            return json.dumps({"sku": sku, "available": 42, "ships_in_days": 2})

        return Agent(client, model=DEFAULT_MODEL, tools=[supplier_stock], name="shape_slow_tool"), _PROMPTS["inventory"]

    def check_item(n: int) -> str:
        """Check one item of the launch checklist.

        Args:
            n: the item number, from 1
        """
        sleep(ITEM_SECONDS)
        return f"item {n}: ok"

    return Agent(client, model=FAST_MODEL, tools=[check_item], max_steps=10, name="shape_many_calls"), \
        _PROMPTS["checklist"]
