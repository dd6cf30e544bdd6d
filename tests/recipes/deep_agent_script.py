"""Scripted roles for deep-agent on GSM8K and M3ToolEval: one function per role (`planner`, `executor`, `replanner`,
`finisher`), or `play` for all of them behind one model.

    agentzoo eval --env gsm8k,m3tooleval --agent deep-agent --model scripted:tests/recipes/deep_agent_script.py:play

Each finds its task by the task's text in the request. GSM8K: the plan is two steps (the second waits for the
first); the first node gives up, so its subtree is planned again as two new steps; those give the gold number and
the finish writes `#### <gold>`. M3ToolEval: the plan is two steps; the first node makes the gold rounds of tool
calls and reports the gold answer, the second reads it from its input; the finish writes the gold answer.
"""

from __future__ import annotations

import json
import re
from functools import cache

from agentzoo.types import ModelRequest

PLANS = {
    "gsm8k": [{"key": "numbers", "goal": "List the quantities the problem gives.", "after": []},
              {"key": "answer", "goal": "Compute the number the problem asks for.", "after": ["numbers"]}],
    "m3tooleval": [{"key": "tools", "goal": "Make the tool calls the task describes, in order.", "after": []},
                   {"key": "report", "goal": "Report the value the tool calls ended with.", "after": ["tools"]}],
}
REPLAN = [{"key": "again", "goal": "Work the problem out step by step.", "after": []},
          {"key": "answer", "goal": "Compute the number the problem asks for.", "after": ["again"]}]
GSM8K_CALLS = 6
"""Model calls per GSM8K run: the plan, the node that gives up, the re-plan, two nodes, the finish."""


@cache
def _tasks():
    from agentzoo.envs.gsm8k import GSM8K
    from agentzoo.envs.m3tooleval.env import M3ToolEval

    return [(GSM8K(), t) for t in GSM8K().tasks()] + [(M3ToolEval(), t) for t in M3ToolEval().tasks()]


def find(request: ModelRequest):
    text = "\n".join(m.get("content") or "" for m in request.messages if m.get("role") in ("user", "system"))
    for env, task in _tasks():
        if task.prompt in text:
            return env, task
    raise LookupError("deep_agent_script: no GSM8K or M3ToolEval task in this request")


def answer(env, task) -> str:
    return str(task.gold) if env.name == "gsm8k" else str(env.oracle(task, "tool-calling")[-1])


def planner(request: ModelRequest) -> str:
    env, _ = find(request)
    return json.dumps({"subtasks": PLANS[env.name]})


def replanner(request: ModelRequest) -> str:
    return json.dumps({"subtasks": REPLAN})


def executor(request: ModelRequest):
    env, task = find(request)
    text = request.messages[1]["content"]
    node = re.search(r"Your sub-task \(([^)]*)\)", text).group(1)
    if env.name == "gsm8k":
        return json.dumps({"failed": "I lost track of the quantities."}) if node == "0" else answer(env, task)
    if node == "0":
        rounds = [s for s in env.oracle(task, "tool-calling") if isinstance(s, dict)]
        made = sum(1 for m in request.messages if m.get("role") == "assistant")
        return rounds[made] if made < len(rounds) else answer(env, task)
    return answer(env, task)


def finisher(request: ModelRequest) -> str:
    env, task = find(request)
    return f"#### {task.gold}" if env.name == "gsm8k" else answer(env, task)


def play(request: ModelRequest):
    first = next(m["content"] for m in request.messages if m.get("role") == "user")
    if "You plan the work above" in first:
        return planner(request)
    if "could not be done, so it and the sub-tasks that needed it are dropped" in first:
        return replanner(request)
    if first.startswith("You do one sub-task"):
        return executor(request)
    return finisher(request)
