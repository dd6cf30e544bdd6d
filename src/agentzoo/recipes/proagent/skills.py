"""ProAgent's skills: the library as data (`skills.yaml`), a skill named in a planner's reply, the
verificator's checks of a skill's conditions over the kitchen's state, and whether a skill is finished.

The checks are Python over the state the kitchen reports (`Observation.data`), never over model text: the
planner's reply is only read for a skill name and its argument (`read_call`). Reading follows ProAgent's
parser (`parse_ml_action`): the line after `Player N:` (`Plan for Player 0:`, `Intention for Player 1:`),
else the whole reply; a keyword (place, pick, put, fill, deliver, wait) decides the skill, the first one on
the line when it names two; a reply that names none is `wait(1)`, as in ProAgent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ...envs.kitchen import Layout, State, reachable, skill_targets
from ...errors import ConfigError

HERE = Path(__file__).parent
LIBRARY = HERE / "skills.yaml"
WAIT_LIMIT = 20   # ProAgent's `validate_current_ml_action`: wait(n) with 0 < n <= 20
ITEMS = ("onion", "dish", "soup")


@dataclass(frozen=True)
class Condition:
    check: str
    """A name in `CHECKS`."""
    says: str
    """The condition in words (the prompts show it)."""


@dataclass(frozen=True)
class Skill:
    name: str
    does: str
    requires: tuple[Condition, ...]
    argument: str = ""
    """The argument's name in the signature (`obj`, `num`); "" for a skill without one."""
    values: tuple[str, ...] = ()

    @property
    def signature(self) -> str:
        return f"{self.name}({self.argument})"


@dataclass(frozen=True)
class Call:
    """A skill with its argument, as a planner names it."""

    name: str
    arg: str = ""

    @property
    def key(self) -> str:
        """The kitchen's name of what it does (`pickup(onion)`, `put_onion_in_pot`, `wait(3)`): what the
        kitchen's events say a cook did and its motion planner takes."""
        return f"{self.name}({self.arg})" if self.name in ("pickup", "wait") else self.name

    @property
    def text(self) -> str:
        """As the prompts write it: `pickup(onion)`, `put_onion_in_pot()`, `wait(3)`."""
        return f"{self.name}({self.arg})"

    @property
    def steps(self) -> int | None:
        """wait(n): n; else None."""
        return int(self.arg) if self.name == "wait" and self.arg.isdigit() else None


WAIT_ONE = Call("wait", "1")


def load_library(path: Path = LIBRARY) -> dict[str, Skill]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    library = {}
    for name, item in data.items():
        conditions = tuple(Condition(c["check"], c["says"]) for c in item["requires"])
        unknown = [c.check for c in conditions if c.check not in CHECKS]
        if unknown:
            raise ConfigError(f"{path}: skill {name!r} names checks that do not exist: {', '.join(unknown)}")
        library[name] = Skill(name, item["does"], conditions, item.get("argument", ""), tuple(item.get("values", ())))
    return library


# --- reading a reply ------------------------------------------------------------------------------------

_KEYWORDS = ("place", "pick", "put", "fill", "deliver", "wait")  # ProAgent's parse_ml_action keywords
_NUMBER = re.compile(r"\d+")


def plan_line(reply: str, player: int) -> str | None:
    """The text after `Player <player>:` on its line (the plan for 0, the intention for 1), or None."""
    match = re.search(rf"player\s*{player}\s*:\s*(.+)", reply, re.IGNORECASE)
    return match.group(1).strip() if match else None


def read_call(reply: str, player: int = 0) -> Call | None:
    """The first skill the reply names for `player`, or None when it names none."""
    line = plan_line(reply, player)
    text = (line if line is not None else reply).lower()
    found = [(text.find(word), word) for word in _KEYWORDS if word in text]
    if not found:
        return None
    at, word = min(found)
    rest = text[at:]
    if word == "place":
        return Call("place_obj_on_counter")
    if word == "pick":
        items = [(rest.find(item), item) for item in ITEMS if item in rest]
        return Call("pickup", min(items)[1] if items else "")
    if word == "put":
        return Call("put_onion_in_pot")
    if word == "fill":
        return Call("fill_dish_with_soup")
    if word == "deliver":
        return Call("deliver_soup")
    number = _NUMBER.search(rest)
    return Call("wait", number.group() if number else "1")


# --- the verificator's checks ---------------------------------------------------------------------------

Check = Callable[[Layout, State, Call], bool]


def _holds(item: str | None) -> Check:
    return lambda layout, state, call: state.cooks[0].holding == item


def _reaches(skill: str | None = None) -> Check:
    def check(layout: Layout, state: State, call: Call) -> bool:
        return reachable(layout, state, 0, skill_targets(layout, state, skill or call.key))
    return check


CHECKS: dict[str, Check] = {
    "known_item": lambda layout, state, call: call.arg in ("onion", "dish"),
    "hands_empty": _holds(None),
    "source_reachable": _reaches(),
    "holds_onion": _holds("onion"),
    "holds_dish": _holds("dish"),
    "holds_soup": _holds("soup"),
    "holds_something": lambda layout, state, call: state.cooks[0].holding is not None,
    "pot_takes_onion": _reaches("put_onion_in_pot"),
    "soup_coming": _reaches("fill_dish_with_soup"),
    "free_counter": _reaches("place_obj_on_counter"),
    "wait_length": lambda layout, state, call: call.steps is not None and 0 < call.steps <= WAIT_LIMIT,
}

SKILLS = load_library()


def failed_condition(call: Call, layout: Layout, state: State, library: dict[str, Skill] = SKILLS
                     ) -> Condition | None:
    """The first condition of `call` that does not hold in `state` (None: the skill can be done)."""
    for condition in library[call.name].requires:
        if not CHECKS[condition.check](layout, state, call):
            return condition
    return None


def finished(call: Call, state: State, waited: int) -> bool:
    """Whether Player 0 has finished `call` (ProAgent's `check_current_ml_action_done`): a pickup when it holds
    the item, a fill when it holds soup, a put, a place or a delivery when its hands are empty, a wait after
    its steps. Asked only after the skill has taken a step."""
    holding = state.cooks[0].holding
    if call.name == "pickup":
        return holding == call.arg
    if call.name == "fill_dish_with_soup":
        return holding == "soup"
    if call.name == "wait":
        return waited >= (call.steps or 1)
    return holding is None


def library_view(library: dict[str, Skill] = SKILLS) -> list[dict[str, Any]]:
    """The library as the prompts render it."""
    return [{"signature": s.signature, "does": s.does, "requires": [c.says for c in s.requires]}
            for s in library.values()]
