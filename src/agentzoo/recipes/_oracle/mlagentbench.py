"""The oracle player of the MLAgentBench research agent: the environment's gold actions, one response each.

The prompt shows the last steps, so the next action is told by the last one shown: none yet, the first gold
action; after gold action k, action k + 1. The gold is the environment's (`env.oracle(task, "tool-calling")`:
`act` calls, each an action's name and JSON input), written in the six entries of the research agent's format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..mlagentbench.agent import PROMPTS
from ..mlagentbench.response import ENTRIES
from .gold import Gold, Marker, OracleError, not_recognised

Player = Callable[[ModelRequest], Any]
_ACTION_LINE = re.compile(r"^Action: (.+)$", re.M)


def mlagentbench(gold: Gold) -> Player:
    opening = Marker.of(PROMPTS / "initial.j2")
    texts = [str(call["arguments"].get("action", "")) for step in gold.steps if isinstance(step, dict)
             for call in step.get("tool_calls") or [] if call.get("name") == "act"]

    def play(request: ModelRequest) -> str:
        prompt = str(request.messages[-1].get("content") or "") if request.messages else ""
        if not opening.found_in(prompt):
            raise not_recognised("mlagentbench", request)
        actions = _actions(texts, gold.env)
        names = [name for name, _ in actions]
        shown = [line.strip() for line in _ACTION_LINE.findall(prompt)]
        last = shown[-1] if shown else ""
        done = names.index(last) + 1 if last in names else 0  # the format's own "Action:" line: nothing done yet
        if done >= len(actions):
            raise OracleError(f"mlagentbench: asked for an action after the gold's {len(actions)}")
        name, action_input = actions[done]
        values = {"Reflection": "I know this task's gold solution.",
                  "Research Plan and Status": f"1. Follow the gold solution: {', '.join(names)}. "
                                              f"**Step {done + 1} of {len(actions)}.**",
                  "Fact Check": "Nothing new is claimed.", "Thought": f"Next: {name}.", "Action": name,
                  "Action Input": json.dumps(action_input)}
        return "\n".join(f"{entry}: {values[entry]}" for entry in ENTRIES)

    return play


def _actions(texts: list[str], env: str) -> list[tuple[str, Any]]:
    """The gold's actions as (name, input); read when asked (a gold that is not a workspace's is refused then)."""
    out = []
    for text in texts:
        name, _, rest = text.partition("\n")
        try:
            out.append((name.strip(), json.loads(rest)))
        except json.JSONDecodeError:
            raise OracleError(f"mlagentbench: the gold of {env} is not a workspace's actions ({text[:80]!r})") from None
    if not out:
        raise OracleError(f"mlagentbench: the gold of {env} has no actions")
    return out
