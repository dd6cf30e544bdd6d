"""The oracle player for CORE-Agent: the environment's gold replies (`Gold.steps`, as a tool-calling agent gives
them: the gold report written, then the Final Answer action, then the answer), one per turn the agent has taken.
The gold report's keys are the task's questions, so the report check lets the Final Answer through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..core_agent import PROMPTS
from .gold import Gold, Marker, OracleError, not_recognised, system_of, turns_taken

Player = Callable[[ModelRequest], Any]


def core_agent(gold: Gold) -> Player:
    own = Marker.of(PROMPTS / "system.j2")
    steps = list(gold.steps)

    def play(request: ModelRequest) -> Any:
        if not own.found_in(system_of(request)):
            raise not_recognised("core-agent", request)
        turn = turns_taken(request)
        if turn >= len(steps):
            raise OracleError(f"core-agent: asked for turn {turn + 1} after the gold's {len(steps)} replies")
        return steps[turn]

    return play
