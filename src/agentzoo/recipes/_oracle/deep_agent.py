"""The oracle player of deep-agent: a one-node plan whose executor follows the gold path, then the gold answer.

The planner plans one sub-task (the whole task); its executor makes the gold rounds of tool calls one reply
after another (M3ToolEval's; GSM8K has none) and reports the gold answer as the node's result; the finish step
writes the gold answer in the form the environment scores. No node fails, so no re-plan is asked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..deep_agent.agent import PROMPTS
from .gold import Gold, Marker, OracleError, not_recognised, turns_taken, user_texts

Player = Callable[[ModelRequest], Any]
PLAN = {"subtasks": [{"key": "1", "goal": "Carry out the whole task, as its reference solution does.", "after": []}]}


def deep_agent(gold: Gold) -> Player:
    plan, node, finish = (Marker.of(PROMPTS / name) for name in ("plan.j2", "node.j2", "finish.j2"))
    rounds = [step for step in gold.steps if isinstance(step, dict) and step.get("tool_calls")]

    def play(request: ModelRequest) -> Any:
        first = (user_texts(request) or [""])[0]
        if plan.found_in(first):
            return json.dumps(PLAN)
        if finish.found_in(first):
            return gold.reply
        if node.found_in(first):
            made = turns_taken(request)
            return rounds[made] if made < len(rounds) else gold.reply
        if any(Marker.of(PROMPTS / "replan.j2").found_in(text) for text in user_texts(request)):
            raise OracleError("deep-agent: the oracle's one-node plan was asked to be re-planned (its node failed)")
        raise not_recognised("deep-agent", request)

    return play
