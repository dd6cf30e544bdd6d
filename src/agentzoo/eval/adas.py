"""ADAS candidates evaluated through the eval harness, their fitness from its statistics.

`HarnessEvaluator` is the `agentzoo.search.adas.evaluate.Evaluator` the search uses: a candidate's
code becomes an agent spec (`agent: adas`, the code in its options), run by `run_eval` on every task of
the validation slice (each task a sandboxed run in the harness's journal, scored by the environment),
in a results folder of its own named by a hash of the code and of what it is evaluated on. So an
evaluation cut half way finishes the samples left when it is asked for again, and a candidate
already evaluated is read back from its rows, not run again.

Fitness is ADAS's (`_mgsm/utils.py`, `bootstrap_confidence_interval`): 100,000 bootstrap resamples,
the 95% interval and the median of the resampled accuracies, computed with the harness's own
bootstrap (`stats.success_rate`: one sample per task, so tasks are resampled as ADAS resamples
outcomes); the median is the same resampling's 50% quantile (its interval at confidence 0).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .. import _json
from ..envs.base import Environment, ScoringContext, Task
from ..runtime.secrets import mask_text
from ..runtime.spec import AgentSpec, SandboxSpec, Sampling
from ..search.adas.evaluate import CONFIDENCE, RESAMPLES, Candidate, Evaluation, Fitness
from .agents import UNSET_MODEL
from .harness import EvalConfig, run_eval
from .matrix import expand_tasks
from .stats import success_rate
from .store import ResultStore

LABEL = "candidate"
"""The agent label of every candidate's samples (each candidate has its own results folder)."""


class HarnessEvaluator:
    """Evaluates candidates on `tasks` of `env` with `model`, each in `work/candidates/<hash>/`.

    `agent_options` go to every candidate's spec (`max_model_calls`, `task_seconds`), and so does
    `max_tokens` (a cap on each of its LLM calls' replies); `sandbox` says where the code runs;
    `model_options` set the model's client (how replies are read: not part of a candidate's folder);
    `concurrency`, `retries` and `max_infra_errors` are the harness's.
    """

    def __init__(self, env_name: str, env: Environment, tasks: list[Task], model: str, work: str | Path, *,
                 env_source: dict[str, Any] | None = None, concurrency: int = 4, retries: int = 2,
                 max_infra_errors: int = 20, sandbox: SandboxSpec | None = None,
                 agent_options: dict[str, Any] | None = None, max_tokens: int | None = None,
                 scoring: ScoringContext | None = None, model_options: dict[str, Any] | None = None) -> None:
        self.env_name, self.env, self.tasks, self.model, self.work = env_name, env, list(tasks), model, Path(work)
        self.model_options = dict(model_options or {})
        self.env_source = env_source or {"name": env_name, "tasks_file": None, "options": {}}
        self.concurrency, self.retries, self.max_infra_errors = concurrency, retries, max_infra_errors
        self.sandbox = sandbox or SandboxSpec()
        self.agent_options = dict(agent_options or {})
        self.max_tokens = max_tokens
        self.scoring = scoring or ScoringContext(tier=self.sandbox.tier, allow_unsafe=self.sandbox.allow_unsafe)

    def describe(self) -> dict[str, Any]:
        described = {"env": self.env_name, "tasks": [t.id for t in self.tasks], "model": mask_text(self.model),
                     "options": self.agent_options}
        if self.max_tokens is not None:
            described["max_tokens"] = self.max_tokens
        return described

    def folder(self, candidate: Candidate) -> Path:
        digest = hashlib.sha256(_json.dumps({"code": candidate.code, **self.describe()}, sort_keys=True)).hexdigest()
        return self.work / "candidates" / digest[:16]

    async def __call__(self, candidate: Candidate) -> Evaluation:
        out = self.folder(candidate)
        spec = AgentSpec(agent="adas", model=UNSET_MODEL, sandbox=self.sandbox, sampling=Sampling(max_tokens=self.max_tokens),
                         options={"code": candidate.code, "name": candidate.name, **self.agent_options},
                         model_options=self.model_options)
        samples = expand_tasks({self.env_name: self.tasks}, [LABEL], [self.model], 1)
        config = EvalConfig(out=out, concurrency=self.concurrency, retries=self.retries,
                            max_infra_errors=self.max_infra_errors, agents={LABEL: spec}, scoring=self.scoring,
                            env_sources={self.env_name: self.env_source})
        meta = {"name": f"ADAS candidate {candidate.name}", "envs": [self.env_name], "agents": [LABEL],
                "models": [mask_text(self.model)], "seeds": 1, "specs": {LABEL: spec.to_config()}}
        await run_eval(samples, {self.env_name: self.env}, config, meta=meta)
        store = ResultStore(out / "results.db")
        try:
            rows = {row["key"]: row for row in store.rows()}
        finally:
            store.close()
        return evaluation_of([rows.get(s.key) for s in samples], [t.id for t in self.tasks], str(out))


def evaluation_of(rows: list[dict[str, Any] | None], task_ids: list[str], where: str) -> Evaluation:
    """Outcomes in task order, the first failure of the code, the cost, and the fitness."""
    outcomes, error, failed = [], None, 0
    cost = {"model_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
    for task_id, row in zip(task_ids, rows, strict=True):
        if row is None:  # the harness stopped before this sample (e.g. too many infrastructure errors)
            outcomes.append(0)
            failed += 1
            error = error or f"on task {task_id}: the sample was not run"
            continue
        outcomes.append(1 if row.get("success") else 0)
        for key in cost:
            cost[key] += row.get(key) or 0
        if row.get("status") != "finished":
            failed += 1
            if error is None:
                problem = row.get("error") or {}
                error = f"on task {task_id}: {problem.get('message') or problem.get('type') or row.get('status')}"
                if row.get("infra_error"):
                    error = f"on task {task_id}: the sandbox or the model's provider failed: {problem.get('message')}"
    return Evaluation(outcomes, fitness(outcomes), error, failed, cost, where)


def fitness(outcomes: list[int]) -> Fitness:
    """ADAS's fitness of per-task outcomes, by the harness's bootstrap (see the module)."""
    by_task = [[bool(o)] for o in outcomes]
    interval = success_rate(by_task, resamples=RESAMPLES, confidence=CONFIDENCE)
    middle = success_rate(by_task, resamples=RESAMPLES, confidence=0.0)  # the same draws' 50% quantile
    if interval.rate is None:
        return Fitness(0.0, 0.0, 0.0, 0, 0)
    return Fitness(middle.low, interval.low, interval.high, interval.successes, interval.samples)
