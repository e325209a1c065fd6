"""Client middleware for cost, speed and resilience: a ledger, a response cache,
model fallback and a circuit breaker.

Each class is an `anthropic.Middleware` (with `handle` for `Anthropic` and
`handle_async` for `AsyncAnthropic`): you hand it to the client and every
request goes through it, whether it comes from your own code, `Agent`, or the
SDK's tool runner::

    ledger = Ledger()
    client = agentkit.client(middleware=[ledger, CircuitBreaker(fallback_model=FAST_MODEL),
                                         ModelFallback(FAST_MODEL), ResponseCache(ttl=300)])

The SDK runs the middleware chain inside its retry loop, once per HTTP attempt
(the first entry of the list is the outermost). That placement matters:

- `Ledger` (outermost) sees every attempt, failed ones included, so it can say
  what a call really cost and how long it really took, retries and waits included.
- `CircuitBreaker` counts failures across calls and, once a dependency keeps
  failing, stops sending it traffic for a while (failing fast, or rerouting to
  a fallback model) instead of letting every call wait through its retries.
- `ModelFallback` answers a capacity error (429, 529, 5xx) from the requested
  model by trying another model at once, inside the same attempt.
- `ResponseCache` (innermost) answers an identical request from memory.

Why our own and not a library: the SDK ships only a *refusal* fallback
(`anthropic.lib.middleware.BetaRefusalFallbackMiddleware`, for requests a model
declines on policy grounds; the server-side `fallbacks=[...]` beta does the same
on the API's side). Neither handles an overloaded or failing model, which is
what resilience needs; and no well-kept library plugs a cache or breaker into
the SDK's middleware chain. Each class here is a few dozen lines on the SDK's
own hook.

Times are *simulated* seconds when the client is agentkit's simulator (read
from its ``x-agentkit-simulated-seconds`` header), real seconds otherwise.

Nothing here keeps a credential. Since SDK 2.17 a middleware's `request.headers`
include the client's own (`Authorization: Bearer <key>`, or `x-api-key`); the
ledger keeps each attempt's headers only through `agentkit.redact.redact_headers`,
and the response cache keys on the URL and body, never on headers.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Hashable, Iterable, Iterator

import anthropic
import httpx2
from anthropic import APIRequest, APIResponse, AsyncAPIResponse

from agentkit import clock as kit_clock
from agentkit.pricing import cost_of
from agentkit.redact import redact_headers

__all__ = [
    "Attempt",
    "CallRecord",
    "CircuitBreaker",
    "CircuitOpenError",
    "Ledger",
    "LedgerSummary",
    "ModelFallback",
    "ResponseCache",
    "percentile",
]

SIM_SECONDS_HEADER = "x-agentkit-simulated-seconds"
#: Statuses that say "the service is busy or broken, not your request": worth a retry or a fallback.
CAPACITY_STATUSES = frozenset({429, 500, 502, 503, 504, 529})


def _is_messages_call(request: APIRequest) -> bool:
    return request.method.lower() == "post" and request.url.rstrip("/").endswith("/v1/messages")


def _body(request: APIRequest) -> dict[str, Any]:
    body = request.json
    return body if isinstance(body, dict) else {}


def _with_model(request: APIRequest, model: str) -> APIRequest:
    return request.copy(body={**_body(request), "model": model})


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, or nan when there are none.

    One definition for the whole kit: Lesson 3's `agentkit.latency.percentiles` (linear interpolation)."""
    data = [float(v) for v in values]
    if not data:
        return math.nan
    from agentkit.latency import percentiles  # imported here: the middleware itself stays light

    return percentiles(data, (q,))[f"p{q:g}"]


# -- the ledger ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of a Messages call, as the ledger saw it."""

    call_id: str  # the same for every attempt of one call (the SDK's idempotency key)
    attempt: int  # 0 for the first attempt, then 1, 2, ... for the SDK's retries
    model: str  # the model that answered (or failed)
    status: int | None  # HTTP status; None for a connection failure; 200 for a cache hit
    seconds: float  # how long the attempt took
    retry_after: float = 0.0  # seconds the API asked the client to wait before the next attempt
    input_tokens: int = 0  # everything sent: uncached input + cache writes + cache reads
    output_tokens: int = 0
    cache_read_tokens: int = 0  # the part of input_tokens read from the prompt cache
    cost: float = 0.0  # US dollars, priced with agentkit.pricing.cost_of
    cached: bool = False  # answered by a ResponseCache, not the API
    streamed: bool = False  # a streamed call: priced from the usage its events carried
    #: the request headers as sent, credentials masked (agentkit.redact.redact_headers): name -> value
    headers: tuple[tuple[str, str], ...] = ()
    #: The response's usage block as plain data (`usage.model_dump()`), so a check can price it again elsewhere.
    usage: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class CallRecord:
    """One call as the caller experienced it: all its attempts and the waits between them."""

    call_id: str
    attempts: tuple[Attempt, ...]

    @property
    def ok(self) -> bool:
        return self.attempts[-1].ok

    @property
    def seconds(self) -> float:
        """End-to-end time: every attempt plus the retry-after wait before each retry."""
        waits = sum(a.retry_after for a in self.attempts[:-1])
        return sum(a.seconds for a in self.attempts) + waits

    @property
    def cost(self) -> float:
        return sum(a.cost for a in self.attempts)

    @property
    def model(self) -> str:
        """The model that gave the final answer (or the last failure)."""
        return self.attempts[-1].model


@dataclass(frozen=True)
class LedgerSummary:
    """Success rate, latency percentiles and cost over a ledger's calls."""

    calls: int
    succeeded: int
    attempts: int
    cache_hits: int
    p50: float
    p95: float
    p99: float
    cost: float
    served_by: dict[str, int] = field(default_factory=dict)  # model -> calls it answered

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.calls if self.calls else math.nan

    @property
    def cost_per_call(self) -> float:
        return self.cost / self.calls if self.calls else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "success rate": round(self.success_rate, 4), "attempts": self.attempts,
                "cache hits": self.cache_hits, "p50 s": round(self.p50, 2), "p95 s": round(self.p95, 2),
                "p99 s": round(self.p99, 2), "cost $": round(self.cost, 6)}


class Ledger(anthropic.Middleware):
    """Records every Messages attempt: model, status, tokens, dollars and (simulated) seconds.

    Put it first in the middleware list so it sees retries, fallbacks and cache
    hits. `calls()` groups attempts by call; `summary()` gives success rate,
    p50/p95/p99 and cost; `clock()` is the simulated time the calls have taken
    so far (a sequential workload's clock, handy for a circuit breaker's cool-down).
    """

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._elapsed = 0.0

    def handle(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        if not _is_messages_call(request):
            return call_next(request)
        started = kit_clock.monotonic()
        try:
            result = call_next(request)
        except Exception as exc:
            self._raised(request, exc, started)
            raise
        if not isinstance(result, APIResponse):  # a middleware further in answered from memory
            return self._from_memory(request, result)
        http = result.http_response
        if request.stream and http.is_success:
            # The body is still on the wire: price the call from its events as the caller reads them.
            http.stream = _TappedStream(http.stream, self._stream_done(request, http, started),
                                        http.headers.get("content-encoding"))
            return result
        self._answered(request, http, result.parse() if http.is_success else None, started)
        return result

    async def handle_async(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        if not _is_messages_call(request):
            return await call_next(request)
        started = kit_clock.monotonic()
        try:
            result = await call_next(request)
        except Exception as exc:
            self._raised(request, exc, started)
            raise
        if not isinstance(result, AsyncAPIResponse):
            return self._from_memory(request, result)
        http = result.http_response
        if request.stream and http.is_success:
            http.stream = _AsyncTappedStream(http.stream, self._stream_done(request, http, started),
                                             http.headers.get("content-encoding"))
            return result
        self._answered(request, http, await result.parse() if http.is_success else None, started)
        return result

    # the bookkeeping shared by the sync and async paths
    @staticmethod
    def _ids(request: APIRequest) -> tuple[str, int, str]:
        return str(request.options.idempotency_key or id(request)), request.retries_taken, str(_body(request).get("model", ""))

    @staticmethod
    def _headers(request: APIRequest) -> tuple[tuple[str, str], ...]:
        return tuple(redact_headers(request.headers).items())

    def _raised(self, request: APIRequest, exc: BaseException, started: float) -> None:
        call_id, attempt, model = self._ids(request)
        status = getattr(getattr(exc, "response", None), "status_code", None)
        # a call an open breaker refused was never sent: it took no time (and no wall-clock noise)
        seconds = 0.0 if isinstance(exc, CircuitOpenError) else kit_clock.monotonic() - started
        self._record(Attempt(call_id, attempt, model, status, seconds, headers=self._headers(request)))

    def _from_memory(self, request: APIRequest, result: Any) -> Any:
        call_id, attempt, model = self._ids(request)
        self._record(Attempt(call_id, attempt, str(getattr(result, "model", model)), 200, 0.0, cached=True,
                             headers=self._headers(request)))
        return result

    def _stream_done(self, request: APIRequest, http: Any, started: float) -> Callable[[_StreamUsage], None]:
        """What to do when a streamed body has been read (or closed early): record the attempt, priced from the
        usage its `message_start` and `message_delta` events carried. A stream that ended without `message_stop`
        (dropped, or an `error` event) is recorded as failed (status None), still priced for what it used."""
        call_id, attempt, model = self._ids(request)
        headers = self._headers(request)
        header = http.headers.get(SIM_SECONDS_HEADER)

        def done(seen: _StreamUsage) -> None:
            seconds = float(header) if header is not None else kit_clock.monotonic() - started
            usage = seen.usage
            name = seen.model or model
            sent = sum(int(usage.get(k) or 0) for k in
                       ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
            try:
                cost = cost_of(name, usage) if usage else 0.0
            except Exception:  # noqa: BLE001 - a model the price table does not know: the call still counts
                cost = 0.0
            self._record(Attempt(call_id, attempt, name, http.status_code if seen.complete else None, seconds,
                                 input_tokens=sent, output_tokens=int(usage.get("output_tokens") or 0),
                                 cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0), cost=cost,
                                 streamed=True, headers=headers, usage=dict(usage) if usage else None))

        return done

    def _answered(self, request: APIRequest, http: Any, message: Any, started: float) -> None:
        call_id, attempt, model = self._ids(request)
        header = http.headers.get(SIM_SECONDS_HEADER)
        seconds = float(header) if header is not None else kit_clock.monotonic() - started
        if message is not None:
            usage = message.usage
            sent = (usage.input_tokens or 0) + (usage.cache_read_input_tokens or 0) + \
                (usage.cache_creation_input_tokens or 0)
            self._record(Attempt(call_id, attempt, message.model, http.status_code, seconds,
                                 input_tokens=sent, output_tokens=usage.output_tokens or 0,
                                 cache_read_tokens=usage.cache_read_input_tokens or 0,
                                 cost=cost_of(message.model, usage), headers=self._headers(request),
                                 usage=usage.model_dump()))
        else:
            self._record(Attempt(call_id, attempt, model, http.status_code, seconds,
                                 retry_after=_retry_after(http.headers) if not http.is_success else 0.0,
                                 headers=self._headers(request)))

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)
            self._elapsed += attempt.seconds + attempt.retry_after

    def clock(self) -> float:
        """Seconds the recorded attempts and waits add up to (simulated seconds against the simulator)."""
        return self._elapsed

    def calls(self) -> list[CallRecord]:
        groups: dict[str, list[Attempt]] = {}
        with self._lock:
            for a in self.attempts:
                groups.setdefault(a.call_id, []).append(a)
        return [CallRecord(cid, tuple(items)) for cid, items in groups.items()]

    def summary(self) -> LedgerSummary:
        calls = self.calls()
        times = [c.seconds for c in calls]
        served: dict[str, int] = {}
        for c in calls:
            if c.ok:
                served[c.model] = served.get(c.model, 0) + 1
        return LedgerSummary(
            calls=len(calls), succeeded=sum(c.ok for c in calls), attempts=len(self.attempts),
            cache_hits=sum(a.cached for a in self.attempts), p50=percentile(times, 50), p95=percentile(times, 95),
            p99=percentile(times, 99), cost=sum(c.cost for c in calls), served_by=served,
        )

    def clear(self) -> None:
        with self._lock:
            self.attempts.clear()
            self._elapsed = 0.0


class _StreamUsage:
    """Reads a Messages event stream's bytes as they pass (SSE frames, gzip or deflate undone) and keeps what
    pricing needs: the model and usage of `message_start`, the cumulative usage of each `message_delta`, and
    whether `message_stop` arrived. Why by hand: the SDK's own SSE decoder belongs to the `Stream` the caller
    reads; a middleware only sees the bytes, and these three event types are all it needs."""

    def __init__(self, encoding: str | None, on_done: Callable[[_StreamUsage], None]) -> None:
        enc = (encoding or "identity").strip().lower()
        self._inflate: Any = None
        if enc == "gzip":
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self._inflate = zlib.decompressobj()
        self._readable = enc in ("identity", "gzip", "deflate")  # br/zstd: the call is recorded, unpriced
        self._buffer = b""
        self._on_done: Callable[[_StreamUsage], None] | None = on_done
        self.model: str | None = None
        self.usage: dict[str, Any] = {}
        self.complete = False

    def feed(self, chunk: bytes) -> None:
        if not self._readable:
            return
        try:
            data = self._inflate.decompress(chunk) if self._inflate is not None else chunk
        except zlib.error:
            self._readable = False
            return
        self._buffer += data.replace(b"\r\n", b"\n")
        while b"\n\n" in self._buffer:
            frame, self._buffer = self._buffer.split(b"\n\n", 1)
            self._event(frame)

    def _event(self, frame: bytes) -> None:
        payload = b"\n".join(line[5:].lstrip() for line in frame.split(b"\n") if line.startswith(b"data:"))
        try:
            event = json.loads(payload) if payload else None
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            message = event["message"]
            self.model = message.get("model") or self.model
            self.usage.update({k: v for k, v in (message.get("usage") or {}).items() if v is not None})
        elif kind == "message_delta":
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.complete = True

    def finish(self) -> None:
        """Record once: at the end of the body, or when the caller closes the stream early."""
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done(self)


class _TappedStream(httpx2.SyncByteStream):
    """A response body that passes every byte through to the SDK and shows it to a `_StreamUsage` on the way."""

    def __init__(self, inner: Any, on_done: Callable[[_StreamUsage], None], encoding: str | None = None) -> None:
        self._inner = inner
        self._seen = _StreamUsage(encoding, on_done)

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                self._seen.feed(chunk)
                yield chunk
        finally:
            self._seen.finish()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._seen.finish()


class _AsyncTappedStream(httpx2.AsyncByteStream):
    """The async twin of `_TappedStream`."""

    def __init__(self, inner: Any, on_done: Callable[[_StreamUsage], None], encoding: str | None = None) -> None:
        self._inner = inner
        self._seen = _StreamUsage(encoding, on_done)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                self._seen.feed(chunk)
                yield chunk
        finally:
            self._seen.finish()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._seen.finish()


def _retry_after(headers: Any) -> float:
    """What the SDK will wait before retrying: retry-after in seconds (the API also sends it on 429s)."""
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else 0.0
    except ValueError:
        return 0.0


# -- the response cache ----------------------------------------------------------------------------


class ResponseCache(anthropic.Middleware):
    """Answers an identical Messages request from memory instead of calling the API.

    The key is the whole request body (model, system, tools, messages, every
    parameter), canonical JSON, plus `version()` when you pass one. A cached
    answer is right only while everything the answer depends on is in the key:
    change the data a reply was built from *outside* the request (a tool's
    cache, a document fetched server-side, a key you trimmed to get more hits)
    and the cache serves the old answer. Two defences, both here: a `ttl`
    (seconds) bounds how stale an answer can get; `version` (say, your data
    store's change counter) or `invalidate()` on every write makes a change a miss.

    Only non-streamed, successful replies are stored. `clock` defaults to the
    kit's clock (`agentkit.clock`: real time live; offline, simulated waits
    count too); pass another, such as a ledger's, to expire entries on it.
    """

    def __init__(self, ttl: float | None = None, *, version: Callable[[], Hashable] | None = None,
                 clock: Callable[[], float] = kit_clock.monotonic, max_entries: int = 10_000) -> None:
        if ttl is not None and not (isinstance(ttl, (int, float)) and ttl > 0):
            raise ValueError(f"ttl must be a positive number of seconds (or None for no expiry), got {ttl!r}")
        if not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a whole number of at least 1, got {max_entries!r}")
        self.ttl = ttl
        self.version = version
        self.clock = clock
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def key(self, request: APIRequest) -> str:
        parts: dict[str, Any] = {"url": request.url, "body": _body(request)}
        if self.version is not None:
            parts["version"] = repr(self.version())
        canon = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canon.encode()).hexdigest()

    def handle(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        if not _is_messages_call(request) or request.stream:
            return call_next(request)
        key, now, hit = self._lookup(request)
        if hit is not None:
            return hit
        result = call_next(request)
        if isinstance(result, APIResponse) and result.http_response.is_success:
            self._store(key, now, result.parse())
        return result

    async def handle_async(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        if not _is_messages_call(request) or request.stream:
            return await call_next(request)
        key, now, hit = self._lookup(request)
        if hit is not None:
            return hit
        result = await call_next(request)
        if isinstance(result, AsyncAPIResponse) and result.http_response.is_success:
            self._store(key, now, await result.parse())
        return result

    def _lookup(self, request: APIRequest) -> tuple[str, float, Any]:
        key, now = self.key(request), self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (self.ttl is None or now - entry[0] <= self.ttl):
                self.hits += 1
                return key, now, entry[1]
            self.misses += 1
        return key, now, None

    def _store(self, key: str, now: float, message: Any) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))  # the oldest: dicts keep insertion order
            self._entries[key] = (now, message)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def invalidate(self) -> None:
        """Forget every entry: call it whenever data the cached answers depend on changes."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# -- model fallback ----------------------------------------------------------------------------------


class ModelFallback(anthropic.Middleware):
    """When the requested model answers with a capacity error (429, 529 or a 5xx), ask `fallback_model` at once.

    This is graceful degradation: a slightly weaker answer now instead of a
    retry-after wait, or an error, from the model you asked for. `fallbacks`
    counts how often it stepped in. (Refusals are a different matter: the SDK's
    `BetaRefusalFallbackMiddleware` and the API's `fallbacks` parameter handle those.)
    """

    def __init__(self, fallback_model: str, *, statuses: Iterable[int] = CAPACITY_STATUSES) -> None:
        if not isinstance(fallback_model, str) or not fallback_model:
            raise ValueError("fallback_model must be a model id such as agentkit.FAST_MODEL")
        self.fallback_model = fallback_model
        self.statuses = frozenset(statuses)
        self.fallbacks = 0

    def handle(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        result = call_next(request)
        if self._wants_fallback(request, result):
            result.http_response.close()
            return call_next(_with_model(request, self.fallback_model))
        return result

    async def handle_async(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        result = await call_next(request)
        if self._wants_fallback(request, result):
            await result.http_response.aclose()
            return await call_next(_with_model(request, self.fallback_model))
        return result

    def _wants_fallback(self, request: APIRequest, result: Any) -> bool:
        if not _is_messages_call(request) or _body(request).get("model") == self.fallback_model:
            return False
        if isinstance(result, (APIResponse, AsyncAPIResponse)) and result.http_response.status_code in self.statuses:
            self.fallbacks += 1
            return True
        return False


# -- the circuit breaker -----------------------------------------------------------------------------


class CircuitOpenError(anthropic.AnthropicError):
    """The breaker is open: the dependency failed repeatedly, so the call was not sent. Not retried by the SDK."""


class CircuitBreaker(anthropic.Middleware):
    """Stops calling a model that keeps failing, for `reset_after` seconds.

    Closed (normal): calls go through; `failure_threshold` capacity failures in a
    row open the breaker. Open: calls are not sent; with a `fallback_model` they
    go to it instead, otherwise they fail at once with `CircuitOpenError`, so
    nobody waits through retries against a service that is down. After
    `reset_after` seconds one trial call is let through (half-open): success
    closes the breaker, failure opens it again. `clock` gives the time; pass a
    simulated clock (e.g. `Ledger.clock`) to run it in simulated seconds.
    """

    def __init__(self, failure_threshold: int = 5, reset_after: float = 30.0, *, fallback_model: str | None = None,
                 clock: Callable[[], float] = kit_clock.monotonic, statuses: Iterable[int] = CAPACITY_STATUSES) -> None:
        if not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ValueError(f"failure_threshold must be a whole number of at least 1, got {failure_threshold!r}")
        if not (isinstance(reset_after, (int, float)) and reset_after > 0):
            raise ValueError(f"reset_after must be a positive number of seconds, got {reset_after!r}")
        self.failure_threshold = failure_threshold
        self.reset_after = float(reset_after)
        self.fallback_model = fallback_model
        self.clock = clock
        self.statuses = frozenset(statuses)
        self.state = "closed"  # closed | open | half_open
        self.failures = 0
        self.opened_at = 0.0
        self.times_opened = 0
        self.short_circuited = 0
        self._lock = threading.Lock()

    def handle(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        if not _is_messages_call(request) or _body(request).get("model") == self.fallback_model:
            return call_next(request)
        fallback = self._reroute(request)
        if fallback is not None:
            return call_next(_with_model(request, fallback))
        try:
            result = call_next(request)
        except anthropic.APIConnectionError:
            self._failed()
            raise
        self._observe(result)
        return result

    async def handle_async(self, request: APIRequest, call_next: Callable[[APIRequest], Any]) -> Any:
        if not _is_messages_call(request) or _body(request).get("model") == self.fallback_model:
            return await call_next(request)
        fallback = self._reroute(request)
        if fallback is not None:
            return await call_next(_with_model(request, fallback))
        try:
            result = await call_next(request)
        except anthropic.APIConnectionError:
            self._failed()
            raise
        self._observe(result)
        return result

    def _reroute(self, request: APIRequest) -> str | None:
        """The fallback model to reroute to while open, else None; raises CircuitOpenError when open with no fallback."""
        with self._lock:
            if self.state == "open" and self.clock() - self.opened_at >= self.reset_after:
                self.state = "half_open"  # let this one call test the water
            if self.state != "open":
                return None
            self.short_circuited += 1
        if self.fallback_model is None:
            raise CircuitOpenError(f"circuit open for {_body(request).get('model')!r}: {self.failures} failures "
                                   f"in a row; retrying in {self.reset_after:g} s")
        return self.fallback_model

    def _observe(self, result: Any) -> None:
        http = getattr(result, "http_response", None)
        status = http.status_code if http is not None else 200  # no response object: answered from memory
        if status in self.statuses:
            self._failed()
        elif 200 <= status < 300:
            with self._lock:
                self.failures = 0
                self.state = "closed"

    def _failed(self) -> None:
        with self._lock:
            self.failures += 1
            if self.state == "half_open" or self.failures >= self.failure_threshold:
                if self.state != "open":
                    self.times_opened += 1
                self.state = "open"
                self.opened_at = self.clock()
