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
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from . import fallbacks, models_api, server_tools, structured, thinking, validate
from .errors import APIError, invalid
from .faults import Faults, RateLimiter, RateLimits, stream_error_event
from .latency import LatencyModel, Timing, check_time_scale, time_scale
from .policy import respond
from .prefix import PrefixMemo, TextMemo
from .scenarios import Scenario
from .usage import PromptCache, input_tokens

THREADS_BETA = "message-threads-2026-08-12"
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
class SimResponse:
    """What to send back. `delay` is slept (real seconds) before the status line;
    a streamed body is `chunks`, each slept for its delay before it is sent."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: list[tuple[float, bytes]] | None = None
    delay: float = 0.0


@dataclass
class _Thread:
    system: Any
    tools: Any
    model: str
    messages: list[dict[str, Any]]
    last_id: str
    busy: bool = False


@dataclass
class _Batch:
    id: str
    created_at: datetime
    started: float  # time.monotonic() at creation
    ends_at: float  # time.monotonic() when processing ends
    results: list[dict[str, Any]]
    canceled_at: datetime | None = None
    cancel_ends_at: float | None = None  # time.monotonic() when canceling is over
    done_at_cancel: int = 0  # requests already processed when the cancel came
    ended_at: datetime | None = None

    def ended(self) -> bool:
        now = time.monotonic()
        if self.cancel_ends_at is not None:
            return now >= min(self.cancel_ends_at, self.ends_at)
        return now >= self.ends_at


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
        self._threads: dict[str, _Thread] = {}
        self._by_reply: dict[str, str] = {}  # reply id -> thread key
        self._batches: dict[str, _Batch] = {}
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
        with self._lock:
            self._threads.clear()
            self._by_reply.clear()

    def finish_batches(self) -> None:
        """End every batch's processing (and canceling) now (tests and impatient learners)."""
        with self._lock:
            now = time.monotonic()
            for b in self._batches.values():
                b.ends_at = min(b.ends_at, now)
                if b.cancel_ends_at is not None:
                    b.cancel_ends_at = min(b.cancel_ends_at, now)

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
            return _error_response(err, request_id)
        except RecursionError:  # JSON nested deeper than anything can walk: the client's input, not our bug
            return _error_response(invalid("The request body is nested too deeply to process; flatten it."),
                                   request_id)
        except Exception as exc:  # a simulator bug must still look like the API, not crash the learner's cell
            internal = APIError(f"Internal error in agentkit's simulator: {type(exc).__name__}: {exc}", "api_error",
                                headers={"x-should-retry": "false"})
            return _error_response(internal, request_id)

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes, base_url: str,
               request_id: str, query: dict[str, list[str]] | None = None) -> SimResponse:
        query = query or {}
        if method == "POST" and path == "/v1/messages":
            return self._messages(headers, body, request_id)
        if method == "POST" and path == "/v1/messages/count_tokens":
            data = validate.parse_json(body)
            validate.count_tokens_body(data)
            return _json({"input_tokens": input_tokens(data)}, request_id)
        if method == "GET" and path == "/v1/models":
            return _json(models_api.list_models(query), request_id)
        m = re.fullmatch(r"/v1/models/([^/]+)", path)
        if method == "GET" and m:
            return _json(models_api.get_model(m.group(1)), request_id)
        if path == "/v1/messages/batches":
            if method == "POST":
                return self._create_batch(validate.parse_json(body), base_url, request_id)
            if method == "GET":
                with self._lock:
                    batches = list(reversed(self._batches.values()))
                return _json(models_api.paginate([self._batch_json(b, base_url) for b in batches], query),
                             request_id)
        m = re.fullmatch(r"/v1/messages/batches/([^/]+)(/cancel|/results)?", path)
        if m:
            batch = self._batches.get(m.group(1))
            if batch is None:
                raise APIError(f"message_batch_id: no batch with id {m.group(1)!r}", "not_found_error")
            action = m.group(2)
            if method == "GET" and action is None:
                return _json(self._batch_json(batch, base_url), request_id)
            if method == "POST" and action == "/cancel":
                with self._lock:
                    if not batch.ended() and batch.canceled_at is None:
                        # The API answers `canceling` at once and ends the batch once in-flight work stops:
                        # what was already processed keeps its result, the rest is `canceled`.
                        now = time.monotonic()
                        span = max(batch.ends_at - batch.started, 1e-9)
                        batch.done_at_cancel = int(len(batch.results) * min(1.0, (now - batch.started) / span))
                        batch.canceled_at = datetime.now(timezone.utc)
                        batch.cancel_ends_at = now + CANCEL_SECONDS * self.scale()
                return _json(self._batch_json(batch, base_url), request_id)
            if method == "GET" and action == "/results":
                if not batch.ended():
                    raise invalid(f"Batch {batch.id} is still processing; results are available once it has ended.")
                lines = [json.dumps(r) for r in self._final_results(batch)]
                return SimResponse(200, {"content-type": "application/binary", "request-id": request_id},
                                   ("\n".join(lines) + "\n").encode())
            if method == "DELETE" and action is None:
                if not batch.ended():
                    raise invalid("A batch must end (or be canceled) before it can be deleted.")
                with self._lock:
                    del self._batches[batch.id]
                return _json({"id": batch.id, "type": "message_batch_deleted"}, request_id)
        raise APIError(f"Not found: {method} {path} is not part of the simulated API "
                       "(messages, count_tokens, models, message batches).", "not_found_error")

    # -- POST /v1/messages --------------------------------------------------------
    def _retry_headers(self, err: APIError, wait: float) -> APIError:
        # The API sends retry-after (whole seconds) on 429s; we also send the non-standard retry-after-ms, scaled,
        # which the SDK prefers, so retries wait simulated time rather than whole real seconds.
        err.headers.update({"retry-after": err.headers.get("retry-after") or str(max(1, round(wait))),
                            # at time scale 0 a zero would make the SDK fall back to its own backoff
                            "retry-after-ms": f"{max(wait * self.scale() * 1000, 0.001):.3f}",
                            # an error comes back at once; saying so keeps client-side timings in simulated time
                            "x-agentkit-simulated-seconds": "0.000"})
        return err

    def _messages(self, headers: dict[str, str], raw: bytes, request_id: str) -> SimResponse:
        data = validate.parse_json(raw, self._texts.parse)
        with self._lock:
            attempt = self._attempts
            self._attempts += 1
        rng = self._rng(raw)
        fault = self.faults.draw(rng, attempt) if self.faults.applies_to(data.get("model")) else None
        if fault is not None:
            raise self._retry_headers(fault, self.faults.retry_after)
        now = self.now()
        limited = self._limiter.admit(now)
        if limited is not None:
            raise self._retry_headers(limited, float(limited.headers["retry-after"]))
        thread_key, body = self._expand_thread(data, headers)
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
            self._store_thread(thread_key, body, message)
        timing = Timing(timing.ttft * self.faults.slowdown(rng), timing.output_seconds)
        if not self._clock_follows_wall():  # in server mode the real (scaled) wait moves the clock itself
            with self._lock:
                self.clock += timing.total
        u = message["usage"]
        hdrs = {"request-id": request_id, "x-agentkit-simulated-seconds": f"{timing.total:.3f}",
                "x-agentkit-simulated-ttft": f"{timing.ttft:.4f}",
                **self._limiter.charge(now, u["input_tokens"] + u["cache_creation_input_tokens"], u["output_tokens"])}
        if data.get("stream"):
            broken = self.faults.breaks_stream(rng)
            return SimResponse(200, {"content-type": "text/event-stream", "cache-control": "no-cache", **hdrs},
                               chunks=list(_sse_events(message, timing, self.scale(), broken)), delay=0.0)
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

    # -- server-side message threads ----------------------------------------------
    def _expand_thread(self, data: dict[str, Any], headers: dict[str, str]) -> tuple[str | None, dict[str, Any]]:
        """For a threaded request, the full conversation the model sees, and the thread it belongs to."""
        thread = data.get("thread")
        if thread is None:
            return None, data
        if THREADS_BETA not in headers.get("anthropic-beta", ""):
            raise invalid(f"thread: requires the beta header 'anthropic-beta: {THREADS_BETA}'")
        if not isinstance(thread, dict) or thread.get("type") not in ("create", "continue"):
            raise invalid("thread: must be {\"type\": \"create\"} or {\"type\": \"continue\", "
                          "\"previous_message_id\": ...}")
        body = {k: v for k, v in data.items() if k != "thread"}
        if thread["type"] == "create":
            return self._new_id("thr"), body
        prev = thread.get("previous_message_id")
        with self._lock:
            key = self._by_reply.get(prev) if isinstance(prev, str) else None
            t = self._threads.get(key) if key else None
            if t is None:
                raise APIError(f"thread.previous_message_id: no thread holds message {prev!r}", "not_found_error",
                               details={"error_code": "thread_not_found"})
            if t.last_id != prev:
                raise invalid(f"thread.previous_message_id: {prev!r} was already continued; continue from "
                              f"{t.last_id!r}", details={"error_code": "thread_already_continued"})
        for name in ("system", "tools"):
            if name in body:
                raise invalid(f"{name}: cannot be sent when continuing a thread; the thread keeps the one it was "
                              "created with")
        if t.system is not None:
            body["system"] = t.system
        if t.tools is not None:
            body["tools"] = t.tools
        body["messages"] = [*t.messages, *(body.get("messages") or [])]
        return key, body

    def _store_thread(self, key: str, body: dict[str, Any], message: dict[str, Any]) -> None:
        reply = {"role": "assistant", "content": message["content"]}
        with self._lock:
            self._threads[key] = _Thread(system=body.get("system"), tools=body.get("tools"), model=body["model"],
                                         messages=[*body["messages"], reply], last_id=message["id"])
            self._by_reply[message["id"]] = key
            while len(self._threads) > THREADS_KEPT:  # the oldest thread goes: its next continue is not found
                del self._threads[next(iter(self._threads))]
            while len(self._by_reply) > THREADS_KEPT * 10:
                del self._by_reply[next(iter(self._by_reply))]

    # -- message batches --------------------------------------------------------------
    def _create_batch(self, data: dict[str, Any], base_url: str, request_id: str) -> SimResponse:
        requests = data.get("requests")
        if not isinstance(requests, list) or not requests:
            raise invalid("requests: must be a non-empty list of {custom_id, params}")
        if len(requests) > 100_000:
            raise invalid("requests: a batch holds at most 100,000 requests")
        seen: set[str] = set()
        results = []
        for i, r in enumerate(requests):
            cid = r.get("custom_id") if isinstance(r, dict) else None
            if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", cid):
                raise invalid(f"requests.{i}.custom_id: 1-64 letters, digits, '_' or '-'")
            if cid in seen:
                raise invalid(f"requests.{i}.custom_id: {cid!r} is used twice; custom_ids must be unique")
            seen.add(cid)
            params = r.get("params")
            try:
                if not isinstance(params, dict):
                    raise invalid(f"requests.{i}.params: must be an object of message parameters")
                if params.get("stream"):
                    raise invalid("stream: batched requests cannot stream")
                validate.messages_body(params)
                self._check_features(params)
                raw = json.dumps(params, sort_keys=True).encode()
                _, message = self._answer(params, self._rng(raw), None, len(raw))
                message["usage"]["service_tier"] = "batch"  # billed at the batch discount (agentkit.pricing)
                results.append({"custom_id": cid, "result": {"type": "succeeded", "message": message}})
            except APIError as err:
                results.append({"custom_id": cid, "result": {"type": "errored", "error": json.loads(
                    err.body(request_id))}})
        seconds = self.batch_seconds + self.batch_seconds_per_request * len(requests)
        started = time.monotonic()
        batch = _Batch(id=self._new_id("msgbatch"), created_at=datetime.now(timezone.utc), started=started,
                       ends_at=started + seconds * self.scale(), results=results)
        with self._lock:
            self._batches[batch.id] = batch
            if len(self._batches) > BATCHES_KEPT:  # the oldest ended batch goes (as if its results expired)
                old = next((k for k, b in self._batches.items() if b.ended()), None)
                if old is not None:
                    del self._batches[old]
        return _json(self._batch_json(batch, base_url), request_id)

    def _final_results(self, batch: _Batch) -> list[dict[str, Any]]:
        if batch.canceled_at is None:
            return batch.results
        done = batch.done_at_cancel
        return [*batch.results[:done],
                *({"custom_id": r["custom_id"], "result": {"type": "canceled"}} for r in batch.results[done:])]

    def _batch_json(self, b: _Batch, base_url: str) -> dict[str, Any]:
        ended = b.ended()
        if ended and b.ended_at is None:
            b.ended_at = datetime.now(timezone.utc)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for r in self._final_results(b):
                counts[r["result"]["type"]] += 1
        else:
            counts["processing"] = len(b.results)
        status = "ended" if ended else ("canceling" if b.canceled_at else "in_progress")
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _iso(b.created_at),
            "expires_at": _iso(b.created_at + timedelta(hours=24)),
            "ended_at": _iso(b.ended_at) if ended and b.ended_at else None,
            "cancel_initiated_at": _iso(b.canceled_at) if b.canceled_at else None,
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{b.id}/results" if ended else None,
        }


# -- helpers -------------------------------------------------------------------------
def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _json(data: Any, request_id: str, status: int = 200) -> SimResponse:
    return SimResponse(status, {"content-type": "application/json", "request-id": request_id},
                       json.dumps(data).encode())


def _error_response(err: APIError, request_id: str) -> SimResponse:
    headers = {"content-type": "application/json", "request-id": request_id, **err.headers}
    return SimResponse(err.status, headers, err.body(request_id))


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _word_groups(text: str) -> list[str]:
    parts = re.findall(r"\S+\s*|\s+", text) or [""]
    return ["".join(parts[j:j + 3]) for j in range(0, len(parts), 3)]


def _sse_events(message: dict[str, Any], timing: Timing, scale: float,
                broken: bool = False) -> Iterable[tuple[float, bytes]]:
    """The real event sequence, with real delays: TTFT before the first delta, then output at the model's rate.
    `broken`: the stream stops after its first content delta with the API's mid-stream `event: error`."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**message["usage"], "output_tokens": 1}}
    yield 0.0, _event("message_start", {"type": "message_start", "message": start})
    pieces: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = []
    total_pieces = 0
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            # citations first (as citations_delta), then the words, ~3 per delta as the API groups tokens
            deltas = [{"type": "citations_delta", "citation": c} for c in block.get("citations") or []]
            deltas += [{"type": "text_delta", "text": w} for w in _word_groups(block["text"])]
            pieces.append((i, {"type": "text", "text": ""}, deltas))
        elif block["type"] == "thinking":
            deltas = [{"type": "thinking_delta", "thinking": w} for w in _word_groups(block["thinking"])
                      if w] + [{"type": "signature_delta", "signature": block["signature"]}]
            pieces.append((i, {"type": "thinking", "thinking": "", "signature": ""}, deltas))
        elif block["type"] in ("tool_use", "server_tool_use"):
            js = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": js[j:j + 24]} for j in range(0, len(js), 24)]
            pieces.append((i, {**block, "input": {}}, deltas))
        else:  # redacted thinking and server-tool results arrive whole in content_block_start
            pieces.append((i, block, []))
        total_pieces += len(pieces[-1][2])
    per_delta = timing.output_seconds / max(total_pieces, 1) * scale
    first = True
    for i, block_start, deltas in pieces:
        yield 0.0, _event("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": block_start})
        if i == 0:
            yield 0.0, _event("ping", {"type": "ping"})
        for d in deltas:
            delay = timing.ttft * scale if first else per_delta
            first = False
            yield delay, _event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
            if broken:
                yield per_delta, _event("error", stream_error_event())
                return
        yield 0.0, _event("content_block_stop", {"type": "content_block_stop", "index": i})
    # The last share of output time comes before message_delta, so a stream takes ttft + output time in all,
    # the same total as the non-streamed reply.
    yield (timing.ttft * scale if first else per_delta), _event("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
        "usage": {"output_tokens": message["usage"]["output_tokens"]},
    })
    yield 0.0, _event("message_stop", {"type": "message_stop"})
