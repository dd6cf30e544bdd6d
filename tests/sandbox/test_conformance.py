"""Conformance: hostile, model-written code against every safe sandbox tier on this machine.

Each row of `CASES` is one kind of attack from the issue's list, written the way people really
try it. Every row runs in every safe tier (`bwrap`, `landlock`; a tier the probe rejects is
skipped with its reason) and is held to the same four promises:

1. the host is unaffected: no file of the host was written, changed or removed, no secret of the
   host (its environment, a `~/.ssh`-like key) appears anywhere in what came back, no listener of
   the host got a connection or a datagram, no host process was killed or stopped, and another
   sandbox running beside it on the same host (same tier, same user) keeps its state;
2. no process started by the code survives the step (found from the host by session id, which
   the code cannot change, and by a marker the attacks put in the argv of what they start);
3. the agent loop continues: `execute` returns an `ExecResult`, it never raises, and it returns
   in bounded time;
4. the next action runs: `print("alive")` prints `alive`; a variable defined before the attack is
   still there unless the worker was killed, in which case `state_lost` is True and the next
   action runs in a fresh interpreter; and an action that raises reports its own error (so no
   stale protocol message was left behind to be mistaken for the next action's result).

Rows add their own checks (an output cap, a disk budget, that an attack really ran). The
introspection escapes are expected to *work* inside the sandbox; what they then try against
the host is what must fail.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio

from agentzoo.sandbox import ExecResult, Limits, Sandbox, probe
from agentzoo.sandbox.host import GRACE_SECONDS, OUTPUT_SETTLE_SECONDS
from agentzoo.sandbox.tiers import NOBODY, SAFE_TIERS

# Alone: the attacks that exhaust the sandbox user's processes must not meet another test's sandboxes.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.alone]

LIMITS = Limits(wall_seconds=3, cpu_seconds=3, memory_mb=512, disk_mb=32, tmp_mb=16, processes=32,
                output_bytes=50_000)
SHORT = 1.5  # the `timeout=` of rows that are meant to run out of time
SECRET_NAME = "AGENTZOO_TEST_SECRET"
VICTIM_TEXT = "the host's own file; nothing in the sandbox may change it\n"
SLEEPER = "import time; time.sleep(1000)"


# --- the host the attacks aim at ------------------------------------------------------------


@dataclasses.dataclass
class Host:
    """What the code attacks: files, secrets, listeners and processes of the host."""

    canary_dir: str             # world-writable: only the sandbox can keep the code out
    victim: str                 # a world-writable file in it that must keep its content
    ssh_dir: str                # a fake `~/.ssh`, world-readable: only the sandbox protects it
    ssh_key: str
    secrets: dict[str, str]     # what must never appear in any result
    tcp: list[socket.socket]
    udp: list[socket.socket]
    unix: list[socket.socket]
    tcp_port: int
    udp_port: int
    unix_path: str
    abstract_name: str
    addresses: list[str]        # the host's own non-loopback addresses
    bystanders: list[subprocess.Popen]  # one root and one `nobody` process the code must not kill
    neighbour_pids: list[int] = dataclasses.field(default_factory=list)  # the other sandbox's processes
    snapshot: dict[str, Any] = dataclasses.field(default_factory=dict)

    def header(self, marker: str) -> str:
        """Literals the attack code uses (never the secret values), and a `report` helper."""
        values = dict(CANARY_DIR=self.canary_dir, VICTIM=self.victim, SSH_DIR=self.ssh_dir, SSH_KEY=self.ssh_key,
                      SECRET_NAME=SECRET_NAME, HOST_PID=os.getpid(),
                      BYSTANDERS=[p.pid for p in self.bystanders] + self.neighbour_pids,
                      HOST_ADDRS=self.addresses, TCP_PORT=self.tcp_port, UDP_PORT=self.udp_port,
                      UNIX_SOCKET=self.unix_path, ABSTRACT_SOCKET="\0" + self.abstract_name, MARKER=marker,
                      SLEEPER=SLEEPER)
        lines = [f"{name} = {value!r}" for name, value in values.items()]
        return "\n".join(lines) + textwrap.dedent('''

            def report(what, fn):
                """Try one harmful thing; print DONE and what it gave, or BLOCKED and why not."""
                try:
                    value = fn()
                except BaseException as exc:
                    print(f"BLOCKED {what}: {type(exc).__name__}: {exc}"[:2000], flush=True)
                else:
                    print(f"DONE {what}: {value!r}"[:2000], flush=True)

        ''')

    def take_snapshot(self) -> dict[str, Any]:
        def files(root: str) -> dict[str, tuple[int, bytes]]:
            out = {}
            for path in glob.glob(os.path.join(root, "**"), recursive=True):
                st = os.lstat(path)
                data = open(path, "rb").read() if os.path.isfile(path) and not os.path.islink(path) else b""
                out[os.path.relpath(path, root)] = (st.st_mode, data)
            return out

        return {"canary": files(self.canary_dir), "ssh": files(self.ssh_dir)}

    def harm(self, marker: str, results: list[ExecResult]) -> list[str]:
        """Everything the code did to the host, as sentences; empty when it did nothing."""
        found = []
        now = self.take_snapshot()
        for key in ("canary", "ssh"):
            if now[key] != self.snapshot[key]:
                found.append(f"host directory {key} changed: {self.snapshot[key]} -> {now[key]}")
        for place in ("/tmp", "/var/tmp", "/dev/shm", "/root", "/", "/etc", os.getcwd(), self.canary_dir):
            hits = glob.glob(os.path.join(place, f"*{marker}*")) + glob.glob(os.path.join(place, f".*{marker}*"))
            if hits:
                found.append(f"host files were created: {hits}")
        blob = json.dumps([r.to_json() for r in results])
        for name, value in self.secrets.items():
            if value in blob:
                found.append(f"the host's {name} appeared in what the sandbox returned")
        for s in self.tcp + self.unix:
            while True:
                try:
                    conn, addr = s.accept()
                except (BlockingIOError, InterruptedError):
                    break
                conn.close()
                found.append(f"a host listener {s.getsockname()!r} accepted a connection from {addr!r}")
        for s in self.udp:
            while True:
                try:
                    data, addr = s.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                found.append(f"the host's UDP port got {data[:40]!r} from {addr!r}")
        for proc in self.bystanders:
            state = _proc_state(proc.pid)
            if proc.poll() is not None or state in (None, "T", "t", "Z", "X"):
                found.append(f"host process {proc.pid} ({proc.args}) was hurt: returncode {proc.returncode}, "
                             f"state {state}")
        return found


def _host_addresses() -> list[str]:
    addresses = set()
    try:  # the address of the default route; connect() on UDP sends nothing
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            addresses.add(s.getsockname()[0])
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addresses.add(info[4][0])
    except OSError:
        pass
    return sorted(a for a in addresses if not a.startswith("127."))


def _listener(kind: int) -> socket.socket:
    """A non-blocking TCP or UDP socket on every host address, IPv4 and IPv6 where possible."""
    try:
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
    except OSError:
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("0.0.0.0", 0))
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    s.setblocking(False)
    return s


@pytest.fixture(scope="module")
def host():
    base = tempfile.mkdtemp(prefix="agentzoo-conformance-")
    os.chmod(base, 0o755)
    canary = os.path.join(base, "canary")
    os.mkdir(canary)
    os.chmod(canary, 0o777)
    victim = os.path.join(canary, "victim.txt")
    with open(victim, "w") as f:
        f.write(VICTIM_TEXT)
    os.chmod(victim, 0o666)
    ssh_dir = os.path.join(base, "home", ".ssh")
    os.makedirs(ssh_dir)
    os.chmod(os.path.dirname(ssh_dir), 0o755)
    os.chmod(ssh_dir, 0o755)
    ssh_secret = "agentzoo-ssh-" + secrets.token_hex(16)
    ssh_key = os.path.join(ssh_dir, "id_ed25519")
    with open(ssh_key, "w") as f:
        f.write(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{ssh_secret}\n-----END OPENSSH PRIVATE KEY-----\n")
    os.chmod(ssh_key, 0o644)
    env_secret = "agentzoo-env-" + secrets.token_hex(16)
    found_secrets = {"environment secret": env_secret, "fake ~/.ssh key": ssh_secret}
    for path in glob.glob("/root/.ssh/*"):  # the real one, if this machine has it
        try:
            lines = [ln.strip() for ln in open(path, errors="replace") if len(ln.strip()) >= 24]
        except OSError:
            continue
        for i, line in enumerate(lines[:20]):
            found_secrets[f"{path} line {i}"] = line

    unix_path = os.path.join(canary, "host.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    os.chmod(unix_path, 0o777)
    abstract_name = f"agentzoo-conformance-{secrets.token_hex(6)}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + abstract_name)
    for s in (unix, abstract):
        s.listen(16)
        s.setblocking(False)
    tcp, udp = _listener(socket.SOCK_STREAM), _listener(socket.SOCK_DGRAM)
    as_nobody = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}
    bystanders = [subprocess.Popen(["sleep", "1000"], start_new_session=True),
                  subprocess.Popen(["sleep", "1000"], start_new_session=True, **as_nobody)]
    state = Host(canary_dir=canary, victim=victim, ssh_dir=ssh_dir, ssh_key=ssh_key, secrets=found_secrets,
                 tcp=[tcp], udp=[udp], unix=[unix, abstract], tcp_port=tcp.getsockname()[1],
                 udp_port=udp.getsockname()[1], unix_path=unix_path, abstract_name=abstract_name,
                 addresses=_host_addresses(), bystanders=bystanders)
    state.snapshot = state.take_snapshot()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_NAME, env_secret)  # before any sandbox starts
        yield state
    for proc in bystanders:
        proc.kill()
        proc.wait()
    for s in (tcp, udp, unix, abstract):
        s.close()
    shutil.rmtree(base, ignore_errors=True)


REPORTS = {report.name: report for report in probe()}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=SAFE_TIERS)
async def sandbox(request, host):
    name = request.param
    report = REPORTS[name]
    if not report.available:
        pytest.skip(f"tier {name} unavailable: {report.reason}")
    sb = Sandbox(tier=name, limits=LIMITS)
    await sb.start()
    assert sb.tier == name
    yield sb
    await sb.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def neighbour(sandbox, host):
    """Another sandbox of the same tier on the same host, as the same user: part of the host too.

    Its pids are among the BYSTANDERS the attacks try to kill.
    """
    before, _ = sandbox_processes(host)
    sb = Sandbox(tier=sandbox.tier, limits=LIMITS)
    await sb.start()
    setup = await sb.execute("neighbour_state = 'untouched'")
    assert setup.ok, setup.error
    host.neighbour_pids = sorted(sandbox_processes(host)[0] - before)
    assert host.neighbour_pids
    yield sb
    host.neighbour_pids = []
    await sb.close()


# --- the processes of a sandbox, seen from the host -----------------------------------------


def _proc_stat(pid: int | str) -> tuple[str, int, int] | None:
    """(state, ppid, session id) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[3])


def _proc_state(pid: int) -> str | None:
    stat = _proc_stat(pid)
    return stat[0] if stat else None


def _cmdline(pid: int | str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _table() -> dict[int, tuple[str, int, int]]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(entry)) is not None:
            table[int(entry)] = stat
    return table


def sandbox_processes(host: Host) -> tuple[frozenset[int], frozenset[int]]:
    """The sandbox's own processes (bwrap, the worker) and their session ids.

    The sandbox is everything this test process started except the bystanders. The code
    inherits the worker's session and cannot leave it (seccomp denies setsid and setpgid),
    so after an action, any other live process of those sessions was started by the code.
    """
    table = _table()
    ours = os.getpid()
    skip = {p.pid for p in host.bystanders}
    pids, frontier = set(), [ours]
    while frontier:
        parent = frontier.pop()
        for pid, (_, ppid, _) in table.items():
            if ppid == parent and pid not in skip and pid not in pids:
                pids.add(pid)
                frontier.append(pid)
    sessions = {table[pid][2] for pid in pids} - {os.getsid(0)}
    return frozenset(pids), frozenset(sessions)


def survivors(before: frozenset[int], sessions: frozenset[int], marker: str, wait: float = 1.0) -> list[str]:
    """Live processes the code started (by session or by marker), after a short grace."""
    needle = marker.encode()
    deadline = time.monotonic() + wait
    while True:
        found = []
        for pid, (state, _, sid) in _table().items():
            if state in ("Z", "X"):
                continue  # dead, waiting to be reaped
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    marked = needle in f.read()
            except OSError:
                marked = False
            if marked or (sid in sessions and pid not in before):
                found.append(f"pid {pid} state {state} session {sid}: {_cmdline(pid)[:200]}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


# --- expectations ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Expect:
    """What a row expects besides the four promises every row is held to."""

    timeout: float | None = None
    """`timeout=` for `execute` (None: the limits' wall clock)."""
    state: str = "any"
    """`kept`: the worker must survive the attack; `lost`: it must have been replaced; `any`."""
    errors: tuple[str, ...] | None = None
    """The error types the action may end with; None: any outcome; (): it must succeed."""
    printed: tuple[str, ...] = ()
    """Text the attack must have printed: proof that it really ran."""
    never: tuple[str, ...] = ()
    """Text that would mean an attack step worked (e.g. `DONE tcp`)."""
    max_seconds: float | None = None
    """How long `execute` may take (default: the wall clock, the grace and the output settling)."""
    extra: Callable[[ExecResult, Host], None] | None = None
    budget_now: bool = False
    """Landlock tier: start the worker again first. Run by a host that is not root, a sandbox has no uid of
    its own: its process limit counts every task of that uid and is set when it starts, so the sandboxes
    started since (the neighbour, other tests' pools) take from it; a row that needs processes of its own
    while it bombs counts them at its start."""

    def check(self, result: ExecResult, host: Host) -> None:
        if self.state == "kept":
            assert not result.state_lost, f"the worker should have survived this: {result.error}"
        elif self.state == "lost":
            assert result.state_lost, "the worker should have been replaced"
        kind = (result.error or {}).get("type")
        if self.errors is not None:
            if not self.errors:
                assert result.ok, f"the action should have run to its end: {result.error}"
            else:
                assert kind in self.errors, f"error {kind!r}, expected one of {self.errors}: {result.error}"
        for text in self.printed:
            assert text in result.stdout, (f"{text!r} not printed; error: {result.error}; "
                                           f"stdout: {result.stdout[-3000:]!r}; stderr: {result.stderr[-500:]!r}")
        for text in self.never:
            assert text not in result.stdout, f"{text!r} printed; stdout: {result.stdout[-3000:]!r}"
        if self.extra is not None:
            self.extra(result, host)

    def seconds(self) -> float:
        if self.max_seconds is not None:
            return self.max_seconds
        wall = self.timeout if self.timeout is not None else LIMITS.wall_seconds
        return wall + GRACE_SECONDS + OUTPUT_SETTLE_SECONDS + 1.0


def _capped(result: ExecResult, host: Host) -> None:
    cap = LIMITS.output_bytes
    for name in ("stdout", "stderr"):
        text, dropped = getattr(result, name), getattr(result, f"{name}_dropped")
        assert len(text.encode()) <= cap + 64, f"{name} holds {len(text.encode())} bytes, over the {cap} cap"
        assert dropped > 0, f"{name}: nothing was counted as dropped"


def _stdout_capped(result: ExecResult, host: Host) -> None:
    assert len(result.stdout.encode()) <= LIMITS.output_bytes + 64, len(result.stdout.encode())
    assert result.stdout_dropped > 0


def _no_host_mount_table(result: ExecResult, host: Host) -> None:
    """No line of the host's mount table comes back. A tier with its own /proc (bwrap) shows its own
    mounts, whose ids differ from every host mount's; the landlock tier, in the host's mount
    namespace, must not show any."""
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        seen = [line.strip() for line in f if line.strip() and line.strip() in result.stdout]
    assert not seen, "the host's mount table was read:\n" + "\n".join(seen[:5])
    if result.tier == "landlock":
        assert "DONE read" not in result.stdout, result.stdout[-3000:]


def _disk_budget(result: ExecResult, host: Host) -> None:
    if result.error and result.error["type"] == "DiskLimitExceeded":  # the host measured and killed it
        assert result.state_lost, result
        return
    assert result.ok, f"the attack did not finish: {result.error}"
    filled = re.findall(r"FILLED (\S+) (\d+) MiB (\S+)", result.stdout)
    assert len(filled) == 3, f"the attack did not finish; stdout: {result.stdout[-2000:]!r}; error {result.error}"
    budget = LIMITS.disk_mb + LIMITS.tmp_mb
    for where, mib, why in filled:
        assert int(mib) <= budget, f"wrote {mib} MiB to {where} ({why}): over the {budget} MiB disk budget"
        assert why in ("ENOSPC", "EDQUOT", "EFBIG", "EACCES", "EPERM", "EROFS"), f"{where}: stopped by {why}"


# --- the hostile code, one row per attack -----------------------------------------------------

C = textwrap.dedent

INTROSPECTION = [
    pytest.param(C('''
        # The classic jail break: every class, find os._wrap_close, take os from its globals.
        for cls in ().__class__.__bases__[0].__subclasses__():
            if cls.__name__ == "_wrap_close":
                g = cls.__init__.__globals__
                break
        print("reached", g["__name__"], "through", cls)
        report("system: write the host", lambda: g["system"](
            f"echo pwned > {CANARY_DIR}/{MARKER}; echo pwned > {VICTIM}; touch /tmp/{MARKER}"))
        report("popen: read ~/.ssh", lambda: g["popen"](f"cat {SSH_KEY} /root/.ssh/* 2>&1").read())
        report("popen: host environment", lambda: g["popen"](
            f"cat /proc/{HOST_PID}/environ /proc/1/environ 2>&1 | tr '\\\\0' '\\\\n'").read())
        pids = " ".join(map(str, [HOST_PID, *BYSTANDERS]))
        report("popen: kill the host", lambda: g["popen"](f"kill -9 {pids} 2>&1").read())
        report("popen: leave a process", lambda: g["popen"](f"python3 -c '{SLEEPER}' {MARKER} &"))
        print("ATTACK-END")
        '''), Expect(printed=("reached os", "ATTACK-END")), id="subclasses-os-wrap-close"),
    pytest.param(C('''
        # Find subprocess.Popen among the subclasses or, when it is not loaded yet, the
        # builtins of any Python-defined class's module, and import it with those.
        classes = ().__class__.__base__.__subclasses__()
        Popen = next((c for c in classes if c.__name__ == "Popen"), None)
        if Popen is None:
            for c in classes:
                g = getattr(c.__init__, "__globals__", None)
                if g and "__builtins__" in g:
                    b = g["__builtins__"]
                    importer = b["__import__"] if isinstance(b, dict) else b.__import__
                    break
            print("importing through", c)
            Popen = importer("subprocess").Popen
        shell = Popen(["/bin/sh", "-c", f"cp {SSH_KEY} {CANARY_DIR}/{MARKER}.key; rm -rf {CANARY_DIR}/*; "
                                        f"cat {SSH_KEY}"], stdout=-1, stderr=-2)
        print("shell said:", shell.communicate()[0][-2000:])
        Popen(["python3", "-c", SLEEPER, MARKER])
        print("ATTACK-END")
        '''), Expect(printed=("shell said:", "ATTACK-END")), id="subclasses-subprocess-popen"),
    pytest.param(C('''
        # A traceback's frame leads up into the worker: its globals (os, the confinement module)
        # and its own `self`, with the protocol channel and the limits.
        import sys
        try:
            1 / 0
        except ZeroDivisionError:
            frame = sys.exc_info()[2].tb_frame
        worker_globals = frame.f_back.f_globals
        print("worker globals:", sorted(k for k in worker_globals if not k.startswith("__")))
        wos = worker_globals["os"]
        report("worker os: write the host", lambda: wos.open(f"{CANARY_DIR}/{MARKER}", wos.O_CREAT | wos.O_WRONLY))
        report("worker os: truncate the host", lambda: wos.truncate(VICTIM, 0))
        report("worker os: read ~/.ssh", lambda: wos.read(wos.open(SSH_KEY, wos.O_RDONLY), 4096))
        report("worker os: kill the host", lambda: wos.kill(HOST_PID, 9))
        confine = worker_globals["confine"]
        report("raise my own limits", lambda: confine.set_limits(cpu_seconds=10**6, memory_bytes=2**60,
                                                                  file_size_bytes=2**60, open_files=10**6,
                                                                  processes=10**6))
        report("a wider Landlock layer", lambda: confine.apply_landlock(["/"], ["/"]))
        report("write after the wider layer", lambda: open(f"{CANARY_DIR}/{MARKER}", "w").write("x"))
        worker = frame.f_back.f_locals["self"]
        print("found the worker:", type(worker).__name__, "channel:", worker.channel, "config:", worker.config)
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("found the worker: Worker", "ATTACK-END")),
        id="traceback-frames-worker-globals"),
    pytest.param(C('''
        # Through the frames, switch off the worker's watchdog and ignore every signal it could
        # use, then spin: only the host's own deadline can end this.
        import signal, sys, threading
        frame = sys._getframe()
        while "self" not in frame.f_locals:
            frame = frame.f_back
        worker = frame.f_locals["self"]
        worker.limits["wall_seconds"] = 10**6
        worker.cpu_per_action = 10**6
        for thread in threading.enumerate():
            for name in ("disarm", "cancel"):  # the worker's watchdog, whatever its kind
                if thread is not threading.current_thread() and hasattr(thread, name):
                    getattr(thread, name)()
        for sig in (signal.SIGINT, signal.SIGXCPU, signal.SIGTERM, signal.SIGALRM):
            signal.signal(sig, signal.SIG_IGN)
        print("watchdog off", flush=True)
        while True:
            pass
        '''), Expect(timeout=SHORT, state="lost", errors=("TimeoutError",), printed=("watchdog off",),
                     max_seconds=SHORT + GRACE_SECONDS + 1.0), id="frames-disable-watchdog"),
    pytest.param(C('''
        # A running generator's frame points back at whoever called next(): from there up to the
        # worker, whose protocol channel we use to forge the end of this action, once plainly and
        # once with the action's own nonce, read from the worker's frame.
        def spy():
            yield probe.gi_frame.f_back
        probe = spy()
        frame = next(probe)
        worker = frame.f_back.f_locals["self"]
        print("worker module:", sorted(k for k in frame.f_back.f_globals if not k.startswith("__"))[:20])
        while "nonce" not in frame.f_locals:
            frame = frame.f_back
        worker.channel.send({"op": "done", "ok": True, "error": None, "answered": False, "answer": None,
                             "killed": 0, "stray_threads": 0})
        worker.channel.send({"op": "done", "nonce": frame.f_locals["nonce"], "ok": True, "error": None,
                             "answered": True, "answer": "forged"})
        import time
        time.sleep(0.3)
        print("still running after two forged `done`s")
        '''), Expect(), id="generator-frames-forge-protocol"),
    pytest.param(C('''
        # The protocol pipe is a file descriptor like any other: write garbage to it.
        import os, sys
        msg_fd = int(sys.argv[2])
        os.write(msg_fd, b"this is not JSON\\n")
        os.write(msg_fd, b'{"op": "call", "id": 1, "name": "no_such_tool", "args": {}}\\n')
        print("ATTACK-END")
        '''), Expect(), id="protocol-pipe-garbage"),
    pytest.param(C('''
        # str.format field paths read attributes (and items) without a single dot in the code.
        import warnings
        w = warnings.catch_warnings()
        print("{0.__class__.__init__.__globals__[sys].modules[os].environ}".format(w))
        print("{0.__globals__[os].environ}".format(final_answer))
        print("{0.__class__.__init__.__globals__}".format(w)[:500])
        print("{0.__globals__[Worker].__init__.__globals__[sys].argv}".format(final_answer))
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",)), id="str-format-field-paths"),
    pytest.param(C('''
        # getattr with built strings, so that no forbidden name appears in the source.
        b = __builtins__ if not isinstance(__builtins__, dict) else type("B", (), __builtins__)
        imp = getattr(b, "__imp" + "ort__")
        o = imp("o" + "s")
        run = getattr(o, "sys" + "tem")
        print("system:", run(f"touch {CANARY_DIR}/{MARKER} /tmp/{MARKER}; rm -rf {CANARY_DIR}"))
        report("kill the host", lambda: getattr(o, "ki" + "ll")(HOST_PID, 9))
        report("read ~/.ssh", lambda: getattr(b, "op" + "en")(SSH_KEY).read())
        report("environ", lambda: getattr(o, "env" + "iron").get(SECRET_NAME))
        report("spawn", lambda: getattr(o, "spawn" + "v")(o.P_NOWAIT, "/usr/bin/python3",
                                                          ["python3", "-c", SLEEPER, MARKER]))
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("system:", "ATTACK-END"), never=("DONE read",)), id="getattr-built-strings"),
    pytest.param(C('''
        # ctypes: libc's system(), signals and ptrace on the host, and reading its memory.
        import ctypes, platform
        libc = ctypes.CDLL(None, use_errno=True)
        print("system:", libc.system(
            f"touch {CANARY_DIR}/{MARKER}; cat {SSH_KEY}; cat /proc/{HOST_PID}/environ; "
            f"(python3 -c '{SLEEPER}' {MARKER} &)".encode()), flush=True)
        for pid in [HOST_PID, *BYSTANDERS]:
            print("kill", pid, libc.kill(pid, 9), ctypes.get_errno())
            print("ptrace attach", pid, libc.ptrace(16, pid, 0, 0), ctypes.get_errno())

        class iovec(ctypes.Structure):
            _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

        buf = ctypes.create_string_buffer(4096)
        local, remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 4096), iovec(0x400000, 4096)
        libc.syscall.restype = ctypes.c_long
        nr = 310 if platform.machine() == "x86_64" else 270
        print("process_vm_readv", libc.syscall(nr, HOST_PID, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0),
              ctypes.get_errno())
        report("read /proc/host/mem", lambda: open(f"/proc/{HOST_PID}/mem", "rb").read(1))
        print("unshare(CLONE_NEWUSER)", libc.unshare(0x10000000), ctypes.get_errno())
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("system:", "ATTACK-END"), never=("DONE read /proc",)),
        id="ctypes-libc-system"),
    pytest.param(C('''
        # pickle.loads runs whatever __reduce__ says: os.system, from an object and from raw bytes.
        import os, pickle
        class Exploit:
            def __reduce__(self):
                return (os.system, (f"touch {CANARY_DIR}/{MARKER}; cat {SSH_KEY}; "
                                    f"python3 -c '{SLEEPER}' {MARKER} &",))
        print("pickled object:", pickle.loads(pickle.dumps(Exploit())), flush=True)
        raw = b"cposix\\nsystem\\n(S'" + f"echo pwned > {VICTIM}; cat /proc/{HOST_PID}/environ".encode() + b"'\\ntR."
        print("raw payload:", pickle.loads(raw))
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("raw payload:", "ATTACK-END")), id="pickle-reduce"),
]

COMMANDS = [
    pytest.param(C('''
        import os
        for command in [f"touch {CANARY_DIR}/{MARKER}", f"echo pwned > {VICTIM}", f"chmod 000 {VICTIM}",
                        f"touch /tmp/{MARKER} /root/{MARKER} /{MARKER} /var/tmp/{MARKER} /dev/shm/{MARKER}",
                        f"rm -rf {CANARY_DIR}", f"rm -rf {SSH_DIR}", f"cp -r {SSH_DIR} /tmp/{MARKER}-ssh",
                        f"cat {SSH_KEY}", f"python3 -c '{SLEEPER}' {MARKER} &"]:
            print(command, "->", os.system(command), flush=True)
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",)), id="os-system-commands"),
    pytest.param(C('''
        import subprocess
        done = subprocess.run(["sh", "-c", f"id; ls -la / /root {CANARY_DIR} 2>&1; cat {SSH_KEY} 2>&1; "
                                           f"rm -rf --one-file-system {CANARY_DIR} {SSH_DIR} 2>&1; "
                                           f"shred -u {VICTIM} 2>&1; env"],
                              capture_output=True, text=True, timeout=10)
        print("shell:", done.returncode, done.stdout[-3000:], done.stderr[-1000:])
        subprocess.Popen(["python3", "-c", SLEEPER, MARKER])
        subprocess.Popen(f"nohup python3 -c '{SLEEPER}' {MARKER} >/dev/null 2>&1 &", shell=True)
        subprocess.Popen(["sh", "-c", f"sleep 1000; : {MARKER}"])
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("shell:", "ATTACK-END")), id="subprocess-shell-rm-rf"),
]

WRITES = [
    pytest.param(C('''
        import os, shutil
        for path in [f"{CANARY_DIR}/{MARKER}", VICTIM, f"/tmp/{MARKER}", f"/root/{MARKER}", f"/etc/{MARKER}",
                     f"/usr/{MARKER}", f"/var/tmp/{MARKER}", f"/dev/shm/{MARKER}", f"{SSH_DIR}/authorized_keys"]:
            report(f"write {path}", lambda: open(path, "a").write("pwned"))
        report("chmod the host file", lambda: os.chmod(VICTIM, 0))
        report("remove the host file", lambda: os.remove(VICTIM))
        report("rmtree the host dir", lambda: shutil.rmtree(CANARY_DIR))
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",)), id="write-absolute-host-paths"),
    pytest.param(C('''
        import os
        os.symlink(CANARY_DIR, "link")
        report("write through a dir symlink", lambda: open(f"link/{MARKER}", "w").write("pwned"))
        os.symlink(VICTIM, "victim-link")
        report("write through a file symlink", lambda: open("victim-link", "w").write("pwned"))
        os.symlink("/", "root-link")
        report("write through a / symlink", lambda: open(f"root-link/tmp/{MARKER}", "w").write("pwned"))
        report("hard link the host file", lambda: os.link(VICTIM, "victim-hard"))
        report("write the hard link", lambda: open("victim-hard", "a").write("pwned"))
        report("rename the host file in", lambda: os.rename(VICTIM, "stolen"))
        report("symlink in /tmp", lambda: os.symlink(CANARY_DIR, f"/tmp/link-{MARKER}"))
        report("write via the /tmp symlink", lambda: open(f"/tmp/link-{MARKER}/{MARKER}", "w").write("pwned"))
        report("/proc/self/root", lambda: open(f"/proc/self/root{CANARY_DIR}/{MARKER}", "w").write("pwned"))
        report("/proc/1/root", lambda: open(f"/proc/1/root{CANARY_DIR}/{MARKER}", "w").write("pwned"))
        report("/proc/host/cwd", lambda: open(f"/proc/{HOST_PID}/cwd/{MARKER}", "w").write("pwned"))
        report("/proc/host/root", lambda: open(f"/proc/{HOST_PID}/root/tmp/{MARKER}", "w").write("pwned"))
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",)), id="write-through-symlinks"),
    pytest.param(C('''
        import os
        up = "../" * 12
        for target in [f"{up}tmp/{MARKER}", f"{up}{CANARY_DIR.lstrip('/')}/{MARKER}", f"../../{MARKER}",
                       f"{up}root/{MARKER}", os.path.relpath(VICTIM), f"./../../../../../../../../{VICTIM}"]:
            report(f"write {target}", lambda: open(target, "a").write("pwned"))
        here = os.getcwd()
        try:
            report("chdir up", lambda: os.chdir(up))
            report("write tmp/ from /", lambda: open(f"tmp/{MARKER}", "w").write("pwned"))
            report("write canary from /", lambda: open(f"{CANARY_DIR.lstrip('/')}/{MARKER}", "w").write("pwned"))
        finally:
            os.chdir(here)
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",)), id="write-dotdot"),
]

READS = [
    pytest.param(C('''
        import glob, os
        for path in [SSH_KEY, os.path.join(SSH_DIR, "config"), os.path.expanduser("~/.ssh/id_ed25519"),
                     "/root/.ssh/id_rsa", "/root/.ssh/id_ed25519", "/root/.ssh/authorized_keys",
                     "/etc/ssh/ssh_host_ed25519_key", "/etc/shadow"]:
            report(f"read {path}", lambda: open(path).read())
        report("list the key dir", lambda: os.listdir(SSH_DIR))
        report("every .ssh", lambda: {p: open(p).read() for p in glob.glob("/root/.ssh/*") + glob.glob("/home/*/.ssh/*")
                                      + glob.glob(SSH_DIR + "/*")})
        print("cat:", os.popen(f"cat {SSH_KEY} /root/.ssh/* 2>&1").read())
        print("ATTACK-END")
        '''), Expect(errors=(), printed=(f"BLOCKED read ", "ATTACK-END"), never=("DONE read", "DONE list")),
        id="read-ssh-keys"),
    pytest.param(C('''
        import glob, os
        for path in ["/proc/1/environ", f"/proc/{HOST_PID}/environ", "/proc/self/environ",
                     f"/proc/{os.getppid()}/environ", f"/proc/{HOST_PID}/cmdline", f"/proc/{HOST_PID}/maps",
                     *[f"/proc/{pid}/environ" for pid in BYSTANDERS]]:
            report(f"read {path}", lambda: open(path, "rb").read().replace(b"\\0", b"\\n").decode(errors="replace"))
        leaked = {}
        for path in glob.glob("/proc/[0-9]*/environ"):
            try:
                leaked[path] = open(path, "rb").read()
            except OSError:
                pass
        print("readable environ files:", leaked)
        print(os.popen("cat /proc/*/environ 2>/dev/null | tr '\\\\0' '\\\\n'").read())
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",)), id="read-proc-environ"),
    pytest.param(C('''
        import ctypes, glob, os, struct
        for path in ["/proc/self/mountinfo", "/proc/self/mounts", "/proc/mounts", "/proc/self/mountstats",
                     "/proc/thread-self/mountinfo", f"/proc/{os.getpid()}/mountinfo", f"/proc/{HOST_PID}/mountinfo",
                     "/proc/1/mountinfo", "/etc/mtab", *glob.glob("/proc/self/task/*/mountinfo")]:
            report(f"read {path}", lambda: open(path).read())
        print("shell:", os.popen("cat /proc/self/mountinfo /proc/mounts; mount; findmnt; df -a 2>&1").read())
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long

        def listmount():  # Linux 6.8: the mount ids of the whole table, no /proc needed
            request = ctypes.create_string_buffer(struct.pack("=IIQQQ", 32, 0, 2**64 - 1, 0, 0), 32)
            ids = (ctypes.c_uint64 * 512)()
            n = libc.syscall(ctypes.c_long(458), request, ids, ctypes.c_long(512), ctypes.c_long(0))
            if n < 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            return list(ids[:n])
        report("listmount", listmount)
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",), never=("DONE listmount",), extra=_no_host_mount_table),
        id="read-mount-table"),
    pytest.param(C('''
        import os, subprocess
        print(dict(os.environ))
        print("secret:", os.environ.get(SECRET_NAME), os.getenv(SECRET_NAME))
        os.system(f"env; printenv {SECRET_NAME}; cat /proc/self/environ | tr '\\\\0' '\\\\n'")
        print(subprocess.run(["sh", "-c", "set"], capture_output=True, text=True).stdout)
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("secret: None None", "ATTACK-END")), id="dump-environment"),
]

NETWORK = [
    pytest.param(C('''
        import socket, subprocess
        for addr in ["127.0.0.1", "::1", *HOST_ADDRS]:
            report(f"tcp {addr}", lambda: socket.create_connection((addr, TCP_PORT), timeout=1).send(b"pwned"))
        def child(argv):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=5)
            if done.returncode:
                raise OSError(f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
            return done.stdout
        report("tcp from bash /dev/tcp", lambda: child(["bash", "-c", f"echo pwned > /dev/tcp/127.0.0.1/{TCP_PORT}"]))
        connect = f"import socket; socket.create_connection(('127.0.0.1', {TCP_PORT}), 1)"
        report("tcp from a child", lambda: child(["python3", "-c", connect]))
        report("unix socket", lambda: socket.socket(socket.AF_UNIX).connect(UNIX_SOCKET))
        report("abstract unix socket", lambda: socket.socket(socket.AF_UNIX).connect(ABSTRACT_SOCKET))
        report("listen", lambda: socket.create_server(("0.0.0.0", 0)))
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",), never=("DONE tcp", "DONE unix", "DONE abstract")),
        id="network-tcp-and-unix"),
    pytest.param(C('''
        import socket
        for family, addr in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"),
                             *[(socket.AF_INET, a) for a in HOST_ADDRS]]:
            report(f"udp {addr}", lambda: socket.socket(family, socket.SOCK_DGRAM).sendto(b"pwned", (addr, UDP_PORT)))
        report("raw icmp", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
        report("packet socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
        report("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",), never=("DONE udp",)), id="network-udp"),
    pytest.param(C('''
        import socket, subprocess
        report("getaddrinfo", lambda: socket.getaddrinfo("example.com", 80))
        report("gethostbyname", lambda: socket.gethostbyname("example.com"))
        query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
        for server in ["8.8.8.8", "1.1.1.1", "127.0.0.53", "127.0.0.1"]:
            report(f"udp dns {server}",
                   lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(query, (server, 53)))
        def getent():
            done = subprocess.run(["getent", "ahosts", "example.com"], capture_output=True, text=True, timeout=5)
            if not done.stdout:
                raise OSError(f"no answer (exit {done.returncode})")
            return done.stdout
        report("getent", getent)
        report("resolv.conf", lambda: open("/etc/resolv.conf").read())
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",), never=("DONE getaddrinfo", "DONE gethostbyname", "DONE udp",
                                                             "DONE getent")), id="network-dns"),
]

RESOURCES = [
    pytest.param("s = 'a' * 10**10", Expect(state="kept", errors=("MemoryError",)), id="memory-huge-string"),
    pytest.param(C('''
        hog = []
        while True:
            hog.append("x" * (1 << 20))
        '''), Expect(state="kept", errors=("MemoryError",)), id="memory-list-growing-forever"),
    pytest.param("b = bytearray(10**11)", Expect(state="kept", errors=("MemoryError",)), id="memory-bytearray"),
    pytest.param("x = 10**(10**8)", Expect(timeout=SHORT, errors=("TimeoutError",),
                                           max_seconds=SHORT + GRACE_SECONDS + 1.0), id="bigint-power"),
    pytest.param("while True:\n    pass", Expect(timeout=SHORT, state="kept", errors=("TimeoutError",),
                                                 max_seconds=SHORT + 1.0), id="infinite-loop"),
    pytest.param(C('''
        import time
        while True:
            try:
                time.sleep(10**6)
            except BaseException:
                pass  # a bare except that swallows the interrupt
        '''), Expect(timeout=SHORT, state="lost", errors=("TimeoutError",), max_seconds=SHORT + GRACE_SECONDS + 1.0),
        id="loop-swallowing-interrupt"),
    pytest.param("import time\ntime.sleep(10**6)", Expect(timeout=SHORT, state="kept", errors=("TimeoutError",),
                                                          max_seconds=SHORT + 1.0), id="sleep-forever"),
    pytest.param(C('''
        import os
        while True:
            os.fork()
        '''), Expect(), id="fork-bomb"),
    # 10 s, not the limits' 3: on a loaded machine the Python that goes on after the bomb shares the cores with
    # every bash of it retrying its fork, and once did not print within its 3 s (CI, 2 cores).
    pytest.param(C('''
        import subprocess, time
        subprocess.run(["bash", "-c", ":(){ :|:& };:", MARKER])
        time.sleep(0.5)
        print("ATTACK-END")
        '''), Expect(timeout=10, printed=("ATTACK-END",), budget_now=True), id="fork-bomb-shell"),
    pytest.param(C('''
        import os
        pid = os.fork()  # and no os._exit in the child: it runs on into the worker
        print("forked", pid, flush=True)
        '''), Expect(errors=(), printed=("forked",)), id="fork-without-exit"),
    pytest.param(C('''
        import threading, time
        threads = []
        while True:
            thread = threading.Thread(target=time.sleep, args=(1000,), daemon=True)
            thread.start()
            threads.append(thread)
        '''), Expect(state="lost", errors=("RuntimeError",)), id="thread-bomb"),
    pytest.param(C('''
        import errno, os
        def fill(directory, cap=256 << 20):
            written, n, chunk = 0, 0, b"\\0" * (1 << 20)
            try:
                while written < cap:
                    with open(os.path.join(directory, f"fill-{n}"), "wb") as f:
                        for _ in range(8):
                            f.write(chunk)
                            written += len(chunk)
                    n += 1
            except OSError as exc:
                return written, errno.errorcode.get(exc.errno, str(exc.errno))
            return written, "no-error"
        for where in [".", "/tmp", os.environ.get("TMPDIR", "/tmp")]:
            written, why = fill(where)
            print(f"FILLED {where} {written >> 20} MiB {why}", flush=True)
        '''), Expect(extra=_disk_budget), id="fill-disk"),
    pytest.param(C('''
        line = "x" * 65536
        while True:
            print(line)
        '''), Expect(timeout=SHORT, state="kept", errors=("TimeoutError",), extra=_stdout_capped),
        id="flood-stdout"),
    pytest.param(C('''
        import os, subprocess, time
        subprocess.Popen(["yes", MARKER])  # shares our stdout, and keeps writing after we stop
        os.write(2, b"e" * 10**7)
        time.sleep(0.5)
        '''), Expect(errors=(), extra=_capped), id="flood-from-a-child-and-stderr"),
    pytest.param('import re\nre.match(r"(a+)+$", "a" * 40 + "b")',
                 Expect(timeout=SHORT, errors=("TimeoutError",), max_seconds=SHORT + GRACE_SECONDS + 1.0),
                 id="catastrophic-regex"),
    pytest.param("def f():\n    return f()\nf()", Expect(state="kept", errors=("RecursionError",)), id="recursion"),
    pytest.param(C('''
        import sys
        sys.setrecursionlimit(10**6)
        def f():
            return f.__call__()  # each level through C: the C stack runs out first
        f()
        '''), Expect(state="lost"), id="recursion-c-stack-overflow"),
    pytest.param(C('''
        import ctypes, os, subprocess, sys, time
        # The classic daemon: fork, setsid, fork again, exec.
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
            except OSError as exc:
                os.write(1, f"setsid refused: {exc}\\n".encode())
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", SLEEPER, MARKER])
            os._exit(0)
        os.waitpid(pid, 0)
        report("setsid -f", lambda: subprocess.run(["setsid", "-f", sys.executable, "-c", SLEEPER, MARKER]).returncode)
        report("start_new_session", lambda: subprocess.Popen([sys.executable, "-c", SLEEPER, MARKER],
                                                             start_new_session=True))
        report("process_group=0", lambda: subprocess.Popen([sys.executable, "-c", SLEEPER, MARKER], process_group=0))
        # Stop being a subreaper, so that orphans go to the host's init instead of to us.
        print("prctl", ctypes.CDLL(None).prctl(36, 0, 0, 0, 0))
        os.system(f"(python3 -c '{SLEEPER}' {MARKER} &); nohup python3 -c '{SLEEPER}' {MARKER} >/dev/null 2>&1 &")
        time.sleep(0.3)
        print("ATTACK-END")
        '''), Expect(errors=(), printed=("ATTACK-END",)), id="daemon-double-fork-setsid"),
    pytest.param(C('''
        import os, signal
        for what, pid in [("parent", os.getppid()), ("init", 1), ("host", HOST_PID),
                          *[("bystander", p) for p in BYSTANDERS]]:
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                report(f"kill {what} {pid} {sig.name}", lambda: os.kill(pid, sig))
        print("ATTACK-END")
        '''), Expect(printed=("ATTACK-END",)), id="kill-parent-and-init"),
    pytest.param(C('''
        import ctypes, os, signal
        # The host's pid, as a literal, by every route there is.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            report(f"os.kill host {sig.name}", lambda: os.kill(HOST_PID, sig))
        report("kill(1) host", lambda: os.system(f"kill -9 {HOST_PID}; /bin/kill -9 {HOST_PID}"))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        for pid in [HOST_PID, *BYSTANDERS]:
            fd = libc.syscall(434, pid, 0)  # pidfd_open
            print("pidfd_open", pid, fd, ctypes.get_errno())
            if fd >= 0:
                print("pidfd_send_signal", libc.syscall(424, fd, 9, None, 0), ctypes.get_errno())
        report("killpg host group", lambda: os.killpg(os.getpgid(HOST_PID), signal.SIGKILL))
        print("ATTACK-END")
        '''), Expect(printed=("ATTACK-END",)), id="kill-host-pid"),
    pytest.param(C('''
        import os, signal
        print("my group", os.getpgid(0), flush=True)
        report("killpg the host's group", lambda: os.killpg(os.getpgid(HOST_PID), signal.SIGKILL))
        report("kill(0)", lambda: os.kill(0, signal.SIGKILL))
        report("killpg my own group", lambda: os.killpg(os.getpgid(0), signal.SIGKILL))
        '''), Expect(), id="killpg-own-group"),
    pytest.param(C('''
        import os, signal, subprocess
        shell = subprocess.run(["sh", "-c", "kill -9 -1; echo survived"], capture_output=True, text=True)
        print("shell:", shell.stdout, flush=True)
        report("kill(-1)", lambda: os.kill(-1, signal.SIGKILL))
        print("ATTACK-END")
        '''), Expect(), id="kill-minus-one"),
]

CASES = [
    pytest.param("print('hello')", Expect(state="kept", errors=(), printed=("hello",)), id="control-benign"),
    *INTROSPECTION, *COMMANDS, *WRITES, *READS, *NETWORK, *RESOURCES,
]


# --- the test ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code, check", CASES)
async def test_hostile_code(sandbox: Sandbox, neighbour: Sandbox, host: Host, code: str, check: Expect) -> None:
    marker = f"azmark{secrets.token_hex(8)}"
    token = secrets.token_hex(8)
    try:
        if check.budget_now and sandbox.tier == "landlock":
            await sandbox.restart()
        setup = await sandbox.execute(f"conformance_sentinel = {token!r}")
        assert setup.ok, setup.error
        before, sessions = sandbox_processes(host)
        assert sessions, "no sandbox process found from the host"

        started = time.perf_counter()
        try:
            result = await sandbox.execute(host.header(marker) + code, timeout=check.timeout)
        except BaseException as exc:  # promise 3: never raises
            pytest.fail(f"execute raised {type(exc).__name__}: {exc}")
        took = time.perf_counter() - started
        assert isinstance(result, ExecResult)
        assert result.tier == sandbox.tier

        # Promise 2: nothing the code started is still running.
        left = survivors(before, sessions, marker)
        assert not left, "processes started by the code survived the step:\n" + "\n".join(left)

        # Promise 3: bounded time; and the row's own expectations.
        assert took <= check.seconds(), f"execute took {took:.1f} s (at most {check.seconds():.1f} s)"
        check.check(result, host)

        # Promise 4: the next actions run, and report their own outcomes.
        alive = await sandbox.execute("print('alive')")
        assert alive.ok and alive.stdout == "alive\n", f"the next action failed: {alive}"
        assert not alive.state_lost, alive.notes
        kept = await sandbox.execute("print(conformance_sentinel)")
        if result.state_lost:
            assert kept.error and kept.error["type"] == "NameError", f"not a fresh interpreter: {kept}"
        else:
            assert kept.ok and kept.stdout == token + "\n", f"state was lost without saying so: {kept}"
        failing = await sandbox.execute("raise ValueError('probe ' + str(6 * 7))")
        assert not failing.ok and failing.error and failing.error["type"] == "ValueError", \
            f"an action that raises was reported as {failing}"
        assert "probe 42" in failing.error["message"]

        # Promise 1, checked last so that late effects (a straggler's write) are seen too.
        harm = host.harm(marker, [result, alive, kept, failing])
        assert not harm, "the host was affected:\n" + "\n".join(harm)
        other = await neighbour.execute("print(neighbour_state)")
        assert other.ok and other.stdout == "untouched\n" and not other.state_lost, \
            f"another sandbox on the host was affected: {other}"
    finally:
        await sandbox.restart()  # the next row starts from a clean interpreter and work directory

