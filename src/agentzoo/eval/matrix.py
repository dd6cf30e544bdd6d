"""The samples of an eval: every (environment, task, agent, model, seed), each with a stable key."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..envs.base import Environment, Task
from ..runtime.secrets import mask_text  # a model string may hold a key in its URL: never in a row or key


@dataclass(frozen=True)
class Sample:
    env: str
    task: Task
    agent: str
    model: str
    seed: int

    @cached_property  # masked once: an eval reads it several times per sample
    def key(self) -> str:
        """Stable across runs of the same command: how a resumed eval knows what is done."""
        return f"{self.env}|{self.task.id}|{self.agent}|{mask_text(self.model)}|{self.seed}"


def expand(envs: dict[str, Environment], agents: list[str], models: list[str], seeds: int,
           limit: int | None = None) -> list[Sample]:
    """The matrix in a fixed order: environment, task, agent, model, seed."""
    return expand_tasks({name: env.tasks()[:limit] if limit else env.tasks() for name, env in envs.items()},
                        agents, models, seeds)


def expand_tasks(tasks_by_env: dict[str, list[Task]], agents: list[str], models: list[str], seeds: int) -> list[Sample]:
    """The matrix over chosen tasks, in the same fixed order."""
    samples = []
    for name, tasks in tasks_by_env.items():
        for task in tasks:
            for agent in agents:
                for model in models:
                    for seed in range(seeds):
                        samples.append(Sample(name, task, agent, model, seed))
    return samples
