"""The oracle player of proagent: the kitchen's greedy rule, read off the planner's scene.

The planner's request ends with the scene (`proagent/prompts/scene.j2`): what both players hold and how each
pot stands. The player reads that, picks Player 0's skill by the rule the kitchen's own oracle plays
(`envs.kitchen.greedy_skill`) and Player 1's expected one by the same rule, and answers in the planner's
format. The explainer (never asked when the rule's skills hold) gets a short explanation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...envs.kitchen import Pot, greedy_skill
from ...types import ModelRequest
from ..proagent.agent import PROMPTS
from ..proagent.skills import Call, read_call
from .gold import Gold, Marker, OracleError, last_user, not_recognised, system_of

Player = Callable[[ModelRequest], Any]
HELD = {"nothing": None, "one onion": "onion", "one dish": "dish", "a dish with soup": "soup"}
_HOLDS = re.compile(r"Player ([01]) holds (nothing|one onion|one dish|a dish with soup)\.")
_POT = re.compile(r"Pot \d+ (is empty|has (\d) onions?|is cooking, ready in (\d+) steps|has a ready soup)")


def proagent(gold: Gold) -> Player:
    planner, explainer = Marker.of(PROMPTS / "planner.j2"), Marker.of(PROMPTS / "explainer.j2")

    def play(request: ModelRequest) -> str:
        system = system_of(request)
        if explainer.found_in(system):
            return "In all, the condition that fails is the one the scene contradicts."
        if not planner.found_in(system):
            raise not_recognised("proagent", request)
        mine, theirs, pots = _scene(last_user(request))
        plan, expected = _text(greedy_skill(mine, theirs, pots)), _text(greedy_skill(theirs, mine, pots))
        return (f"Analysis: I follow the greedy cycle: onions into the fullest pot, a dish for a cooking soup, "
                f"then the delivery.\nIntention for Player 1: \"{expected}\"\nPlan for Player 0: \"{plan}\"")

    return play


def _scene(text: str) -> tuple[str | None, str | None, list[Pot]]:
    line = next((line for line in text.splitlines() if line.startswith("Scene ")), None)
    if line is None:
        raise OracleError(f"proagent: the planner's request holds no scene line: {text[-300:]!r}")
    held = {int(player): HELD[item] for player, item in _HOLDS.findall(line)}
    pots = []
    for state, onions, left in _POT.findall(line):
        if state == "is empty":
            pots.append(Pot())
        elif onions:
            pots.append(Pot(int(onions)))
        elif left:
            pots.append(Pot(3, int(left)))
        else:
            pots.append(Pot(3, 0))
    if set(held) != {0, 1} or not pots:
        raise OracleError(f"proagent: cannot read the scene {line!r}")
    return held[0], held[1], pots


def _text(key: str) -> str:
    """`put_onion_in_pot` -> `put_onion_in_pot()` as a planner writes it (read back by the recipe's parser)."""
    call = read_call(f"Player 0: {key}")
    assert isinstance(call, Call), key
    return call.text
