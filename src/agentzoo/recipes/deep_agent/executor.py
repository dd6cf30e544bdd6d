"""The executor of a node: a tool-using agent on the environment's tools, which may split its node instead.

The executor is the second stage of Deep Agent's planner-executor pair [paper]: it carries a sub-task out
with tools, or, when the sub-task is still too big, breaks it down, and the scheduler runs the pieces as a
sub-DAG (`teams.task_dag`). Its reply says which:
- `{"subtasks": [...]}` (JSON only): expand the node into those sub-tasks;
- `{"failed": "why"}` (JSON only): the node failed; the scheduler re-plans its subtree;
- anything else: the node's result.
A reply is read as data, never run. The agent runs in the node's child scope `executor` (so a model per
role can serve it), after the node's prompt version is chosen; the node's outcome is fed back to the
prompt-version store (`versions`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...agents.tool_calling import ToolCallingAgent
from ...errors import FormatError, StepLimitExceeded, ToolError, UnexpectedModelBehavior
from ...prompts import render
from ...protocols import Model
from ...replies import json_object
from ...runtime.context import Context
from ...teams.task_dag import Done, Expand, Failed, Node, Outcome, parse_plan
from ...tools import ToolSet
from . import versions
from .versions import BASE, PromptStore

PROMPTS = Path(__file__).parent / "prompts"


def read_outcome(answer: str | None, max_subtasks: int) -> Outcome:
    """What an executor's final reply means (see the module)."""
    if not answer or not answer.strip():
        return Failed("the executor gave no result")
    try:
        data = json_object(answer, in_prose=False)
    except FormatError:
        return Done(answer.strip())
    if "subtasks" in data:
        try:
            return Expand(tuple(parse_plan(answer, max_subtasks)))
        except FormatError as exc:
            return Failed(f"its split into sub-tasks could not be read: {exc}")
    if "failed" in data:
        return Failed(f"the executor gave up: {data['failed']}")
    return Done(answer.strip())


class DeepExecutor:
    """Runs one node of the DAG for the overall `goal` (a `teams.task_dag.Executor`)."""

    def __init__(self, model: Model, tools: ToolSet, *, goal: str, system: str | None, sampling: dict[str, Any],
                 store: PromptStore | None, max_depth: int, max_subtasks: int, node_steps: int) -> None:
        self.model, self.tools, self.goal = model, tools, goal
        self.system = system if system is not None else render(PROMPTS / "system.j2")
        self.sampling, self.store = sampling, store
        self.max_depth, self.max_subtasks, self.node_steps = max_depth, max_subtasks, node_steps

    async def execute(self, node: Node, inputs: dict[str, str], ctx: Context) -> Outcome:
        tweak = await versions.choose(ctx, self.store, "execute") if self.store is not None else BASE
        prompt = render(PROMPTS / "node.j2", goal=self.goal, node=node, inputs=inputs, tools=bool(self.tools.names),
                        can_expand=node.depth < self.max_depth, tweak=versions.tweak_text("execute", tweak))
        agent = ToolCallingAgent(self.model, self.tools, system=self.system, max_steps=self.node_steps,
                                 sampling=self.sampling, name="executor")
        try:
            result = await agent.run(prompt, ctx.child("executor"))
            outcome = read_outcome(result.answer, self.max_subtasks)
        except (UnexpectedModelBehavior, StepLimitExceeded, ToolError) as exc:
            outcome = Failed(f"{type(exc).__name__}: {exc}")
        if self.store is not None and not isinstance(outcome, Expand):  # an expansion is judged by its parts
            await versions.record(ctx, self.store, "execute", tweak, isinstance(outcome, Done))
        return outcome
