"""Oracle player for `ltl`: the gold path written in the segments of the run's protocol.

The player reads which shipped protocol the agent follows from its system prompt (the spec's
description is rendered there word for word), replays the conversation through that protocol's
automaton (each reply's segments, then one observation per action), and writes the next reply:
the shortest run of text segments that leads to where the next gold tool call may come, then as
many of the gold step's calls as the protocol lets stand in a row (PASS: all of them, as one
parallel group; ReAct: one per reply), or, when every gold call is made, the way to the final
segment holding the gold answer. So it follows any shipped protocol without knowing its shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import _json
from ...types import ModelRequest
from ..ltl import PRESETS
from ..ltl.agent import PROMPTS
from ..ltl.protocol import Protocol, load
from ..ltl.segments import Segment, read
from .gold import Gold, Marker, OracleError, not_recognised, system_of

Player = Callable[[ModelRequest], Any]


def ltl(gold: Gold) -> Player:
    marker = Marker.of(PROMPTS / "system.j2")
    protocols = [load(values["spec"]) for values in PRESETS.values()]
    groups = [tuple(step["tool_calls"]) for step in gold.steps if isinstance(step, dict) and step.get("tool_calls")]

    def play(request: ModelRequest) -> str:
        system = system_of(request)
        if not marker.found_in(system):
            raise not_recognised("ltl", request)
        protocol = next((p for p in protocols if p.description and p.description in system), None)
        if protocol is None:
            raise OracleError("the oracle plays the shipped ltl protocols only "
                              f"({', '.join(p.name for p in protocols)}), not a spec file of your own")
        state, made = _replayed(protocol, request)
        return "\n".join(s.text() for s in _next_reply(protocol, state, _remaining(groups, made), gold.reply))

    return play


def _replayed(protocol: Protocol, request: ModelRequest) -> tuple[int, int]:
    """(the automaton's state after the conversation, the tool calls made so far)."""
    automaton, state, made, waiting = protocol.automaton, protocol.automaton.start, 0, 0
    for message in request.messages[2:]:  # after the system prompt and the task
        if message.get("role") == "assistant":
            for segment in read(message.get("content") or "", protocol.labels)[1]:
                state = automaton.step(state, segment.label)
                if protocol.kind(segment.label) == "action":
                    made, waiting = made + 1, waiting + 1
        elif message.get("role") == "user" and protocol.observation is not None:
            for _ in range(waiting):
                state = automaton.step(state, protocol.observation)
            waiting = 0
    return state, made


def _remaining(groups: list[tuple[dict[str, Any], ...]], made: int) -> tuple[dict[str, Any], ...]:
    """The calls of the gold step under way after `made` calls (those the last reply could not all hold)."""
    for group in groups:
        if made < len(group):
            return group[made:]
        made -= len(group)
    return ()


def _next_reply(protocol: Protocol, state: int, calls: tuple[dict[str, Any], ...], answer: str) -> list[Segment]:
    automaton = protocol.automaton
    texts, (action, *_), (final, *_) = protocol.of_kind("text"), protocol.of_kind("action") or ("",), \
        protocol.of_kind("final")
    goal = action if calls else final
    path = automaton.path(state, texts, [goal])
    if path is None:
        raise OracleError(f"protocol {protocol.name!r} offers no way to a {goal} from here")
    reply = [Segment(label, "Following the reference solution.") for label in path]
    for label in path:
        state = automaton.step(state, label)
    if not calls:
        return [*reply, Segment(final, answer)]
    for call in calls:
        if action not in automaton.allowed(state):
            break  # the protocol wants this call's observation first: it goes in the next reply
        arguments = call.get("arguments", {})
        reply.append(Segment(action, f"{call['name']} "
                                     f"{arguments if isinstance(arguments, str) else _json.dumps_str(arguments)}"))
        state = automaton.step(state, action)
    return reply
