"""A deterministic stand-in for Agent-R's actor on TextWorld: a function of the request (so a resumed or replayed
search is asked the same and the tree depends only on the requests), used by `agentzoo eval --model
scripted:agent_r_script.py:play` and by the crash script.

As the policy it plays the game's walkthrough, but a third of the time (by a hash of the request's last message
and its seed, which differs per node) it types a command that does nothing useful: siblings differ, rollouts
score differently, and pairs appear. As the verifier it judges by the same kind of hash.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from agentzoo.envs.textworld_env import TextWorld, clean_text

DETOURS = ("look", "inventory", "go west", "examine floor")
VERDICTS = ("Good", "Uncertain", "Bad")


@lru_cache(maxsize=1)
def walkthroughs() -> dict[str, list[str]]:
    """Each shipped game's opening text → its walkthrough."""
    env = TextWorld()
    return {clean_text(record["intro"]): list(record["walkthrough"]) for record in env.records().values()}


def _hash(request) -> int:
    text = (request.messages[-1].get("content") or "") + f"|{request.seed}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def play(request) -> str:
    system = request.messages[0].get("content") or ""
    if "You check the work of an agent" in system:
        verdict = VERDICTS[_hash(request) % 3]
        return f"I compare the step with the goal.\nJudgement: {verdict}"
    opening = request.messages[1]["content"] if len(request.messages) > 1 else ""
    gold = next((steps for intro, steps in walkthroughs().items() if intro in opening), None)
    if gold is None:
        raise AssertionError("agent_r_script: no shipped game's opening in the request")
    depth = sum(1 for m in request.messages if m.get("role") == "assistant")
    h = _hash(request)
    if h % 3 == 0 or depth >= len(gold):
        action = DETOURS[(h // 3) % len(DETOURS)]
        return f"Thought: I look around first.\nAction: {action}"
    return f"Thought: The walkthrough's next step.\nAction: {gold[depth]}"
