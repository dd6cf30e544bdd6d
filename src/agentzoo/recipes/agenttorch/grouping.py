"""Agents grouped by an attribute template: the distinct combinations present, and each agent's group.

AgentTorch's `Template.get_grouped_prompts` buckets agents by the values of the template's attributes and
sends one prompt per bucket; `Behavior.sample` then adds each bucket's answer to its members' rows. Here
the buckets come from one integer key per agent (the template's codes in mixed radix), so grouping a
million agents is a `bincount` (or a sort, when the combinations are too many to count densely), done once
per run: attributes do not change. Broadcasting a group value to its members is one fancy-indexing read,
`values[inverse]`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from .population import Population

DENSE_KEYS = 1 << 22
"""Up to this many possible combinations, groups are found by counting keys (O(n)); beyond, by sorting them."""


@dataclass(frozen=True)
class Groups:
    template: tuple[str, ...]
    """The attributes that define a group, most significant first (the groups' order)."""
    codes: np.ndarray
    """(groups, len(template)) int: each group's attribute codes."""
    inverse: np.ndarray
    """(population,) int32: each agent's group."""
    counts: np.ndarray
    """(groups,) int64: members per group."""

    def __len__(self) -> int:
        return len(self.counts)

    def broadcast(self, values: np.ndarray) -> np.ndarray:
        """Each agent's group's value: (groups,) -> (population,)."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(self),):
            raise ValueError(f"one value per group ({len(self)}) expected, got shape {values.shape}")
        return values[self.inverse]

    def values_of(self, population: Population, group: int) -> dict[str, str]:
        """The group's attribute values by attribute name."""
        return {name: population.attributes[name].values[int(code)]
                for name, code in zip(self.template, self.codes[group], strict=True)}


def group_by(population: Population, template: tuple[str, ...] | list[str]) -> Groups:
    """The groups of `population` under `template` (every combination present, in key order)."""
    template = tuple(template)
    unknown = [name for name in template if name not in population.codes]
    if not template or unknown or len(set(template)) != len(template):
        raise ConfigError(f"agenttorch: template {list(template)} must name distinct attributes of the population "
                          f"({', '.join(population.attributes)})")
    radix = [len(population.attributes[name].values) for name in template]
    strides = np.cumprod([1, *radix[:0:-1]])[::-1]  # the last attribute varies fastest
    key = np.zeros(population.size, dtype=np.int64)
    for name, stride in zip(template, strides, strict=True):
        key += population.codes[name].astype(np.int64) * int(stride)
    possible = int(np.prod(radix, dtype=np.int64))
    if possible <= DENSE_KEYS:
        counted = np.bincount(key, minlength=possible)
        present = np.flatnonzero(counted)
        lookup = np.full(possible, -1, dtype=np.int32)
        lookup[present] = np.arange(len(present), dtype=np.int32)
        inverse, counts = lookup[key], counted[present]
    else:
        present, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        inverse = inverse.astype(np.int32)
    codes = np.stack([(present // int(stride)) % size for stride, size in zip(strides, radix, strict=True)], axis=1)
    return Groups(template, codes, inverse, counts.astype(np.int64))
