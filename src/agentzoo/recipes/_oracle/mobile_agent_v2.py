"""The oracle player of mobile-agent-v2: the decision agent follows the gold path; reflection answers A, the
memory unit None, planning a count of the steps done.

Every role's prompt is new each round, so the decision agent's place on the gold path is read from its prompt:
the history operations list one `Step k:` line per operation judged A, which with this oracle's reflection is
every operation. After the last gold action it stops with the gold answer (a question's, else `done`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..mobile_agent_v2.agent import PROMPTS
from .gold import Gold, Marker, OracleError, last_user, not_recognised

Player = Callable[[ModelRequest], Any]
_STEP = re.compile(r"^Step \d+: ", re.MULTILINE)


def mobile_agent_v2(gold: Gold) -> Player:
    decision, memory = Marker.of(PROMPTS / "decision.j2"), Marker.of(PROMPTS / "memory.j2")
    reflection, planning = Marker.of(PROMPTS / "reflection.j2"), Marker.of(PROMPTS / "planning.j2")
    actions = [str(call["arguments"]["action"]) for step in gold.steps if isinstance(step, dict)
               for call in step.get("tool_calls") or [] if call.get("name") == "act"]

    def play(request: ModelRequest) -> str:
        prompt = last_user(request)
        if decision.found_in(prompt):
            done = len(_STEP.findall(prompt))
            if done > len(actions):
                raise OracleError(f"mobile-agent-v2: {done} operations done, the gold path has {len(actions)}")
            action = actions[done] if done < len(actions) else f"stop [{gold.reply or 'done'}]"
            return (f"### Thought ###\nThe gold path's step {done + 1}.\n### Action ###\n{action}\n"
                    f"### Operation ###\nTake the action {action}.")
        if memory.found_in(prompt):
            return "### Important content ###\nNone"
        if reflection.found_in(prompt):
            return "### Thought ###\nThe screen changed as the operation meant.\n### Answer ###\nA"
        if planning.found_in(prompt):
            return f"### Thought ###\nOne more step done.\n### Completed contents ###\n{len(_STEP.findall(prompt))} " \
                   "steps of the gold path are done."
        raise not_recognised("mobile-agent-v2", request)

    return play
