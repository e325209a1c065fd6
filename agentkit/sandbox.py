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
`agentkit/_sandbox_child.py`):

- **A separate process** (`python -I -S -B`, isolated mode) with an empty
  environment: no `ANTHROPIC_API_KEY` or any other variable of the parent.
- **OS resource limits** (`resource.setrlimit`, soft = hard so the code cannot
  raise them): CPU seconds (`cpu`), address space (`memory`), size of any file
  written (`file_size`), number of processes of its user (`processes`), open
  files (`open_files`). As root it runs as `nobody`, since the kernel does not
  apply the process limit to root.
- **A real-time timeout** (`timeout`): the parent kills the whole process group.
- **A fresh temporary directory**, the only place it may write (`files` from the
  audit hook; `filesystem` from the kernel: Landlock, where the kernel has it,
  allows reading the Python installation and nothing else). Deleted afterwards.
- **No network** (`network`): a new network namespace (`unshare --net`, or
  `unshare --user --net` without root) when the OS allows it; Landlock also
  refuses TCP on kernels with ABI 4+. When neither is available the result says
  `network_isolated=False`: the network is then NOT blocked, only the socket
  module is refused by the Python guard.
- **An import allow-list** (`imports`) and an **audit hook** (PEP 578) refusing
  process creation, sockets, `ctypes` and file access outside the directory.
- **Capped output** (`output`): stdout/stderr are cut at `max_output_chars`, and
  the answer is a small JSON value: whatever the code assigns to `result`.

The result names the limit that stopped the code (`SandboxResult.limit`, one
of `LIMITS`) and carries the traceback of the code's own frames, which is what a
fix-and-retry loop (`fix_and_retry`) sends back to the model.

What this does NOT protect against, plainly: the Python guards (allow-list,
audit hook) are an in-process restricted interpreter, and those are **not a
security boundary**: module internals leak references (`random._os`), and a
bug in C code gets past any check written in Python. The kernel layers
(rlimits, user, Landlock, network namespace) are real but share the host's
kernel: a kernel exploit escapes them, they do not limit disk I/O bandwidth,
and CPU and memory pressure on a shared machine is only capped per run.
Production systems that run untrusted code use a container with a seccomp
profile at least (gVisor for a user-space kernel), or a microVM per run
(Firecracker, the microVM built for AWS Lambda), with no credentials
inside and egress blocked at the network layer. Use this module for lessons
and for code you would accept running on your laptop; use those for
anything users can send.

Why hand-written: the standard library has `resource`, `subprocess` and
audit hooks but no Landlock binding, and the child runs in isolated mode with
the standard library only; the Landlock part is some 50 lines of system calls.
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

__all__ = [
    "DEFAULT_ALLOWED_MODULES",
    "LIMITS",
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
}

_CHILD = Path(__file__).with_name("_sandbox_child.py")
# What a pre-started interpreter loads while it waits (the rest loads when code imports it): few, so that
# starting one in the background costs little CPU.
_WARM_MODULES = frozenset({"math", "statistics", "json", "re", "collections", "datetime"})
_NOBODY = 65534
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
    setup: Mapping[str, Any] = field(default_factory=dict)  # what the child managed to lock down

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
def _network_prefix() -> tuple[str, ...] | None:
    """The command prefix that gives the child its own (empty) network namespace here, or None."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    for prefix in ((unshare, "--net"), (unshare, "--user", "--map-root-user", "--net")):
        try:
            ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return prefix
    return None


@functools.cache
def _landlock_abi() -> int:
    from agentkit._sandbox_child import landlock_abi

    return landlock_abi() if sys.platform.startswith("linux") else 0


def isolation() -> dict[str, Any]:
    """What this machine lets the sandbox do, for the record: network namespace, Landlock, user drop."""
    prefix = _network_prefix()
    return {
        "network_namespace": " ".join(Path(prefix[0]).name if i == 0 else p for i, p in enumerate(prefix))
        if prefix else None,
        "network_blocked": prefix is not None or _landlock_abi() >= 4,
        "landlock_abi": _landlock_abi(),
        "runs_as": "nobody (dropped from root)" if os.geteuid() == 0 else "the current user",
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
    the whole interpreter (about 30 MB of it is Python itself); `file_size_mb`
    caps every file the code writes (and its captured output);
    `max_processes` caps processes of the sandbox's user (1: no new ones).
    `guards=False` turns off the Python guards (allow-list and audit hook) to
    show what the OS layers hold on their own; `landlock=False` and
    `network_namespace=False` turn those layers off (for the benchmark, which
    prices each layer); never turn any of them off for real use.
    `warm=True` keeps one interpreter started ahead of the next run (see
    `warm_up`); call `close()` when done, or let the program's exit stop it.
    """

    timeout: float = 10.0
    cpu_seconds: int = 5
    memory_mb: int = 256
    file_size_mb: float = 1.0
    max_processes: int = 1
    max_open_files: int = 32
    max_output_chars: int = 20_000
    max_result_chars: int = 20_000
    allowed_modules: frozenset[str] = DEFAULT_ALLOWED_MODULES
    guards: bool = True
    landlock: bool = True
    network_namespace: bool = True
    warm: bool = False
    python: str = sys.executable
    _spare: list[_Child] = field(default_factory=list, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _closed: list[bool] = field(default_factory=list, init=False, repr=False, compare=False)  # [True] once closed

    def __post_init__(self) -> None:
        for name in ("timeout", "cpu_seconds", "memory_mb", "file_size_mb", "max_processes", "max_open_files",
                     "max_output_chars", "max_result_chars"):
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
        try:
            config = {
                "code": code, "inputs": inputs, "workdir": child.workdir, "result_fd": child.result_file.fileno(),
                "cpu_seconds": int(self.cpu_seconds), "memory_bytes": int(self.memory_mb * 2**20),
                "file_size_bytes": int(self.file_size_mb * 2**20), "max_processes": int(self.max_processes),
                "max_open_files": int(self.max_open_files), "max_output_chars": int(self.max_output_chars),
                "max_result_chars": int(self.max_result_chars), "allowed_modules": sorted(self.allowed_modules),
                "guards": self.guards, "landlock": self.landlock and _landlock_abi() > 0, "read_dirs": _read_dirs(),
                "data_dirs": _data_dirs(self.allowed_modules),
                "drop_privileges": True, "uid": _NOBODY, "preload": _imports_of(code, self.allowed_modules),
            }
            started = time.perf_counter()
            child.send(json.dumps(config).encode())
            timed_out = False
            try:
                child.proc.wait(timeout=self.timeout + (0.0 if child.warm else _START_GRACE_S))
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(child.proc.pid)  # also whatever it started
                child.proc.wait()
            duration = time.perf_counter() - started
            if self.warm:  # the next run's interpreter starts now, while the caller works on this result
                self.warm_up()
            return self._result(child.proc.returncode, timed_out, duration, child.out_file, child.err_file,
                                child.result_file, child.network)
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
        with self._lock:
            if self._closed:
                return False
            if not self._spare:  # started under the lock (a few ms): two threads never start two
                self._spare.append(_Child.start(self, warm=True))
            child = self._spare[0]
        return child.wait_ready(wait)

    def close(self) -> None:
        """Stop the pre-started interpreter, if there is one, and start no more (runs still work, cold)."""
        with self._lock:
            self._closed[:] = [True]
            spares, self._spare[:] = list(self._spare), []
        for child in spares:
            child.close()

    def _result(self, code: int, timed_out: bool, duration: float, out_file: Any, err_file: Any,
                result_file: Any, network_isolated: bool) -> SandboxResult:
        stdout, out_over = _read_capped(out_file, self.max_output_chars)
        stderr, err_over = _read_capped(err_file, self.max_output_chars)
        result_file.seek(0)
        raw = result_file.read(self.max_result_chars * 4 + 100_000)
        try:
            report = json.loads(raw) if raw else None
        except ValueError:
            report = None
        if not isinstance(report, dict):
            report = None
        common: dict[str, Any] = dict(stdout=stdout, stderr=stderr, duration_s=duration, exit_code=code,
                      network_isolated=network_isolated or _landlock_abi() >= 4 and self.landlock,
                      blocked=tuple(str(b) for b in (report or {}).get("blocked", []))[:20],
                      setup=dict((report or {}).get("setup", {})))
        if timed_out:
            return SandboxResult(False, None, error_type="TimeoutError", traceback=None, limit="timeout",
                                 error=f"the code ran past its {self.timeout:g} s time limit and was killed",
                                 **common)
        if code in (-signal.SIGXCPU, -signal.SIGKILL) or (report is None and code == 128 + signal.SIGXCPU):
            return SandboxResult(False, None, error_type="CpuLimitExceeded", traceback=None, limit="cpu",
                                 error=f"the code used its {self.cpu_seconds} s of CPU time and was killed",
                                 **common)
        if code == -signal.SIGXFSZ:
            return SandboxResult(False, None, error_type="FileSizeLimitExceeded", traceback=None, limit="file_size",
                                 error=f"the code wrote past the {self.file_size_mb:g} MB file-size limit", **common)
        if out_over or err_over:
            return SandboxResult(False, None, error_type="OutputLimitExceeded", traceback=None, limit="output",
                                 error=f"the code wrote more than {self.max_output_chars:,} characters", **common)
        if report is None or "ok" not in report:
            how = f"died on signal {-code}" if code < 0 else f"exited with status {code}"
            return SandboxResult(False, None, error_type="SandboxCrash", traceback=None,
                                 limit="crash" if code < 0 else None,
                                 error=f"the sandboxed interpreter {how} without a report; stderr: {stderr[-500:]}",
                                 **common)
        return SandboxResult(bool(report["ok"]), report.get("result"), error_type=report.get("error_type"),
                             error=report.get("error"), traceback=report.get("traceback"),
                             limit=report.get("limit"), **common)


class _Child:
    """One sandbox process: started (waiting for its config on stdin), fed once, then thrown away."""

    def __init__(self, proc: subprocess.Popen[bytes], workdir: str, files: list[Any], network: bool,
                 ready_fd: int | None) -> None:
        self.proc, self.workdir, self.network = proc, workdir, network
        self.warm, self._ready_fd, self._ready = ready_fd is not None, ready_fd, ready_fd is None
        self.out_file, self.err_file, self.result_file = files
        self._files = files
        if self.warm:
            _LIVE.add(self)

    @classmethod
    def start(cls, box: Sandbox, warm: bool = False) -> _Child:
        network = _network_prefix() if box.network_namespace else None
        workdir = tempfile.mkdtemp(prefix="agentkit-sandbox-")
        files = [tempfile.TemporaryFile() for _ in range(3)]  # stdout, stderr, result: outside workdir
        ready_r, ready_w = os.pipe() if warm else (None, None)
        try:
            if os.geteuid() == 0:
                os.chown(workdir, _NOBODY, _NOBODY)
            command = [*(network or ()), box.python, "-I", "-S", "-B", str(_CHILD)]
            keep = [files[2].fileno()]
            if ready_w is not None:
                command += ["--ready", str(ready_w), "--warm", *sorted(box.allowed_modules & _WARM_MODULES)]
                keep.append(ready_w)
            env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=files[0], stderr=files[1], cwd=workdir,
                                    env=env, pass_fds=keep, start_new_session=True)
        except BaseException:
            for f in files:
                f.close()
            for fd in (ready_r, ready_w):
                if fd is not None:
                    os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        if ready_w is not None:
            os.close(ready_w)
        return cls(proc, workdir, files, network is not None, ready_r)

    def wait_ready(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a pre-started interpreter to say it has started; returns whether it has."""
        if not self._ready and self._ready_fd is not None:
            readable, _, _ = select.select([self._ready_fd], [], [], max(timeout, 0.0))
            if readable:
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

    def close(self) -> None:
        _LIVE.discard(self)
        if self._ready_fd is not None:
            os.close(self._ready_fd)
            self._ready_fd = None
        if self.proc.returncode is None:
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
