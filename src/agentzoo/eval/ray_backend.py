"""Run an eval's samples as Ray tasks: `agentzoo eval --backend ray` (needs `pip install 'agentzoo[ray]'`).

    progress = await run_eval_ray(samples, envs, config, on_progress, meta=meta)   # as run_eval

Same contract as `harness.run_eval`: a sample with a row in `results.db` is skipped; each attempt
of a sample is one Ray task that runs it in its own event loop and returns its row; the driver
(this process) alone writes rows, counts infrastructure errors, retries them `retries` times,
stops past `max_infra_errors` and calls `on_progress`; at most `concurrency` samples are in
flight. So the rows are those `run_eval` writes, but for run ids and timings.

In a Ray task: the environment is the driver's object, sent once (`ray.put`) and unpickled once
per worker process; the agent kinds the samples name are sent as the driver registered them (so
agents registered at run time work too); the journal is `out/journal.db`, opened by the task in
the worker process and closed at its end (SQLite in WAL mode takes writers from several
processes; the driver keeps a connection open too). A Ray worker that dies mid-sample (killed,
out of memory) counts as an infrastructure error of that sample, as a provider failure does;
Ray's own task retries are off.

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
from typing import Any

from ..envs.base import Environment, ScoringContext
from ..errors import ConfigError
from ..runtime.journal import Journal
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
        journal = Journal(config.out / "journal.db")  # the schema exists before any worker opens the file
        started = False
        try:
            if todo and not ray.is_initialized():
                _init(ray)
                started = True
            yield _ray_attempt(ray, todo, envs, config) if todo else _nothing
        finally:
            journal.close()
            if started:
                ray.shutdown()

    return await run_samples(samples, config, backend, on_progress, meta)


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


def _ray_attempt(ray: Any, todo: list[Sample], envs: dict[str, Environment], config: EvalConfig) -> Attempt:
    """The function that runs one attempt of a sample as a Ray task and awaits its row."""
    env_refs = {name: ray.put(envs[name]) for name in dict.fromkeys(s.env for s in todo)}
    registered = dict(REGISTERED)  # builders registered from Python in the driver, for the workers
    journal_path = str((config.out / "journal.db").resolve())
    remote = ray.remote(_run_in_worker).options(num_cpus=1, max_retries=0)
    died = tuple(getattr(ray.exceptions, name) for name in ("WorkerCrashedError", "NodeDiedError",
                                                            "LocalRayletDiedError"))

    async def attempt(sample: Sample) -> dict[str, Any]:
        # The env's ref goes in a list so that Ray passes the ref, not the env: the worker keeps envs by ref.
        ref = remote.remote(sample, [env_refs[sample.env]], registered, journal_path, config.agents, config.scoring,
                            config.env_sources)
        try:
            result = await asyncio.wrap_future(ref.future())
        except asyncio.CancelledError:
            ray.cancel(ref)
            raise
        except died as exc:
            raise InfraError(sample, {"type": type(exc).__name__,
                                      "message": f"the Ray worker running the sample died: {exc}"}) from None
        if "infra_error" in result:
            raise InfraError(sample, result["infra_error"])
        return result["row"]

    return attempt


# --- in the Ray worker ------------------------------------------------------------------------

_ENVS: dict[str, Environment] = {}
"""This worker process's environments, by the hex of the driver's object ref."""


def _run_in_worker(sample: Sample, env_box: list[Any], registered: dict[str, Any], journal_path: str,
                   agents: dict[str, AgentSpec], scoring: ScoringContext,
                   env_sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One attempt of one sample, in a Ray worker: `{"row": ...}` or `{"infra_error": {...}}`."""
    env = _env(env_box[0])
    REGISTERED.update(registered)
    return asyncio.run(_attempt_in_worker(sample, env, journal_path, agents, scoring, env_sources))


def _env(ref: Any) -> Environment:
    key = ref.hex()
    env = _ENVS.get(key)
    if env is None:
        import ray

        env = _ENVS[key] = ray.get(ref)
        while len(_ENVS) > _ENV_CACHE_SIZE:
            _ENVS.pop(next(iter(_ENVS)))
    return env


async def _attempt_in_worker(sample: Sample, env: Environment, journal_path: str, agents: dict[str, AgentSpec],
                             scoring: ScoringContext, env_sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    journal = Journal(journal_path)
    models = ModelPool.empty()
    try:
        return {"row": await run_sample(sample, env, journal, models, agents, scoring, env_sources)}
    except InfraError as exc:
        return {"infra_error": exc.error}
    finally:
        await models.aclose()
        journal.close()
