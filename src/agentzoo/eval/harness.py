"""Run an eval: samples concurrently under a bound, resumable, infrastructure errors apart.

- A sample whose row is in the store is not run again; one without a row (never started, or
  died half way) runs from the start under a new run id. The row is written last, in one
  transaction, after scoring.
- Provider and sandbox failures (`InfraError`) are retried `retries` times and counted apart
  from task failures; after `max_infra_errors` of them the eval stops with a clear message.
- Ctrl-C once: no new samples start, running ones are cancelled (they have no row, so a rerun
  of the same command picks them up), and what finished is written out.
- `workers` > 1: the samples run in that many processes of this machine (`eval.workers`), with
  the same rows, resume and retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import ensure_folder
from ..envs.base import Environment, ScoringContext
from ..errors import AgentzooError
from ..runtime.gc_tuning import tune_for_many_runs
from ..runtime.journal import Journal
from ..sandbox.pool import SandboxPool
from ..runtime.spec import AgentSpec
from .matrix import Sample
from .sample import InfraError, ModelPool, run_sample
from .store import ResultStore


class InfraErrorBudgetExceeded(AgentzooError):
    """Too many provider or sandbox failures: the eval stopped early."""


@dataclass
class Progress:
    """What the live display shows; updated as samples finish. `done`, `succeeded` and `cost_usd`
    count the samples run this time; `skipped` those an earlier run of the eval finished, of which
    `skipped_succeeded` succeeded at `skipped_cost_usd`."""

    total: int
    skipped: int = 0
    done: int = 0
    succeeded: int = 0
    cost_usd: float = 0.0
    infra_errors: int = 0
    started_at: float = field(default_factory=time.monotonic)
    skipped_succeeded: int = 0
    skipped_cost_usd: float = 0.0

    @property
    def success_rate(self) -> float | None:
        """Of the samples run this time."""
        return self.succeeded / self.done if self.done else None

    @property
    def eval_success_rate(self) -> float | None:
        """Of every sample of the eval with a row, those run before this time too (what its report says)."""
        finished = self.skipped + self.done
        return (self.skipped_succeeded + self.succeeded) / finished if finished else None

    @property
    def eval_cost_usd(self) -> float:
        return self.skipped_cost_usd + self.cost_usd


@dataclass
class EvalConfig:
    out: Path
    concurrency: int = 4
    retries: int = 2
    max_infra_errors: int = 20
    agents: dict[str, AgentSpec] = field(default_factory=dict)
    """Agent label → spec template (model, episode and seed are filled per sample); a label not here
    is read as an agent name with default options."""
    scoring: ScoringContext = field(default_factory=ScoringContext)
    env_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Environment name → how it was made (`name`, `tasks_file`, `options`), stored in each run's spec so
    that replay, resume and fork can open the same episode."""
    workers: int = 1
    """Processes that run samples (`eval.workers`); 1 runs them in this process, on one event loop."""


    journal: str | Path | None = None
    """Where the runs go: a journal file or a PostgreSQL URL (`Journal` takes either); None is
    `out/journal.db`."""

    def journal_location(self) -> str | Path:
        return self.out / "journal.db" if self.journal is None else self.journal

Attempt = Callable[[Sample], Awaitable[dict[str, Any]]]
"""Runs one sample once: its row, or `InfraError` (retried by `run_samples`)."""
Backend = Callable[[list[Sample]], AbstractAsyncContextManager[Attempt]]
"""Given the samples to run, sets up what running them needs and gives the attempt function."""


async def run_eval(samples: list[Sample], envs: dict[str, Environment], config: EvalConfig,
                   on_progress: Callable[[Progress, dict[str, Any] | None], None] | None = None,
                   meta: dict[str, Any] | None = None) -> Progress:
    """Run every sample that has no row yet, in this process (or in `config.workers` processes);
    rows go to `config.out / results.db`."""
    tune_for_many_runs()  # many runs at once: keep the cyclic collector off the long-lived objects

    @asynccontextmanager
    async def local(todo: list[Sample]) -> AsyncIterator[Attempt]:
        journal = Journal(config.journal_location())
        models = ModelPool.empty()
        sandboxes = SandboxPool(config.concurrency, tier=config.scoring.tier, limits=config.scoring.limits,
                                allow_unsafe=config.scoring.allow_unsafe)
        scoring = dataclasses.replace(config.scoring, pool=sandboxes)  # started only if a scorer needs one
        try:
            yield lambda sample: run_sample(sample, envs[sample.env], journal, models, config.agents, scoring,
                                                config.env_sources)
        finally:
            await models.aclose()
            await sandboxes.aclose()
            journal.close()

    if config.workers > 1:
        from .workers import run_in_processes

        return await run_in_processes(samples, envs, config, local, on_progress, meta)
    return await run_samples(samples, config, local, on_progress, meta)


async def run_samples(samples: list[Sample], config: EvalConfig, backend: Backend,
                      on_progress: Callable[[Progress, dict[str, Any] | None], None] | None = None,
                      meta: dict[str, Any] | None = None) -> Progress:
    """Skip samples with a row, run the rest through `backend(todo)` (an async context manager that
    gives the attempt function), retrying infrastructure errors under the budget; write the rows."""
    with open_results(samples, config, on_progress, meta) as ledger:
        await run_todo(ledger, config, backend)
    return ledger.progress


class Ledger:
    """What one run of an eval's samples keeps: the samples left to run, the result rows (written
    as samples end), the progress and the infrastructure-error budget. `run_todo` and the
    processes of `eval.workers` keep it alike."""

    def __init__(self, store: ResultStore, todo: list[Sample], progress: Progress, config: EvalConfig,
                 on_progress: Callable[[Progress, dict[str, Any] | None], None] | None) -> None:
        self.store, self.todo, self.progress, self.config, self.on_progress = store, todo, progress, config, on_progress

    def failed(self, sample: Sample, exc: InfraError, attempt: int) -> dict[str, Any] | None:
        """Count the infrastructure failure of `sample`'s attempt number `attempt` (from 0). Raises
        `InfraErrorBudgetExceeded` past the budget; the infra-error row when out of retries (a rerun
        runs it again), else None: run it again."""
        self.progress.infra_errors += 1
        if self.progress.infra_errors > self.config.max_infra_errors:
            raise InfraErrorBudgetExceeded(
                f"{self.progress.infra_errors} infrastructure errors (provider or sandbox failures), "
                f"over the budget of {self.config.max_infra_errors}; the last: {exc}. Finished "
                "samples are kept: fix the cause and run the same command again") from None
        return _infra_row(sample, exc.error, attempt + 1) if attempt == self.config.retries else None

    def finished(self, row: dict[str, Any], attempts: int) -> None:
        """Write the row of a sample that ended (after `attempts` attempts) and count it."""
        row["attempts"] = attempts
        self.store.put(row, time.time())
        self.progress.done += 1
        self.progress.succeeded += bool(row["success"])
        self.progress.cost_usd += row.get("cost_usd") or 0.0
        if self.on_progress is not None:
            self.on_progress(self.progress, row)

    def started(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress, None)


@contextmanager
def open_results(samples: list[Sample], config: EvalConfig,
                 on_progress: Callable[[Progress, dict[str, Any] | None], None] | None = None,
                 meta: dict[str, Any] | None = None) -> Iterator[Ledger]:
    """The results store of `config.out` (the eval's `meta` written), and the samples without a row."""
    ensure_folder(config.out, "results folder")  # a file there, or a read-only parent: a clear error
    store = ResultStore(config.out / "results.db")
    try:
        if meta is not None:
            store.set_meta("eval", meta)
        done = store.done()
        todo = [s for s in samples if s.key not in done]
        earlier = [done[s.key] for s in samples if s.key in done]  # not rows of samples this eval no longer has
        progress = Progress(total=len(samples), skipped=len(earlier), skipped_succeeded=sum(ok for ok, _ in earlier),
                            skipped_cost_usd=sum(cost for _, cost in earlier))
        yield Ledger(store, todo, progress, config, on_progress)
    finally:
        store.close()


async def run_todo(ledger: Ledger, config: EvalConfig, backend: Backend) -> None:
    """Run the samples left, `concurrency` at a time, through the backend's attempt function."""
    stop = asyncio.Event()
    async with backend(ledger.todo) as attempt_once:
        limit = asyncio.Semaphore(config.concurrency)

        async def one(sample: Sample) -> None:
            async with limit:
                if stop.is_set():
                    return
                for attempt in range(config.retries + 1):
                    try:
                        row = await attempt_once(sample)
                        break
                    except InfraError as exc:
                        try:
                            recorded = ledger.failed(sample, exc, attempt)
                        except InfraErrorBudgetExceeded:
                            stop.set()
                            raise
                        if recorded is not None:
                            row = recorded
                ledger.finished(row, attempt + 1)

        tasks = [asyncio.create_task(one(s)) for s in ledger.todo]
        try:
            ledger.started()
            await asyncio.gather(*tasks)
        except BaseException:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise


def _infra_row(sample: Sample, error: dict[str, Any], attempts: int) -> dict[str, Any]:
    """A sample that failed for infrastructure reasons on every attempt: recorded, not scored as the task's."""
    return {"key": sample.key, "env": sample.env, "task": sample.task.id, "agent": sample.agent,
            "model": sample.model, "seed": sample.seed, "run_id": None, "reward": 0.0, "success": False,
            "score": {}, "answer": None, "status": "infra_error", "error": error, "input_tokens": 0,
            "output_tokens": 0, "cost_usd": 0.0, "unpriced_calls": 0, "model_calls": 0, "tool_calls": 0,
            "wall_seconds": 0.0, "model_latencies": [], "scopes": {}, "infra_error": True, "attempts": attempts}
