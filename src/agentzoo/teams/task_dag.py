"""Task DAG: a planner breaks a goal into sub-tasks with dependencies; a scheduler runs the ready ones
together; a failure re-plans only its own subtree; a node may expand into a DAG of its own.

The shape of Deep Agent's hierarchical task DAG (HTDAG, #17) and of the planner–executor loops around it:

- A **planner** (`plan(goal)`, `replan(failed, error, subtree)`) returns `Subtask`s: a key, a goal and
  the keys (or, in a re-plan, the existing node ids) it must wait for. A plan is checked before it is
  used (unique keys, known dependencies, no cycle); `ModelPlanner` asks a model for it as strict JSON
  and shows a rejected plan's problem once before giving up.
- An **executor** runs one node given its parents' results and returns `Done(result)`,
  `Expand(subtasks)` (the node becomes the root of a sub-DAG; its dependents wait for all of it, and
  its result is its sub-DAG's) or `Failed(reason)`. `AgentExecutor` runs any agent on the node.
- The **scheduler** runs in waves: every node whose parents are all done runs, concurrently, in a scope
  named by its id (`node:2`, `node:2.1`, `node:3.r1.0`); then the wave's outcomes are applied in id
  order. Ids are hierarchical (an expansion's nodes are `<id>.<k>`, a re-plan's `<id>.r<n>.<k>`), so
  scopes, and so the journal, do not depend on which node finished first. A node never runs before all
  its parents are done.
- A **failed node** re-plans its subtree only: the node and everything that depends on it, directly or
  not, is replaced by the planner's new sub-tasks (which may depend on finished nodes); finished nodes
  elsewhere are kept. After `max_replans` re-plans of one subtree the DAG fails, naming the node.
- After every wave the DAG's state (ids, goals, dependencies, status) is a journaled `dag/state`
  checkpoint: a replay checks it, so a scheduler that now runs a different wave diverges there.
"""

from __future__ import annotations

import graphlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import (
    ConfigError,
    FormatError,
    StepLimitExceeded,
    ToolError,
    UnexpectedModelBehavior,
)
from ..prompts import render
from ..protocols import Model
from ..replies import json_format, json_object, object_schema
from ..runtime.context import Context
from ..types import AgentResult, ModelRequest
from .parallel import gather

PROMPTS = Path(__file__).parent / "prompts" / "task_dag"
MAX_REPLANS = 2
"""Re-plans of one failed node's subtree before the DAG gives up (ours: HTDAG gives no number)."""
MAX_NODES = 64
"""Nodes a DAG may hold in all, expansions and re-plans included: a planner that keeps splitting stops."""
MAX_DEPTH = 3
"""Levels of expansion below the first plan (a node of the plan is level 0)."""

# --- the records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subtask:
    """One step of a plan, as a planner gives it."""

    key: str
    """Its name within the plan ("1", "fetch", …); the node id is made from it."""
    goal: str
    after: tuple[str, ...] = ()
    """Keys of this plan (or, in a re-plan or an expansion, ids of existing nodes) to wait for."""


@dataclass(frozen=True)
class Node:
    """A node of the DAG as the scheduler holds it."""

    id: str
    goal: str
    deps: tuple[str, ...]
    status: str = "pending"
    """pending · done · failed · expanded (waiting for its sub-DAG) · replaced (its subtree was re-planned)."""
    result: str | None = None
    error: str | None = None
    parent: str | None = None
    """The node this one was expanded from (its result waits for this one)."""
    depth: int = 0


@dataclass(frozen=True)
class Done:
    result: str


@dataclass(frozen=True)
class Expand:
    subtasks: tuple[Subtask, ...]


@dataclass(frozen=True)
class Failed:
    reason: str


Outcome = Done | Expand | Failed


class Planner(Protocol):
    async def plan(self, goal: str, ctx: Context) -> list[Subtask]: ...

    async def replan(self, goal: str, failed: Node, subtree: list[Node], done: list[Node],
                     ctx: Context) -> list[Subtask]: ...


class Executor(Protocol):
    async def execute(self, node: Node, inputs: dict[str, str], ctx: Context) -> Outcome: ...


class TaskDAGError(UnexpectedModelBehavior):
    """The DAG could not finish its goal: a subtree failed after its re-plans, or the planner's plans did not hold."""


# --- the scheduler -------------------------------------------------------------------------------------


@dataclass
class DAG:
    """The nodes, in the order they were made."""

    nodes: dict[str, Node] = field(default_factory=dict)

    def add_plan(self, subtasks: Sequence[Subtask], *, prefix: str, depth: int, parent: str | None,
                 extra_deps: tuple[str, ...] = ()) -> list[Node]:
        """Add a checked plan; keys become ids `<prefix><key-index>`; dependencies on keys map to those ids, and
        the plan's roots also wait for `extra_deps` (what the node they expand or replace waited for)."""
        check_plan(subtasks, known=set(self.nodes))
        ids = {s.key: f"{prefix}{i}" for i, s in enumerate(subtasks)}
        made = []
        for s in subtasks:
            # the plan's first steps (waiting for none of its own) take over what its origin waited for
            inherited = extra_deps if not any(a in ids for a in s.after) else ()
            deps = tuple(dict.fromkeys([*(ids.get(a, a) for a in s.after), *inherited]))
            node = Node(ids[s.key], s.goal, deps, parent=parent, depth=depth)
            self.nodes[node.id] = node
            made.append(node)
        return made

    def ready(self) -> list[Node]:
        return [n for n in self.nodes.values()
                if n.status == "pending" and all(self.nodes[d].status == "done" for d in n.deps)]

    def children(self, node_id: str) -> list[Node]:
        return [n for n in self.live() if node_id in n.deps]

    def live(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.status != "replaced"]

    def subtree(self, node_id: str) -> list[Node]:
        """The node and every live node that depends on it, directly or not (or was expanded from one of them)."""
        found = {node_id}
        changed = True
        while changed:
            changed = False
            for n in self.live():
                if n.id not in found and (found & set(n.deps) or n.parent in found):
                    found.add(n.id)
                    changed = True
        return [n for n in self.live() if n.id in found]

    def set(self, node: Node, **changes: Any) -> Node:
        updated = replace(node, **changes)
        self.nodes[node.id] = updated
        return updated

    def state(self) -> list[dict[str, Any]]:
        return [{"id": n.id, "goal": n.goal, "deps": list(n.deps), "status": n.status} for n in self.nodes.values()]


def check_plan(subtasks: Sequence[Subtask], known: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """A `FormatError` naming the first problem: no subtask, a repeated key, an unknown dependency, a cycle."""
    if not subtasks:
        raise FormatError("the plan has no sub-task")
    keys = [s.key for s in subtasks]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise FormatError(f"the plan repeats the key(s) {', '.join(map(repr, repeated))}")
    for s in subtasks:
        if not s.goal.strip():
            raise FormatError(f"sub-task {s.key!r} has no goal")
        unknown = [a for a in s.after if a not in keys and a not in known]
        if unknown:
            raise FormatError(f"sub-task {s.key!r} waits for {', '.join(map(repr, unknown))}, which the plan does not "
                              "have")
    try:
        graphlib.TopologicalSorter({s.key: [a for a in s.after if a in keys] for s in subtasks}).prepare()
    except graphlib.CycleError as exc:
        raise FormatError(f"the plan has a cycle: {' → '.join(map(str, exc.args[1]))}") from None


class TaskDAG:
    """Plan, run the ready nodes in waves, expand and re-plan; an agent (see the module doc)."""

    def __init__(self, planner: Planner, executor: Executor, *, name: str = "task-dag",
                 finish: Callable[[str, DAG, Context], Awaitable[str]] | None = None,
                 max_replans: int = MAX_REPLANS, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
        for label, value, low in (("max_replans", max_replans, 0), ("max_nodes", max_nodes, 1),
                                  ("max_depth", max_depth, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"task DAG {label} must be a whole number ≥ {low}, got {value!r}")
        self.planner, self.executor, self.name = planner, executor, name
        self.finish = finish
        self.max_replans, self.max_nodes, self.max_depth = max_replans, max_nodes, max_depth
        self.last: DAG | None = None
        """The DAG of the last run (for inspection and tests)."""

    async def run(self, task: str, ctx: Context) -> AgentResult:
        dag = await self.solve(task, ctx)
        answer = await self.finish(task, dag, ctx.child("finish")) if self.finish else default_answer(dag)
        return AgentResult(answer=answer)

    async def solve(self, goal: str, ctx: Context) -> DAG:
        """Run the whole DAG for `goal`; every node of the final DAG is done (or replaced)."""
        dag = DAG()
        self.last = dag
        dag.add_plan(await self.planner.plan(goal, ctx.child("plan")), prefix="", depth=0, parent=None)
        self._check_size(dag)
        replans: dict[str, int] = {}
        wave = 0
        while True:
            ready = sorted(dag.ready(), key=lambda n: _id_key(n.id))
            if not ready:
                break
            scopes = [ctx.child(f"node:{n.id}") for n in ready]  # created in id order, before any runs
            outcomes = await gather(self._execute(dag, n, c) for n, c in zip(ready, scopes))
            # Successes and expansions first, then failures in id order: a re-plan sees every node this wave finished.
            failures = []
            for node, outcome, node_ctx in zip(ready, outcomes, scopes):
                if isinstance(outcome, Done):
                    self._close_expansions(dag, dag.set(node, status="done", result=outcome.result))
                else:
                    problem = self._expand(dag, node, outcome) if isinstance(outcome, Expand) else outcome.reason
                    if problem is not None:
                        failures.append((node, problem, node_ctx))
            for node, problem, node_ctx in failures:
                if dag.nodes[node.id].status == "replaced":  # inside a subtree an earlier failure re-planned
                    continue
                await self._replan(goal, dag, dag.set(node, status="failed", error=problem), replans, node_ctx)
            self._check_size(dag)
            await _checkpoint(ctx, wave, dag)
            wave += 1
        stuck = [n.id for n in dag.live() if n.status not in ("done",)]
        if stuck:  # only a plan whose dependencies point at replaced nodes can leave nodes waiting
            raise TaskDAGError(f"task DAG {self.name!r}: node(s) {', '.join(stuck)} can never run (they wait for "
                               "nodes that were re-planned away)")
        return dag

    async def _execute(self, dag: DAG, node: Node, ctx: Context) -> Outcome:
        inputs = {d: dag.nodes[d].result or "" for d in node.deps}
        try:
            return await self.executor.execute(node, inputs, ctx)
        except (UnexpectedModelBehavior, StepLimitExceeded, ToolError) as exc:
            return Failed(f"{type(exc).__name__}: {exc}")

    def _expand(self, dag: DAG, node: Node, outcome: Expand) -> str | None:
        """Make the node's sub-DAG; the reason it cannot be made (then the node counts as failed), else None."""
        if not outcome.subtasks:
            self._close_expansions(dag, dag.set(node, status="done", result=""))
            return None
        if node.depth >= self.max_depth:
            return f"it expanded below the deepest level allowed (max_depth={self.max_depth}); do it in one step"
        try:
            dag.add_plan(outcome.subtasks, prefix=f"{node.id}.", depth=node.depth + 1, parent=node.id,
                         extra_deps=node.deps)
        except FormatError as exc:
            return f"its expansion could not be used: {exc}"
        dag.set(node, status="expanded")
        return None

    def _close_expansions(self, dag: DAG, node: Node) -> None:
        """An expanded node is done when every node of its sub-DAG is: its result is theirs, in order."""
        parent_id = node.parent
        while parent_id is not None:
            parent = dag.nodes[parent_id]
            kids = [n for n in dag.live() if n.parent == parent_id]
            if parent.status != "expanded" or any(k.status != "done" for k in kids):
                return
            dag.set(parent, status="done", result="\n".join(k.result or "" for k in kids))
            parent_id = parent.parent

    async def _replan(self, goal: str, dag: DAG, failed: Node, replans: dict[str, int], ctx: Context) -> None:
        root = _replan_root(failed.id)
        count = replans.get(root, 0)
        if count >= self.max_replans:
            raise TaskDAGError(f"task DAG {self.name!r}: node {failed.id} ({failed.goal!r}) failed after "
                               f"{count} re-plan(s) of its subtree: {failed.error}")
        replans[root] = count + 1
        subtree = dag.subtree(failed.id)
        done = [n for n in dag.live() if n.status == "done" and n not in subtree]
        new = await self.planner.replan(goal, failed, subtree, done, ctx.child("replan"))
        try:
            check_plan(new, known={n.id for n in done})  # it may wait only for its own keys and finished nodes
        except FormatError as exc:
            raise TaskDAGError(f"task DAG {self.name!r}: the re-plan of {failed.id} could not be used: {exc}") from None
        # the new nodes take the failed node's place: they keep its dependencies, and nodes outside the subtree
        # cannot have depended on it (they would be in it), so nothing else needs rewiring
        for n in subtree:
            dag.set(n, status="replaced")
        dag.add_plan(new, prefix=f"{root}.r{count + 1}.", depth=failed.depth, parent=failed.parent,
                     extra_deps=tuple(d for d in failed.deps if dag.nodes[d].status == "done"))

    def _check_size(self, dag: DAG) -> None:
        if len(dag.nodes) > self.max_nodes:
            raise TaskDAGError(f"task DAG {self.name!r} grew to {len(dag.nodes)} nodes, more than max_nodes="
                               f"{self.max_nodes}")


def default_answer(dag: DAG) -> str:
    """The results of the sinks (live nodes nothing depends on, outside any expansion), in order."""
    live = dag.live()
    sinks = [n for n in live if n.parent is None and not any(n.id in m.deps for m in live)]
    return "\n".join(n.result or "" for n in sinks)


def _id_key(node_id: str) -> tuple[Any, ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in node_id.split("."))


def _replan_root(node_id: str) -> str:
    """The node a re-plan counts against: a node made by a re-plan counts against the node it replaced."""
    parts = node_id.split(".")
    for i, part in enumerate(parts):
        if part.startswith("r") and part[1:].isdigit():
            return ".".join(parts[:i])
    return node_id


async def _checkpoint(ctx: Context, wave: int, dag: DAG) -> None:
    async def perform() -> dict[str, Any]:
        return {"wave": wave}

    await ctx.effect("dag", "state", {"wave": wave, "nodes": dag.state()}, perform, local=True)


# --- a model as the planner, an agent as the executor --------------------------------------------------

_PLAN_SCHEMA = object_schema(subtasks={"type": "array", "items": object_schema(
    key={"type": "string"}, goal={"type": "string"}, after={"type": "array", "items": {"type": "string"}})})


class ModelPlanner:
    """Plans and re-plans by asking `model` for `{"subtasks": [{"key", "goal", "after"}]}` (strict JSON schema);
    a plan that does not parse or hold is shown back once with its problem, then `TaskDAGError`."""

    def __init__(self, model: Model, *, prompts: Path = PROMPTS, sampling: dict[str, Any] | None = None,
                 max_subtasks: int = 8, variables: Mapping[str, Any] | None = None) -> None:
        self.model, self.prompts, self.sampling, self.max_subtasks = model, prompts, dict(sampling or {}), max_subtasks
        self.variables = dict(variables or {})
        """More template variables for a recipe's own plan.j2 and replan.j2 (the tools it may use, say)."""

    async def plan(self, goal: str, ctx: Context) -> list[Subtask]:
        text = render(self.prompts / "plan.j2", **{**self.variables, "goal": goal, "max_subtasks": self.max_subtasks})
        return await self._ask(ctx, text, known=set())

    async def replan(self, goal: str, failed: Node, subtree: list[Node], done: list[Node],
                     ctx: Context) -> list[Subtask]:
        text = render(self.prompts / "replan.j2", **{**self.variables, "goal": goal, "failed": failed,
                                                     "subtree": subtree, "done": done,
                                                     "max_subtasks": self.max_subtasks})
        return await self._ask(ctx, text, known={n.id for n in done})

    async def _ask(self, ctx: Context, prompt: str, known: set[str]) -> list[Subtask]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        request_fields = {"response_format": json_format(_PLAN_SCHEMA, "plan"), **self.sampling}
        problem = ""
        for attempt in range(2):
            response = await ctx.model(self.model, ModelRequest(messages=messages, **request_fields))
            try:
                subtasks = parse_plan(response.text, self.max_subtasks)
                check_plan(subtasks, known)
                return subtasks
            except FormatError as exc:
                problem = str(exc)
            if attempt == 0:
                messages += [{"role": "assistant", "content": response.text or ""},
                             {"role": "user", "content": render(self.prompts / "retry.j2", problem=problem)}]
        raise TaskDAGError(f"the planner's plan could not be used: {problem}")


def parse_plan(text: str | None, max_subtasks: int = 8) -> list[Subtask]:
    data = json_object(text)
    items = data.get("subtasks")
    if not isinstance(items, list):
        raise FormatError('the plan needs "subtasks": a list of {"key", "goal", "after"}')
    if len(items) > max_subtasks:
        raise FormatError(f"the plan has {len(items)} sub-tasks; at most {max_subtasks}")
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("goal"), str):
            raise FormatError(f"sub-task {i} needs a goal (text)")
        after = item.get("after") or []
        if not isinstance(after, list) or not all(isinstance(a, (str, int)) for a in after):
            raise FormatError(f"sub-task {i}: after must be a list of keys")
        found.append(Subtask(str(item.get("key", i)), item["goal"], tuple(str(a) for a in after)))
    return found


class AgentExecutor:
    """Runs `agent` on each node: its goal, with its parents' results as context. A node fails when the agent
    gives no answer, when `check(node, answer)` returns a reason, or when the agent raises a model or tool error."""

    def __init__(self, agent: Any, *, prompts: Path = PROMPTS,
                 check: Callable[[Node, str], str | None] | None = None) -> None:
        self.agent, self.prompts, self.check = agent, prompts, check

    async def execute(self, node: Node, inputs: dict[str, str], ctx: Context) -> Outcome:
        result = await self.agent.run(render(self.prompts / "node.j2", node=node, inputs=inputs), ctx)
        answer = result.answer if isinstance(result, AgentResult) else result
        if not answer:
            return Failed("the agent gave no answer")
        problem = self.check(node, answer) if self.check else None
        return Failed(problem) if problem else Done(answer)
