"""One sample: build its model and agent, run it as a journal run, score it, make its row."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..envs.base import Environment, ScoringContext
from ..errors import SandboxError
from ..models.registry import parse_model
from ..runtime.journal import Journal
from ..runtime.runner import run
from .agents import AgentOptions, make_agent
from .matrix import Sample

ORACLE = "oracle"
ORACLE_NOTE = ("model 'oracle' answers from each task's gold solution: it checks the harness and the scorers, "
               "never a model")
# Failures that are not the task's: the provider or the sandbox broke. Retried, counted apart.
INFRA_ERRORS = ("ProviderError", "AuthenticationError", "RateLimitError", "QuotaExceededError", "ServerError",
                "ProviderTimeout", "ProviderConnectionError", "ProtocolError", "SandboxError", "BadRequestError")


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

    def get(self, spec: str, env: Environment, sample: Sample) -> Any:
        if spec == ORACLE:
            from ..recipes._oracle import oracle_model  # a recipe's roles are played from the gold

            return oracle_model(sample.agent, env, sample.task)
        if spec.startswith("scripted:"):
            return parse_model(spec)  # a script is consumed as it plays: one per sample
        if spec not in self.models:
            self.models[spec] = parse_model(spec)
        return self.models[spec]

    async def aclose(self) -> None:
        for model in self.models.values():
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()


async def run_sample(sample: Sample, env: Environment, journal: Journal, models: ModelPool,
                     options: AgentOptions, scoring: ScoringContext) -> dict[str, Any]:
    """Run and score one sample; its row. Raises `InfraError` when the failure was not the task's."""
    episode = env.episode(sample.task)
    model = models.get(sample.model, env, sample)
    agent = make_agent(sample.agent, model, episode, sample.seed, options)
    config = {"eval": sample.key, "env": sample.env, "task": sample.task.id, "agent": sample.agent,
              "model": sample.model, "seed": sample.seed}
    started = time.monotonic()
    result = await run(agent, episode.prompt or sample.task.prompt, journal=journal, config=config, label=sample.key)
    if result.error and result.error.get("type") in INFRA_ERRORS:
        raise InfraError(sample, result.error)
    try:
        score = await env.score(episode, result.answer if result.ok else None, scoring)
    except SandboxError as exc:  # the scorer's sandbox broke: not the agent's failure
        raise InfraError(sample, {"type": "SandboxError", "message": str(exc)}) from exc
    latencies = [e.duration_s for e in journal.entries(result.run_id) if e.kind == "model" and e.duration_s]
    return {
        "key": sample.key, "env": sample.env, "task": sample.task.id, "agent": sample.agent, "model": sample.model,
        "seed": sample.seed, "run_id": result.run_id, "reward": score.reward, "success": score.success,
        "score": score.details, "answer": result.answer, "status": result.status, "error": result.error,
        "input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens,
        "cost_usd": result.cost_usd, "unpriced_calls": result.unpriced_calls, "model_calls": result.model_calls,
        "tool_calls": result.tool_calls, "wall_seconds": round(time.monotonic() - started, 6),
        "model_latencies": latencies, "scopes": journal.usage_by_scope(result.run_id),
    }

