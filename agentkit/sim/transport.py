"""In-process transports: the SDK's HTTP requests go straight to a `Simulator`.

anthropic 2.x sends through `httpx2`, so `anthropic.Anthropic(http_client=
httpx2.Client(transport=SimTransport(sim)))` talks to the simulator with no
socket at all. Latency is real (scaled) sleeping, and a streamed response
really trickles out event by event, so the SDK's time-to-first-chunk and the
learner's stopwatch both see what they would see against the API. The client's
read timeout applies to those real (scaled) waits, as it would on a socket.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, Iterator

import httpx2
from opentelemetry import trace

from agentkit.trace_context import (
    SIM_RECEIVED_EVENT,
    SIM_SECONDS_ATTRIBUTE,
    SIM_TIME_SCALE_ATTRIBUTE,
    SIM_TTFT_ATTRIBUTE,
    SIMULATED_ATTRIBUTE,
)

from .core import SimResponse, Simulator


def _base_url(request: httpx2.Request) -> str:
    url = request.url
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _read_timeout(request: httpx2.Request) -> float | None:
    """The client's read timeout for this request (real seconds), as a socket transport would apply it."""
    value = (request.extensions.get("timeout") or {}).get("read")
    return value if isinstance(value, (int, float)) else None


def _timed_out(request: httpx2.Request, waited: float) -> httpx2.ReadTimeout:
    return httpx2.ReadTimeout(f"the simulated response waited {waited:.3f} s, longer than the client's read "
                              "timeout", request=request)


def _dropped(request: httpx2.Request) -> httpx2.RemoteProtocolError:
    return httpx2.RemoteProtocolError("peer closed connection without sending complete message body "
                                      "(simulated: Faults.stream_drop)", request=request)


class _SyncChunks(httpx2.SyncByteStream):
    def __init__(self, chunks: list[tuple[float, bytes]], request: httpx2.Request, dropped: bool = False) -> None:
        self._chunks, self._request, self._dropped = chunks, request, dropped

    def __iter__(self) -> Iterator[bytes]:
        limit = _read_timeout(self._request)
        for delay, chunk in self._chunks:
            if limit is not None and delay > limit:
                time.sleep(limit)
                raise _timed_out(self._request, limit)
            if delay > 0:
                time.sleep(delay)
            yield chunk
        if self._dropped:
            raise _dropped(self._request)


class _AsyncChunks(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[tuple[float, bytes]], request: httpx2.Request, dropped: bool = False) -> None:
        self._chunks, self._request, self._dropped = chunks, request, dropped

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limit = _read_timeout(self._request)
        for delay, chunk in self._chunks:
            if limit is not None and delay > limit:
                await asyncio.sleep(limit)
                raise _timed_out(self._request, limit)
            if delay > 0:
                await asyncio.sleep(delay)
            yield chunk
        if self._dropped:
            raise _dropped(self._request)


#: event on the SDK's span when the request reaches the simulated API (the end of request serialisation)
RECEIVED_EVENT = SIM_RECEIVED_EVENT
#: attribute on the SDK's span: the simulated time to first token of the reply, in simulated seconds
TTFT_ATTRIBUTE = SIM_TTFT_ATTRIBUTE


def _mark_span(simulator: Simulator) -> None:
    """Stamp the SDK's span of this call as simulated, with this simulator's time scale, so `agentkit.capture()`
    can report simulated seconds without being told (the SDK's span is current while its transport runs). The
    event marks when the request arrived, so `agentkit.latency` can tell request serialisation from the API's
    own time."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(SIMULATED_ATTRIBUTE, True)
        span.set_attribute(SIM_TIME_SCALE_ATTRIBUTE, simulator.scale())
        span.add_event(RECEIVED_EVENT)


def _mark_ttft(result: SimResponse) -> None:
    """Record the reply's simulated TTFT on the SDK's span: a non-streamed reply has no first chunk to time."""
    ttft = result.headers.get("x-agentkit-simulated-ttft")
    span = trace.get_current_span()
    if ttft is not None and span.is_recording():
        span.set_attribute(TTFT_ATTRIBUTE, float(ttft))


def _response(result: SimResponse, request: httpx2.Request, stream: httpx2.SyncByteStream | httpx2.AsyncByteStream
              | None) -> httpx2.Response:
    seconds = result.headers.get("x-agentkit-simulated-seconds")
    span = trace.get_current_span()
    if seconds is not None and span.is_recording():
        # The call's simulated duration, so a trace can report model time exactly rather than as wall time / scale
        # (which includes the SDK's and the simulator's own real overhead, x 1/scale).
        span.set_attribute(SIM_SECONDS_ATTRIBUTE, float(seconds))
    if stream is not None:
        return httpx2.Response(result.status, headers=result.headers, stream=stream, request=request)
    return httpx2.Response(result.status, headers=result.headers, content=result.body, request=request)


class SimTransport(httpx2.BaseTransport):
    """A synchronous httpx2 transport backed by a simulator."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        _mark_span(self.simulator)
        result = self.simulator.handle(request.method, request.url.raw_path.decode(), dict(request.headers),
                                       request.read(), _base_url(request))
        _mark_ttft(result)
        limit = _read_timeout(request)
        if limit is not None and result.delay > limit:  # a socket would give up waiting here
            time.sleep(limit)
            raise _timed_out(request, limit)
        if result.delay > 0:
            time.sleep(result.delay)
        return _response(result, request, _SyncChunks(result.chunks, request, result.dropped) if result.chunks is not None else None)


class AsyncSimTransport(httpx2.AsyncBaseTransport):
    """The asynchronous twin, for `anthropic.AsyncAnthropic`; sleeps without blocking the event loop."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        _mark_span(self.simulator)
        body = await request.aread()
        result = self.simulator.handle(request.method, request.url.raw_path.decode(), dict(request.headers), body,
                                       _base_url(request))
        _mark_ttft(result)
        limit = _read_timeout(request)
        if limit is not None and result.delay > limit:
            await asyncio.sleep(limit)
            raise _timed_out(request, limit)
        if result.delay > 0:
            await asyncio.sleep(result.delay)
        return _response(result, request, _AsyncChunks(result.chunks, request, result.dropped) if result.chunks is not None else None)
