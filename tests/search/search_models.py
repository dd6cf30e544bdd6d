"""Deterministic stand-ins for a search's policy and value agent: functions of the request, so a tree depends
only on what the models were asked (and a resumed or replayed search is asked the same)."""

from __future__ import annotations

import hashlib
import json

from agentzoo.models.scripted import ScriptedModel

MOVES = ("north", "south", "east", "west")


def _digest(request) -> int:
    last = request.messages[-1].get("content") or ""
    return int.from_bytes(hashlib.sha256(last.encode()).digest()[:8], "big")


def hashed_policy(request) -> str:
    """A move chosen by the hash of the last message (the node's observation, with any feedback)."""
    return f"I try a way.\nAction: {MOVES[_digest(request) % 4]}"


def hashed_value(request) -> str:
    digest = _digest(request)
    return json.dumps({"explanation": f"state {digest % 97}", "feedback": f"avoid {MOVES[digest % 4]}",
                       "value": digest % 201 - 100})


def models(local: bool = False) -> tuple[ScriptedModel, ScriptedModel]:
    return (ScriptedModel(hashed_policy, name="policy", local=local),
            ScriptedModel(hashed_value, name="value", local=local))
