"""The kitchen's rules: a layout (data), a state (plain JSON), and one step of both cooks at once.

The rules are Overcooked-AI's (Carroll et al. 2019, `overcooked_ai_py.mdp.overcooked_mdp`), cut down to onion
soup: a cook holds at most one item; `interact` acts on the tile the cook faces (take from a dispenser, put
down on or take from a counter, put an onion in a pot, fill a dish from a pot whose soup is ready, deliver
a soup at the serving counter); a pot starts cooking by itself when its third onion goes in (Overcooked-AI
0.0.1, the version ProAgent's prompts describe) and the soup is ready `cook_time` steps later. A move
turns the cook that way and walks one cell if the cell is floor; when both cooks would end in the same
cell, or swap cells, neither moves (Overcooked-AI's collision rule). Within a step the interactions are
resolved first, cook 0 before cook 1, then the moves, then the pots cook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError

Pos = tuple[int, int]

DIRECTIONS: dict[str, Pos] = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
ACTIONS = ("up", "down", "left", "right", "stay", "interact")
ONION, DISH, SOUP = "onion", "dish", "soup"
ITEMS = (ONION, DISH, SOUP)
SOUP_REWARD = 20      # Overcooked-AI: a delivered onion soup is worth 20 points
ONIONS_PER_SOUP = 3   # Overcooked-AI 0.0.1: num_items_for_soup = 3, cooking starts when the pot is full
COOK_TIME = 20        # Overcooked-AI: 20 steps of cooking (ProAgent's planner prompt says the same)

FLOOR, COUNTER, POT, ONIONS, DISHES, SERVING = " ", "X", "P", "O", "D", "S"
TILE_NAMES = {COUNTER: "counter", POT: "pot", ONIONS: "onion dispenser", DISHES: "dish dispenser",
              SERVING: "serving counter", FLOOR: "floor"}
STARTS = ("1", "2")
"""Where cook 0 (the agent) and cook 1 (the teammate) start, in a layout's grid."""


def ahead(pos: Pos, direction: str) -> Pos:
    dr, dc = DIRECTIONS[direction]
    return (pos[0] + dr, pos[1] + dc)


@dataclass(frozen=True)
class Layout:
    """A kitchen's map: which tile is where. Rows of characters (`TILE_NAMES`), the starts marked 1 and 2."""

    name: str
    rows: tuple[str, ...]
    """The grid with the starts as floor."""
    starts: tuple[Pos, Pos]
    pots: tuple[Pos, ...]
    """Row by row, left to right: pot `i` is `pots[i]`."""

    @classmethod
    def parse(cls, name: str, grid: list[str]) -> Layout:
        if not grid or len({len(row) for row in grid}) != 1:
            raise ConfigError(f"kitchen layout {name!r}: the grid must be rows of equal length")
        starts: dict[str, Pos] = {}
        rows = []
        for r, row in enumerate(grid):
            for c, ch in enumerate(row):
                if ch in STARTS:
                    if ch in starts:
                        raise ConfigError(f"kitchen layout {name!r}: start {ch} is marked twice")
                    starts[ch] = (r, c)
                elif ch not in TILE_NAMES:
                    raise ConfigError(f"kitchen layout {name!r}: unknown tile {ch!r} at row {r}, column {c} "
                                      f"(tiles: {', '.join(repr(t) for t in TILE_NAMES)}, starts 1 and 2)")
            rows.append("".join(FLOOR if ch in STARTS else ch for ch in row))
        if set(starts) != set(STARTS):
            raise ConfigError(f"kitchen layout {name!r}: it needs the starts 1 and 2, found {sorted(starts)}")
        layout = cls(name, tuple(rows), (starts["1"], starts["2"]), ())
        edge = [p for p in layout.cells(FLOOR) if p[0] in (0, len(rows) - 1) or p[1] in (0, len(rows[0]) - 1)]
        if edge:
            raise ConfigError(f"kitchen layout {name!r}: floor on the edge at {edge[0]}: wall the kitchen in")
        return cls(name, tuple(rows), layout.starts, tuple(layout.cells(POT)))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "rows": list(self.rows), "starts": [list(p) for p in self.starts]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Layout:
        """A layout from `to_json` (an observation's `data["layout"]`)."""
        grid = [list(row) for row in data["rows"]]
        for mark, (r, c) in zip(STARTS, data["starts"]):
            grid[r][c] = mark
        return cls.parse(data["name"], ["".join(row) for row in grid])

    def tile(self, pos: Pos) -> str:
        r, c = pos
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[0]):
            return self.rows[r][c]
        return COUNTER

    def walkable(self, pos: Pos) -> bool:
        return self.tile(pos) == FLOOR

    def cells(self, tile: str) -> list[Pos]:
        return [(r, c) for r, row in enumerate(self.rows) for c, ch in enumerate(row) if ch == tile]

    def pot_id(self, pos: Pos) -> int:
        return self.pots.index(pos)


@dataclass
class Cook:
    pos: Pos
    facing: str = "up"
    holding: str | None = None


@dataclass
class Pot:
    onions: int = 0
    left: int | None = None
    """Steps of cooking left: None before the pot is full, 0 when the soup is ready."""

    @property
    def cooking(self) -> bool:
        return self.left is not None and self.left > 0

    @property
    def ready(self) -> bool:
        return self.left == 0

    @property
    def accepts(self) -> bool:
        """An onion can go in: not full, not cooking."""
        return self.left is None and self.onions < ONIONS_PER_SOUP


@dataclass
class State:
    """Everything that changes, as JSON (`to_json`/`from_json`): the episode's snapshot is this."""

    cooks: list[Cook]
    pots: list[Pot]
    counters: dict[Pos, str] = field(default_factory=dict)
    """Items lying on counters."""
    t: int = 0
    """Steps taken."""
    soups: int = 0
    """Soups delivered."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """What the last step's interactions did: `{"cook", "did", "at"}`, `did` a skill name (`pickup(onion)`,
    `put_onion_in_pot`, …): what each cook finished, as ProAgent's environment reports it."""
    blocked: int = 0
    """Steps in a row the teammate's move was undone by a collision (its policy unsticks itself)."""

    @classmethod
    def start(cls, layout: Layout) -> State:
        return cls([Cook(p) for p in layout.starts], [Pot() for _ in layout.pots])

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "soups": self.soups, "blocked": self.blocked,
                "cooks": [{"pos": list(c.pos), "facing": c.facing, "holding": c.holding} for c in self.cooks],
                "pots": [{"onions": p.onions, "left": p.left} for p in self.pots],
                "counters": [[r, c, item] for (r, c), item in sorted(self.counters.items())],
                "events": [dict(e) for e in self.events]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls([Cook((c["pos"][0], c["pos"][1]), c["facing"], c["holding"]) for c in data["cooks"]],
                   [Pot(p["onions"], p["left"]) for p in data["pots"]],
                   {(r, c): item for r, c, item in data["counters"]}, data["t"], data["soups"],
                   [dict(e) for e in data["events"]], data.get("blocked", 0))


def advance(layout: Layout, state: State, actions: tuple[str, str], cook_time: int = COOK_TIME) -> int:
    """Both cooks act at once (each action one of `ACTIONS`); the soups delivered by this step."""
    before = state.soups
    cooking = [i for i, pot in enumerate(state.pots) if pot.cooking]
    events = []
    for i, action in enumerate(actions):
        if action == "interact" and (event := _interact(layout, state, i, cook_time)) is not None:
            events.append(event)
    old = [cook.pos for cook in state.cooks]
    new = list(old)
    for i, action in enumerate(actions):
        if action in DIRECTIONS:
            state.cooks[i].facing = action
            if layout.walkable(target := ahead(old[i], action)):
                new[i] = target
    if new[0] == new[1] or (new[0] == old[1] and new[1] == old[0]):
        new = old
    state.blocked = state.blocked + 1 if actions[1] in DIRECTIONS and new[1] == old[1] and \
        layout.walkable(ahead(old[1], actions[1])) else 0
    for cook, pos in zip(state.cooks, new):
        cook.pos = pos
    for i in cooking:  # a pot filled during this step starts counting at the next
        state.pots[i].left -= 1  # type: ignore[operator]
    state.t += 1
    state.events = events
    return state.soups - before


def _interact(layout: Layout, state: State, i: int, cook_time: int) -> dict[str, Any] | None:
    cook = state.cooks[i]
    target = ahead(cook.pos, cook.facing)
    tile = layout.tile(target)
    did, at = None, TILE_NAMES[tile]
    if tile in (ONIONS, DISHES) and cook.holding is None:
        cook.holding = ONION if tile == ONIONS else DISH
        did = f"pickup({cook.holding})"
    elif tile == COUNTER:
        item = state.counters.get(target)
        if cook.holding is not None and item is None:
            state.counters[target], cook.holding = cook.holding, None
            did = "place_obj_on_counter"
        elif cook.holding is None and item is not None:
            cook.holding = state.counters.pop(target)
            did = f"pickup({item})"
    elif tile == POT:
        pot_id = layout.pot_id(target)
        pot, at = state.pots[pot_id], f"pot {pot_id}"
        if cook.holding == ONION and pot.accepts:
            pot.onions += 1
            cook.holding = None
            if pot.onions == ONIONS_PER_SOUP:
                pot.left = cook_time
            did = "put_onion_in_pot"
        elif cook.holding == DISH and pot.ready:
            state.pots[pot_id] = Pot()
            cook.holding = SOUP
            did = "fill_dish_with_soup"
    elif tile == SERVING and cook.holding == SOUP:
        cook.holding = None
        state.soups += 1
        did = "deliver_soup"
    return None if did is None else {"cook": i, "did": did, "at": at}
