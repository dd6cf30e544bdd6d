"""Values that hold from a point of a storyline on: the time-varying part of a persona (HPD, PAPERS.md #1).

HPD annotates every character's attributes and relations chapter by chapter, "all these background
information will change as the story goes on" (nuochenpku/Harry-Potter-Dialogue-Dataset:README.md).
A `Timeline` is one such value over the storyline: entries `(value, since)`, each valid from the point
`since` (a session or chapter index, or simulated seconds) until the next entry. `at(k)` is the value
valid at `k` and never one that starts later: that is the property the HPD protocol test checks.
A value of None clears the slot from its point on (a lost belonging, an ended friendship).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

START = -math.inf
"""The `since` of a value that holds from the beginning of the storyline."""
LATEST = math.inf
"""The point after every other: `at(LATEST)` gives the last value of each slot."""


@dataclass(frozen=True)
class Timed:
    """One value of a slot and the storyline point it holds from."""

    value: Any
    """The value (text, a tuple of texts, a number or a flag); None clears the slot."""
    since: float
    """The point it holds from, inclusive (`START`: always)."""


@dataclass(frozen=True)
class Timeline:
    """A slot's values over the storyline, ordered by `since`, at most one per point."""

    entries: tuple[Timed, ...] = ()

    @classmethod
    def constant(cls, value: Any) -> Timeline:
        return cls((Timed(value, START),))

    def at(self, point: float) -> Any:
        """The value valid at `point`: the last entry with `since <= point`; None before the first."""
        found = None
        for entry in self.entries:
            if entry.since > point:
                break
            found = entry.value
        return found

    def then(self, value: Any, since: float) -> Timeline:
        """This timeline with `value` holding from `since` (an entry at the same point is replaced)."""
        kept = [e for e in self.entries if e.since != since]
        return Timeline(tuple(sorted([*kept, Timed(value, since)], key=lambda e: e.since)))

    @property
    def points(self) -> tuple[float, ...]:
        return tuple(e.since for e in self.entries)
