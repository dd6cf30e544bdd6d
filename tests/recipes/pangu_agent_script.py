"""Scripted roles for pangu-agent on gridworld and textworld: one function per function of a structure (`think`,
`plan`, `reflect`, `communicate`, `act`), or `play` for all of them behind one model.

    agentzoo eval --env gridworld,textworld --agent pangu-agent \
        --model scripted:tests/recipes/pangu_agent_script.py:play

Each finds its task in the memory state (`Task: …`, the task's own prompt, and the first observation), and reads
how many actions were taken (`Actions taken so far: n`): `act` answers the walkthrough's n-th action; the intrinsic
functions answer a line that names that action too (so an intrinsic reply that reached the environment would show).
"""

from __future__ import annotations

import re
from functools import cache

from agentzoo.types import ModelRequest

_TAKEN = re.compile(r"^Actions taken so far: (\d+)$", re.M)


@cache
def _walkthroughs() -> list[tuple[str, list[str]]]:
    """(what identifies the task in a request, its walkthrough): a maze by its task prompt (each names its exit), a
    game by its opening text (which the memory keeps in view)."""
    from agentzoo.envs.gridworld import GridWorld
    from agentzoo.envs.textworld_env import TextWorld, clean_text

    grid, games = GridWorld(), TextWorld()
    found = [(f"Task: {t.prompt}\n", grid.oracle(t, "stepper")) for t in grid.tasks()]
    found += [(clean_text(games.records()[t.id]["intro"]), games.oracle(t, "stepper")) for t in games.tasks()]
    return [(key, [r.removeprefix("Action: ") for r in replies if r.startswith("Action: ")]) for key, replies in found]


def _state(request: ModelRequest) -> tuple[list[str], int]:
    text = request.messages[-1]["content"]
    for key, actions in _walkthroughs():
        if key in text:
            return actions, int(_TAKEN.search(text).group(1))
    raise LookupError("pangu_agent_script: no gridworld or textworld task in this request")


def act(request: ModelRequest) -> str:
    actions, taken = _state(request)
    return f"Action: {actions[taken]}"


def think(request: ModelRequest) -> str:
    actions, taken = _state(request)
    return f"The way on is {actions[taken]}."


def plan(request: ModelRequest) -> str:
    actions, taken = _state(request)
    return "\n".join(actions[taken:taken + 3])


def reflect(request: ModelRequest) -> str:
    return "My steps follow the way out; I keep to it."


def communicate(request: ModelRequest) -> str:
    actions, taken = _state(request)
    return f"Try {actions[taken]} next."


def play(request: ModelRequest) -> str:
    ask = request.messages[-1]["content"].rsplit("\n", 1)[-1]
    for name, fn in (("Give your next action", act), ("Think about the situation", think),
                     ("Make a plan from here", plan), ("Reflect on your recent", reflect),
                     ("You are a teammate", communicate)):
        if ask.startswith(name):
            return fn(request)
    raise LookupError(f"pangu_agent_script: not a pangu-agent request: {ask[:80]!r}")
