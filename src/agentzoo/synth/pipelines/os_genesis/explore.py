"""OS-Genesis's task-free exploration: a seeded random walk over a screen's elements, recording
⟨s_pre, a, s_post⟩ for every step.

The paper's collector is a random walk (`collection/random_walk_aw.py`: it acts on the UI elements it finds,
with no task and no model choosing), so the explorer here is deterministic given its seed and the screens
it is shown: each step lists what can be acted on (tap a button, list item or toggle; type into a text
field; swipe where the screen says there is more; back inside an app) and picks one with the walk's own
random generator. The screens it reads come from the journaled steps, so a replay picks the same actions
with no environment.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from ....envs.step import EpisodeRules, Observation
from ....envs.stepping import StepDriver
from ....runtime.context import Context
from .._open_tasks import OpenTasks

TAPPABLE = ("button", "list_item", "toggle")
TYPED = ("text_field",)
DIRECTIONS = ("left", "right", "up", "down")
TEXTS = ("hello", "Meeting at 10", "milk and eggs", "Call me back", "07:45", "Sam", "weekly plan", "42")
"""What the walk types into a text field (ours: the paper has a model write the text; see DEVIATIONS)."""
EXPLORE_TASK = "Explore the phone (no task)."


def walk_seed(seed: int, walk: int) -> int:
    return int.from_bytes(hashlib.sha256(f"os-genesis:{seed}:{walk}".encode()).digest()[:8], "big")


def candidates(observation: Observation, rng: random.Random) -> list[str]:
    """The actions the walk may take on this screen, in screen order (the text typed is drawn now)."""
    data = observation.data
    out: list[str] = []
    for element in data.get("elements", []):
        if element.get("type") in TAPPABLE:
            out.append(f"tap [{element['id']}]")
        elif element.get("type") in TYPED:
            out.append(f"type [{element['id']}] [{rng.choice(TEXTS)}]")
    for line in observation.text.splitlines():
        if "wipe" in line:  # the screen says there is more this way
            out += [f"swipe [{d}]" for d in DIRECTIONS if f"{d} for" in line]
    if data.get("app") is not None:
        out.append("back")
    return out


def element_of(action: str, observation: Observation) -> dict[str, Any] | None:
    """The element an action names (`tap [3]`, `type [3] [...]`) on the screen it was taken on."""
    if not action.startswith(("tap [", "type [")):
        return None
    wanted = action.split("[", 1)[1].split("]", 1)[0]
    return next((e for e in observation.data.get("elements", []) if str(e.get("id")) == wanted), None)


async def random_walk(world: OpenTasks, steps: int, seed: int, ctx: Context) -> list[dict[str, Any]]:
    """`steps` random actions from the start state, each a journaled step in `ctx`; one triple per step taken."""
    task = world.task(EXPLORE_TASK, "home")
    # The walk ends at its step budget only: a repeated `back` is exploration, not a stuck agent.
    rules = EpisodeRules(max_steps=steps, max_parse_failures=steps + 1, max_repeated_actions=steps + 1)
    driver = StepDriver(world, task, rules=rules)
    rng = random.Random(seed)
    triples: list[dict[str, Any]] = []
    try:
        before = await driver.reset(ctx)
        while not driver.progress.done and len(triples) < steps:
            options = candidates(before, rng)
            if not options:
                break
            action = rng.choice(options)
            outcome = await driver.step(action, ctx)
            after = outcome.observation
            triples.append({"s_pre": before.text, "action": action, "s_post": after.text,
                            "element": element_of(action, before), "app": before.data.get("app"),
                            "screen": before.data.get("screen"), "changed": before.text != after.text,
                            "notice": outcome.info.get("notice")})
            before = after
    finally:
        await driver.close()
    return triples
