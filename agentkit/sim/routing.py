"""Method + path dispatch: which endpoint answers a request, and the API's error shape for anything that fails.

`handle` is `Simulator.handle`: it lower-cases the headers, checks the body size and (in server mode) the
auth headers, routes, and turns every failure into an API error response, so a bad request or a simulator
bug never raises into the learner's cell or kills the server. The endpoints themselves live with their
concept: `messages` (POST /v1/messages), `models_api` (GET /v1/models), `batches` (the batch store);
token counting is two calls into `validate` and `usage`, answered here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import batches, messages, models_api, validate
from .errors import APIError, invalid
from .response import SimResponse, error_response, json_response
from .usage import input_tokens

if TYPE_CHECKING:
    from .core import Simulator

_MODEL = re.compile(r"/v1/models/([^/]+)")
_BATCH = re.compile(r"/v1/messages/batches/([^/]+)(/cancel|/results)?")


def handle(sim: Simulator, method: str, path: str, headers: dict[str, str], body: bytes,
           base_url: str) -> SimResponse:
    """Answer one HTTP request. Never raises: every failure becomes an API error response."""
    request_id = sim._new_id("req")
    headers = {k.lower(): v for k, v in headers.items()}
    try:
        validate.body_size(path, body)
        if sim._check_auth:
            validate.auth_headers(headers)
        return route(sim, method.upper(), path.split("?")[0].rstrip("/"), headers, body, base_url, request_id,
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


def route(sim: Simulator, method: str, path: str, headers: dict[str, str], body: bytes, base_url: str,
          request_id: str, query: dict[str, list[str]] | None = None) -> SimResponse:
    """The endpoint's answer for an upper-case `method` and a `path` without query string or trailing slash;
    raises `APIError` (404 `not_found_error` for a path the simulated API does not have)."""
    query = query or {}
    if method == "POST" and path == "/v1/messages":
        return messages.create(sim, headers, body, request_id)
    if method == "POST" and path == "/v1/messages/count_tokens":
        data = validate.parse_json(body)
        validate.count_tokens_body(data)
        validate.sampling(data, headers.get("anthropic-version"))
        return json_response({"input_tokens": input_tokens(data)}, request_id)
    if method == "GET" and path == "/v1/models":
        return json_response(models_api.list_models(query), request_id)
    m = _MODEL.fullmatch(path)
    if method == "GET" and m:
        return json_response(models_api.get_model(m.group(1)), request_id)
    if path == "/v1/messages/batches":
        if method == "POST":
            return _create_batch(sim, validate.parse_json(body), base_url, request_id, headers.get("anthropic-version"))
        if method == "GET":
            return json_response(models_api.paginate([b.as_json(base_url) for b in sim._batches.newest_first()],
                                                     query), request_id)
    m = _BATCH.fullmatch(path)
    if m:
        batch = sim._batches.get(m.group(1))  # an unknown id is a 404 whatever the method
        action = m.group(2)
        if method == "GET" and action is None:
            return json_response(batch.as_json(base_url), request_id)
        if method == "POST" and action == "/cancel":
            sim._batches.cancel(batch, sim.scale())
            return json_response(batch.as_json(base_url), request_id)
        if method == "GET" and action == "/results":
            body = batch.results_jsonl()
            headers = {"content-type": "application/binary", "request-id": request_id}
            if sim.faults.drops_stream(sim._rng(f"results:{batch.id}".encode())):
                # the connection drops halfway through the results (SDK 2.17: anthropic.APIConnectionError)
                return SimResponse(200, headers, chunks=[(0.0, body[: len(body) // 2])], dropped=True)
            return SimResponse(200, headers, body)
        if method == "DELETE" and action is None:
            sim._batches.delete(batch)
            return json_response({"id": batch.id, "type": "message_batch_deleted"}, request_id)
    raise APIError(f"Not found: {method} {path} is not part of the simulated API "
                   "(messages, count_tokens, models, message batches).", "not_found_error")


def _create_batch(sim: Simulator, data: dict[str, object], base_url: str, request_id: str,
                  api_version: str | None = None) -> SimResponse:
    """POST /v1/messages/batches: every request answered now, the batch `in_progress` for its simulated while."""
    results = batches.results_of(data, lambda params: messages.answer_batched(sim, params, api_version), request_id)
    seconds = sim.batch_seconds + sim.batch_seconds_per_request * len(results)
    batch = sim._batches.add(sim._new_id("msgbatch"), results, seconds * sim.scale())
    return json_response(batch.as_json(base_url), request_id)
