"""agentkit.sandbox: the result shape, the fix-and-retry loop, and the escape and exhaustion catalog.

Each catalog entry is an attempt a model (or a web page steering it) could make,
the sandbox settings it runs under, and the limit that must stop it. Entries
marked "OS layer" run with the Python guards off (`guards=False`) to show that
the kernel's limits hold on their own: the guards give clear errors, the OS
layers are the boundary.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentkit.sandbox import DEFAULT_ALLOWED_MODULES, LAYERS, LIMITS, Sandbox, SandboxResult, fix_and_retry, isolation, run_code

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox's OS layers are Linux's")

SECRET = "TOPSECRET-" + "7f3a9c"  # what a file outside the sandbox holds
FAKE_KEY = "sk-ant-" + "api03-notarealkey0123456789"  # split so no key-shaped literal is committed


def needs(*layers: str) -> None:
    """Skip when this machine lacks a kernel layer the test relies on (say which, and why). As root, which is
    how CI runs, none is missing: test_every_kernel_layer_holds_on_this_machine fails instead of skipping."""
    facts = isolation()
    missing = [f"{name}: {facts[name]}" for name in layers if facts[name] is not True]
    if missing:
        pytest.skip("this machine lacks " + "; ".join(missing))


@pytest.fixture(scope="module")
def outside_dir() -> Iterator[Path]:
    """A world-readable folder on the host outside /tmp (the run's private /tmp hides the host's), so only
    Landlock and the guards stand between the code and what is in it."""
    for base in ("/run", "/var/lib", "/srv", "/opt"):
        if os.path.isdir(base) and os.access(base, os.W_OK) and os.stat(base).st_mode & 0o001:
            break
    else:
        pytest.skip("no world-traversable folder outside /tmp to put a secret in")
    path = Path(tempfile.mkdtemp(prefix="agentkit-sandbox-test-", dir=base))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def secret_file(outside_dir: Path) -> Iterator[Path]:
    """A world-readable file outside the sandbox: only the sandbox's own layers keep the code from it."""
    path = outside_dir / "secret.txt"
    path.write_text(SECRET)
    path.chmod(0o644)
    yield path
    path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Attempt:
    name: str
    code: str
    limit: str  # the limit that must stop it
    options: dict[str, Any] = field(default_factory=dict)
    layer: str | None = None  # the kernel layer (of `LAYERS`) that stops it, when the test needs one


OS_ONLY = {"guards": False, "allowed_modules": {"os", "socket", "resource"}}  # the OS layers alone
FIND_SYS = "w = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]\n" \
           "sys = w.__init__.__globals__['sys']\n"
REAL_IMPORT = "real = [c.cell_contents for c in __import__.__closure__ if callable(c.cell_contents)][0]\n"

CATALOG: tuple[Attempt, ...] = (
    # files outside the sandbox's directory
    Attempt("read /etc/passwd", "result = open('/etc/passwd').read()", "files"),
    Attempt("read a secret file", "result = open(SECRET_PATH).read()", "files"),
    Attempt("read a secret file (OS layer: Landlock)", "result = open(SECRET_PATH).read()", "filesystem", OS_ONLY),
    Attempt("read the parent's environment via /proc", "result = open('/proc/1/environ').read()", "files"),
    Attempt("read /proc environ (OS layer)", "result = open('/proc/1/environ').read()", "filesystem", OS_ONLY),
    Attempt("write outside", "open('/tmp/agentkit-escaped.txt', 'w').write('x')", "files"),
    Attempt("write outside (OS layer)", "open('/tmp/agentkit-escaped.txt', 'w').write('x')", "filesystem", OS_ONLY),
    Attempt("overwrite the sandbox's own code", "open(CHILD_PATH, 'a').write('# pwned')", "files"),
    Attempt("list / through a leaked os", "import random\nresult = random._os.listdir('/')", "files"),
    Attempt("symlink to a secret (OS layer)",
            "import os\nos.symlink(SECRET_PATH, 'link')\nresult = open('link').read()", "filesystem", OS_ONLY),
    # imports off the list and the usual ways around them
    Attempt("import os", "import os\nos.system('id')", "imports"),
    Attempt("import subprocess", "import subprocess\nsubprocess.run(['id'])", "imports"),
    Attempt("import ctypes", "import ctypes", "imports"),
    Attempt("__import__ by name", "__import__('socket')", "imports"),
    Attempt("the real import from the guard's closure", REAL_IMPORT + "real('socket')", "imports"),
    Attempt("os via the closure's real import", REAL_IMPORT + "real('os').system('id')", "processes"),
    # __subclasses__ and frame tricks
    Attempt("__subclasses__ to sys, then os.system", FIND_SYS + "sys.modules['os'].system('id')", "processes"),
    Attempt("__subclasses__ to ctypes", FIND_SYS + "sys.modules['ctypes'].CDLL(None)", "audit"),
    Attempt("traceback frame to the launcher's globals, then fork",
            "try:\n    1/0\nexcept ZeroDivisionError as e:\n    g = e.__traceback__.tb_frame.f_back.f_globals\n"
            "g['os'].fork()", "processes"),
    Attempt("generator frame walk, then exec a shell",
            "def gen():\n    yield g.gi_frame.f_back.f_back.f_globals\ng = gen()\nglobs = next(g)\n"
            "globs['os'].execv('/bin/sh', ['sh', '-c', 'id'])", "processes"),
    Attempt("raise its own CPU limit", FIND_SYS + "r = sys.modules['resource']\n"
            "r.setrlimit(r.RLIMIT_CPU, (10**6, 10**6))", "audit"),
    # processes
    Attempt("fork bomb", "import random\nwhile True:\n    random._os.fork()", "processes"),
    Attempt("fork bomb (OS layer: RLIMIT_NPROC)", "import os\nwhile True:\n    os.fork()", "processes", OS_ONLY),
    Attempt("signal the parent (OS layer: Landlock scope)", "import os\nos.kill(os.getppid(), 9)", "processes",
            {**OS_ONLY, "pid_namespace": False}),  # in its PID namespace the code cannot even name its parent
    Attempt("fill the private disk with many files", "for i in range(40):\n    open(f'f{i}', 'wb').write(b'x' * 900_000)",
            "disk", {"disk_mb": 8}, "mount_namespace"),
    Attempt("fill the private disk through /tmp (OS layer)",
            "for i in range(40):\n    open(f'/tmp/f{i}', 'wb').write(b'x' * 900_000)", "disk",
            {**OS_ONLY, "disk_mb": 8, "landlock": False}, "mount_namespace"),
    Attempt("a result nested 990 lists deep", "x = []\nfor _ in range(990):\n    x = [x]\nresult = x", "output"),
    # memory, CPU, time, output, files
    Attempt("2 GB at once", "x = bytearray(2 * 1024**3)", "memory"),
    Attempt("memory creep", "x = []\nwhile True:\n    x.append(' ' * 10**6)", "memory"),
    Attempt("CPU bomb in Python", "while True:\n    pass", "cpu", {"cpu_seconds": 1, "timeout": 30}),
    Attempt("CPU bomb in C (signal handler never runs)", "sum(range(10**14))", "cpu", {"cpu_seconds": 1, "timeout": 30}),
    Attempt("sleep forever", "import time\ntime.sleep(3600)", "timeout", {"timeout": 0.5}),
    Attempt("huge output", "while True:\n    print('spam' * 1000)", "output"),
    Attempt("huge output past print (OS layer)", "import os\nos.write(1, b'x' * 3 * 2**20)", "output", OS_ONLY),
    Attempt("fill the disk", "f = open('big.bin', 'wb')\nwhile True:\n    f.write(b'x' * 2**20)", "file_size"),
    Attempt("huge result", "result = 'x' * 10**6", "output"),
    Attempt("exhaust file descriptors (OS layer)", "fs = [open(f'f{i}', 'w') for i in range(1000)]", "open_files",
            OS_ONLY),
    # network
    Attempt("import socket", "import socket", "imports"),
    Attempt("curl to an outside host", FIND_SYS + "sys.modules['os'].system('curl example.com')", "processes"),
    Attempt("TCP connect (OS layer: namespace + Landlock)",
            "import socket\ns = socket.socket()\ns.connect(('1.1.1.1', 443))", "network", OS_ONLY),
    Attempt("DNS lookup (OS layer: no resolver in the namespace)",
            "import socket\nsocket.getaddrinfo('example.com', 443)", "network", OS_ONLY),
)


def _run(attempt: Attempt, secret_file: Path) -> SandboxResult:
    options = {"timeout": 5.0, "cpu_seconds": 2, **attempt.options}
    inputs = {"SECRET_PATH": str(secret_file), "CHILD_PATH": str(Path(__file__).parents[1] / "agentkit" /
                                                                  "_sandbox_child.py")}
    return run_code(attempt.code, inputs=inputs, **options)


def test_catalog_has_at_least_25_attempts_and_names_real_limits() -> None:
    assert len(CATALOG) >= 25
    assert len({a.name for a in CATALOG}) == len(CATALOG)
    assert {a.limit for a in CATALOG} <= set(LIMITS)


@pytest.fixture(scope="module")
def catalog_results(secret_file: Path) -> dict[str, SandboxResult]:
    # Each attempt is its own process: run a few at once so the catalog takes seconds, not a minute.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda a: (a.name, _run(a, secret_file)), CATALOG)
        return dict(results)


@pytest.mark.parametrize("attempt", CATALOG, ids=[a.name for a in CATALOG])
def test_escape_attempt_is_contained(attempt: Attempt, catalog_results: dict[str, SandboxResult]) -> None:
    if attempt.layer:
        needs(attempt.layer)
    result = catalog_results[attempt.name]
    assert not result.ok, f"{attempt.name} was not stopped: {result}"
    assert result.limit == attempt.limit, f"{attempt.name}: stopped by {result.limit!r} ({result.error})"
    assert SECRET not in result.stdout + result.stderr + str(result.result) + str(result.traceback)
    assert not Path("/tmp/agentkit-escaped.txt").exists()


def test_environment_variables_do_not_reach_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # The code may read its environment (through a leaked os): there is nothing of the parent's in it.
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    result = run_code("import random\nresult = dict(random._os.environ)")
    assert result.ok
    assert FAKE_KEY not in str(result.result)
    assert set(result.result) == {"PATH", "HOME", "TMPDIR", "LANG"}


def test_without_landlock_and_guards_the_secret_file_is_readable(secret_file: Path) -> None:
    # The control for the catalog: the same read succeeds when the layers that stop it are off.
    result = run_code("result = open(SECRET_PATH).read()", inputs={"SECRET_PATH": str(secret_file)},
                      guards=False, landlock=False)
    assert result.ok and result.result == SECRET


def test_a_good_run_returns_json_output_and_timing() -> None:
    result = run_code("import statistics\nprint('mean of', data)\nresult = {'mean': statistics.mean(data)}",
                      inputs={"data": [3, 4, 8]})
    assert result.ok and result.limit is None and result.error_type is None
    assert result.result == {"mean": 5}
    assert result.stdout == "mean of [3, 4, 8]\n" == result.output
    assert 0 < result.duration_s < 5
    assert result.exit_code == 0
    assert result.blocked == ()


def test_network_isolation_is_reported_honestly() -> None:
    facts = isolation()
    result = run_code("result = 1")
    assert result.network_isolated == facts["network_blocked"]
    assert facts["network_blocked"] == (facts["network_namespace"] is True and facts["seccomp"] is True)
    assert set(facts["missing"]) == {name for name in LAYERS if facts[name] is not True}
    # One way out left open is enough for the result to say the network is not isolated.
    assert not run_code("result = 1", seccomp=False).network_isolated  # Unix sockets are a way out
    assert not run_code("result = 1", network_namespace=False).network_isolated
    off = run_code("result = 1", pid_namespace=False, seccomp=False)
    assert off.layers["pid_namespace"] == "turned off" and off.layers["seccomp"] == "turned off"


def test_every_kernel_layer_holds_on_this_machine() -> None:
    # CI runs as root on a machine like the one this was written on: every layer is there. Elsewhere the
    # result says which is missing (test_network_isolation_is_reported_honestly checks that it says so).
    facts = isolation()
    if os.geteuid() != 0:
        pytest.skip("the kernel layers are checked as root, as CI runs")
    assert facts["missing"] == {}, facts["missing"]


def test_the_temp_dir_is_writable_and_removed_afterwards() -> None:
    result = run_code("import json\nopen('notes.txt', 'w').write('hi')\nresult = open('notes.txt').read()")
    assert result.ok and result.result == "hi"
    run_dir = run_code("import random\nresult = random._os.getcwd()").result
    assert run_dir.startswith("/") and not os.path.exists(run_dir)


def test_a_bug_returns_the_codes_own_traceback() -> None:
    result = run_code("rates = [0.181, 0.134]\ndrop = rates[0] - rates[2]\n")
    assert not result.ok and result.limit is None
    assert result.error_type == "IndexError"
    assert 'File "<sandbox>", line 2' in result.traceback
    assert "drop = rates[0] - rates[2]" in result.traceback
    assert "_sandbox_child" not in result.traceback  # the launcher's frames are left out
    assert "IndexError" in result.feedback()


def test_swallowed_violation_is_still_recorded() -> None:
    result = run_code("try:\n    import os\nexcept ImportError:\n    pass\nresult = 'fine'")
    assert result.ok and result.result == "fine"
    assert any(b.startswith("imports:") for b in result.blocked)


def test_non_json_result_is_an_error() -> None:
    result = run_code("result = {1, 2}")
    assert not result.ok and result.error_type == "ResultError" and "JSON" in result.error


def test_feedback_names_the_limit() -> None:
    result = run_code("x = bytearray(2 * 1024**3)")
    assert "memory" in result.feedback() and "RLIMIT_AS" in result.feedback()


def test_fix_and_retry_stops_when_fixed_and_at_the_cap() -> None:
    fixes = iter(["result = 10 / 0", "result = 10 / 2", "result = 'never run'"])
    seen: list[str] = []

    def fix(code: str, result: SandboxResult) -> str:
        seen.append(result.error_type or "")
        return next(fixes)

    run = fix_and_retry("result = 10 / undefined", fix, max_attempts=5)
    assert run.ok and run.final.result == 5.0 and run.attempts == 3
    assert seen == ["NameError", "ZeroDivisionError"]

    capped = fix_and_retry("1/0", lambda code, result: "1/0", max_attempts=2)
    assert not capped.ok and capped.attempts == 2
    gave_up = fix_and_retry("1/0", lambda code, result: None, max_attempts=4)
    assert gave_up.attempts == 1


@pytest.mark.parametrize("bad, message", [
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"memory_mb": 16}, "too small"),
    ({"allowed_modules": "math"}, "collection of module names"),
])
def test_bad_settings_say_what_to_do(bad: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        Sandbox(**bad)


def test_bad_input_is_refused_before_starting() -> None:
    with pytest.raises(TypeError, match="Python source"):
        run_code(b"print(1)")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON values"):
        run_code("result = x", inputs={"x": object()})
    with pytest.raises(ValueError, match="max_attempts"):
        fix_and_retry("1", lambda c, r: None, max_attempts=0)


def test_a_warm_sandbox_gives_the_same_results_with_a_fresh_process_each_run() -> None:
    box = Sandbox(warm=True, timeout=0.5)
    try:
        box.warm_up()
        first = box.run("import random\nopen('mark', 'w').write('x')\nrandom.mark = 1\n"
                        "result = [hasattr(random, 'mark'), sorted(random._os.listdir('.'))]")
        second = box.run("import random\nresult = [hasattr(random, 'mark'), sorted(random._os.listdir('.'))]")
        assert first.ok and second.ok
        assert first.result[0] and not second.result[0]  # a new interpreter: nothing of the first run's state
        assert first.result[1] == ["mark"] and second.result[1] == []  # and a new, empty directory
        assert box.run("import time\ntime.sleep(60)").limit == "timeout"  # limits hold for pre-started ones
        assert box.run("import os").limit == "imports"
    finally:
        box.close()
    assert not box._spare


def test_everyday_code_works_with_the_default_allow_list() -> None:
    # Every default module imports, and library code that needs the script's module or data files works.
    imports = "\n".join(f"import {m}" for m in sorted(DEFAULT_ALLOWED_MODULES))
    code = imports + """
@dataclasses.dataclass
class Row:
    name: str
    rate: float = 0.0
result = {
    "row": dataclasses.asdict(Row("q3", 13.4)),
    "zone": str(zoneinfo.ZoneInfo("Europe/Paris")),
    "mean": statistics.mean([18.1, 13.4]),
    "money": str(decimal.Decimal("0.10") * 3),
    "latin": "caf\\u00e9".encode("latin-1").decode("latin-1"),
}
"""
    result = run_code(code)
    assert result.ok, result.feedback()
    assert result.result == {"row": {"name": "q3", "rate": 13.4}, "zone": "Europe/Paris", "mean": 15.75,
                             "money": "0.30", "latin": "caf\u00e9"}


# ---------------------------------------------------------------------------
# The kernel layers, each checked from outside the sandbox, each with a control that shows the check can fail
# ---------------------------------------------------------------------------

KERNEL_ONLY = {"guards": False, "landlock": False}  # the Python guards and Landlock off: the namespaces alone


def _processes_named(name: str) -> list[int]:
    """Host pids of live (not zombie) processes whose command name is `name`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name \
                    and "State:\tZ" not in (entry / "status").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _survivors(name: str, grace_s: float = 5.0) -> list[int]:
    """The processes named `name` still alive once the kernel had `grace_s` to finish killing them."""
    deadline = time.monotonic() + grace_s
    while (alive := _processes_named(name)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


# A child that leaves the run's session and process group, names itself (so the host can find it) and
# waits; once it says it is ready, the run ends normally, or sleeps into its timeout.
ESCAPER = """import ctypes, os, time
ready, told = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    ctypes.CDLL(None).prctl(15, NAME.encode(), 0, 0, 0)  # PR_SET_NAME
    os.write(told, b"1")
    time.sleep(60)
    os._exit(0)
os.read(ready, 1)
print("escaped child ready", flush=True)
if SLEEP:
    time.sleep(60)
result = 'parent done'
"""


@pytest.mark.parametrize("max_processes, sleep", [(3, False), (3, True), (64, False)])
def test_no_process_of_a_run_survives_it(max_processes: int, sleep: bool) -> None:
    needs("pid_namespace")
    name = f"akesc{os.getpid() % 10000}{max_processes}{int(sleep)}"
    result = run_code(ESCAPER, inputs={"NAME": name, "SLEEP": sleep}, max_processes=max_processes,
                      timeout=5.0 if sleep else 30.0, allowed_modules={"ctypes", "os", "time"}, **KERNEL_ONLY)
    assert "escaped child ready" in result.stdout, result.feedback()  # the escape was made before the run ended
    assert result.ok or result.limit == "timeout", result.feedback()
    assert result.layers["pid_namespace"] is True
    assert _survivors(name) == []


def test_without_the_pid_namespace_a_setsid_child_survives() -> None:
    needs("pid_namespace")
    # The control: the same escape, PID namespace off, does outlive the run (then the test kills it).
    name = f"akctl{os.getpid() % 10000}"
    result = run_code(ESCAPER, inputs={"NAME": name, "SLEEP": False}, max_processes=3, pid_namespace=False,
                      timeout=30.0, allowed_modules={"ctypes", "os", "time"}, **KERNEL_ONLY)
    alive = _processes_named(name)
    for pid in alive:
        os.kill(pid, 9)
    assert result.ok and alive


UNIX_CLIENT = """import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(PATH)
s.sendall(b'escaped')
result = 'sent'
"""


@pytest.fixture()
def unix_listener(outside_dir: Path) -> Iterator[tuple[str, Callable[[], list[bytes]]]]:
    """A world-writable Unix socket listening on the host outside /tmp, and a function that returns what
    reached it. A connection is queued by the kernel as soon as connect() returns, so once the run is over
    a non-blocking accept() sees every one that was made: no waiting."""
    import socket

    path = outside_dir / f"listen-{time.monotonic_ns()}.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o777)
    server.listen()
    server.setblocking(False)

    def received() -> list[bytes]:
        got = []
        while True:
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                return got
            with conn:
                conn.settimeout(30)
                got.append(conn.recv(100) or b"(connected)")

    yield str(path), received
    server.close()
    path.unlink(missing_ok=True)


@pytest.mark.parametrize("options", [KERNEL_ONLY, {}], ids=["kernel layers alone", "every layer"])
def test_a_listener_on_a_host_unix_socket_receives_nothing(
        unix_listener: tuple[str, Callable[[], list[bytes]]], options: dict[str, Any]) -> None:
    needs("seccomp")
    path, received = unix_listener
    result = run_code(UNIX_CLIENT, inputs={"PATH": path}, allowed_modules={"socket"}, **options)
    assert not result.ok and result.limit == "network", result.feedback()
    assert received() == []


def test_without_seccomp_the_unix_socket_is_reached(unix_listener: tuple[str, Callable[[], list[bytes]]]) -> None:
    # The control: with the seccomp filter off (the network namespace does not cover socket files) the
    # same code gets through, which is what `network_isolated=False` then says.
    path, received = unix_listener
    result = run_code(UNIX_CLIENT, inputs={"PATH": path}, allowed_modules={"socket"}, seccomp=False, **KERNEL_ONLY)
    assert result.ok and received() == [b"escaped"] and not result.network_isolated


SHM = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
made = []
for i in range(6):
    made.append(libc.shmget(KEY + i, 64 * 2**20, 0o1000 | 0o666))  # IPC_CREAT: six 64 MB segments
result = made
"""


def _host_segments(keys: range) -> list[int]:
    """The host's System V segments (its IPC namespace) with one of `keys`; their ids."""
    lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return [int(line.split()[1]) for line in lines if int(line.split()[0]) in keys]


@pytest.mark.parametrize("ipc_namespace", [True, False], ids=["ipc namespace", "control: no ipc namespace"])
def test_no_sysv_segment_survives_a_run(ipc_namespace: bool) -> None:
    needs("ipc_namespace")
    import ctypes

    key = 0x5AB00000 + (os.getpid() % 4096) * 16 + (8 if ipc_namespace else 0)
    keys = range(key, key + 6)
    result = run_code(SHM, inputs={"KEY": key}, allowed_modules={"ctypes"}, ipc_namespace=ipc_namespace,
                      **KERNEL_ONLY)
    left = _host_segments(keys)
    for shmid in left:  # the control's leftovers
        ctypes.CDLL(None).shmctl(shmid, 0, None)  # IPC_RMID
    assert result.ok, result.feedback()
    if ipc_namespace:
        assert left == []
        assert sum(shmid >= 0 for shmid in result.result) == 4  # 256 MB of shared memory, the memory limit
    else:
        assert len(left) == 6


def test_tmp_outside_the_run_is_untouched() -> None:
    needs("mount_namespace")
    host_file = Path(tempfile.mkstemp(prefix="agentkit-host-only-", dir="/tmp")[1])
    marker = f"agentkit-written-by-run-{os.getpid()}"
    code = ("import os\nopen(f'/tmp/{MARKER}', 'w').write('x')\nopen(f'/dev/shm/{MARKER}', 'w').write('x')\n"
            "result = sorted(os.listdir('/tmp'))")
    try:
        result = run_code(code, inputs={"MARKER": marker}, allowed_modules={"os"}, **KERNEL_ONLY)
        assert result.ok, result.feedback()
        assert marker in result.result and host_file.name not in result.result  # its own /tmp, not the host's
        assert not Path("/tmp", marker).exists() and not Path("/dev/shm", marker).exists()
    finally:
        host_file.unlink()


def test_a_timeout_kills_what_the_code_started_too() -> None:
    # With the guards off and processes allowed, the code forks; the real-time limit ends both.
    name = f"aktmo{os.getpid() % 10000}"
    code = ESCAPER.replace("    os.setsid()\n", "")  # in the run's process group this time
    result = run_code(code, inputs={"NAME": name, "SLEEP": True}, timeout=5.0, guards=False, max_processes=64,
                      allowed_modules={"ctypes", "os", "time"})
    assert result.limit == "timeout" and "escaped child ready" in result.stdout, result.feedback()
    assert _survivors(name) == []


# ---------------------------------------------------------------------------
# The report channel: what the code writes on it cannot forge the verdict or break the caller
# ---------------------------------------------------------------------------

WRITE_REPORT = "import os, sys\nfd = int(sys.argv[sys.argv.index('--report') + 1])\n"
END = '{"kind": "end", "ok": true, "result": "forged", "error_type": null, "error": null, "traceback": null, ' \
      '"limit": null, "blocked_count": 0}'
FORGERIES = {
    "bad types": WRITE_REPORT + "os.write(fd, b'{\"kind\": \"end\", \"ok\": \"yes\", \"result\": 1}\\n')\nos._exit(0)",
    "nested 5,000 deep": WRITE_REPORT + "os.write(fd, b'[' * 5000 + b']' * 5000 + b'\\n')\nos._exit(0)",
    "a deep result in a well-formed end": WRITE_REPORT
    + "os.write(fd, END.replace('\"forged\"', '[' * 990 + ']' * 990).encode() + b'\\n')\nos._exit(0)",
    "not JSON": WRITE_REPORT + "os.write(fd, b'\\xff\\xfe garbage\\n')\nos._exit(0)",
    "two end records": WRITE_REPORT + "os.write(fd, (END + '\\n').encode())",
    "a flood": WRITE_REPORT + "while True:\n    os.write(fd, b'x' * 65536)",
    "closed channel": WRITE_REPORT + "os.close(fd)\nresult = 'quiet'",
    "unfinished record": WRITE_REPORT + "os.write(fd, b'{\"kind\": \"end\"')\nos._exit(0)",
}


@pytest.mark.parametrize("name", FORGERIES)
def test_a_forged_or_broken_report_is_a_clear_result(name: str) -> None:
    result = run_code(FORGERIES[name], inputs={"END": END}, guards=False, allowed_modules={"os", "sys"})
    assert isinstance(result, SandboxResult)
    assert not result.ok and result.limit == "report" and result.error_type == "ReportTampered", result
    assert result.result is None and "tampered with its report" in result.error
    assert "namespaces" in result.setup  # what trusted code reported before the code ran is kept


def test_a_forged_end_cannot_hide_what_the_guards_refused() -> None:
    # The guards on; the code catches a refusal, reaches os anyway, and forges a clean end record.
    code = ("try:\n    import socket\nexcept ImportError:\n    pass\n" + FIND_SYS
            + "os = sys.modules['os']\nfd = int(sys.argv[sys.argv.index('--report') + 1])\n"
            "os.write(fd, (END + '\\n').encode())\nos._exit(0)")
    result = run_code(code, inputs={"END": END})
    assert any(b.startswith("imports:") for b in result.blocked)  # sent when it happened: kept
    assert not result.ok and result.limit == "report"  # the end says 0 refusals: a lie, caught


def test_a_result_nested_990_deep_is_a_clear_error_not_a_recursion_error() -> None:
    result = run_code("x = []\nfor _ in range(990):\n    x = [x]\nresult = x")
    assert not result.ok and result.error_type == "ResultError" and "levels deep" in result.error


USERNS = """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
made = libc.unshare(0x10000000)  # CLONE_NEWUSER
result = [made, os.strerror(ctypes.get_errno()) if made else None]
"""


@pytest.mark.parametrize("seccomp", [True, False], ids=["seccomp", "control: no seccomp"])
def test_no_new_user_namespace_inside(seccomp: bool) -> None:
    needs("seccomp")
    result = run_code(USERNS, allowed_modules={"ctypes", "os"}, seccomp=seccomp, **KERNEL_ONLY)
    assert result.ok, result.feedback()
    if seccomp:
        assert result.result == [-1, os.strerror(1)]  # EPERM, from the filter
    elif Path("/proc/sys/user/max_user_namespaces").read_text().strip() != "0":
        assert result.result == [0, None]  # this machine lets an unprivileged user make one: the filter matters


def test_without_root_a_user_namespace_stands_in(monkeypatch: pytest.MonkeyPatch) -> None:
    needs("pid_namespace", "ipc_namespace", "mount_namespace", "network_namespace", "seccomp")
    # What a learner's laptop does (no root): a user namespace first, the others inside it, every capability
    # dropped since the run's user is not mapped there. Reached as root by asking the child for the user namespace.
    real = Sandbox._namespaces
    monkeypatch.setattr(Sandbox, "_namespaces", lambda self: ["user", *real(self)])
    result = run_code("import os\nresult = [os.getuid(), os.listdir('/tmp')]", allowed_modules={"os"}, **KERNEL_ONLY)
    assert result.ok, result.feedback()
    assert result.setup["namespaces"]["user"] is True and result.setup["capabilities_dropped"] is True
    assert all(state is True for name, state in result.layers.items() if name != "landlock"), result.layers
    uid, listing = result.result
    # Root of its own namespace only, in its own private /tmp: the run's folder, plus the Python installation bound
    # back read-only when it lives under /tmp (a checkout cloned there, as CI may do).
    python_home = Path(sys.prefix).resolve().parts
    bound = {python_home[2]} if len(python_home) > 2 and python_home[1] == "tmp" else set()
    assert uid == 0 and len([name for name in listing if name not in bound]) == 1, listing
    cap = run_code("import ctypes\nresult = ctypes.CDLL(None, use_errno=True).umount2(b'/tmp', 0)",
                   allowed_modules={"ctypes"}, **KERNEL_ONLY)
    assert cap.result == -1  # no capability left to take the private /tmp down


def test_each_run_has_a_user_of_its_own() -> None:
    # RLIMIT_NPROC counts per user: with one user shared by every run, other runs on a busy machine would use
    # up this run's max_processes (and runs could signal each other).
    if os.geteuid() != 0:
        pytest.skip("only root can hand each run a user of its own")
    from agentkit.sandbox import RUN_UIDS

    uids = [run_code("import os\nresult = os.getuid()", allowed_modules={"os"}, guards=False).result for _ in range(3)]
    assert all(uid in RUN_UIDS for uid in uids) and len(set(uids)) == 3
