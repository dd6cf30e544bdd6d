"""A scripted model that plays every DyLAN role on HumanEval and GSM8K tasks.

`agentzoo eval --env humaneval,gsm8k --agent dylan --model scripted:tests/recipes/dylan_script.py:play`.
Each agent answers with the task's gold solution (found by matching the task's prompt in the
request) and rates every answer (or judge) it was shown 5; the ranker picks the first two. In
the code network the unit-test writer writes one test (the function exists) and the reviewers
find nothing wrong. `slow_play` does the same after a short sleep, so that concurrent calls
really overlap (crash tests).
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from agentzoo.envs.code import HumanEval
from agentzoo.envs.gsm8k import GSM8K


@lru_cache(maxsize=1)
def _envs():
    return [(env, env.tasks()) for env in (HumanEval(), GSM8K())]


def find(text: str):
    """The environment and the task whose prompt `text` contains."""
    for env, tasks in _envs():
        for task in tasks:
            if task.prompt in text:
                return env, task
    raise LookupError("no HumanEval or GSM8K task in this request")


def gold_reply(text: str) -> str:
    """The oracle's reply for the task whose prompt `text` contains."""
    env, task = find(text)
    return env.oracle(task, "dylan")[0]


def ratings(count: int) -> str:
    return f"\n\nMy ratings: [[{', '.join(['5'] * count)}]]" if count else ""


def play(request) -> str:
    prompt = request.messages[-1]["content"]
    if "Choose the best" in prompt:
        return "The first two answers are the most careful ones. [1, 2]"
    if "You write unit tests" in prompt:
        _, task = find(prompt)
        return f"```python\nassert callable({task.data['entry_point']})\n```"
    implementations = prompt.count("=== Implementation ")
    if "[review n]" in prompt:  # a reviewing judge of the code network
        return "\n".join(f"[review {i}] It does what the docstring says." for i in range(1, implementations + 1)) \
            + ratings(implementations)
    if implementations:  # a coder after the judges: it rates the three judges other than the ranker
        return gold_reply(prompt) + ratings(3)
    return gold_reply(prompt) + ratings(prompt.count("=== Agent "))


async def slow_play(request) -> str:
    await asyncio.sleep(0.05)
    return play(request)
