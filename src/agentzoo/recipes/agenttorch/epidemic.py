"""An SEIR epidemic in which staying home lowers contacts: a week a step, a day a sub-step, all in numpy.

AgentTorch's COVID model (models/covid) moves 8.4M agents through susceptible → exposed → infected →
recovered (→ mortality) a day a step, with fixed stage lengths (5 days exposed, 5 infected), infection over a
mobility network scaled by age susceptibility and a weekly R, and a per-agent isolation decision (a
Bernoulli draw of the archetypes' probability) under which an isolating susceptible agent is not exposed
that day (`new_transmission/transition.py`; the infector side is unchanged), counting the newly exposed as
the day's infections. Ours keeps the stages, the fixed lengths and the susceptibility factors, and replaces
the network with mixing inside one's locality (plus a share across the city), which needs no network file:

- each week, every agent stays home with their group's probability (one Bernoulli draw per agent); one who
  stays home keeps `isolation_contact_factor` of their contacts (as infector and as infectee); an
  intervention's `contact_factor` multiplies everyone's contacts once it is announced;
- each day: stage timers count down (exposed → infectious after `exposed_days`, a new case; infectious →
  recovered after `infectious_days`), then each susceptible agent is infected with probability
  `1 − exp(−β · c_i · s_i · pressure)`, β = r0 / infectious_days, `pressure` the contact-weighted share of
  infectious people in their locality (1 − mixing) and in the city (mixing).

The public information for the next week's prompts is last week's new cases per 100,000 (in the group's
locality when the template has it, else citywide) and the change from the week before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...envs.populations.scenario import Intervention, Scenario
from .population import Population

SUSCEPTIBLE, EXPOSED, INFECTIOUS, RECOVERED = 0, 1, 2, 3
PER = 100_000.0


class Epidemic:
    name = "epidemic"
    key = "stay_home_probability"
    """The reply's one field."""
    unit = "week"
    curves = ("cases_per_100k", "staying_home", "behaviour_mean", "infectious_share", "recovered_share")

    def __init__(self, scenario: Scenario, population: Population, rng: np.random.Generator) -> None:
        p = scenario.parameters
        self.days = max(1, round(scenario.step_days))
        self.exposed_days, self.infectious_days = int(p["exposed_days"]), int(p["infectious_days"])
        self.beta = p["r0"] / self.infectious_days
        self.isolation_factor, self.mixing = p["isolation_contact_factor"], p["mixing"]
        n = population.size
        self.n = n
        if scenario.locality is not None:
            self.locality = population.codes[scenario.locality]
            self.places = len(scenario.attributes[scenario.locality].values)
        else:
            self.locality, self.places = np.zeros(n, dtype=np.int8), 1
        self.place_size = np.bincount(self.locality, minlength=self.places).astype(np.float64)
        self.susceptibility = np.ones(n)
        for name, table in p["susceptibility"].items():
            factors = np.array([table.get(v, 1.0) for v in scenario.attributes[name].values])
            self.susceptibility *= factors[population.codes[name]]
        self.stage = np.zeros(n, dtype=np.int8)
        self.timer = np.zeros(n, dtype=np.int16)
        # The seeded infections are caught mid-course: in each stage in proportion to its length, each with a
        # staggered timer, so that onsets go on from the first day (all infectious would be a week with no onset).
        seeded = np.flatnonzero(rng.random(n) < p["initial_infected"])
        latent = rng.random(len(seeded)) < self.exposed_days / (self.exposed_days + self.infectious_days)
        self.stage[seeded] = np.where(latent, EXPOSED, INFECTIOUS)
        self.timer[seeded] = np.where(latent, rng.integers(1, self.exposed_days + 1, size=len(seeded)),
                                      rng.integers(1, self.infectious_days + 1, size=len(seeded)))
        # the prompts' "last week": the seeded infectious, reported in the week before the run starts
        self.last = np.bincount(self.locality[seeded[~latent]], minlength=self.places).astype(np.float64)
        self.before: np.ndarray | None = None

    def facts(self, place: int | None) -> dict[str, Any]:
        """What the news says before this step: new cases per 100k last week and the change in percent."""
        last, before, size = (self.last.sum(), None if self.before is None else self.before.sum(), self.n) \
            if place is None else (self.last[place], None if self.before is None else self.before[place],
                                   self.place_size[place])
        rate = PER * last / size if size else 0.0
        change = None if before is None or before == 0 else round(100.0 * (last - before) / before)
        return {"cases_per_100k": round(rate, 1), "change_percent": change}

    def step(self, behaviour: np.ndarray, rng: np.random.Generator, index: int,
             intervention: Intervention | None) -> dict[str, float]:
        """One week under `behaviour` (each agent's probability of staying home)."""
        home = rng.random(self.n) < behaviour
        contacts = np.where(home, self.isolation_factor, 1.0)
        if intervention is not None:
            contacts *= intervention.effects.get("contact_factor", 1.0)
        weighted = contacts * self.susceptibility
        cases = np.zeros(self.places)
        for _ in range(self.days):
            cases += self._progress()
            self._infect(contacts, weighted, rng)
        self.before, self.last = self.last, cases
        return {"cases_per_100k": PER * cases.sum() / self.n, "staying_home": float(home.mean()),
                "behaviour_mean": float(behaviour.mean()),
                "infectious_share": float(np.count_nonzero(self.stage == INFECTIOUS)) / self.n,
                "recovered_share": float(np.count_nonzero(self.stage == RECOVERED)) / self.n}

    def _progress(self) -> np.ndarray:
        """Count down the exposed and infectious; the new cases (exposed turning infectious) by locality."""
        sick = np.flatnonzero(self.stage >= EXPOSED)
        sick = sick[self.stage[sick] <= INFECTIOUS]
        self.timer[sick] -= 1
        due = sick[self.timer[sick] <= 0]
        onset = due[self.stage[due] == EXPOSED]
        self.stage[due[self.stage[due] == INFECTIOUS]] = RECOVERED
        self.stage[onset] = INFECTIOUS
        self.timer[onset] = self.infectious_days
        return np.bincount(self.locality[onset], minlength=self.places)

    def _infect(self, contacts: np.ndarray, weighted: np.ndarray, rng: np.random.Generator) -> None:
        infectious = np.flatnonzero(self.stage == INFECTIOUS)
        load = np.bincount(self.locality[infectious], weights=contacts[infectious], minlength=self.places)
        local = np.divide(load, self.place_size, out=np.zeros(self.places), where=self.place_size > 0)
        pressure = self.beta * ((1.0 - self.mixing) * local + self.mixing * load.sum() / self.n)
        # P(caught) = 1 − exp(−hazard) is P(E < hazard) for E ~ Exp(1): one exponential draw per agent and a
        # comparison, over the whole array (no transcendental per agent, no gather of the susceptible first)
        hazard = weighted * pressure[self.locality]
        caught = (self.stage == SUSCEPTIBLE) & (rng.standard_exponential(self.n) < hazard)
        self.stage[caught] = EXPOSED
        self.timer[caught] = self.exposed_days
