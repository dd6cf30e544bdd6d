"""Parallel branches of a team: run them together, fail as one, and sample them apart.

Create each branch's context (`ctx.child(name, i)`) in program order before calling `gather`, so
that scope names, and so the journal, do not depend on scheduling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def gather(branches: Iterable[Awaitable[T]]) -> list[T]:
    """Await every branch concurrently; results in branch order.

    When one fails, the others are cancelled and awaited, then its own error is raised (not an
    ExceptionGroup, so a budget or model error ends the run as it would in a single agent), and
    no branch keeps writing to the journal after the run has ended.
    """
    tasks = [asyncio.ensure_future(branch) for branch in branches]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION) if tasks else None
    finally:  # also when the caller itself is cancelled
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    # Read every branch's error, not only the one raised: asyncio logs an error nobody read as "Task
    # exception was never retrieved", with a traceback, when the task is collected.
    errors = [task.exception() for task in tasks if not task.cancelled()]
    first = next((error for error in errors if error is not None), None)
    if first is not None:
        raise first
    return [task.result() for task in tasks]


def branch_sampling(sampling: dict[str, Any] | None, index: int) -> dict[str, Any] | None:
    """`sampling` for parallel branch `index`: a given seed plus the index, so that branches sampled
    under one seed do not all draw the same text (unchanged without a seed)."""
    if not index or not sampling or not isinstance(sampling.get("seed"), int):
        return sampling
    return {**sampling, "seed": sampling["seed"] + index}
