"""One Deep Agent run: choose the planner's prompt version, plan, run the task DAG, write the answer.

The DAG is made per run (`teams.task_dag.TaskDAG`) because its executor carries the run's goal. Scopes:
`plan` (the first plan), `node:<id>/executor` (each node's agent), `node:<id>/replan` (a failed node's
subtree planned again), `finish` (the answer): a model per role serves `plan`, `executor`, `replan` and
`finish`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...teams.task_dag import DAG, ModelPlanner, TaskDAG, TaskDAGError
from ...tools import ToolSet
from ...types import AgentResult, ModelRequest
from . import versions
from .executor import DeepExecutor
from .versions import BASE, PromptStore

PROMPTS = Path(__file__).parent / "prompts"


class DeepAgent:
    """Deep Agent's HTDAG on one task (see the package docstring)."""

    def __init__(self, model: Model, tools: ToolSet, *, system: str | None, sampling: dict[str, Any],
                 store: PromptStore | None, max_replans: int, max_nodes: int, max_depth: int, max_subtasks: int,
                 node_steps: int, name: str = "deep-agent") -> None:
        self.model, self.tools, self.system, self.sampling, self.store = model, tools, system, sampling, store
        self.max_replans, self.max_nodes, self.max_depth = max_replans, max_nodes, max_depth
        self.max_subtasks, self.node_steps, self.name = max_subtasks, node_steps, name
        self.last: DAG | None = None
        """The DAG of the last run (for inspection and tests)."""

    async def run(self, task: str, ctx: Context) -> AgentResult:
        tweak = await versions.choose(ctx, self.store, "plan") if self.store is not None else BASE
        tools = [spec["function"] for spec in self.tools.specs()]
        planner = ModelPlanner(self.model, prompts=PROMPTS, sampling=self.sampling, max_subtasks=self.max_subtasks,
                               variables={"tools": tools, "tweak": versions.tweak_text("plan", tweak)})
        executor = DeepExecutor(self.model, self.tools, goal=task, system=self.system, sampling=self.sampling,
                                store=self.store, max_depth=self.max_depth, max_subtasks=self.max_subtasks,
                                node_steps=self.node_steps)
        dag = TaskDAG(planner, executor, name=self.name, finish=self._finish, max_replans=self.max_replans,
                      max_nodes=self.max_nodes, max_depth=self.max_depth)
        try:
            result = await dag.run(task, ctx)
        except TaskDAGError:
            self.last = dag.last
            if self.store is not None:
                await versions.record(ctx, self.store, "plan", tweak, False)
            raise
        self.last = dag.last
        if self.store is not None:  # the first plan held when none of its nodes had to be re-planned
            replanned = any(n.status == "replaced" for n in self.last.nodes.values())  # type: ignore[union-attr]
            await versions.record(ctx, self.store, "plan", tweak, not replanned)
        return result

    async def _finish(self, goal: str, dag: DAG, ctx: Context) -> str:
        results = [n for n in dag.live() if n.parent is None and n.status == "done"]
        prompt = render(PROMPTS / "finish.j2", goal=goal, results=results)
        response = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                            **self.sampling))
        return (response.text or "").strip()
