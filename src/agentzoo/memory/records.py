"""The typed records of a memory stream (Generative Agents §4.1: "a list of memory objects")."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError

KINDS = ("observation", "plan", "reflection", "dialogue")
"""The record types a stream holds. Reflections are the higher-level records; they cite evidence."""


def check_kind(kind: str) -> str:
    """`kind` if it is one of `KINDS`; a `ConfigError` naming it otherwise."""
    if kind not in KINDS:
        raise ConfigError(f"memory record type {kind!r} is unknown; types: {', '.join(KINDS)}")
    return kind


@dataclass(frozen=True)
class MemoryRecord:
    """One entry of the stream. Times are simulated seconds given by the caller, never the wall clock."""

    id: int
    """Position in the stream, from 0, in insertion order (ties in retrieval go to the lower id)."""
    kind: str
    """One of `KINDS`."""
    text: str
    """The natural-language description the agent perceived, planned, said or concluded."""
    created: float
    """Simulated time the record was made, in seconds."""
    last_accessed: float
    """Simulated time it was made or last retrieved: recency decays from here (paper §4.1)."""
    importance: float
    """1..10, scored by a model (or given by the caller)."""
    evidence: tuple[int, ...] = field(default=())
    """Ids of the records a reflection was drawn from; empty for the other types."""


@dataclass(frozen=True)
class Retrieved:
    """A record as retrieval saw it: its score and the three normalised parts of that score."""

    record: MemoryRecord
    score: float
    recency: float
    importance: float
    relevance: float
