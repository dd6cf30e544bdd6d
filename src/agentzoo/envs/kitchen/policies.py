"""Scripted cooks: the teammate the agent works with, and the oracle that solves a task.

Both are skill-level rules (a rule picks a skill from what the cooks hold and how the pots stand) driven by
the motion planner (`planning`): Overcooked-AI's greedy human model in spirit (`GreedyHumanModel`: deliver a
soup in hand, fill a dish when a soup is cooking, else fetch what the pots need). The rule is re-read every
step, so a cook switches as soon as the kitchen changes. A cook with nothing to do steps away from the other
cook when it is near (`planning.make_way`), as a person would, so that an idle cook does not block a pot; the
teammate also steps aside when the agent's cook stands in the only way to where it is going.

Teammates (a task's `teammate`):
- `greedy`: the whole cycle (onions, dishes, soups), like the agent's oracle.
- `onions`: fetches onions for the pots and nothing else: soups are served only if the agent serves them.
A teammate pauses for one step with the task's `noise` probability (a human proxy is not a machine), drawn
from a hash of the task's seed and the step, so a snapshot needs no random state. When its moves have been
undone by collisions `UNSTICK_AFTER` steps in a row, it takes a step in a direction drawn the same way
(Overcooked-AI's agents' auto-unstuck).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from .planning import make_way, next_move, skill_targets
from .world import DIRECTIONS, DISH, ONION, ONIONS_PER_SOUP, SOUP, Layout, Pot, State

UNSTICK_AFTER = 2
WAIT = "wait(1)"

Rule = Callable[[str | None, str | None, Sequence[Pot]], str]


def greedy_skill(mine: str | None, other: str | None, pots: Sequence[Pot]) -> str:
    """The next skill of a cook that does the whole cycle, from what it and the other cook hold."""
    if mine == SOUP:
        return "deliver_soup"
    if mine == DISH:
        return "fill_dish_with_soup" if any(p.cooking or p.ready for p in pots) else WAIT
    if mine == ONION:
        return "put_onion_in_pot" if any(p.accepts for p in pots) else "place_obj_on_counter"
    dishes_wanted = sum(p.cooking or p.ready for p in pots) - (other == DISH)
    if dishes_wanted > 0:
        return "pickup(dish)"
    return "pickup(onion)" if _onions_wanted(pots) > (other == ONION) else WAIT


def onions_skill(mine: str | None, other: str | None, pots: Sequence[Pot]) -> str:
    """The next skill of a cook that only brings onions to the pots (and waits, holding one, for room)."""
    if mine == ONION:
        return "put_onion_in_pot" if any(p.accepts for p in pots) else WAIT
    if mine is None and _onions_wanted(pots) > (other == ONION):
        return "pickup(onion)"
    return WAIT


def _onions_wanted(pots: Sequence[Pot]) -> int:
    return sum(ONIONS_PER_SOUP - p.onions for p in pots if p.accepts)


TEAMMATES: dict[str, Rule] = {"greedy": greedy_skill, "onions": onions_skill}


def rule_action(layout: Layout, state: State, cook: int, rule: Rule, *, give_way: bool = False) -> str:
    """The cook's action this step under `rule`: toward the skill's nearest tile, or out of the other's way
    when idle (`give_way`: also when the other cook blocks every way there)."""
    mine, other = state.cooks[cook].holding, state.cooks[1 - cook].holding
    skill = rule(mine, other, state.pots)
    if skill == WAIT:
        return make_way(layout, state, cook)
    return next_move(layout, state, cook, skill_targets(layout, state, skill), give_way=give_way)


def teammate_action(layout: Layout, state: State, teammate: str, seed: int, noise: float) -> str:
    """Cook 1's action this step."""
    if draw(seed, state.t, "pause") < noise:
        return "stay"
    if state.blocked >= UNSTICK_AFTER:
        moves = list(DIRECTIONS)
        return moves[int(draw(seed, state.t, "unstick") * len(moves))]
    return rule_action(layout, state, 1, TEAMMATES[teammate], give_way=True)


def draw(seed: int, t: int, what: str) -> float:
    """A number in [0, 1) from the seed, the step and a purpose: the same every time, so no random state."""
    digest = hashlib.sha256(f"{seed}:{t}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64
