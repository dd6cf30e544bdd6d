"""One install attempt: the script run in a fresh copy of the repository in the sandbox, then the verification.

The Dockerfile analogue (Installamatic builds a Dockerfile that installs the repository and then runs its tests):
the install script runs with `bash -e` in a fresh copy of the repository inside a fresh sandbox process (no
network, read-only system, its own HOME), then, if it exited 0, the repository's verification command (its test
run) in the same copy. The attempt succeeds only when both exit 0: the build must finish and the verification
command must exit 0 (PAPERS.md #18's rule).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...sandbox import Limits
from ..seeded_bugs import run_program

RUNNER = Path(__file__).parent / "_runner.py"
INSTALL_SECONDS = 120.0
"""Wall clock of the install script (ours: Installamatic stops a Dockerfile build after 30 minutes; these repositories
install in seconds)."""
VERIFY_SECONDS = 60.0   # wall clock of the verification command (ours)
MAX_LOG_CHARS = 6_000   # the end of each log that comes back (ours: what a model reads of a failed build)
GRACE_SECONDS = 20.0    # the sandbox's own wall clock beyond the two commands' (start-up, the files' transfer)


@dataclass(frozen=True)
class Attempt:
    """What one attempt gave. `install_exit`/`verify_exit`: None when stopped, or (verify) never run."""

    install_exit: int | None
    install_log: str
    verify_exit: int | None
    verify_log: str
    timed_out: bool = False
    error: str | None = None
    """What went wrong outside the script (the sandbox's own limit, a lost worker)."""

    @property
    def success(self) -> bool:
        return self.install_exit == 0 and self.verify_exit == 0

    def to_json(self) -> dict[str, Any]:
        return {"install_exit": self.install_exit, "verify_exit": self.verify_exit, "success": self.success,
                "timed_out": self.timed_out, "error": self.error}


async def attempt(files: dict[str, str], script: str, verify: str, *, tier: str = "auto",
                  allow_unsafe: bool = False, memory_mb: int = 1024, install_seconds: float = INSTALL_SECONDS,
                  verify_seconds: float = VERIFY_SECONDS) -> Attempt:
    payload = {"files": files, "script": script, "verify": verify, "install_seconds": install_seconds,
               "verify_seconds": verify_seconds, "max_log_chars": MAX_LOG_CHARS}
    program = ("import json\n" + RUNNER.read_text(encoding="utf-8")
               + f"\nmain(json.loads({json.dumps(payload)!r}))\n")
    total = install_seconds + verify_seconds + GRACE_SECONDS
    limits = Limits(wall_seconds=total, cpu_seconds=int(install_seconds + verify_seconds), memory_mb=memory_mb,
                    output_bytes=MAX_LOG_CHARS * 8)
    result = await run_program(program, tier=tier, limits=limits, allow_unsafe=allow_unsafe, timeout=total)
    if result.answered and isinstance(result.answer, dict):
        install, verify = result.answer["install"], result.answer.get("verify")
        return Attempt(install["exit"], install["log"], verify["exit"] if verify else None,
                       verify["log"] if verify else "",
                       bool(install["timed_out"] or (verify and verify["timed_out"])))
    error = result.error or {}
    return Attempt(None, result.stdout[-MAX_LOG_CHARS:], None, "",
                   error=f"{error.get('type', 'Error')}: {error.get('message', '')}".strip())
