"""One sample: build its model and agent, run it as a journal run, score it, make its row."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

from ..envs.base import Environment, ScoringContext
from ..errors import AgentzooError, SandboxError, error_to_json
from ..models.registry import parse_model
from ..runtime.entry import Entry
from ..runtime.gateway import model_attempts
from ..runtime.journal import Journal, tally_usage
from ..runtime.runner import run
from ..runtime.secrets import mask_text
from ..runtime.spec import AgentSpec
from ..builder import model_kwargs, oracle_agent
from .agents import start_agent, template
from .matrix import Sample

ORACLE = "oracle"
ORACLE_NOTE = ("model 'oracle' answers from each task's gold solution: it checks the harness and the scorers, "
               "never a model")



class InfraError(Exception):
    """A sample failed for reasons outside the task (provider, sandbox); the harness retries it."""

    def __init__(self, sample: Sample, error: dict[str, Any]) -> None:
        super().__init__(f"{sample.key}: {error.get('type')}: {error.get('message')}")
        self.error = error


@dataclass
class ModelPool:
    """Real models are made once per model string and shared by every sample (one HTTP pool)."""

    models: dict[str, Any]

    @classmethod
    def empty(cls) -> ModelPool:
        return cls({})

    def get(self, spec: str, env: Environment, sample: Sample, agent: str | None = None, **options: Any) -> Any:
        """The model for one sample; `agent` is the agent kind the oracle plays for (default: the label)."""
        if spec == ORACLE:
            from ..recipes._oracle import oracle_model  # a recipe's roles are played from the gold

            return oracle_model(agent or sample.agent, env, sample.task)
        if spec.startswith("scripted:"):
            return parse_model(spec, **options)  # a script is consumed as it plays: one per sample
        key = spec if not options else f"{spec}|{sorted(options.items())}"
        if key not in self.models:
            self.models[key] = parse_model(spec, **options)
        return self.models[key]

    async def aclose(self) -> None:
        for model in self.models.values():
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()


async def run_sample(sample: Sample, env: Environment, journal: Journal, models: ModelPool,
                     agents: Mapping[str, AgentSpec], scoring: ScoringContext,
                     env_sources: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run and score one sample; its row. Raises `InfraError` when the failure was not the task's."""
    episode = env.episode(sample.task)
    spec = template(sample.agent, agents)
    model = None
    if not spec.models:  # a model per role: the builder makes them for this sample
        model = models.get(sample.model, env, sample, oracle_agent(spec), **model_kwargs(sample.model, spec))
    try:
        built = await start_agent(sample, env, episode, model, agents, env_sources)
    except AgentzooError as exc:
        if exc.infrastructure:  # an MCP server that did not start this time
            raise InfraError(sample, error_to_json(exc)) from exc
        raise
    started = time.monotonic()
    calls = _RunTally()
    try:
        result = await run(built.agent, episode.prompt or sample.task.prompt, journal=journal,
                           config=built.spec.to_config(), budgets=built.budgets, label=sample.key,
                           listeners=[calls])
    finally:
        await built.aclose()
    if result.error and result.error.get("infrastructure"):  # the provider or the sandbox broke
        raise InfraError(sample, result.error)
    try:
        score = await env.score(episode, result.answer if result.ok else None, scoring)
    except SandboxError as exc:  # the scorer's sandbox broke: not the agent's failure
        raise InfraError(sample, {"type": "SandboxError", "message": str(exc)}) from exc
    return {
        "key": sample.key, "env": sample.env, "task": sample.task.id, "agent": sample.agent, "model": mask_text(sample.model),
        "seed": sample.seed, "run_id": result.run_id, "reward": score.reward, "success": score.success,
        "score": score.details, "answer": result.answer, "status": result.status, "error": result.error,
        "input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens,
        "cost_usd": result.cost_usd, "unpriced_calls": result.unpriced_calls, "model_calls": result.model_calls,
        "tool_calls": result.tool_calls, "wall_seconds": round(time.monotonic() - started, 6),
        "model_retries": calls.retries, "model_latencies": calls.latencies,
        "scopes": calls.usage_by_scope(journal, result.run_id),
    }


class _RunTally:
    """A run's listener: the latency of each model call that took time, the retries of all, and the
    usage per scope (`Journal.usage_by_scope`), as its entries are recorded. Reading them back from
    the journal cost a tenth of an oracle sample; asking it for the usage (a commit, then a GROUP BY
    query) showed as 8 % of an eval's profile. A sample's run is live, so every entry of it passes here
    once, as it is written; but an effect cut mid-way (cancelled, or past a budget) passes only its
    start, and one with side effects leaves a `started` entry in the journal: then the usage is read
    from the journal."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.retries = 0
        self._entries: list[tuple[str, str, int, int, int, float | None, bool]] = []
        self._open: set[tuple[str, int]] = set()
        """Effects started live whose entry has not passed here (yet)."""

    def on_start(self, scope: str, seq: int, kind: str, name: str) -> None:
        self._open.add((scope, seq))

    def __call__(self, entry: Entry, served: bool) -> None:
        self._open.discard((entry.scope, entry.seq))
        usage = entry.usage
        self._entries.append((entry.scope, entry.kind, entry.seq, usage.input_tokens, usage.output_tokens,
                              entry.cost_usd, entry.status == "ok" and entry.cost_usd is None))
        if entry.kind == "model":
            if entry.duration_s:
                self.latencies.append(entry.duration_s)
            self.retries += model_attempts(entry) - 1

    def usage_by_scope(self, journal: Journal, run_id: str) -> dict[str, dict[str, Any]]:
        """What `journal.usage_by_scope(run_id)` returns, in its order (by scope, then kind); costs are summed
        in seq order."""
        if self._open:
            return journal.usage_by_scope(run_id)
        out: dict[str, dict[str, Any]] = {}
        for (scope, kind), group in groupby(sorted(self._entries), key=itemgetter(0, 1)):
            n = input_tokens = output_tokens = unpriced = 0
            cost = 0.0
            for _, _, _, tin, tout, cost_usd, no_price in group:
                n += 1
                input_tokens += tin
                output_tokens += tout
                cost += cost_usd or 0.0
                unpriced += no_price
            tally_usage(out, scope, kind, n, input_tokens, output_tokens, cost, unpriced)
        return out
