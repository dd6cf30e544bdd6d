"""Run an eval's samples in several processes of this machine: `agentzoo eval --workers N`.

One event loop runs on one core; a harness-bound eval (the oracle, local scorers) needs more. This
backend plugs into `harness.run_samples` as the in-process one and the Ray one do, so skipping
finished samples, retries, the infrastructure-error budget, progress and the result rows stay in
the eval's own process (the parent), which alone writes `results.db`.

The N processes are the parent, which runs samples too (through the in-process backend: it is on
a core anyway, and it works while the others start), and N - 1 worker processes. `concurrency`
is shared out: the parent takes half a share (it also reads every reply and writes every row: the
fewer of its own it runs at once, the sooner it answers), the workers the rest. A worker also holds
as many samples again, waiting, not running (`Attempt.queued`): its next ones are there when one
ends, so it does not wait for the parent between samples. A sample goes to the ready worker with
room and the fewest in flight, else to the parent if it has room, else waits for a worker to be
ready. Each worker process:

- is a fresh interpreter (no fork of a parent that has threads and open databases), started with
  the parent's `sys.path`, that receives once the environments (pickled, as Ray ships them: the
  parent's objects, so an environment changed from Python is the one that runs), the agent specs,
  the agent kinds registered from Python and the scoring context;
- runs the samples it is sent on its own event loop, with its own models, its own sandbox pool and
  its own connection to the eval's `journal.db` (SQLite in WAL mode: writers in several processes
  take turns, each commit is short);
- answers each sample with its row, its `InfraError`'s details, or the exception it raised (the
  same typed error as in one process, sent back pickled; one that cannot be is a `WorkerError`).

A worker that dies (killed, out of memory) fails every sample it was running with an `InfraError`
("WorkerDied"): they are retried like a provider failure (on the parent or on a worker started in
the dead one's place), and out of retries they get an infra-error row that a rerun runs again.
Ctrl-C reaches the parent only (workers ignore SIGINT): it cancels the samples in flight, which
have no row, so a rerun of the same command runs them; closing a worker's input stops it, and a
worker whose parent died stops too (its input reaches end of file).

The wire is length-prefixed pickle over the worker's stdin and (a copy of) its stdout, between
this process and children it started from the same installation; nothing is stored pickled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import pickle
import signal
import sys
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._loading import file_modules, load_file_module
from ..errors import AgentzooError, ConfigError
from .matrix import Sample
from .sample import InfraError

if TYPE_CHECKING:  # the harness imports this module when it needs it
    from .harness import Attempt, Backend, EvalConfig

_HEADER = 4  # bytes of a frame's length, big-endian
_PARENT_PART = 0.5  # of an even share of `concurrency`, what the parent runs itself (it also serves the workers)
_STOP_SECONDS = 10.0  # how long a closing worker may take to finish before it is killed
_START_SECONDS = 300.0  # a worker not ready by then (an import that hangs) fails the eval instead of stalling it
# The worker's first line: the parent's import path before anything is imported, then serve.
_BOOT = "import sys; sys.path[:] = sys.argv[1:]; from agentzoo.eval.workers import serve; serve()"


class WorkerError(AgentzooError):
    """An eval worker process failed outside a sample (it could not start), or a sample raised an
    error that could not be sent back as itself (the message carries its type, text and traceback)."""


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def process_backend(envs: dict[str, Any], config: EvalConfig, in_process: Backend) -> Backend:
    """The `Backend` that runs samples in `config.workers` processes: this one (through `in_process`,
    the one-process backend) and `workers - 1` worker processes. No more processes than samples may
    be in flight (`concurrency`) or are left to run; with one, no worker is started."""

    @asynccontextmanager
    async def backend(todo: list[Sample]) -> AsyncIterator[Attempt]:
        count = min(config.workers, config.concurrency, len(todo))
        async with in_process(todo) as here:
            if count <= 1:
                yield here
                return
            # The workers start in the background: this process runs samples while they import.
            mine = max(1, int(config.concurrency / count * _PARENT_PART))
            share = -(-(config.concurrency - mine) // (count - 1))  # rounded up
            pool = _Pool(count - 1, _setup(todo, envs, config, share), share, todo)
            local = _Local(here, mine)
            try:
                pool.start()

                async def attempt(sample: Sample) -> dict[str, Any]:
                    while True:
                        runner = pool.pick(local)
                        if runner is None:
                            await pool.next_ready()
                            continue
                        try:
                            return await runner.run(sample)
                        except _NotStarted:  # it waited in a worker that died: it goes elsewhere
                            continue

                attempt.queued = pool.queued  # type: ignore[attr-defined]
                yield attempt
            finally:
                await pool.close()

    return backend


class _Local:
    """This process as one of the eval's workers: the in-process attempt, with its samples counted."""

    def __init__(self, attempt: Attempt, share: int) -> None:
        self.attempt, self.share = attempt, share
        self.inflight = 0

    async def run(self, sample: Sample) -> dict[str, Any]:
        self.inflight += 1
        try:
            return await self.attempt(sample)
        finally:
            self.inflight -= 1


def _setup(todo: list[Sample], envs: dict[str, Any], config: EvalConfig, share: int) -> bytes:
    """What every worker needs, pickled once; what the samples need and cannot be sent is named."""
    from ..catalog import REGISTERED
    from .agents import template

    needed = {name: envs[name] for name in dict.fromkeys(s.env for s in todo)}
    kinds = {template(label, config.agents).agent for label in dict.fromkeys(s.agent for s in todo)}
    registered = {}
    for name, builder in REGISTERED.items():  # all that can go; one the samples name must
        if _sendable(builder, name in kinds, "agent kind registered from Python", name):
            registered[name] = builder
    for name, env in needed.items():
        _sendable(env, True, "environment", name)
    payload = pickle.dumps({
        "samples": todo, "envs": needed, "registered": registered, "agents": config.agents,
        "scoring": dataclasses.replace(config.scoring, pool=None), "env_sources": config.env_sources,
        "journal": _absolute(config.journal_location()), "share": share,
    }, protocol=pickle.HIGHEST_PROTOCOL)
    # Code loaded from files named on the command line is loaded by the worker first, under the same
    # module names, so that the payload's references to it resolve there.
    return pickle.dumps({"file_modules": file_modules(), "payload": payload}, protocol=pickle.HIGHEST_PROTOCOL)


def _sendable(value: Any, needed: bool, what: str, name: str) -> bool:
    try:
        pickle.dumps(value)
    except Exception as exc:
        if needed:
            raise ConfigError(f"the {what} {name!r} cannot be sent to a worker process ({type(exc).__name__}: "
                              f"{exc}); run the eval in one process (--workers 1)") from None
        return False
    return True


# --- the parent's side ------------------------------------------------------------------------


class _NotStarted(Exception):
    """The sample was sent to a worker that died before it started it."""


class _Worker:
    """One worker process as the parent sees it: what it runs, and its replies as they come."""

    def __init__(self, proc: asyncio.subprocess.Process, numbers: dict[int, int], share: int) -> None:
        self.proc, self.numbers, self.share = proc, numbers, share
        self.inflight: dict[int, tuple[asyncio.Future[dict[str, Any]], Sample]] = {}
        self.dead = False
        self._ids = itertools.count()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, setup: bytes, numbers: dict[int, int], share: int) -> _Worker:
        """A ready worker; `numbers` are the samples' places in the list `setup` holds (a sample is
        sent as its number); it runs `share` of the samples sent at once, in the order they came."""
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _BOOT, *sys.path,
                                                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        worker = cls(proc, numbers, share)
        try:
            _send(proc.stdin, setup, raw=True)
            await proc.stdin.drain()
            reply = await _receive(proc.stdout)
        except (asyncio.IncompleteReadError, ConnectionError):
            await worker.kill()
            raise WorkerError(f"an eval worker process ended before it started (status {proc.returncode}); "
                              "its error is printed above") from None
        except BaseException:
            await worker.kill()
            raise
        if reply[0] == "fatal":
            await worker.kill()
            if isinstance(reply[1], AgentzooError):
                raise reply[1]
            raise ConfigError(f"an eval worker process could not rebuild what the samples need: {reply[1]}; what "
                              "a script defines in itself cannot be loaded in another process: move it to a module, "
                              "or run the eval in one process (--workers 1)") from reply[1]
        worker._reader = asyncio.create_task(worker._read())
        return worker

    async def run(self, sample: Sample) -> dict[str, Any]:
        if self.dead:
            raise _NotStarted
        key = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.inflight[key] = (future, sample)
        try:
            try:
                _send(self.proc.stdin, ("run", key, self.numbers[id(sample)]))
                await self.proc.stdin.drain()
            except (ConnectionError, OSError):
                pass  # it died: the reader fails the future as it sees the end of its output
            return await future
        except asyncio.CancelledError:
            if not self.dead:
                try:
                    _send(self.proc.stdin, ("cancel", key))
                except (ConnectionError, OSError):
                    pass
            raise
        finally:
            self.inflight.pop(key, None)

    async def _read(self) -> None:
        try:
            while True:
                kind, key, value = await _receive(self.proc.stdout)
                future, sample = self.inflight.get(key, (None, None))
                if future is None or future.done():  # cancelled meanwhile
                    continue
                if kind == "row":
                    future.set_result(value)
                elif kind == "infra":
                    future.set_exception(InfraError(sample, value))
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # it ended
        except Exception:  # it said something that is not a reply: it is of no more use
            traceback.print_exc()
            self.proc.kill()
        self.dead = True
        self.proc.stdin.close()
        await self.proc.wait()
        # Every reply it wrote has been read: of the samples left, it had started the first `share`
        # (it starts them in the order they came); the others never ran.
        for n, key in enumerate(sorted(self.inflight)):
            future, sample = self.inflight[key]
            if not future.done():
                future.set_exception(self._died(sample) if n < self.share else _NotStarted())

    def _died(self, sample: Sample) -> InfraError:
        code = self.proc.returncode
        how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 and -code in
               signal.valid_signals() else f"exit status {code}")
        return InfraError(sample, {"type": "WorkerDied", "message": f"the eval worker process {self.proc.pid} "
                                   f"running the sample died ({how})"})

    async def close(self) -> None:
        """Ask it to stop (end of its input); kill it if it does not within `_STOP_SECONDS`."""
        if self.proc.returncode is None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), _STOP_SECONDS)
            except asyncio.TimeoutError:
                await self.kill()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


class _Pool:
    """`count` worker processes, each running at most `share` samples at once and holding as many
    again, and this process.

    Workers start in the background while this process runs its share; a sample beyond it waits
    for a worker to be ready. A dead worker is replaced as the next sample is sent."""

    def __init__(self, count: int, setup: bytes, share: int, todo: list[Sample]) -> None:
        self.count, self.setup, self.share = count, setup, share
        self.room = 2 * share  # running and waiting
        self.queued = count * share
        # By identity: the harness hands over these very objects, and a sample's key costs a masking of its model.
        self.numbers = {id(sample): i for i, sample in enumerate(todo)}
        self.slots: list[asyncio.Task[_Worker]] = []

    def start(self) -> None:
        self.slots = [self._start() for _ in range(self.count)]

    def _start(self) -> asyncio.Task[_Worker]:
        async def started() -> _Worker:
            try:
                return await asyncio.wait_for(_Worker.start(self.setup, self.numbers, self.share), _START_SECONDS)
            except asyncio.TimeoutError:
                raise WorkerError(f"an eval worker process was not ready after {_START_SECONDS:g} s") from None

        return asyncio.create_task(started())

    def pick(self, local: _Local) -> _Local | _Worker | None:
        """The ready worker with room and the fewest samples in flight, else this process if it has
        room, else None (`next_ready`). A dead worker is replaced; one that could not start raises."""
        best: _Worker | None = None
        for i, slot in enumerate(self.slots):
            if not slot.done():
                continue
            worker = slot.result()  # a failed start raises here
            if worker.dead:
                self.slots[i] = self._start()
            elif len(worker.inflight) < self.room and (best is None or len(worker.inflight) < len(best.inflight)):
                best = worker
        if best is None and (local.inflight < local.share or all(slot.done() for slot in self.slots)):
            return local  # (the second: never, as the harness admits no more than all shares hold)
        return best

    async def next_ready(self) -> None:
        """Until a worker is ready (or could not start). The harness admits no more samples than
        all shares hold together, so one that finds no room waits for a worker being started."""
        await asyncio.wait([slot for slot in self.slots if not slot.done()], return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        for slot in self.slots:
            slot.cancel()  # a start still under way: its process is killed as it is cancelled
        done = await asyncio.gather(*self.slots, return_exceptions=True)
        await asyncio.gather(*(w.close() for w in done if isinstance(w, _Worker)))


# --- the wire ---------------------------------------------------------------------------------


def _send(stream: Any, message: Any, raw: bool = False) -> None:
    body = message if raw else pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(body).to_bytes(_HEADER, "big") + body)  # one write: frames never interleave


async def _receive(stream: asyncio.StreamReader) -> Any:
    size = int.from_bytes(await stream.readexactly(_HEADER), "big")
    return pickle.loads(await stream.readexactly(size))


# --- in the worker process --------------------------------------------------------------------


def serve() -> None:
    """A worker's main: the protocol on stdin and a copy of stdout; what the agents print goes to stderr."""
    out = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    asyncio.run(_serve(out))


async def _serve(out_fd: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0))
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                        os.fdopen(out_fd, "wb", buffering=0))
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    try:
        outer = await _receive(reader)
        for name, path in outer["file_modules"].items():
            load_file_module(name, path)
        state = _State(pickle.loads(outer["payload"]))
        from ..runtime.gc_tuning import tune_for_many_runs

        tune_for_many_runs()  # as the parent does: the setup is frozen out of the collector's way
    except Exception as exc:
        _send(writer, ("fatal", _portable(exc)))
        await writer.drain()
        raise SystemExit(1) from None
    _send(writer, ("ready", os.getpid(), None))
    # Samples start in the order they came, `share` at a time: the parent counts on that order to
    # tell, if this process dies, the samples that were running from those that were waiting.
    tasks: dict[int, asyncio.Task[None]] = {}
    waiting: dict[int, Sample] = {}

    def start_more(_done: object = None) -> None:
        while waiting and len(tasks) < state.share:
            key = next(iter(waiting))
            task = tasks[key] = asyncio.create_task(state.run(key, waiting.pop(key), writer))
            task.add_done_callback(lambda _t, key=key: (tasks.pop(key, None), start_more()))

    try:
        while True:
            try:
                kind, key, *rest = await _receive(reader)
            except asyncio.IncompleteReadError:  # the parent closed our input, or died
                break
            if kind == "run":
                waiting[key] = state.samples[rest[0]]
                start_more()
            elif kind == "cancel":
                if waiting.pop(key, None) is None and key in tasks:
                    tasks[key].cancel()
    finally:
        waiting.clear()
        for task in list(tasks.values()):
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await state.aclose()


class _State:
    """A worker's environments, journal, models and sandboxes, for every sample it runs."""

    def __init__(self, setup: dict[str, Any]) -> None:
        from ..catalog import REGISTERED
        from ..runtime.journal import Journal
        from ..sandbox.pool import SandboxPool
        from .sample import ModelPool

        REGISTERED.update(setup["registered"])
        self.samples: list[Sample] = setup["samples"]
        self.envs, self.agents, self.env_sources = setup["envs"], setup["agents"], setup["env_sources"]
        scoring = setup["scoring"]
        self.share: int = setup["share"]
        self.sandboxes = SandboxPool(self.share, tier=scoring.tier, limits=scoring.limits,
                                     allow_unsafe=scoring.allow_unsafe)
        self.scoring = dataclasses.replace(scoring, pool=self.sandboxes)  # started only if a scorer needs one
        self.models = ModelPool.empty()
        self.journal = Journal(setup["journal"])

    async def run(self, key: int, sample: Sample, writer: asyncio.StreamWriter) -> None:
        from .sample import run_sample

        try:
            row = await run_sample(sample, self.envs[sample.env], self.journal, self.models, self.agents,
                                   self.scoring, self.env_sources)
            reply: tuple[str, int, Any] = ("row", key, row)
        except InfraError as exc:
            reply = ("infra", key, exc.error)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # SystemExit too: it ends the eval, as in one process
            reply = ("error", key, _portable(exc))
        try:
            _send(writer, reply)
            await writer.drain()
        except (ConnectionError, OSError):  # the parent is gone: nobody to tell
            pass

    async def aclose(self) -> None:
        try:
            await self.models.aclose()
            await self.sandboxes.aclose()
        finally:
            self.journal.close()


def _portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling as itself, else a `WorkerError` that says what it was; either
    way with a note of the worker's traceback, which the parent cannot show by itself."""
    where = "".join(traceback.format_exception(exc)).rstrip()
    try:
        copy = pickle.loads(pickle.dumps(exc))
        if type(copy) is not type(exc) or str(copy) != str(exc):
            raise TypeError("changed on the way")
    except Exception:
        exc = WorkerError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    exc.__traceback__ = None
    exc.__cause__ = exc.__context__ = None
    exc.add_note(f"raised in eval worker process {os.getpid()}:\n{where}")
    return exc


def _absolute(location: str | Path) -> str:
    """A journal file as an absolute path (a worker may start elsewhere); a URL as it is."""
    return str(location.resolve()) if isinstance(location, Path) else location
