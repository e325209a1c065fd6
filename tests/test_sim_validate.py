"""The simulator's validation and error contract, in process and over HTTP, and the server's robustness.

Every bad request is sent twice: to `Simulator.handle` (what the in-process transport calls) and over loopback
HTTP to a `SimServer`; both must give the API's status and error shape, and the server must answer a good
request afterwards. Then the HTTP layer itself (framing, methods, stalls, bursts), faults and rate limits,
batches, the time scale per simulator, the server-mode clock, bounded stores and the prefix memos.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest

from agentkit.models import DEFAULT_MODEL, MODELS
from agentkit.sim import Faults, RateLimits, SimServer, SimTransport, Simulator
from agentkit.sim import core as sim_core
from agentkit.sim import validate
from agentkit.sim.prefix import PrefixMemo, TextMemo
from agentkit.sim.usage import MIN_CACHEABLE, PRUNE_EVERY, prefix_hashes, segments
from sim_helpers import scale, user

HEADERS = {"content-type": "application/json", "x-api-key": "test", "anthropic-version": "2023-06-01"}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 32).decode()
PDF = base64.b64encode(b"%PDF-1.7\n" + b"\x00" * 32).decode()


def body(**extra: Any) -> dict[str, Any]:
    return {"model": DEFAULT_MODEL, "max_tokens": 50, "messages": user("Hello"), **extra}


def image(media_type: str, data: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": media_type,
                                                                      "data": data}},
                                         {"type": "text", "text": "What is this?"}]}


def document(source: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "document", "source": source}, {"type": "text", "text": "Sum up."}]}


#: The served model with the smallest context window, so "too long" stays a small request.
SMALL_WINDOW = min(MODELS, key=validate.context_window)

# (name, headers, body, status, error type, phrase in the message)
BAD_REQUESTS: list[tuple[str, dict[str, str], Any, int, str, str]] = [
    ("unknown field", HEADERS, body(frequency_penalty=0.5), 400, "invalid_request_error",
     "frequency_penalty: Extra inputs are not permitted"),
    ("service_tier", HEADERS, body(service_tier="priority"), 400, "invalid_request_error",
     "service_tier: Input should be 'auto' or 'standard_only'"),
    ("too long", HEADERS, body(model=SMALL_WINDOW, messages=user("word " * (validate.context_window(SMALL_WINDOW)
                                                                            + 5_000))),
     400, "invalid_request_error", "prompt is too long"),
    ("image media type", HEADERS, body(messages=[image("image/bmp", PNG)]), 400, "invalid_request_error",
     "media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"),
    ("image base64", HEADERS, body(messages=[image("image/png", "not base64!!")]), 400, "invalid_request_error",
     "invalid base64"),
    ("image bytes", HEADERS, body(messages=[image("image/jpeg", PNG)]), 400, "invalid_request_error",
     "appears to be image/png"),
    ("image not an image", HEADERS, body(messages=[image("image/png", base64.b64encode(b"hello").decode())]), 400,
     "invalid_request_error", "not a valid image"),
    ("document media type", HEADERS, body(messages=[document({"type": "base64", "media_type": "application/msword",
                                                              "data": PDF})]),
     400, "invalid_request_error", "media_type: Input should be 'application/pdf'"),
    ("document not a pdf", HEADERS, body(messages=[document({"type": "base64", "media_type": "application/pdf",
                                                             "data": PNG})]),
     400, "invalid_request_error", "not a valid PDF"),
    ("document source", HEADERS, body(messages=[document({"type": "ftp", "url": "x"})]), 400, "invalid_request_error",
     "source.type: Input should be"),
    ("nested too deep", HEADERS, b'{"model": "x", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400,
     "invalid_request_error", "nested too deeply"),
    ("not json", HEADERS, b"{nope", 400, "invalid_request_error", "not valid JSON"),
]

SERVER_ONLY = [
    ("no version", {k: v for k, v in HEADERS.items() if k != "anthropic-version"}, body(), 400,
     "invalid_request_error", "anthropic-version: header is required"),
    ("no key", {k: v for k, v in HEADERS.items() if k != "x-api-key"}, body(), 401, "authentication_error",
     "x-api-key header is required"),
]


def encode(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def check_error(status: int, raw: bytes, want_status: int, kind: str, phrase: str) -> None:
    assert status == want_status, raw[:300]
    err = json.loads(raw)
    assert err["type"] == "error" and err["error"]["type"] == kind and err["request_id"].startswith("req_")
    assert phrase in err["error"]["message"], err["error"]["message"]


@pytest.fixture(scope="module")
def server():
    sim = Simulator(time_scale=0)
    srv = SimServer(sim, port=0, read_timeout=0.5)
    srv.start_in_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def post(port: int, payload: bytes, headers: dict[str, str] = HEADERS, path: str = "/v1/messages",
         method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def assert_still_serving(port: int) -> None:
    status, _, raw = post(port, encode(body()))
    assert status == 200 and json.loads(raw)["type"] == "message"


# -- the error contract ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, headers, payload, status, kind, phrase", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_request_in_process(name, headers, payload, status, kind, phrase):
    sim = Simulator(time_scale=0)
    result = sim.handle("POST", "/v1/messages", headers, encode(payload))
    check_error(result.status, result.body, status, kind, phrase)
    assert sim.handle("POST", "/v1/messages", HEADERS, encode(body())).status == 200


@pytest.mark.parametrize("name, headers, payload, status, kind, phrase", BAD_REQUESTS + SERVER_ONLY,
                         ids=[b[0] for b in BAD_REQUESTS + SERVER_ONLY])
def test_bad_request_over_http(server, name, headers, payload, status, kind, phrase):
    port = server.server_address[1]
    got, _, raw = post(port, encode(payload), headers)
    check_error(got, raw, status, kind, phrase)
    assert_still_serving(port)


def test_in_process_needs_no_auth_headers_but_a_server_does():
    sim = Simulator(time_scale=0)
    assert sim.handle("POST", "/v1/messages", {}, encode(body())).status == 200
    sim.serve_http()
    assert sim.handle("POST", "/v1/messages", {}, encode(body())).status == 401
    assert sim.handle("POST", "/v1/messages", {"authorization": "Bearer token", "anthropic-version": "2023-06-01"},
                      encode(body())).status == 200


def test_body_over_the_size_limit_is_413_in_process():
    sim = Simulator(time_scale=0)
    big = b'{"model": "' + b"x" * validate.MAX_BODY_BYTES + b'"}'
    result = sim.handle("POST", "/v1/messages", HEADERS, big)
    check_error(result.status, result.body, 413, "request_too_large", "over this endpoint's limit")
    assert validate.body_limit("/v1/messages/batches") == 256 * 1024 * 1024


def test_body_over_the_size_limit_is_413_over_http_without_reading_it(server):
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                  b"content-length: %d\r\n\r\n{" % (validate.MAX_BODY_BYTES + 1))
        status, raw = read_response(s)
    check_error(status, raw, 413, "request_too_large", "over this endpoint's limit")
    assert_still_serving(port)


def test_every_sdk_field_is_allowed_and_the_sdk_sees_typed_errors():
    fields = validate._sdk_fields()["messages"]
    for name in ("model", "messages", "max_tokens", "thinking", "output_config", "tool_choice", "service_tier",
                 "stream", "thread", "context_management", "mcp_servers", "container", "metadata"):
        assert name in fields
    assert "betas" not in fields  # the SDK sends it as a header
    client = anthropic.Anthropic(api_key="test", max_retries=0,
                                 http_client=__import__("httpx2").Client(transport=SimTransport(Simulator(time_scale=0))))
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=DEFAULT_MODEL, max_tokens=10, messages=user("hi"), extra_body={"bogus": 1})
    assert err.value.body["error"]["message"] == "bogus: Extra inputs are not permitted"
    m = client.messages.create(model=DEFAULT_MODEL, max_tokens=10, messages=user("hi"), service_tier="auto",
                               metadata={"user_id": "u1"}, stop_sequences=["END"])
    assert m.type == "message"
    with pytest.raises(anthropic.BadRequestError):
        client.messages.count_tokens(model=DEFAULT_MODEL, messages=user("hi"), extra_body={"max_tokens": 5})


def test_valid_media_pass():
    sim = Simulator(time_scale=0)
    ok = [image("image/png", PNG), image("image/jpeg", JPEG),
          document({"type": "base64", "media_type": "application/pdf", "data": PDF}),
          document({"type": "text", "media_type": "text/plain", "data": "Plain text."}),
          document({"type": "url", "url": "https://example.com/a.pdf"})]
    for message in ok:
        result = sim.handle("POST", "/v1/messages", HEADERS, encode(body(messages=[message])))
        assert result.status == 200, result.body


def test_media_inside_a_tool_result_is_checked():
    tool = {"name": "shot", "description": "screenshot", "input_schema": {"type": "object", "properties": {}}}
    messages = [{"role": "user", "content": "Take a screenshot"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": PNG}}]}]}]
    result = Simulator(time_scale=0).handle("POST", "/v1/messages", HEADERS,
                                            encode(body(tools=[tool], messages=messages)))
    check_error(result.status, result.body, 400, "invalid_request_error", "messages.2.content.0.content.0.source")


# -- the HTTP layer ----------------------------------------------------------------------------------------------
def read_response(s: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length]


def raw_exchange(port: int, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        return read_response(s)


def test_expect_100_continue_gets_413_before_the_body(server):
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
                  b"content-length: %d\r\n\r\n" % (validate.MAX_BODY_BYTES + 1))
        status, raw = read_response(s)  # no body sent at all
    check_error(status, raw, 413, "request_too_large", "over this endpoint's limit")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # a small body still gets 100 Continue
        payload = encode(body())
        head = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in HEADERS.items())
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n" + head +
                  b"content-length: %d\r\n\r\n" % len(payload))
        assert s.recv(100).startswith(b"HTTP/1.1 100")
        s.sendall(payload)
        status, raw = read_response(s)
    assert status == 200


@pytest.mark.parametrize("length", [b"abc", b"-5", b"12, 13"])
def test_bad_content_length_gets_a_json_400(server, length):
    port = server.server_address[1]
    status, raw = raw_exchange(port, b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: " + length +
                               b"\r\n\r\n{}")
    check_error(status, raw, 400, "invalid_request_error", "Content-Length")
    assert_still_serving(port)


def test_chunked_body_is_decoded(server):
    port = server.server_address[1]
    payload = encode(body())
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 20]), payload[i:i + 20]) for i in range(0, len(payload), 20))
    head = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in HEADERS.items())
    status, raw = raw_exchange(port, b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n" + head +
                               b"transfer-encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    assert status == 200 and json.loads(raw)["type"] == "message"
    status, raw = raw_exchange(port, b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                                     b"zz\r\nhello\r\n0\r\n\r\n")
    check_error(status, raw, 400, "invalid_request_error", "chunk")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "OPTIONS"])
def test_unsupported_methods_get_json(server, method):
    port = server.server_address[1]
    status, headers, raw = post(port, b"{}", method=method)
    check_error(status, raw, 405, "invalid_request_error", f"Method {method} is not allowed")
    assert headers["allow"] == "GET, POST, DELETE"
    assert_still_serving(port)


def test_malformed_request_line_gets_json(server):
    port = server.server_address[1]
    status, raw = raw_exchange(port, b"GARBAGE\r\n\r\n")
    assert status == 400 and json.loads(raw)["error"]["type"] == "invalid_request_error"
    assert_still_serving(port)


def test_a_stalled_client_is_dropped_and_others_are_served(server):
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")  # then nothing
        assert_still_serving(port)  # another client is not held up meanwhile
        s.settimeout(5)
        assert s.recv(100) == b""  # closed by the server after its read timeout (0.5 s here)


def test_a_burst_of_connections_is_not_reset(server):
    port = server.server_address[1]
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(64)]  # all at once
    try:
        payload = encode(body())
        head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items()).encode()
        for s in socks:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n" + head + b"content-length: %d\r\n\r\n" % len(payload)
                      + payload)
        assert [read_response(s)[0] for s in socks] == [200] * 64
    finally:
        for s in socks:
            s.close()


def test_connections_use_tcp_nodelay(server, monkeypatch):
    # The ~44 ms per request came from Nagle's algorithm holding back the body until the client's delayed ACK;
    # the speed itself is measured in benchmarks/sim_server.py, not here.
    from agentkit.sim import server as server_module
    seen: list[int] = []
    original = server_module._Handler.finish

    def finish(self):
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        original(self)

    monkeypatch.setattr(server_module._Handler, "finish", finish)
    assert_still_serving(server.server_address[1])
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:  # finish() runs once the connection closes
        time.sleep(0.01)
    assert seen and all(seen)
    assert server.request_queue_size >= 128


def test_many_threads_at_once(server):
    port = server.server_address[1]
    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(lambda i: post(port, encode(body(messages=user(f"Hi {i}"))))[0], range(96)))
    assert statuses == [200] * 96


# -- faults, rate limits, streams ------------------------------------------------------------------------------
def sdk(sim: Simulator, **kwargs: Any) -> anthropic.Anthropic:
    import httpx2
    return anthropic.Anthropic(api_key="test", http_client=httpx2.Client(transport=SimTransport(sim)), **kwargs)


def test_rate_limit_headers_and_429_with_retry_after():
    sim = Simulator(time_scale=0, rate_limits=RateLimits(requests_per_minute=2, input_tokens_per_minute=None,
                                                         output_tokens_per_minute=1000))
    client = sdk(sim, max_retries=0)
    first = client.messages.with_raw_response.create(model=DEFAULT_MODEL, max_tokens=20, messages=user("Hi"))
    h = first.headers
    assert h["anthropic-ratelimit-requests-limit"] == "2" and h["anthropic-ratelimit-requests-remaining"] == "1"
    assert h["anthropic-ratelimit-requests-reset"].endswith("Z")
    out = first.parse().usage.output_tokens
    assert int(h["anthropic-ratelimit-output-tokens-remaining"]) == 1000 - out
    assert h["anthropic-ratelimit-tokens-limit"] == "1000"  # the most restrictive token bucket
    client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=user("Hi again"))
    with pytest.raises(anthropic.RateLimitError) as err:
        client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=user("Once more"))
    assert int(err.value.response.headers["retry-after"]) >= 1
    assert err.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    sim.advance(60)  # a simulated minute refills the bucket
    assert client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=user("Later")).type == "message"


def test_fault_rate_shares_among_kinds_and_is_seeded():
    f = Faults.of_rate(0.3, ["rate_limit", "overloaded", "server_error"])
    assert f.rate_limit == pytest.approx(0.1) and f.overloaded == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults.of_rate(0.1, ["gremlins"])

    def statuses(seed: int) -> list[int]:
        sim = Simulator(seed=seed, time_scale=0, faults=Faults.of_rate(0.5, ["overloaded", "server_error"]))
        return [sim.handle("POST", "/v1/messages", HEADERS, encode(body(messages=user(f"q{i}")))).status
                for i in range(40)]

    a = statuses(7)
    assert a == statuses(7) and {200, 500, 529} <= set(a)


def test_mid_stream_overloaded_error_reaches_the_sdk():
    client = sdk(Simulator(time_scale=0, faults=Faults(stream_error=1.0)), max_retries=0)
    got: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as err:
        with client.messages.stream(model=DEFAULT_MODEL, max_tokens=200, messages=user("Tell me a story")) as s:
            for text in s.text_stream:
                got.append(text)
    assert got, "the stream started before it broke"
    assert err.value.body["error"]["type"] == "overloaded_error"


def test_serve_flags(tmp_path):
    from agentkit.sim.__main__ import main
    with pytest.raises(SystemExit):
        main(["serve", "--fault-rate", "2"])
    with pytest.raises(SystemExit):
        main(["serve", "--fault-kinds", "gremlins"])
    with pytest.raises(SystemExit):
        main(["serve", "--time-scale", "-1"])


# -- batches ------------------------------------------------------------------------------------------------------
def test_cancel_goes_through_canceling_before_ended(monkeypatch):
    monkeypatch.setattr(sim_core, "CANCEL_SECONDS", 10_000)  # 10 real seconds of canceling, ended by hand below
    sim = Simulator(time_scale=0.001, batch_seconds=3600)  # processing would take 3.6 real seconds
    client = sdk(sim)
    reqs = [{"custom_id": f"r{i}", "params": {"model": DEFAULT_MODEL, "max_tokens": 20, "messages": user(f"Q{i}")}}
            for i in range(4)]
    batch = client.messages.batches.create(requests=reqs)
    assert batch.processing_status == "in_progress"
    canceled = client.messages.batches.cancel(batch.id)
    assert canceled.processing_status == "canceling" and canceled.cancel_initiated_at is not None
    assert client.messages.batches.retrieve(batch.id).processing_status == "canceling"
    sim.finish_batches()
    done = client.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended" and done.request_counts.canceled == 4
    assert [r.result.type for r in client.messages.batches.results(batch.id)] == ["canceled"] * 4


def test_batch_list_pages_like_the_api():
    sim = Simulator(time_scale=0)
    client = sdk(sim)
    ids = [client.messages.batches.create(requests=[{"custom_id": "a", "params": body(messages=user(f"Q{i}"))}]).id
           for i in range(5)]
    newest_first = ids[::-1]
    page = client.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2] and page.has_more
    assert page.first_id == newest_first[0] and page.last_id == newest_first[1]
    nxt = client.messages.batches.list(limit=2, after_id=page.last_id)
    assert [b.id for b in nxt.data] == newest_first[2:4] and nxt.has_more
    back = client.messages.batches.list(limit=2, before_id=nxt.first_id)
    assert [b.id for b in back.data] == newest_first[:2] and not back.has_more
    assert [b.id for b in client.messages.batches.list(limit=2)] == newest_first  # the SDK follows the pages
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.list(limit=0)


# -- time -----------------------------------------------------------------------------------------------------------
def test_the_time_scale_belongs_to_each_simulator():
    slow, instant = Simulator(time_scale=0.05), Simulator(time_scale=0)
    with scale(0.5):  # the process default does not touch a simulator that has its own
        assert instant.scale() == 0 and slow.scale() == 0.05 and Simulator().scale() == 0.5
        r = instant.handle("POST", "/v1/messages", HEADERS, encode(body()))
        assert r.delay == 0
        r = slow.handle("POST", "/v1/messages", HEADERS, encode(body()))
        assert r.delay == pytest.approx(float(r.headers["x-agentkit-simulated-seconds"]) * 0.05, rel=1e-3)
    with pytest.raises(ValueError, match="between 0 and 10"):
        Simulator(time_scale=-1)


def cached_body() -> dict[str, Any]:
    long = "The course kit's style guide, rule by rule. " * (MIN_CACHEABLE.get(DEFAULT_MODEL, 1024) // 6 + 50)
    return body(system=[{"type": "text", "text": long, "cache_control": {"type": "ephemeral"}}])


def usage_of(result) -> dict[str, int]:
    return json.loads(result.body)["usage"]


def test_server_clock_follows_real_time_so_a_pause_expires_the_cache():
    sim = Simulator(time_scale=0.001)  # 1 real ms per simulated second: 5 minutes is 0.3 real seconds
    sim.serve_http()
    first = usage_of(sim.handle("POST", "/v1/messages", HEADERS, encode(cached_body())))
    assert first["cache_creation_input_tokens"] > 0
    again = usage_of(sim.handle("POST", "/v1/messages", HEADERS, encode(cached_body())))
    assert again["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    before = sim.now()
    time.sleep(0.35)  # the learner pauses
    assert sim.now() - before >= 300
    later = usage_of(sim.handle("POST", "/v1/messages", HEADERS, encode(cached_body())))
    assert later["cache_read_input_tokens"] == 0 and later["cache_creation_input_tokens"] > 0


def test_in_process_clock_moves_only_by_calls_and_advance():
    sim = Simulator(time_scale=0.001)
    sim.handle("POST", "/v1/messages", HEADERS, encode(cached_body()))
    time.sleep(0.35)
    assert usage_of(sim.handle("POST", "/v1/messages", HEADERS, encode(cached_body())))["cache_read_input_tokens"] > 0
    sim.advance(301)
    assert usage_of(sim.handle("POST", "/v1/messages", HEADERS, encode(cached_body())))["cache_read_input_tokens"] == 0


# -- bounded memory -------------------------------------------------------------------------------------------------
def test_expired_cache_entries_are_pruned():
    sim = Simulator(time_scale=0)
    for i in range(5):
        sim.handle("POST", "/v1/messages", HEADERS,
                   encode(body(system=[{"type": "text", "text": f"{i} " + "rules " * 1500,
                                        "cache_control": {"type": "ephemeral"}}])))
    assert len(sim.cache.entries) == 5
    sim.advance(3600)
    for i in range(PRUNE_EVERY):
        sim.handle("POST", "/v1/messages", HEADERS, encode(body(messages=user(f"q{i}"))))
    assert len(sim.cache.entries) == 0


def test_seen_threads_and_batches_are_capped(monkeypatch):
    monkeypatch.setattr(sim_core, "SEEN_KEPT", 10)
    monkeypatch.setattr(sim_core, "THREADS_KEPT", 3)
    monkeypatch.setattr(sim_core, "BATCHES_KEPT", 2)
    sim = Simulator(time_scale=0)
    for i in range(25):
        sim.handle("POST", "/v1/messages", HEADERS, encode(body(messages=user(f"q{i}"))))
    assert len(sim._seen) == 10
    beta = {**HEADERS, "anthropic-beta": sim_core.THREADS_BETA}
    first = None
    for i in range(5):
        r = sim.handle("POST", "/v1/messages", beta, encode(body(messages=user(f"t{i}"), thread={"type": "create"})))
        first = first or json.loads(r.body)["id"]
    assert len(sim._threads) == 3
    r = sim.handle("POST", "/v1/messages", beta, encode(body(messages=[{"role": "user", "content": "more"}],
                                                          thread={"type": "continue", "previous_message_id": first})))
    check_error(r.status, r.body, 404, "not_found_error", "no thread holds")  # evicted: the SDK replays history
    batch = {"requests": [{"custom_id": "a", "params": body()}]}
    ids = [json.loads(sim.handle("POST", "/v1/messages/batches", HEADERS, encode(batch)).body)["id"] for _ in range(3)]
    assert len(sim._batches) == 2 and ids[0] not in sim._batches  # ended at time scale 0: the oldest went
    assert sim.handle("GET", f"/v1/messages/batches/{ids[0]}", HEADERS, b"").status == 404


# -- the prefix memos -----------------------------------------------------------------------------------------------
SEARCH = {"name": "search", "description": "Search", "input_schema": {"type": "object",
                                                                      "properties": {"q": {"type": "string"}}}}


def agent_history(n: int, tag: str = "t") -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": f"Task {tag}"}]
    step = 0
    while len(msgs) < n:
        uid = f"toolu_{tag}{step}"
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": f"Step {step}"},
                                                      {"type": "tool_use", "id": uid, "name": "search",
                                                       "input": {"q": f"{step}"}}]})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": uid, "content": f"r{step}"}]})
        step += 1
    return msgs


def test_prefix_memo_gives_exactly_the_full_computation():
    memo = PrefixMemo()
    for n in range(1, 40, 2):
        b = body(tools=[SEARCH], system="Be brief.", messages=agent_history(n), cache_control={"type": "ephemeral"})
        segs, bounds, bps = memo.account_inputs(b, memo.lookup(b))
        full = segments(b)
        assert segs == full and bounds == prefix_hashes(DEFAULT_MODEL, full)
        assert bps == [i for i, s in enumerate(full) if s.ttl]
    assert memo.hits >= 17
    # an edited history (a different middle message) is not reused
    edited = agent_history(41)
    edited[5] = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_t1", "content": "EDIT"}]}
    b = body(tools=[SEARCH], system="Be brief.", messages=edited)
    assert memo.lookup(b) is None
    # a different system prompt is not reused either
    assert memo.lookup(body(tools=[SEARCH], system="Other.", messages=agent_history(41))) is None


def test_prefix_memo_sees_a_deferred_tool_loaded_by_a_later_search():
    late = {**SEARCH, "name": "late", "defer_loading": True}
    memo = PrefixMemo()
    history = agent_history(5)
    first = body(tools=[SEARCH, late], messages=history)
    memo.account_inputs(first, memo.lookup(first))
    loaded = [*history, {"role": "assistant", "content": [
        {"type": "tool_search_tool_result", "tool_use_id": "srvtoolu_1",
         "content": {"type": "tool_search_tool_search_result", "tool_references": [{"type": "tool_reference",
                                                                                   "tool_name": "late"}]}},
        {"type": "text", "text": "Loaded."}]}, {"role": "user", "content": "Go on."}]
    second = body(tools=[SEARCH, late], messages=loaded)
    segs, bounds, _ = memo.account_inputs(second, memo.lookup(second))
    assert segs == segments(second) and bounds == prefix_hashes(DEFAULT_MODEL, segments(second))
    assert any(s.key.startswith("T") and '"late"' in s.key for s in segs)  # the loaded tool's schema counts now


def test_prefix_memo_usage_matches_a_fresh_simulator():
    stepwise, fresh_usage = Simulator(time_scale=0), []
    for n in (3, 5, 7, 9):
        b = encode(body(tools=[SEARCH], messages=agent_history(n), cache_control={"type": "ephemeral"}))
        got = usage_of(stepwise.handle("POST", "/v1/messages", HEADERS, b))
        fresh_usage.append(usage_of(Simulator(time_scale=0).handle("POST", "/v1/messages", HEADERS, b)))
        assert got["input_tokens"] + got["cache_creation_input_tokens"] + got["cache_read_input_tokens"] == \
            fresh_usage[-1]["input_tokens"] + fresh_usage[-1]["cache_creation_input_tokens"]
    assert stepwise._prefix.hits == 3 and stepwise._texts.hits == 3


def test_an_error_in_the_new_tail_names_the_right_message():
    sim = Simulator(time_scale=0)
    good = agent_history(7)
    sim.handle("POST", "/v1/messages", HEADERS, encode(body(tools=[SEARCH], messages=good)))
    bad = agent_history(9)
    bad[8]["content"][0]["cache_control"] = {"type": "forever"}
    r = sim.handle("POST", "/v1/messages", HEADERS, encode(body(tools=[SEARCH], messages=bad)))
    check_error(r.status, r.body, 400, "invalid_request_error", "messages.8.content.0.cache_control")


@pytest.mark.parametrize("raw", [
    b'{"model": "m", "messages": [{"a": 1}, {"b": [1, 2]}], "z": {"y": null}}',
    b' {\n "messages" : [ 1 , 2 , 3 ] , "x" : "\\u00e9" } ',
    b'{"messages": []}', b'{}', b'{"messages": [1,2],}', b'{"messages": [1, 2]', b'{"messages": [1] } extra',
    b'{"messages": [1, 2], "messages": [3]}', b'[1, 2]', b'{"a": NaN, "messages": [1, 2]}',
])
def test_text_memo_parses_exactly_as_json(raw):
    memo = TextMemo()
    memo.parse(b'{"model": "m", "messages": [{"a": 1}, {"b": [1, 2]}, 3]}')  # something to match against

    def outcome(parse):
        try:
            return parse(raw)
        except ValueError as exc:
            return type(exc)

    assert repr(outcome(memo.parse)) == repr(outcome(json.loads))


def test_text_memo_reuses_the_unchanged_prefix():
    memo = TextMemo()
    for n in (3, 5, 7):
        raw = encode(body(messages=agent_history(n)))
        assert memo.parse(raw) == json.loads(raw)
    assert memo.hits == 2
    other = encode(body(messages=agent_history(7, tag="u")))  # same shape, different text: no false reuse
    assert memo.parse(other) == json.loads(other)


def test_memos_keep_within_their_memory_budgets():
    texts = TextMemo(max_chars=8_000)
    for i in range(20):
        raw = encode(body(messages=agent_history(9, tag=f"c{i}")))
        assert texts.parse(raw) == json.loads(raw)
    assert 0 < texts._chars <= 8_000 and len(texts._texts) < 20 and sum(len(p) for p, _, _ in texts._texts.values()) == texts._chars
    memo = PrefixMemo(max_bytes=10_000)
    for i in range(20):
        b = body(messages=agent_history(9, tag=f"c{i}"))
        memo.account_inputs(b, memo.lookup(b), size=1_000)
    assert len(memo._entries) == 10 and memo._bytes == 10_000
    memo.account_inputs(body(messages=agent_history(3, tag="huge")), None, size=9_000)  # over a quarter: not kept
    assert memo._bytes == 10_000
