"""Scopes: deterministic names for the agents and branches of a run.

A scope is a path such as `team/coder#2`. Effects are numbered (`seq`) within their scope, so
the key `(scope, seq)` of an effect does not depend on how concurrent branches interleave:
each branch gets its own child scope, named before it starts, in program order.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z0-9_.:\-]+$")


class Scope:
    """A node of the scope tree; `next_seq()` numbers the effects made in it."""

    __slots__ = ("path", "_seq", "_child_counts")

    def __init__(self, path: str = "") -> None:
        self.path = path
        self._seq = 0
        self._child_counts: dict[str, int] = {}

    def next_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def child(self, name: str, index: int | None = None) -> Scope:
        """A child scope. Without `index`, a name used again gets `#2`, `#3`… in creation order,
        which is deterministic as long as children are created in program order (before they
        run concurrently). Pass `index` to name parallel branches explicitly."""
        if not _NAME.match(name):
            raise ValueError(f"scope name {name!r} must match {_NAME.pattern}")
        if index is None:
            count = self._child_counts.get(name, 0) + 1
            self._child_counts[name] = count
            label = name if count == 1 else f"{name}#{count}"
        else:
            label = f"{name}#{index}"
        return Scope(f"{self.path}/{label}" if self.path else label)

    def __repr__(self) -> str:
        return f"Scope({self.path!r})"


def is_within(scope: str, ancestor: str) -> bool:
    """True if `scope` is `ancestor` or below it ('' is the root and contains everything)."""
    return ancestor == "" or scope == ancestor or scope.startswith(ancestor + "/")
