"""The oracle player of proactive-agent: at each event, the stream's gold decision (a task or None).

The conversation is the whole stream, so the event being decided is the number of assistant replies so far;
the gold decisions are the environment's gold as a tool-calling agent plays it (`act` calls `propose [task]`
or `none`; its `observe` calls are not decisions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...envs.proactive_events import parse_action
from ...types import ModelRequest
from ..proactive_agent.agent import PROMPTS
from .gold import Gold, Marker, OracleError, not_recognised, system_of, turns_taken

Player = Callable[[ModelRequest], Any]


def proactive_agent(gold: Gold) -> Player:
    role = Marker.of(PROMPTS / "system.j2")
    actions = [str(call["arguments"]["action"]) for step in gold.steps if isinstance(step, dict)
               for call in step.get("tool_calls") or [] if call.get("name") == "act"]

    def play(request: ModelRequest) -> str:
        if not role.found_in(system_of(request)):
            raise not_recognised("proactive-agent", request)
        try:  # read when asked: the player is made for every environment, not only proactive-events
            decisions = [parse_action(action) for action in actions]
        except ValueError as exc:
            raise OracleError(f"proactive-agent: the gold of {gold.env!r} is not a stream's decisions ({exc})") from None
        done = turns_taken(request)
        if done >= len(decisions):
            raise OracleError(f"proactive-agent: asked about event {done + 1} of a stream of {len(decisions)}")
        task = decisions[done]
        thought = "The user needs help now." if task else "The user needs no help now."
        return f"Thought: {thought}\nTask: {task or 'None'}"

    return play
