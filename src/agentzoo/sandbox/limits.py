"""The hard limits every sandbox tier enforces on model-written code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-worker and per-action limits. Every tier enforces all of them.

    CPU, memory, file size, open files and processes are kernel resource limits set inside
    the worker before any code runs; the wall clock is enforced twice: the worker interrupts
    the action (its state survives), and the host kills the whole sandbox a moment later if
    the interrupt did not take (its state is lost).
    """

    wall_seconds: float = 30.0
    """Wall-clock time one action may take."""
    cpu_seconds: int = 20
    """CPU time one action may use (all its threads); the worker's lifetime cap is 10× this."""
    memory_mb: int = 1024
    """Address space of each process in the sandbox (RLIMIT_AS)."""
    file_size_mb: int = 64
    """Largest file a process may write (RLIMIT_FSIZE); a larger write fails with EFBIG."""
    disk_mb: int = 256
    """Total size of the work directory (bwrap: a tmpfs of this size)."""
    tmp_mb: int = 64
    """Size of the private /tmp (bwrap tier; other tiers share the work directory's budget)."""
    open_files: int = 256
    """Open file descriptors per process (RLIMIT_NOFILE)."""
    processes: int = 64
    """Processes and threads the sandbox may have at once (RLIMIT_NPROC in its own user namespace)."""
    output_bytes: int = 100_000
    """Captured bytes of stdout and of stderr per action; the rest is counted and dropped."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"Limits({f.name}=...) must be a positive number, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
