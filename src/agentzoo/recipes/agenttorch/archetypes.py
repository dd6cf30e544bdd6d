"""Who decides for a group: LLM archetypes (one prompt per group per step, `n_arch` replicates, averaged) or a
heuristic population (a fixed rule per group). Either gives one value per group; `Groups.broadcast` gives it
to every member.

AgentTorch's `Behavior.sample` with a template: the grouped prompts are sent once per archetype replicate
(`for n_arch in range(...)`), each replicate's float for a group is added to the group's members, and the
sum is divided by the number of replicates. Its archetypes each keep their own conversation (`last_k`
exchanges); `history` does the same here, per group and replicate.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from ...envs.populations.scenario import Intervention, Rule
from ...protocols import Model
from ...runtime.context import Context
from ...teams.parallel import gather
from .asking import Asker, reply_format
from .grouping import Groups
from .population import Population


class LLMArchetypes:
    """One model call per group per replicate per step; the replicates' values averaged per group."""

    def __init__(self, model: Model, *, fields: dict[str, Any], retries: int, system: str | None, n_arch: int,
                 history: int = 0, concurrency: int = 4, base_seed: int | None = None) -> None:
        self.model, self.fields, self.retries, self.system = model, fields, retries, system
        self.n_arch, self.history, self.concurrency, self.base_seed = n_arch, history, concurrency, base_seed
        self.asker: Asker | None = None
        self.memory: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.calls = 0
        """Model calls made (retries included)."""

    def start(self, key: str, system: str) -> None:
        """Ready for a run whose replies hold `key`, with `system` as the system message (unless the recipe was
        given its own)."""
        fields = {**self.fields, "response_format": reply_format(key)}
        self.asker = Asker(self.model, key, self.system or system, fields, self.retries)
        self.memory, self.calls = {}, 0

    async def decide(self, ctx: Context, step: int, prompts: list[str], names: list[str]) -> np.ndarray:
        """Each group's mean value over the replicates; group g's prompt is `prompts[g]`, its calls in
        `ctx`'s scope `group#g/arch#r`, created here in program order before any runs."""
        contexts = [[ctx.child("group", g).child("arch", r) for r in range(self.n_arch)] for g in range(len(prompts))]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(g: int, r: int) -> float:
            async with gate:
                seed = None if self.base_seed is None else self.base_seed + r  # replicates sample apart
                value, reply, calls = await self.asker.ask(  # type: ignore[union-attr]
                    contexts[g][r], self.memory.get((g, r), []), prompts[g], seed=seed,
                    where=f"step {step}, group {g} ({names[g]}), archetype {r}")
            self.calls += calls
            if self.history:
                kept = self.memory.setdefault((g, r), [])
                kept += [{"role": "user", "content": prompts[g]}, {"role": "assistant", "content": reply}]
                del kept[:-2 * self.history]
            return value

        values = await gather(one(g, r) for g in range(len(prompts)) for r in range(self.n_arch))
        return np.asarray(values, dtype=np.float64).reshape(len(prompts), self.n_arch).mean(axis=1)


class HeuristicArchetypes:
    """A heuristic population: each group's value is the scenario's fixed rule for its attribute values (the
    `base` plus each value's shift), with an announced intervention's shift added; no model is asked."""

    def __init__(self, heuristic: Rule, population: Population, groups: Groups) -> None:
        values = np.full(len(groups), heuristic.base)
        for column, name in enumerate(groups.template):
            table = heuristic.shift.get(name, {})
            shifts = np.array([table.get(v, 0.0) for v in population.attributes[name].values])
            values += shifts[groups.codes[:, column]]
        self.values = values

    def decide(self, intervention: Intervention | None) -> np.ndarray:
        shift = intervention.heuristic_shift if intervention is not None else 0.0
        return np.clip(self.values + shift, 0.0, 1.0)
