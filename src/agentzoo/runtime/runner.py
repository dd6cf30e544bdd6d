"""Running an agent as a recorded run: `run`, `replay`, `resume`, `fork`.

Each builds a gateway in the right mode around the same agent program, so the four differ
only in where effects come from. Failures the run can cause (budgets, step limits, model or
tool errors) end the run with status `failed` and are returned in the result; bugs and
interrupts are recorded and re-raised.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .. import _json
from .._version import __version__
from ..errors import AgentzooError, error_to_json
from ..protocols import Agent, DeltaCallback
from ..types import Usage
from .budgets import Budget
from .context import Context
from .entry import RunInfo
from .gateway import CURRENT_GATEWAY, Gateway, Listener
from .journal import Journal, new_run_id
from . import gc_tuning, secrets
from .pricing import Pricing


@dataclass
class RunResult:
    """The outcome of one run."""

    run_id: str
    status: str
    """`finished` or `failed` (`interrupted` runs raise)."""
    answer: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The agent's final conversation, in OpenAI chat shape."""
    error: dict[str, Any] | None = None
    """`{"type", "message"}` when failed."""
    usage: Usage = Usage()
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    """Model calls whose model has no known price (their cost is not in `cost_usd`)."""
    model_calls: int = 0
    tool_calls: int = 0
    live_effects: int = 0
    """Effects performed for real in this run (0 for a replay)."""
    fork_point: dict[str, Any] | None = None
    parent_id: str | None = None
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "finished"


def config_hash(config: dict[str, Any]) -> str:
    return _json.request_hash(config)[:16]


async def run(agent: Agent, task: str, *, journal: Journal | None = None, config: dict[str, Any] | None = None,
              budgets: dict[str, Budget] | Budget | None = None, pricing: Pricing | None = None,
              listeners: list[Listener] | None = None, on_delta: DeltaCallback | None = None,
              run_id: str | None = None, label: str | None = None, max_consecutive_tool_errors: int = 10) -> RunResult:
    """Run `agent` on `task` live, recording every effect. Without a journal, an in-memory one is used."""
    journal = journal if journal is not None else Journal(":memory:")
    run_id = run_id or new_run_id()
    if config is None:  # an agent made by `agentzoo.builder.build` knows its spec: the run can rebuild itself
        spec = getattr(agent, "agentzoo_spec", None)
        config = spec.to_config() if spec is not None else None
    info = _new_info(run_id, task, config, label)
    journal.create_run(info, commit=False)  # written with the run's first commit
    gateway = Gateway(run_id=run_id, journal=journal, mode="live", budgets=budgets, pricing=pricing,
                      listeners=listeners, max_consecutive_tool_errors=max_consecutive_tool_errors)
    return await _drive(agent, task, gateway, journal, on_delta)


async def replay(agent: Agent, run_id: str, *, journal: Journal, listeners: list[Listener] | None = None,
                 budgets: dict[str, Budget] | Budget | None = None, pricing: Pricing | None = None) -> RunResult:
    """Re-run the agent program serving every effect from the journal; nothing is performed or written."""
    info = journal.get_run(run_id)
    gateway = Gateway(run_id=info.run_id, journal=journal, mode="replay", budgets=budgets, pricing=pricing,
                      listeners=listeners)
    return await _drive(agent, info.task or "", gateway, None, None)


async def resume(agent: Agent, run_id: str, *, journal: Journal, listeners: list[Listener] | None = None,
                 budgets: dict[str, Budget] | Budget | None = None, pricing: Pricing | None = None,
                 on_delta: DeltaCallback | None = None, rerun_interrupted: bool = False) -> RunResult:
    """Finish a run that stopped: serve its recorded prefix, then continue live under the same id."""
    info = journal.get_run(run_id)
    for _ in journal.entries(info.run_id):  # a damaged entry is an error now, before the run row is touched
        pass
    journal.set_run_status(info.run_id, "running")
    gateway = Gateway(run_id=info.run_id, journal=journal, mode="resume", budgets=budgets, pricing=pricing,
                      listeners=listeners, rerun_interrupted=rerun_interrupted)
    return await _drive(agent, info.task or "", gateway, journal, on_delta)


async def fork(agent: Agent, parent_id: str, *, journal: Journal, task: str | None = None,
               config: dict[str, Any] | None = None, listeners: list[Listener] | None = None,
               budgets: dict[str, Budget] | Budget | None = None, pricing: Pricing | None = None,
               on_delta: DeltaCallback | None = None, label: str | None = None) -> RunResult:
    """Re-run a changed agent: reuse the parent's effects until the first divergence, then go live
    under a new run id linked to the parent. The result says where it diverged."""
    parent = journal.get_run(parent_id)
    task = parent.task or "" if task is None else task
    info = _new_info(new_run_id(), task, config if config is not None else parent.config, label)
    info.parent_id = parent.run_id
    journal.create_run(info, commit=False)
    gateway = Gateway(run_id=info.run_id, journal=journal, mode="fork", source_run_id=parent.run_id,
                      budgets=budgets, pricing=pricing, listeners=listeners)
    result = await _drive(agent, task, gateway, journal, on_delta)
    if gateway.fork_point is not None:
        journal.set_fork_point(info.run_id, gateway.fork_point)
    result.parent_id = parent.run_id
    return result


def _new_info(run_id: str, task: str, config: dict[str, Any] | None, label: str | None) -> RunInfo:
    # Stored masked, like every entry: no secret values, no credentials in a model string's URL.
    config = secrets.mask_config(_json.loads(_json.dumps(config or {})))
    return RunInfo(run_id=run_id, created_at=time.time(), task=secrets.mask_text(task), config=config,
                   config_hash=config_hash(config), agentzoo_version=__version__, label=label)


async def _drive(agent: Agent, task: str, gateway: Gateway, journal: Journal | None,
                 on_delta: DeltaCallback | None) -> RunResult:
    """Run the agent program once under `gateway` and close the run row (unless replaying)."""
    ctx = Context(gateway, on_delta=on_delta)
    started = time.monotonic()
    result = RunResult(run_id=gateway.run_id, status="failed")
    token = CURRENT_GATEWAY.set(gateway)
    gc_tuning.run_started()
    try:
        outcome = await agent.run(task, ctx)
        result.status = "finished"
        if isinstance(outcome, str) or outcome is None:  # a plain answer is fine for small agents
            result.answer = outcome
        else:
            result.answer, result.messages = outcome.answer, list(outcome.messages)
    except AgentzooError as exc:
        result.error = error_to_json(exc)
    except (KeyboardInterrupt, asyncio.CancelledError):
        if journal is not None:
            journal.finish_run(gateway.run_id, status="interrupted", error={"type": "Interrupted", "message": ""})
        raise
    except BaseException as exc:
        if journal is not None:
            journal.finish_run(gateway.run_id, status="failed", error=error_to_json(exc))
        raise
    finally:
        CURRENT_GATEWAY.reset(token)
        gc_tuning.run_ended()
    result.usage, result.cost_usd, result.unpriced_calls = gateway.usage, gateway.cost_usd, gateway.unpriced_calls
    result.model_calls, result.tool_calls, result.live_effects = gateway.model_calls, gateway.tool_calls, gateway.live_effects
    result.fork_point = gateway.fork_point
    result.wall_seconds = time.monotonic() - started
    if journal is not None:  # one group commit with the other runs that end in this loop turn
        journal.finish_run(gateway.run_id, status=result.status, answer=result.answer, error=result.error,
                           commit=False)
        await journal.committed()
    for listener in gateway.listeners:  # e.g. OpenTelemetry ends the run's spans now, not at exit
        on_end = getattr(listener, "on_end", None)
        if on_end is not None:
            on_end(result)
    return result


