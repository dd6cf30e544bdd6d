"""A scripted model that plays every MALLM role on HumanEval and GSM8K tasks.

`agentzoo eval --env humaneval,gsm8k --agent mallm --model scripted:tests/recipes/mallm_script.py:play`.
The persona generator invents numbered experts; the first panelist proposes the task's gold
solution (found by matching the task's prompt in the request) and the others agree; a final
answer is the gold solution and a vote goes to solution 0. `slow_play` sleeps a little first, so
that concurrent calls overlap (crash tests).
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache

from agentzoo.envs.code import HumanEval
from agentzoo.envs.gsm8k import GSM8K


@lru_cache(maxsize=1)
def _envs():
    return [(env, env.tasks()) for env in (HumanEval(), GSM8K())]


def gold_reply(text: str) -> str:
    """The oracle's reply for the task whose prompt `text` contains."""
    for env, tasks in _envs():
        for task in tasks:
            if task.prompt in text:
                return env.oracle(task, "mallm")[0]
    raise LookupError("no HumanEval or GSM8K task in this request")


def play(request) -> str:
    system = request.messages[0]["content"]
    last = request.messages[-1]["content"]
    if "Describe one participant" in system:
        n = last.count('"role"') + 1
        return json.dumps({"role": f"Expert {n}", "description": f"the expert number {n} on this task"})
    if "Vote for the best" in last:
        return "0"
    if "Write down only your final solution" in last or "Write the single final solution" in last:
        return gold_reply(last)
    if "Nobody has proposed a solution yet" in system:
        return f"Here is my proposal.\n\nFinal Solution:\n{gold_reply(system)}"
    return "[AGREE] The current solution is correct and complete."


async def slow_play(request) -> str:
    await asyncio.sleep(0.05)
    return play(request)
