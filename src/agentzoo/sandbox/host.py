"""The host side of the sandbox: start a worker, send it code, serve its tool calls, read its output.

One `Sandbox` is one persistent interpreter for one task. Actions run one at a time. When the
worker dies (a crash, a limit, the host's hard kill), the action's result says the state was
lost and the next action starts a fresh worker.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from ..errors import AgentzooError, SandboxError, ToolError
from .limits import Limits
from .process import WorkerProcess
from .result import ExecResult
from .tiers import LaunchPlan, TierReport, choose, plan, sandbox_uid

ToolHandler = Callable[[str, dict[str, Any]], Awaitable[Any]]
"""Serves a tool call made by sandboxed code: `(name, arguments) -> JSON value`.

Raise `ToolError` (or any exception that is not an `AgentzooError`) for a failure the code
should see as `ToolError`; any other `AgentzooError` (a budget, a replay divergence) ends the
action, kills the worker and propagates.
"""

GRACE_SECONDS = 2.0        # after the worker's own interrupt, how long before the host kills
OUTPUT_SETTLE_SECONDS = 2.0
MAX_MESSAGE_BYTES = 64 << 20
DISK_CHECK_SECONDS = 0.25  # tiers without a size-limited tmpfs: how often the work directory is measured
STARTUP_OUTPUT_BYTES = 20_000  # what a worker that fails to start said, for the error message
STATE_LOST = "the interpreter state (variables, imports, files in the work directory) was lost"


class _Capture:
    """One action's stdout or stderr: kept up to a cap, counted beyond it, ended by a marker."""

    def __init__(self, cap: int, marker: bytes | None) -> None:
        self.cap = cap
        self.marker = marker
        self.kept = bytearray()
        self.dropped = 0
        self.pending = b""  # bytes that could be the start of the marker
        self.ended = asyncio.Event()

    def feed(self, chunk: bytes) -> None:
        if self.ended.is_set():
            return
        data = self.pending + chunk
        if self.marker is not None:
            at = data.find(self.marker)
            if at >= 0:
                self._keep(data[:at])
                self.pending = b""
                self.ended.set()
                return
            hold = len(self.marker) - 1
            self.pending = data[-hold:] if hold else b""
            data = data[:-hold] if hold else data
        self._keep(data)

    def _keep(self, data: bytes) -> None:
        room = self.cap - len(self.kept)
        if room > 0:
            self.kept += data[:room]
        self.dropped += max(0, len(data) - max(room, 0))

    def text(self) -> str:
        return bytes(self.kept + self.pending).decode("utf-8", errors="replace")


class Sandbox:
    """A persistent, isolated Python interpreter for model-written code.

        async with Sandbox(tools=toolset) as sandbox:
            result = await sandbox.execute("x = add(1, 2)\\nprint(x)", call_tool=handler)

    `tier` is `auto` (the strongest that works here), `bwrap`, `landlock` or `unsafe`;
    `unsafe` and an `auto` that finds no isolation both need `allow_unsafe=True`.
    `tools` are OpenAI tool specs, `{name, description, parameters}` dicts or a `ToolSet`:
    each becomes a function in the code's namespace whose call is served by `call_tool`.
    `files` is a host directory copied into the work directory at start.
    """

    def __init__(self, *, tier: str = "auto", limits: Limits | None = None, tools: Iterable[Any] = (),
                 allow_unsafe: bool = False, files: str | None = None, env: dict[str, str] | None = None,
                 startup_timeout: float = 30.0) -> None:
        self.requested_tier = tier
        self.limits = limits or Limits()
        self.tools = _tool_specs(tools)
        self.allow_unsafe = allow_unsafe
        self.files = files
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.report: TierReport | None = None
        self.worker_report: dict[str, Any] = {}
        self.actions_in_worker = 0
        self.restarts = 0
        self._proc: WorkerProcess | None = None
        self._plan: LaunchPlan | None = None
        self._messages: asyncio.StreamReader | None = None
        self._commands: asyncio.WriteTransport | None = None
        self._pumps: list[asyncio.Task[None]] = []
        self._captures: list[_Capture] = [_Capture(0, None), _Capture(0, None)]
        self._lock = asyncio.Lock()
        self._staged: str | None = None

    @property
    def tier(self) -> str:
        """The tier in use (after `start`), e.g. `bwrap`."""
        if self.report is None:
            raise SandboxError("the sandbox has not been started; call `await sandbox.start()`")
        return self.report.name

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def start(self) -> None:
        """Choose the tier (or raise `SandboxUnavailable`) and start the worker."""
        if self.report is None:
            self.report = await asyncio.to_thread(choose, self.requested_tier, self.allow_unsafe)
        if self._proc is None:
            await self._spawn()

    # --- the worker process ---------------------------------------------------------------

    async def _spawn(self) -> None:
        assert self.report is not None
        loop = asyncio.get_running_loop()
        cmd_r, cmd_w = os.pipe()
        msg_r, msg_w = os.pipe()
        launch = plan(self.report.name, self.limits, tools=self.tools, files=self._readable_files(), env=self.env,
                      cmd_fd=cmd_r, msg_fd=msg_w)
        self._plan = launch
        try:
            self._proc = await WorkerProcess.start(launch.argv, pass_fds=(cmd_r, msg_w), env=launch.env,
                                                   cwd=launch.cwd, user=launch.user)
        except OSError as exc:
            for fd in (cmd_r, cmd_w, msg_r, msg_w):
                os.close(fd)
            self._release_plan()
            raise SandboxError(f"could not start the {launch.tier} sandbox worker: {exc}") from exc
        finally:
            if self._proc is not None:
                os.close(cmd_r)
                os.close(msg_w)
        self._messages = asyncio.StreamReader(limit=MAX_MESSAGE_BYTES, loop=loop)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self._messages),
                                     os.fdopen(msg_r, "rb", buffering=0))
        self._commands, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(cmd_w, "wb", buffering=0))
        self._captures = [_Capture(STARTUP_OUTPUT_BYTES, None), _Capture(STARTUP_OUTPUT_BYTES, None)]
        self._pumps = [asyncio.create_task(self._pump(stream, i))
                       for i, stream in enumerate((self._proc.stdout, self._proc.stderr))]
        self.actions_in_worker = 0
        self._send(launch.config)
        try:
            message = await asyncio.wait_for(self._receive(), self.startup_timeout)
        except (asyncio.TimeoutError, SandboxError) as exc:
            stderr = self._captures[1].text()
            await self._kill()
            raise SandboxError(f"the {launch.tier} sandbox worker did not start: {exc}; "
                               f"its stderr: {stderr.strip()[-2000:] or '(empty)'}") from None
        if message.get("op") != "ready":
            await self._kill()
            raise SandboxError(f"the {launch.tier} sandbox worker failed to start: {message.get('error', message)}")
        self.worker_report = message.get("report", {})

    def _readable_files(self) -> str | None:
        """`files`, or a copy the sandbox user can read when that user is not us (a root host)."""
        if not self.files or sandbox_uid() == os.geteuid():
            return self.files
        if self._staged is None:
            self._staged = tempfile.mkdtemp(prefix="agentzoo-files-")
            os.chmod(self._staged, 0o755)
            shutil.copytree(self.files, self._staged, dirs_exist_ok=True, symlinks=True)
            os.chmod(self._staged, 0o755)  # copytree gave it the source's mode
            for root, dirs, files in os.walk(self._staged):
                for name in dirs:
                    os.chmod(os.path.join(root, name), 0o755)
                for name in files:
                    path = os.path.join(root, name)
                    if not os.path.islink(path):
                        os.chmod(path, 0o644 | (os.stat(path).st_mode & 0o111))
        return self._staged

    async def _pump(self, stream: asyncio.StreamReader | None, index: int) -> None:
        assert stream is not None
        while chunk := await stream.read(1 << 16):
            self._captures[index].feed(chunk)

    def _send(self, message: dict[str, Any]) -> None:
        assert self._commands is not None
        self._commands.write(orjson.dumps(message) + b"\n")

    async def _receive(self) -> dict[str, Any]:
        assert self._messages is not None
        try:
            line = await self._messages.readline()
        except (ValueError, asyncio.LimitOverrunError):
            raise SandboxError(f"the worker sent a message over {MAX_MESSAGE_BYTES} bytes") from None
        if not line:
            raise SandboxError("the worker exited")
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise SandboxError(f"the worker sent a line that is not JSON: {line[:200]!r}") from None
        if not isinstance(message, dict):
            raise SandboxError(f"the worker sent a message that is not an object: {line[:200]!r}")
        return message

    async def _kill(self, wait: float = 0.0) -> str:
        """End the worker and everything it started; say how it ended.

        `wait`: the worker is on its way out (it closed its pipe); give it that long to exit
        by itself, so that we report its own exit status rather than our kill.
        """
        proc = self._proc
        if proc is None:
            return "not running"
        if wait and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), wait)
            except asyncio.TimeoutError:
                pass
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # bwrap, or the worker and its process group
            except ProcessLookupError:
                pass
        code = await proc.wait()
        await self._close_pipes()
        self._proc = None
        return _describe_exit(code)

    async def _close_pipes(self) -> None:
        if self._commands is not None:
            self._commands.close()
            self._commands = None
        for task in self._pumps:
            try:
                await asyncio.wait_for(task, 1.0)
            except (asyncio.TimeoutError, Exception):
                task.cancel()
        self._pumps = []
        self._release_plan()

    def _release_plan(self) -> None:
        """What the launch held for the worker, once it is gone (or never started): its folder and its uid."""
        if self._plan is not None and self._plan.base_dir:
            shutil.rmtree(self._plan.base_dir, ignore_errors=True)
        if self._plan is not None and self._plan.uid_lease is not None:
            self._plan.uid_lease.release()  # the worker and its processes are gone: another sandbox may have it

    # --- one action -----------------------------------------------------------------------

    async def execute(self, code: str, *, call_tool: ToolHandler | None = None, timeout: float | None = None,
                      fresh: bool = False) -> ExecResult:
        """Run `code` in the persistent interpreter; never raises for what the code did.

        `fresh=True` runs it instead in a new process forked from the worker's clean state, with
        new globals and a new directory, all gone after it: independent programs (a benchmark's
        tests) share one sandbox without seeing each other, at a fork's cost, not a start-up's.
        """
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, got {type(code).__name__}")
        async with self._lock:
            if self.report is None:
                await self.start()
            notes: list[str] = []
            if self._proc is None:
                await self._spawn()
            started = time.perf_counter()
            wall = timeout if timeout is not None else self.limits.wall_seconds
            nonce = secrets.token_hex(8)
            marker = b"\0AZEND" + nonce.encode() + b"\0"
            cap = self.limits.output_bytes
            self._captures[0] = _Capture(cap, marker)
            self._captures[1] = _Capture(cap, marker)
            self._send({"op": "exec", "code": code, "nonce": nonce, "wall_seconds": wall, "fresh": fresh})
            self.actions_in_worker += 1
            try:
                done = await self._serve(call_tool, nonce, wall, started + wall + GRACE_SECONDS)
            except _WorkerGone as gone:
                return self._lost(started, gone.why, notes)
            await self._settle_output()
            if done.get("killed"):
                notes.append(f"{done['killed']} process(es) the action left running were killed")
            if done.get("stray_threads"):
                await self._kill()
                self.restarts += 1
                notes.append(f"the action left {done['stray_threads']} thread(s) running; the sandbox was "
                             f"restarted and {STATE_LOST}")
            return self._result(done, started, state_lost=bool(done.get("stray_threads")), notes=notes)

    async def _serve(self, call_tool: ToolHandler | None, nonce: str, wall: float,
                     deadline: float) -> dict[str, Any]:
        """Answer the worker's tool calls until it says `done` for this action; kill it at the deadline.

        The code can write to the worker's pipe too: a `done` without this action's nonce is a
        forgery (or a leftover) and is dropped, so results never shift onto the next action.
        """
        watch_disk = self._plan is not None and self._plan.base_dir is not None
        disk_limit = (self.limits.disk_mb + self.limits.tmp_mb) << 20
        while True:
            remaining = deadline - time.perf_counter()
            wait = min(remaining, DISK_CHECK_SECONDS) if watch_disk else remaining
            try:
                message = await asyncio.wait_for(self._receive(), max(wait, 0.001))
            except asyncio.TimeoutError:
                if watch_disk and remaining > DISK_CHECK_SECONDS:
                    await self._check_disk(disk_limit)
                    continue
                await self._kill()
                raise _WorkerGone(f"the action did not stop within {wall} s (and a grace "
                                  f"of {GRACE_SECONDS} s after the interrupt), so the sandbox was killed") from None
            except SandboxError as exc:
                how = await self._kill(wait=0.5)
                raise _WorkerGone(f"the sandbox worker died ({how}); {exc}") from None
            op = message.get("op")
            if op == "done" and message.get("nonce") == nonce:
                # measured once more at the end: an action can write past the limit between two checks (on an
                # idle machine 256 MB of zeros take less than one check interval) and finish before the next
                if watch_disk:
                    await self._check_disk(disk_limit)
                return message
            if op == "call":
                reply = await self._call(call_tool, message)
                if self._commands is not None:
                    self._send(reply)

    async def _check_disk(self, limit: int) -> None:
        """Nothing while the work directory holds at most `limit` bytes; over it, the worker is killed
        and `_WorkerGone` says so (the action's result reads `DiskLimitExceeded`, its state lost)."""
        used = await asyncio.to_thread(_disk_usage, self._plan.base_dir)  # type: ignore[union-attr]
        if used <= limit:
            return
        await self._kill()
        raise _WorkerGone(f"the action wrote {used >> 20} MB, over the disk limit of {limit >> 20} MB, so the "
                          "sandbox was killed") from None

    async def _call(self, call_tool: ToolHandler | None, message: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = {"op": "result", "id": message.get("id")}
        name, args = str(message.get("name")), message.get("args")
        if call_tool is None:
            return {**reply, "ok": False, "error": {"type": "ToolError", "message": f"no tools are served here ({name})"}}
        if not isinstance(args, dict):
            return {**reply, "ok": False, "error": {"type": "ToolError", "message": "arguments must be an object"}}
        try:
            value = await call_tool(name, args)
        except ToolError as exc:
            kind = getattr(exc, "error_type", None) or type(exc).__name__  # e.g. ApprovalDenied
            return {**reply, "ok": False, "error": {"type": kind, "message": str(exc)}}
        except AgentzooError:
            await self._kill()  # a budget or a replay problem ends the action, not just the call
            raise
        except Exception as exc:
            return {**reply, "ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}}
        try:
            orjson.dumps(value)
        except TypeError as exc:
            return {**reply, "ok": False, "error": {"type": "TypeError", "message": f"the tool's result is not JSON: {exc}"}}
        return {**reply, "ok": True, "value": value}

    async def _settle_output(self) -> None:
        waits = [c.ended.wait() for c in self._captures]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), OUTPUT_SETTLE_SECONDS)
        except asyncio.TimeoutError:
            pass  # the code closed its stdout or stderr: what came is all there is

    def _lost(self, started: float, why: str, notes: list[str]) -> ExecResult:
        self.restarts += 1
        kind = ("TimeoutError" if "did not stop" in why else "DiskLimitExceeded" if "disk limit" in why
                else "WorkerCrashed")
        error = {"type": kind, "message": f"{why}; {STATE_LOST}; the next action starts a fresh interpreter",
                 "traceback": ""}
        return self._result({"ok": False, "error": error}, started, state_lost=True, notes=notes)

    def _result(self, done: dict[str, Any], started: float, *, state_lost: bool, notes: list[str]) -> ExecResult:
        out, err = self._captures
        tier = self.tier
        if tier == "unsafe":
            notes = ["UNSAFE: this code ran without isolation, as asked (allow_unsafe=True)", *notes]
        return ExecResult(
            ok=bool(done.get("ok")), stdout=out.text(), stderr=err.text(), error=done.get("error"), tier=tier,
            duration_s=round(time.perf_counter() - started, 6), limits=self.limits.to_json(),
            state_lost=state_lost, answered=bool(done.get("answered")), answer=done.get("answer"),
            stdout_dropped=out.dropped, stderr_dropped=err.dropped, notes=notes)

    async def restart(self) -> None:
        """Throw away the interpreter state and start a fresh worker."""
        async with self._lock:
            await self._kill()
            await self._spawn()
            self.restarts += 1

    async def close(self) -> None:
        """Stop the worker; safe to call twice."""
        async with self._lock:
            if self._proc is not None and self._proc.returncode is None and self._commands is not None:
                self._send({"op": "shutdown"})
                try:
                    await asyncio.wait_for(self._proc.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
            await self._kill()
            if self._staged is not None:
                shutil.rmtree(self._staged, ignore_errors=True)
                self._staged = None


def _disk_usage(path: str) -> int:
    """Bytes under `path` (allocated blocks, so sparse files count what they really take)."""
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


class _WorkerGone(Exception):
    def __init__(self, why: str) -> None:
        self.why = why


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        meaning = {"SIGXCPU": "the CPU time limit was reached", "SIGKILL": "killed",
                   "SIGSEGV": "a segmentation fault", "SIGXFSZ": "the file size limit was reached"}.get(name, "")
        return f"signal {name}" + (f": {meaning}" if meaning else "")
    return f"exit status {code}"


def _tool_specs(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Tool specs as `{name, description, parameters}`, from a ToolSet, tools, OpenAI specs or plain dicts."""
    items = tools.specs() if hasattr(tools, "specs") else list(tools)
    specs = []
    for item in items:
        if hasattr(item, "name") and hasattr(item, "parameters"):  # a Tool (e.g. made with @tool)
            item = {"name": item.name, "description": getattr(item, "description", ""), "parameters": item.parameters}
        spec = item.get("function", item) if isinstance(item, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].isidentifier():
            raise SandboxError(f"a sandbox tool is a Tool, a ToolSet or a spec dict whose name is a Python "
                               f"identifier; got {item!r}")
        specs.append({"name": spec["name"], "description": spec.get("description", ""),
                      "parameters": spec.get("parameters") or {"type": "object", "properties": {}}})
    return specs
