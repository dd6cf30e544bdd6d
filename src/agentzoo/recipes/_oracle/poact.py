"""The oracle player for PoAct, from the gold rounds of tool calls (`Gold.steps`, as a tool-calling agent
replies them).

Planning: one sub-goal per gold round, naming its tools; Thought: says it follows the reference; Code: the gold
round of the sub-goal the note names; once every sub-goal is done, the gold answer. The reviewer accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..poact.control import PLAN, PROMPTS, THINK
from .gold import Gold, Marker, OracleError, last_user, not_recognised, system_of

Player = Callable[[ModelRequest], Any]
_CURRENT = re.compile(r"^Current sub-goal (\d+) of (\d+):", re.MULTILINE)
DONE = "Every sub-goal is done"


def poact(gold: Gold) -> Player:
    agent = Marker.of(PROMPTS / "system.j2")
    reviewer = Marker.of(PROMPTS / "reviewer.j2")
    planning, thought, code = (Marker.of(PROMPTS / f"{name}.j2") for name in ("planning", "thought", "code"))
    rounds = [s for s in gold.steps if isinstance(s, dict)]
    answer = next((s for s in reversed(gold.steps) if isinstance(s, str)), None)

    def play(request: ModelRequest) -> Any:
        if answer is None or not rounds:
            raise OracleError(f"poact plays tasks with gold rounds of tool calls and an answer; {gold.env!r} has none")
        note = last_user(request)
        if reviewer.found_in(note):
            return "accept"
        if not agent.found_in(system_of(request)):
            raise not_recognised("poact", request)
        if planning.found_in(note):
            subgoals = ["call " + ", ".join(c["name"] for c in r["tool_calls"]) for r in rounds]
            return {"tool_calls": [{"name": PLAN, "arguments": {"subgoals": subgoals}}]}
        if thought.found_in(note):
            return {"tool_calls": [{"name": THINK, "arguments": {"thought": "I follow the reference's calls."}}]}
        if code.found_in(note):
            current = _CURRENT.search(note)
            if current is not None:
                return rounds[int(current.group(1)) - 1]
            if DONE in note:  # only once every gold round was called and accepted
                return answer
        raise not_recognised("poact", request)

    return play
