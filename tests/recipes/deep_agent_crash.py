"""A crash script for the deep-agent tests: the recipe on a word problem, its planner splitting it into two parallel
sub-tasks and one that waits for both, the second of those giving up once so its subtree is planned again; run to
its end or killed by SIGKILL after the n-th model call (`python deep_agent_crash.py JOURNAL [KILL_AFTER]`)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.kill import run_to_the_end_or_killed  # noqa: E402

from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes.deep_agent import build  # noqa: E402
from agentzoo.types import ModelRequest  # noqa: E402

TASK = "A box is 3 wide and 4 high. What is its area? End with #### <number>."
PLAN = {"subtasks": [{"key": "w", "goal": "find the width", "after": []},
                     {"key": "h", "goal": "find the height", "after": []},
                     {"key": "a", "goal": "multiply them", "after": ["w", "h"]}]}
REPLAN = {"subtasks": [{"key": "h", "goal": "read the height again", "after": []},
                       {"key": "a", "goal": "multiply them", "after": ["0", "h"]}]}
CALLS = 7
"""plan, width, height (gives up), re-plan, height again, multiply, finish."""


def reply_to(request: ModelRequest) -> str:
    first = next(m["content"] for m in request.messages if m.get("role") == "user")
    if "You plan the work above" in first:
        return json.dumps(PLAN)
    if "could not be done" in first:
        return json.dumps(REPLAN)
    if "The work above was split" in first:
        return "#### 12"
    if "find the width" in first:
        return "3"
    if "find the height" in first:
        return json.dumps({"failed": "the height is not on the page"})
    if "read the height again" in first:
        return "4"
    return "12"


def agent(model):
    return build(model)


if __name__ == "__main__":
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    run_to_the_end_or_killed(agent(ScriptedModel(reply_to)), TASK, sys.argv[1], kill_after)
