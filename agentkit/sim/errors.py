"""API errors, shaped exactly as the Messages API sends them.

Anything the simulator rejects raises `APIError`; the router turns it into
`{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}`
with the matching HTTP status, so the SDK raises the same typed exception it
would against Claude (`BadRequestError`, `RequestTooLargeError`, ...).
"""

from __future__ import annotations

import json
from typing import Any

# HTTP status for each error type, as the API's errors page lists them (checked 2026-11-30:
# https://platform.claude.com/docs/en/api/errors).
STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class APIError(Exception):
    """An error response: its type (which fixes the status), message and optional details.

    `status` overrides the type's status for the few HTTP-layer answers the API gives with a generic type
    (the errors page: `invalid_request_error` "may also be used for other 4XX status codes"), e.g. 405.
    """

    def __init__(self, message: str, type: str = "invalid_request_error", *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, status: int | None = None) -> None:
        super().__init__(message)
        if type not in STATUS:
            raise ValueError(f"unknown API error type {type!r}; one of {', '.join(STATUS)}")
        self.message = message
        self.type = type
        self.status = status if status is not None else STATUS[type]
        self.details = details
        self.headers = headers or {}

    def payload(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"type": "error", "error": error, "request_id": request_id}

    def body(self, request_id: str) -> bytes:
        return json.dumps(self.payload(request_id)).encode()


def invalid(message: str, **kwargs: Any) -> APIError:
    return APIError(message, "invalid_request_error", **kwargs)
