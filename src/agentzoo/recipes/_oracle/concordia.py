"""The oracle player of concordia: the scenario's gold players attempt their gold, the game master lets it happen.

The gold (`concordia-scenes`' oracle) maps some players to an attempt that reaches the scenario's goal and the
event it should become. A player's turn is recognised by the game master's question to that player; a gold
player attempts its gold, any other waits. The game master finds every attempt plausible, and its
who/what/where step states a gold attempt as its gold event (everyone present), any other as a quiet moment.
Plans keep to the goal; summaries say nothing new.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...prompts import render
from ...teams.game_master import PROMPTS as GM_PROMPTS
from ...types import ModelRequest
from ..concordia.agent import PROMPTS
from .gold import Gold, Marker, OracleError, last_user, not_recognised

Player = Callable[[ModelRequest], Any]


def concordia(gold: Gold) -> Player:
    plays = _plays(gold)
    asked = {name: render(GM_PROMPTS / "call_to_action.j2", name=name) for name in plays or {}}
    act, plan, replan, summary = (Marker.of(PROMPTS / f"{n}.j2") for n in ("act", "plan", "replan", "summary"))
    verdict, result, event = (Marker.of(GM_PROMPTS / f"{n}.j2") for n in ("plausibility", "result", "who_what_where"))

    def play(request: ModelRequest) -> str:
        if plays is None:  # said when asked: the harness refuses a pair before any call
            raise OracleError(f"concordia plays {gold.env!r} from a gold of player -> attempt and event; got "
                              f"{gold.reply[:80]!r}")
        prompt = last_user(request)
        if act.found_in(prompt):
            player = next((name for name, question in asked.items() if question in prompt), None)
            return plays[player]["attempt"] if player else "They wait and watch."
        if verdict.found_in(prompt):
            return "PLAUSIBLE"
        if result.found_in(prompt):
            return "It goes as intended."
        if event.found_in(prompt):
            done = next((p["event"] for p in plays.values() if f"attempts: {p['attempt']}" in prompt), None)
            return f"{done}\nPresent: everyone" if done else "The moment passes without change.\nPresent: everyone"
        if replan.found_in(prompt):
            return "No"
        if plan.found_in(prompt):
            return "Keep to the goal, one step at a time."
        if summary.found_in(prompt):
            return "Nothing has changed yet."
        raise not_recognised("concordia", request)

    return play


def _plays(gold: Gold) -> dict[str, dict[str, str]] | None:
    try:
        plays = json.loads(gold.reply)
    except ValueError:
        return None
    ok = isinstance(plays, dict) and plays and all(isinstance(p, dict) and {"attempt", "event"} <= set(p)
                                                   for p in plays.values())
    return plays if ok else None
