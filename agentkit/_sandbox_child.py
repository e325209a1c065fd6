"""The sandbox's child process: lock itself down, then run the untrusted code once.

`agentkit.sandbox` starts this file as a script (`python -I -S -B
_sandbox_child.py`, optionally under `unshare --net`) and hands it a JSON
config on stdin. It must import nothing but the standard library: it runs in
isolated mode, with a scrubbed environment, before any untrusted code.

Order matters, and each step is trusted code running before the untrusted
code gets control:

1. OS resource limits with `resource.setrlimit` (soft = hard, so the code
   cannot raise them again): CPU seconds, address space, file size, open
   files, no core dumps.
2. If started as root: drop to the unprivileged user `nobody`, so the process
   limit (RLIMIT_NPROC, which the kernel does not apply to root) holds and
   ordinary file permissions apply.
3. Pre-import the allowed modules the code names (their own dependencies load now, from the
   standard library, before the file system is closed; done before step 2 in
   fact, as `nobody` may not read a Python installed under /root).
4. Landlock (Linux 5.13+): a kernel rule set that leaves the process read
   access to the Python installation and full access to its temporary
   directory only; on ABI 4+ it also refuses TCP connect and bind, on ABI 6+
   signals to processes outside the sandbox. Cannot be undone by the process.
5. The Python guards: an import allow-list and an audit hook (PEP 578) that
   refuses process creation, sockets, ctypes and file access outside the
   temporary directory. These give clear errors; they are NOT the boundary
   (code that reaches a C-level bug or leaked internals gets past them), the
   OS layers above are.
6. Run the code, then write one JSON report on the result file descriptor.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import linecache
import os
import resource
import signal
import sys
import traceback
import types

TYPE_CHECKING = False  # typing is not imported at run time: it costs the start-up of every run
if TYPE_CHECKING:
    from typing import Any

FILENAME = "<sandbox>"


class SandboxViolation(PermissionError):
    """Raised by the guards; `limit` names which one."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(errno.EPERM, message)
        self.limit = limit

    def __str__(self) -> str:
        return self.strerror or ""


class SandboxImportError(ModuleNotFoundError):
    """An import the allow-list refuses."""

    limit = "imports"


class CpuLimitExceeded(BaseException):
    """RLIMIT_CPU's soft limit sent SIGXCPU. A BaseException so `except Exception` in the code does not hide it."""


class OutputLimitExceeded(BaseException):
    """The code printed more than the sandbox keeps."""


# ---------------------------------------------------------------------------
# Output capped at the source
# ---------------------------------------------------------------------------


class _CappedWriter(io.TextIOBase):
    def __init__(self, raw: Any, cap: int, name: str) -> None:
        self._raw, self._left, self._name = raw, cap, name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if len(text) > self._left:
            self._raw.write(text[: max(self._left, 0)])
            self._left = 0
            raise OutputLimitExceeded(f"the code wrote more than the sandbox keeps on {self._name}")
        self._left -= len(text)
        return self._raw.write(text)

    def flush(self) -> None:
        self._raw.flush()


# ---------------------------------------------------------------------------
# Landlock, by system call (no standard-library binding exists; see the module docstring of agentkit.sandbox)
# ---------------------------------------------------------------------------

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on x86_64 and arm64
_PR_SET_NO_NEW_PRIVS = 38
# File-system rights by ABI version (each version adds bits): v1 13 rights, v2 REFER, v3 TRUNCATE, v5 IOCTL_DEV.
_FS_BITS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_FS_READ = (1 << 0) | (1 << 2) | (1 << 3)  # EXECUTE | READ_FILE | READ_DIR


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 if Landlock is not available."""
    if not sys.platform.startswith("linux"):
        return 0  # the system call numbers below are Linux's
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        version = int(libc.syscall(_SYS_CREATE_RULESET, None, 0, 1))  # flag 1: LANDLOCK_CREATE_RULESET_VERSION
        return max(version, 0)
    except (OSError, AttributeError):
        return 0


def apply_landlock(read_dirs: list[str], write_dir: str) -> int:
    """Restrict this process (for good) to reading `read_dirs` and using `write_dir`; returns the ABI used."""
    import ctypes

    abi = landlock_abi()
    if abi <= 0:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    fs_all = _FS_BITS_BY_ABI.get(abi, (1 << 16) - 1)
    net_all = 0b11 if abi >= 4 else 0  # BIND_TCP | CONNECT_TCP, with no rule allowing either
    scoped = 0b11 if abi >= 6 else 0  # abstract unix sockets and signals stay inside the sandbox

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    attr = RulesetAttr(fs_all, net_all, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = int(libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [(d, _FS_READ) for d in read_dirs] + [(write_dir, fs_all)]
        for path, rights in rules:
            if not os.path.isdir(path):
                continue
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = PathBeneath(rights, fd)
                if libc.syscall(_SYS_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) < 0:  # 1: PATH_BENEATH
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


# ---------------------------------------------------------------------------
# The Python guards (clear errors; not the boundary)
# ---------------------------------------------------------------------------

# Audit events refused outright, by prefix, and the limit each one counts against.
_REFUSED: tuple[tuple[str, str], ...] = (
    ("os.system", "processes"), ("os.exec", "processes"), ("os.posix_spawn", "processes"),
    ("os.spawn", "processes"), ("os.fork", "processes"), ("os.forkpty", "processes"),
    ("subprocess.", "processes"), ("pty.spawn", "processes"), ("_thread.start_new_thread", "processes"),
    ("os.kill", "processes"), ("os.killpg", "processes"),
    ("socket.", "network"), ("urllib.", "network"), ("http.client.", "network"), ("smtplib.", "network"),
    ("ftplib.", "network"), ("webbrowser.", "network"),
    ("ctypes.", "audit"), ("sys.addaudithook", "audit"), ("resource.setrlimit", "audit"),
    ("resource.prlimit", "audit"), ("os.putenv", "audit"), ("os.chmod", "audit"), ("os.chown", "audit"),
    ("os.symlink", "audit"), ("os.link", "audit"), ("sys.settrace", "audit"), ("sys.setprofile", "audit"),
    ("sys.unraisablehook", "audit"), ("mmap.", "audit"), ("fcntl.", "audit"),
)
# Audit events whose first argument is a path, allowed inside the temporary directory only.
_PATH_EVENTS = frozenset({
    "os.listdir", "os.scandir", "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.truncate", "os.utime",
    "os.chdir", "glob.glob", "shutil.copyfile", "shutil.copytree", "shutil.rmtree", "shutil.move",
})


def install_guards(allowed: set[str], workdir: str, read_dirs: list[str], blocked: list[str],
                   data_dirs: tuple[str, ...] | list[str] = ()) -> list[bool]:
    """The import allow-list and the audit hook. `blocked` collects what they refused, for the report.

    Returns the switch that keeps them on: the report is written with it off, since formatting a
    traceback reads the standard library's sources.
    """
    on = [True]
    workdir = os.path.realpath(workdir)
    read_roots = tuple(os.path.realpath(d) + os.sep for d in read_dirs)
    data_roots = tuple(os.path.realpath(d) + os.sep for d in data_dirs)
    real_import = builtins.__import__

    def refuse(limit: str, message: str) -> SandboxViolation:
        blocked.append(f"{limit}: {message}")
        return SandboxViolation(limit, message)

    def inside(path: object) -> bool | None:
        if isinstance(path, int):
            return None  # an already-open descriptor (stdout, the result file)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return False
        full = os.path.realpath(os.path.join(workdir, path))
        return full == workdir or full.startswith(workdir + os.sep)

    def hook(event: str, args: tuple) -> None:
        if not on[0]:
            return
        if event == "open":
            where = inside(args[0])
            if where is None or where:
                return
            mode = args[1] or ""
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            path = os.path.realpath(os.fsdecode(args[0]) if isinstance(args[0], bytes) else str(args[0]))
            if not writing and path.startswith(read_roots) and path.endswith((".py", ".pyc", ".so")):
                return  # the interpreter reading its own library (a lazy import inside an allowed module)
            if not writing and path.startswith(data_roots):
                return  # read-only data an allowed module needs (time-zone files for zoneinfo)
            raise refuse("files", f"opening {args[0]!r} is outside the sandbox's directory")
        if event == "import":
            top = str(args[0]).split(".")[0]
            if top not in allowed:
                raise refuse("imports", f"import of {args[0]!r} is not on the allow-list")
            return
        if event in _PATH_EVENTS:
            if args and inside(args[0]) is False:
                raise refuse("files", f"{event} on {args[0]!r} is outside the sandbox's directory")
            return
        for prefix, limit in _REFUSED:
            if event.startswith(prefix):
                raise refuse(limit, f"{event} is not allowed in the sandbox")

    def guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                       level: int = 0) -> Any:
        # Modules the interpreter loaded at start-up (os, sys, ...) are already in sys.modules, so the
        # audit hook's "import" event never fires for them: the name is checked here.
        if on[0] and level == 0 and name.split(".")[0] not in allowed:
            message = f"import of {name!r} is not allowed in the sandbox; allowed: {', '.join(sorted(allowed))}"
            blocked.append(f"imports: {message}")
            raise SandboxImportError(message, name=name)
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded_import  # type: ignore[assignment]
    sys.addaudithook(hook)
    return on


# ---------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------


# The last sensitive operation the code attempted, seen by an observing audit hook that refuses nothing:
# it tells a kernel refusal of a socket (Landlock's EACCES) from one of a file.
_LAST_ATTEMPT = [""]
_OBSERVED = (("socket.", "network"), ("os.kill", "processes"), ("os.fork", "processes"), ("os.system", "processes"),
             ("subprocess.", "processes"), ("os.exec", "processes"), ("open", "filesystem"))


def _observe(event: str, args: tuple) -> None:
    for prefix, limit in _OBSERVED:
        if event.startswith(prefix):
            _LAST_ATTEMPT[0] = limit
            return


def _limit_of(err: BaseException) -> str | None:
    """Which limit an exception raised inside the code stands for (None: an ordinary bug in the code)."""
    if isinstance(err, (SandboxViolation, SandboxImportError)):
        return err.limit
    if isinstance(err, CpuLimitExceeded):
        return "cpu"
    if isinstance(err, OutputLimitExceeded):
        return "output"
    if isinstance(err, MemoryError):
        return "memory"
    if isinstance(err, OSError):
        if err.errno == errno.EFBIG:
            return "file_size"
        if err.errno == errno.EAGAIN and _LAST_ATTEMPT[0] == "processes":
            return "processes"
        if err.errno in (errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTUNREACH) or type(err).__name__ == "gaierror":
            return "network"
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return _LAST_ATTEMPT[0] or "filesystem"
        if err.errno == errno.EMFILE:
            return "open_files"
    return None


def _traceback_of(err: BaseException) -> str:
    """The traceback from the code's own frames only (the sandbox's frames are noise to the model)."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == FILENAME]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(err), err)
    return "".join(lines)


def _jsonable(value: object, limit: int) -> tuple[object, str | None]:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        return None, f"`result` must be JSON (dict, list, str, int, float, bool, None): {err}"
    if len(text) > limit:
        return None, f"`result` is {len(text):,} characters of JSON; the sandbox returns at most {limit:,}"
    return value, None


def main() -> None:
    if "--warm" in sys.argv:
        # A pre-started worker has time to spare before its code arrives: load common allowed modules
        # (listed after the flag) and ctypes for Landlock now rather than during the run, then say so.
        for name in sys.argv[sys.argv.index("--warm") + 1:] + ["ctypes"]:
            try:
                __import__(name)
            except ImportError:
                pass
        ready = int(sys.argv[sys.argv.index("--ready") + 1])
        os.write(ready, b"1")
        os.close(ready)
    config = json.loads(sys.stdin.read())
    result_fd: int = config["result_fd"]
    workdir: str = config["workdir"]
    report: dict[str, object] = {"setup": {}}
    setup = report["setup"]
    assert isinstance(setup, dict)
    os.chdir(workdir)

    cpu = int(config["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # soft: SIGXCPU (reported); hard: SIGKILL
    resource.setrlimit(resource.RLIMIT_AS, (config["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (config["file_size_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (config["max_open_files"],) * 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-size write then fails with EFBIG, which we can name

    def on_sigxcpu(signum: int, frame: object) -> None:
        raise CpuLimitExceeded(f"the code used its {cpu} s of CPU time")

    signal.signal(signal.SIGXCPU, on_sigxcpu)

    # Load what the code may use now, while the interpreter can still read its library: after the
    # drop to `nobody` and Landlock it may not (here Python lives under /root).
    allowed = set(config["allowed_modules"])
    for name in config["preload"] + (["ctypes"] if config["landlock"] else []):
        try:
            __import__(name)
        except ImportError:
            pass  # not installed here: importing it later fails with the usual error
    for name in ("encodings.latin_1", "encodings.ascii", "encodings.utf_16", "encodings.idna"):
        __import__(name)

    setup["uid"] = os.getuid()
    if config["drop_privileges"] and os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setgid(config["uid"])
            os.setuid(config["uid"])
            setup["uid"] = os.getuid()
        except OSError as err:  # e.g. root inside a user namespace where `nobody` is not mapped
            setup["uid_drop_failed"] = str(err)
    resource.setrlimit(resource.RLIMIT_NPROC, (config["max_processes"],) * 2)

    if config["landlock"]:
        try:
            setup["landlock_abi"] = apply_landlock(config["read_dirs"] + config["data_dirs"], workdir)
        except OSError as err:
            setup["landlock_error"] = str(err)
    blocked: list[str] = []
    report["blocked"] = blocked
    sys.addaudithook(_observe)
    guards_on = install_guards(allowed, workdir, config["read_dirs"], blocked, config["data_dirs"]) if config["guards"] else [False]

    sys.stdout = _CappedWriter(sys.stdout, config["max_output_chars"], "stdout")  # type: ignore[assignment]
    sys.stderr = _CappedWriter(sys.stderr, config["max_output_chars"], "stderr")  # type: ignore[assignment]
    code: str = config["code"]
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    # The code runs as module __main__, registered in sys.modules like a script's, so library code that
    # looks a class's module up there (dataclasses, pickle, typing) finds it.
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    namespace = module.__dict__
    namespace.update(config["inputs"])
    try:
        compiled = compile(code, FILENAME, "exec")
        exec(compiled, namespace)  # noqa: S102 - this is the sandbox: the code runs here, behind the limits above
    except BaseException as err:  # noqa: BLE001 - every way the code can end is reported, not raised
        limit = _limit_of(err)  # first: formatting the traceback opens files, which the observer would see
        guards_on[0] = False
        report.update(ok=False, error_type=type(err).__name__, error=str(err), traceback=_traceback_of(err),
                      limit=limit, result=_jsonable(namespace.get("result"), config["max_result_chars"])[0])
    else:
        guards_on[0] = False
        value, problem = _jsonable(namespace.get("result"), config["max_result_chars"])
        report.update(ok=problem is None, result=value)
        if problem:
            report.update(error_type="ResultError", error=problem, traceback=None, limit="output")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a full disk must not stop the report
            pass
    os.write(result_fd, json.dumps(report, default=str).encode())
    os.close(result_fd)


if __name__ == "__main__":
    main()
