"""A scripted model that plays every DyLAN role on HumanEval and GSM8K tasks.

`agentzoo eval --env humaneval,gsm8k --agent dylan --model scripted:tests/recipes/dylan_script.py:play`.
Each agent answers with the task's gold solution (found by matching the task's prompt in the
request) and rates every answer it was shown 5; the ranker picks the first two. `slow_play`
does the same after a short sleep, so that concurrent calls really overlap (crash tests).
"""

from __future__ import annotations

import asyncio
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
                return env.oracle(task, "dylan")[0]
    raise LookupError("no HumanEval or GSM8K task in this request")


def play(request) -> str:
    prompt = request.messages[-1]["content"]
    if "Choose the best" in prompt:
        return "The first two answers are the most careful ones. [1, 2]"
    shown = prompt.count("=== Agent ")
    ratings = f"\n\nMy ratings: [[{', '.join(['5'] * shown)}]]" if shown else ""
    return gold_reply(prompt) + ratings


async def slow_play(request) -> str:
    await asyncio.sleep(0.05)
    return play(request)
