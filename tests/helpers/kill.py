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


def run_to_the_end_or_killed(agent, task: str, journal_path, kill_after: int | None, kind: str = "model") -> None:
    """A crash script's whole run: `agent` on `task` into the journal at `journal_path`, killed after the
    `kill_after`-th entry of `kind` (None: to the end); prints the run id and status for the test to read."""
    import asyncio

    from agentzoo import Journal
    from agentzoo.runtime import runner

    result = asyncio.run(runner.run(agent, task, journal=Journal(journal_path),
                                    listeners=[killer(kill_after, kind)]))
    print(result.run_id, result.status, flush=True)
