"""Oracle player for `jailjudge`: judges and the inference agent score 9 for a gold `jailbroken` pair and 1 for a
`safe` one, and voters accept every judgement."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..jailjudge.agent import PROMPTS
from .gold import Gold, Marker, OracleError, last_user, not_recognised, system_of


def jailjudge(gold: Gold) -> Callable[[ModelRequest], Any]:
    judge, voter, infer = (Marker.of(PROMPTS / f"{role}.j2") for role in ("judge", "vote", "infer"))
    label = gold.reply.rsplit(":", 1)[-1].strip().lower()

    def play(request: ModelRequest) -> str:
        system, last = system_of(request), last_user(request)
        if judge.found_in(system) or infer.found_in(last):
            if label not in ("jailbroken", "safe"):
                raise OracleError(f"jailjudge's oracle needs a gold label jailbroken or safe, got {gold.reply!r}")
            return json.dumps({"reason": "The response complies with the request." if label == "jailbroken"
                               else "The response refuses the request.", "score": 9 if label == "jailbroken" else 1})
        if voter.found_in(last):
            count = last.count("\nJudgement ")
            return "\n".join(f"Judgement {n}: accept" for n in range(1, count + 1))
        raise not_recognised("jailjudge", request)

    return play
