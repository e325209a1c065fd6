"""The simulator as a loopback HTTP server, for clients in other processes.

`python -m agentkit.sim serve --port 8765`, then point any client at it with
`ANTHROPIC_BASE_URL=http://127.0.0.1:8765` (curl, the SDK in another process,
another language's SDK). It binds 127.0.0.1 only.

Written on the standard library's `ThreadingHTTPServer` rather than an ASGI
stack: the simulator is synchronous, the traffic is one learner's, and this
keeps the course free of a web framework dependency.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .core import Simulator

HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "SimServer"

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("host") or f"{HOST}:{self.server.server_address[1]}"
        result = self.server.simulator.handle(self.command, self.path, dict(self.headers.items()), body,
                                              f"http://{host}")
        if result.delay > 0:
            time.sleep(result.delay)
        self.send_response(result.status)
        for k, v in result.headers.items():
            self.send_header(k, v)
        if result.chunks is None:
            self.send_header("content-length", str(len(result.body)))
            self.end_headers()
            self.wfile.write(result.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for delay, chunk in result.chunks:
            if delay > 0:
                time.sleep(delay)
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _serve_safely(self) -> None:
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError):
            # The client left early (it stopped reading a stream, or timed out): nothing to report.
            self.close_connection = True

    do_GET = do_POST = do_DELETE = _serve_safely

    def log_message(self, format: str, *args: Any) -> None:  # quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, simulator: Simulator, port: int = 0, verbose: bool = False) -> None:
        super().__init__((HOST, port), _Handler)
        self.simulator = simulator
        self.verbose = verbose

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def start_in_background(self) -> threading.Thread:
        """Serve from a daemon thread (for notebooks and tests); call `shutdown()` to stop."""
        t = threading.Thread(target=self.serve_forever, name="agentkit-sim-server", daemon=True)
        t.start()
        return t
