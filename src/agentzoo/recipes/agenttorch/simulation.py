"""The run: a scenario's population stepped over simulated time, its behaviour decided per group each step.

    seed (journaled) → population (numpy codes) → groups (once) → for each step:
        public facts per group → one prompt per group × n_arch (or the heuristic rule) → group values
        → broadcast to every agent → the world's step (numpy) → a journaled step record → the clock ticks

Every stochastic part draws from one generator seeded by `ctx.seed()`, in a fixed order, so a replay (the
seed and the model's replies served from the journal) recomputes the same world and writes the same answer,
byte for byte. Each step ends with an `env` effect whose *request* is the step's outcome (the group values'
digest and the step's figures): a replay or resume that computed anything else diverges there, by name, and
a fork whose intervention starts at step k diverges at step k — at its first changed prompt, or, for a
heuristic population, at that step's record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import _json
from ...envs.clock import SimClock
from ...envs.populations.scenario import Intervention, Scenario, load_scenario
from ...errors import ConfigError
from ...prompts import render
from ...runtime.context import Context
from ...types import AgentResult
from .archetypes import HeuristicArchetypes, LLMArchetypes
from .asking import PROMPTS
from .epidemic import Epidemic
from .grouping import Groups, group_by
from .labour import Labour
from .population import Population, synthesize

DYNAMICS: dict[str, Any] = {"epidemic": Epidemic, "labour": Labour}
DEFAULT_SCENARIOS = {"epidemic": "riverton-epidemic", "labour": "riverton-labour"}
"""The scenario a run with an empty task plays, by `dynamics`."""
GROUP_TABLE = 64
"""Up to this many groups, the answer lists every group's value at every step."""
DAY = 86_400.0


@dataclass(frozen=True)
class Plan:
    """A scenario and the options, resolved against each other."""

    scenario: Scenario
    size: int
    template: tuple[str, ...]
    steps: int
    intervention: Intervention | None


@dataclass
class Trace:
    """The last run's arrays, for callers in Python (tests, benchmarks): nothing here reaches the journal."""

    population: Population
    groups: Groups
    behaviour: np.ndarray
    """(population,) the last step's broadcast values."""
    values: np.ndarray
    """(groups, steps) each group's value at each step."""


class AgentTorch:
    """The `agenttorch` recipe's agent (see the package docstring for the options)."""

    name = "agenttorch"

    def __init__(self, archetypes: LLMArchetypes | None, *, dynamics: str | None, population: int | None,
                 template: tuple[str, ...] | None, steps: int | None, intervention: str | None) -> None:
        self.archetypes = archetypes
        """None: a heuristic population (no model is asked)."""
        self.dynamics, self.population, self.template = dynamics, population, template
        self.steps, self.intervention = steps, intervention
        self.trace: Trace | None = None

    def plan(self, task: str) -> Plan:
        """The scenario the task names (or, for an empty task, `dynamics`' default one) under the options."""
        text = task.strip() or DEFAULT_SCENARIOS[self.dynamics or "epidemic"]
        scenario = load_scenario(text)
        if self.dynamics is not None and self.dynamics != scenario.dynamics:
            raise ConfigError(f"agenttorch: dynamics={self.dynamics!r} was asked for, but scenario "
                              f"{scenario.name!r} is a {scenario.dynamics} scenario")
        template = self.template or scenario.template
        unknown = [name for name in template if name not in scenario.attributes]
        if unknown:
            raise ConfigError(f"agenttorch: template names {', '.join(map(repr, unknown))}, not an attribute of "
                              f"scenario {scenario.name!r} ({', '.join(scenario.attributes)})")
        steps = self.steps or scenario.steps
        return Plan(scenario, self.population or scenario.population, tuple(template), steps,
                    self._intervention(scenario, steps))

    def _intervention(self, scenario: Scenario, steps: int) -> Intervention | None:
        if self.intervention is None:
            return None
        name, _, at = self.intervention.partition("@")
        if name not in scenario.interventions:
            known = ", ".join(scenario.interventions) or "(it defines none)"
            raise ConfigError(f"agenttorch: intervention {name!r} is not one of scenario {scenario.name!r}'s: {known}")
        chosen = scenario.interventions[name]
        if at:
            if not at.isdigit() or int(at) >= steps:
                raise ConfigError(f"agenttorch: intervention {self.intervention!r}: the step after '@' must be a "
                                  f"whole number from 0 to {steps - 1}")
            chosen = Intervention(chosen.name, int(at), chosen.announcement, chosen.heuristic_shift, chosen.effects)
        return chosen

    async def run(self, task: str, ctx: Context) -> AgentResult:
        plan = self.plan(task)
        scenario = plan.scenario
        rng = np.random.default_rng(await ctx.seed())
        population = synthesize(scenario, plan.size, rng)
        groups = group_by(population, plan.template)
        world = DYNAMICS[scenario.dynamics](scenario, population, rng)
        heuristic = HeuristicArchetypes(scenario.heuristic, population, groups) if self.archetypes is None else None
        clock = SimClock.starting(scenario.start, scenario.step_days * DAY)
        if self.archetypes is not None:
            self.archetypes.start(world.key, render(PROMPTS / f"{world.name}_system.j2", place=scenario.place,
                                                    unit=world.unit, key=world.key))
        names = [", ".join(groups.values_of(population, g).values()) for g in range(len(groups))]
        curves: dict[str, list[float]] = {key: [] for key in world.curves}
        values = np.zeros((len(groups), plan.steps))
        behaviour = np.zeros(population.size)
        for k in range(plan.steps):
            step = ctx.child("step", k)
            active = plan.intervention if plan.intervention is not None and k >= plan.intervention.step else None
            if heuristic is not None:
                values[:, k] = heuristic.decide(active)
            else:
                prompts = self._prompts(scenario, population, groups, world, clock, k, active)
                values[:, k] = await self.archetypes.decide(step, k, prompts, names)  # type: ignore[union-attr]
            behaviour = groups.broadcast(values[:, k])
            record = {key: round(float(v), 6) for key, v in world.step(behaviour, rng, k, active).items()}
            await step.effect("env", f"agenttorch/{scenario.dynamics}", {
                "step": k, "intervention": active.name if active else None,
                "group_values": hashlib.sha256(values[:, k].tobytes()).hexdigest(), "record": record}, _noted,
                local=True)
            clock = await clock.tick(step)
            for key in curves:
                curves[key].append(record[key])
        self.trace = Trace(population, groups, behaviour, values)
        answer = self._answer(plan, population, groups, values, curves, clock)
        return AgentResult(answer=_json.dumps_str(answer), steps=self.archetypes.calls if self.archetypes else 0)

    def _prompts(self, scenario: Scenario, population: Population, groups: Groups, world: Any, clock: SimClock,
                 k: int, active: Intervention | None) -> list[str]:
        """Group g's prompt: its traits, the date, last step's news for its locality (or the city), and the
        announcement once made."""
        local = scenario.locality in groups.template
        column = groups.template.index(scenario.locality) if local else None
        date = f"{clock.now:%A %B} {clock.now.day}, {clock.now:%Y}"
        prompts = []
        for g in range(len(groups)):
            traits = [{"label": population.attributes[name].label, "value": value}
                      for name, value in groups.values_of(population, g).items()]
            place = int(groups.codes[g, column]) if column is not None else None
            where = scenario.place if place is None else \
                f"{scenario.attributes[scenario.locality].values[place]}, {scenario.place}"  # type: ignore[index]
            prompts.append(render(PROMPTS / f"{scenario.dynamics}.j2", date=date, step=k + 1, traits=traits,
                                  where=where, facts=world.facts(place),
                                  announcement=active.announcement if active else ""))
        return prompts

    def _answer(self, plan: Plan, population: Population, groups: Groups, values: np.ndarray,
                curves: dict[str, list[float]], clock: SimClock) -> dict[str, Any]:
        """The closing record (plain JSON, written by this code only)."""
        scenario = plan.scenario
        record: dict[str, Any] = {
            "scenario": scenario.name, "dynamics": scenario.dynamics,
            "mode": "heuristic" if self.archetypes is None else "llm-archetypes",
            "population": population.size, "template": list(plan.template), "groups": len(groups),
            "n_arch": self.archetypes.n_arch if self.archetypes else 0,
            "model_calls": self.archetypes.calls if self.archetypes else 0,
            "steps": plan.steps, "step_days": scenario.step_days, "simulated_hours": clock.hours_elapsed,
            "intervention": None if plan.intervention is None else
            {"name": plan.intervention.name, "step": plan.intervention.step},
            "measure": scenario.measure, "curves": curves,
            "summary": {key: _summary(series) for key, series in curves.items()},
        }
        if len(groups) <= GROUP_TABLE:
            record["group_values"] = [
                {"group": groups.values_of(population, g), "members": int(groups.counts[g]),
                 "values": [round(float(v), 6) for v in values[g]]} for g in range(len(groups))]
        return record


def _summary(series: list[float]) -> dict[str, Any]:
    peak = max(range(len(series)), key=series.__getitem__)
    return {"peak": series[peak], "peak_step": peak, "final": series[-1],
            "mean": round(sum(series) / len(series), 6)}


async def _noted() -> dict[str, Any]:
    return {}  # the record is the request: nothing to perform
