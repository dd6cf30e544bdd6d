"""The oracle player of Agent-R (`agent-r`): the actor plays the environment's gold actions (as the tree searches'
player does, by depth), and as the verifier it judges every step Good.

The first rollout is the gold path; later expansions propose the gold action again, duplicates the search does
not step, so the best path found is the gold one (and, with a single leaf, there is no pair to revise).
"""

from __future__ import annotations

from ...types import ModelRequest
from ..agent_r.revise import PROMPTS
from .gold import Gold, Marker
from .search import Player, tree_search

VERDICT = "The step follows the task's solution.\nJudgement: Good"


def agent_r(gold: Gold) -> Player:
    verifier = Marker.of(PROMPTS / "verify_system.j2")
    actor = tree_search(gold, recipe="agent-r", policy_system=PROMPTS / "system.j2")

    def play(request: ModelRequest) -> str:
        system = next((m.get("content") for m in request.messages if m.get("role") == "system"), None)
        if verifier.found_in(system):
            return VERDICT
        return actor(request)

    return play
