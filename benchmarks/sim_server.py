"""The simulator over HTTP, side by side with a bare server, plus its cost per call and its memory.

    python benchmarks/sim_server.py [--requests 2000] [--memory-requests 10000]

Three measurements in one run (time scale 0, so no simulated latency is slept):

1. Per-request wall time, p50 and p99, from 1 and from 16 client threads, each thread on its own keep-alive
   connection, against `python -m agentkit.sim serve` and against a bare `http.server` with TCP_NODELAY that
   answers every POST with a fixed body. Both servers run in their own process, as a learner's would; the
   client is the standard library's `http.client` (it sends headers and body in one write), so the two columns
   differ only by the server.
2. The simulator's own cost per `/v1/messages` call (`Simulator.handle`, no HTTP) at 11 and at 201 messages of
   history, as an agent's step sees it: the previous step's request (two messages shorter) was sent first.
   The goal (issue 8) is under 2x.
3. The simulator server's resident memory (VmRSS) before and after 10,000 distinct requests, each with a
   cached system prompt and a thread-free body of its own.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentkit.models import DEFAULT_MODEL  # noqa: E402
from agentkit.sim import Simulator  # noqa: E402

HEADERS = {"content-type": "application/json", "x-api-key": "bench", "anthropic-version": "2023-06-01"}

BARE_SERVER = textwrap.dedent("""
    import json, socket, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    BODY = json.dumps({"id": "msg_fixed", "type": "message", "role": "assistant", "model": "m",
                       "content": [{"type": "text", "text": "fixed"}], "stop_reason": "end_turn",
                       "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}).encode()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        def log_message(self, *a):
            pass
    class S(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128
    s = S(("127.0.0.1", 0), H)
    print(f"listening on http://127.0.0.1:{s.server_address[1]}", flush=True)
    s.serve_forever()
""")


def start(cmd: list[str]) -> tuple[subprocess.Popen, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(AGENTKIT_TIME_SCALE="0", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r} {proc.stderr.read()}")
    return proc, int(m.group(1))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def body(text: str, **extra: Any) -> bytes:
    return json.dumps({"model": DEFAULT_MODEL, "max_tokens": 64,
                       "messages": [{"role": "user", "content": text}], **extra}).encode()


def drive(port: int, threads: int, per_thread: int, make_body: Any) -> tuple[list[float], int]:
    """Seconds per request, over `threads` threads each sending `per_thread` requests on one connection, and how
    many connections failed (reset or refused: a thread stops at its first failure)."""
    times: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    gate = threading.Barrier(threads)

    def worker(n: int) -> None:
        gate.wait()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for i in range(per_thread):
                payload = make_body(n, i)
                t0 = time.perf_counter()
                conn.request("POST", "/v1/messages", body=payload, headers=HEADERS)
                resp = conn.getresponse()
                resp.read()
                times[n].append(time.perf_counter() - t0)
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
            conn.close()
        except (OSError, RuntimeError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return [t for ts in times for t in ts], len(errors)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000


def latency_table(requests: int) -> None:
    sim_proc, sim_port = start([sys.executable, "-m", "agentkit.sim", "serve", "--port", "0"])
    bare_proc, bare_port = start([sys.executable, "-c", BARE_SERVER])
    try:
        print("1. per-request wall time over loopback HTTP (ms), time scale 0, keep-alive connections")
        print(f"   {'clients':>8} {'server':<34} {'p50':>8} {'p99':>8}  failed connections")
        for threads in (1, 16):
            per = max(1, requests // threads)
            for name, port in (("agentkit.sim serve", sim_port), ("bare http.server + TCP_NODELAY", bare_port)):
                drive(port, threads, max(1, per // 10), lambda n, i: body(f"warm {n} {i}"))
                ts, failed = drive(port, threads, per, lambda n, i: body(f"Hello {n} {i}"))
                print(f"   {threads:>8} {name:<34} {pct(ts, 50):8.2f} {pct(ts, 99):8.2f}  {failed} of {threads}")
    finally:
        for p in (sim_proc, bare_proc):
            p.kill()
            p.wait()


def conversation(tag: str, n: int) -> list[dict[str, Any]]:
    """An agent's history of `n` messages (n odd): a question, then tool_use / tool_result pairs."""
    msgs: list[dict[str, Any]] = [{"role": "user", "content": f"Research task {tag}: compare three vector databases."}]
    step = 0
    while len(msgs) < n:
        uid = f"toolu_{tag}_{step}"
        msgs.append({"role": "assistant", "content": [
            {"type": "text", "text": f"Step {step}: I will search for more detail on candidate {step}."},
            {"type": "tool_use", "id": uid, "name": "search", "input": {"query": f"vector database {step} {tag}"}}]})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": uid, "content":
                     f"Result {step} for {tag}: latency 12 ms at p50, 40 ms at p99, 1.2 GB index, $0.10/GB-month. " * 3}]})
        step += 1
    return msgs


SEARCH_TOOL = {"name": "search", "description": "Search the web",
               "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}


def step_body(tag: str, n: int) -> bytes:
    return json.dumps({"model": DEFAULT_MODEL, "max_tokens": 256, "tools": [SEARCH_TOOL],
                       "system": [{"type": "text", "text": "You are a careful research agent.",
                                   "cache_control": {"type": "ephemeral"}}],
                       "cache_control": {"type": "ephemeral"},
                       "messages": conversation(tag, n)}).encode()


def cost_per_call(rounds: int) -> None:
    import gc
    sim = Simulator(seed=0)
    if hasattr(sim, "time_scale"):
        sim.time_scale = 0.0
    else:  # before the time scale moved onto the simulator
        from agentkit.sim import set_time_scale
        set_time_scale(0)
    results: dict[int, list[float]] = {11: [], 201: []}
    gc.disable()
    try:
        for r in range(rounds):
            for n in (11, 201):
                tag = f"r{r}n{n}"
                previous, current = step_body(tag, n - 2), step_body(tag, n)
                status = sim.handle("POST", "/v1/messages", HEADERS, previous).status
                t0 = time.perf_counter()
                resp = sim.handle("POST", "/v1/messages", HEADERS, current)
                results[n].append(time.perf_counter() - t0)
                if status != 200 or resp.status != 200:
                    raise SystemExit(f"simulator said {status}/{resp.status}: {resp.body[:300]!r}")
            gc.collect()
    finally:
        gc.enable()
    a, b = statistics.median(results[11]) * 1e6, statistics.median(results[201]) * 1e6
    print("2. simulator cost per /v1/messages call (Simulator.handle, median us), previous step sent first")
    print(f"   11 messages: {a:8.0f} us   201 messages: {b:8.0f} us   ratio {b / a:.2f}x  (goal < 2x)")


def memory(requests: int) -> None:
    proc, port = start([sys.executable, "-m", "agentkit.sim", "serve", "--port", "0"])
    try:
        system = "You are a patient tutor who explains databases. " * 160  # ~1,300 tokens: long enough to cache
        drive(port, 4, 25, lambda n, i: body(f"warm {n} {i}"))
        before = rss_mb(proc.pid)
        failed = 0
        threads, steps = 16, max(4, requests // 2500)
        readings = []
        for step in range(steps):
            failed += drive(port, threads, requests // threads // steps, lambda n, i: body(
                f"Distinct question {step}-{n}-{i}: what is an index?",
                system=[{"type": "text", "text": f"Session {step}-{n}-{i}. " + system,
                         "cache_control": {"type": "ephemeral"}}]))[1]
            readings.append(rss_mb(proc.pid))
        print(f"3. simulator server memory (VmRSS, MB) over {requests} distinct requests with a cached system prompt")
        marks = "   ".join(f"after {requests * (k + 1) // steps:>6}: {mb:6.1f}" for k, mb in enumerate(readings))
        print(f"   before: {before:6.1f}   {marks}   (growth {readings[-1] - before:+.1f},"
              f" last step {readings[-1] - readings[-2]:+.1f}; {failed} failed connections)")
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per latency row")
    parser.add_argument("--rounds", type=int, default=41, help="samples per history length")
    parser.add_argument("--memory-requests", type=int, default=10_000)
    args = parser.parse_args()
    latency_table(args.requests)
    cost_per_call(args.rounds)
    memory(args.memory_requests)


if __name__ == "__main__":
    main()
