"""Helpers for the memory tests: run a coroutine as an agent (so effects are journaled), fixed embedders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agentzoo.runtime import runner
from agentzoo.types import AgentResult


class FnAgent:
    """An agent whose run is `fn(ctx)`; what it returns is kept in `.value`."""

    name = "memory-test"

    def __init__(self, fn: Callable[[Any], Awaitable[Any]]) -> None:
        self.fn = fn
        self.value: Any = None

    async def run(self, task: str, ctx: Any) -> AgentResult:
        self.value = await self.fn(ctx)
        return AgentResult(answer="done")


async def run_fn(fn, journal=None):
    agent = FnAgent(fn)
    result = await runner.run(agent, "memory", journal=journal)
    assert result.ok, result.error
    return agent.value, result


class TableEmbedder:
    """Vectors looked up by text: relevance the test can compute by hand. Counts its calls."""

    name = "table"
    dimensions = 2

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table
        self.calls = 0

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [self.table[t] for t in texts]
