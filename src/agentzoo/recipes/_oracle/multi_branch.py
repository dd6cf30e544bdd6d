"""Oracle player for `multi-branch`: one sub-task, every branch writes the gold, the selector picks the first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..multi_branch.agent import PROMPTS
from .gold import Gold, Marker, last_user, not_recognised, system_of


def multi_branch(gold: Gold) -> Callable[[ModelRequest], Any]:
    decomposer, branch, selector = (Marker.of(PROMPTS / f"{role}.j2") for role in ("decompose", "branch", "select"))

    def play(request: ModelRequest) -> str:
        system, last = system_of(request), last_user(request)
        if decomposer.found_in(system):
            return "1. Solve the whole task."
        if branch.found_in(last):
            return gold.reply
        if selector.found_in(last):
            return "Choice: 1"
        raise not_recognised("multi-branch", request)

    return play
