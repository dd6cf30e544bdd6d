"""The town's state while a simulation runs: where each resident is and what they are doing, and what
a resident standing somewhere can see. Plain Python and JSON: no effect, no model; a simulation moves
residents by setting their current action (whose location is where they go), as its plans say.

What a resident perceives is the area it stands in (the paper perceives the tiles within a vision
radius of the same arena): the other residents there with what they are doing, then the area's objects
with their state (an object is in use while a resident's action names it, else idle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .scenario import Scenario


@dataclass(frozen=True)
class Percept:
    """One thing a resident sees: an event text, and who it is about when it is a resident."""

    text: str
    resident: str | None = None
    """The resident the event is about (None for an object)."""
    idle: bool = False
    """An idle object: the code rates such events 1 without asking its model."""


@dataclass(frozen=True)
class Doing:
    """What a resident is doing, and where."""

    description: str
    """Completes `<name> is …`, e.g. `having breakfast`."""
    address: str
    object: str = ""
    """An object of the area the action uses, or empty."""
    chatting_with: str = ""


class World:
    """Positions and current actions of the residents of one simulation (see the module doc)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.doing: dict[str, Doing] = {r.name: Doing(r.start_activity, r.home) for r in scenario.residents}

    def set(self, name: str, doing: Doing) -> None:
        if name not in self.doing:
            raise KeyError(name)
        self.doing[name] = doing

    def where(self, name: str) -> str:
        return self.doing[name].address

    def residents_at(self, address: str) -> list[str]:
        """Residents at an address, in scenario order."""
        return [name for name, d in self.doing.items() if d.address == address]

    def residents_in_place(self, place: str) -> list[str]:
        return [name for name, d in self.doing.items() if self.scenario.place_of(d.address) == place]

    def object_state(self, address: str, obj: str) -> tuple[str, str | None]:
        """(how the object is described, who uses it or None)."""
        for name, d in self.doing.items():
            if d.address == address and d.object == obj:
                return f"{obj} is being used by {name}, who is {d.description}", name
        return f"{obj} is idle", None

    def perceive(self, name: str, bandwidth: int) -> list[Percept]:
        """What `name` sees where it stands: other residents first (scenario order), then objects; at most
        `bandwidth` of them (the code's attention bandwidth)."""
        here = self.where(name)
        seen = [Percept(f"{other} is {self.doing[other].description}", other)
                for other in self.residents_at(here) if other != name]
        for obj in self.scenario.objects_at(here):
            text, user = self.object_state(here, obj)
            if user != name:
                seen.append(Percept(text, None, idle=user is None))
        return seen[:bandwidth]

    def state(self) -> dict[str, Any]:
        return {name: {"description": d.description, "address": d.address, "object": d.object,
                       "chatting_with": d.chatting_with} for name, d in self.doing.items()}
