"""MALT's search tree as plain JSON, and its credit assignment (pure: no model, no journal).

A tree is a list of nodes, each `{"id", "role", "parent", "prompt", "text", "scope"}` and, on a leaf (a
refinement), `"grade"` (0 or 1, from the environment's scorer). Ids spell the path: `g0` is the first generation,
`g0.v1` its second critique, `g0.v1.r2` that critique's third refinement.

Value iteration (MALT §3, PAPERS.md #52): a leaf's value is its grade; any other node's value is the mean of its
children's values. A node is positive when its value reaches the threshold (0.5). A negative node is paired with
a positive sibling (same parent, so the same prompt): chosen = the sibling, rejected = the node.
"""

from __future__ import annotations

from typing import Any

Node = dict[str, Any]
ROLES = ("generator", "verifier", "refiner")


def children(nodes: list[Node]) -> dict[str | None, list[Node]]:
    """Each parent id (None for the roots) → its children, in tree order."""
    out: dict[str | None, list[Node]] = {}
    for node in nodes:
        out.setdefault(node["parent"], []).append(node)
    return out


def assign_values(nodes: list[Node], threshold: float) -> list[Node]:
    """The nodes with `value` (mean of the children's values; a leaf's grade) and `positive` (value ≥ threshold).

    A node with no children and no grade (its expansion was cut short) has no value (None) and counts as
    neither; a parent's mean is over the children that have one."""
    kids = children(nodes)
    values: dict[str, float | None] = {}

    def value(node: Node) -> float | None:
        if node["id"] not in values:
            below = kids.get(node["id"], [])
            if not below:
                grade = node.get("grade")
                values[node["id"]] = None if grade is None else float(grade)
            else:
                got = [v for v in (value(c) for c in below) if v is not None]
                values[node["id"]] = sum(got) / len(got) if got else None
        return values[node["id"]]

    out = []
    for node in nodes:
        v = value(node)
        out.append({**node, "value": v, "positive": None if v is None else v >= threshold})
    return out


def pairs(nodes: list[Node]) -> list[tuple[Node, Node]]:
    """(chosen, rejected) for every negative node that has a positive sibling: the sibling with the highest
    value, the first one on a tie (so the pairing is deterministic)."""
    out = []
    for siblings in children(nodes).values():
        positives = [n for n in siblings if n["positive"]]
        if not positives:
            continue
        best = max(positives, key=lambda n: n["value"])  # max keeps the first of equals
        out += [(best, n) for n in siblings if n["positive"] is False]
    return out
