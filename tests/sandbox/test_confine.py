"""The worker's self-confinement (src/agentzoo/sandbox/worker/confine.py).

Everything that confines runs in a child interpreter: each test writes a short script that
loads confine.py by path, applies one thing, tries forbidden and allowed operations and
prints the outcomes as JSON.
"""

from __future__ import annotations

import ast
import errno
import importlib.util
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CONFINE_PATH = Path(__file__).resolve().parents[2] / "src" / "agentzoo" / "sandbox" / "worker" / "confine.py"


def _load():
    spec = importlib.util.spec_from_file_location("confine_under_test", CONFINE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


confine = _load()  # only its pure functions are called in the pytest process
LANDLOCK_ABI = confine.landlock_abi()
PROBE = confine.probe()

needs_landlock = pytest.mark.skipif(LANDLOCK_ABI == 0, reason="kernel without Landlock (landlock_abi() == 0)")
needs_seccomp = pytest.mark.skipif(not PROBE["seccomp"], reason=f"no seccomp filter support here: {PROBE}")

PRELUDE = f"""
import ctypes, errno, importlib.util, json, os, resource, socket, subprocess, sys, threading
spec = importlib.util.spec_from_file_location("confine", {str(CONFINE_PATH)!r})
confine = importlib.util.module_from_spec(spec)
spec.loader.exec_module(confine)
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def attempt(fn):
    try:
        return {{"ok": True, "value": fn()}}
    except BaseException as exc:
        return {{"ok": False, "error": type(exc).__name__, "errno": getattr(exc, "errno", None)}}

def raw(fn, *args):
    ctypes.set_errno(0)
    result = fn(*args)
    return [result, ctypes.get_errno()]

def write(path, data="x"):
    with open(path, "w") as f:
        f.write(data)

def read(path):
    with open(path) as f:
        return len(f.read())
"""


def run_child(body: str, **values) -> dict:
    """Run PRELUDE + body in a fresh interpreter; `values` become globals; return its JSON."""
    script = PRELUDE + "".join(f"{k} = {v!r}\n" for k, v in values.items()) + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def denied(outcome: dict) -> bool:
    return not outcome["ok"] and outcome["error"] == "PermissionError"


# --- the module itself ---------------------------------------------------------------------

def test_module_is_stdlib_only_and_python39_syntax():
    source = CONFINE_PATH.read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "ctypes", "errno", "os", "platform", "resource", "signal", "stat", "struct"}
    assert len(source.splitlines()) < 330


def test_probe_reports_without_applying():
    assert set(PROBE) >= {"landlock_abi", "seccomp", "arch"}
    assert PROBE["landlock_abi"] == LANDLOCK_ABI >= 0
    out = run_child("""
        print(json.dumps({"probe": confine.probe(), "status": open("/proc/self/status").read()}))
    """)
    assert out["probe"]["arch"] == PROBE["arch"]
    assert re.search(r"^Seccomp:\s+0$", out["status"], re.M)
    assert re.search(r"^NoNewPrivs:\s+0$", out["status"], re.M)


@pytest.mark.parametrize("arch, header", [
    ("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    ("aarch64", "/usr/include/asm-generic/unistd.h"),
])
def test_syscall_numbers_match_installed_kernel_headers(arch, header):
    if not os.path.exists(header):
        pytest.skip(f"{header} not installed (linux-libc-dev)")
    defined = {k: int(v) for k, v in re.findall(r"#define __NR_(\w+)\s+(\d+)\b", Path(header).read_text())
               if k != "syscalls"}
    table = confine.ARCHES[arch][1]
    # A call newer than the installed headers (numbered past their last) cannot be checked here.
    newest = max(defined.values())
    assert {name: nr for name, nr in table.items() if defined.get(name, nr if nr > newest else None) != nr} == {}


# --- the seccomp program, run on a small classic-BPF interpreter (both arches) --------------

def run_bpf(program: bytes, nr: int, arch: int, args=(0,) * 6) -> int:
    data = struct.pack("=iIQ6Q", nr, arch, 0, *args)
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # ld [k]
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code in (0x15, 0x35, 0x45):  # jeq / jge / jset #k
            hit = acc == k if code == 0x15 else acc >= k if code == 0x35 else bool(acc & k)
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:  # ret #k
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


ALLOW, KILL = 0x7FFF0000, 0x80000000
EPERM, ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_seccomp_program_decisions(arch):
    audit, nrs = confine.ARCHES[arch]
    other_audit = confine.ARCHES["aarch64" if arch == "x86_64" else "x86_64"][0]
    prog = confine.seccomp_program(arch=arch)
    assert len(prog) % 8 == 0
    for name in confine.DENY_ALWAYS + ("socket", "setsid", "setpgid"):
        assert run_bpf(prog, nrs[name], audit) == EPERM, name
    assert run_bpf(prog, nrs["clone3"], audit) == ENOSYS
    assert run_bpf(prog, nrs["clone"], audit, (0x11,) + (0,) * 5) == ALLOW  # plain fork: SIGCHLD
    assert run_bpf(prog, nrs["clone"], audit, (0x3D0F00,) + (0,) * 5) == ALLOW  # pthread flags
    for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000):
        assert run_bpf(prog, nrs["clone"], audit, (flag | 0x11,) + (0,) * 5) == EPERM, hex(flag)
    assert run_bpf(prog, nrs["ioctl"], audit, (1, 0x5412, 0, 0, 0, 0)) == EPERM  # TIOCSTI
    assert run_bpf(prog, nrs["ioctl"], audit, (1, 0x1_0000_5412, 0, 0, 0, 0)) == EPERM  # high bits ignored
    assert run_bpf(prog, nrs["ioctl"], audit, (1, 0x541C, 0, 0, 0, 0)) == EPERM  # TIOCLINUX
    assert run_bpf(prog, nrs["ioctl"], audit, (1, 0x5401, 0, 0, 0, 0)) == ALLOW  # TCGETS
    assert run_bpf(prog, nrs["seccomp"], audit) == ALLOW  # stacking more filters only restricts
    for nr in (0, 1, 3, 9, 63, 64, 199, 435 - 1, 444):  # read/write/... socketpair(199 aarch64)
        if nr not in {nrs[n] for n in confine.DENY_ALWAYS + ("socket", "setsid", "setpgid", "ioctl", "clone")}:
            assert run_bpf(prog, nr, audit) == ALLOW, nr
    assert run_bpf(prog, 0, other_audit) == KILL
    assert run_bpf(prog, 0, 0x40000003) == KILL  # i386
    x32_getpid = 0x40000000 | 39
    assert run_bpf(prog, x32_getpid, audit) == (KILL if arch == "x86_64" else ALLOW)

    relaxed = confine.seccomp_program(deny_sockets=False, deny_session=False, arch=arch)
    for name in ("socket", "setsid", "setpgid"):
        assert run_bpf(relaxed, nrs[name], audit) == ALLOW, name
    assert run_bpf(relaxed, nrs["ptrace"], audit) == EPERM


def test_seccomp_program_refuses_unknown_arch():
    with pytest.raises(confine.UnsupportedPlatform):
        confine.seccomp_program(arch="riscv64")


# --- seccomp, applied --------------------------------------------------------------------

@needs_seccomp
def test_seccomp_blocks_escapes_and_keeps_processes_and_threads():
    nrs = confine.ARCHES[PROBE["arch"]][1]
    out = run_child("""
        r, w = os.pipe()
        clone_flags = 0x10000000 | 17  # CLONE_NEWUSER | SIGCHLD
        before = {"clone3": raw(libc.syscall, NR_CLONE3, None, 0), "tiocsti": raw(libc.ioctl, r, 0x5412, b"x")}
        confine.apply_seccomp(confine.seccomp_program())
        res = {"before": before, "status": open("/proc/self/status").read()}
        res["socket"] = attempt(lambda: socket.socket().close())
        res["socketpair"] = attempt(lambda: [s.close() for s in socket.socketpair()] and None)
        res["setsid"] = attempt(os.setsid)
        res["setpgid"] = attempt(lambda: os.setpgid(0, 0))

        def fork():
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        res["fork"] = attempt(fork)

        def thread():
            seen = []
            t = threading.Thread(target=lambda: seen.append(threading.get_native_id()))
            t.start()
            t.join()
            return len(seen)
        res["thread"] = attempt(thread)
        res["subprocess"] = attempt(lambda: subprocess.run(["true"]).returncode)
        res["unshare"] = raw(libc.unshare, 0x10000000)
        res["ptrace"] = raw(libc.ptrace, 0, 0, None, None)  # PTRACE_TRACEME
        res["clone_ns"] = raw(libc.syscall, NR_CLONE, clone_flags, 0, 0, 0, 0)
        if res["clone_ns"][0] == 0:
            os._exit(0)  # the filter failed and we are the child: leave at once
        res["clone3"] = raw(libc.syscall, NR_CLONE3, None, 0)
        res["tiocsti"] = raw(libc.ioctl, r, 0x5412, b"x")
        res["tiocsti_high"] = raw(libc.syscall, NR_IOCTL, r, ctypes.c_ulong(0x100005412), b"x")
        res["fionread"] = raw(libc.ioctl, r, 0x541B, ctypes.byref(ctypes.c_int()))
        res["io_uring"] = raw(libc.syscall, 425, 1, None)
        res["mount"] = raw(libc.mount, None, b"/nonexistent-confine-test", None, 0, None)  # else ENOENT
        print(json.dumps(res))
    """, NR_CLONE=nrs["clone"], NR_CLONE3=nrs["clone3"], NR_IOCTL=nrs["ioctl"])
    assert re.search(r"^Seccomp:\s+2$", out["status"], re.M)
    assert re.search(r"^NoNewPrivs:\s+1$", out["status"], re.M)
    assert denied(out["socket"])
    assert out["socketpair"]["ok"]
    assert denied(out["setsid"]) and denied(out["setpgid"])
    assert out["fork"] == {"ok": True, "value": 0}
    assert out["thread"] == {"ok": True, "value": 1}
    assert out["subprocess"] == {"ok": True, "value": 0}
    assert out["unshare"] == [-1, errno.EPERM]
    assert out["ptrace"] == [-1, errno.EPERM]
    assert out["clone_ns"] == [-1, errno.EPERM]
    # Without the filter, clone3(NULL, 0) is EINVAL and TIOCSTI on a pipe ENOTTY.
    assert out["before"]["clone3"][1] != errno.ENOSYS and out["clone3"] == [-1, errno.ENOSYS]
    assert out["before"]["tiocsti"] == [-1, errno.ENOTTY]
    assert out["tiocsti"] == [-1, errno.EPERM] and out["tiocsti_high"] == [-1, errno.EPERM]
    assert out["fionread"] == [0, 0]
    assert out["io_uring"] == [-1, errno.EPERM]
    assert out["mount"] == [-1, errno.EPERM]


@needs_seccomp
def test_seccomp_relaxed_keeps_sockets_and_sessions():
    out = run_child("""
        confine.apply_seccomp(confine.seccomp_program(deny_sockets=False, deny_session=False))
        print(json.dumps({"socket": attempt(lambda: socket.socket().close()),
                          "setsid": attempt(lambda: os.setsid() and None),
                          "unshare": raw(libc.unshare, 0x10000000)}))
    """)
    assert out["socket"]["ok"] and out["setsid"]["ok"]
    assert out["unshare"] == [-1, errno.EPERM]


@pytest.mark.skipif(PROBE["arch"] != "x86_64" or not PROBE["seccomp"], reason="x32 exists only on x86_64")
def test_seccomp_kills_the_process_on_x32_syscalls():
    script = PRELUDE + textwrap.dedent("""
        confine.apply_seccomp(confine.seccomp_program())
        print("filtered", flush=True)
        libc.syscall(0x40000000 | 39)  # x32 getpid
        print("survived", flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.stdout.split() == ["filtered"]
    assert proc.returncode == -signal.SIGSYS


def test_apply_seccomp_rejects_a_malformed_program():
    out = run_child("""
        print(json.dumps({"empty": attempt(lambda: confine.apply_seccomp(b"")),
                          "ragged": attempt(lambda: confine.apply_seccomp(b"1234567"))}))
    """)
    assert out["empty"]["error"] == out["ragged"]["error"] == "ValueError"


# --- Landlock --------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    """rw/, ro/ (with a file), other/, outside.txt, and lone files granted one by one."""
    for name in ("rw", "ro", "other"):
        (tmp_path / name).mkdir()
    (tmp_path / "ro" / "data.txt").write_text("read me")
    (tmp_path / "outside.txt").write_text("secret")
    (tmp_path / "lone_ro.txt").write_text("lone")
    (tmp_path / "lone_rw.txt").write_text("lone")
    return tmp_path


@pytest.fixture
def listener():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        yield srv.getsockname()[1]


LANDLOCK_BODY = """
    etc_file = next(p for p in ("/etc/hostname", "/etc/passwd") if os.path.exists(p))
    res = {"connect_before": attempt(lambda: socket.create_connection(("127.0.0.1", PORT), 5).close())}
    if FAKE_ABI is not None:
        confine.landlock_abi = lambda: FAKE_ABI  # act as an older kernel
    read_only = [sys.base_prefix, sys.prefix, "/usr", "/bin", "/lib", "/lib64", "/etc",
                 ROOT + "/ro", ROOT + "/lone_ro.txt", ROOT + "/does-not-exist"]
    res["report"] = confine.apply_landlock(read_only, [ROOT + "/rw", ROOT + "/lone_rw.txt"], **KW)
    res["write_rw"] = attempt(lambda: write(ROOT + "/rw/new.txt"))
    res["mkdir_rw"] = attempt(lambda: os.mkdir(ROOT + "/rw/sub"))
    res["unlink_rw"] = attempt(lambda: os.unlink(ROOT + "/rw/new.txt"))
    res["write_other"] = attempt(lambda: write(ROOT + "/other/new.txt"))
    res["write_ro"] = attempt(lambda: write(ROOT + "/ro/new.txt"))
    res["overwrite_ro"] = attempt(lambda: write(ROOT + "/ro/data.txt"))
    res["read_ro"] = attempt(lambda: read(ROOT + "/ro/data.txt"))
    res["read_etc"] = attempt(lambda: read(etc_file))
    res["read_outside"] = attempt(lambda: read(ROOT + "/outside.txt"))
    res["list_root"] = attempt(lambda: len(os.listdir(ROOT)))
    res["read_lone_ro"] = attempt(lambda: read(ROOT + "/lone_ro.txt"))
    res["write_lone_ro"] = attempt(lambda: write(ROOT + "/lone_ro.txt"))
    res["write_lone_rw"] = attempt(lambda: write(ROOT + "/lone_rw.txt", "changed"))
    res["child_write_other"] = attempt(lambda: subprocess.run(
        ["sh", "-c", "echo x > " + ROOT + "/other/child.txt"], stderr=subprocess.PIPE).returncode)
    res["child_write_rw"] = attempt(lambda: subprocess.run(
        ["sh", "-c", "echo x > " + ROOT + "/rw/child.txt"]).returncode)
    res["kill_parent"] = attempt(lambda: os.kill(os.getppid(), 0))
    res["connect"] = attempt(lambda: socket.create_connection(("127.0.0.1", PORT), 5).close())
    res["bind"] = attempt(lambda: socket.socket().bind(("127.0.0.1", 0)))
    print(json.dumps(res))
"""


def run_landlocked(tree, port, fake_abi=None, **kw) -> dict:
    return run_child(LANDLOCK_BODY, ROOT=str(tree), PORT=port, FAKE_ABI=fake_abi, KW=kw)


@needs_landlock
def test_landlock_confines_files_network_and_signals(tree, listener):
    out = run_landlocked(tree, listener)
    abi = LANDLOCK_ABI
    assert out["report"] == {"abi": abi, "fs": True, "net_tcp": abi >= 4, "scope_signal": abi >= 6,
                             "scope_abstract_unix": abi >= 6, "skipped": [str(tree / "does-not-exist")]}
    assert out["connect_before"]["ok"]
    for allowed in ("write_rw", "mkdir_rw", "unlink_rw", "read_ro", "read_etc", "read_lone_ro", "write_lone_rw"):
        assert out[allowed]["ok"], (allowed, out[allowed])
    for refused in ("write_other", "write_ro", "overwrite_ro", "read_outside", "list_root", "write_lone_ro"):
        assert denied(out[refused]), (refused, out[refused])
    assert (tree / "lone_rw.txt").read_text() == "changed"
    assert (tree / "ro" / "data.txt").read_text() == "read me"
    # The restriction is inherited by children, exec included.
    assert out["child_write_rw"] == {"ok": True, "value": 0} and (tree / "rw" / "child.txt").exists()
    assert out["child_write_other"]["value"] != 0 and not (tree / "other" / "child.txt").exists()
    if abi >= 6:
        assert denied(out["kill_parent"])
    if abi >= 4:
        assert denied(out["connect"]) and denied(out["bind"])


@needs_landlock
def test_landlock_options_off_leave_tcp_and_signals(tree, listener):
    out = run_landlocked(tree, listener, deny_tcp=False, scope_signals=False, scope_abstract_unix=False)
    assert out["report"]["fs"] and not out["report"]["net_tcp"] and not out["report"]["scope_signal"]
    assert out["kill_parent"]["ok"] and out["connect"]["ok"] and out["bind"]["ok"]
    assert denied(out["write_other"])


@needs_landlock
@pytest.mark.parametrize("fake_abi", [1, 2, 3, 4, 5, 6])
def test_landlock_older_abis_use_their_own_struct_and_rights(tree, listener, fake_abi):
    if fake_abi > LANDLOCK_ABI:
        pytest.skip(f"kernel ABI {LANDLOCK_ABI} cannot stand in for ABI {fake_abi}")
    out = run_landlocked(tree, listener, fake_abi=fake_abi)
    report = out["report"]
    assert (report["abi"], report["net_tcp"], report["scope_signal"]) == (fake_abi, fake_abi >= 4, fake_abi >= 6)
    assert out["write_rw"]["ok"] and out["write_lone_rw"]["ok"] and out["read_etc"]["ok"]
    assert denied(out["write_other"]) and denied(out["read_outside"])
    assert denied(out["connect"]) == (fake_abi >= 4)
    assert denied(out["kill_parent"]) == (fake_abi >= 6)


def test_landlock_unavailable_reports_abi_zero_without_raising(tree):
    out = run_child("""
        confine.landlock_abi = lambda: 0
        report = confine.apply_landlock(["/usr"], [ROOT])
        print(json.dumps({"report": report, "write": attempt(lambda: write(ROOT + "/other/x.txt"))}))
    """, ROOT=str(tree))
    assert out["report"] == {"abi": 0, "fs": False, "net_tcp": False, "scope_signal": False,
                             "scope_abstract_unix": False, "skipped": []}
    assert out["write"]["ok"]


# --- rlimits -------------------------------------------------------------------------------

def test_set_limits_memory_file_size_and_reports(tmp_path):
    out = run_child("""
        applied = confine.set_limits(cpu_seconds=30, memory_bytes=512 << 20, file_size_bytes=1 << 20,
                                     open_files=64, processes=50)
        res = {"applied": applied}
        res["memory"] = attempt(lambda: len("a" * (10 ** 9)))
        res["small_alloc"] = attempt(lambda: len("a" * (10 ** 7)))
        res["big_write"] = attempt(lambda: write(ROOT + "/big.bin", "x" * (2 << 20)))
        res["small_write"] = attempt(lambda: write(ROOT + "/small.bin", "x" * 1000))
        files = []
        def open_many():
            for _ in range(100):
                files.append(open(ROOT + "/small.bin"))
        res["open_many"] = attempt(open_many)
        for f in files:
            f.close()
        res["now"] = {n: list(resource.getrlimit(getattr(resource, "RLIMIT_" + n)))
                      for n in ("CPU", "AS", "FSIZE", "NOFILE", "NPROC", "CORE")}
        print(json.dumps(res))
    """, ROOT=str(tmp_path))
    assert out["applied"] == {"cpu_seconds": [30, 31], "memory_bytes": [512 << 20] * 2,
                              "file_size_bytes": [1 << 20] * 2, "open_files": [64, 64],
                              "processes": [50, 50], "core": [0, 0]}
    assert out["now"] == {"CPU": [30, 31], "AS": [512 << 20] * 2, "FSIZE": [1 << 20] * 2,
                          "NOFILE": [64, 64], "NPROC": [50, 50], "CORE": [0, 0]}
    assert out["memory"]["error"] == "MemoryError"
    assert out["small_alloc"]["ok"]
    assert out["big_write"]["error"] == "OSError" and out["big_write"]["errno"] == errno.EFBIG
    assert (tmp_path / "big.bin").stat().st_size <= 1 << 20
    assert out["small_write"]["ok"]
    assert out["open_many"]["error"] == "OSError" and out["open_many"]["errno"] == errno.EMFILE


def test_set_limits_never_raises_a_hard_limit():
    out = run_child("""
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
        resource.setrlimit(resource.RLIMIT_CPU, (10, 10))
        applied = confine.set_limits(cpu_seconds=60, memory_bytes=1 << 30, file_size_bytes=1 << 20,
                                     open_files=1000, processes=100)
        print(json.dumps({"applied": applied, "bad": attempt(lambda: confine.set_limits(
            cpu_seconds=0, memory_bytes=1, file_size_bytes=1, open_files=1, processes=1))}))
    """)
    assert out["applied"]["open_files"] == [32, 32]
    assert out["applied"]["cpu_seconds"] == [10, 10]
    assert out["bad"]["error"] == "ValueError"
