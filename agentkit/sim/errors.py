"""API errors, shaped exactly as the Messages API sends them.

Anything the simulator rejects raises `APIError`; the router turns it into
`{"type": "error", "error": {"type": ..., "message": ...}}` with the matching
HTTP status, so the SDK raises the same typed exception it would against Claude.
"""

from __future__ import annotations

import json
from typing import Any

# HTTP status for each error type, as the API documents them.
STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class APIError(Exception):
    """An error response: its type (which fixes the status), message and optional details."""

    def __init__(self, message: str, type: str = "invalid_request_error", *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.status = STATUS[type]
        self.details = details
        self.headers = headers or {}

    def body(self, request_id: str) -> bytes:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.details:
            error["details"] = self.details
        return json.dumps({"type": "error", "error": error, "request_id": request_id}).encode()


def invalid(message: str, **kwargs: Any) -> APIError:
    return APIError(message, "invalid_request_error", **kwargs)
