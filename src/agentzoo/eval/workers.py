"""Run an eval's samples in several processes of this machine: `agentzoo eval --workers N`.

One event loop runs on one core; a harness-bound eval (the oracle, local scorers) needs more.
`run_in_processes` is `harness.run_samples` spread over N processes: the same ledger (`Ledger`:
skip samples with a row, retry infrastructure errors under the same budget, write the rows, count
the progress) is kept by the eval's own process (the parent), which alone writes `results.db`.

The N processes are the parent, which runs samples too (through the in-process backend: it is on
a core anyway, and it works while the others start), and N - 1 worker processes; each runs its
share of `concurrency` at once. The parent hands the samples out in order from one queue: its own
runners take the next when theirs ends, and a worker holds a few more samples than it runs, so
that its next one is there when one ends and it does not wait for the parent (busy with its own). Per sample that is one
small message each way: the parent does no more for a worker's sample than write its row.
Each worker process:

- is a fresh interpreter (no fork of a parent that has threads and open databases), started with
  the parent's `sys.path`, that receives once the environments (pickled, as Ray ships them: the
  parent's objects, so an environment changed from Python is the one that runs), the agent specs,
  the agent kinds registered from Python and the scoring context;
- runs the samples it is sent on its own event loop, with its own models, its own sandbox pool and
  its own journal: a part of the eval's journal file that only it writes, merged into the file when
  the eval ends or the file is next opened (`runtime.stores.sqlite_parts`; two processes committing
  to one SQLite file cost each a third more CPU), or its own connection to a PostgreSQL journal;
- answers each sample with its row, its `InfraError`'s details, or the exception it raised (the
  same typed error as in one process, sent back pickled; one that cannot be is a `WorkerError`).

A worker that dies (killed, out of memory) fails every sample it was running with an `InfraError`
("WorkerDied"): they are retried like a provider failure (first, on the parent or on a worker
started in the dead one's place), and out of retries they get an infra-error row that a rerun
runs again; the samples it held but had not started go back to the queue, no error. Ctrl-C
reaches the parent only (workers run in a session of their own, and ignore SIGINT): it cancels
the samples in flight, which have no row, so a rerun of the same command runs them; closing a worker's input stops it, and a worker
whose parent died stops too (its input reaches end of file).

The wire is length-prefixed pickle over the worker's stdin and (a copy of) its stdout, between
this process and children it started from the same installation; nothing is stored pickled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import itertools
import os
import pickle
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._loading import file_modules, load_file_module
from ..errors import AgentzooError, ConfigError
from ..runtime.event_loop import run_loop
from ..runtime.stores import is_url, open_store
from ..runtime.stores.sqlite_parts import Part
from .matrix import Sample
from .sample import InfraError, ModelPool, run_sample

if TYPE_CHECKING:  # the harness imports this module when it needs it
    from .harness import Attempt, Backend, EvalConfig, Ledger, Progress

_HEADER = 4  # bytes of a frame's length, big-endian
_WAITING = 8  # samples a worker holds beyond those it runs: more than it ends while the parent is busy
_PARENT_PART = 1.0  # of an even share of `concurrency`, what the parent runs itself (it also serves the workers)
_STOP_SECONDS = 10.0  # how long a closing worker may take to finish before it is killed
_START_SECONDS = 300.0  # a worker not ready by then (an import that hangs) fails the eval instead of stalling it
# The worker's first line: the parent's import path before anything is imported, then serve. The collector
# is off until the setup is in (imports and unpickling make only long-lived objects: collecting them was 3 %
# of the start-up's instructions), then tuned as the parent is.
_BOOT = ("import gc, sys; gc.disable(); sys.path[:] = sys.argv[1:]; from agentzoo.eval.workers import serve; "
         "serve()")


class WorkerError(AgentzooError):
    """An eval worker process failed outside a sample (it could not start), or a sample raised an
    error that could not be sent back as itself (the message carries its type, text and traceback)."""


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


async def run_in_processes(samples: list[Sample], envs: dict[str, Any], config: EvalConfig, in_process: Backend,
                           on_progress: Callable[[Progress, dict[str, Any] | None], None] | None = None,
                           meta: dict[str, Any] | None = None) -> Progress:
    """Run every sample that has no row yet in `config.workers` processes: this one (through
    `in_process`, the one-process backend) and `workers - 1` worker processes; the rows go to
    `config.out / results.db` as `harness.run_samples` writes them. No more processes than samples
    may run at once (`concurrency`) or are left to run: with one, no worker gets a sample."""
    from .harness import open_results, run_todo

    # The worker processes are started first: a fresh interpreter's imports (~0.2 s) then overlap this
    # process's own setup (reading the results store, pickling the samples). Those not needed, because
    # fewer samples are left than the eval has, are stopped before they get any.
    started: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(min(config.workers, config.concurrency, len(samples)) - 1):
            started.append(await _spawn())
        with open_results(samples, config, on_progress, meta) as ledger:
            count = min(config.workers, config.concurrency, len(ledger.todo))
            needed = max(count - 1, 0)
            await _stop(started[needed:])
            del started[needed:]
            if count <= 1:
                await run_todo(ledger, config, in_process)
                return ledger.progress
            mine = max(1, int(config.concurrency / count * _PARENT_PART))
            share = -(-(config.concurrency - mine) // (count - 1))  # rounded up
            setup = _setup(ledger.todo, envs, config, share)
            try:
                async with in_process(ledger.todo) as here:
                    await _Scheduler(ledger, here, mine, count - 1, share, setup, started).run()
            finally:  # the workers have ended: what they wrote beside a journal file goes into it
                if not is_url(location := config.journal_location()):
                    open_store(location).close()
    finally:  # started but never handed a sample (the results store could not be read, Ctrl-C)
        await _stop(started)
    return ledger.progress


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


class _Scheduler:
    """Hands the samples left, in order, to this process's `mine` runners and to the workers, and
    keeps the ledger as they end: one message each way per sample, no task or future per sample."""

    def __init__(self, ledger: Ledger, here: Attempt, mine: int, workers: int, share: int, setup: bytes,
                 started: list[asyncio.subprocess.Process]) -> None:
        self.ledger, self.here, self.mine, self.count, self.share, self.setup = ledger, here, mine, workers, share, setup
        self.started = started
        """Worker processes started ahead and not yet given their setup; a worker takes one, else starts its own."""
        self.queue: deque[tuple[int, int]] = deque((number, 0) for number in range(len(ledger.todo)))
        """(sample's number in the todo list, attempts so far) of the samples to hand out."""
        self.out = 0
        """Samples handed out and not ended."""
        self.workers: list[_Worker] = []
        self.changed = asyncio.Event()  # a sample came back to the queue, or all ended
        self.ended = asyncio.Event()

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._run_here()) for _ in range(self.mine)]
        tasks += [asyncio.create_task(self._run_worker()) for _ in range(self.count)]
        ended = asyncio.create_task(self.ended.wait())
        self.ledger.started()
        self._check_end()
        try:
            alive = {*tasks, ended}
            while not ended.done():
                done, alive = await asyncio.wait(alive, return_when=asyncio.FIRST_COMPLETED)
                for task in done - {ended}:
                    task.result()  # a failure (an error, the budget, a worker that cannot start) ends the eval
        finally:
            for task in (*tasks, ended):
                task.cancel()
            await asyncio.gather(*tasks, ended, return_exceptions=True)
            await asyncio.gather(*(worker.close() for worker in self.workers))

    # This process's runners: each runs one sample at a time.

    async def _run_here(self) -> None:
        while True:
            while not self.queue:
                if self.ended.is_set():
                    return
                self.changed.clear()
                await self.changed.wait()
            number, attempt = self._take()
            try:
                row = await self.here(self.ledger.todo[number])
            except InfraError as exc:
                self.failed(number, attempt, exc)
            else:
                self.finished(row, attempt)

    # The workers: each is started, fed, read and, if it dies, replaced.

    async def _run_worker(self) -> None:
        while not self.ended.is_set():
            try:
                proc = self.started.pop() if self.started else None
                worker = await asyncio.wait_for(_Worker.start(self.setup, self.share, proc), _START_SECONDS)
            except asyncio.TimeoutError:
                raise WorkerError(f"an eval worker process was not ready after {_START_SECONDS:g} s") from None
            self.workers.append(worker)
            await worker.serve(self)  # until it dies; its samples are counted or back in the queue
            self.workers.remove(worker)

    # What the runners and the workers report.

    def _take(self) -> tuple[int, int]:
        self.out += 1
        return self.queue.popleft()

    def finished(self, row: dict[str, Any], attempt: int) -> None:
        self.out -= 1
        self.ledger.finished(row, attempt + 1)
        self._check_end()

    def failed(self, number: int, attempt: int, exc: InfraError) -> None:
        """An infrastructure failure: counted under the budget, then the sample runs again (first)
        or, out of retries, gets its infra-error row."""
        self.out -= 1
        recorded = self.ledger.failed(self.ledger.todo[number], exc, attempt)
        if recorded is not None:
            self.ledger.finished(recorded, attempt + 1)
            self._check_end()
        else:
            self.give_back([(number, attempt + 1)])

    def give_back(self, items: list[tuple[int, int]]) -> None:
        """Samples to run (again), before the others."""
        self.queue.extendleft(reversed(items))
        for worker in self.workers:
            worker.feed(self)
        self.changed.set()

    def _check_end(self) -> None:
        if not self.queue and not self.out:
            self.ended.set()
            self.changed.set()


class _Worker:
    """One worker process as the parent sees it: the samples it holds, by the key they were sent under."""

    def __init__(self, proc: asyncio.subprocess.Process, share: int) -> None:
        self.proc, self.share = proc, share
        self.room = share + _WAITING  # it runs `share` at once; its next ones wait there, so it never waits for us
        self.holds: dict[int, tuple[int, int]] = {}
        """key → (sample's number, attempts so far); keys grow in the order samples are sent."""
        self.dead = False
        self._keys = itertools.count()

    @classmethod
    async def start(cls, setup: bytes, share: int, proc: asyncio.subprocess.Process | None = None) -> _Worker:
        """A worker that is ready, having received `setup` (it runs `share` samples at once): `proc`, a
        process `_spawn` started, or a new one."""
        if proc is None:
            proc = await _spawn()
        worker = cls(proc, share)
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
        return worker

    def feed(self, scheduler: _Scheduler) -> None:
        while len(self.holds) < self.room and scheduler.queue and not self.dead:
            key = next(self._keys)
            self.holds[key] = number_attempt = scheduler._take()
            _send(self.proc.stdin, ("run", key, number_attempt[0]))

    async def serve(self, scheduler: _Scheduler) -> None:
        """Feed it and take its replies until it ends; an error a sample raised is raised here."""
        self.feed(scheduler)
        try:
            while True:
                kind, key, value = await _receive(self.proc.stdout)
                number, attempt = self.holds.pop(key)
                if kind == "row":
                    scheduler.finished(value, attempt)
                elif kind == "infra":
                    scheduler.failed(number, attempt, InfraError(scheduler.ledger.todo[number], value))
                else:  # the eval stops, as in one process
                    raise value
                self.feed(scheduler)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # it ended
        except (pickle.UnpicklingError, ValueError, TypeError, KeyError):  # not a reply: it is of no more use
            traceback.print_exc()
            self.proc.kill()
        self.dead = True
        self.proc.stdin.close()
        await self.proc.wait()
        self._died(scheduler)

    def _died(self, scheduler: _Scheduler) -> None:
        """Every reply it wrote has been read: of the samples it held, it had started the first
        `share` (in the order they came) and those are infrastructure errors; the others never ran
        and go back to the queue as they were."""
        code = self.proc.returncode
        how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 and -code in
               signal.valid_signals() else f"exit status {code}")
        held = [self.holds[key] for key in sorted(self.holds)]
        self.holds.clear()
        scheduler.out -= len(held)
        scheduler.give_back(held[self.share:])
        for number, attempt in held[:self.share]:
            sample = scheduler.ledger.todo[number]
            scheduler.out += 1  # `failed` counts it out again
            scheduler.failed(number, attempt, InfraError(sample, {
                "type": "WorkerDied", "message": f"the eval worker process {self.proc.pid} running the sample died ({how})"}))

    async def close(self) -> None:
        """Ask it to stop (end of its input); kill it if it does not within `_STOP_SECONDS`."""
        if self.proc.returncode is None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), _STOP_SECONDS)
            except asyncio.TimeoutError:
                await self.kill()

    async def kill(self) -> None:
        await _kill(self.proc)


async def _spawn() -> asyncio.subprocess.Process:
    """A worker process, started: it imports what it needs, then waits for its setup. In a session of its
    own, so that a Ctrl-C at the terminal reaches the parent only, even while the worker still imports
    (it ignores SIGINT from then on): the parent stops its workers."""
    return await asyncio.create_subprocess_exec(sys.executable, "-c", _BOOT, *sys.path, start_new_session=True,
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    """Kill worker processes that were started and never given their setup (no sample of theirs to lose)."""
    for proc in procs:
        await _kill(proc)


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
    run_loop(_serve(out))


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
        gc.enable()
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

        REGISTERED.update(setup["registered"])
        self.samples: list[Sample] = setup["samples"]
        self.envs, self.agents, self.env_sources = setup["envs"], setup["agents"], setup["env_sources"]
        scoring = setup["scoring"]
        self.share: int = setup["share"]
        self.sandboxes = SandboxPool(self.share, tier=scoring.tier, limits=scoring.limits,
                                     allow_unsafe=scoring.allow_unsafe)
        self.scoring = dataclasses.replace(scoring, pool=self.sandboxes)  # started only if a scorer needs one
        self.models = ModelPool.empty()
        # A journal file is not written by two processes: this one writes a part of it, merged in
        # when the eval ends (`runtime.stores.sqlite_parts`); a server takes every worker's writes.
        location, self.part = setup["journal"], None
        if not is_url(location):
            self.part = Part(Path(location))
            location = self.part.path
        self.journal = Journal(location)

    async def run(self, key: int, sample: Sample, writer: asyncio.StreamWriter) -> None:
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
            if self.part is not None:
                self.part.release()


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
