"""A tree search as an agent: it runs anywhere an agent runs (the harness, `agentzoo run`, a team).

Its answer is the chosen node's (a diff at `finish`, `stop [answer]`), its conversation the chosen path
as the policy saw it, and the episode's driver is left at the chosen state, so the environment's scorer
scores the trajectory the search settled on. `last` keeps the `SearchResult` of the latest run.

The policy is told the task as the environment states it, not the prompt the harness writes for tool-calling
agents (that one names the `act` and `observe` tools and repeats the action space and first observation, which
the policy's own first message gives in its way).
"""

from __future__ import annotations

from typing import Any

from ..envs.stepping import StepDriver
from ..errors import UserError
from ..runtime.context import Context
from ..types import AgentResult
from .engine import SearchResult, TreeSearch


class SearchAgent:
    def __init__(self, search: TreeSearch, driver: StepDriver | None, *, name: str = "tree-search") -> None:
        self.search, self.name = search, name
        self.driver = driver if driver is not None else StepDriver.replaying()
        self.last: SearchResult | None = None

    async def run(self, task: str, ctx: Context) -> AgentResult:
        task = await stated_task(self.driver, task, ctx)
        result = await self.search.run(self.driver, task, ctx)
        self.last = result
        best = result.best
        if best.record is None:
            raise UserError(f"{self.name}: the search found no state at all")
        messages = self.search.policy.messages(best, task, self.driver.start or {})
        steps = sum(1 for _ in result.tree.nodes if _.reply is not None)
        return AgentResult(result.answer, messages, steps)


async def stated_task(driver: StepDriver, given: str, ctx: Context, *, kind: str = "search", name: str = "task",
                      scope: str = "task") -> str:
    """The task as the environment states it (`given`, the agent's prompt, when the driver has no task). Journaled,
    so a replay, which has no episode, reads the same text."""
    async def perform() -> Any:
        return driver.task.prompt if driver.task is not None else given
    return await ctx.child(scope).effect(kind, name, {}, perform, local=True)
