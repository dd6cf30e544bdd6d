"""The search tree: nodes that are states of one step episode, reached by actions from their parent.

A node is a journal prefix plus an environment snapshot. Its `record` is the `env` record its action left
(the step's outcome, the episode's snapshot after it, the progress): expanding the node is stepping from that
snapshot, a fork of the run at that step. Every effect of an expansion (the policy's call, the step, the
value's call) goes in the node's own journal scope, `node#<id>`, so the whole tree is in one run's journal
and replays from it. Ids count nodes in creation order, and children are created before their expansions
run concurrently, so an id never depends on scheduling.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..envs.stepping import Record

SCOPE = "node"
"""The journal scope of node `k` is `node#k`: its policy, step and value calls go in children of it."""


@dataclass(frozen=True)
class Reward:
    """What a value function said of a node (SWE-Search's value agent: explanation, feedback, value)."""

    value: float
    """In [-100, 100] for a value agent; the environment's reward for `EnvReward`."""
    explanation: str = ""
    feedback: str | None = None
    """Advice for the next expansion of the parent (SWE-Search carries it into the 2nd and 3rd)."""

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "explanation": self.explanation, "feedback": self.feedback}


@dataclass(eq=False)
class Node:
    """One state of the episode in the tree."""

    id: int
    parent: Node | None
    action: str | None = None
    """The action that led here from the parent (None for the root: the reset)."""
    reply: str | None = None
    """The policy's whole reply (its thought and the action)."""
    record: Record | None = None
    """The `env` record after the action: outcome, snapshot, progress. None until expanded."""
    reward: Reward | None = None
    visits: int = 0
    value_sum: float = 0.0
    """Sum of the values backed up through this node."""
    feedback: str | None = None
    """The feedback the policy was given when it proposed this node's action."""
    duplicate: bool = False
    """Its action repeats a sibling's (the selector penalises such nodes; they are not expanded again)."""
    error: str | None = None
    """Why the expansion failed (the budget ran out, the policy's reply held no action): a dead end."""
    children: list[Node] = field(default_factory=list)

    @property
    def scope(self) -> str:
        return f"{SCOPE}#{self.id}"

    @property
    def depth(self) -> int:
        depth, node = 0, self.parent
        while node is not None:
            depth, node = depth + 1, node.parent
        return depth

    @property
    def finished(self) -> bool:
        """The episode ended here (the environment said so, or its rules did)."""
        return self.record is not None and self.record.progress.done

    @property
    def mean(self) -> float:
        """The mean of the values backed up through this node (0 before any)."""
        return self.value_sum / self.visits if self.visits else 0.0

    @property
    def answer(self) -> str | None:
        """The answer the episode's last action gave (`stop [Paris]`, a diff at `finish`), if any."""
        if self.record is None:
            return None
        answer = self.record.outcome.info.get("answer")
        return answer if isinstance(answer, str) else None

    def path(self) -> list[Node]:
        """The nodes from the root to this one."""
        nodes, node = [], self
        while node is not None:
            nodes.append(node)
            node = node.parent
        return nodes[::-1]

    def descendants(self) -> Iterator[Node]:
        for child in self.children:
            yield child
            yield from child.descendants()

    def summary(self) -> dict[str, Any]:
        """The node as JSON, without its snapshot (for reports and the viewer)."""
        progress = self.record.progress if self.record is not None else None
        return {"id": self.id, "parent": self.parent.id if self.parent else None, "depth": self.depth,
                "action": self.action, "visits": self.visits, "mean": round(self.mean, 6),
                "reward": self.reward.to_json() if self.reward else None, "finished": self.finished,
                "env_reward": progress.reward if progress else None, "duplicate": self.duplicate,
                "error": self.error, "feedback": self.feedback, "children": [c.id for c in self.children]}


class Tree:
    """The nodes of one search, by id; the root is the episode after its reset."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.root = self.add(None)

    def add(self, parent: Node | None, **fields: Any) -> Node:
        """A new node under `parent`, with the next id (call in program order, before branches run)."""
        node = Node(len(self.nodes), parent, **fields)
        self.nodes.append(node)
        if parent is not None:
            parent.children.append(node)
        return node

    def __len__(self) -> int:
        return len(self.nodes)

    def finished(self) -> list[Node]:
        return [n for n in self.nodes if n.finished]

    def expandable(self, *, max_expansions: int, max_depth: int) -> list[Node]:
        """Nodes that may get another child: expanded, not finished, not a dead end or a duplicate, above the
        depth limit, with fewer than `max_expansions` children."""
        return [n for n in self.nodes if n.record is not None and not n.finished and n.error is None
                and not n.duplicate and n.depth < max_depth and len(n.children) < max_expansions]

    def to_json(self) -> list[dict[str, Any]]:
        return [n.summary() for n in self.nodes]

    def render(self) -> str:
        """The tree as indented text, one node per line (for logs and a terminal)."""
        lines: list[str] = []

        def walk(node: Node, indent: str) -> None:
            value = f"{node.reward.value:g}" if node.reward else "-"
            mark = " (finished)" if node.finished else " (dup)" if node.duplicate else \
                f" (error: {node.error})" if node.error else ""
            action = (node.action or "<reset>").splitlines()[0][:60] if node.action or node.parent is None else "?"
            lines.append(f"{indent}[{node.id}] {action}  value {value}, mean {node.mean:.2f}, "
                         f"visits {node.visits}{mark}")
            for child in node.children:
                walk(child, indent + "  ")

        walk(self.root, "")
        return "\n".join(lines)


def backpropagate(node: Node, value: float) -> None:
    """Add `value` to the node and every ancestor (one visit each)."""
    for n in node.path():
        n.visits += 1
        n.value_sum += value
