"""ProAgent's controller: a skill becomes the next low-level action.

The skill's motion goals are the poses from which `interact` does it at any tile where it can be done now
(ProAgent's `find_motion_goals`); the next action is the first move of the shortest path (breadth-first
search over poses) to the nearest one, around the teammate where it stands (ProAgent's `real_time_planner`),
and `interact` once there. `wait(n)` steps out of the teammate's way (off a cell beside a pot, a dispenser or
the serving counter, or away from a teammate close by: the kitchen's `make_way`), else stays; ProAgent
moves at random while it waits, which unblocks too, but by chance. The controller is a plug-in: anything
with `act(layout, state, call)` can replace it (`ProAgent(..., controller=...)` in Python).
"""

from __future__ import annotations

from typing import Protocol

from ...envs.kitchen import Layout, State, make_way, next_move, skill_targets
from .skills import Call


class Controller(Protocol):
    def act(self, layout: Layout, state: State, call: Call) -> str:
        """Player 0's next action (`up`, `down`, `left`, `right`, `stay`, `interact`) toward doing `call`."""
        ...


class BFSController:
    """Shortest paths to the skill's nearest motion goal, replanned every step around the teammate."""

    def act(self, layout: Layout, state: State, call: Call) -> str:
        if call.name == "wait":
            return make_way(layout, state, 0)
        return next_move(layout, state, 0, skill_targets(layout, state, call.key))
