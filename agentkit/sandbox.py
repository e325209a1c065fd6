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
(Firecracker, as hosted code-execution services do), with no credentials
inside and egress blocked at the network layer. Use this module for lessons
and for code you would accept running on your laptop; use those for
anything users can send.

Why hand-written: the standard library has `resource`, `subprocess` and
audit hooks but no Landlock binding, and the child runs in isolated mode with
the standard library only; the Landlock part is some 50 lines of system calls.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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
_NOBODY = 65534
_START_GRACE_S = 1.0  # extra real time for the interpreter to start on a busy machine, on top of `timeout`


@dataclass(frozen=True)
class SandboxResult:
    """What one sandboxed run produced.

    `ok` is True when the code ran to its end and `result` (the JSON value the
    code assigned to a variable named `result`, or None) came back. Otherwise
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


def _read_dirs() -> list[str]:
    """The Python installation: what the interpreter must still read once Landlock is on."""
    import sysconfig

    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
    return sorted(d for d in dirs if d and os.path.isdir(d))


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

    `timeout` is real seconds for the code (the interpreter's own start gets a
    few more); `cpu_seconds` is CPU time; `memory_mb` is the address space of
    the whole interpreter (about 30 MB of it is Python itself); `file_size_mb`
    caps every file the code writes (and its captured output);
    `max_processes` caps processes of the sandbox's user (1: no new ones).
    `guards=False` turns off the Python guards (allow-list and audit hook) to
    show what the OS layers hold on their own; `landlock=False` and
    `network_namespace=False` turn those layers off (for the benchmark, which
    prices each layer); never turn any of them off for real use.
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
    python: str = sys.executable

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
        inputs = dict(inputs or {})
        try:
            json.dumps(inputs)
        except (TypeError, ValueError) as err:
            raise ValueError(f"inputs must be JSON values (dicts, lists, str, numbers, bool, None): {err}") from None
        network = _network_prefix() if self.network_namespace else None
        workdir = tempfile.mkdtemp(prefix="agentkit-sandbox-")
        files = [tempfile.TemporaryFile() for _ in range(4)]  # config, stdout, stderr, result: outside workdir
        config_file, out_file, err_file, result_file = files
        try:
            if os.geteuid() == 0:
                os.chown(workdir, _NOBODY, _NOBODY)
            config = {
                "code": code, "inputs": inputs, "workdir": workdir, "result_fd": result_file.fileno(),
                "cpu_seconds": int(self.cpu_seconds), "memory_bytes": int(self.memory_mb * 2**20),
                "file_size_bytes": int(self.file_size_mb * 2**20), "max_processes": int(self.max_processes),
                "max_open_files": int(self.max_open_files), "max_output_chars": int(self.max_output_chars),
                "max_result_chars": int(self.max_result_chars), "allowed_modules": sorted(self.allowed_modules),
                "guards": self.guards, "landlock": self.landlock, "read_dirs": _read_dirs(),
                "drop_privileges": True, "uid": _NOBODY, "preload": _imports_of(code, self.allowed_modules),
            }
            config_file.write(json.dumps(config).encode())
            config_file.seek(0)
            command = [*(network or ()), self.python, "-I", "-S", "-B", str(_CHILD)]
            env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
            started = time.perf_counter()
            proc = subprocess.Popen(command, stdin=config_file, stdout=out_file, stderr=err_file, cwd=workdir,
                                    env=env, pass_fds=(result_file.fileno(),), start_new_session=True)
            timed_out = False
            try:
                proc.wait(timeout=self.timeout + _START_GRACE_S)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)  # also whatever it started
                proc.wait()
            duration = time.perf_counter() - started
            return self._result(proc.returncode, timed_out, duration, out_file, err_file, result_file,
                                network is not None)
        finally:
            for f in files:
                f.close()
            shutil.rmtree(workdir, ignore_errors=True)

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
