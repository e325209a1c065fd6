"""What the simulator sends back for one HTTP request, and the two plain shapes most endpoints use.

Every endpoint returns a `SimResponse`; the in-process transport and the loopback server turn it into
an HTTP response (sleeping its delays), so both carry exactly the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import APIError


@dataclass
class SimResponse:
    """What to send back. `delay` is slept (real seconds) before the status line;
    a streamed body is `chunks`, each slept for its delay before it is sent. `dropped`: the connection is
    lost after the last chunk (the in-process transport raises httpx's RemoteProtocolError there)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: list[tuple[float, bytes]] | None = None
    delay: float = 0.0
    dropped: bool = False


def json_response(data: Any, request_id: str, status: int = 200) -> SimResponse:
    """A JSON body with the API's `request-id` header."""
    return SimResponse(status, {"content-type": "application/json", "request-id": request_id},
                       json.dumps(data).encode())


def error_response(err: APIError, request_id: str) -> SimResponse:
    """The API's error body and status for `err`, with its extra headers (retry-after, x-should-retry, ...)."""
    headers = {"content-type": "application/json", "request-id": request_id, **err.headers}
    return SimResponse(err.status, headers, err.body(request_id))
