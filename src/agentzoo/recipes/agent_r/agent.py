"""The Agent-R agent: MCTS rollouts over one episode, then revision trajectories from the tree, recorded.

    run(task) = search (MCTS rollouts, `agentzoo.search`)  →  leaves, pairs (`paths`)
              → first bad step of each bad path, splice (`revise`)  →  one `data` effect holding the samples

The episode's driver is left at the best path found (the search puts it there), so the environment scores that
path; the samples are the run's by-product for the next round of self-training, written into the journal as one
effect (`kind "data"`, name `agent-r.samples`, in scope `samples`) so that `agentzoo export --format agent-r`
finds them with their provenance and a replay serves them without a model call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ...envs.stepping import StepDriver
from ...errors import BudgetExceeded
from ...protocols import Model
from ...runtime.context import Context
from ...search import Node, Proposal, SearchResult, TextPolicy, Tree, TreeSearch, best_found
from ...search.agent import stated_task
from ...types import AgentResult, ModelRequest
from .paths import Leaf, Pair, is_disaster, leaves, pairs
from .revise import Judgement, Verifier, first_bad, good_conversation, pick_thought, revision_conversation, \
    revision_thoughts

KIND = "data"
SAMPLES = "agent-r.samples"
"""The name of the effect that records a run's samples (what the export reads)."""
SAMPLES_SCOPE = "samples"
TASK = "agent-r.task"
"""The name of the effect that records the task as the environment states it (what the prompts show)."""
TASK_SCOPE = "task"
FORMAT_VERSION = 1


def node_seed(base: int, scope: str) -> int:
    """A sampling seed for the call made in `scope`: each node's proposal (and each judgement) gets its own, so two
    expansions of one state can differ even with a seeded local model, and the same base seed gives the same
    tree (scopes are numbered in program order)."""
    digest = hashlib.sha256(f"{base}:{scope}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


class SeededPolicy(TextPolicy):
    """`TextPolicy` whose requests carry the seed of their node's scope (`node_seed`)."""

    def __init__(self, model: Model, *, base_seed: int, **options: Any) -> None:
        super().__init__(model, **options)
        self.base_seed = base_seed

    async def propose(self, node: Node, task: str, start: dict[str, Any], ctx: Context,
                      feedback: str | None = None) -> Proposal:
        messages = self.messages(node, task, start)  # no sibling feedback in Agent-R (the search is told so)
        seed = node_seed(self.base_seed, ctx.scope.path)
        request = ModelRequest(messages=messages, **{**self.sampling, "seed": seed})
        response = await ctx.model(self.model, request)
        text = response.text or ""
        return Proposal(self.read_action(text), text)


class BestFound:
    """The final choice: the judged node with the highest value (then mean, depth, lower id), finished or not: a
    game scores the points it reached (the engine's own `best_found`, used among finished nodes too)."""

    async def choose(self, tree: Tree, task: str, ctx: Context) -> Node | None:
        return best_found(tree)


@dataclass
class Revision:
    """What one run made: the search, its leaves and pairs, the judgements, and the samples recorded."""

    search: SearchResult
    leaves: list[Leaf]
    pairs: list[Pair]
    samples: list[dict[str, Any]] = field(default_factory=list)
    judgements: dict[int, Judgement] = field(default_factory=dict)
    stopped: str | None = None
    """Why revision stopped early (a budget), if it did."""


class AgentR:
    def __init__(self, model: Model, driver: StepDriver, search: TreeSearch, transcript: TextPolicy, *,
                 verify_sampling: dict[str, Any], base_seed: int, beta: float, alpha: float, verify: bool,
                 good_samples: bool, max_pairs: int | None, name: str = "agent-r") -> None:
        self.model, self.driver, self.search, self.transcript = model, driver, search, transcript
        self.verify_sampling, self.base_seed = verify_sampling, base_seed
        self.beta, self.alpha, self.max_pairs = beta, alpha, max_pairs
        self.verify, self.good_samples = verify, good_samples
        self.name = name
        self.last: Revision | None = None

    async def run(self, task: str, ctx: Context) -> AgentResult:
        task = await self._task(task, ctx)
        result = await self.search.run(self.driver, task, ctx)
        start = self.driver.start or {}
        ranked = leaves(result.tree)
        found = pairs(ranked, beta=self.beta, alpha=self.alpha, limit=self.max_pairs)
        revision = Revision(result, ranked, found)
        self.last = revision
        made = await self._samples(revision, task, start, ctx)
        request = {"version": FORMAT_VERSION, "leaves": [leaf.id for leaf in ranked],
                   "pairs": [[p.good.id, p.bad.id, p.divergence.id] for p in found], "samples": len(made)}
        recorded = await ctx.child(SAMPLES_SCOPE).effect(KIND, SAMPLES, request, self._record(revision, made),
                                                         local=True)
        revision.samples = recorded["samples"]
        best = result.best
        messages = self.transcript.messages(best, task, start)
        steps = sum(1 for n in result.tree.nodes if n.reply is not None)
        return AgentResult(result.answer, messages, steps)

    async def _task(self, given: str, ctx: Context) -> str:
        """The task as the environment states it (see `agentzoo.search.agent`), journaled as Agent-R's own effect."""
        return await stated_task(self.driver, given, ctx, kind=KIND, name=TASK, scope=TASK_SCOPE)

    async def _samples(self, revision: Revision, task: str, start: dict[str, Any],
                       ctx: Context) -> list[dict[str, Any]]:
        def messages_of(node: Node) -> list[dict[str, Any]]:
            return self.transcript.messages(node, task, start)

        made: list[dict[str, Any]] = []
        if self.good_samples:
            for leaf in revision.leaves:
                if leaf.value > self.alpha:
                    made.append({"kind": "good", **_leaf_fields(leaf, "good"), **_no_bad(),
                                 "conversation": good_conversation(messages_of, leaf.node)})
        verifier = Verifier(self.model, self.verify_sampling, lambda scope: node_seed(self.base_seed, scope))
        thoughts = revision_thoughts()
        for pair in revision.pairs:
            try:
                if self.verify:
                    end, why, judged = await first_bad(pair, task, verifier, ctx)
                else:  # Agent-R's --revise 0: the whole bad path, no verifier
                    end, why, judged = None, "leaf", []
            except BudgetExceeded as exc:
                revision.stopped = f"budget: {exc}"
                break
            bad_end = end if end is not None else pair.bad.node
            template = pick_thought(self.base_seed, pair.good.id, pair.bad.id)
            made.append({"kind": "revision", **_leaf_fields(pair.good, "good"), **_leaf_fields(pair.bad, "bad"),
                         "divergence": pair.divergence.id, "shared_steps": pair.divergence.depth,
                         "first_bad": end.id if end is not None else None,
                         "bad_end": why, "bad_steps": bad_end.depth - pair.divergence.depth,
                         "judgements": [j.to_json() for j in judged], "template": template,
                         "conversation": revision_conversation(messages_of, pair, bad_end, thoughts[template])})
        revision.judgements = dict(verifier.cache)
        return made

    def _record(self, revision: Revision, made: list[dict[str, Any]]):
        driver, model = self.driver, self.model

        async def perform() -> dict[str, Any]:
            task = driver.task
            return {"version": FORMAT_VERSION, "env": driver.name, "task": task.id if task is not None else None,
                    "model": getattr(model, "name", type(model).__name__), "seed": self.base_seed,
                    "beta": self.beta, "alpha": self.alpha, "stopped": revision.stopped,
                    "leaves": [{"node": leaf.id, "value": leaf.value, "finished": leaf.node.finished,
                                "disaster": is_disaster(leaf.node), "depth": leaf.node.depth}
                               for leaf in revision.leaves],
                    "samples": made}
        return perform


def _leaf_fields(leaf: Leaf, role: str) -> dict[str, Any]:
    return {f"{role}_leaf": leaf.id, f"{role}_value": float(leaf.value)}


def _no_bad() -> dict[str, Any]:
    """The fields of a revision sample, empty in a good one (so every row has the same columns)."""
    return {"bad_leaf": None, "bad_value": None, "divergence": None, "shared_steps": None, "first_bad": None,
            "bad_end": None, "bad_steps": None, "judgements": [], "template": None}
