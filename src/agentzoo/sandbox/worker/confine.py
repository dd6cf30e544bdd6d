"""Self-confinement for the sandbox worker: Landlock, a seccomp-BPF filter and rlimits.

The worker imports this file by path and calls it once, before any untrusted code runs.
It may run under a different interpreter than the host (e.g. /usr/bin/python3), so it is
stdlib only, imports nothing from agentzoo, and keeps to Python 3.9 syntax. Linux on
x86_64 and aarch64 only.

Constants come from the kernel UAPI headers, cited next to each group:
  include/uapi/linux/landlock.h, seccomp.h, filter.h, bpf_common.h, audit.h, prctl.h,
  sched.h, include/uapi/asm-generic/ioctls.h, arch/x86/entry/syscalls/syscall_64.tbl
  (x86_64 numbers) and include/uapi/asm-generic/unistd.h (aarch64 numbers).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import stat
import struct

# --- prctl(2), include/uapi/linux/prctl.h ------------------------------------------------
PR_GET_SECCOMP, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 21, 22, 38

# --- Landlock, include/uapi/linux/landlock.h (syscalls 444-446 on both arches) -----------
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
LANDLOCK_RESTRICT_SELF_TSYNC = 1 << 3  # ABI 8: apply to every thread of the process
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_ABI1 = (1 << 13) - 1  # bits 0-12: EXECUTE .. MAKE_SYM, all present since ABI 1
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
FS_FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
FS_READ_ONLY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

# --- seccomp, include/uapi/linux/{seccomp,filter,bpf_common,audit}.h ---------------------
SECCOMP_MODE_FILTER = 2  # for prctl(PR_SET_SECCOMP)
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 1, 1  # for seccomp(2)
SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
BPF_LD_W_ABS = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS
BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K = 0x05 | 0x10, 0x05 | 0x30, 0x05 | 0x40  # BPF_JMP | op | BPF_K
BPF_RET_K = 0x06
# struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }.
# Both supported arches are little-endian, so an argument's low 32 bits sit at its offset.
OFF_NR, OFF_ARCH, OFF_ARG0, OFF_ARG1 = 0, 4, 16, 24
X32_SYSCALL_BIT = 0x40000000  # arch/x86/include/uapi/asm/unistd.h
# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
# | CLONE_NEWNET, include/uapi/linux/sched.h
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
TIOCSTI, TIOCLINUX = 0x5412, 0x541C  # include/uapi/asm-generic/ioctls.h (both inject tty input)

# Syscalls numbered 424 and up are the same on every architecture.
_UNIFIED = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
            "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
            "clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442, "statmount": 457, "listmount": 458}
# arch: (AUDIT_ARCH_*, syscall numbers). AUDIT_ARCH = EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
ARCHES = {
    "x86_64": (0xC000003E, dict(_UNIFIED, **{  # arch/x86/entry/syscalls/syscall_64.tbl
        "ioctl": 16, "socket": 41, "clone": 56, "ptrace": 101, "setpgid": 109, "setsid": 112,
        "personality": 135, "pivot_root": 155, "chroot": 161, "acct": 163, "mount": 165,
        "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "init_module": 175,
        "delete_module": 176, "kexec_load": 246, "add_key": 248, "request_key": 249,
        "keyctl": 250, "unshare": 272, "perf_event_open": 298, "name_to_handle_at": 303,
        "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
        "process_vm_writev": 311, "finit_module": 313, "seccomp": 317,
        "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323})),
    "aarch64": (0xC00000B7, dict(_UNIFIED, **{  # include/uapi/asm-generic/unistd.h
        "ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41, "chroot": 51, "acct": 89,
        "personality": 92, "unshare": 97, "kexec_load": 104, "init_module": 105,
        "delete_module": 106, "ptrace": 117, "reboot": 142, "setpgid": 154, "setsid": 157,
        "socket": 198, "add_key": 217, "request_key": 218, "keyctl": 219, "clone": 220,
        "swapon": 224, "swapoff": 225, "perf_event_open": 241, "name_to_handle_at": 264,
        "open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270,
        "process_vm_writev": 271, "finit_module": 273, "seccomp": 277, "bpf": 280,
        "userfaultfd": 282, "kexec_file_load": 294})),
}
ARCHES["arm64"] = ARCHES["aarch64"]

# Answered with EPERM unconditionally. The new mount API (open_tree .. mount_setattr) and
# pidfd_getfd are here because they do what mount and ptrace/process_vm_readv do; listmount
# and statmount (Linux 6.8) because they read the mount table that Landlock keeps out of
# reach under /proc (the host's mount layout, on the landlock tier).
DENY_ALWAYS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "mount", "umount2",
    "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    "mount_setattr", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf",
    "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "personality", "open_by_handle_at", "name_to_handle_at",
    "statmount", "listmount",
)


class UnsupportedPlatform(RuntimeError):
    """This machine is not Linux on x86_64 or aarch64."""


_libc = None


def _syscall(name, *args):
    """Call libc `name` with integer/pointer args; return (result, errno)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    fn = getattr(_libc, name)
    ctypes.set_errno(0)
    result = fn(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return result, ctypes.get_errno()


def _check(result, err, what):
    if result < 0:
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _arch(arch=None):
    machine = arch or platform.machine()
    if platform.system() != "Linux" or machine not in ARCHES:
        raise UnsupportedPlatform(f"unsupported platform: {platform.system()} {machine}")
    return ARCHES[machine]


def _no_new_privs():
    # No setuid/file-capability gains across execve from here on; required by both
    # landlock_restrict_self(2) and seccomp(2) for a process without CAP_SYS_ADMIN.
    _check(*_syscall("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is missing or disabled.

    Decides which access rights apply_landlock() can ask for.
    """
    try:
        _arch()
    except UnsupportedPlatform:
        return 0
    version, _err = _syscall("syscall", SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return version if version > 0 else 0  # ENOSYS: not built in; EOPNOTSUPP: disabled at boot


def apply_landlock(read_only: list[str], read_write: list[str], *, list_only: list[str] = (),
                   deny_tcp: bool = True, scope_signals: bool = True, scope_abstract_unix: bool = True) -> dict:
    """Restrict this process and its future children to the given paths, for good.

    Reads/executes are allowed only beneath `read_only` and `read_write`; writes, creates,
    removes, truncates and device ioctls only beneath `read_write`; beneath `list_only`,
    folders may be listed but no file read (Landlock cannot take back a right it granted on
    a parent folder, so this is how part of a tree stays closed). With deny_tcp (ABI 4+)
    every TCP bind/connect is refused; with the scopes (ABI 6+) the code can neither signal
    nor reach abstract unix sockets of processes outside its domain (e.g. kill its parent).
    Missing paths are skipped. Returns what was applied; abi 0 when Landlock is unavailable.
    """
    _no_new_privs()
    abi = landlock_abi()
    report = {"abi": abi, "fs": False, "net_tcp": False, "scope_signal": False,
              "scope_abstract_unix": False, "skipped": []}
    if abi == 0:
        return report
    fs = FS_ABI1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0) \
        | (FS_IOCTL_DEV if abi >= 5 else 0)
    net = NET_BIND_TCP | NET_CONNECT_TCP if deny_tcp and abi >= 4 else 0
    scoped = 0
    if abi >= 6:
        scoped = (SCOPE_SIGNAL if scope_signals else 0) | (SCOPE_ABSTRACT_UNIX_SOCKET if scope_abstract_unix else 0)
    # struct landlock_ruleset_attr { __u64 handled_access_fs, handled_access_net, scoped; },
    # cut to the fields this ABI knows (older kernels reject a larger struct with E2BIG).
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    attr = ctypes.create_string_buffer(struct.pack("=QQQ", fs, net, scoped)[:size], size)
    ruleset = _check(*_syscall("syscall", SYS_LANDLOCK_CREATE_RULESET, attr, size, 0), "landlock_create_ruleset")
    try:
        for paths, rights in ((read_only, FS_READ_ONLY), (read_write, fs), (list_only, FS_READ_DIR)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except (FileNotFoundError, NotADirectoryError):
                    report["skipped"].append(path)
                    continue
                try:  # a rule on a file may only carry the rights that apply to files
                    allowed = rights if stat.S_ISDIR(os.fstat(fd).st_mode) else rights & FS_FILE_ONLY
                    # struct landlock_path_beneath_attr { __u64 allowed_access; __s32 parent_fd; } packed
                    rule = ctypes.create_string_buffer(struct.pack("=Qi", allowed, fd), 12)
                    _check(*_syscall("syscall", SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH,
                                     rule, 0), f"landlock_add_rule({path!r})")
                finally:
                    os.close(fd)
        flags = LANDLOCK_RESTRICT_SELF_TSYNC if abi >= 8 else 0  # before ABI 8: calling thread only
        _check(*_syscall("syscall", SYS_LANDLOCK_RESTRICT_SELF, ruleset, flags), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    report.update(fs=True, net_tcp=bool(net), scope_signal=bool(scoped & SCOPE_SIGNAL),
                  scope_abstract_unix=bool(scoped & SCOPE_ABSTRACT_UNIX_SOCKET))
    return report


def _insn(code, k, jt=0, jf=0):
    return struct.pack("=HBBI", code, jt, jf, k)  # struct sock_filter (include/uapi/linux/filter.h)


def seccomp_program(*, deny_sockets: bool = True, deny_session: bool = True, arch: str | None = None) -> bytes:
    """A classic-BPF seccomp filter that blocks the kernel surfaces a sandbox must not touch.

    Wrong audit arch (and x32 on x86_64) kills the process, so no other syscall table can
    be used to dodge the numbers below. Denied calls fail with EPERM; clone3 fails with
    ENOSYS so glibc falls back to clone, whose flags (unlike clone3's, which live in
    memory) can be checked for namespace creation. Everything else is allowed.
    `arch` defaults to this machine (x86_64 or aarch64).
    """
    audit_arch, nrs = _arch(arch)
    deny_eperm = SECCOMP_RET_ERRNO | errno.EPERM
    names = list(DENY_ALWAYS)
    if deny_sockets:
        names.append("socket")  # any domain; socketpair stays allowed
    if deny_session:
        names += ["setsid", "setpgid"]  # stay in the host's process group
    prog = [_insn(BPF_LD_W_ABS, OFF_ARCH), _insn(BPF_JEQ_K, audit_arch, jt=1),
            _insn(BPF_RET_K, SECCOMP_RET_KILL_PROCESS), _insn(BPF_LD_W_ABS, OFF_NR)]
    if audit_arch == ARCHES["x86_64"][0]:
        prog += [_insn(BPF_JGE_K, X32_SYSCALL_BIT, jf=1), _insn(BPF_RET_K, SECCOMP_RET_KILL_PROCESS)]
    for name in names:
        prog += [_insn(BPF_JEQ_K, nrs[name], jf=1), _insn(BPF_RET_K, deny_eperm)]
    # ioctl(fd, TIOCSTI|TIOCLINUX, ...): the kernel takes `cmd` as unsigned int, so the low
    # 32 bits are exactly what it will act on.
    prog += [_insn(BPF_JEQ_K, nrs["ioctl"], jf=5), _insn(BPF_LD_W_ABS, OFF_ARG1),
             _insn(BPF_JEQ_K, TIOCSTI, jt=2), _insn(BPF_JEQ_K, TIOCLINUX, jt=1),
             _insn(BPF_RET_K, SECCOMP_RET_ALLOW), _insn(BPF_RET_K, deny_eperm)]
    # clone(flags, ...): flags are argument 0 on both arches; all CLONE_NEW* are in the low word.
    prog += [_insn(BPF_JEQ_K, nrs["clone"], jf=4), _insn(BPF_LD_W_ABS, OFF_ARG0),
             _insn(BPF_JSET_K, CLONE_NAMESPACE_FLAGS, jt=1),
             _insn(BPF_RET_K, SECCOMP_RET_ALLOW), _insn(BPF_RET_K, deny_eperm)]
    prog += [_insn(BPF_JEQ_K, nrs["clone3"], jf=1), _insn(BPF_RET_K, SECCOMP_RET_ERRNO | errno.ENOSYS),
             _insn(BPF_RET_K, SECCOMP_RET_ALLOW)]
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]  # struct sock_fprog


def apply_seccomp(program: bytes) -> None:
    """Install `program` as a seccomp filter on every thread of this process, for good.

    Uses seccomp(2) with SECCOMP_FILTER_FLAG_TSYNC so threads already running are covered
    too; falls back to prctl(PR_SET_SECCOMP) (calling thread only) on kernels without it.
    """
    _audit_arch, nrs = _arch()
    if not program or len(program) % 8:
        raise ValueError("a seccomp program is a non-empty sequence of 8-byte instructions")
    _no_new_privs()
    # Both ctypes objects stay referenced until the call returns; the kernel copies the filter.
    insns = ctypes.create_string_buffer(bytes(program), len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(insns, ctypes.c_void_p))
    result, err = _syscall("syscall", nrs["seccomp"], SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                           ctypes.byref(fprog))
    if result == -1 and err == errno.ENOSYS:
        result, err = _syscall("prctl", PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0)
    elif result > 0:  # TSYNC: the id of a thread that could not be synchronised
        raise OSError(errno.EBUSY, f"seccomp: thread {result} could not take the filter")
    _check(result, err, "seccomp(SECCOMP_SET_MODE_FILTER)")


def set_limits(*, cpu_seconds: int, memory_bytes: int, file_size_bytes: int, open_files: int,
               processes: int) -> dict:
    """Cap CPU time, address space, file size, open files and processes; forbid core dumps.

    Soft = hard, except CPU whose hard limit is one second later so SIGXCPU arrives before
    SIGKILL. No limit is raised above its current hard value. SIGXFSZ is ignored so that an
    oversized write fails with OSError(EFBIG) instead of killing the worker.
    Returns {name: [soft, hard]} as actually set.
    """
    wanted = [("cpu_seconds", resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1),
              ("memory_bytes", resource.RLIMIT_AS, memory_bytes, memory_bytes),
              ("file_size_bytes", resource.RLIMIT_FSIZE, file_size_bytes, file_size_bytes),
              ("open_files", resource.RLIMIT_NOFILE, open_files, open_files),
              ("processes", resource.RLIMIT_NPROC, processes, processes),
              ("core", resource.RLIMIT_CORE, 0, 0)]
    applied = {}
    for name, which, soft, hard in wanted:
        if soft < 0 or (name == "cpu_seconds" and soft < 1):
            raise ValueError(f"{name} must be positive, got {soft}")
        current_hard = resource.getrlimit(which)[1]
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
        applied[name] = [soft, hard]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return applied


def probe() -> dict:
    """What confinement this machine offers, without applying any of it."""
    machine = platform.machine()
    try:
        _arch()
        supported = True
        seccomp = _syscall("prctl", PR_GET_SECCOMP, 0, 0, 0, 0)[0] >= 0  # EINVAL: no CONFIG_SECCOMP
    except UnsupportedPlatform:
        supported = seccomp = False
    return {"landlock_abi": landlock_abi(), "seccomp": seccomp, "arch": machine, "arch_supported": supported}
