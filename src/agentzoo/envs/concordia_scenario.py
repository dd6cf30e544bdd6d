"""A Concordia scenario: plain data (a JSON file in `data/concordia_scenes/`, or a JSON object given as a task's
text), validated once with a `ConfigError` naming the file and the field.

A scenario says where the story is set (`setting`, `world`: facts the game master holds true), who plays
(`players`: a name, an identity, a goal and the memories each starts with), what happens in which order
(`scenes`: participants, rounds, the game minutes a round stands for, turn order `fixed` or `initiative`,
`concurrent` action, a premise, an optional start time and scripted `narrations`), and what a run is measured
on (`goal`: an event the log should hold, found by a pattern over the game master's event statements).
`gold` gives, for some players, an attempt that reaches the goal and the event it should become: what the
oracle plays to check the harness and the scorer.

The shipped scenarios are ours, written for agentzoo (a locked cellar, a market haggle, a lighthouse in a
storm); none comes from Concordia's examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from .. import _json
from ..errors import ConfigError
from .clock import parse_time

SCENARIOS = Path(__file__).parent / "data" / "concordia_scenes"
ORDERS = ("fixed", "initiative")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_FIELDS = {"name", "title", "setting", "start", "world", "players", "scenes", "goal", "gold"}
_PLAYER_FIELDS = {"name", "identity", "goal", "memories"}
_SCENE_FIELDS = {"name", "participants", "rounds", "step_minutes", "order", "concurrent", "premise", "start",
                 "narrations"}
_GOAL_FIELDS = {"description", "pattern", "exclude", "actor"}


@dataclass(frozen=True)
class PlayerSpec:
    name: str
    identity: str
    """Who the player is, in a few sentences (the identity component shows it)."""
    goal: str
    memories: tuple[str, ...]
    """What the player remembers when the simulation starts."""


@dataclass(frozen=True)
class NarrationSpec:
    text: str
    round: int
    to: tuple[str, ...] | None
    """Participants who observe it; None: all."""


@dataclass(frozen=True)
class SceneSpec:
    name: str
    participants: tuple[str, ...]
    rounds: int
    step_minutes: float
    order: str
    concurrent: bool
    premise: str
    start: str | None
    narrations: tuple[NarrationSpec, ...]


@dataclass(frozen=True)
class Goal:
    """An event the run should bring about: one of the game master's statements of a player's attempt (not a
    narration, not a rejected attempt) that matches `pattern` and not `exclude` (both case-insensitive)."""

    description: str
    pattern: str
    exclude: str | None
    actor: str | None
    """Only this player's attempts count; None: anyone's."""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    setting: str
    start: str
    world: tuple[str, ...]
    players: tuple[PlayerSpec, ...]
    scenes: tuple[SceneSpec, ...]
    goal: Goal
    gold: dict[str, dict[str, str]]
    """Player name -> {"attempt", "event"}: a way to the goal, for the oracle."""
    data: dict[str, Any]
    """The scenario as given (plain JSON), for tasks and for the recipe's record."""


def shipped() -> list[str]:
    """The names of the shipped scenarios, sorted."""
    return sorted(p.stem for p in SCENARIOS.glob("*.json"))


def load_scenario(text: str) -> Scenario:
    """The scenario a task's text names (a shipped scenario's name) or holds (a JSON object of the same shape)."""
    stripped = (text or "").strip()
    if stripped.startswith("{"):
        try:
            data = _json.loads(stripped)
        except ValueError as exc:
            raise ConfigError(f"the task's JSON scenario is not valid JSON: {exc}") from None
        return parse_scenario(data, "the task's JSON scenario")
    if stripped not in shipped():
        raise ConfigError(f"unknown concordia scenario {stripped[:80]!r}; shipped: {', '.join(shipped())}; or give a "
                          "JSON object of the same shape as the task's text")
    return read_scenario(SCENARIOS / f"{stripped}.json")


def read_scenario(path: Path) -> Scenario:
    try:
        data = _json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"scenario {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"scenario {path}: not valid JSON ({exc})") from None
    scenario = parse_scenario(data, str(path))
    if path.parent == SCENARIOS and scenario.name != path.stem:
        raise ConfigError(f"scenario {path}: name {scenario.name!r} differs from the file's name {path.stem!r}")
    return scenario


def parse_scenario(data: Any, where: str) -> Scenario:
    """`data` checked field by field; a `ConfigError` names `where` and the field."""
    obj = _object(data, where, "the scenario", _FIELDS, required={"name", "players", "scenes", "goal"})
    name = obj["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        _fail(where, "name", f"must be lower-case letters, digits and '-' (at most 64), got {name!r}")
    players = tuple(_player(p, where, f"players[{i}]") for i, p in enumerate(_list(obj, "players", where)))
    names = [p.name for p in players]
    if not names or len(set(names)) != len(names):
        _fail(where, "players", "must be a non-empty list of players with distinct names")
    start = _time(_text(obj, "start", where, default="2024-03-01T09:00"), where, "start")
    scenes = tuple(_scene(s, where, f"scenes[{i}]", names) for i, s in enumerate(_list(obj, "scenes", where)))
    if not scenes:
        _fail(where, "scenes", "must hold at least one scene")
    goal = _goal(obj["goal"], where, names)
    gold = obj.get("gold", {})
    if not isinstance(gold, dict) or any(k not in names or not isinstance(v, dict) or set(v) != {"attempt", "event"}
                                         or not all(isinstance(x, str) and x.strip() for x in v.values())
                                         for k, v in gold.items()):
        _fail(where, "gold", "must map player names to {\"attempt\": text, \"event\": text}")
    world = tuple(_strings(obj, "world", where))
    return Scenario(name, _text(obj, "title", where, default=name), _text(obj, "setting", where, default=""), start,
                    world, players, scenes, goal, gold, obj)


def _player(data: Any, where: str, field: str) -> PlayerSpec:
    obj = _object(data, where, field, _PLAYER_FIELDS, required={"name", "identity", "goal"})
    name = obj["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 40 or name != name.strip():
        _fail(where, f"{field}.name", f"must be a name of 1 to 40 characters, got {name!r}")
    return PlayerSpec(name, _text(obj, "identity", where, field=f"{field}.identity"),
                      _text(obj, "goal", where, field=f"{field}.goal"),
                      tuple(_strings(obj, "memories", where, field=f"{field}.memories")))


def _scene(data: Any, where: str, field: str, players: list[str]) -> SceneSpec:
    obj = _object(data, where, field, _SCENE_FIELDS, required={"name", "participants"})
    name = _text(obj, "name", where, field=f"{field}.name")
    participants = tuple(_strings(obj, "participants", where, field=f"{field}.participants"))
    unknown = [p for p in participants if p not in players]
    if not participants or unknown or len(set(participants)) != len(participants):
        _fail(where, f"{field}.participants", f"must name distinct players ({', '.join(players)}); got "
                                              f"{list(participants)}")
    rounds = obj.get("rounds", 1)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        _fail(where, f"{field}.rounds", f"must be a whole number ≥ 1, got {rounds!r}")
    minutes = obj.get("step_minutes", 10)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
        _fail(where, f"{field}.step_minutes", f"must be a number of game minutes > 0, got {minutes!r}")
    order = obj.get("order", "fixed")
    if order not in ORDERS:
        _fail(where, f"{field}.order", f"must be one of {', '.join(ORDERS)}, got {order!r}")
    concurrent = obj.get("concurrent", False)
    if not isinstance(concurrent, bool):
        _fail(where, f"{field}.concurrent", f"must be true or false, got {concurrent!r}")
    start = obj.get("start")
    if start is not None:
        _time(start, where, f"{field}.start")
    narrations = []
    for i, item in enumerate(obj.get("narrations", [])):
        at = f"{field}.narrations[{i}]"
        n = _object(item, where, at, {"text", "round", "to"}, required={"text"})
        r = n.get("round", 0)
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < rounds:
            _fail(where, f"{at}.round", f"must be a round of the scene, 0 to {rounds - 1}, got {r!r}")
        to = n.get("to")
        if to is not None and (not isinstance(to, list) or any(p not in participants for p in to)):
            _fail(where, f"{at}.to", f"must list participants of the scene ({', '.join(participants)}), got {to!r}")
        narrations.append(NarrationSpec(_text(n, "text", where, field=f"{at}.text"), r,
                                        None if to is None else tuple(to)))
    return SceneSpec(name, participants, rounds, float(minutes), order, concurrent,
                     _text(obj, "premise", where, default="", field=f"{field}.premise"), start, tuple(narrations))


def _goal(data: Any, where: str, players: list[str]) -> Goal:
    obj = _object(data, where, "goal", _GOAL_FIELDS, required={"description", "pattern"})
    patterns = {}
    for key in ("pattern", "exclude"):
        value = obj.get(key)
        if value is None and key == "exclude":
            patterns[key] = None
            continue
        if not isinstance(value, str) or not value:
            _fail(where, f"goal.{key}", f"must be a regular expression, got {value!r}")
        try:
            re.compile(value)
        except re.error as exc:
            _fail(where, f"goal.{key}", f"is not a valid regular expression ({exc})")
        patterns[key] = value
    actor = obj.get("actor")
    if actor is not None and actor not in players:
        _fail(where, "goal.actor", f"must be a player ({', '.join(players)}) or null, got {actor!r}")
    return Goal(_text(obj, "description", where, field="goal.description"), patterns["pattern"], patterns["exclude"],
                actor)


# --- measuring a run --------------------------------------------------------------------------------------------


def goal_event(goal: Goal, events: list[dict[str, Any]]) -> int | None:
    """The index of the first event of the log that reaches the goal (see `Goal`), or None."""
    pattern = re.compile(goal.pattern, re.I)
    exclude = re.compile(goal.exclude, re.I) if goal.exclude else None
    for i, event in enumerate(events):
        text, actor = event.get("event"), event.get("actor")
        if not isinstance(text, str) or actor is None or event.get("verdict") == "rejected":
            continue
        if goal.actor is not None and actor != goal.actor:
            continue
        if pattern.search(text) and not (exclude and exclude.search(text)):
            return i
    return None


# --- field helpers ----------------------------------------------------------------------------------------------


def _fail(where: str, field: str, problem: str) -> NoReturn:
    raise ConfigError(f"scenario {where}: {field} {problem}")


def _object(data: Any, where: str, field: str, allowed: set[str], *, required: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        _fail(where, field, f"must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        _fail(where, field, f"has unknown field(s) {', '.join(unknown)}; fields: {', '.join(sorted(allowed))}")
    missing = sorted(required - set(data))
    if missing:
        _fail(where, field, f"lacks {', '.join(missing)}")
    return data


def _text(obj: dict[str, Any], key: str, where: str, *, default: str | None = None, field: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        _fail(where, field or key, f"must be text, got {value!r}")
    return value.strip()


def _time(value: Any, where: str, field: str) -> str:
    try:
        if not isinstance(value, str):
            raise ConfigError("")
        parse_time(value)
    except ConfigError:
        _fail(where, field, f"must be an ISO 8601 time (e.g. 2024-03-01T20:00), got {value!r}")
    return value


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        _fail(where, key, f"must be a list, got {type(value).__name__}")
    return value


def _strings(obj: dict[str, Any], key: str, where: str, *, field: str | None = None) -> list[str]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(where, field or key, f"must be a list of non-empty texts, got {value!r}")
    return [v.strip() for v in value]
