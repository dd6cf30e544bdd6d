"""The isolation tiers, how each one starts a worker, and the probe that says which work here.

Tiers, strongest first:

- `bwrap`: bubblewrap with new user, pid, net, ipc, uts (and cgroup) namespaces; the worker is
  pid 1 of its namespace, sees only read-only system and Python directories, a size-limited
  private /tmp and a size-limited /work; cleared environment, no capabilities, and inside it
  Landlock and seccomp as a second wall. A root host starts bwrap as `nobody`, because a
  process whose real uid is 0 is exempt from the process limit even in a user namespace.
- `landlock`: no namespaces, but Landlock (files, TCP, signals; ABI 6 or later), seccomp
  (no sockets, no new sessions, no namespaces, no ptrace) and the same resource limits.
- `unsafe`: resource limits only. Used only when the caller asks for it by name, and said so
  in every result and journal entry.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SandboxUnavailable
from . import uids
from .limits import Limits

TIERS = ("bwrap", "landlock", "unsafe")
SAFE_TIERS = ("bwrap", "landlock")
NOBODY = 65534
SANDBOX_WORKDIR = "/work"
SANDBOX_WORKER_DIR = "/opt/agentzoo"
MIN_LANDLOCK_ABI = 6  # signal scoping: without it, code could signal the host's processes
_WORKER_FILES = ("main.py", "confine.py")


@dataclass(frozen=True)
class TierReport:
    """Whether one tier works on this machine, and why not when it does not."""

    name: str
    available: bool
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class LaunchPlan:
    """Everything needed to start one worker in one tier."""

    tier: str
    argv: list[str]
    env: dict[str, str]
    config: dict[str, Any]
    cwd: str | None = None
    user: int | None = None
    base_dir: str | None = None  # the host directory to remove when the worker is gone
    uid_lease: uids.UidLease | None = None  # the worker's own uid, released when the worker is gone


# --- who runs the sandbox, with which Python ------------------------------------------------


def sandbox_uid() -> int:
    """The uid sandboxed code runs as: ourselves, or `nobody` when we are root."""
    return NOBODY if os.geteuid() == 0 else os.geteuid()


def _traversable_by(path: str, uid: int) -> bool:
    """Can `uid` (not root, no groups) reach and read `path`? Checks each directory on the way."""
    if uid == os.geteuid():
        return os.access(path, os.R_OK)
    current = Path(path).resolve()
    for parent in [*reversed(current.parents), current]:
        try:
            info = parent.stat()
        except OSError:
            return False
        mode = info.st_mode
        needed = stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH
        if info.st_uid == uid:
            needed <<= 6
        if not mode & needed:
            return False
    return True


@functools.cache
def sandbox_python() -> tuple[str, tuple[str, ...]]:
    """The interpreter the worker runs, and the host directories it needs bound in.

    Our own interpreter (with the project's packages) when the sandbox user can read it;
    otherwise the system's python3 (standard library only), which is all the worker needs.
    """
    uid = sandbox_uid()
    ours = (sys.executable, sys.prefix, sys.base_prefix, os.path.realpath(sys.executable))
    if all(_traversable_by(p, uid) for p in ours):
        return sys.executable, tuple(dict.fromkeys(p for p in (sys.prefix, sys.base_prefix) if not p.startswith("/usr")))
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and _traversable_by(candidate, uid):
            return candidate, ()
    raise SandboxUnavailable(f"no Python interpreter is readable by the sandbox user (uid {uid}): {sys.executable} "
                             "is not, and neither /usr/bin/python3 nor /usr/local/bin/python3 exists; "
                             "install python3 from your system's packages")


@functools.cache
def worker_dir() -> str:
    """A world-readable copy of the worker's files, shared by every sandbox on this machine.

    Named by the files' hash, so processes reuse it and a killed process leaves nothing new
    behind. /tmp is shared with other users, so a folder found there is used only if we own it
    and nobody else can write to it; otherwise this process makes a private one.
    """
    src = Path(importlib.util.find_spec("agentzoo.sandbox.worker").origin).parent  # type: ignore[union-attr]
    contents = {name: (src / name).read_bytes() for name in _WORKER_FILES}
    digest = hashlib.sha256(b"".join(contents[n] for n in _WORKER_FILES)).hexdigest()[:16]
    shared = os.path.join(tempfile.gettempdir(), f"agentzoo-worker-{os.geteuid()}-{digest}")
    if _trusted_copy(shared, contents):
        return shared
    staging = tempfile.mkdtemp(prefix="agentzoo-worker-")
    os.chmod(staging, 0o755)
    for name, data in contents.items():
        with open(os.path.join(staging, name), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(staging, name), 0o644)
    try:
        os.rename(staging, shared)  # atomic; fails if another process got there first
    except OSError:
        if _trusted_copy(shared, contents):
            shutil.rmtree(staging, ignore_errors=True)
            return shared
        atexit.register(shutil.rmtree, staging, True)
        return staging
    return shared


def _trusted_copy(path: str, contents: dict[str, bytes]) -> bool:
    """`path` holds exactly these files, and only we could have written them."""
    try:
        for target in (path, *(os.path.join(path, n) for n in contents)):
            info = os.lstat(target)
            if info.st_uid != os.geteuid() or info.st_mode & 0o022 or stat.S_ISLNK(info.st_mode):
                return False
        return all(Path(path, n).read_bytes() == data for n, data in contents.items())
    except OSError:
        return False


def _base_env(home: str, tmp: str, extra: dict[str, str]) -> dict[str, str]:
    """The worker's whole environment: an allowlist, never a copy of the host's."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": tmp, "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.update(extra)
    return env


# --- launch plans ---------------------------------------------------------------------------


def plan(tier: str, limits: Limits, *, tools: list[dict[str, Any]], files: str | None = None,
         env: dict[str, str] | None = None, cmd_fd: int, msg_fd: int) -> LaunchPlan:
    python, prefixes = sandbox_python()
    config: dict[str, Any] = {"tier": tier, "limits": limits.to_json(), "tools": tools}
    if tier == "bwrap":
        return _plan_bwrap(python, prefixes, config, limits, files, env or {}, cmd_fd, msg_fd)
    return _plan_direct(tier, python, config, limits, files, env or {}, cmd_fd, msg_fd)


def _plan_bwrap(python: str, prefixes: tuple[str, ...], config: dict[str, Any], limits: Limits, files: str | None,
                env: dict[str, str], cmd_fd: int, msg_fd: int) -> LaunchPlan:
    argv = [_bwrap_path(), *_bwrap_isolation(), *_system_mounts()]
    for prefix in prefixes:
        argv += ["--ro-bind", prefix, prefix]
    argv += ["--ro-bind", worker_dir(), SANDBOX_WORKER_DIR,
             "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp",
             "--size", str(limits.disk_mb << 20), "--tmpfs", SANDBOX_WORKDIR]
    if files:
        argv += ["--ro-bind", os.path.abspath(files), "/seed"]
        config["seed"] = "/seed"
    argv += ["--chdir", SANDBOX_WORKDIR]
    for key, value in _base_env(SANDBOX_WORKDIR, "/tmp", env).items():
        argv += ["--setenv", key, value]
    argv += ["--", python, "-I", "-B", f"{SANDBOX_WORKER_DIR}/main.py", str(cmd_fd), str(msg_fd)]
    config.update(workdir=SANDBOX_WORKDIR, seccomp=True,
                  landlock={"read_only": ["/"], "read_write": [SANDBOX_WORKDIR, "/tmp", "/dev/null"], "required": False})
    user = NOBODY if os.geteuid() == 0 else None
    return LaunchPlan("bwrap", argv, {"PATH": "/usr/bin:/bin"}, config, user=user)


def _bwrap_isolation() -> list[str]:
    return ["--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session", "--as-pid-1",
            "--cap-drop", "ALL", "--clearenv", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--remount-ro", "/dev"]  # a writable /dev (or /dev/shm) would be a tmpfs with no size limit


def _system_mounts() -> list[str]:
    """Read-only /usr and what a dynamically linked Python needs from /etc; nothing else of the host."""
    argv = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = f"/{name}"
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives"):
        argv += ["--ro-bind-try", path, path]
    return argv


def _plan_direct(tier: str, python: str, config: dict[str, Any], limits: Limits, files: str | None,
                 env: dict[str, str], cmd_fd: int, msg_fd: int) -> LaunchPlan:
    base = tempfile.mkdtemp(prefix="agentzoo-sandbox-")
    work, tmp = os.path.join(base, "work"), os.path.join(base, "tmp")
    os.mkdir(work)
    os.mkdir(tmp)
    user = held = None
    if os.geteuid() == 0:
        # A landlock sandbox gets a uid of its own where it can (`uids`): its process limit is then its own.
        held = uids.lease(_tasks_of) if tier == "landlock" else None
        user = held.uid if held is not None else NOBODY
        os.chmod(base, 0o711)
        for path in (work, tmp):
            os.chown(path, user, user)
    config.update(workdir=work, seed=os.path.abspath(files) if files else None)
    if tier == "landlock":
        _, prefixes = sandbox_python()
        read_only = ["/usr", "/bin", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime", worker_dir(), *prefixes]
        if files:
            read_only.append(os.path.abspath(files))
        config.update(seccomp=True, landlock={"read_only": read_only, "read_write": [work, tmp, "/dev/null"],
                                              "required": True})
        # Without a user namespace the process limit counts every task of the sandbox user: with a uid of its
        # own that is this sandbox alone; as `nobody` or the host's user, other sandboxes' tasks too, so the
        # budget is what exists now plus this sandbox's (and sandboxes started later take from it).
        config["nproc"] = limits.processes if held is not None else \
            process_limit(user if user is not None else os.geteuid(), limits)
    else:
        config["nproc"] = process_limit(os.geteuid(), limits)
    argv = [python, "-I", "-B", os.path.join(worker_dir(), "main.py"), str(cmd_fd), str(msg_fd)]
    return LaunchPlan(tier, argv, _base_env(work, tmp, env), config, cwd=work, user=user, base_dir=base,
                      uid_lease=held)


def process_limit(uid: int, limits: Limits) -> int:
    """RLIMIT_NPROC for a sandbox whose tasks count with every other task of `uid`: those, plus its own
    `limits.processes`. The kernel counts threads as well as processes (each sandbox worker has several),
    so they are counted here too: counting processes alone, a landlock sandbox started beside a few others
    got a limit below the tasks that already existed, and its worker could not start its watchdog thread."""
    return _tasks_of(uid) + limits.processes


def _tasks_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:  # it ended meanwhile
                pass
    return count


@functools.cache
def _bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    return path


# --- the probe ------------------------------------------------------------------------------


def _confine_module() -> Any:
    spec = importlib.util.spec_from_file_location("_agentzoo_confine", os.path.join(worker_dir(), "confine.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _probe_bwrap() -> TierReport:
    try:
        path = _bwrap_path()
        python, prefixes = sandbox_python()
    except SandboxUnavailable as exc:
        return TierReport("bwrap", False, str(exc))
    argv = [path, *_bwrap_isolation(), *_system_mounts()]
    for prefix in prefixes:
        argv += ["--ro-bind", prefix, prefix]
    argv += ["--", python, "-I", "-c", "print('ok')"]
    user = NOBODY if os.geteuid() == 0 else None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, env={"PATH": "/usr/bin:/bin"},
                              user=user, group=user, extra_groups=[] if user is not None else None)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return TierReport("bwrap", False, f"bubblewrap could not be started: {exc}")
    if done.returncode != 0 or done.stdout.strip() != "ok":
        message = done.stderr.strip() or f"exit status {done.returncode}"
        hint = ""
        if "uid map" in message or "user namespace" in message.lower() or "Operation not permitted" in message:
            hint = (" (unprivileged user namespaces look disabled: check sysctl kernel.unprivileged_userns_clone, "
                    "user.max_user_namespaces, or the AppArmor restriction on Ubuntu 24.04)")
        return TierReport("bwrap", False, f"bubblewrap failed: {message}{hint}")
    return TierReport("bwrap", True, "user, pid, net, ipc and uts namespaces work",
                      {"bwrap": path, "python": python, "user": user if user is not None else os.geteuid()})


def _probe_landlock() -> TierReport:
    try:
        confine = _confine_module()
        python, _ = sandbox_python()
    except SandboxUnavailable as exc:
        return TierReport("landlock", False, str(exc))
    found = confine.probe()
    abi = found.get("landlock_abi", 0)
    if abi < MIN_LANDLOCK_ABI:
        why = "Landlock is not enabled in this kernel" if abi == 0 else f"Landlock ABI {abi} is older than 6"
        return TierReport("landlock", False, f"{why}; signal scoping needs ABI 6 (Linux 6.12 or later)", found)
    if not found.get("seccomp"):
        return TierReport("landlock", False, "seccomp filters are not available", found)
    own = os.geteuid() == 0 and uids.mapped()
    users = ("each sandbox runs as a uid of its own" if own else
             f"sandboxes share uid {NOBODY if os.geteuid() == 0 else os.geteuid()} and its process limit")
    return TierReport("landlock", True, f"Landlock ABI {abi} and seccomp work; {users}",
                      {**found, "python": python, "own_uids": own})


@functools.cache
def probe() -> tuple[TierReport, ...]:
    """Which tiers work here, strongest first. Cached: the answer does not change while we run."""
    unsafe = TierReport("unsafe", True, "always possible; resource limits only, no isolation: "
                                        "used only when asked for with allow_unsafe=True")
    return (_probe_bwrap(), _probe_landlock(), unsafe)


def choose(requested: str, allow_unsafe: bool) -> TierReport:
    """The tier to use, or `SandboxUnavailable` saying why none will do. Never degrades silently."""
    if requested not in (*TIERS, "auto"):
        raise SandboxUnavailable(f"unknown sandbox tier {requested!r}; choose one of auto, {', '.join(TIERS)}")
    reports = {r.name: r for r in probe()}
    if requested == "unsafe":
        if not allow_unsafe:
            raise SandboxUnavailable("tier 'unsafe' runs code without isolation; pass allow_unsafe=True "
                                     "(command line: --unsafe) to ask for it explicitly")
        return reports["unsafe"]
    if requested != "auto":
        report = reports[requested]
        if not report.available:
            raise SandboxUnavailable(f"sandbox tier {requested!r} does not work here: {report.reason}")
        return report
    for name in SAFE_TIERS:
        if reports[name].available:
            return reports[name]
    if allow_unsafe:
        return reports["unsafe"]
    why = "; ".join(f"{r.name}: {r.reason}" for r in reports.values() if r.name in SAFE_TIERS)
    raise SandboxUnavailable(f"no isolation tier works on this machine ({why}). Install bubblewrap, or pass "
                             "allow_unsafe=True (--unsafe) to run model-written code without isolation")
