"""A generated environment, run only in the sandbox: each operation one journaled `sandbox/exec` effect.

The model-written code never runs in this process: `sandbox_driver.py` (our program, with the code and the
operation as a JSON payload) runs in a fresh sandboxed process, and its one report line comes back. Replay
and resume serve the report from the journal, so they need no sandbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ....runtime.context import Context
from ....sandbox import ExecResult, Limits, Sandbox

DRIVER = (Path(__file__).parent / "sandbox_driver.py").read_text()
REPORT = "AGENTGEN-REPORT "


@dataclass
class SandboxSettings:
    tier: str = "auto"
    allow_unsafe: bool = False
    wall_seconds: float = 10.0


class World:
    """One item's sandbox, started on the first live operation and closed by `close()`."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self._sandbox: Sandbox | None = None

    async def run(self, ctx: Context, payload: dict[str, Any]) -> dict[str, Any]:
        """The driver's report for `payload` (`ok` False with `error` when the environment failed)."""
        # The payload goes in as a string literal of its JSON, read back with json.loads: data, never code.
        text = json.dumps(payload, sort_keys=True)
        program = f"{DRIVER}\nPAYLOAD = json.loads({text!r})\nmain()\n"
        timeout = self.settings.wall_seconds

        async def perform() -> dict[str, Any]:
            if self._sandbox is None:
                self._sandbox = Sandbox(tier=self.settings.tier, limits=Limits(wall_seconds=timeout),
                                        allow_unsafe=self.settings.allow_unsafe)
            return (await self._sandbox.execute(program, timeout=timeout, fresh=True)).to_json()

        # The request holds the payload, not the driver's text: a change to our driver is not a new request.
        data = await ctx.effect("sandbox", "exec", {"agentgen": payload, "fresh": True, "timeout": timeout}, perform)
        return read_report(ExecResult.from_json(data))

    async def close(self) -> None:
        if self._sandbox is not None:
            sandbox, self._sandbox = self._sandbox, None
            await sandbox.close()


def read_report(result: ExecResult) -> dict[str, Any]:
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(REPORT):
            try:
                return json.loads(line[len(REPORT):])
            except ValueError:
                break
    why = result.error["message"] if result.error else "the environment printed no report"
    return {"ok": False, "error": f"the sandboxed run stopped: {why}"[:2000]}
