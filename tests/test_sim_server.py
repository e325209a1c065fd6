"""Tests for agentkit.sim.server and `python -m agentkit.sim serve`: the simulator over loopback HTTP.

The server runs in a subprocess; the SDK runs in *another* process pointed at it with ANTHROPIC_BASE_URL, as a
learner's second notebook, curl or another language's SDK would be.

Every wait on a subprocess or a server waits for a signal that it is ready (its "listening" line, then an
answer to a request; a log line saying it noticed a client leave), never for a fixed time, and every bound is
generous (`SLOW_MACHINE_S`): the suite runs on a 2-core machine that may be busy with something else.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import anthropic
import pytest

from agentkit.models import DEFAULT_MODEL
from agentkit.sim import SimServer, Simulator
from sim_helpers import RecordingSimulator, scale, user

PY = sys.executable
ROOT = Path(__file__).resolve().parents[1]
#: The bound on any one wait for a subprocess or server here: far above what it takes on an idle machine (well
#: under a second), so a busy one does not fail a test; a server that is really stuck still fails it.
SLOW_MACHINE_S = 120.0


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "AGENTKIT_LIVE"))}
    env.update({"AGENTKIT_TIME_SCALE": "0", "PYTHONUNBUFFERED": "1", **extra})
    return env


def read_line(proc: subprocess.Popen, timeout: float = SLOW_MACHINE_S, stream: str = "stdout") -> str:
    """The next stdout line, or fail after `timeout` (a server that never starts must not hang the suite)."""
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(getattr(proc, stream).readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box:
        proc.kill()
        pytest.fail(f"no output from the server within {timeout}s; stderr: {proc.stderr.read()}")
    return box[0]


def start_server(*args: str, time_scale: str = "0") -> tuple[subprocess.Popen, str]:
    """Start `python -m agentkit.sim serve` and return once it answers requests (not merely once it printed)."""
    proc = subprocess.Popen([PY, "-m", "agentkit.sim", "serve", "--port", "0", *args], cwd=ROOT,
                            env=child_env(AGENTKIT_TIME_SCALE=time_scale),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = read_line(proc)
    m = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", line)
    assert m, f"unexpected first line: {line!r}"
    wait_until_serving(int(m.group(2)), proc)
    return proc, m.group(1)


def wait_until_serving(port: int, proc: subprocess.Popen | None = None) -> None:
    """Block until the server answers a GET (its accept loop runs), for up to `SLOW_MACHINE_S`.

    The "listening" line is printed before the accept loop starts: a Ctrl-C sent in between would land
    outside it. One request that comes back is the signal that the server is really up."""
    deadline = time.monotonic() + SLOW_MACHINE_S
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SLOW_MACHINE_S)
            conn.request("GET", "/v1/models", headers={"x-api-key": "ready?", "anthropic-version": "2023-06-01"})
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # a poll interval while it starts, not a guess at how long starting takes


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        return proc.wait(timeout=SLOW_MACHINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def server():
    proc, url = start_server()
    yield proc, url
    if proc.poll() is None:
        stop(proc)


SDK_SCRIPT = textwrap.dedent("""
    import json, os, time
    import anthropic
    from anthropic import beta_tool
    MODEL = os.environ["MODEL"]
    c = anthropic.Anthropic(api_key="anything")  # base URL from ANTHROPIC_BASE_URL
    out = {"base_url": str(c.base_url)}
    m = c.messages.create(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Hello server"}])
    out["create"] = m.model_dump(mode="json")
    with c.messages.stream(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Stream please"}]) as s:
        out["pieces"] = list(s.text_stream)
        out["final"] = s.get_final_message().model_dump(mode="json")
    out["count"] = c.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hello server"}]).input_tokens
    batch = c.messages.batches.create(requests=[
        {"custom_id": "one", "params": {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}}])
    while batch.processing_status != "ended":
        time.sleep(0.05)
        batch = c.messages.batches.retrieve(batch.id)
    out["results_url"] = batch.results_url
    out["results"] = [r.model_dump(mode="json") for r in c.messages.batches.results(batch.id)]

    @beta_tool
    def get_weather(city: str) -> str:
        '''Get the current weather for a city.

        Args:
            city: the city
        '''
        return "sunny in " + city

    runner = c.beta.messages.tool_runner(model=MODEL, max_tokens=300, tools=[get_weather],
                                         messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    out["runner"] = [r.stop_reason for r in runner]
    out["runner_last"] = runner.generate_tool_call_response() is None
    try:
        c.messages.create(model="claude-nope", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    except anthropic.NotFoundError as e:
        out["error"] = e.body
    print(json.dumps(out))
""")


def test_sdk_in_another_process(server):
    _, url = server
    run = subprocess.run([PY, "-c", SDK_SCRIPT], cwd=ROOT, env=child_env(ANTHROPIC_BASE_URL=url, MODEL=DEFAULT_MODEL),
                         capture_output=True, text=True, timeout=SLOW_MACHINE_S)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["base_url"].rstrip("/") == url
    assert out["create"]["role"] == "assistant" and "simulated" in out["create"]["content"][0]["text"]
    assert out["create"]["usage"]["input_tokens"] == out["count"]
    assert len(out["pieces"]) > 1 and "".join(out["pieces"]) == out["final"]["content"][0]["text"]
    assert out["results_url"].startswith(url + "/v1/messages/batches/")  # points back at this server
    [result] = out["results"]
    assert result["custom_id"] == "one" and result["result"]["type"] == "succeeded"
    assert out["runner"] == ["tool_use", "end_turn"]
    assert out["error"]["type"] == "error" and out["error"]["error"]["type"] == "not_found_error"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(server):
    _, url = server
    body = json.dumps({"model": DEFAULT_MODEL, "max_tokens": 100, "messages": user("Hello from curl")})

    def curl(*args: str) -> tuple[int, str]:
        run = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                             timeout=SLOW_MACHINE_S)
        assert run.returncode == 0, run.stderr
        text, _, code = run.stdout.rpartition("\n")
        return int(code), text

    headers = ["-H", "content-type: application/json", "-H", "x-api-key: any", "-H", "anthropic-version: 2023-06-01"]
    code, text = curl(*headers, "-d", body, f"{url}/v1/messages")
    assert code == 200 and json.loads(text)["type"] == "message"
    code, text = curl(*headers, "-N", "-d", json.dumps({**json.loads(body), "stream": True}), f"{url}/v1/messages")
    events = re.findall(r"^event: (\w+)$", text, re.M)
    assert code == 200 and events[0] == "message_start" and events[-1] == "message_stop"
    code, text = curl(*headers, "-d", "{not json", f"{url}/v1/messages")
    assert code == 400 and json.loads(text)["error"]["type"] == "invalid_request_error"
    code, text = curl(*headers, f"{url}/v1/models")
    assert code == 200 and DEFAULT_MODEL in [m["id"] for m in json.loads(text)["data"]]
    code, text = curl(f"{url}/v1/models")  # no key, no version: what the API answers
    assert code == 401 and json.loads(text)["error"]["type"] == "authentication_error"
    code, text = curl(*headers, f"{url}/v1/elsewhere")
    assert code == 404 and json.loads(text)["error"]["type"] == "not_found_error"


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6} (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:  # 0A = LISTEN
                found.add(addr)
    return found


def test_binds_loopback_only(server):
    _, url = server
    port = int(url.rsplit(":", 1)[1])
    if Path("/proc/net/tcp").exists():
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, little-endian hex; nothing on 0.0.0.0 or ::
    ip = outward_ip()
    if ip is not None:  # the machine's own non-loopback address must not reach the server
        with pytest.raises(OSError):
            socket.create_connection((ip, port), timeout=2).close()


def outward_ip() -> str | None:
    """This machine's non-loopback IPv4 address (a UDP connect sends nothing; it only picks a route)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def test_ctrl_c_stops_cleanly(tmp_path):
    scenario = tmp_path / "hello.yaml"
    scenario.write_text("name: hello\nmatch: hello\nturns: ['Hello from a scenario file.']\n")
    proc, url = start_server("--scenarios", str(scenario))
    client = anthropic.Anthropic(api_key="anything", base_url=url)
    m = client.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=user("hello"))
    assert m.content[0].text == "Hello from a scenario file."
    client.close()
    assert stop(proc) == 0
    rest = proc.stdout.read()
    assert "stopped" in rest
    assert "Traceback" not in proc.stderr.read()


def test_a_client_leaving_early_is_not_a_server_error():
    # slow enough that the stream is still going when the client leaves; --verbose logs the server noticing
    proc, url = start_server("--verbose", time_scale="0.5")
    try:
        client = anthropic.Anthropic(api_key="anything", base_url=url, max_retries=0)
        with client.messages.stream(model=DEFAULT_MODEL, max_tokens=300, messages=user("Tell me a long story")) as s:
            next(iter(s.text_stream))
        client.close()
        client2 = anthropic.Anthropic(api_key="anything", base_url=url, max_retries=0)
        assert client2.models.retrieve(DEFAULT_MODEL).id == DEFAULT_MODEL  # and it keeps serving
        client2.close()
        # The rest of the stream meets a closed socket: wait for the server's own line saying it noticed.
        logged = []
        while not any("client left before the answer was complete" in line for line in logged):
            logged.append(read_line(proc, stream="stderr"))
            assert logged[-1], f"the server's log ended first: {logged}"
        assert not any("Traceback" in line for line in logged)
    finally:
        assert stop(proc) == 0
    assert "Traceback" not in proc.stderr.read()


def test_bad_scenario_file_and_busy_port_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmatch: hi\n")
    run = subprocess.run([PY, "-m", "agentkit.sim", "serve", "--port", "0", "--scenarios", str(bad)], cwd=ROOT,
                         env=child_env(), capture_output=True, text=True, timeout=SLOW_MACHINE_S)
    assert run.returncode == 2 and "bad.yaml" in run.stderr and "turns" in run.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([PY, "-m", "agentkit.sim", "serve", "--port", str(port)], cwd=ROOT, env=child_env(),
                             capture_output=True, text=True, timeout=SLOW_MACHINE_S)
    assert run.returncode == 2 and f"127.0.0.1:{port}" in run.stderr and "--port" in run.stderr
    assert "Traceback" not in run.stderr


def test_in_process_server_in_a_background_thread():
    sim = RecordingSimulator()
    srv = SimServer(sim, port=0)
    srv.start_in_background()
    try:
        assert srv.server_address[0] == "127.0.0.1" and srv.url.startswith("http://127.0.0.1:")
        with scale(0):
            c = anthropic.Anthropic(api_key="anything", base_url=srv.url)
            events = list(c.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=user("Hi"), stream=True))
            batch = c.messages.batches.create(requests=[{"custom_id": "a", "params": {
                "model": DEFAULT_MODEL, "max_tokens": 20, "messages": user("Hi")}}])
            sim.finish_batches()
            done = c.messages.batches.retrieve(batch.id)
            c.close()
        assert [e.type for e in events][-1] == "message_stop"
        assert done.results_url.startswith(srv.url + "/v1/messages/batches/")
        assert [w.path for w in sim.wire][0] == "/v1/messages"
    finally:
        srv.shutdown()
        srv.server_close()


def test_serve_flags_inject_faults_and_stream_errors():
    proc, url = start_server("--fault-rate", "1", "--fault-kinds", "overloaded", "--seed", "3")
    try:
        client = anthropic.Anthropic(api_key="anything", base_url=url, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as err:
            client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=user("Hi"))
        assert err.value.status_code == 529 and err.value.body["error"]["type"] == "overloaded_error"
        assert err.value.response.headers["retry-after"] == "1"
        assert client.models.retrieve(DEFAULT_MODEL).id == DEFAULT_MODEL  # faults hit /v1/messages only
        client.close()
    finally:
        assert stop(proc) == 0
    proc, url = start_server("--stream-error-rate", "1", "--rpm", "100")
    try:
        client = anthropic.Anthropic(api_key="anything", base_url=url, max_retries=0)
        raw = client.messages.with_raw_response.create(model=DEFAULT_MODEL, max_tokens=20, messages=user("Hi"))
        assert raw.headers["anthropic-ratelimit-requests-limit"] == "100"
        with pytest.raises(anthropic.APIStatusError) as err:
            with client.messages.stream(model=DEFAULT_MODEL, max_tokens=200, messages=user("A story")) as s:
                list(s.text_stream)
        assert err.value.body["error"]["type"] == "overloaded_error"
        client.close()
    finally:
        assert stop(proc) == 0
    assert "Traceback" not in proc.stderr.read()


@pytest.fixture()
def in_process_server():
    srv = SimServer(Simulator(time_scale=0), port=0)
    srv.start_in_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_an_oversized_plain_post_gets_a_413_the_client_can_read(in_process_server):
    # No Expect: 100-continue: the client sends the whole body, then reads. The server answers at once, then
    # reads and discards the rest, so the client finishes sending and reads a 413, not a broken pipe.
    from agentkit.sim.server import MAX_BODY_BYTES

    port = in_process_server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SLOW_MACHINE_S)
    conn.request("POST", "/v1/messages", body=b"x" * (MAX_BODY_BYTES + 1),
                 headers={"content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01"})
    response = conn.getresponse()
    error = json.loads(response.read())
    conn.close()
    assert response.status == 413 and error["error"]["type"] == "request_too_large"
    # The SDK, the way a learner hits it (a huge pasted document), gets the typed error too.
    client = anthropic.Anthropic(api_key="anything", base_url=in_process_server.url, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as err:
        client.messages.create(model=DEFAULT_MODEL, max_tokens=10, messages=user("x" * (MAX_BODY_BYTES + 1)))
    client.close()
    assert err.value.status_code == 413 and err.value.body["error"]["type"] == "request_too_large"
    wait_until_serving(port)  # and it keeps serving


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_by_content_type_gets_the_apis_400(in_process_server, content_type):
    port = in_process_server.server_address[1]
    body = json.dumps({"model": DEFAULT_MODEL, "max_tokens": 10, "messages": user("Hi")}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SLOW_MACHINE_S)
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    conn.request("POST", "/v1/messages", body=body, headers={**headers, "content-type": content_type})
    response = conn.getresponse()
    error = json.loads(response.read())
    assert response.status == 400 and error["error"]["type"] == "invalid_request_error"
    assert content_type in error["error"]["message"] and "application/json" in error["error"]["message"]
    # the same connection goes on (the body was read), and JSON with a charset is JSON
    conn.request("POST", "/v1/messages", body=body, headers={**headers, "content-type": "application/json; charset=utf-8"})
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read())["type"] == "message"
    conn.close()
