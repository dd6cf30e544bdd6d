"""Which nodes a search expands next: UCT with SWE-Search's extensions, best-first, beam.

A selector looks at the tree and the nodes that may still get a child, and returns the nodes to expand in
this iteration, one entry per child to make (a node listed twice gets two children). The engine expands
them concurrently. Selection is a pure function of the tree (ties go to the lower id), so the same
journal gives the same tree.

UCT's terms and defaults are SWE-Search's (moatless-tree-search, `moatless/selector/selector.py`,
`Selector` fields; read for the constants): exploitation + exploration·√(ln N_parent / n) + a depth bonus
at the root − depth_weight·√depth + a high-value-leaf bonus + a bonus for a high-value node whose one
changing child did badly − a penalty for a node with a very-high-value child + a bonus for a low-value leaf
under a high-value parent − a penalty for a node on a trajectory already finished with a top value + an
expect-correction bonus + a diversity bonus. Ours: exploitation is the node's mean backed-up value (the
paper's UCT; moatless reads the node's own reward), and a duplicate-child penalty per child whose action
repeated a sibling's (the paper names duplicate penalties; moatless keeps them outside this class).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .tree import Node, Tree


class Selector(Protocol):
    def select(self, tree: Tree, expandable: Sequence[Node], max_expansions: int) -> list[Node]:
        """The nodes to expand now (a node once per child to make); empty ends the search."""
        ...


@dataclass(frozen=True)
class Score:
    """One node's UCT score and its parts (what a trace shows to explain a choice)."""

    total: float
    parts: dict[str, float]


@dataclass(frozen=True)
class UCT:
    """Upper confidence bound over the tree, with SWE-Search's extensions (each off at weight 0).

    `descend=False` (SWE-Search): the best-scoring node among all expandable nodes. `descend=True` (classic
    MCTS, Agent-R): from the root, step to the best-scoring child until an expandable node. `batch`: how
    many distinct nodes to expand at once (1 is the paper's sequential search)."""

    exploration_weight: float = 1.0
    exploitation_weight: float = 1.0
    depth_weight: float = 0.8
    depth_bonus_factor: float = 200.0
    high_value_threshold: float = 55.0
    low_value_threshold: float = 50.0
    very_high_value_threshold: float = 75.0
    high_value_leaf_bonus: float = 20.0
    high_value_bad_children_bonus: float = 20.0
    high_value_child_penalty: float = 5.0
    finished_trajectory_penalty: float = 50.0
    expect_correction_bonus: float = 0.0
    diversity_weight: float = 0.0
    duplicate_child_penalty: float = 10.0
    """Ours: per child whose action repeated a sibling's (a node whose policy keeps repeating itself)."""
    changing_actions: tuple[str, ...] = ("edit",)
    """The first words of actions that change the state (moatless: `RequestCodeChange`), for the
    bad-children bonus."""
    descend: bool = False
    batch: int = 1

    @classmethod
    def swe_search(cls) -> UCT:
        """SWE-Search's selector with moatless's defaults."""
        return cls()

    @classmethod
    def classic(cls, c: float = 0.25, *, batch: int = 1) -> UCT:
        """Plain UCT, mean + c·√(ln N_parent / n), descending from the root (Agent-R: c = 0.25)."""
        return cls(exploration_weight=c, depth_weight=0.0, depth_bonus_factor=0.0, high_value_leaf_bonus=0.0,
                   high_value_bad_children_bonus=0.0, high_value_child_penalty=0.0, finished_trajectory_penalty=0.0,
                   duplicate_child_penalty=0.0, high_value_threshold=math.inf, descend=True, batch=batch)

    def select(self, tree: Tree, expandable: Sequence[Node], max_expansions: int) -> list[Node]:
        if not expandable:
            return []
        if self.descend:
            return self._descend(tree, set(map(id, expandable)))
        ranked = sorted(expandable, key=lambda n: (-self.score(n).total, n.id))
        return ranked[:max(1, self.batch)]

    def _descend(self, tree: Tree, expandable: set[int]) -> list[Node]:
        picks: list[Node] = []
        for _ in range(max(1, self.batch)):
            node = self._descend_once(tree.root, expandable)
            if node is None:
                break
            picks.append(node)
            expandable = expandable - {id(node)}
        return picks

    def _descend_once(self, root: Node, expandable: set[int]) -> Node | None:
        """From the root, the best-scoring child whose subtree can still grow, until an expandable node."""
        memo: dict[int, bool] = {}

        def grows(node: Node) -> bool:
            if id(node) not in memo:
                memo[id(node)] = id(node) in expandable or any(grows(c) for c in node.children)
            return memo[id(node)]

        if not grows(root):
            return None
        node = root
        while id(node) not in expandable:
            node = max((c for c in node.children if grows(c)), key=lambda c: (self.score(c).total, -c.id))
        return node

    def score(self, node: Node) -> Score:
        if node.visits == 0:
            return Score(math.inf, {})
        value = node.mean * self.exploitation_weight
        own = node.reward.value if node.reward else 0.0
        parent_visits = node.parent.visits if node.parent else 1
        child_values = [c.reward.value for c in node.children if c.reward]
        parts = {
            "exploitation": value,
            "exploration": self.exploration_weight * math.sqrt(math.log(max(parent_visits, 1)) / node.visits),
            # moatless gives the depth bonus to the root only: factor·e^(−w·(0−1))
            "depth_bonus": self.depth_bonus_factor * math.exp(self.depth_weight) if node.parent is None else 0.0,
            "depth_penalty": -self.depth_weight * math.sqrt(node.depth),
            "high_value_leaf_bonus": self.high_value_leaf_bonus
            if not node.children and own >= self.high_value_threshold else 0.0,
            "high_value_bad_children_bonus": self._bad_children(node, own, child_values),
            "high_value_child_penalty": -self.high_value_child_penalty
            if child_values and max(child_values) >= self.very_high_value_threshold else 0.0,
            "high_value_parent_bonus": self._parent_bonus(node, own),
            "finished_trajectory_penalty": -self.finished_trajectory_penalty
            if self.finished_trajectory_penalty and node.parent is not None and _finished_high(node) else 0.0,
            "expect_correction_bonus": self._correction(node),
            "diversity_bonus": self._diversity(node),
            "duplicate_child_penalty": -self.duplicate_child_penalty * sum(c.duplicate for c in node.children),
        }
        return Score(sum(parts.values()), parts)

    def _bad_children(self, node: Node, own: float, child_values: list[float]) -> float:
        if not self.high_value_bad_children_bonus or own < self.high_value_threshold or len(child_values) != 1:
            return 0.0
        if not any(_verb(c.action) in self.changing_actions for c in node.children):
            return 0.0
        child = child_values[0]
        # moatless: (reward − child's) × 5 once the child is at or below the low threshold
        return (own - child) * 5 if child <= self.low_value_threshold else 0.0

    def _parent_bonus(self, node: Node, own: float) -> float:
        if node.children or node.parent is None or self.high_value_threshold == math.inf:
            return 0.0
        parent = node.parent
        if (parent.reward is None or parent.reward.value > self.high_value_threshold) and own <= self.low_value_threshold:
            return self.high_value_threshold - own
        return 0.0

    def _correction(self, node: Node) -> float:
        if not self.expect_correction_bonus or not _expects_correction(node) or _expects_correction(node.parent):
            return 0.0
        return self.expect_correction_bonus / (1 + len(node.children) ** 2)

    def _diversity(self, node: Node) -> float:
        if not self.diversity_weight:
            return 0.0
        others = [n for n in _root(node).descendants() if n is not node and n.record is not None]
        if not others:
            return self.diversity_weight
        mine = _state_words(node)
        similarity = sum(_jaccard(mine, _state_words(o)) for o in others) / len(others)
        return self.diversity_weight * (1 - similarity)


@dataclass(frozen=True)
class BestFirst:
    """Greedy: the expandable node with the highest value (its own reward); ties to the deeper node (further
    along), then to the one with fewer children, then to the lower id."""

    def select(self, tree: Tree, expandable: Sequence[Node], max_expansions: int) -> list[Node]:
        if not expandable:
            return []
        return [max(expandable, key=lambda n: (n.reward.value if n.reward else -math.inf, n.depth,
                                               -len(n.children), -n.id))]


@dataclass(frozen=True)
class Beam:
    """Beam search: the `width` best nodes of the deepest level not yet expanded, each given
    `max_expansions` children at once (expanded concurrently)."""

    width: int = 3

    def select(self, tree: Tree, expandable: Sequence[Node], max_expansions: int) -> list[Node]:
        fresh = [n for n in expandable if not n.children]
        if not fresh:
            return []
        deepest = max(n.depth for n in fresh)
        level = sorted((n for n in fresh if n.depth == deepest),
                       key=lambda n: (-(n.reward.value if n.reward else -math.inf), n.id))
        return [n for n in level[:self.width] for _ in range(max_expansions)]


def _verb(action: str | None) -> str:
    return (action or "").strip().split(maxsplit=1)[0].lower() if (action or "").strip() else ""


def _finished_high(node: Node, threshold: float = 100.0) -> bool:
    """A finished node below `node` with a value at the top of the scale (moatless: ≥ 100)."""
    return any(d.finished and d.reward is not None and d.reward.value >= threshold for d in node.descendants())


def _expects_correction(node: Node | None) -> bool:
    return bool(node is not None and node.record is not None and node.record.outcome.info.get("expect_correction"))


def _root(node: Node) -> Node:
    while node.parent is not None:
        node = node.parent
    return node


def _state_words(node: Node) -> set[str]:
    """The words of a node's snapshot: what diversity compares (the working state, not the path to it)."""
    import json

    return set(json.dumps(node.record.snapshot if node.record else {}, sort_keys=True).split())


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0
