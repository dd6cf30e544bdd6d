"""Execute Script: one script of the workspace run in the sandbox, and the workspace as the run left it.

The workspace's files are sent in, the script runs as `python -u <script>` in a process of its own inside a
fresh sandbox process (`Sandbox.execute(..., fresh=True)`: nothing of it outlives the run), and the files are
sent back: those it made or changed are the workspace's new files, those it deleted are gone. Hard limits:
the script's own wall clock (`SCRIPT_SECONDS`), the sandbox's CPU, memory, disk and output limits, no network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...sandbox import Limits
from ..seeded_bugs import run_program

RUNNER = Path(__file__).parent / "_script_runner.py"
SCRIPT_SECONDS = 120.0
"""Wall-clock seconds one script may run (ours: MLAgentBench bounds only the whole run, 5 hours; the tasks here
train in about a second)."""
MAX_OUTPUT_CHARS = 50_000   # the end of a script's stdout and stderr that come back (the agent summarises > 5,000)
MAX_FILE_BYTES = 2_000_000  # a file the script writes larger than this is not kept in the workspace
GRACE_SECONDS = 15.0        # the sandbox's own wall clock beyond the script's (the files' transfer, the start-up)


@dataclass(frozen=True)
class ScriptRun:
    """What one run gave: its exit status (None: stopped or lost), its output and the files it left."""

    returncode: int | None
    stdout: str
    stderr: str
    files: dict[str, str] | None
    """The workspace after the run; None when the run came back without it (the sandbox stopped it)."""
    timed_out: bool = False
    skipped: list[list[str]] = field(default_factory=list)
    """Files the run made that the workspace does not keep: [path, why]."""
    error: str | None = None
    """What went wrong outside the script (the sandbox's own limit, a lost worker)."""


async def run_script(files: dict[str, str], script: str, *, seconds: float = SCRIPT_SECONDS, tier: str = "auto",
                     allow_unsafe: bool = False, memory_mb: int = 1024) -> ScriptRun:
    payload = {"files": files, "script": script, "timeout": seconds, "max_output_chars": MAX_OUTPUT_CHARS,
               "max_file_bytes": MAX_FILE_BYTES}
    program = RUNNER.read_text(encoding="utf-8") + f"\nmain(json.loads({json.dumps(payload)!r}))\n"
    program = "import json\n" + program
    limits = Limits(wall_seconds=seconds + GRACE_SECONDS, cpu_seconds=int(seconds) + 5, memory_mb=memory_mb,
                    output_bytes=MAX_OUTPUT_CHARS * 4)
    result = await run_program(program, tier=tier, limits=limits, allow_unsafe=allow_unsafe,
                               timeout=seconds + GRACE_SECONDS)
    if result.answered and isinstance(result.answer, dict):
        got: dict[str, Any] = result.answer
        return ScriptRun(got["returncode"], got["stdout"], got["stderr"], got["files"], bool(got["timed_out"]),
                         got.get("skipped", []))
    error = result.error or {}
    why = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
    return ScriptRun(None, result.stdout[-MAX_OUTPUT_CHARS:], result.stderr[-MAX_OUTPUT_CHARS:], None,
                     error=why)
