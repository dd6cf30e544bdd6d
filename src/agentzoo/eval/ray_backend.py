"""Run an eval's samples as Ray tasks: `agentzoo eval --backend ray` (needs `pip install 'agentzoo[ray]'`).

    progress = await run_eval_ray(samples, envs, config, on_progress, meta=meta)   # as run_eval

Same contract as `harness.run_eval`: a sample with a row in `results.db` is skipped; each attempt
of a sample is one Ray task that runs it in its own event loop and returns its row; the driver
(this process) alone writes rows, counts infrastructure errors, retries them `retries` times,
stops past `max_infra_errors` and calls `on_progress`; at most `concurrency` samples are in
flight. So the rows are those `run_eval` writes, but for run ids and timings.

In a Ray task: the environment is the driver's object, sent once (`ray.put`) and unpickled once
per worker process; the agent kinds the samples name are sent as the driver registered them (so
agents registered at run time work too).

The journal: the nodes of a cluster need not share a filesystem. With the eval's SQLite journal
(`out/journal.db`, on the driver's disk only), a task runs its sample into a journal of its own in
memory and sends the run back with the row, as stored (`Journal.run_record`: plain values); the
driver writes the run (`Journal.add_run_record`, one transaction), then the row. So a row never
points at a run the journal lacks, and resume is as in `run_eval`: a sample with a row is not run
again, one whose run or row was never written runs again. The runs of an attempt that failed for
infrastructure reasons come back and are written too, as `run_eval` keeps them; a worker that
dies mid-sample sends nothing, so its partial run is not in the journal. A journal that every
node can open itself (a PostgreSQL URL: a database server, not a file) is written by the tasks
directly, and nothing is sent back; a task that cannot reach it is an infrastructure error.

A Ray worker that dies mid-sample (killed, out of memory) counts as an infrastructure error of
that sample, as a provider failure does; Ray's own task retries are off.

Ray: an instance this process already joined (`ray.init(...)` by the caller) is used as it is;
otherwise one is started for the eval and shut down after it, local (`num_cpus=2`, no dashboard),
or the cluster at `$RAY_ADDRESS` when that is set. Each task asks for one CPU, so samples run
`min(concurrency, CPUs)` at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..envs.base import Environment, ScoringContext
from ..errors import ConfigError, JournalUnavailableError
from ..runtime.event_loop import run_loop
from ..runtime.journal import Journal
from ..runtime.stores import is_url
from ..catalog import REGISTERED
from ..runtime.spec import AgentSpec
from .harness import Attempt, EvalConfig, Progress, run_samples
from .matrix import Sample
from .sample import InfraError, ModelPool, run_sample

LOCAL_CPUS = 2
"""CPUs of the local Ray instance started when none is running (one sample per CPU at a time)."""
_ENV_CACHE_SIZE = 4

async def run_eval_ray(samples: list[Sample], envs: dict[str, Environment], config: EvalConfig,
                       on_progress: Callable[[Progress, dict[str, Any] | None], None] | None = None,
                       meta: dict[str, Any] | None = None) -> Progress:
    """Run every sample that has no row yet as Ray tasks; rows go to `config.out / results.db`."""
    ray = _import_ray()

    @asynccontextmanager
    async def backend(todo: list[Sample]) -> AsyncIterator[Attempt]:
        location = _journal_location(config)
        journal = Journal(location)
        shared = _is_shared(location)
        started = False
        try:
            if todo and not ray.is_initialized():
                _init(ray)
                started = True
            yield _ray_attempt(ray, todo, envs, config, journal, str(location) if shared else None) if todo \
                else _nothing
        finally:
            journal.close()
            if started:
                ray.shutdown()

    return await run_samples(samples, config, backend, on_progress, meta)


def _journal_location(config: EvalConfig) -> str | Path:
    """Where the eval's journal is: the driver opens it, and so do the tasks if it is shared (a
    PostgreSQL URL, `eval --journal`)."""
    return config.journal_location()


def _is_shared(location: str | Path) -> bool:
    """Whether every node can write to this journal itself: a database server's URL (PostgreSQL). A
    file is not: other nodes may not see the driver's disk, and SQLite over a network filesystem is
    unsafe."""
    return is_url(location)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install 'agentzoo[ray]'") from None
    return ray


def _init(ray: Any) -> None:
    if os.environ.get("RAY_ADDRESS"):
        ray.init(logging_level=logging.WARNING)
    else:
        ray.init(num_cpus=LOCAL_CPUS, include_dashboard=False, logging_level=logging.WARNING)


async def _nothing(sample: Sample) -> dict[str, Any]:  # pragma: no cover - never called: nothing to do
    raise AssertionError(sample.key)


def _ray_attempt(ray: Any, todo: list[Sample], envs: dict[str, Environment], config: EvalConfig,
                 journal: Journal, shared_location: str | None) -> Attempt:
    """The function that runs one attempt of a sample as a Ray task, writes the runs it sends back
    to `journal` (none when the tasks write to the journal at `shared_location` themselves) and
    gives its row."""
    env_refs = {name: ray.put(envs[name]) for name in dict.fromkeys(s.env for s in todo)}
    registered = dict(REGISTERED)  # builders registered from Python in the driver, for the workers
    remote = ray.remote(_run_in_worker).options(num_cpus=1, max_retries=0)
    died = tuple(getattr(ray.exceptions, name) for name in ("WorkerCrashedError", "NodeDiedError",
                                                            "LocalRayletDiedError"))

    async def attempt(sample: Sample) -> dict[str, Any]:
        # The env's ref goes in a list so that Ray passes the ref, not the env: the worker keeps envs by ref.
        ref = remote.remote(sample, [env_refs[sample.env]], registered, shared_location, config.agents,
                            config.scoring, config.env_sources)
        try:
            result = await asyncio.wrap_future(ref.future())
        except asyncio.CancelledError:
            ray.cancel(ref)
            raise
        except died as exc:
            raise InfraError(sample, {"type": type(exc).__name__,
                                      "message": f"the Ray worker running the sample died: {exc}"}) from None
        for record in result.get("runs", ()):  # before the row: a row always finds its run
            journal.add_run_record(record)
        if "infra_error" in result:
            raise InfraError(sample, result["infra_error"])
        return result["row"]

    return attempt


# --- in the Ray worker ------------------------------------------------------------------------

_ENVS: dict[str, Environment] = {}
"""This worker process's environments, by the hex of the driver's object ref."""


def _run_in_worker(sample: Sample, env_box: list[Any], registered: dict[str, Any], shared_location: str | None,
                   agents: dict[str, AgentSpec], scoring: ScoringContext,
                   env_sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One attempt of one sample, in a Ray worker: `{"row": ...}` or `{"infra_error": {...}}`, and
    unless the journal is shared, the attempt's runs as records (`"runs"`)."""
    env = _env(env_box[0])
    REGISTERED.update(registered)
    return run_loop(_attempt_in_worker(sample, env, shared_location, agents, scoring, env_sources))


def _env(ref: Any) -> Environment:
    key = ref.hex()
    env = _ENVS.get(key)
    if env is None:
        import ray

        env = _ENVS[key] = ray.get(ref)
        while len(_ENVS) > _ENV_CACHE_SIZE:
            _ENVS.pop(next(iter(_ENVS)))
    return env


async def _attempt_in_worker(sample: Sample, env: Environment, shared_location: str | None,
                             agents: dict[str, AgentSpec], scoring: ScoringContext,
                             env_sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    try:
        # Not shared: a journal of this attempt alone, in memory; its runs go back to the driver whole.
        journal = _shared_journal(shared_location) if shared_location is not None else Journal(":memory:")
    except JournalUnavailableError as exc:  # the server is down or out of this node's reach: retried
        return {"infra_error": {"type": type(exc).__name__, "message": str(exc)}}  # the URL's password masked
    models = ModelPool.empty()
    try:
        try:
            out: dict[str, Any] = {"row": await run_sample(sample, env, journal, models, agents, scoring,
                                                            env_sources)}
        except InfraError as exc:
            out = {"infra_error": exc.error}
        if shared_location is None:
            out["runs"] = _run_records(journal)
        return out
    finally:
        await models.aclose()
        if shared_location is None:  # a shared one stays open for the next sample: the run's last
            journal.close()            # status write committed all of it


_SHARED: dict[str, Journal] = {}
"""This worker process's connection to a shared journal, by URL: one login (~50 ms over TCP) serves
every sample it runs, as one connection serves the whole eval in `run_eval`. A connection that
breaks is opened again by the store."""


def _shared_journal(location: str) -> Journal:
    journal = _SHARED.get(location)
    if journal is None:
        journal = _SHARED[location] = Journal(location)
    return journal


def _run_records(journal: Journal) -> list[dict[str, Any]]:
    """Every run in a journal, oldest first (so a fork comes after the run it forks), as records."""
    limit = 64
    while len(runs := journal.list_runs(limit)) == limit:  # a sample makes one run, or a few
        limit *= 8
    return [journal.run_record(run.run_id) for run in reversed(runs)]
