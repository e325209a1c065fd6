"""The simulator as a loopback HTTP server, for clients in other processes.

`python -m agentkit.sim serve --port 8765`, then point any client at it with
`ANTHROPIC_BASE_URL=http://127.0.0.1:8765` (curl, the SDK in another process,
another language's SDK). It binds 127.0.0.1 only.

Written on the standard library's `ThreadingHTTPServer` rather than an ASGI
stack: the simulator is synchronous, the traffic is one learner's (or one
class's benchmark), and this keeps the course free of a web framework
dependency. What the standard server leaves out, this module adds:

- `TCP_NODELAY` on every connection, and each response's head and body sent in
  one write: with Nagle's algorithm on, a body written after its head waits
  for the client's delayed ACK (~40 ms on Linux), which is what made every
  request take ~44 ms even at time scale 0.
- a listen backlog of 1,024 (the standard library's default is 5, so a burst
  of 32 connections was reset);
- a read timeout, so a client that stalls mid-request frees its thread;
- the API's JSON error shape for everything the HTTP layer itself rejects: bad
  framing (an invalid or negative Content-Length, a malformed chunked body),
  bodies over the size limit (413), unknown methods, malformed request lines.
  Chunked request bodies are decoded.
- a 413 the client can read: the answer is sent, the server's side of the
  connection shut (so the client sees the response end), and the rest of the
  body read and thrown away, up to `DRAIN_BYTES` or `DRAIN_SECONDS`, before the
  connection closes. Closing with the body unread would make the kernel reset
  the connection, which an uploading client reads as a broken pipe, not as 413.
- a POST body whose Content-Type is not JSON gets the API's 400
  `invalid_request_error`: the API documents `content-type: application/json`
  as a required header of its JSON endpoints, and its error list has no 415
  type (400 covers "the format or content of your request"). A POST without a
  Content-Type is read as JSON, as the SDKs always send one.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .core import SimResponse, Simulator
from .errors import STATUS, APIError
from .validate import MAX_BODY_BYTES, body_limit

HOST = "127.0.0.1"
#: Seconds a client may stall while sending a request, or sit idle on a keep-alive connection, before the
#: server closes the connection (real seconds, not simulated).
READ_TIMEOUT = 30.0
#: Pending connections the kernel queues before it refuses more.
BACKLOG = 1024
#: Methods the API answers; anything else gets a JSON 405.
SERVED_METHODS = ("GET", "POST", "DELETE")
#: After a 413, how much of the unread body the server reads and discards (and for how many real seconds) so the
#: client can finish sending and read the answer; past either bound the connection is closed anyway.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10.0


class _BadFraming(Exception):
    """The request's bytes cannot be read as one HTTP request; the connection is closed after the answer.

    `unread` is how many body bytes the client is still sending (-1: unknown, a chunked body), to drain
    after the answer; None when the framing itself is broken and nothing can be drained."""

    def __init__(self, error: APIError, unread: int | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.unread = unread


def _status_type(status: int) -> str:
    """The API's error type for an HTTP status the HTTP layer produces."""
    for kind, code in STATUS.items():
        if code == status:
            return kind
    return "invalid_request_error"  # the API uses this type for other 4xx codes too


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "SimServer"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # a stalled client frees its thread
        # Responses go out in one write each, but streamed events are many small writes: never let Nagle hold one
        # back waiting for an ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- reading the request --------------------------------------------------------
    def _read_body(self, limit: int) -> bytes:
        te = (self.headers.get("transfer-encoding") or "").strip().lower()
        if te:
            if te != "chunked":
                raise _BadFraming(APIError(f"Transfer-Encoding {te!r} is not supported; send the body with a "
                                           "Content-Length or as 'chunked'.", status=501))
            return self._read_chunked(limit)
        raw = self.headers.get_all("content-length") or []
        if not raw:
            return b""
        if len(set(v.strip() for v in raw)) > 1 or not raw[0].strip().isdigit():
            raise _BadFraming(APIError(f"Content-Length must be one non-negative whole number of bytes, got "
                                       f"{', '.join(raw)!r}."))
        length = int(raw[0])
        if length > limit:
            raise _BadFraming(_too_large(length, limit), unread=length)
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BadFraming(APIError(f"The connection closed after {len(body)} of the {length} body bytes that "
                                       "Content-Length announced."))
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                n = int(line.split(b";", 1)[0].strip(), 16)
                if n < 0:
                    raise ValueError
            except ValueError:
                raise _BadFraming(APIError(f"Malformed chunked body: bad chunk size line {line[:40]!r}.")) from None
            if n == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers, ignored
                    pass
                return b"".join(parts)
            size += n
            if size > limit:
                raise _BadFraming(_too_large(size, limit), unread=-1)
            chunk = self.rfile.read(n)
            if len(chunk) < n or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _BadFraming(APIError("Malformed chunked body: a chunk is shorter than its size line says."))
            parts.append(chunk)

    # -- answering ------------------------------------------------------------------
    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                 "server: agentkit-sim", f"date: {self.date_time_string()}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if self.close_connection:
            lines.append("connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, result: SimResponse) -> None:
        if result.delay > 0:
            time.sleep(result.delay)
        self.log_request(result.status)
        if result.chunks is None:
            headers = {**result.headers, "content-length": str(len(result.body))}
            self.wfile.write(self._head(result.status, headers) + result.body)  # one write: see the module doc
            return
        self.wfile.write(self._head(result.status, {**result.headers, "transfer-encoding": "chunked"}))
        for delay, chunk in result.chunks:
            if delay > 0:
                time.sleep(delay)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _send_error(self, error: APIError, *, close: bool = False) -> None:
        if close:
            self.close_connection = True
        request_id = self.server.simulator.new_request_id()
        body = error.body(request_id)
        self._send(SimResponse(error.status, {"content-type": "application/json", "request-id": request_id,
                                              **error.headers}, body))

    def _serve(self) -> None:
        try:
            body = self._read_body(body_limit(self.path))
        except _BadFraming as bad:
            self._send_error(bad.error, close=True)  # the rest of the stream cannot be trusted
            if bad.unread is not None:
                self._drain(bad.unread)
            return
        kind = (self.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
        if self.command == "POST" and body and kind != "application/json" and not kind.endswith("+json"):
            self._send_error(APIError(f"Content-Type {kind!r} is not supported: send the body as JSON with the "
                                      "header 'content-type: application/json'."))
            return
        host = self.headers.get("host") or f"{HOST}:{self.server.server_address[1]}"
        result = self.server.simulator.handle(self.command, self.path, dict(self.headers.items()), body,
                                              f"http://{host}")
        self._send(result)

    def _drain(self, unread: int) -> None:
        """After answering a request whose body was too large: end our side, then read and discard the rest of
        the body (at most `DRAIN_BYTES` and `DRAIN_SECONDS`), so the client can finish sending and read the answer."""
        try:
            self.connection.shutdown(socket.SHUT_WR)  # the answer is complete: the client reads it to its end
        except OSError:
            return
        left = DRAIN_BYTES if unread < 0 else min(unread, DRAIN_BYTES)
        deadline = time.monotonic() + DRAIN_SECONDS
        try:
            while left > 0:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    return
                self.connection.settimeout(min(wait, self.server.read_timeout))
                chunk = self.rfile.read1(min(left, 65_536))
                if not chunk:
                    return  # the client stopped sending (it read the 413 and closed)
                left -= len(chunk)
        except OSError:  # a timeout or a reset: the client has stopped sending either way
            return

    def _serve_safely(self) -> None:
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError, TimeoutError) as exc:
            # The client left early (it stopped reading a stream, timed out, or stalled past the read timeout):
            # nothing to report, and nothing more to read on this connection. Logged (with --verbose) so a test
            # can wait for the server to have noticed rather than for a fixed time.
            self.close_connection = True
            self.log_message("client left before the answer was complete (%s)", type(exc).__name__)

    do_GET = do_POST = do_DELETE = _serve_safely

    def handle_expect_100(self) -> bool:
        """A client that asks before sending a big body (curl does over 1 MB) hears 413 at once, not 100."""
        raw = (self.headers.get("content-length") or "").strip()
        limit = body_limit(self.path)
        if raw.isdigit() and int(raw) > limit:
            self._send_error(_too_large(int(raw), limit), close=True)
            return False
        return super().handle_expect_100()

    def _unsupported(self) -> None:
        self._send_error(APIError(f"Method {self.command} is not allowed; the API answers "
                                  f"{', '.join(SERVED_METHODS)}.", status=405,
                                  headers={"allow": ", ".join(SERVED_METHODS)}), close=True)

    do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = _unsupported

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's HTML error page, replaced by the API's JSON error (malformed request lines,
        headers that are too long, methods it has no handler for)."""
        self.close_connection = True
        try:
            text = message or self.responses.get(code, ("Error",))[0]
            self._send_error(APIError(f"{text} (HTTP {code})", _status_type(code), status=code), close=True)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)


def _too_large(size: int, limit: int) -> APIError:
    return APIError(f"Request body is {size:,} bytes, over this endpoint's limit of {limit:,} bytes. Send big "
                    "files through the Files API, or split the work (a batch holds up to 256 MB).",
                    "request_too_large")


class SimServer(ThreadingHTTPServer):
    """The simulator on 127.0.0.1. Serving puts the simulator in server mode (`Simulator.serve_http`): it
    requires the API key and `anthropic-version` headers, and its clock follows real time, so a learner's pause
    expires a 5-minute cache entry as it would against the API."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, simulator: Simulator, port: int = 0, verbose: bool = False,
                 read_timeout: float = READ_TIMEOUT) -> None:
        super().__init__((HOST, port), _Handler)
        self.simulator = simulator
        self.verbose = verbose
        self.read_timeout = read_timeout
        simulator.serve_http()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def start_in_background(self) -> threading.Thread:
        """Serve from a daemon thread (for notebooks and tests); call `shutdown()` to stop."""
        t = threading.Thread(target=self.serve_forever, name="agentkit-sim-server", daemon=True)
        t.start()
        return t


__all__ = ["BACKLOG", "DRAIN_BYTES", "DRAIN_SECONDS", "MAX_BODY_BYTES", "READ_TIMEOUT", "SimServer"]
