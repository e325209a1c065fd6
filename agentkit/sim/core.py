"""The simulated Messages API: one object that answers HTTP requests.

`Simulator.handle()` takes a method, path, headers and body and returns what
the API would: a JSON body, an SSE event stream with the delays between its
events, or an error body with the right status. The in-process transport and
the loopback HTTP server both sit on top of it, so both behave the same.

State lives on the instance (prompt cache, message threads, batches, the
simulated clock), so two clients with two simulators never share anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from typing import Any

from . import batches, fallbacks, models_api, server_tools, sse, structured, thinking, threads, validate
from .errors import APIError, invalid
from .faults import Faults, RateLimiter, RateLimits
from .latency import LatencyModel, Timing, check_time_scale, time_scale
from .policy import respond
from .prefix import PrefixMemo, TextMemo
from .response import SimResponse, error_response, json_response
from .scenarios import Scenario
from .usage import PromptCache, input_tokens

THREADS_BETA = threads.BETA  # re-exported: tests import it from here
REQUESTS_KEPT = 1_000
# Bounds on what a long session keeps, so memory does not grow with use. Past them the oldest go, with the
# API's own semantics for a missing item: an evicted thread is `thread_not_found` (the SDK replays the history
# under a new thread), an evicted ended batch is a 404 (the API deletes batch results after 29 days).
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
        request_id = self._new_id("req")
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            validate.body_size(path, body)
            if self._check_auth:
                validate.auth_headers(headers)
            return self._route(method.upper(), path.split("?")[0].rstrip("/"), headers, body, base_url, request_id,
                               models_api.query_of(path))
        except APIError as err:
            return error_response(err, request_id)
        except RecursionError:  # JSON nested deeper than anything can walk: the client's input, not our bug
            return error_response(invalid("The request body is nested too deeply to process; flatten it."),
                                   request_id)
        except Exception as exc:  # a simulator bug must still look like the API, not crash the learner's cell
            internal = APIError(f"Internal error in agentkit's simulator: {type(exc).__name__}: {exc}", "api_error",
                                headers={"x-should-retry": "false"})
            return error_response(internal, request_id)

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes, base_url: str,
               request_id: str, query: dict[str, list[str]] | None = None) -> SimResponse:
        query = query or {}
        if method == "POST" and path == "/v1/messages":
            return self._messages(headers, body, request_id)
        if method == "POST" and path == "/v1/messages/count_tokens":
            data = validate.parse_json(body)
            validate.count_tokens_body(data)
            return json_response({"input_tokens": input_tokens(data)}, request_id)
        if method == "GET" and path == "/v1/models":
            return json_response(models_api.list_models(query), request_id)
        m = re.fullmatch(r"/v1/models/([^/]+)", path)
        if method == "GET" and m:
            return json_response(models_api.get_model(m.group(1)), request_id)
        if path == "/v1/messages/batches":
            if method == "POST":
                return self._create_batch(validate.parse_json(body), base_url, request_id)
            if method == "GET":
                return json_response(models_api.paginate([b.as_json(base_url) for b in self._batches.newest_first()],
                                                         query), request_id)
        m = re.fullmatch(r"/v1/messages/batches/([^/]+)(/cancel|/results)?", path)
        if m:
            batch = self._batches.get(m.group(1))
            action = m.group(2)
            if method == "GET" and action is None:
                return json_response(batch.as_json(base_url), request_id)
            if method == "POST" and action == "/cancel":
                self._batches.cancel(batch, self.scale())
                return json_response(batch.as_json(base_url), request_id)
            if method == "GET" and action == "/results":
                return SimResponse(200, {"content-type": "application/binary", "request-id": request_id},
                                   batch.results_jsonl())
            if method == "DELETE" and action is None:
                self._batches.delete(batch)
                return json_response({"id": batch.id, "type": "message_batch_deleted"}, request_id)
        raise APIError(f"Not found: {method} {path} is not part of the simulated API "
                       "(messages, count_tokens, models, message batches).", "not_found_error")

    # -- POST /v1/messages --------------------------------------------------------
    def _retry_headers(self, err: APIError, wait: float) -> APIError:
        # The API sends retry-after (whole seconds) on 429s; we also send the non-standard retry-after-ms, scaled,
        # which the SDK prefers, so retries wait simulated time rather than whole real seconds.
        err.headers.update({"retry-after": err.headers.get("retry-after") or str(max(1, round(wait))),
                            # at time scale 0 a zero would make the SDK fall back to its own backoff
                            "retry-after-ms": f"{max(wait * self.scale() * 1000, 0.001):.3f}"})
        return err

    def _messages(self, headers: dict[str, str], raw: bytes, request_id: str) -> SimResponse:
        data = validate.parse_json(raw, self._texts.parse)
        with self._lock:
            attempt = self._attempts
            self._attempts += 1
        rng = self._rng(raw)
        fault = self.faults.draw(rng, attempt)
        if fault is not None:
            raise self._retry_headers(fault, self.faults.retry_after)
        now = self.now()
        limited = self._limiter.admit(now)
        if limited is not None:
            raise self._retry_headers(limited, float(limited.headers["retry-after"]))
        thread_key, body = self._threads.expand(data, headers, self._new_id)
        entries = fallbacks.chain(body, headers)
        primary = {k: v for k, v in body.items() if k != "fallbacks"} if "fallbacks" in body else body
        match = self._prefix.lookup(primary)
        validate.messages_body(primary, checked_prefix=match.reuse if match else 0)
        self._check_features(body)
        self.requests.append(body)
        first = [True]

        def answer(b: dict[str, Any]) -> tuple[Timing, dict[str, Any]]:
            # the request as sent reuses the prefix memo; a fallback attempt (another model) is accounted afresh
            if first[0]:
                first[0] = False
                return self._answer(b, rng, match, len(raw))
            return self._answer(b, rng)

        timing, message = fallbacks.serve(body, entries, answer,
                                          lambda b: (validate.messages_body(b), self._check_features(b)))
        if thread_key is not None:
            self._threads.store(thread_key, body, message)
        timing = Timing(timing.ttft * self.faults.slowdown(rng), timing.output_seconds)
        if not self._clock_follows_wall():  # in server mode the real (scaled) wait moves the clock itself
            with self._lock:
                self.clock += timing.total
        u = message["usage"]
        hdrs = {"request-id": request_id, "x-agentkit-simulated-seconds": f"{timing.total:.3f}",
                **self._limiter.charge(now, u["input_tokens"] + u["cache_creation_input_tokens"], u["output_tokens"])}
        if data.get("stream"):
            broken = self.faults.breaks_stream(rng)
            return SimResponse(200, {"content-type": "text/event-stream", "cache-control": "no-cache", **hdrs},
                               chunks=list(sse.encode(message, timing, self.scale(), broken)), delay=0.0)
        return SimResponse(200, {"content-type": "application/json", **hdrs}, json.dumps(message).encode(),
                           delay=timing.total * self.scale())

    def _check_features(self, body: dict[str, Any]) -> None:
        """Request rules of the newer features, each in its own module (thinking, structured outputs, server
        tools), checked after the core shape (`validate.messages_body`)."""
        thinking.validate(body)
        structured.validate(body)
        server_tools.validate(body)
        thinking.check_history(body, self._thinking)

    def _answer(self, body: dict[str, Any], rng: random.Random,
                match: Any = None, size: int = 0) -> tuple[Timing, dict[str, Any]]:
        """The reply as a Message body, and how long it takes: what the model says, usage with caching, latency.
        `match` is the prefix memo's match for this body (the unchanged history's accounting is reused)."""
        segs, bounds, bps = self._prefix.account_inputs(body, match, size)
        validate.prompt_length(body["model"], bounds[-1][1] if bounds else 0)
        reply = respond(body, self.scenarios, self._new_id)
        self._thinking.record(reply.content)
        usage = self.cache.account(body["model"], segs, self.now(), boundaries=bounds, breakpoints=bps)
        if reply.extra_input_tokens:  # search results and fetched pages the model read inside the reply
            usage = replace(usage, input_tokens=usage.input_tokens + reply.extra_input_tokens)
        timing = self.latency.timing(body["model"], input_tokens=usage.input_tokens + usage.cache_creation_input_tokens,
                                     output_tokens=reply.output_tokens, cached_tokens=usage.cache_read_input_tokens,
                                     rng=rng)
        message = {
            "id": self._new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": reply.content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": reply.stop_sequence,
            "usage": usage.as_dict(reply.output_tokens),
        }
        if reply.server_tool_use:
            message["usage"]["server_tool_use"] = reply.server_tool_use
        if reply.thinking_tokens:
            message["usage"]["output_tokens_details"] = {"thinking_tokens": reply.thinking_tokens}
        return timing, message

    # -- message batches --------------------------------------------------------------
    def _create_batch(self, data: dict[str, Any], base_url: str, request_id: str) -> SimResponse:
        results = batches.results_of(data, self._answer_batched, request_id)
        seconds = self.batch_seconds + self.batch_seconds_per_request * len(results)
        batch = self._batches.add(self._new_id("msgbatch"), results, seconds * self.scale())
        return json_response(batch.as_json(base_url), request_id)

    def _answer_batched(self, params: dict[str, Any]) -> dict[str, Any]:
        """One batched request answered as `/v1/messages` would answer it (no faults, no rate limit)."""
        validate.messages_body(params)
        self._check_features(params)
        raw = json.dumps(params, sort_keys=True).encode()
        _, message = self._answer(params, self._rng(raw), None, len(raw))
        return message
