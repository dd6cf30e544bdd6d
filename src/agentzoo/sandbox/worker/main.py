"""The sandbox worker: a persistent Python interpreter that runs model-written code.

It runs inside the isolation tier the host chose, talks to the host over two inherited pipes
(JSON lines; commands in on CMD_FD, messages out on MSG_FD) and leaves stdout and stderr to
the code. It is standard library only and imports nothing from agentzoo, because it may run
under another interpreter than the host's (one the sandbox user can read).

Start-up, before any untrusted code: read the config, set the resource limits, apply Landlock
and seccomp where asked, say `ready`. Then, per `exec`: run the code in one namespace that
persists across actions, interrupt it at the wall-clock limit, end every other process in the
sandbox, and report `done` after writing an end marker to stdout and stderr so that the host
knows where this action's output stops.
"""

import ast
import builtins
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import confine  # noqa: E402  (beside this file, not on the path in isolated mode)

PR_SET_CHILD_SUBREAPER = 36
MAX_TRACEBACK = 4000


class _FinalAnswer(BaseException):
    """Raised by `final_answer` to end the action; BaseException so `except Exception` won't eat it."""

    def __init__(self, value):
        self.value = value


class ToolError(Exception):
    """A host tool refused the call or failed; the message says why."""


class Channel:
    def __init__(self, cmd_fd, msg_fd):
        self.cmd = os.fdopen(cmd_fd, "rb", buffering=1 << 16)
        self.msg_fd = msg_fd
        self.lock = threading.Lock()

    def send(self, message):
        data = (json.dumps(message, ensure_ascii=True, default=repr) + "\n").encode()
        with self.lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.msg_fd, view):]

    def receive(self):
        line = self.cmd.readline()
        if not line:
            os._exit(0)  # the host is gone
        return json.loads(line)


class Worker:
    def __init__(self, channel, config, report=None):
        self.channel = channel
        self.config = config
        self.limits = config["limits"]
        self.pid = os.getpid()
        self.pid1 = self.pid == 1
        # Landlock's signal scope confines kill() to this worker's own domain: see _end_other_processes.
        self.signals_scoped = bool(((report or {}).get("landlock") or {}).get("scope_signal"))
        self.next_call = 0
        self.watchdog = Watchdog(threading.get_ident())
        self.watchdog.start()
        self.cpu_per_action = int(self.limits["cpu_seconds"])
        self.stdout, self.stderr = sys.stdout, sys.stderr
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.namespace["final_answer"] = _final_answer
        self.namespace["ToolError"] = ToolError
        for spec in config.get("tools", []):
            self.namespace[spec["name"]] = self._tool_function(spec)
        self.tool_names = {spec["name"] for spec in config.get("tools", [])} | {"final_answer", "ToolError"}
        self.baseline_tasks = self._task_count()

    # --- host tools -----------------------------------------------------------------------

    def _tool_function(self, spec):
        name = spec["name"]
        params = list(spec.get("parameters", {}).get("properties", {}))

        def call(*args, **kwargs):
            if len(args) > len(params):
                raise TypeError(f"{name}() takes {len(params)} positional arguments but {len(args)} were given")
            arguments = dict(zip(params, args))
            for key in kwargs:
                if key in arguments:
                    raise TypeError(f"{name}() got multiple values for argument {key!r}")
            arguments.update(kwargs)
            return self._call_host(name, arguments)

        call.__name__ = call.__qualname__ = name
        call.__doc__ = spec.get("description") or None
        return call

    def _call_host(self, name, arguments):
        try:
            json.dumps(arguments, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"the arguments of {name}() must be plain JSON values (str, int, float, bool, "
                            f"None, list, dict): {exc}") from None
        self.next_call += 1
        call_id = self.next_call
        self.channel.send({"op": "call", "id": call_id, "name": name, "args": arguments})
        while True:
            message = self.channel.receive()
            if message.get("op") == "result" and message.get("id") == call_id:
                break
        if message.get("ok"):
            return message.get("value")
        error = message.get("error") or {}
        raise ToolError(f"{error.get('type', 'Error')}: {error.get('message', '')}")

    # --- one action -----------------------------------------------------------------------

    def run(self, code, nonce, wall_seconds):
        # The nonce lets the host tell this action's `done` from one the code forged or one left
        # over from an earlier action (the code can write to the message pipe too).
        result = {"op": "done", "nonce": nonce, "ok": True, "error": None, "answered": False, "answer": None}
        self.wall_seconds = wall_seconds
        self._set_cpu_budget()
        signal.signal(signal.SIGINT, self.watchdog.on_sigint)  # the code may have replaced it
        try:
            try:
                self.watchdog.arm(wall_seconds)
                self._execute(code)
            finally:
                if os.getpid() != self.pid:  # before anything that takes a lock (see _leave_forked_child)
                    _leave_forked_child()
                self.watchdog.disarm()
        except _FinalAnswer as fa:
            result["answered"], result["answer"] = True, _jsonable(fa.value)
        except BaseException as exc:  # the code's own failure is a result, whatever it is
            result["ok"] = False
            result["error"] = self._describe(exc)
        sys.stdout, sys.stderr = self.stdout, self.stderr
        # Kill before the end markers: a process the code started (`yes`, a backgrounded shell)
        # shares our stdout, and what it wrote after the marker would be read as the start of
        # the next action's output.
        result["killed"] = self._end_other_processes()
        for stream, fd in ((self.stdout, 1), (self.stderr, 2)):
            try:
                stream.flush()
            except Exception:
                pass
            _write_all(fd, b"\0AZEND" + nonce.encode() + b"\0")
        result["stray_threads"] = self._stray_threads()
        self.channel.send(result)

    def run_fresh(self, code, nonce, wall_seconds):
        """Run `code` in a forked child with new globals, in a new directory; nothing outlives it.

        For running many independent programs (a benchmark's tests) in one sandbox: the child
        starts from this worker's clean state, so one program cannot see another's variables,
        files (its directory and /tmp are wiped) or processes (all are killed after it).
        """
        result = {"op": "done", "nonce": nonce, "ok": True, "error": None, "answered": False, "answer": None}
        home = tempfile.mkdtemp(prefix="fresh-", dir=self.config["workdir"])
        read_fd, write_fd = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            self._fresh_child(code, home, write_fd)  # never returns
        os.close(write_fd)
        report = _read_until_eof(read_fd, wall_seconds)
        if report is None:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if report is None:
            result["ok"] = False
            result["error"] = {"type": "TimeoutError", "message": f"the program ran longer than {wall_seconds} s "
                               "and was stopped", "traceback": ""}
        elif not report:
            name = signal.Signals(-os.waitstatus_to_exitcode(status)).name if os.WIFSIGNALED(status) else ""
            result["ok"] = False
            result["error"] = {"type": "ProcessDied", "message": "the program's process died"
                               + (f" ({name})" if name else f" (exit status {os.waitstatus_to_exitcode(status)})"),
                               "traceback": ""}
        else:
            result.update(json.loads(report))
        result["killed"] = self._end_other_processes()
        shutil.rmtree(home, ignore_errors=True)
        _empty(os.environ.get("TMPDIR") or "/tmp")
        for fd in (1, 2):
            _write_all(fd, b"\0AZEND" + nonce.encode() + b"\0")
        result["stray_threads"] = 0  # the child's threads died with it
        self.channel.send(result)

    def _fresh_child(self, code, home, report_fd):
        outcome = {"ok": True}
        try:
            os.chdir(home)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            namespace = {"__name__": "__main__", "__builtins__": builtins}
            namespace.update({k: v for k, v in self.namespace.items() if k in self.tool_names})
            exec(compile(code, "<action>", "exec"), namespace)
        except _FinalAnswer as fa:
            outcome = {"ok": True, "answered": True, "answer": _jsonable(fa.value)}
        except BaseException as exc:
            outcome = {"ok": False, "error": self._describe(exc)}
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
            _write_all(report_fd, json.dumps(outcome, default=repr).encode())
            os._exit(0)

    def _stray_threads(self):
        """Threads the code left running. A thread just joined may linger in /proc for a moment."""
        for _ in range(100):
            extra = self._task_count() - self.baseline_tasks
            if extra <= 0:
                return 0
            time.sleep(0.001)
        return extra

    def _execute(self, code):
        tree = ast.parse(code, "<action>", "exec")
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        if last is not None:  # show the value of a final expression, as a REPL does
            tree.body.pop()
        exec(compile(tree, "<action>", "exec"), self.namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<action>", "eval"), self.namespace)
            if value is not None:
                print(repr(value))

    def _describe(self, exc):
        if isinstance(exc, KeyboardInterrupt) and self.watchdog.fired:
            kind = "TimeoutError"
            message = (f"the action ran longer than {self.wall_seconds} s and was interrupted; "
                       "variables defined so far are kept")
        else:
            kind = type(exc).__name__
            message = str(exc)
        frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
        # Drop the worker's own frames: the model should see its code, not ours.
        shown = [f for f in frames if HERE not in f]
        return {"type": kind, "message": message[:MAX_TRACEBACK], "traceback": "".join(shown)[-MAX_TRACEBACK:]}

    def _set_cpu_budget(self):
        import resource
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime) + 1
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        want = spent + self.cpu_per_action
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (want, hard))
        except (ValueError, OSError):
            pass

    def _end_other_processes(self):
        """No process survives an action: kill every other process of the sandbox.

        kill(-1) signals every process the sender may signal except itself (and pid 1). As pid 1
        of the sandbox's pid namespace (bwrap) that is exactly the sandbox. Without a pid
        namespace (landlock tier) it is every process of the sandbox user, but Landlock's signal
        scope (ABI 6) narrows it to this worker's own Landlock domain: the code's processes,
        wherever they were re-parented, and nothing of the host's or of another sandbox's. The
        process group is no help there: the code's processes share it with the worker. With
        neither (unsafe tier), kill(-1) could hit the user's other processes, so nothing is done.
        """
        if not (self.pid1 or self.signals_scoped):
            return 0
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:  # ESRCH: nobody to kill
            return 0
        return _reap()

    def _task_count(self):
        try:
            return len(os.listdir("/proc/self/task"))
        except OSError:
            return threading.active_count()


class Watchdog(threading.Thread):
    """Interrupts the running action at its wall-clock limit, with SIGINT to the main thread.

    One thread for the worker's life (a thread per action would briefly outlive its join and
    look like a thread the code left behind). The SIGINT handler raises only while an action
    is armed, so an interrupt that lands as the action ends cannot hit the worker's own code.
    """

    def __init__(self, main_ident):
        super().__init__(name="agentzoo-watchdog", daemon=True)
        self.main_ident = main_ident
        self.cond = threading.Condition()
        self.deadline = None
        self.armed = False
        self.fired = False

    def arm(self, seconds):
        with self.cond:
            self.deadline = time.monotonic() + seconds
            self.armed, self.fired = True, False
            self.cond.notify()

    def disarm(self):
        with self.cond:
            self.deadline, self.armed = None, False

    def on_sigint(self, signum, frame):
        if self.armed:
            raise KeyboardInterrupt

    def run(self):
        with self.cond:
            while True:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                remaining = self.deadline - time.monotonic()
                if remaining > 0:
                    self.cond.wait(remaining)
                    continue
                self.deadline, self.fired = None, True
                try:
                    signal.pthread_kill(self.main_ident, signal.SIGINT)
                except OSError:
                    pass


def _leave_forked_child():
    """End a process the code forked that ran off the end of the action (fork without _exit).

    Left alone it would go on as a second worker: write end markers, send a `done` of its own
    and read the host's next command, so that every later result would be off by one. Its
    output is flushed, as a normal exit would, but nothing of the worker's is touched: the
    watchdog thread may have held its lock at the fork, and it does not exist in the child.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(0)


def _final_answer(value):
    """End the action and the task with this answer."""
    raise _FinalAnswer(value)


def _jsonable(value):
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return repr(value)


def _read_until_eof(fd, seconds):
    """All a child writes to `fd` until it closes it; None when that takes longer than `seconds`."""
    import select

    deadline = time.monotonic() + seconds
    chunks = []
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _empty(path):
    """Remove what is inside `path` (a private /tmp), keeping `path` itself."""
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for name in entries:
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target, ignore_errors=True)
        else:
            try:
                os.unlink(target)
            except OSError:
                pass


def _reap():
    reaped = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            time.sleep(0.001)  # killed children take a moment to become zombies
            continue
        reaped += 1


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except OSError:
            return  # the code closed its own stdout: its output ends here


def _on_cpu_limit(signum, frame):
    raise TimeoutError("the action used up its CPU time limit")


def setup(config):
    """Confine this process before any untrusted code runs; return what was applied."""
    report = {"python": sys.version.split()[0], "pid1": os.getpid() == 1}
    seed, workdir = config.get("seed"), config["workdir"]
    if seed and os.path.isdir(seed):
        shutil.copytree(seed, workdir, dirs_exist_ok=True)
    os.chdir(workdir)
    limits = config["limits"]
    report["rlimits"] = confine.set_limits(
        cpu_seconds=int(limits["cpu_seconds"]) * 10,
        memory_bytes=int(limits["memory_mb"]) << 20,
        file_size_bytes=int(limits["file_size_mb"]) << 20,
        open_files=int(limits["open_files"]),
        processes=int(config.get("nproc", limits["processes"])),
    )
    signal.signal(signal.SIGXCPU, _on_cpu_limit)
    if not report["pid1"]:
        try:  # orphans of the code come back to us, inside our process group
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except Exception:
            pass
    rules = config.get("landlock")
    if rules:
        # Of /proc the worker needs only to list its own threads (`_task_count`). Reading
        # /proc/self/* would show the host's mount table (mountinfo, mounts; /proc/mounts is a
        # link to it) and more of the host on this tier, which has no /proc of its own.
        report["landlock"] = confine.apply_landlock(rules["read_only"], rules["read_write"],
                                                    list_only=[f"/proc/{os.getpid()}/task"])
        if rules.get("required") and not report["landlock"].get("fs"):
            raise RuntimeError(f"Landlock was required but could not be applied: {report['landlock']}")
    if config.get("seccomp"):
        confine.apply_seccomp(confine.seccomp_program())
        report["seccomp"] = True
    return report


def main():
    cmd_fd, msg_fd = int(sys.argv[1]), int(sys.argv[2])
    channel = Channel(cmd_fd, msg_fd)
    config = channel.receive()
    try:
        report = setup(config)
    except BaseException as exc:
        channel.send({"op": "failed", "error": f"{type(exc).__name__}: {exc}"})
        return 1
    worker = Worker(channel, config, report)
    channel.send({"op": "ready", "report": report})
    while True:
        message = channel.receive()
        op = message.get("op")
        if op == "exec":
            run = worker.run_fresh if message.get("fresh") else worker.run
            run(message["code"], message["nonce"], float(message.get("wall_seconds") or config["limits"]["wall_seconds"]))
        elif op == "shutdown":
            return 0
        # anything else (a tool result that came after its action was interrupted) is stale


if __name__ == "__main__":
    sys.exit(main())
