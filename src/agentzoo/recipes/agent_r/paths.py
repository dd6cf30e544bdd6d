"""The finished trajectories of an Agent-R tree and the (good, bad) pairs made from them.

Agent-R (`path_collection.py`): the leaf paths of the MCTS tree (root → leaf), sorted by the leaf's average
value; every ordered pair whose leaf values differ by more than β (`BETA`, "the distinguishable gap"), the good
leaf above α (`ALPHA`, "the lower bound for high-quality trajectories"). Two paths of one tree always share a
prefix: the root's reset at least, and every step down to their deepest common ancestor, the divergence point.

A node's value is the environment's reward along its path as a share of the most the task gives (`ScoreShare`),
so β and α mean the same on a game worth 1 point and on one worth 10. A step that ends the episode in failure (a
lost game, a negative reward: Agent-R's "disaster" node) is marked so that the revision stops at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...runtime.context import Context
from ...search import Node, Reward, Tree


@dataclass(frozen=True)
class ScoreShare:
    """The environment's reward summed along the path, over the task's maximum score when the environment tells
    it (`max_score` in the observation's data, as TextWorld does); the plain sum otherwise (a maze's exit is 1).
    It reads only the node's records (journaled), so a replay with no environment values nodes the same."""

    async def evaluate(self, node: Node, task: str, ctx: Context) -> Reward:
        if node.record is None:
            return Reward(0.0, "no state")
        total = node.record.progress.reward
        top = max_score(node)
        if top is None:
            return Reward(total, "the environment's reward along the path")
        return Reward(total / top, f"{total:g} of the task's {top:g} points")


def max_score(node: Node) -> float | None:
    """The task's maximum score, from the node's observation or else the root's; None when neither says."""
    for n in (node, node.path()[0]):
        if n.record is not None:
            top = n.record.outcome.observation.data.get("max_score")
            if isinstance(top, int | float) and not isinstance(top, bool) and top > 0:
                return float(top)
    return None


def is_disaster(node: Node) -> bool:
    """The node's step ended the episode in failure: a lost game (`info["end"] == "lost"`, or `lost` in the
    observation's data), or a negative step reward (Agent-R: `env_score < 0` marks a disaster). An episode the
    rules stopped (a step limit, repeated actions) is not one: it was not lost, only cut short."""
    record = node.record
    if record is None or not record.progress.done or node.parent is None:
        return False
    outcome = record.outcome
    return (outcome.reward < 0 or outcome.info.get("end") == "lost" or outcome.observation.data.get("lost") is True)


@dataclass(frozen=True)
class Leaf:
    node: Node

    @property
    def value(self) -> float:
        """The leaf's average backed-up value (Agent-R's `node.value / node.visits`)."""
        return self.node.mean

    @property
    def id(self) -> int:
        return self.node.id


def leaves(tree: Tree) -> list[Leaf]:
    """The ends of the rollouts that are still ends: judged nodes with no stepped child, best first (highest average
    value, then the lower id)."""
    ends = [n for n in tree.nodes if n.parent is not None and n.reward is not None and n.record is not None
            and not any(c.record is not None for c in n.children)]
    return [Leaf(n) for n in sorted(ends, key=lambda n: (-n.mean, n.id))]


def divergence(a: Node, b: Node) -> Node:
    """The deepest node both paths pass through (the root at least)."""
    on_a = {id(n) for n in a.path()}
    shared = [n for n in b.path() if id(n) in on_a]
    return shared[-1]


@dataclass(frozen=True)
class Pair:
    good: Leaf
    bad: Leaf
    divergence: Node

    def bad_steps(self) -> list[Node]:
        """The bad path's steps after the divergence point, in order (what the verifier judges)."""
        return self.bad.node.path()[self.divergence.depth + 1:]

    def good_steps(self) -> list[Node]:
        """The good path's steps after the divergence point (the continuation spliced in)."""
        return self.good.node.path()[self.divergence.depth + 1:]


def pairs(ranked: list[Leaf], *, beta: float, alpha: float, limit: int | None = None) -> list[Pair]:
    """Every (good, bad) with value(good) − value(bad) > β and value(good) > α, the best good leaf first and, for
    each, the worst bad leaf first (Agent-R shuffles them with a fixed seed and keeps all; with `limit`, this order
    keeps the most distinct pairs)."""
    found: list[Pair] = []
    for good in ranked:
        if good.value <= alpha:
            continue
        for bad in reversed(ranked):
            if bad is not good and good.value - bad.value > beta:
                found.append(Pair(good, bad, divergence(good.node, bad.node)))
    return found if limit is None else found[:limit]
