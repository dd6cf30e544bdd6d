"""ProAgent's memory: the recent-K dialogue a module is shown, and its beliefs about the teammate.

`Dialogue` keeps every message a module (planner or explainer) adds to its history and shows the last `k`
(ProAgent's `retrival_method="recent_k"`, `Module.get_cache`: the last K messages, not exchanges).

`Beliefs` holds what the planner inferred the teammate would do (its `Intention for Player 1`, by the scene
it was inferred in) and what the teammate did (the skills the kitchen reports it finished, by step): ProAgent's
`teammate_intentions_dict` and `teammate_ml_actions_dict`, shown to the planner with belief revision on. The
`correction` compares the last inference with the first thing the teammate finished after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Dialogue:
    k: int
    messages: list[dict[str, str]] = field(default_factory=list)

    def add(self, role: str, content: str) -> None:
        self.messages.append({"role": role, "content": content})

    def recent(self) -> list[dict[str, str]]:
        return [dict(m) for m in self.messages[-self.k:]] if self.k > 0 else []


@dataclass
class Beliefs:
    inferred: dict[int, str] = field(default_factory=dict)
    """Scene (step) -> the skill the planner expected of the teammate (`pickup(onion)`, …)."""
    done: dict[int, str] = field(default_factory=dict)
    """Step -> the skill the teammate finished in it (several in one step: the last)."""

    def infer(self, step: int, skill: str) -> None:
        self.inferred[step] = skill

    def saw(self, step: int, skill: str) -> None:
        self.done[step] = skill

    def correction(self) -> dict[str, Any] | None:
        """The last inference against the first skill the teammate finished at or after its scene: `{"at",
        "expected", "when", "did", "right"}`; None before there is both."""
        if not self.inferred:
            return None
        at = max(self.inferred)
        after = sorted(step for step in self.done if step >= at)
        if not after:
            return None
        expected, did = self.inferred[at], self.done[after[0]]
        return {"at": at, "expected": expected, "when": after[0], "did": did, "right": expected == did}

    def recent(self, k: int) -> dict[str, list[tuple[int, str]]]:
        """The last `k` inferences and behaviours (ProAgent shows them all; the prompt stays bounded here)."""
        return {"inferred": sorted(self.inferred.items())[-k:], "done": sorted(self.done.items())[-k:]}
