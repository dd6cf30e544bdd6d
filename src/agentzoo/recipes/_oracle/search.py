"""The oracle player of the tree searches (`tree-search`, `swe-search`): the policy plays the environment's gold
actions, the value agent rates every state 100, the reviewers of a debate choose the first candidate.

A node's depth is the number of the policy's replies in its conversation, so the policy answers a request
with the gold reply of that depth. From a node that already has a child the policy proposes the same gold
action again: a duplicate, which the search does not step, so the tree is the gold path (with duplicates
beside it) and its finished node is the gold trajectory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...agents.stepper import PROMPTS as STEPPER_PROMPTS
from ...search.policy import PROMPTS as SEARCH_PROMPTS
from ...types import ModelRequest
from .gold import Gold, Marker, OracleError, not_recognised

Player = Callable[[ModelRequest], Any]
VALUE = {"explanation": "The trajectory follows the task's solution.", "feedback": "Keep to the solution.",
         "value": 100}


def tree_search(gold: Gold, recipe: str = "tree-search", policy_system: Path = STEPPER_PROMPTS / "system.j2",
                value_system: Path = SEARCH_PROMPTS / "value_system.j2") -> Player:
    policy, value = Marker.of(policy_system), Marker.of(value_system)
    debate = Marker.of(SEARCH_PROMPTS / "debate_system.j2")
    replies = gold.stepper

    def play(request: ModelRequest) -> str:
        system = next((m.get("content") for m in request.messages if m.get("role") == "system"), None)
        if value.found_in(system):
            return json.dumps(VALUE)
        if debate.found_in(system):
            prompt = request.messages[-1].get("content") or ""
            first = prompt.split("=== Attempt ", 1)[1].split(" ", 1)[0] if "=== Attempt " in prompt else "0"
            return json.dumps({"explanation": "It follows the solution.", "choice": int(first)})
        if policy.found_in(system):
            depth = sum(1 for m in request.messages if m.get("role") == "assistant")
            if not replies:
                raise OracleError(f"{recipe}: the environment {gold.env!r} has no gold actions for a step agent "
                                  "(its oracle(task, 'stepper'))")
            if depth >= len(replies):
                raise OracleError(f"{recipe}: asked for an action after the gold's {len(replies)} (the episode "
                                  "should have ended)")
            return replies[depth]
        raise not_recognised(recipe, request)

    return play


def swe_search(gold: Gold) -> Player:
    from ..swe_search import PROMPTS

    return tree_search(gold, "swe-search", PROMPTS / "system.j2", PROMPTS / "value_system.j2")
