"""A journal listener that kills its own process (SIGKILL, no cleanup) when the n-th entry of a kind is
journaled: how the crash tests stop a run at an exact point, then resume it in a new process."""

import os
import signal


def killer(kill_after: int | None, kind: str = "model"):
    """The listener for `runner.run(..., listeners=[...])`; `kill_after` None never kills (a reference run)."""
    seen = 0

    def listen(entry, served):
        nonlocal seen
        if entry.kind == kind:
            seen += 1
            if seen == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    return listen
