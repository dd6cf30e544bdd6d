"""Oracle player for `mechagents`: the engineer writes a program that prints the gold number, the critic writes
the gold answer and TERMINATE; the planner and scientist say one line each. The executor is the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import replies
from ...types import ModelRequest
from ..mechagents.team import PROMPTS
from .gold import Gold, Marker, OracleError, not_recognised, system_of


def mechagents(gold: Gold) -> Callable[[ModelRequest], Any]:
    planner, scientist, engineer, critic = (Marker.of(PROMPTS / f"{role}.j2")
                                            for role in ("planner", "scientist", "engineer", "critic"))

    def play(request: ModelRequest) -> str:
        system = system_of(request)
        if planner.found_in(system):
            return "Plan: compute the answer in Python and print it."
        if scientist.found_in(system):
            return "The quantities and their relation are as the problem states them."
        if engineer.found_in(system):
            number, _ = replies.final_number(gold.reply)
            if number is None:
                raise OracleError(f"mechagents' oracle needs a gold number, got {gold.reply[:200]!r}")
            return f"```python\nprint({number!r})\n```"
        if critic.found_in(system):
            return f"{gold.reply}\nTERMINATE"
        raise not_recognised("mechagents", request)

    return play
