"""A tree search as an agent: it runs anywhere an agent runs (the harness, `agentzoo run`, a team).

Its answer is the chosen node's (a diff at `finish`, `stop [answer]`), its conversation the chosen path
as the policy saw it, and the episode's driver is left at the chosen state, so the environment's scorer
scores the trajectory the search settled on. `last` keeps the `SearchResult` of the latest run.
"""

from __future__ import annotations

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
        result = await self.search.run(self.driver, task, ctx)
        self.last = result
        best = result.best
        if best.record is None:
            raise UserError(f"{self.name}: the search found no state at all")
        messages = self.search.policy.messages(best, task, self.driver.start or {})
        steps = sum(1 for _ in result.tree.nodes if _.reply is not None)
        return AgentResult(result.answer, messages, steps)
