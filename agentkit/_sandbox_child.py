"""The sandbox's child process: lock itself down, then run the untrusted code once.

`agentkit.sandbox` starts this file as a script (`python -I -S -B
_sandbox_child.py --report FD --ns net,pid,ipc,mnt`) and hands it a JSON config
on stdin. It must import nothing but the standard library: it runs in isolated
mode, with a scrubbed environment, before any untrusted code.

Order matters, and each step is trusted code running before the untrusted
code gets control:

1. Namespaces (`unshare(2)`, by system call): a new network namespace (no
   interface but a loopback that is down, and its own abstract Unix-socket
   names), IPC namespace (System V segments and message queues of its own,
   destroyed with it), mount namespace and PID namespace. Without root, a
   user namespace first makes the others possible. The PID namespace needs a
   fork: this process stays outside as a small supervisor that waits for the
   inner one (PID 1 of the new namespace), then exits the way it did, so the
   parent reads the real exit status and resource usage. When PID 1 of a
   namespace ends, the kernel kills every process left in it, so nothing the
   code starts (even after `setsid()`) outlives the run.
2. In the mount namespace (made private first, so nothing propagates back to
   the host): a size-limited tmpfs on /tmp, also bound on /var/tmp and
   /dev/shm, holding the work folder: one disk quota per run, and the host's
   /tmp is out of sight. A fresh /proc shows only the run's own processes. The
   IPC namespace's shared-memory total is capped at the memory limit.
3. OS resource limits with `resource.setrlimit` (soft = hard, so the code
   cannot raise them again): CPU seconds, address space, file size, open
   files, no core dumps.
4. Pre-import the allowed modules the code names (their own dependencies load
   now, from the standard library, before the file system is closed; the
   run's user may not read a Python installed under /root).
5. If started as root: drop to the run's own unprivileged user (a user id
   the parent drew for this run), so the process limit (RLIMIT_NPROC, which
   the kernel does not apply to root, and counts per user) holds for this run
   alone and ordinary file permissions apply. As a user namespace's root (no real root
   to start with) every capability is dropped instead.
6. Landlock (Linux 5.13+): a kernel rule set that leaves the process read
   access to the Python installation and full access to its work folder
   only; on ABI 4+ it also refuses TCP connect and bind, on ABI 6+ signals to
   processes outside the sandbox. Cannot be undone by the process.
7. A seccomp filter (see `seccomp_filter`): no Unix-domain sockets, no new
   user namespaces, no io_uring. Inherited by every child, never removable.
8. A "setup" record on the report channel (a pipe the parent reads): what
   steps 1-7 achieved, written before the code runs, so it cannot be forged.
9. The Python guards: an import allow-list and an audit hook (PEP 578) that
   refuses process creation, sockets, ctypes and file access outside the
   work folder. These give clear errors; they are NOT the boundary (code that
   reaches a C-level bug or leaked internals gets past them), the OS layers
   above are. Each refusal is sent on the report channel at once, so code
   that later switches the guards off cannot take it back.
10. Run the code, then send one "end" record (ok, result, error). The parent
   validates every record against a schema and reads them bounded in size and
   depth: a record the code forged or broke becomes a "report" limit there.
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
# Namespaces, a private /tmp, seccomp (by system call, through ctypes: the child runs with the standard
# library only, before any untrusted code, so no third-party binding can be imported here)
# ---------------------------------------------------------------------------

_CLONE_FLAGS = {"mnt": 0x00020000, "ipc": 0x08000000, "pid": 0x20000000, "net": 0x40000000}
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG = 1


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _errno_text(what: str) -> str:
    import ctypes

    return f"{what}: {os.strerror(ctypes.get_errno())}"


def _write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def enter_namespaces(wanted: list[str]) -> dict[str, object]:
    """unshare(2) each namespace in `wanted` ("net", "ipc", "mnt", "pid", "user"); {name: True, or why not}.

    Each is asked for on its own, so the record says which layer this machine
    lacks. Without root, a user namespace (this process mapped to its root)
    comes first: it is what lets an ordinary user create the others. The mount
    namespace is made private at once, so no mount made in it reaches the host.
    """
    user = "user" in wanted or os.geteuid() != 0  # "user": ask for one even as root (how the tests reach this path)
    wanted = [name for name in wanted if name != "user"]
    if not wanted:
        return {}
    if not sys.platform.startswith("linux"):
        return {name: "not Linux" for name in wanted}
    libc = _libc()
    done: dict[str, object] = {}
    if user:
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(_CLONE_NEWUSER) != 0:
            why = _errno_text("no root, and no user namespace to stand in for it")
            return {name: why for name in wanted}
        try:
            _write_file("/proc/self/setgroups", "deny")
            _write_file("/proc/self/uid_map", f"0 {uid} 1")
            _write_file("/proc/self/gid_map", f"0 {gid} 1")
        except OSError as err:
            return {name: f"user namespace map: {err}" for name in wanted}
        done["user"] = True
    for name in wanted:
        done[name] = True if libc.unshare(_CLONE_FLAGS[name]) == 0 else _errno_text(f"unshare({name})")
    if done.get("mnt") is True and libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        done["mnt"] = _errno_text("making the mount namespace private")  # then no mount is made at all
    return done


def supervise(pid: int, close: list[int]) -> None:
    """Wait for the run's first process (PID 1 of its namespace), then end the same way, so the parent's
    wait sees its real exit status and, through the rusage of reaped children, its CPU time. Never returns."""
    for fd in close:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        _, status, _ = os.wait4(pid, 0)
    except ChildProcessError:
        os._exit(70)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if sig not in (signal.SIGKILL, signal.SIGSTOP):  # those two have no handler to reset
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


def die_with_parent() -> None:
    """SIGKILL this process when its supervisor dies (cleared by a change of user: call again after one)."""
    if sys.platform.startswith("linux"):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def private_tmp(workdir: str, size_bytes: int, keep: list[str], owner: int | None) -> None:
    """A size-limited tmpfs on /tmp (bound on /var/tmp and /dev/shm too) holding `workdir`; raises OSError.

    One quota for everything the run can write, and the host's /tmp out of
    sight. Folders of `keep` (the Python installation) that lie under /tmp are
    bound back in, read-only, from descriptors opened before /tmp is covered.
    """
    libc = _libc()

    def mount(source: bytes | None, target: str, fstype: bytes | None, flags: int, data: bytes | None) -> None:
        if libc.mount(source, target.encode(), fstype, flags, data) != 0:
            raise OSError(_errno_text(f"mount on {target}"))

    under_tmp = [d for d in keep if d == "/tmp" or d.startswith("/tmp/")]
    held = [(d, os.open(d, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)) for d in under_tmp]
    inodes = max(size_bytes // 4096, 256)  # files count too: each one is kernel memory
    options = f"size={max(size_bytes // 1024, 64)}k,nr_inodes={inodes},mode=1777".encode()
    mount(b"tmpfs", "/tmp", b"tmpfs", _MS_NOSUID | _MS_NODEV, options)
    for path, fd in held:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}".encode(), path, None, _MS_BIND | _MS_REC, None)
        mount(None, path, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY, None)
        os.close(fd)
    for extra in ("/var/tmp", "/dev/shm"):
        if os.path.isdir(extra):
            mount(b"/tmp", extra, None, _MS_BIND, None)
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    if owner is not None:
        os.chown(workdir, owner, owner)


def fresh_proc() -> None:
    """Mount a /proc of the PID namespace: the host's processes (and their command lines) out of sight."""
    if _libc().mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None) != 0:
        raise OSError(_errno_text("mount /proc"))


def cap_shared_memory(max_bytes: int) -> None:
    """In the run's own IPC namespace, System V shared memory may total no more than the memory limit."""
    _write_file("/proc/sys/kernel/shmmax", str(max_bytes))
    _write_file("/proc/sys/kernel/shmall", str(max(max_bytes // 4096, 1)))


def drop_capabilities() -> None:
    """Drop every capability (for a user namespace's root, which cannot become the run's user: it is not mapped)."""
    import ctypes

    number = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)
    if number is None:
        raise OSError(f"capset: unknown system call number on {os.uname().machine}")
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all zero, twice (64 capability bits)
    if _libc().syscall(number, header, data) != 0:
        raise OSError(_errno_text("capset"))


# Seccomp, as a hand-built classic BPF program loaded with prctl. Why not a binding: PyPI's libseccomp
# bindings (pyseccomp, a ctypes wrapper; the distribution's Cython `seccomp`) need the libseccomp shared
# library installed on the machine, and this child runs `python -I -S` with the standard library only.
# The program is 20-odd instructions; writing it here costs less than a system dependency.
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SYSCALLS = {  # name: number, per architecture
    "x86_64": {"socket": 41, "clone": 56, "unshare": 272, "setns": 308, "io_uring_setup": 425, "clone3": 435},
    "aarch64": {"socket": 198, "clone": 220, "unshare": 97, "setns": 268, "io_uring_setup": 425, "clone3": 435},
}
_AF_UNIX = 1
_BPF_LD_W_ABS, _BPF_JEQ, _BPF_JGE, _BPF_JSET, _BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_KILL_PROCESS, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000


def seccomp_filter(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter's instructions (code, jump-if-true, jump-if-false, constant) for `machine`.

    It refuses, with an error the code sees: socket(AF_UNIX) (EACCES: no way to
    the host's Unix sockets, wherever they live: /run, /var/run, home folders);
    clone/unshare with CLONE_NEWUSER and setns (EPERM: no new user namespace,
    the usual first step of a kernel exploit); clone3 (ENOSYS, whose flags a
    classic filter cannot read: the C library falls back to clone, which is
    checked); io_uring_setup (EPERM: io_uring performs socket and connect
    without the system calls this filter sees). Any other architecture's
    system calls (32-bit compatibility, x32) kill the process.
    """
    nr = _SYSCALLS[machine]
    errno_ = lambda code: _RET_ERRNO | code  # noqa: E731 - a tiny local helper
    program = [(_BPF_LD_W_ABS, 0, 0, 4), (_BPF_JEQ, 1, 0, _AUDIT_ARCH[machine]), (_BPF_RET, 0, 0, _RET_KILL_PROCESS),
               (_BPF_LD_W_ABS, 0, 0, 0)]
    if machine == "x86_64":  # x32 system calls have bit 30 set
        program += [(_BPF_JGE, 0, 1, 0x40000000), (_BPF_RET, 0, 0, _RET_KILL_PROCESS)]
    checks = [("socket", _BPF_JEQ, _AF_UNIX, errno.EACCES), ("clone", _BPF_JSET, _CLONE_NEWUSER, errno.EPERM),
              ("unshare", _BPF_JSET, _CLONE_NEWUSER, errno.EPERM)]
    for name, test, value, code in checks:  # nr == N and (arg0 test value): refuse, else allow; A keeps nr past it
        program += [(_BPF_JEQ, 0, 4, nr[name]), (_BPF_LD_W_ABS, 0, 0, 16), (test, 0, 1, value),
                    (_BPF_RET, 0, 0, errno_(code)), (_BPF_RET, 0, 0, _RET_ALLOW)]
    for name, code in (("setns", errno.EPERM), ("io_uring_setup", errno.EPERM), ("clone3", errno.ENOSYS)):
        program += [(_BPF_JEQ, 0, 1, nr[name]), (_BPF_RET, 0, 0, errno_(code))]
    return program + [(_BPF_RET, 0, 0, _RET_ALLOW)]


def apply_seccomp() -> None:
    """Load `seccomp_filter` for this machine into this process (and its future children), for good."""
    import ctypes
    import struct

    machine = os.uname().machine
    if machine not in _SYSCALLS:
        raise OSError(f"no seccomp filter written for {machine}")
    program = seccomp_filter(machine)
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.addressof(buffer))
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(_errno_text("prctl(PR_SET_NO_NEW_PRIVS)"))
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(_errno_text("prctl(PR_SET_SECCOMP)"))


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

    builtins.__import__ = guarded_import
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
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk"
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


#: How deep a `result` may nest (lists and dicts): the parent refuses deeper reports unread, so a
#: result can never make the caller's JSON parser run out of stack.
MAX_RESULT_DEPTH = 100
#: Refusals sent on the report channel one by one; past this many only their number is.
MAX_BLOCKED_RECORDS = 50
def json_too_deep(text: str, limit: int = MAX_RESULT_DEPTH) -> int:
    """How deep the arrays and objects of a JSON text nest, if deeper than `limit`; 0 if not.

    Read without parsing (no recursion, no imports), so a report can be refused
    before the parser sees it; instant when the text has few brackets.
    """
    if text.count("[") + text.count("{") <= limit:
        return 0
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif c in "]}":
            depth -= 1
    return deepest if deepest > limit else 0


def _jsonable(value: object, limit: int) -> tuple[object, str | None]:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as err:
        return None, f"`result` must be JSON (dict, list, str, int, float, bool, None): {err}"
    if len(text) > limit:
        return None, f"`result` is {len(text):,} characters of JSON; the sandbox returns at most {limit:,}"
    depth = json_too_deep(text)
    if depth:
        return None, f"`result` nests {depth} levels deep; the sandbox returns at most {MAX_RESULT_DEPTH}"
    return value, None


class _Channel:
    """The report pipe, one JSON record a line. Its read end is the parent's: what is written stays written."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, record: dict[str, object]) -> None:
        data = memoryview(json.dumps(record, default=str).encode() + b"\n")
        while data:
            try:
                data = data[os.write(self.fd, data):]
            except OSError:
                return  # the code closed or replaced the descriptor: the parent sees the record missing


class _BlockedLog(list[str]):
    """The guards' record of refusals: each one goes to the parent as it happens."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self._channel = channel

    def append(self, text: str) -> None:
        super().append(text)
        if len(self) <= MAX_BLOCKED_RECORDS:
            self._channel.send({"kind": "blocked", "what": str(text)[:500]})


def _option(name: str, default: str | None = None) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    channel = _Channel(int(_option("--report", "-1") or -1))
    ready = _option("--ready")
    namespaces = enter_namespaces([n for n in (_option("--ns") or "").split(",") if n])
    if namespaces.get("pid") is True:
        # A PID namespace takes effect for the children of the caller: this process stays outside as the
        # supervisor, the fork is PID 1 inside and runs everything else.
        pid = os.fork()
        if pid:
            supervise(pid, [0, channel.fd] + ([int(ready)] if ready else []))
        die_with_parent()
    if "--warm" in sys.argv:
        # A pre-started worker has time to spare before its code arrives: load common allowed modules
        # (listed after the flag) and ctypes for Landlock now rather than during the run, then say so.
        for name in sys.argv[sys.argv.index("--warm") + 1:] + ["ctypes"]:
            try:
                __import__(name)
            except ImportError:
                pass
    if ready:
        os.write(int(ready), b"1")
        os.close(int(ready))
    config = json.loads(sys.stdin.read())
    workdir: str = config["workdir"]
    setup: dict[str, object] = {"namespaces": namespaces}
    root = os.geteuid() == 0

    if config["private_tmp"]:
        if namespaces.get("mnt") is True:
            try:
                # Owned by the run's user when the run will become it; a user namespace's root stays itself.
                owner = config["uid"] if root and config["drop_privileges"] and "user" not in namespaces else None
                private_tmp(workdir, config["disk_bytes"], config["read_dirs"] + config["data_dirs"], owner)
                setup["private_tmp"] = True
            except OSError as err:
                setup["private_tmp"] = str(err)
        else:
            setup["private_tmp"] = "no mount namespace"
    if namespaces.get("pid") is True and namespaces.get("mnt") is True:
        try:
            fresh_proc()
            setup["proc"] = True
        except OSError as err:
            setup["proc"] = str(err)
    if namespaces.get("ipc") is True:
        try:
            cap_shared_memory(config["memory_bytes"])
            setup["shm_capped"] = True
        except OSError as err:
            setup["shm_capped"] = str(err)
    try:
        os.chdir(workdir)
    except OSError as err:  # the private /tmp failed where the work folder was to be: nothing can run
        channel.send({"kind": "setup", "setup": {**setup, "workdir_error": str(err)}})
        raise SystemExit(71) from None

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
    # drop to the run's user and Landlock it may not (here Python lives under /root).
    allowed = set(config["allowed_modules"])
    for name in config["preload"] + (["ctypes", "struct"] if config["landlock"] or config["seccomp"] else []):
        try:
            __import__(name)
        except ImportError:
            pass  # not installed here: importing it later fails with the usual error
    for name in ("encodings.latin_1", "encodings.ascii", "encodings.utf_16", "encodings.idna"):
        __import__(name)

    setup["uid"] = os.getuid()
    if config["drop_privileges"] and root:
        try:
            os.setgroups([])
            os.setgid(config["uid"])
            os.setuid(config["uid"])
            setup["uid"] = os.getuid()
        except OSError as err:  # e.g. root inside a user namespace where the run's user is not mapped
            setup["uid_drop_failed"] = str(err)
    if os.getuid() == 0 and namespaces.get("user") is True:
        try:
            drop_capabilities()  # a user namespace's root: keep its uid, lose its powers
            setup["capabilities_dropped"] = True
        except OSError as err:
            setup["capabilities_dropped"] = str(err)
    if namespaces.get("pid") is True:
        die_with_parent()  # the change of user cleared it
    resource.setrlimit(resource.RLIMIT_NPROC, (config["max_processes"],) * 2)

    if config["landlock"]:
        try:
            setup["landlock_abi"] = apply_landlock(config["read_dirs"] + config["data_dirs"], workdir)
        except OSError as err:
            setup["landlock_error"] = str(err)
    if config["seccomp"]:
        try:
            apply_seccomp()
            setup["seccomp"] = True
        except OSError as err:
            setup["seccomp"] = str(err)
    channel.send({"kind": "setup", "setup": setup})  # the last word of trusted code before the untrusted code

    blocked = _BlockedLog(channel)
    sys.addaudithook(_observe)
    guards_on = install_guards(allowed, workdir, config["read_dirs"], blocked, config["data_dirs"]) \
        if config["guards"] else [False]

    sys.stdout = _CappedWriter(sys.stdout, config["max_output_chars"], "stdout")
    sys.stderr = _CappedWriter(sys.stderr, config["max_output_chars"], "stderr")
    code: str = config["code"]
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    # The code runs as module __main__, registered in sys.modules like a script's, so library code that
    # looks a class's module up there (dataclasses, pickle, typing) finds it.
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    namespace = module.__dict__
    namespace.update(config["inputs"])
    end: dict[str, object] = {"kind": "end"}
    try:
        compiled = compile(code, FILENAME, "exec")
        exec(compiled, namespace)  # noqa: S102 - this is the sandbox: the code runs here, behind the limits above
    except BaseException as err:  # noqa: BLE001 - every way the code can end is reported, not raised
        limit = _limit_of(err)  # first: formatting the traceback opens files, which the observer would see
        guards_on[0] = False
        end.update(ok=False, error_type=type(err).__name__, error=str(err)[:10_000],
                   traceback=_traceback_of(err)[-20_000:], limit=limit,
                   result=_jsonable(namespace.get("result"), config["max_result_chars"])[0])
    else:
        guards_on[0] = False
        value, problem = _jsonable(namespace.get("result"), config["max_result_chars"])
        end.update(ok=problem is None, result=value, error_type=None, error=None, traceback=None, limit=None)
        if problem:
            end.update(error_type="ResultError", error=problem, limit="output")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a full disk must not stop the report
            pass
    end["blocked_count"] = len(blocked)
    channel.send(end)
    os._exit(0)  # no interpreter shutdown (some 20 ms of module teardown): the report is sent, the streams flushed


if __name__ == "__main__":
    main()
