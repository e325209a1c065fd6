"""agentkit.sandbox: the result shape, the fix-and-retry loop, and the escape and exhaustion catalog.

Each catalog entry is an attempt a model (or a web page steering it) could make,
the sandbox settings it runs under, and the limit that must stop it. Entries
marked "OS layer" run with the Python guards off (`guards=False`) to show that
the kernel's limits hold on their own: the guards give clear errors, the OS
layers are the boundary.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentkit.sandbox import DEFAULT_ALLOWED_MODULES, LIMITS, Sandbox, SandboxResult, fix_and_retry, isolation, run_code

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox's OS layers are Linux's")

SECRET = "TOPSECRET-" + "7f3a9c"  # what a file outside the sandbox holds
FAKE_KEY = "sk-ant-" + "api03-notarealkey0123456789"  # split so no key-shaped literal is committed


@pytest.fixture(scope="module")
def secret_file() -> Path:
    """A world-readable file outside the sandbox: only the sandbox's own layers keep the code from it."""
    path = Path("/tmp") / f"agentkit-sandbox-test-secret-{os.getpid()}.txt"
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
            OS_ONLY),
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
    if facts["network_namespace"] is None and facts["landlock_abi"] < 4:
        assert not result.network_isolated  # and the docs say plainly it is not blocked


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
        first = box.run("import random\nopen('mark', 'w').write('x')\nresult = [random._os.getpid(), "
                        "sorted(random._os.listdir('.'))]")
        second = box.run("import random\nresult = [random._os.getpid(), sorted(random._os.listdir('.'))]")
        assert first.ok and second.ok
        assert first.result[0] != second.result[0]  # a new process
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


def test_a_timeout_kills_what_the_code_started_too() -> None:
    # With the guards off and processes allowed, the code forks; the real-time limit ends both.
    code = ("import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(60)\n"
            "print(pid, flush=True)\ntime.sleep(60)")
    result = run_code(code, timeout=0.5, guards=False, max_processes=64, allowed_modules={"os", "time"})
    assert result.limit == "timeout"
    child = int(result.stdout.split()[0])
    status = Path(f"/proc/{child}/status")

    def dead() -> bool:  # gone, or a zombie waiting for init to reap it (init may reap late)
        try:
            return "State:\tZ" in status.read_text()
        except FileNotFoundError:
            return True

    deadline = time.monotonic() + 2.0  # SIGKILL was sent; give the kernel a moment to finish it
    while not dead() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dead()
