"""A few sandboxes kept warm for running many independent programs (`execute(..., fresh=True)`).

Scoring a benchmark runs one program per sample; starting a sandbox for each costs ~50 ms of
CPU, several times the program itself. A pool keeps `size` sandboxes and lends one at a time;
with `fresh=True` each program still gets its own process, globals, directory and /tmp.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .host import Sandbox
from .limits import Limits


class SandboxPool:
    def __init__(self, size: int, *, tier: str = "auto", limits: Limits | None = None,
                 allow_unsafe: bool = False) -> None:
        self.size = size
        self.tier, self.limits, self.allow_unsafe = tier, limits, allow_unsafe
        self._idle: asyncio.Queue[Sandbox] | None = None
        self._all: list[Sandbox] = []

    @asynccontextmanager
    async def sandbox(self) -> AsyncIterator[Sandbox]:
        """A started sandbox for the duration of the block; made on first need, up to `size`."""
        if self._idle is None:
            self._idle = asyncio.Queue()
        if self._idle.empty() and len(self._all) < self.size:
            sandbox = Sandbox(tier=self.tier, limits=self.limits, allow_unsafe=self.allow_unsafe)
            self._all.append(sandbox)
            try:
                await sandbox.start()
            except BaseException:
                self._all.remove(sandbox)
                raise
        else:
            sandbox = await self._idle.get()
        try:
            yield sandbox
        finally:
            self._idle.put_nowait(sandbox)

    async def aclose(self) -> None:
        for sandbox in self._all:
            await sandbox.close()
        self._all.clear()
        self._idle = None
