"""Demographic personas: a population template (fields, their values and weights) and members drawn from it.

The RPLA survey's demographic personas stand for a group rather than a person (AgentTorch's archetypes,
PAPERS.md #54, are the same idea at population scale). A template is data:

    name: saltmarrow-census
    description: who lives on Saltmarrow
    fields:
      Age band: {values: [under 18, 18-39, 40-59, 60 and over], weights: [22, 35, 28, 15]}
      Occupation: {values: [net-mender, lamp-keeper, ferry crew]}      # equal weights

A demographic persona file names its template and picks values from it (`loading`); `sample_population`
draws members by the weights with a seeded generator: in a run, take the seed from `await ctx.seed()` so
that replay draws the same members.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .persona import Persona
from .timeline import Timeline


@dataclass(frozen=True)
class TemplateField:
    values: tuple[str, ...]
    weights: tuple[float, ...]
    """Relative frequency of each value in the population (equal when the template gives none)."""


@dataclass(frozen=True)
class PopulationTemplate:
    name: str
    description: str
    fields: Mapping[str, TemplateField]
    source: str = "<data>"

    def member(self, index: int, values: Mapping[str, str], *, name: str | None = None) -> Persona:
        """A demographic persona of this population with these field values (checked)."""
        for slot, value in values.items():
            field = self.fields.get(slot)
            if field is None:
                raise ConfigError(f"template {self.name!r} has no field {slot!r}; fields: {', '.join(self.fields)}")
            if value not in field.values:
                raise ConfigError(f"template {self.name!r}, field {slot!r}: {value!r} is not one of "
                                  f"{', '.join(field.values)}")
        pid = f"{self.name}#{index}"
        return Persona(pid, name or f"a member of {self.name} (#{index})", "demographic", self.description,
                       tuple(self.fields), {k: Timeline.constant(v) for k, v in values.items()}, {}, {}, self.name,
                       source=f"{self.source} (member {index})")


def sample_population(template: PopulationTemplate, count: int, seed: int) -> list[Persona]:
    """`count` members drawn independently by each field's weights; the same seed draws the same members."""
    if count < 0:
        raise ConfigError(f"a population of {count} members")
    rng = random.Random(seed)
    members = []
    for index in range(1, count + 1):
        values = {slot: rng.choices(f.values, weights=f.weights)[0] for slot, f in template.fields.items()}
        members.append(template.member(index, values))
    return members


def load_template(path: str | Path) -> PopulationTemplate:
    from .loading import read_data

    path = Path(path)
    return template_from_data(read_data(path, "population template"), source=str(path), default_name=path.stem)


def find_template(ref: str, *, where: str = "template") -> PopulationTemplate:
    """A shipped template by name, or the template file at `ref`."""
    from .loading import SUFFIXES, TEMPLATES

    if Path(ref).suffix in SUFFIXES:
        return load_template(ref)
    path = next((TEMPLATES / f"{ref}{s}" for s in SUFFIXES if (TEMPLATES / f"{ref}{s}").is_file()), None)
    if path is None:
        known = ", ".join(sorted(p.stem for p in TEMPLATES.glob("*.yaml"))) or "(none)"
        raise ConfigError(f"{where}: no population template {ref!r}; shipped: {known}, or a path to a .yaml file")
    return load_template(path)


def template_from_data(data: Any, *, source: str = "<data>", default_name: str | None = None) -> PopulationTemplate:
    def error(path: str, problem: str) -> ConfigError:
        return ConfigError(f"{source}: field {path!r}: {problem}" if path else f"{source}: {problem}")

    if not isinstance(data, Mapping):
        raise error("", "a population template is a mapping with name and fields")
    for key in data:
        if key not in ("name", "description", "fields", "source"):
            raise error(str(key), "unknown field; a template has name, description, fields, source")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise error("name", "expected non-empty text")
    raw = data.get("fields")
    if not isinstance(raw, Mapping) or not raw:
        raise error("fields", "expected a mapping of field -> {values, weights}")
    fields = {}
    for slot, spec in raw.items():
        path = f"fields.{slot}"
        if not isinstance(spec, Mapping) or set(spec) - {"values", "weights"}:
            raise error(path, "expected {values: [...], weights: [...]} (weights optional)")
        values = spec.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise error(f"{path}.values", "expected a non-empty list of texts")
        if len(set(values)) != len(values):
            raise error(f"{path}.values", "a value is listed twice")
        weights = spec.get("weights", [1] * len(values))
        if (not isinstance(weights, list) or len(weights) != len(values)
                or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
                           for w in weights) or not any(weights)):
            raise error(f"{path}.weights", f"expected {len(values)} non-negative numbers, not all zero")
        fields[str(slot)] = TemplateField(tuple(v.strip() for v in values), tuple(float(w) for w in weights))
    description = data.get("description", "")
    if not isinstance(description, str):
        raise error("description", "expected text")
    return PopulationTemplate(name.strip(), description.strip(), fields, source)
