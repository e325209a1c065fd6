"""The simulated Messages API: `Simulator`, the object that owns its state and answers HTTP requests.

`Simulator.handle()` takes a method, path, headers and body and returns what
the API would: a JSON body, an SSE event stream with the delays between its
events, or an error body with the right status. The in-process transport and
the loopback HTTP server both sit on top of it, so both behave the same.

State lives on the instance (seeded randomness, scenarios, faults, the time
scale and simulated clock, the prompt cache, message threads, batches, the
prefix memos), so two clients with two simulators never share anything. The
work is done by one module per concept, each handed the simulator:
`routing` (method + path dispatch, error responses), `messages` (POST
/v1/messages), `batches`, `threads` (server-side message threads), `sse`
(a Message as an event stream), `request` (a request body read once).
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from . import batches, messages, routing, thinking, threads
from .faults import Faults, RateLimiter, RateLimits
from .latency import LatencyModel, Timing, check_time_scale, time_scale
from .prefix import Match, PrefixMemo, TextMemo
from .request import MessagesRequest
from .response import SimResponse
from .scenarios import Scenario
from .usage import PromptCache

__all__ = ["BATCHES_KEPT", "CANCEL_SECONDS", "REQUESTS_KEPT", "SEEN_KEPT", "THREADS_BETA", "THREADS_KEPT",
           "SimResponse", "Simulator"]

THREADS_BETA = threads.BETA  # re-exported: tests import it from here
REQUESTS_KEPT = 1_000
# Bounds on what a long session keeps, so memory does not grow with use. Past them the oldest go, with the
# API's own semantics for a missing item: an evicted thread is `thread_not_found` (the SDK replays the history
# under a new thread), an evicted ended batch is a 404 (the API deletes batch results after 29 days). A simulator
# reads them when it is made.
SEEN_KEPT = 4_096  # request bodies whose repeat count is remembered (for reruns' determinism)
THREADS_KEPT = 1_000
BATCHES_KEPT = 1_000
#: Simulated seconds a canceled batch spends `canceling` before it has `ended`.
CANCEL_SECONDS = 5.0


@dataclass
class Simulator:
    """A simulated Messages API. Register scenarios to script what the model says."""

    seed: int = 0
    scenarios: list[Scenario] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    latency: LatencyModel = field(default_factory=LatencyModel)
    #: simulated seconds one batch takes, plus `batch_seconds_per_request` per request
    batch_seconds: float = 30.0
    batch_seconds_per_request: float = 0.5
    #: real seconds slept per simulated second for this simulator; None follows the process default
    #: (`agentkit.sim.time_scale()`, set by `set_time_scale` or AGENTKIT_TIME_SCALE)
    time_scale: float | None = None
    rate_limits: RateLimits = field(default_factory=RateLimits)

    def __post_init__(self) -> None:
        self.scenarios = list(self.scenarios)
        if self.time_scale is not None:
            check_time_scale(self.time_scale)
        self.cache = PromptCache()
        self.clock = 0.0  # simulated seconds: advanced by each call's latency and by `advance()`
        self._wall: float | None = None  # in server mode, time.monotonic() when the clock was last synced
        self._check_auth = False
        self._prefix = PrefixMemo()
        self._texts = TextMemo()
        self._limiter = RateLimiter(self.rate_limits)
        # The most recent /v1/messages bodies received, for lessons to inspect; bounded so a long session or a
        # big loop does not keep every request in memory.
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUESTS_KEPT)
        self._threads = threads.ThreadStore(kept=THREADS_KEPT)
        self._batches = batches.BatchStore(kept=BATCHES_KEPT, cancel_seconds=CANCEL_SECONDS)
        self._lock = threading.RLock()
        self._counter = 0
        self._attempts = 0
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._thinking = thinking.Ledger()  # tool calls made after a thinking block, to check continuations

    # -- time -----------------------------------------------------------------------
    def scale(self) -> float:
        """This simulator's time scale: real seconds slept per simulated second."""
        return time_scale() if self.time_scale is None else self.time_scale

    def serve_http(self) -> None:
        """Server mode (`SimServer` calls it): requests must carry an API key and `anthropic-version`, and the
        simulated clock follows real time divided by the time scale, so a learner who pauses sees a 5-minute
        cache entry expire (at time scale 0.02, six real seconds are five simulated minutes). At time scale 0
        the clock moves by each call's latency only, as in process."""
        with self._lock:
            self._check_auth = True
            self._wall = time.monotonic()

    def now(self) -> float:
        """The simulated clock, in seconds (synced with real time first in server mode)."""
        with self._lock:
            if self._wall is not None:
                t = time.monotonic()
                scale = self.scale()
                if scale > 0:
                    self.clock += (t - self._wall) / scale
                self._wall = t
            return self.clock

    def _clock_follows_wall(self) -> bool:
        return self._wall is not None and self.scale() > 0

    # -- learner-facing helpers -------------------------------------------------
    def register(self, *scenarios: Scenario | dict[str, Any] | str) -> None:
        """Add scenarios (objects, dicts, or YAML file paths); earlier ones win when several match."""
        for s in scenarios:
            if isinstance(s, Scenario):
                self.scenarios.append(s)
            elif isinstance(s, dict):
                self.scenarios.append(Scenario.from_dict(s))
            else:
                self.scenarios.extend(Scenario.load(s))

    def advance(self, seconds: float) -> None:
        """Move the simulated clock on, e.g. to let a 5-minute prompt cache expire."""
        with self._lock:
            self.clock += seconds

    def forget_threads(self) -> None:
        """Drop every server-side message thread, as if the server lost them: the next `continue` gets
        `thread_not_found`, and the SDK replays the full history under a new thread."""
        self._threads.clear()

    def finish_batches(self) -> None:
        """End every batch's processing (and canceling) now (tests and impatient learners)."""
        self._batches.finish_all()

    def new_request_id(self) -> str:
        """A fresh `req_...` id, as the API puts in its `request-id` header and error bodies."""
        return self._new_id("req")

    # -- plumbing -----------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            n = self._counter
        digest = hashlib.sha256(f"{self.seed}:{prefix}:{n}".encode()).digest()
        return f"{prefix}_01" + base64.b32encode(digest).decode().rstrip("=").lower()[:22]

    def _rng(self, body: bytes) -> random.Random:
        """A generator seeded by the seed and the request itself (plus how often it was seen), so concurrent
        requests draw the same numbers whatever order they arrive in."""
        key = hashlib.sha256(body).hexdigest()
        with self._lock:
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            self._seen.move_to_end(key)
            if len(self._seen) > SEEN_KEPT:  # the least recently seen body forgets its count
                self._seen.popitem(last=False)
        return random.Random(f"{self.seed}:{key}:{n}")

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes,
               base_url: str = "https://api.anthropic.com") -> SimResponse:
        """Answer one HTTP request. Never raises: every failure becomes an API error response."""
        return routing.handle(self, method, path, headers, body, base_url)

    def _next_attempt(self) -> int:
        """The number of /v1/messages requests seen before this one (seeded faults key on it)."""
        with self._lock:
            attempt = self._attempts
            self._attempts += 1
        return attempt

    def _answer(self, req: MessagesRequest, rng: random.Random,
                match: Match | None = None) -> tuple[Timing, dict[str, Any]]:
        """The reply to a checked request, and its timing (`messages.answer`). A method, so a test can break the
        answering of one simulator and see the API's 500 come back."""
        return messages.answer(self, req, rng, match)
