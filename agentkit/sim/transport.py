"""In-process transports: the SDK's HTTP requests go straight to a `Simulator`.

anthropic 2.x sends through `httpx2`, so `anthropic.Anthropic(http_client=
httpx2.Client(transport=SimTransport(sim)))` talks to the simulator with no
socket at all. Nothing sleeps: the simulated latency (request serialisation,
the reply's TTFT and generation, each streamed event's delay) moves the kit's
clock (`agentkit.clock`) on, which is what spans are stamped with, so a trace
shows the latency model's figures exactly. The client's read timeout applies
to those simulated waits, as it would on a socket.
"""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import httpx2
from opentelemetry import trace

from agentkit.trace_context import (
    SIM_RECEIVED_EVENT,
    SIM_SECONDS_ATTRIBUTE,
    SIM_TTFT_ATTRIBUTE,
    SIMULATED_ATTRIBUTE,
)

from .. import clock
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


def _simulated_seconds(result: SimResponse, scale: float) -> tuple[float, list[float] | None]:
    """The reply's wait before its headers and each streamed chunk's wait, in simulated seconds.

    The simulator scales its delays for a server that really sleeps; in process they are scaled back. At time
    scale 0 (no waiting) the stream's waits come from its TTFT and total headers: TTFT before the first chunk
    with content, the rest spread evenly."""
    total = float(result.headers.get("x-agentkit-simulated-seconds") or 0.0)
    if result.chunks is None:
        return (result.delay / scale if scale > 0 else total), None
    if scale > 0:
        return 0.0, [delay / scale for delay, _ in result.chunks]
    ttft = float(result.headers.get("x-agentkit-simulated-ttft") or 0.0)
    n = len(result.chunks)
    waits = [0.0] * n
    if n > 1:
        waits[1] = ttft
        rest = max(total - ttft, 0.0) / max(n - 2, 1)
        for i in range(2, n):
            waits[i] = rest
    return 0.0, waits


def _wait(seconds: float, limit: float | None, request: httpx2.Request) -> None:
    """Let a simulated wait pass on the clock; past the client's read timeout, a socket would give up."""
    if limit is not None and seconds > limit:
        clock.wait(limit)
        raise _timed_out(request, limit)
    clock.wait(seconds)


class _SyncChunks(httpx2.SyncByteStream):
    def __init__(self, chunks: list[tuple[float, bytes]], waits: list[float], request: httpx2.Request,
                 decode: float, dropped: bool = False) -> None:
        self._chunks, self._waits, self._request, self._decode = chunks, waits, request, decode
        self._dropped = dropped

    def __iter__(self) -> Iterator[bytes]:
        limit = _read_timeout(self._request)
        for (_, chunk), wait in zip(self._chunks, self._waits):
            _wait(wait, limit, self._request)
            yield chunk
        if self._dropped:
            raise _dropped(self._request)
        clock.wait(self._decode)


class _AsyncChunks(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[tuple[float, bytes]], waits: list[float], request: httpx2.Request,
                 decode: float, dropped: bool = False) -> None:
        self._chunks, self._waits, self._request, self._decode = chunks, waits, request, decode
        self._dropped = dropped

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limit = _read_timeout(self._request)
        for (_, chunk), wait in zip(self._chunks, self._waits):
            _wait(wait, limit, self._request)
            yield chunk
        if self._dropped:
            raise _dropped(self._request)
        await clock.await_wait(self._decode)


#: event on the SDK's span when the request reaches the simulated API (the end of request serialisation)
RECEIVED_EVENT = SIM_RECEIVED_EVENT
#: attribute on the SDK's span: the simulated time to first token of the reply, in simulated seconds
TTFT_ATTRIBUTE = SIM_TTFT_ATTRIBUTE


def _mark_span(simulator: Simulator, request_bytes: int) -> None:
    """Serialise the request (the latency model's encoding time passes on the clock), then stamp the SDK's span
    of this call as simulated, with an event when the request arrived, so `agentkit.latency` can tell request
    serialisation from the API's own time (the SDK's span is current while its transport runs)."""
    clock.wait(simulator.latency.serialization.encode(request_bytes))
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(SIMULATED_ATTRIBUTE, True)
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
        body = request.read()
        _mark_span(self.simulator, len(body))
        result = self.simulator.handle(request.method, request.url.raw_path.decode(), dict(request.headers),
                                       body, _base_url(request))
        _mark_ttft(result)
        delay, waits = _simulated_seconds(result, self.simulator.scale())
        decode = self.simulator.latency.serialization.decode(len(result.body or b""))
        _wait(delay, _read_timeout(request), request)
        if waits is None:
            clock.wait(decode)
            return _response(result, request, None)
        return _response(result, request, _SyncChunks(result.chunks or [], waits, request, decode, result.dropped))


class AsyncSimTransport(httpx2.AsyncBaseTransport):
    """The asynchronous twin, for `anthropic.AsyncAnthropic`; sleeps without blocking the event loop."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        _mark_span(self.simulator, len(body))
        result = self.simulator.handle(request.method, request.url.raw_path.decode(), dict(request.headers), body,
                                       _base_url(request))
        _mark_ttft(result)
        delay, waits = _simulated_seconds(result, self.simulator.scale())
        decode = self.simulator.latency.serialization.decode(len(result.body or b""))
        _wait(delay, _read_timeout(request), request)
        await clock.await_wait(0)
        if waits is None:
            await clock.await_wait(decode)
            return _response(result, request, None)
        return _response(result, request, _AsyncChunks(result.chunks or [], waits, request, decode, result.dropped))
