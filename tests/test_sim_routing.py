"""Tests for agentkit.sim.routing: method + path dispatch and the error shape of whatever fails on the way."""

from __future__ import annotations

import json

import pytest

from agentkit.models import DEFAULT_MODEL
from agentkit.sim import Simulator, routing, validate

HEADERS = {"Content-Type": "application/json", "X-Api-Key": "k", "Anthropic-Version": "2023-06-01"}


def post(sim: Simulator, path: str, data: object) -> tuple[int, dict]:
    r = sim.handle("POST", path, HEADERS, json.dumps(data).encode())
    return r.status, json.loads(r.body)


@pytest.fixture
def sim():
    return Simulator(time_scale=0)


def test_each_endpoint_is_reached_with_any_case_query_or_trailing_slash(sim):
    body = {"model": DEFAULT_MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": "Hi"}]}
    status, msg = post(sim, "/v1/messages/", body)
    assert status == 200 and msg["type"] == "message"
    status, count = post(sim, "/v1/messages/count_tokens?beta=true", {k: body[k] for k in ("model", "messages")})
    assert status == 200 and count["input_tokens"] > 0
    r = sim.handle("get", "/v1/models?limit=2", {}, b"")
    assert r.status == 200 and len(json.loads(r.body)["data"]) == 2
    r = sim.handle("GET", f"/v1/models/{DEFAULT_MODEL}", {}, b"")
    assert json.loads(r.body)["id"] == DEFAULT_MODEL
    status, batch = post(sim, "/v1/messages/batches", {"requests": [{"custom_id": "a", "params": body}]})
    assert status == 200 and batch["type"] == "message_batch"
    for method, suffix, kind in [("GET", "", "message_batch"), ("POST", "/cancel", "message_batch"),
                                 ("DELETE", "", "message_batch_deleted")]:
        r = sim.handle(method, f"/v1/messages/batches/{batch['id']}{suffix}", {}, b"")
        assert r.status == 200 and json.loads(r.body)["type"] == kind, (method, suffix)


@pytest.mark.parametrize("method, path, message", [
    ("GET", "/v1/messages", "Not found: GET /v1/messages is not part of the simulated API"),
    ("POST", "/v1/complete", "Not found: POST /v1/complete"),
    ("PUT", "/v1/messages/batches", "Not found: PUT /v1/messages/batches"),
    ("GET", "/v1/messages/batches/msgbatch_x", "no batch with id 'msgbatch_x'"),
    ("PUT", "/v1/messages/batches/msgbatch_x/results", "no batch with id 'msgbatch_x'"),
])
def test_unknown_routes_and_ids_are_the_apis_404(sim, method, path, message):
    r = sim.handle(method, path, {}, b"")
    data = json.loads(r.body)
    assert r.status == 404 and data["error"]["type"] == "not_found_error" and message in data["error"]["message"]
    assert data["request_id"] == r.headers["request-id"]


def test_server_mode_checks_auth_before_routing(sim):
    sim.serve_http()
    r = sim.handle("GET", "/v1/nowhere", {"anthropic-version": "2023-06-01"}, b"")
    assert r.status == 401 and json.loads(r.body)["error"]["type"] == "authentication_error"


def test_oversized_body_is_413_before_it_is_parsed(sim, monkeypatch):
    monkeypatch.setattr(validate, "MAX_BODY_BYTES", 10)
    r = sim.handle("POST", "/v1/messages", HEADERS, b"not even json, but too big")
    assert r.status == 413 and json.loads(r.body)["error"]["type"] == "request_too_large"


def test_failures_inside_an_endpoint_keep_the_api_shape(sim, monkeypatch):
    def deep(*args, **kwargs):
        raise RecursionError

    monkeypatch.setattr(routing.models_api, "list_models", deep)
    r = sim.handle("GET", "/v1/models", {}, b"")
    assert r.status == 400 and "nested too deeply" in json.loads(r.body)["error"]["message"]

    def bug(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(routing.models_api, "list_models", bug)
    r = sim.handle("GET", "/v1/models", {}, b"")
    assert r.status == 500 and r.headers["x-should-retry"] == "false"
    assert "Internal error in agentkit's simulator: KeyError" in json.loads(r.body)["error"]["message"]
