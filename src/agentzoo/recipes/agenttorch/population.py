"""A population as arrays: one small integer code per agent per attribute, nothing per agent in Python.

AgentTorch holds its 8.4M New Yorkers as torch tensors (one column per attribute, codes into a mapping of
labels); here they are numpy `int8` arrays, so a million agents with four attributes take 4 MB and every
operation over them is one vectorised pass on the CPU. A population is synthesised from the scenario's
marginal shares (each attribute drawn independently) with the run's seeded generator, so the same seed
gives the same people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...envs.populations.scenario import Attribute, Scenario
from ...errors import ConfigError


@dataclass(frozen=True)
class Population:
    attributes: dict[str, Attribute]
    """Every attribute, in the scenario's order."""
    codes: dict[str, np.ndarray]
    """Attribute name -> (size,) int8 array: the index of each agent's value in `attributes[name].values`."""

    @property
    def size(self) -> int:
        return len(next(iter(self.codes.values())))

    @classmethod
    def of(cls, attributes: dict[str, Attribute], codes: dict[str, np.ndarray]) -> Population:
        """A population from code arrays (checked: one per attribute, same length, codes within range)."""
        if set(codes) != set(attributes):
            raise ConfigError(f"population: codes for {sorted(codes)} but attributes {sorted(attributes)}")
        sizes = {len(array) for array in codes.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise ConfigError(f"population: every attribute needs one code per agent (lengths {sorted(sizes)})")
        checked = {}
        for name, attribute in attributes.items():
            array = np.asarray(codes[name])
            if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
                raise ConfigError(f"population: {name} codes must be a 1-d integer array")
            if array.min() < 0 or array.max() >= len(attribute.values):
                raise ConfigError(f"population: {name} codes must lie in 0..{len(attribute.values) - 1}")
            checked[name] = array.astype(np.int8, copy=False)
        return cls(dict(attributes), checked)

    def value_of(self, name: str, agent: int) -> str:
        return self.attributes[name].values[int(self.codes[name][agent])]


def synthesize(scenario: Scenario, size: int, rng: np.random.Generator) -> Population:
    """`size` agents whose attribute values follow the scenario's shares, drawn from `rng` (attribute by
    attribute, in the scenario's order: the draw is a function of the seed alone)."""
    if size < 1:
        raise ConfigError(f"agenttorch: population must be at least 1 agent, got {size}")
    codes = {}
    for name, attribute in scenario.attributes.items():
        bounds = np.cumsum(attribute.shares)
        bounds[-1] = 1.0  # rounding must not leave a draw of 0.99999999 past the last value
        codes[name] = np.searchsorted(bounds, rng.random(size), side="right").astype(np.int8)
    return Population(dict(scenario.attributes), codes)
