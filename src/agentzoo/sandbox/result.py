"""What one sandboxed action gave back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of running one piece of code in the sandbox. Plain JSON all through."""

    ok: bool
    """True when the code ran to its end (or called `final_answer`) without raising."""
    stdout: str
    """What the action printed, up to `Limits.output_bytes`."""
    stderr: str
    """What the action wrote to stderr, up to `Limits.output_bytes`."""
    error: dict[str, Any] | None
    """`{"type", "message", "traceback"}` of the exception that ended the action, or None."""
    tier: str
    """The isolation tier the code ran in: `bwrap`, `landlock` or `unsafe`."""
    duration_s: float
    """Wall time of the action, seen from the host."""
    limits: dict[str, Any]
    """The limits it ran under."""
    state_lost: bool = False
    """The worker was restarted (crash, hard timeout, stray threads): variables are gone."""
    answered: bool = False
    """The code called `final_answer(value)`."""
    answer: Any = None
    """The value given to `final_answer`, as JSON."""
    stdout_dropped: int = 0
    """Bytes of stdout beyond the cap that were not kept."""
    stderr_dropped: int = 0
    """Bytes of stderr beyond the cap that were not kept."""
    notes: list[str] = field(default_factory=list)
    """What the host saw and the code could not: a restart, a kill, cleaned-up processes."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecResult:
        return cls(**data)
