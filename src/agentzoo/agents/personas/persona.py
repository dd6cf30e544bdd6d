"""A persona: who an agent plays (or, for an individualized persona, who it serves), over a storyline.

Every attribute and every relation field is a `Timeline`, so a persona is also its own history:
`persona.at(k)` is a `PersonaView` of the values valid at storyline point `k`, never later ones.
A persona is immutable; an individualized one changes by `with_update`, which returns a new persona
with the value holding from the turn that taught it (`profile.ProfileKeeper` makes those updates).
Character and demographic personas refuse updates: conversation never changes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from ...errors import ConfigError
from .schema import BINARY_RELATIONS, NOTE
from .timeline import LATEST, Timeline


@dataclass(frozen=True)
class RelationView:
    """The persona's relation towards one other person at one point."""

    other: str
    kinds: tuple[str, ...] = ()
    """The binary relations that hold (`Friend`, `Teacher`, …), in HPD's order."""
    familiarity: int | None = None
    """0 (stranger) .. 10 (HPD's scale)."""
    affection: int | None = None
    """-10 .. 10 (HPD's scale; below 0 is a negative relationship)."""
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.kinds and self.familiarity is None and self.affection is None and self.note is None


@dataclass(frozen=True)
class PersonaView:
    """A persona at one storyline point: plain values, ready for a prompt."""

    id: str
    name: str
    type: str
    description: str
    point: float
    """The point viewed (`LATEST`: the last value of every slot)."""
    attributes: dict[str, Any]
    """Slot -> value valid at `point`, in the persona's field order; cleared and unset slots left out."""
    relations: dict[str, RelationView]
    """Other person's name -> relation at `point`; people with no relation field set are left out."""

    def relation_to(self, other: str) -> RelationView | None:
        return self.relations.get(other)

    def describe(self, value: Any) -> str:
        """A value as a prompt shows it: a list as comma-separated text."""
        return ", ".join(value) if isinstance(value, tuple) else str(value)


@dataclass(frozen=True)
class Persona:
    """A persona of one of `schema.PERSONA_TYPES`, with time-varying attributes and relations."""

    id: str
    """Stable name (the file's stem for a persona file)."""
    name: str
    """How the persona is called in dialogue."""
    type: str
    description: str = ""
    fields: tuple[str, ...] = ()
    """The attribute slots this persona may have, in the order prompts list them."""
    attributes: Mapping[str, Timeline] = field(default_factory=dict)
    relations: Mapping[str, Mapping[str, Timeline]] = field(default_factory=dict)
    """Other person's name -> relation field -> timeline."""
    storyline: Mapping[str, float] = field(default_factory=dict)
    """Named storyline points (`arrival: 1`), usable wherever a point is asked for."""
    template: str | None = None
    """demographic: the population template the attributes come from."""
    source: str = "<data>"
    """Where the persona was read from, for error messages."""

    @property
    def static(self) -> bool:
        """Whether conversation leaves it unchanged (character and demographic personas)."""
        return self.type != "individualized"

    def point(self, at: float | str | None) -> float:
        """A storyline point: a number, a named point of this persona, an ISO date-time (as POSIX seconds,
        UTC unless it says), or None for the latest."""
        return resolve_point(at, self.storyline, f"persona {self.id!r}")

    def at(self, point: float | str | None = None) -> PersonaView:
        """The values valid at `point` (see `point`); None views the latest."""
        k = self.point(point)
        attributes = {}
        for slot in (*self.fields, *(a for a in self.attributes if a not in self.fields)):
            timeline = self.attributes.get(slot)
            value = timeline.at(k) if timeline is not None else None
            if value is not None and value != ():
                attributes[slot] = value
        relations = {}
        for other, slots in self.relations.items():
            view = _relation_at(other, slots, k)
            if not view.empty:
                relations[other] = view
        return PersonaView(self.id, self.name, self.type, self.description, k, attributes, relations)

    def with_update(self, slot: str, value: Any, since: float) -> Persona:
        """This persona with `slot` set to `value` from `since` on. Only individualized personas learn."""
        if self.static:
            raise ConfigError(f"persona {self.id!r} is a {self.type} persona: conversation does not change it "
                              "(only individualized personas take profile updates)")
        if slot not in self.fields:
            raise ConfigError(f"persona {self.id!r} has no profile slot {slot!r}; slots: {', '.join(self.fields)}")
        timeline = self.attributes.get(slot, Timeline())
        return replace(self, attributes={**self.attributes, slot: timeline.then(value, since)})

    @property
    def points(self) -> tuple[float, ...]:
        """Every storyline point where some value changes, in order."""
        found = {p for t in self.attributes.values() for p in t.points}
        found |= {p for slots in self.relations.values() for t in slots.values() for p in t.points}
        return tuple(sorted(p for p in found if math.isfinite(p)))


def _relation_at(other: str, slots: Mapping[str, Timeline], k: float) -> RelationView:
    values = {name: timeline.at(k) for name, timeline in slots.items()}
    kinds = tuple(kind for kind in BINARY_RELATIONS if values.get(kind) is True)
    return RelationView(other, kinds, values.get("Familiarity"), values.get("Affection"), values.get(NOTE))


def resolve_point(at: float | str | None, names: Mapping[str, float], where: str) -> float:
    """`at` as a number on the storyline (see `Persona.point`)."""
    if at is None:
        return LATEST
    if isinstance(at, bool):
        raise ConfigError(f"{where}: a storyline point is a number or a name, not {at!r}")
    if isinstance(at, (int, float)):
        if math.isnan(at):
            raise ConfigError(f"{where}: a storyline point cannot be NaN")
        return float(at)
    if isinstance(at, str):
        text = at.strip()
        if text in names:
            return float(names[text])
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            known = ", ".join(names) or "(none)"
            raise ConfigError(f"{where}: unknown storyline point {at!r}; a number, an ISO date-time, or a named "
                              f"point: {known}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    raise ConfigError(f"{where}: a storyline point is a number or a name, not {type(at).__name__}")
