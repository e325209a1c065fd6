"""Run model-written code in a separate, locked-down process: `run_code(code) -> SandboxResult`.

A model that writes code will, sooner or later, write code that reads a file
it should not, loops forever, allocates all memory, or (if a web page told it
to) sends your secrets somewhere. This module runs such code so that none of
that reaches the machine running the agent:

    result = run_code("import statistics\\nresult = statistics.mean([3, 4, 8])")
    result.ok, result.result          # True, 5
    result = run_code("open('/etc/passwd').read()")
    result.ok, result.limit           # False, 'files'

What stands between the code and the machine (Linux; each layer is set up
by trusted code in the child before the untrusted code starts, see
`agentkit/_sandbox_child.py`; `isolation()` says which this machine grants,
and every result says which held for its run, in `SandboxResult.layers`):

- **A separate process** (`python -I -S -B`, isolated mode) with an empty
  environment: no `ANTHROPIC_API_KEY` or any other variable of the parent.
- **OS resource limits** (`resource.setrlimit`, soft = hard so the code cannot
  raise them): CPU seconds (`cpu`), address space (`memory`), size of any file
  written (`file_size`), number of processes of its user (`processes`), open
  files (`open_files`). As root it runs as a user of its own: an unused user
  id drawn at random for each run (from `RUN_UIDS`), since the kernel does not
  apply the process limit to root, and a user shared by every run (`nobody`)
  would share that limit too: a busy machine's other runs would use up one
  run's `max_processes`.
- **A PID namespace**: the run's first process is PID 1 of its own namespace,
  and when it ends the kernel kills every process left in it, so nothing the
  code starts outlives the run, whatever `max_processes` allows and even after
  `setsid()`. The code cannot see or signal any process outside.
- **An IPC namespace**: System V shared memory, semaphores and message queues
  are the run's own, capped at `memory_mb`, and destroyed with the run: none
  outlives it or carries data to the next one.
- **A mount namespace with a private /tmp**: a tmpfs of `disk_mb` on /tmp
  (also bound on /var/tmp and /dev/shm) holds the work folder, so the run has
  one disk quota for everything it writes (`disk`), the host's /tmp is out of
  its sight and untouched, and a fresh /proc shows only its own processes.
  Deleted with the run.
- **A network namespace** (`network`): no interface but a loopback that is
  down; TCP, UDP and DNS go nowhere, and abstract Unix sockets are the
  namespace's own. Landlock also refuses TCP on kernels with ABI 4+.
- **A seccomp filter**: no Unix-domain sockets at all, no new user namespaces
  (the usual first step of a kernel exploit), no io_uring (which can open
  sockets without the system calls a filter sees). Unix sockets are closed by
  seccomp rather than by a mount layout because the host's socket files live
  in many places (/run, /var/run, /tmp, home folders, wherever a program put
  one): hiding all of them means an empty root with the Python installation
  bound in, more moving parts per run than one rule on `socket(AF_UNIX)`.
- **Landlock** (`filesystem`), where the kernel has it: reading the Python
  installation and using the work folder, nothing else.
- **A real-time timeout** (`timeout`): the parent kills the whole process group
  (and the PID namespace the rest).
- **An import allow-list** (`imports`) and an **audit hook** (PEP 578) refusing
  process creation, sockets, `ctypes` and file access outside the directory.
- **Capped output** (`output`): stdout/stderr are cut at `max_output_chars`, and
  the answer is a small JSON value (at most `MAX_RESULT_DEPTH` levels deep):
  whatever the code assigns to `result`.

`network_isolated` is True only when every way out is closed: the network
namespace and the seccomp filter both held (a network namespace does not cover
socket files). Where the machine lacks a layer (no user namespaces for a
non-root user, a kernel without Landlock or seccomp, not Linux), the run goes
on without it and `layers` / `isolation()["missing"]` say which is missing and
what it leaves open: without the PID namespace a child that calls `setsid()`
can outlive the run; without the IPC namespace shared memory can; without the
private /tmp the code writes in a host folder, bounded per file only; without
seccomp host Unix sockets are reachable.

**The report is the parent's.** The child talks back through a pipe whose read
end only the parent holds; the parent reads it while the code runs, at most
`max_result_chars` + 200 kB, refuses a record nested deeper than
`MAX_RESULT_DEPTH` before parsing it, and checks every record against a small
schema. A record the code forged, broke, flooded or left out becomes a result
with `limit="report"` ("the sandboxed code tampered with its report"), never
an exception in the caller. The verdict comes from what the parent saw itself
where it can: the real-time limit, the exit status, the CPU time the kernel
counted (`cpu_s`, from `wait4`), the size of the output. What the guards
refused (`blocked`) is sent the moment it happens, so code that later turns
the guards off cannot take it back; what the layers achieved (`setup`) is sent
before the code starts. A well-formed end record is still the code's own word
on its `result`, as the answer always is: what the code cannot do is hide a
refusal, claim a layer held, escape a limit the parent measures, or make the
caller raise.

The result names the limit that stopped the code (`SandboxResult.limit`, one
of `LIMITS`) and carries the traceback of the code's own frames, which is what a
fix-and-retry loop (`fix_and_retry`) sends back to the model.

What this does NOT protect against, plainly: the Python guards (allow-list,
audit hook) are an in-process restricted interpreter, and those are **not a
security boundary**: module internals leak references (`random._os`), and a
bug in C code gets past any check written in Python. The kernel layers
(namespaces, seccomp, rlimits, user, Landlock) are real but share the host's
kernel: a kernel exploit escapes them, they do not limit disk I/O bandwidth,
and CPU and memory pressure on a shared machine is only capped per run.
Production systems that run untrusted code use a container with a full seccomp
profile at least (gVisor for a user-space kernel), or a microVM per run
(Firecracker, the microVM built for AWS Lambda), with no credentials
inside and egress blocked at the network layer. Use this module for lessons
and for code you would accept running on your laptop; use those for
anything users can send.

Why hand-written: the standard library has `resource`, `subprocess` and
audit hooks but no binding for Landlock, unshare (before Python 3.12),
mount or seccomp, and the child runs in isolated mode with the standard
library only; each is a few system calls through `ctypes`. The seccomp
filter is a 20-odd-instruction BPF program built in `_sandbox_child.py`
(PyPI's libseccomp bindings need the C library installed and cannot be
imported in isolated mode; see the comment there).
"""

from __future__ import annotations

import ast
import atexit
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit._sandbox_child import MAX_RESULT_DEPTH, json_too_deep

__all__ = [
    "DEFAULT_ALLOWED_MODULES",
    "LAYERS",
    "LIMITS",
    "MAX_RESULT_DEPTH",
    "RUN_UIDS",
    "RetryRun",
    "Sandbox",
    "SandboxResult",
    "fix_and_retry",
    "isolation",
    "run_code",
]

#: Modules model-written analysis code needs, none of which can reach files, processes or the network by itself.
DEFAULT_ALLOWED_MODULES: frozenset[str] = frozenset({
    "math", "cmath", "statistics", "random", "decimal", "fractions", "numbers",
    "json", "re", "string", "textwrap", "difflib", "unicodedata",
    "datetime", "calendar", "time", "zoneinfo",
    "collections", "itertools", "functools", "operator", "heapq", "bisect", "array", "copy",
    "dataclasses", "enum", "typing", "abc", "pprint",
})

#: Every value `SandboxResult.limit` can take, and what it means.
LIMITS: dict[str, str] = {
    "timeout": "real time ran out; the parent killed the process group",
    "cpu": "CPU seconds ran out (RLIMIT_CPU)",
    "memory": "the address-space limit refused an allocation (RLIMIT_AS)",
    "file_size": "a write went past the file-size limit (RLIMIT_FSIZE)",
    "processes": "starting a process was refused (audit hook, or RLIMIT_NPROC)",
    "open_files": "too many open files (RLIMIT_NOFILE)",
    "output": "the code printed, or returned, more than the sandbox keeps",
    "imports": "an import not on the allow-list",
    "files": "the audit hook refused a file outside the sandbox's directory",
    "filesystem": "the kernel refused a file access (Landlock or file permissions)",
    "network": "the network was refused (network namespace, Landlock, or the audit hook)",
    "audit": "the audit hook refused an operation (ctypes, setrlimit, ...)",
    "crash": "the interpreter died on a signal",
    "disk": "the run's private disk (a tmpfs of disk_mb) is full",
    "report": "the code tampered with its report (forged, malformed, too large or too deep): nothing it said is used",
}

_CHILD = Path(__file__).with_name("_sandbox_child.py")
# What a pre-started interpreter loads while it waits (the rest loads when code imports it): few, so that
# starting one in the background costs little CPU.
_WARM_MODULES = frozenset({"math", "statistics", "json", "re", "collections", "datetime"})
#: The user ids a run may get as root: far above any account or container range (subuids start at 100,000 and
#: are handed out in blocks of 65,536), below the 32-bit limit. One drawn at random per run.
RUN_UIDS = range(1_900_000_000, 2_000_000_000)


def _run_uid() -> int:
    return RUN_UIDS[int.from_bytes(os.urandom(4), "big") % len(RUN_UIDS)]
_START_GRACE_S = 1.0  # extra real time for the interpreter to start on a busy machine, on top of `timeout`


@dataclass(frozen=True)
class SandboxResult:
    """What one sandboxed run produced.

    `ok` is True when the code ran to its end and `result` (the JSON value the
    code assigned to a variable named `result`, or None) came back. When the
    code failed, `result` is whatever JSON value it held at that moment (a
    script can record its progress there). Otherwise
    `error_type`, `error` and `traceback` say what went wrong and `limit` names
    the limit that stopped it (None for an ordinary bug in the code). The result
    is data from untrusted code: check it before you use it.
    """

    ok: bool
    result: Any
    stdout: str
    stderr: str
    error_type: str | None
    error: str | None
    traceback: str | None
    limit: str | None
    duration_s: float  # real seconds, start to end, including the interpreter's start
    exit_code: int | None
    network_isolated: bool
    blocked: tuple[str, ...] = ()  # what the guards refused, even if the code caught the error
    setup: Mapping[str, Any] = field(default_factory=dict)  # what the child locked down (sent before the code ran)
    layers: Mapping[str, Any] = field(default_factory=dict)  # each kernel layer: True, or why it did not hold
    cpu_s: float = 0.0  # CPU seconds of the run's processes, measured by the kernel (rusage)

    @property
    def output(self) -> str:
        """stdout, under the name some callers expect."""
        return self.stdout

    def feedback(self, max_chars: int = 2_000) -> str:
        """A short text for the model: the output, or the traceback and which limit stopped the code."""
        if self.ok:
            parts = [self.stdout.rstrip()] if self.stdout.strip() else []
            if self.result is not None:
                parts.append(f"result = {json.dumps(self.result)}")
            text = "\n".join(parts) or "(the code printed nothing and set no result)"
        else:
            why = f" [sandbox limit: {self.limit}: {LIMITS[self.limit]}]" if self.limit in LIMITS else ""
            body = self.traceback or f"{self.error_type}: {self.error}"
            printed = f"\nOutput before it stopped:\n{self.stdout.rstrip()}" if self.stdout.strip() else ""
            text = f"{body.rstrip()}{why}{printed}"
        return text if len(text) <= max_chars else text[: max_chars - 15] + "\n... (truncated)"


@functools.cache
def _landlock_abi() -> int:
    from agentkit._sandbox_child import landlock_abi

    return landlock_abi() if sys.platform.startswith("linux") else 0


#: The kernel layers, in the order `isolation()` and `SandboxResult.layers` list them, and what each one holds.
LAYERS: dict[str, str] = {
    "pid_namespace": "every process the code starts dies with the run, setsid() or not",
    "ipc_namespace": "System V shared memory and message queues are the run's own and die with it",
    "mount_namespace": "a private, size-limited /tmp (and /var/tmp, /dev/shm) holds the work folder: a disk "
                       "quota per run, the host's /tmp out of sight",
    "network_namespace": "no network interface: TCP, UDP, DNS and abstract Unix sockets reach nothing",
    "seccomp": "no Unix-domain sockets (the host's socket files), no new user namespaces, no io_uring",
    "landlock": "the kernel refuses files outside the work folder and the Python installation",
    "unprivileged": "runs as a user of its own, not root (or, without root, with no capabilities)",
}


def _layers(setup: Mapping[str, Any], box: Sandbox) -> dict[str, Any]:
    """Each kernel layer: True when it held for this run, else a short reason (turned off, or what failed)."""
    found = setup.get("namespaces")
    namespaces: Mapping[str, Any] = found if isinstance(found, Mapping) else {}

    def state(wanted: bool, value: Any) -> Any:
        if not wanted:
            return "turned off"
        return True if value is True else (str(value) if value else "not set up")

    landlock = setup.get("landlock_abi") if setup.get("landlock_abi") else setup.get("landlock_error")
    if box.landlock and not landlock:
        landlock = "this kernel has no Landlock"
    uid = setup.get("uid")
    unprivileged = True if uid not in (0, None) or setup.get("capabilities_dropped") is True else \
        str(setup.get("uid_drop_failed") or setup.get("capabilities_dropped") or "runs as root")
    return {
        "pid_namespace": state(box.pid_namespace, namespaces.get("pid")),
        "ipc_namespace": state(box.ipc_namespace, namespaces.get("ipc")),
        "mount_namespace": state(box.private_tmp, setup.get("private_tmp")),
        "network_namespace": state(box.network_namespace, namespaces.get("net")),
        "seccomp": state(box.seccomp, setup.get("seccomp")),
        "landlock": state(box.landlock, True if isinstance(landlock, int) and landlock > 0 else landlock),
        "unprivileged": unprivileged,
    }


_MACHINE_SETUP: dict[str, Any] = {}


def _machine_setup() -> dict[str, Any]:
    """The setup record of one run with every layer asked for: what this machine grants (kept once known; a
    run too starved to report, on a very busy machine, is not taken as the machine's answer)."""
    if not _MACHINE_SETUP:
        _MACHINE_SETUP.update(Sandbox(timeout=30).run("result = None").setup)
    return dict(_MACHINE_SETUP)


def isolation() -> dict[str, Any]:
    """What this machine lets the sandbox do: each kernel layer (True, or why not), and the network's verdict.

    Found out by one real run with every layer asked for (cached for the
    program's life). `network_blocked` is True only when every way out is
    closed: a network namespace for TCP, UDP and DNS, and the seccomp filter
    for Unix sockets (a network namespace does not cover socket files).
    `missing` names the layers this machine lacks and what that leaves open.
    """
    setup = _machine_setup()
    layers = _layers(setup, Sandbox())
    return {
        **layers,
        "landlock_abi": _landlock_abi(),
        "network_blocked": layers["network_namespace"] is True and layers["seccomp"] is True,
        "runs_as": "a user id of its own per run (dropped from root)" if os.geteuid() == 0
        else "the current user, as root of a user namespace with no capabilities",
        "missing": {name: f"{why} (lost: {LAYERS[name]})" for name, why in layers.items() if why is not True},
    }


@functools.cache
def _read_dirs() -> list[str]:

    """The Python installation: what the interpreter must still read once Landlock is on."""
    import sysconfig

    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
    return sorted(d for d in dirs if d and os.path.isdir(d))


def _data_dirs(allowed: frozenset[str]) -> list[str]:
    """Read-only data folders an allowed module needs: the system's time-zone files, for zoneinfo."""
    if "zoneinfo" not in allowed:
        return []
    import zoneinfo

    return [d for d in zoneinfo.TZPATH if os.path.isdir(d)]


def _imports_of(code: str, allowed: frozenset[str]) -> list[str]:
    """The allowed modules `code` imports by name: the child loads only these before it locks itself down.

    Loading every allowed module would cost some 50 ms per run; a module the
    code reaches some other way (`__import__(name)`) still loads later, if the
    sandbox's user may read the Python installation.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []  # the child reports the syntax error, with its line
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return sorted(n for n in names if n.split(".")[0] in allowed)


def _check_positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class Sandbox:
    """The limits for a sandboxed run; `Sandbox(...).run(code)` runs `code` behind them.

    `timeout` is real seconds for the code (a cold start gets one more second
    for the interpreter to start); `cpu_seconds` is CPU time; `memory_mb` is the address space of
    the whole interpreter (about 30 MB of it is Python itself), and also caps
    its System V shared memory; `file_size_mb`
    caps every file the code writes (and its captured output); `disk_mb` caps
    everything it writes together (its private /tmp is a tmpfs of that size);
    `max_processes` caps the run's processes (1: no new ones; as root each run
    has a user of its own, which the limit counts; and whatever it is, every
    process of a run ends with it, in its PID namespace).
    `guards=False` turns off the Python guards (allow-list and audit hook) to
    show what the OS layers hold on their own; `landlock`, `network_namespace`,
    `pid_namespace`, `ipc_namespace`, `private_tmp` and `seccomp` turn the
    kernel layers off one by one (for the benchmark, which prices each layer,
    and the tests that show each one holds); never turn any of them off for real use.
    `warm=True` keeps one interpreter started ahead of the next run (see
    `warm_up`); call `close()` when done, or let the program's exit stop it.
    """

    timeout: float = 10.0
    cpu_seconds: int = 5
    memory_mb: int = 256
    file_size_mb: float = 1.0
    disk_mb: float = 16.0
    max_processes: int = 1
    max_open_files: int = 32
    max_output_chars: int = 20_000
    max_result_chars: int = 20_000
    allowed_modules: frozenset[str] = DEFAULT_ALLOWED_MODULES
    guards: bool = True
    landlock: bool = True
    network_namespace: bool = True
    pid_namespace: bool = True
    ipc_namespace: bool = True
    private_tmp: bool = True
    seccomp: bool = True
    warm: bool = False
    python: str = sys.executable
    _spare: list[_Child] = field(default_factory=list, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _closed: list[bool] = field(default_factory=list, init=False, repr=False, compare=False)  # [True] once closed

    def __post_init__(self) -> None:
        for name in ("timeout", "cpu_seconds", "memory_mb", "file_size_mb", "disk_mb", "max_processes",
                     "max_open_files", "max_output_chars", "max_result_chars"):
            _check_positive(name, getattr(self, name))
        if isinstance(self.allowed_modules, str) or not all(isinstance(m, str) for m in self.allowed_modules):
            raise TypeError("allowed_modules is a collection of module names, such as {'math', 'json'}")
        object.__setattr__(self, "allowed_modules", frozenset(self.allowed_modules))
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb={self.memory_mb} is too small for the interpreter itself; use 64 or more")

    def run(self, code: str, inputs: Mapping[str, Any] | None = None) -> SandboxResult:
        """Run `code` (Python source) behind this sandbox's limits.

        `inputs` (JSON values) become global variables of the code. The code
        answers by assigning a JSON value to `result`; it can also print.
        Whatever the code does, this returns a `SandboxResult` (it raises only
        for bad arguments, before anything runs).
        """
        if not isinstance(code, str):
            raise TypeError(f"code must be Python source text (str), got {type(code).__name__}")
        if os.name != "posix":
            raise RuntimeError("agentkit.sandbox needs a POSIX system (Linux for every layer; macOS gets the "
                               "resource limits only). On Windows, run the course in WSL or its container.")
        inputs = dict(inputs or {})
        try:
            json.dumps(inputs)
        except (TypeError, ValueError) as err:
            raise ValueError(f"inputs must be JSON values (dicts, lists, str, numbers, bool, None): {err}") from None
        with self._lock:
            child = self._spare.pop() if self._spare else None
        if child is None:
            child = _Child.start(self)
        linux = sys.platform.startswith("linux")
        try:
            config = {
                "code": code, "inputs": inputs, "workdir": child.workdir,
                "cpu_seconds": int(self.cpu_seconds), "memory_bytes": int(self.memory_mb * 2**20),
                "file_size_bytes": int(self.file_size_mb * 2**20), "disk_bytes": int(self.disk_mb * 2**20),
                "max_processes": int(self.max_processes),
                "max_open_files": int(self.max_open_files), "max_output_chars": int(self.max_output_chars),
                "max_result_chars": int(self.max_result_chars), "allowed_modules": sorted(self.allowed_modules),
                "guards": self.guards, "landlock": self.landlock and _landlock_abi() > 0, "read_dirs": _read_dirs(),
                "data_dirs": _data_dirs(self.allowed_modules), "private_tmp": self.private_tmp and linux,
                "seccomp": self.seccomp and linux,
                "drop_privileges": True, "uid": child.uid, "preload": _imports_of(code, self.allowed_modules),
            }
            started = time.perf_counter()
            child.send(json.dumps(config).encode())
            limit_s = self.timeout + (0.0 if child.warm else _START_GRACE_S)
            raw, overflow, timed_out = child.collect(time.monotonic() + limit_s, _report_cap(self))
            _kill_group(child.proc.pid)  # also whatever it started (the PID namespace ends the rest)
            status, cpu_s = child.reap()
            duration = time.perf_counter() - started
            if self.warm:  # the next run's interpreter starts now, while the caller works on this result
                threading.Thread(target=self._start_spare, name="agentkit-sandbox-warm-up", daemon=True).start()
            return self._result(status, timed_out, duration, cpu_s, child.out_file, child.err_file,
                                _parse_report(raw, overflow, self))
        finally:
            child.close()

    def warm_up(self, wait: float = 0.0) -> bool:
        """Start the next run's interpreter now (it waits for its code), so `run` skips Python's start-up.

        Pre-started workers are how hosted code runners answer in milliseconds;
        each worker still runs one piece of code only and is thrown away after.
        With `warm=True`, `run` calls this itself after every run. `wait` is how
        many seconds to wait for the worker to finish starting; returns whether
        it has.
        """
        child = self._start_spare()
        return child is not None and child.wait_ready(wait)

    def _start_spare(self) -> _Child | None:
        with self._lock:
            if self._closed:
                return None
            if not self._spare:  # started under the lock (a few ms): two threads never start two
                self._spare.append(_Child.start(self, warm=True))
            return self._spare[0]

    def close(self) -> None:
        """Stop the pre-started interpreter, if there is one, and start no more (runs still work, cold)."""
        with self._lock:
            self._closed[:] = [True]
            spares, self._spare[:] = list(self._spare), []
        for child in spares:
            child.close()

    def _namespaces(self) -> list[str]:
        if not sys.platform.startswith("linux"):
            return []
        wanted = (("net", self.network_namespace), ("ipc", self.ipc_namespace), ("mnt", self.private_tmp),
                  ("pid", self.pid_namespace))
        return [name for name, on in wanted if on]

    def _result(self, code: int, timed_out: bool, duration: float, cpu_s: float, out_file: Any, err_file: Any,
                report: _Report) -> SandboxResult:
        """The verdict: from what the parent saw itself first (time, exit status, CPU used, output size, a
        broken report), and only then from the code's own end record."""
        stdout, out_over = _read_capped(out_file, self.max_output_chars)
        stderr, err_over = _read_capped(err_file, self.max_output_chars)
        layers = _layers(report.setup, self)
        common: dict[str, Any] = dict(
            stdout=stdout, stderr=stderr, duration_s=duration, exit_code=code, cpu_s=cpu_s,
            network_isolated=layers["network_namespace"] is True and layers["seccomp"] is True,
            blocked=tuple(report.blocked[:20]), setup=report.setup, layers=layers)

        def stopped(error_type: str, limit: str | None, error: str) -> SandboxResult:
            return SandboxResult(False, None, error_type=error_type, traceback=None, limit=limit, error=error,
                                 **common)

        if timed_out:
            return stopped("TimeoutError", "timeout", f"the code ran past its {self.timeout:g} s time limit and "
                                                       "was killed")
        cpu_spent = cpu_s >= self.cpu_seconds * 0.9  # CPU time the parent measured (rusage), startup included
        if code == -signal.SIGXCPU or (code == -signal.SIGKILL and cpu_spent) or \
                (report.end is None and code == 128 + signal.SIGXCPU):
            return stopped("CpuLimitExceeded", "cpu", f"the code used its {self.cpu_seconds} s of CPU time and "
                                                      "was killed")
        if code == -signal.SIGXFSZ:
            return stopped("FileSizeLimitExceeded", "file_size",
                           f"the code wrote past the {self.file_size_mb:g} MB file-size limit")
        if out_over or err_over:
            return stopped("OutputLimitExceeded", "output",
                           f"the code wrote more than {self.max_output_chars:,} characters")
        if report.problem:
            return stopped("ReportTampered", "report", f"the sandboxed code tampered with its report: "
                                                       f"{report.problem}; nothing it reported is used")
        if report.end is None:
            if not report.setup or "workdir_error" in report.setup:
                why = report.setup.get("workdir_error") if report.setup else f"stderr: {stderr[-500:]}"
                return stopped("SandboxSetupError", None, f"the sandbox could not set itself up: {why}")
            if code == 0:
                return stopped("ReportTampered", "report", "the sandboxed code tampered with its report: it "
                                                           "ended cleanly without its final record")
            how = f"died on signal {-code}" if code < 0 else f"exited with status {code}"
            return stopped("SandboxCrash", "crash" if code < 0 else None,
                           f"the sandboxed interpreter {how} without a report; stderr: {stderr[-500:]}")
        end = report.end
        return SandboxResult(end["ok"], end["result"], error_type=end["error_type"], error=end["error"],
                             traceback=end["traceback"], limit=end["limit"], **common)


def _report_cap(box: Sandbox) -> int:
    """The most the report channel may carry: the result (JSON is ASCII), the error texts, the refusals."""
    return box.max_result_chars + 200_000


@dataclass
class _Report:
    """What the report channel carried, checked: `problem` says how it was broken (None: it was not)."""

    setup: dict[str, Any] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    end: dict[str, Any] | None = None
    problem: str | None = None


#: The end record's fields and the types each may hold (a schema small enough to check by hand).
_END_SCHEMA: dict[str, tuple[type, ...]] = {
    "kind": (str,), "ok": (bool,), "result": (object,), "error_type": (str, type(None)),
    "error": (str, type(None)), "traceback": (str, type(None)), "limit": (str, type(None)), "blocked_count": (int,),
}
_MAX_TEXT = {"error_type": 200, "error": 10_000, "traceback": 20_000}


def _parse_report(raw: bytes, overflow: bool, box: Sandbox) -> _Report:
    """Read the report channel's records (one JSON object a line), refusing anything out of shape.

    Trusted code writes the first record ("setup") before the untrusted code
    starts; after that the code could write anything to the pipe, so every
    record is checked: its depth before it is parsed (a result nested ~1,000
    levels would make the parser raise RecursionError), then its fields.
    Anything wrong sets `problem`; this never raises.
    """
    report = _Report()
    lines = raw.split(b"\n")
    for number, line in enumerate(lines[:-1], start=1):
        if report.problem:
            break
        try:
            text = line.decode("utf-8")
            deep = json_too_deep(text, MAX_RESULT_DEPTH + 1)
            record = None if deep else json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            report.problem = f"record {number} is not JSON ({type(err).__name__})"
            break
        if record is None:
            report.problem = f"record {number} nests {deep} levels deep (at most {MAX_RESULT_DEPTH} allowed)"
        elif not isinstance(record, dict) or record.get("kind") not in ("setup", "blocked", "end"):
            report.problem = f"record {number} is not a sandbox record"
        elif report.end is not None:
            report.problem = f"record {number} follows the end record"
        elif record["kind"] == "setup":
            if number != 1 or not isinstance(record.get("setup"), dict):
                report.problem = f"record {number} is a second or malformed setup record"
            else:
                report.setup = record["setup"]
        elif record["kind"] == "blocked":
            if set(record) != {"kind", "what"} or not isinstance(record["what"], str) or len(record["what"]) > 500:
                report.problem = f"record {number} is a malformed refusal"
            else:
                report.blocked.append(record["what"])
        else:
            problem = _end_problem(record, box, len(report.blocked))
            report.end = record
            if problem:
                report.problem = f"record {number} (the end record) {problem}"
    if overflow:
        report.problem = f"it wrote more than {_report_cap(box):,} bytes on the report channel"
    elif lines[-1] and not report.problem:
        report.problem = "the last record is unfinished"
    if report.problem:
        report.end = None
    return report


def _end_problem(record: dict[str, Any], box: Sandbox, refusals: int) -> str | None:
    """What is wrong with an end record, or None. `refusals`: how many the guards sent as they happened."""
    if set(record) != set(_END_SCHEMA):
        return f"has fields {sorted(record)}, not {sorted(_END_SCHEMA)}"
    for name, types in _END_SCHEMA.items():
        value = record[name]
        if not isinstance(value, types) or (types == (int,) and isinstance(value, bool)):
            return f"has {name} of type {type(value).__name__}"
        if isinstance(value, str) and len(value) > _MAX_TEXT.get(name, 1_000):
            return f"has a {name} of {len(value):,} characters"
    if record["limit"] is not None and record["limit"] not in LIMITS:
        return f"names an unknown limit {record['limit'][:40]!r}"
    if record["ok"] and (record["error_type"] or record["limit"]):
        return "says ok and names an error"
    if record["blocked_count"] < refusals:
        return f"counts {record['blocked_count']} refusals where the guards sent {refusals}"
    if len(json.dumps(record["result"])) > box.max_result_chars:
        return f"holds a result over {box.max_result_chars:,} characters of JSON"
    return None


class _Child:
    """One sandbox process: started (waiting for its config on stdin), fed once, then thrown away."""

    def __init__(self, proc: subprocess.Popen[bytes], workdir: str, files: list[Any], report_fd: int,
                 ready_fd: int | None, uid: int) -> None:
        self.proc, self.workdir, self._report_fd, self.uid = proc, workdir, report_fd, uid
        self.warm, self._ready_fd, self._ready = ready_fd is not None, ready_fd, ready_fd is None
        self.out_file, self.err_file = files
        self._files = files
        self._reaped = False
        self._fd_lock = threading.Lock()
        try:  # a descriptor that becomes readable when the process ends (Linux 5.3+), held before it can end
            self._pidfd: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            self._pidfd = None
        if self.warm:
            _LIVE.add(self)

    @classmethod
    def start(cls, box: Sandbox, warm: bool = False) -> _Child:
        # Under the private /tmp the work folder is re-created at the same path inside the run's own tmpfs;
        # this host folder is where it lives when that layer is missing.
        base = "/tmp" if box.private_tmp and os.path.isdir("/tmp") else None
        workdir = tempfile.mkdtemp(prefix="agentkit-sandbox-", dir=base)
        files = [tempfile.TemporaryFile() for _ in range(2)]  # stdout, stderr: outside workdir
        report_r, report_w = os.pipe()  # the parent keeps the read end: nothing written can be taken back
        uid = _run_uid()
        ready_r, ready_w = os.pipe() if warm else (None, None)
        try:
            if os.geteuid() == 0:
                os.chown(workdir, uid, uid)
            command = [box.python, "-I", "-S", "-B", str(_CHILD), "--report", str(report_w),
                       "--ns", ",".join(box._namespaces())]
            keep = [report_w]
            if ready_w is not None:
                command += ["--ready", str(ready_w), "--warm", *sorted(box.allowed_modules & _WARM_MODULES)]
                keep.append(ready_w)
            env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=files[0], stderr=files[1], cwd="/",
                                    env=env, pass_fds=keep, start_new_session=True)
        except BaseException:
            for f in files:
                f.close()
            for fd in (report_r, report_w, ready_r, ready_w):
                if fd is not None:
                    os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        os.close(report_w)
        if ready_w is not None:
            os.close(ready_w)
        return cls(proc, workdir, files, report_r, ready_r, uid)

    def wait_ready(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a pre-started interpreter to say it has started; returns whether it has."""
        with self._fd_lock:  # close() in another thread waits: the descriptor cannot change under select
            if not self._ready and self._ready_fd is not None:
                if _readable([self._ready_fd], timeout):
                    os.read(self._ready_fd, 1)  # one byte, or b"" if it died: either way it is not starting any more
                    self._ready = True
            return self._ready

    def send(self, config: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(config)
            self.proc.stdin.close()
        except BrokenPipeError:
            pass  # it died before reading: reported as a crash from its exit status

    def _exited(self) -> bool:
        if self._pidfd is not None:
            return bool(_readable([self._pidfd], 0))
        try:  # no pidfd (old kernel): peek at the exit without reaping it, so reap() still gets its rusage
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def collect(self, deadline: float, cap: int) -> tuple[bytes, bool, bool]:
        """Read the report channel until the process ends or `deadline` (time.monotonic()) passes.

        Returns (bytes read, whether it went past `cap`, whether the deadline passed). Reading while it
        runs keeps a chatty run from blocking on a full pipe; reading at most `cap` bytes keeps a flood
        from filling the parent's memory.
        """
        data = bytearray()
        watch = [self._report_fd] + ([self._pidfd] if self._pidfd is not None else [])
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(data), False, True
            wait = left if self._pidfd is not None else min(left, 0.02)
            readable = _readable(watch, wait)
            if self._report_fd in readable:
                chunk = os.read(self._report_fd, 65_536)
                if not chunk:
                    watch.remove(self._report_fd)  # every writer closed it; the exit follows
                elif len(data) + len(chunk) > cap:
                    return bytes(data), True, False
                else:
                    data += chunk
            if (self._pidfd is not None and self._pidfd in readable) or (self._pidfd is None and self._exited()):
                break
        while _readable([self._report_fd], 0):  # what is left in the pipe, without waiting on
            chunk = os.read(self._report_fd, 65_536)  # a writer that outlived the run (no PID namespace)
            if not chunk:
                break
            if len(data) + len(chunk) > cap:
                return bytes(data), True, False
            data += chunk
        return bytes(data), False, False

    def reap(self) -> tuple[int, float]:
        """Wait for the process (already sent SIGKILL or ended); its exit code and the CPU seconds it and
        its children used, measured by the kernel (`wait4`'s rusage), not reported by the code."""
        _, status, usage = os.wait4(self.proc.pid, 0)
        self._reaped = True
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self.proc.returncode, usage.ru_utime + usage.ru_stime

    def close(self) -> None:
        _LIVE.discard(self)
        with self._fd_lock:
            for name in ("_ready_fd", "_pidfd", "_report_fd"):
                fd = getattr(self, name)
                if fd is not None:
                    os.close(fd)
                    setattr(self, name, None)
        if not self._reaped and self.proc.returncode is None:
            _kill_group(self.proc.pid)
            self.proc.wait()
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        for f in self._files:
            f.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


_LIVE: set[_Child] = set()  # pre-started interpreters, stopped when the program exits


@atexit.register
def _stop_spares() -> None:
    for child in list(_LIVE):
        child.close()


def _readable(fds: list[int], timeout: float) -> list[int]:
    """Which of `fds` can be read (or hit end of file) within `timeout` seconds. poll(), not select(): a
    notebook with over 1,024 open descriptors would make select() fail."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _ in poller.poll(max(timeout, 0.0) * 1000)]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_capped(f: Any, max_chars: int) -> tuple[str, bool]:
    """At most `max_chars` characters of a captured stream, and whether there was more."""
    f.seek(0)
    data = f.read(max_chars * 4 + 1)
    text = data.decode("utf-8", errors="replace")
    return text[:max_chars], len(text) > max_chars


def run_code(code: str, *, timeout: float = 10.0, allowed_modules: Iterable[str] = DEFAULT_ALLOWED_MODULES,
             inputs: Mapping[str, Any] | None = None, **limits: Any) -> SandboxResult:
    """Run `code` in a fresh sandbox; `limits` are the other `Sandbox` fields (cpu_seconds, memory_mb, ...)."""
    return Sandbox(timeout=timeout, allowed_modules=frozenset(allowed_modules), **limits).run(code, inputs)


@dataclass(frozen=True)
class RetryRun:
    """Every attempt of a fix-and-retry loop, in order; `final` is the last one."""

    codes: tuple[str, ...]
    results: tuple[SandboxResult, ...]

    @property
    def final(self) -> SandboxResult:
        return self.results[-1]

    @property
    def ok(self) -> bool:
        return self.final.ok

    @property
    def attempts(self) -> int:
        return len(self.results)


def fix_and_retry(code: str, fix: Callable[[str, SandboxResult], str | None], *, max_attempts: int = 3,
                  sandbox: Sandbox | None = None, inputs: Mapping[str, Any] | None = None) -> RetryRun:
    """Run `code`; while it fails, ask `fix(code, result)` for a new version and run that, at most `max_attempts` runs.

    `fix` is usually a model call that gets `result.feedback()` (the traceback
    and the limit hit); it returns the corrected code, or None to give up. The
    cap matters: a model that cannot fix its code would otherwise loop, and
    pay, forever.
    """
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError(f"max_attempts must be a whole number of runs, 1 or more; got {max_attempts!r}")
    if not callable(fix):
        raise TypeError("fix must be a function (code, SandboxResult) -> new code or None")
    box = sandbox or Sandbox()
    codes, results = [code], [box.run(code, inputs)]
    while not results[-1].ok and len(results) < max_attempts:
        new = fix(codes[-1], results[-1])
        if new is None:
            break
        codes.append(new)
        results.append(box.run(new, inputs))
    return RetryRun(tuple(codes), tuple(results))
