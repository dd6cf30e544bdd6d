"""A labour market moved by willingness to work: four weeks a step, every agent employed, unemployed (in the
labour force, without a job) or out of the labour force.

AgentTorch's labour-market model (models/macro_economics) asks its archetypes each month for a willingness
to work, draws each agent's `will_work` from it, and updates the city's and each borough's unemployment
rate, labour force and wages from who works (its model card: 20 steps over 80 weeks). Ours keeps the monthly
draw and the rates, and replaces the calibrated unemployment and wage equations with a small market in
which the scenario gives the jobs there are (`demand`, a share of the population, per step: a recession is a
fall in it) and people's willingness gives the workers who want them:

- an agent wants to work this month when their own threshold, drawn once at the start, lies under their
  group's probability: each month's draw is still Bernoulli(p), but the same people keep wanting to work
  while p holds (independent monthly draws would have a third of the workforce quit every month at p = 0.65,
  and the unemployment rate would measure that churn instead of the market);
- one who does not want to work leaves the labour force (and their job); one who does and has a job loses it
  with probability `separation[k]`, or when the jobs fall below the employed (layoffs, each employed agent
  with the same chance);
- the open jobs (demand − employed) and the job seekers (who wanted work and had none at the month's start)
  meet: hires = min(seekers, openings,
  `matching` · √(seekers · openings)), a matching function of elasticity 0.5, each seeker hired with the same
  chance. An intervention's `demand_factor` multiplies the jobs once announced.

So more willingness than jobs is unemployment, and less is a tight market with only frictional unemployment.
The public information for the next month's prompts is last month's unemployment rate (in the group's
locality when the template has it, else citywide) and its change in percentage points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...envs.populations.scenario import Intervention, Scenario
from .population import Population

OUT, EMPLOYED, UNEMPLOYED = 0, 1, 2


class Labour:
    name = "labour"
    key = "work_probability"
    """The reply's one field."""
    unit = "month"
    curves = ("unemployment_rate", "participation_rate", "employment_rate", "behaviour_mean")

    def __init__(self, scenario: Scenario, population: Population, rng: np.random.Generator) -> None:
        p = scenario.parameters
        self.demand, self.separation, self.matching = list(p["demand"]), list(p["separation"]), p["matching"]
        n = population.size
        self.n = n
        if scenario.locality is not None:
            self.locality = population.codes[scenario.locality]
            self.places = len(scenario.attributes[scenario.locality].values)
        else:
            self.locality, self.places = np.zeros(n, dtype=np.int8), 1
        self.threshold = rng.random(n)
        # Before the first month, everyone who wants to work is in the labour force and `initial_unemployment`
        # of them have no job: who that is, is known only once the first month's behaviour is.
        self.jobless = rng.random(n) < p["initial_unemployment"]
        self.status: np.ndarray | None = None
        share = np.bincount(self.locality, weights=self.jobless, minlength=self.places)
        size = np.bincount(self.locality, minlength=self.places)
        self.last = np.concatenate([[100.0 * self.jobless.mean()],
                                    np.divide(100.0 * share, size, out=np.zeros(self.places), where=size > 0)])
        self.before: np.ndarray | None = None

    @staticmethod
    def _at(series: list[float], index: int) -> float:
        """A per-step value: the list's value at `index`, its last value past its end."""
        return series[min(index, len(series) - 1)]

    def _rates(self, status: np.ndarray) -> np.ndarray:
        """Unemployment in percent of the labour force: citywide, then by locality."""
        unemployed = np.bincount(self.locality, weights=status == UNEMPLOYED, minlength=self.places)
        force = np.bincount(self.locality, weights=status != OUT, minlength=self.places)
        local = np.divide(100.0 * unemployed, force, out=np.zeros(self.places), where=force > 0)
        city = 100.0 * unemployed.sum() / force.sum() if force.sum() else 0.0
        return np.concatenate([[city], local])

    def facts(self, place: int | None) -> dict[str, Any]:
        """What the news says before this step: last month's unemployment rate and its change in points."""
        at = 0 if place is None else place + 1
        rate = float(self.last[at])
        change = None if self.before is None else round(rate - float(self.before[at]), 1)
        return {"unemployment_rate": round(rate, 1), "change_points": change}

    def step(self, behaviour: np.ndarray, rng: np.random.Generator, index: int,
             intervention: Intervention | None) -> dict[str, float]:
        """One month under `behaviour` (each agent's probability of wanting to work)."""
        wants = self.threshold < behaviour
        before = self.status if self.status is not None else np.where(self.jobless, UNEMPLOYED, EMPLOYED)
        jobs = self._at(self.demand, index) * self.n
        if intervention is not None:
            jobs *= intervention.effects.get("demand_factor", 1.0)
        chance = rng.random(self.n)  # one draw per agent: losing the job they have, or finding one
        had_job = wants & (before == EMPLOYED)
        employed = had_job & (chance >= self._at(self.separation, index))
        staying = np.count_nonzero(employed)
        if staying > jobs:  # layoffs: each employed agent with the same chance, so that the jobs hold them
            employed &= rng.random(self.n) >= (staying - jobs) / staying
        seekers = wants & ~had_job  # who lost a job this month looks from next month: frictional unemployment
        openings = max(0.0, jobs - np.count_nonzero(employed))
        searching = np.count_nonzero(seekers)
        hires = min(searching, openings, self.matching * np.sqrt(searching * openings)) if searching else 0.0
        hired = seekers & (rng.random(self.n) < (hires / searching if searching else 0.0))
        status = np.where(employed | hired, EMPLOYED, np.where(wants, UNEMPLOYED, OUT)).astype(np.int8)
        self.status = status
        self.before, self.last = self.last, self._rates(status)
        return {"unemployment_rate": float(self.last[0]),
                "participation_rate": 100.0 * np.count_nonzero(status != OUT) / self.n,
                "employment_rate": 100.0 * np.count_nonzero(status == EMPLOYED) / self.n,
                "behaviour_mean": float(behaviour.mean())}
