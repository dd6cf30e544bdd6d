"""Motion planning in a kitchen: where a skill is done, and the shortest way there (breadth-first search).

As Overcooked-AI's planners do for its scripted agents (and ProAgent's controller uses them), a skill
(`pickup(onion)`, `put_onion_in_pot`, …) becomes *motion goals*: the poses (a floor cell and a facing) from
which `interact` does it, at every tile where it can be done. The search runs over poses: a move turns the
cook and walks one cell when the cell is floor and free, so turning to face a tile is one action too. The
other cook is an obstacle where it stands (ProAgent's real-time planner); when it blocks every way, the
path through it is taken (the cooks may collide and stay, and the teammate's policy unsticks itself).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from .world import COUNTER, DIRECTIONS, DISH, DISHES, FLOOR, ONION, ONIONS, POT, SERVING, Layout, Pos, State, ahead

Pose = tuple[Pos, str]
WORK_TILES = (POT, ONIONS, DISHES, SERVING)
MAKE_WAY_WITHIN = 2
"""A cook that gives way does so when the other is this close (steps on the grid, walls not counted)."""

SKILL_TARGETS = ("pickup(onion)", "pickup(dish)", "put_onion_in_pot", "fill_dish_with_soup", "deliver_soup",
                 "place_obj_on_counter")
"""The skills that are done at a tile: everything but `wait(n)`."""


def goal_poses(layout: Layout, tiles: Iterable[Pos]) -> set[Pose]:
    """The poses from which `interact` reaches one of `tiles`: on the floor beside it, facing it."""
    poses = set()
    for tile in tiles:
        for direction, (dr, dc) in DIRECTIONS.items():
            cell = (tile[0] - dr, tile[1] - dc)
            if layout.walkable(cell):
                poses.add((cell, direction))
    return poses


def shortest_path(layout: Layout, start: Pose, goals: set[Pose], blocked: frozenset[Pos] = frozenset()
                  ) -> list[str] | None:
    """The fewest moves from `start` to any of `goals` (`[]` when already there; None when none is reachable).
    Ties go to the first move in `DIRECTIONS` order, so the path is deterministic."""
    if start in goals:
        return []
    came: dict[Pose, tuple[Pose, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        pose = queue.popleft()
        for direction in DIRECTIONS:
            cell = ahead(pose[0], direction)
            nxt = (cell if layout.walkable(cell) and cell not in blocked else pose[0], direction)
            if nxt in came:
                continue
            came[nxt] = (pose, direction)
            if nxt in goals:
                path = []
                at: Pose = nxt
                while (step := came[at]) is not None:
                    at, move = step
                    path.append(move)
                return path[::-1]
            queue.append(nxt)
    return None


def skill_targets(layout: Layout, state: State, skill: str) -> list[Pos]:
    """The tiles where `skill` can be done now (empty for `wait(n)` and for a skill with nowhere to do it)."""
    items = state.counters
    if skill == "pickup(onion)":
        return layout.cells(ONIONS) + [p for p, item in items.items() if item == ONION]
    if skill == "pickup(dish)":
        return layout.cells(DISHES) + [p for p, item in items.items() if item == DISH]
    if skill == "put_onion_in_pot":  # the fullest pot that takes one, so that a soup starts cooking soonest
        taking = [(pot.onions, p) for p, pot in zip(layout.pots, state.pots) if pot.accepts]
        return [p for n, p in taking if n == max(taking)[0]]
    if skill == "fill_dish_with_soup":  # a ready soup first; else wait at a pot that cooks (Overcooked's greedy agent)
        ready = [p for p, pot in zip(layout.pots, state.pots) if pot.ready]
        return ready or [p for p, pot in zip(layout.pots, state.pots) if pot.cooking]
    if skill == "deliver_soup":
        return layout.cells(SERVING)
    if skill == "place_obj_on_counter":
        return [p for p in layout.cells(COUNTER) if p not in items]
    return []


def reachable(layout: Layout, state: State, cook: int, tiles: Iterable[Pos]) -> bool:
    """Whether the cook can get to do something at one of `tiles` (the other cook is not counted: it moves)."""
    me = state.cooks[cook]
    goals = goal_poses(layout, tiles)
    return bool(goals) and shortest_path(layout, (me.pos, me.facing), goals) is not None


def next_move(layout: Layout, state: State, cook: int, tiles: Iterable[Pos], *, give_way: bool = False) -> str:
    """The cook's next action toward doing something at one of `tiles`: `interact` when it faces one, else
    the first move of the shortest path around the other cook; when the other cook stands in every way
    there, the path through it (`give_way`: a step out of its way instead), `stay` when no tile can be
    reached."""
    me, other = state.cooks[cook], state.cooks[1 - cook]
    goals = goal_poses(layout, tiles)
    start = (me.pos, me.facing)
    if start in goals:
        return "interact"
    path = shortest_path(layout, start, goals, frozenset({other.pos}))
    if path is None:
        if give_way:
            return make_way(layout, state, cook)
        path = shortest_path(layout, start, goals)
    return path[0] if path else "stay"


def make_way(layout: Layout, state: State, cook: int) -> str:
    """An idle cook's move: off a working cell (beside a pot, a dispenser or the serving counter, which the
    other cook may need) to the nearest free cell that is not one; else, when the other cook is within
    `MAKE_WAY_WITHIN` steps, the move that takes it farthest from it; else `stay`."""
    me, other = state.cooks[cook].pos, state.cooks[1 - cook].pos
    working = {pose[0] for pose in goal_poses(layout, [p for t in WORK_TILES for p in layout.cells(t)])}
    if me in working:
        rest = {(cell, d) for cell in layout.cells(FLOOR) if cell not in working and cell != other for d in DIRECTIONS}
        path = shortest_path(layout, (me, state.cooks[cook].facing), rest, frozenset({other}))
        if path:
            return path[0]
    if _distance(me, other) > MAKE_WAY_WITHIN:
        return "stay"
    best, far = "stay", _distance(me, other)
    for move in DIRECTIONS:
        cell = ahead(me, move)
        if layout.walkable(cell) and cell != other and _distance(cell, other) > far:
            best, far = move, _distance(cell, other)
    return best


def _distance(a: Pos, b: Pos) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])

