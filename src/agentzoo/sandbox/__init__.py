"""Run model-written code in an OS-isolated, persistent Python worker.

    from agentzoo.sandbox import Sandbox, Limits, probe

    async with Sandbox(limits=Limits(wall_seconds=10)) as sandbox:
        result = await sandbox.execute("x = 6 * 7\\nprint(x)")
        assert result.stdout == "42\\n" and result.tier == "bwrap"

`probe()` says which isolation tiers work on this machine and why the others do not;
`Sandbox(tier="auto")` takes the strongest and refuses to run without isolation unless
`allow_unsafe=True`. Journaled execution (replay and resume never re-run code) and host tools
called from the code through the gateway are in `agentzoo.sandbox.bridge`.
"""

from ..errors import SandboxError, SandboxUnavailable
from .host import Sandbox, ToolHandler
from .limits import Limits
from .result import ExecResult
from .tiers import TIERS, TierReport, probe

__all__ = ["ExecResult", "Limits", "Sandbox", "SandboxError", "SandboxUnavailable", "TIERS", "TierReport",
           "ToolHandler", "probe"]
