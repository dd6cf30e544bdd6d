"""The oracle player of pangu-agent: every intrinsic function says it follows the walkthrough, `act` takes its
next step.

The memory state in every request says how many actions the agent has taken (`Actions taken so far: n`), so
`act` answers the gold path's n-th action whatever the structure (a vote's samples all agree; either branch of
a switch acts the same).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..pangu_agent.functions import PROMPTS
from .gold import Gold, Marker, OracleError, last_user, not_recognised

Player = Callable[[ModelRequest], Any]
INTRINSIC = ("think", "plan", "reflect", "communicate", "tool")
SAID = "I know this task's reference solution; I follow it one action at a time."
_TAKEN = re.compile(r"^Actions taken so far: (\d+)$", re.M)


def pangu_agent(gold: Gold) -> Player:
    act = Marker.of(PROMPTS / "act.j2")
    intrinsic = [Marker.of(PROMPTS / f"{name}.j2") for name in INTRINSIC]
    actions = [reply.removeprefix("Action: ") for reply in gold.stepper]

    def play(request: ModelRequest) -> str:
        text = last_user(request)
        if act.found_in(text):
            taken = _TAKEN.search(text)
            if taken is None:
                raise not_recognised("pangu-agent", request)
            n = int(taken.group(1))
            if n >= len(actions):
                raise OracleError(f"pangu-agent: asked for action {n + 1} after the gold path's {len(actions)} "
                                  "(the episode should have ended)")
            return actions[n]
        if any(marker.found_in(text) for marker in intrinsic):
            return SAID
        raise not_recognised("pangu-agent", request)

    return play
