"""The final choice among finished trajectories (SWE-Search's discriminator).

- `MeanReward`: the finished node whose trajectory has the highest mean value (moatless
  `MeanAwardDiscriminator`).
- `Debate`: `n_agents` reviewers (5) argue for `n_rounds` rounds (3) over the finished candidates, each
  round seeing the previous round's arguments; the last round's plurality wins, ties to the higher mean
  value (moatless `AgentDiscriminator(n_agents=5, n_rounds=3)`). Reviewer `i` speaks in scope
  `agent#i`, its rounds numbered within it, so a replay serves every argument.

With no finished node a discriminator returns None and the search keeps its best node found.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import FormatError
from ..prompts import render
from ..protocols import Model
from ..replies import json_object
from ..runtime.context import Context
from ..teams.parallel import gather
from ..types import ModelRequest
from .tree import Node, Tree

PROMPTS = Path(__file__).parent / "prompts"
N_AGENTS, N_ROUNDS = 5, 3
"""moatless README, SWE-Search example: `AgentDiscriminator(n_agents=5, n_rounds=3)`."""


class Discriminator(Protocol):
    async def choose(self, tree: Tree, task: str, ctx: Context) -> Node | None:
        ...


def trajectory_mean(node: Node) -> float:
    """The mean of the values the value function gave the nodes of the path (the root has none)."""
    values = [n.reward.value for n in node.path() if n.reward is not None]
    return sum(values) / len(values) if values else 0.0


def _ranked(tree: Tree) -> list[Node]:
    return sorted(tree.finished(), key=lambda n: (-trajectory_mean(n), n.id))


@dataclass(frozen=True)
class MeanReward:
    async def choose(self, tree: Tree, task: str, ctx: Context) -> Node | None:
        ranked = _ranked(tree)
        return ranked[0] if ranked else None


class Debate:
    """Reviewers debate which finished trajectory is best; `max_candidates` best by mean value are shown."""

    def __init__(self, model: Model, *, n_agents: int = N_AGENTS, n_rounds: int = N_ROUNDS, max_candidates: int = 5,
                 sampling: dict[str, Any] | None = None) -> None:
        self.model, self.n_agents, self.n_rounds, self.max_candidates = model, n_agents, n_rounds, max_candidates
        self.sampling = {"response_format": {"type": "json_object"}, **(sampling or {})}
        """The spec's sampling, and JSON replies unless it says otherwise."""

    async def choose(self, tree: Tree, task: str, ctx: Context) -> Node | None:
        ranked = _ranked(tree)[:self.max_candidates]
        if len(ranked) <= 1:
            return ranked[0] if ranked else None
        by_id = {n.id: n for n in ranked}
        candidates = [{"id": n.id, "steps": n.depth, "mean": f"{trajectory_mean(n):.1f}", "answer": n.answer,
                       "actions": [(p.action or "").strip() for p in n.path()[1:]]} for n in ranked]
        reviewers = [ctx.child("agent", i) for i in range(self.n_agents)]
        arguments: list[dict[str, Any]] = []
        for _ in range(self.n_rounds):
            prompt = render(PROMPTS / "debate.j2", task=task, candidates=candidates, arguments=arguments)
            replies = await gather(self._argue(r, prompt) for r in reviewers)
            arguments = [{"reviewer": i, "choice": choice, "explanation": why}
                         for i, (choice, why) in enumerate(replies) if choice in by_id]
        votes = Counter(a["choice"] for a in arguments)
        if not votes:
            return ranked[0]
        rank = {n.id: i for i, n in enumerate(ranked)}
        return by_id[min(votes, key=lambda c: (-votes[c], rank[c]))]

    async def _argue(self, ctx: Context, prompt: str) -> tuple[int | None, str]:
        messages = [{"role": "system", "content": render(PROMPTS / "debate_system.j2")},
                    {"role": "user", "content": prompt}]
        response = await ctx.model(self.model, ModelRequest(messages=messages, **self.sampling))
        try:
            data = json_object(response.text)
        except FormatError:
            return None, ""  # an unreadable argument is no vote
        choice = data.get("choice")
        if isinstance(choice, str) and choice.strip().isdigit():
            choice = int(choice.strip())
        explanation = data.get("explanation")
        return (choice if isinstance(choice, int) and not isinstance(choice, bool) else None,
                explanation if isinstance(explanation, str) else "")
