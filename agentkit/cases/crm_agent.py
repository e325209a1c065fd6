"""The 8.2-second CRM support agent (Lesson 3's case study), rebuilt on the simulator.

As the course tells it, a tool-augmented agent answered in 8.2 seconds at the
median: 2.1 s of model inference, 4.8 s of tool execution (dominated by a slow
external CRM), 0.6 s of request serialisation and 0.7 s of framework overhead.
Switching the CRM lookups to async calls and caching CRM responses for 60
seconds cut the tools to 1.1 s; inference never changed. This module rebuilds
that agent so `agentkit.latency` can measure every one of those figures:

    client = crm_client()                         # the simulator, with the agent's audit-log middleware
    slow = build_crm_agent(client)                # blocking CRM calls, no cache
    fast = build_crm_agent(client, fixed=True)    # async CRM calls + a 60 s TTL cache
    runs = latency.profile(slow, QUESTION, runs=40, between=crm_next_request(slow))

Where the seconds come from (simulated, with seeded jitter):

- the model: four calls of the fast model (three tool calls, one answer);
- tools: `customer_profile` reads three CRM endpoints (contact, account,
  subscription) one after another, each a `crm.request` span of about 0.75 s,
  and the model calls it twice per run; `billing_history` is a quick
  internal lookup;
- serialisation: the framework's audit-log middleware serialises and stores
  every request before it is sent (`anthropic.Middleware`, inside the SDK's
  span, before the request reaches the API);
- framework overhead: a callback after every step (routing callbacks and a
  checkpoint of the conversation state), which the agent records as timed
  `agentkit.hooks` events.

The fix changes only the tools: `customer_profile` becomes an async tool that
reads the three endpoints with `asyncio.gather`, through a CRM client whose
responses are cached for 60 simulated seconds. The cache only pays from the
second identical read: the first read of a run misses unless the same
customer was looked up less than 60 s earlier.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import anthropic

from agentkit import sim
from agentkit.agent import Agent
from agentkit.clients import client as make_client
from agentkit.clients import _want_live, is_live
from agentkit.models import FAST_MODEL
from agentkit.tools import Tool, tool
from agentkit.tracing import tracer

__all__ = [
    "CACHE_TTL_SECONDS",
    "CRM_ENDPOINT_SECONDS",
    "QUESTION",
    "SYSTEM",
    "AuditLogMiddleware",
    "CRMClient",
    "ArrivalClock",
    "TTLCache",
    "build_crm_agent",
    "crm_client",
    "crm_next_request",
]

QUESTION = "I think I was billed twice this month, a double charge on my card. Can you check? dana.ortiz@example.com"
SYSTEM = (
    "You are a billing support agent. Use customer_profile to read the customer's CRM record and billing_history "
    "for invoices. Check the plan before you offer a credit. Be brief and specific."
)

#: Simulated seconds of one CRM endpoint read (an external SaaS CRM across the internet).
CRM_ENDPOINT_SECONDS: dict[str, float] = {"contact": 0.80, "account": 0.75, "subscription": 0.70}
BILLING_SECONDS = 0.30  # the internal billing database
JITTER = 0.08  # sigma of the seeded log-normal spread of each I/O call
AUDIT_SECONDS = 0.15  # the audit-log middleware, per request
ROUTING_SECONDS = 0.03  # the routing callbacks, per step
CHECKPOINT_SECONDS = 0.145  # the state checkpoint after each step
#: How long a cached CRM response stays fresh (simulated seconds), as in the course's fix.
CACHE_TTL_SECONDS = 60.0

_CRM_RECORDS: dict[str, dict[str, Any]] = {
    "contact": {"name": "Dana Ortiz", "email": "dana.ortiz@example.com", "phone": "+1-555-0142"},
    "account": {"account_id": "ACC-1042", "company": "Ortiz Design", "status": "active"},
    "subscription": {"plan": "Team", "seats": 5, "monthly_usd": 95, "renews": "2026-12-14"},
}
_INVOICES = [
    {"invoice": "INV-8812", "date": "2026-11-14", "plan": "Team", "usd": 95, "status": "paid"},
    {"invoice": "INV-8813", "date": "2026-11-15", "plan": "Team", "usd": 95, "status": "paid"},
    {"invoice": "INV-8591", "date": "2026-10-14", "plan": "Team", "usd": 95, "status": "paid"},
]


class ArrivalClock:
    """The cache's clock offline: the simulated time at which requests arrive, moved on by `advance()`.

    It stands still during a request (a run lasts seconds, far less than the 60 s TTL), so whether a read
    hits the cache depends only on when requests arrive, never on how busy the machine running the
    simulation happens to be. Live, it is the real monotonic clock (plus any `advance()`).
    """

    def __init__(self, live: bool = False) -> None:
        self.live = live
        self._offset = 0.0

    def now(self) -> float:
        return (time.monotonic() if self.live else 0.0) + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock on, as if `seconds` passed with nothing happening (e.g. until the next request)."""
        if seconds < 0:
            raise ValueError(f"time only moves forward; got {seconds!r}")
        self._offset += seconds


class TTLCache:
    """A small thread-safe cache whose entries expire `ttl` seconds after they were stored, on a given clock.

    Written here rather than taken from `cachetools.TTLCache` (which also takes a timer) to keep the kit's
    dependencies as they are; it needs only get/put/expiry.
    """

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        self.ttl, self.clock = ttl, clock
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and entry[0] > self.clock():
                self.hits += 1
                return True, entry[1]
            self._data.pop(key, None)
            self.misses += 1
            return False, None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (self.clock() + self.ttl, value)


class CRMClient:
    """The external CRM's REST API (simulated): every read is a `crm.request` span of about 0.75 s.

    `cache`, if given, holds responses for its TTL: a hit is still a span (with
    `agentkit.cache.hit=True`) but takes no time, so the trace shows when the
    cache paid and when it did not.
    """

    def __init__(self, *, seed: int = 0, live: bool = False, cache: TTLCache | None = None) -> None:
        self.seed, self.live, self.cache = seed, live, cache
        self.requests = 0  # reads that went to the CRM (not served by the cache)
        self._lock = threading.Lock()

    def _seconds(self, endpoint: str) -> float:
        with self._lock:
            n = self.requests
            self.requests += 1
        return CRM_ENDPOINT_SECONDS[endpoint] * math.exp(random.Random(f"{self.seed}:{endpoint}:{n}").gauss(0, JITTER))

    def _span(self, endpoint: str, email: str) -> Any:
        return tracer().start_as_current_span("crm.request", attributes={
            "http.request.method": "GET", "server.address": "crm.example.com",
            "url.path": f"/v2/customers/{email}/{endpoint}", "agentkit.crm.endpoint": endpoint})

    def _lookup(self, endpoint: str, email: str, span: Any) -> tuple[bool, Any]:
        if self.cache is None:
            return False, None
        hit, value = self.cache.get((endpoint, email))
        span.set_attribute("agentkit.cache.hit", hit)
        return hit, value

    def _store(self, endpoint: str, email: str, value: Any) -> None:
        if self.cache is not None:
            self.cache.put((endpoint, email), value)

    def get(self, endpoint: str, email: str) -> dict[str, Any]:
        """One blocking read."""
        with self._span(endpoint, email) as span:
            hit, value = self._lookup(endpoint, email, span)
            if hit:
                return value
            seconds = self._seconds(endpoint)
            time.sleep(seconds) if self.live else sim.sleep(seconds)
            value = dict(_CRM_RECORDS[endpoint])
            self._store(endpoint, email, value)
            return value

    async def aget(self, endpoint: str, email: str) -> dict[str, Any]:
        """One non-blocking read: other reads go on while this one waits."""
        with self._span(endpoint, email) as span:
            hit, value = self._lookup(endpoint, email, span)
            if hit:
                return value
            seconds = self._seconds(endpoint)
            await (asyncio.sleep(seconds) if self.live else sim.asleep(seconds))
            value = dict(_CRM_RECORDS[endpoint])
            self._store(endpoint, email, value)
            return value


class AuditLogMiddleware(anthropic.Middleware):
    """The framework's compliance log: serialises every request and stores it before it is sent.

    It runs inside the SDK's span of the call and before the request reaches
    the API, so its time is part of request serialisation in a breakdown.
    """

    def __init__(self, seconds: float = AUDIT_SECONDS, live: bool = False) -> None:
        self.seconds, self.live, self.records = seconds, live, 0

    def handle(self, request: Any, call_next: Any) -> Any:
        self.records += 1
        (time.sleep if self.live else sim.sleep)(self.seconds)  # encode + write the audit record
        return call_next(request)


def crm_client(*, seed: int = 0, live: bool | None = None, quiet: bool = True, **options: Any) -> anthropic.Anthropic:
    """A client (simulated unless live) carrying the framework's audit-log middleware, with the case's scenarios."""
    live = _want_live(live)
    middleware = [*options.pop("middleware", ()), AuditLogMiddleware(live=live)]
    return make_client(live, scenarios=["l3_latency"], seed=seed, quiet=quiet, middleware=middleware, **options)


def _framework_hooks(live: bool) -> dict[str, Callable[..., Any] | list[Callable[..., Any]]]:
    sleep = time.sleep if live else sim.sleep

    def checkpoint(step: Any) -> None:
        # After every step: run the routing callbacks and persist the conversation state to the state store.
        json.dumps(step.request, default=str)
        sleep(ROUTING_SECONDS + CHECKPOINT_SECONDS)

    return {"step_end": checkpoint}


def crm_tools(*, fixed: bool = False, seed: int = 0, live: bool = False,
              clock: ArrivalClock | None = None) -> tuple[list[Tool], CRMClient]:
    """customer_profile and billing_history, and the CRM client behind them.

    `fixed=False`: blocking reads one after another, no cache (the 4.8 s original).
    `fixed=True`: async reads at once, through a 60 s TTL cache on `clock`.
    """
    cache = TTLCache(CACHE_TTL_SECONDS, (clock or ArrivalClock(live)).now) if fixed else None
    crm = CRMClient(seed=seed, live=live, cache=cache)
    sleep = time.sleep if live else sim.sleep

    def billing_history(account_id: str) -> str:
        """The account's recent invoices (newest first).

        Args:
            account_id: the CRM account id, such as "ACC-1042"
        """
        sleep(BILLING_SECONDS * math.exp(random.Random(f"{seed}:billing:{crm.requests}").gauss(0, JITTER)))
        return json.dumps(_INVOICES)

    if fixed:
        async def customer_profile(email: str) -> str:
            """The customer's CRM record: contact, account and subscription.

            Args:
                email: the customer's email address
            """
            parts = await asyncio.gather(*(crm.aget(e, email) for e in CRM_ENDPOINT_SECONDS))
            return json.dumps(dict(zip(CRM_ENDPOINT_SECONDS, parts)))
    else:
        def customer_profile(email: str) -> str:  # type: ignore[misc]  # the slow twin of the async one above
            """The customer's CRM record: contact, account and subscription.

            Args:
                email: the customer's email address
            """
            return json.dumps({e: crm.get(e, email) for e in CRM_ENDPOINT_SECONDS})

    return [tool(customer_profile), tool(billing_history)], crm


def build_crm_agent(client: Any, fixed: bool = False, *, seed: int = 0, model: str = FAST_MODEL,
                    clock: ArrivalClock | None = None, name: str = "crm_support", **agent_options: Any) -> Agent:
    """The case study's support agent on `client` (use `crm_client()` for the audit-log middleware).

    `fixed=True` applies the course's fix to the tools only: async CRM reads
    and a 60 s TTL cache of CRM responses. The agent keeps its CRM client as
    `agent.crm` and its clock as `agent.clock` (see `crm_next_request`).
    """
    live = is_live(client)
    clock = clock or ArrivalClock(live)
    tools, crm = crm_tools(fixed=fixed, seed=seed, live=live, clock=clock)
    agent = Agent(client, model=model, system=SYSTEM, tools=tools, name=name,
                  hooks=_framework_hooks(live), **agent_options)
    agent.crm, agent.clock = crm, clock  # type: ignore[attr-defined]  # the case's handles, read by its notebook
    return agent


def crm_next_request(agent: Agent, gap_seconds: float = 90.0) -> Callable[[int], None]:
    """For `latency.profile(..., between=...)`: before each run, move the agent's clock on `gap_seconds`, as if
    requests for this customer arrived that far apart (over the 60 s TTL: each run starts with a cold cache)."""
    clock = getattr(agent, "clock", None)
    if not isinstance(clock, ArrivalClock):
        raise TypeError("crm_next_request() takes an agent made by build_crm_agent()")
    return lambda i: clock.advance(gap_seconds)
