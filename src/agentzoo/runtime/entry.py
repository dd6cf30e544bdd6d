"""Journal records: one `Entry` per effect, one `RunInfo` per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .._records import quick_init
from ..types import Usage

SCHEMA_VERSION = 2
"""Version of the journal's tables and entry format; stored in every database and run."""

EffectKind = Literal["model", "embed", "tool", "sandbox", "env", "human", "clock", "random", "a2a"]
"""`a2a`: one task sent to a remote agent (`agentzoo.net.a2a_client`); its usage and cost are the remote's."""
EntryStatus = Literal["ok", "error", "started"]
RunStatus = Literal["running", "finished", "failed", "interrupted", "corrupt"]
"""`corrupt` is never written: `Journal.list_runs` gives it to a row it cannot read (`error` says why)."""


@quick_init
@dataclass(frozen=True, slots=True)
class Entry:
    """One effect, as performed (or served) by the gateway."""

    run_id: str
    scope: str
    """Path of the agent or branch that made the effect, e.g. `team/coder#2` ('' is the root)."""
    seq: int
    """Counts effects within `scope`, from 0; `(scope, seq)` is the stable key."""
    kind: EffectKind
    name: str
    """Model name, tool name, environment name…"""
    request: Any
    """The request as plain JSON."""
    request_hash: str
    """SHA-256 of the canonical JSON of `request`."""
    result: Any = None
    """The result as plain JSON (None while `started` or on error)."""
    status: EntryStatus = "ok"
    error: dict[str, Any] | None = None
    """`{"type", "message"}` when status is `error`."""
    usage: Usage = Usage()
    cost_usd: float | None = None
    """None when the price of the model is unknown."""
    started_at: float = 0.0
    ended_at: float = 0.0
    side_effects: bool = False
    """True for effects that change the world (tools that write, use the network or money)."""

    @property
    def key(self) -> tuple[str, int]:
        return (self.scope, self.seq)

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)


@dataclass(slots=True)
class RunInfo:
    """A run's metadata row."""

    run_id: str
    created_at: float
    status: RunStatus = "running"
    task: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    """What is needed to build the agent again (model string, tools, system prompt, …)."""
    config_hash: str = ""
    parent_id: str | None = None
    """The run this one was forked from."""
    fork_point: dict[str, Any] | None = None
    """Where a fork diverged from its parent: `{"scope", "seq", "differences"}`."""
    answer: str | None = None
    error: dict[str, Any] | None = None
    updated_at: float = 0.0
    schema_version: int = SCHEMA_VERSION
    agentzoo_version: str = ""
    label: str | None = None
