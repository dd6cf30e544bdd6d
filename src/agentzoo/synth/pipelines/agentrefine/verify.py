"""AgentRefine's rule-based verifier (PAPERS.md #38): an environment script must be well formed, and a simulated
trajectory must use only the script's actions with exactly their parameters, and hold a mistake that the agent
later corrects. Each check raises `Rejected(category, problem)`: the category is what the report counts, the
problem is what the generator is told before it writes again. Nothing here runs what a model wrote.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class Rejected(Exception):
    def __init__(self, category: str, problem: str) -> None:
        super().__init__(problem)
        self.category, self.problem = category, problem


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    parameters: dict[str, str]
    """Parameter name → type (one of `TYPES`)."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}

    def tool(self) -> dict[str, Any]:
        """The action as an OpenAI function tool."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": {"type": "object", "properties": {p: {"type": t} for p, t in self.parameters.items()},
                           "required": list(self.parameters), "additionalProperties": False}}}


def check_script(data: dict[str, Any], *, min_actions: int) -> dict[str, Any]:
    """The script, normalised (`actions` as `Action.to_json`, `state` as text), or `Rejected("script …")`."""
    for key in ("description", "task"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise Rejected("script: missing field", f"`{key}` must be a non-empty string")
    state = data.get("state")
    if state is None or state == "" or state == {} or state == []:
        raise Rejected("script: missing field", "`state` must give the starting state")
    raw = data.get("actions")
    if not isinstance(raw, list) or len(raw) < min_actions:
        raise Rejected("script: too few actions", f"`actions` must list at least {min_actions} actions")
    actions: list[Action] = []
    for i, entry in enumerate(raw):
        actions.append(_action(entry, i))
    names = [a.name for a in actions]
    if len(set(names)) != len(names):
        raise Rejected("script: bad action", f"action names must be distinct, got {names}")
    return {"description": data["description"].strip(), "task": data["task"].strip(),
            "state": state.strip() if isinstance(state, str) else json.dumps(state, ensure_ascii=False),
            "actions": [a.to_json() for a in actions]}


def _action(entry: Any, i: int) -> Action:
    if not isinstance(entry, dict):
        raise Rejected("script: bad action", f"action {i + 1} must be an object with name, description, parameters")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise Rejected("script: bad action", f"action {i + 1}'s name must be one word or snake_case, got {name!r}")
    params = entry.get("parameters", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise Rejected("script: bad action", f"action {name}'s parameters must be an object of name → type")
    typed: dict[str, str] = {}
    for p, t in params.items():
        if isinstance(t, dict):  # a JSON-schema-like {"type": …, "description": …}
            t = t.get("type", "string")
        if not _NAME.match(str(p)):
            raise Rejected("script: bad action", f"action {name}: parameter name {p!r} is not one word")
        typed[str(p)] = t if t in TYPES else "string"
    description = entry.get("description")
    return Action(name, description.strip() if isinstance(description, str) else "", typed)


def check_trajectory(data: dict[str, Any], actions: list[dict[str, Any]], *, min_turns: int, max_turns: int,
                     require_correction: bool = True) -> dict[str, Any]:
    """The trajectory, normalised (`turns`, `final`), or `Rejected("trajectory: …")`. The checks, in order:
    format, every action in the script's list, its arguments exactly the action's parameters with their types,
    and (with `require_correction`) an error turn followed later by a turn without error."""
    turns = data.get("turns")
    if not isinstance(turns, list) or not turns:
        raise Rejected("trajectory: bad format", "`turns` must be a non-empty list")
    if not min_turns <= len(turns) <= max_turns:
        raise Rejected("trajectory: turn count", f"write from {min_turns} to {max_turns} turns, not {len(turns)}")
    known = {a["name"]: a["parameters"] for a in actions}
    out = []
    for k, turn in enumerate(turns, 1):
        if not isinstance(turn, dict) or not isinstance(turn.get("action"), dict):
            raise Rejected("trajectory: bad format", f"turn {k} must have an `action` object")
        if not isinstance(turn.get("observation"), str) or not turn["observation"].strip():
            raise Rejected("trajectory: bad format", f"turn {k} must have the environment's `observation` as text")
        error = turn.get("error", False)
        if not isinstance(error, bool):
            raise Rejected("trajectory: bad format", f"turn {k}: `error` must be true or false")
        name, arguments = turn["action"].get("name"), turn["action"].get("arguments", {})
        if name not in known:
            raise Rejected("trajectory: action not in list",
                           f"turn {k} uses the action {name!r}, which is not one of {', '.join(known)}")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise Rejected("trajectory: bad parameters", f"turn {k}: `arguments` must be an object")
        wanted = known[name]
        if set(arguments) != set(wanted):
            raise Rejected("trajectory: bad parameters", f"turn {k}: {name} takes exactly "
                           f"({', '.join(wanted) or 'no parameters'}), got ({', '.join(arguments) or 'none'})")
        for p, kind in wanted.items():
            value = arguments[p]
            if not isinstance(value, TYPES[kind]) or (kind != "boolean" and isinstance(value, bool)):
                raise Rejected("trajectory: bad parameters", f"turn {k}: {name}'s {p} must be a {kind}, got {value!r}")
        thought = turn.get("thought")
        out.append({"thought": thought.strip() if isinstance(thought, str) else "",
                    "action": {"name": name, "arguments": arguments}, "observation": turn["observation"].strip(),
                    "error": error})
    if require_correction and not has_correction(out):
        raise Rejected("trajectory: no error→correction",
                       "it needs a turn marked `error: true` and, after it, a turn that corrects it (`error: false`)")
    final = data.get("final")
    return {"turns": out, "final": final.strip() if isinstance(final, str) else ""}


def has_correction(turns: list[dict[str, Any]]) -> bool:
    """A mistake and, after it, a turn that is not one: the agent refined after the environment's feedback."""
    seen_error = False
    for turn in turns:
        if turn["error"]:
            seen_error = True
        elif seen_error:
            return True
    return False
