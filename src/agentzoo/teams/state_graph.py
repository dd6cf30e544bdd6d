"""State graph: control flow as data. Nodes are agents or functions over one typed shared state.

A `StateGraph` names its nodes, its edges (fixed, or a router that reads the state and picks the
next node among named targets) and its entry; `END` stops it. It is itself an agent (`run(task, ctx)`),
so a graph nests in a team, a team in a graph, a graph in a graph. This is the shape LangGraph made
familiar (a typed state, partial updates merged by per-field reducers, conditional edges, a step
limit on cycles); LangGraph-MT (#56) is one recipe on it.

- **State** is a pydantic model: a node returns a partial update (a dict of fields) that is
  validated against it; a field annotated `Annotated[list[str], append]` accumulates instead of being
  replaced. A node that writes an unknown field, or a value of the wrong type, is a `ConfigError`
  naming the node and the field.
- **Nodes** run in their own journal scope, `<node>#<visit>` (the first visit is #0), created in
  program order, so cost is attributed per node and a replay does not depend on timing.
- **Checkpoints**: after every node the graph records a `graph/checkpoint` effect whose request is the
  step, the node, the state it left and the node chosen next. A replay checks each of them (a node
  that now leaves another state diverges there, the path naming the field); a resumed run re-enters
  the graph with every finished node's calls served from the journal, so it goes live exactly at the
  node where it was killed; a fork with a changed node goes live at that node. `checkpoints(journal,
  run_id)` reads the states back (time travel, the viewer).
- **Cycles are bounded**: `max_steps` node runs (LangGraph's default recursion limit is 25); the
  graph stops with `StepLimitExceeded` naming the last nodes it ran.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, StepLimitExceeded
from ..runtime.context import Context
from ..types import AgentResult

END = "__end__"
"""The target that ends the graph."""
MAX_STEPS = 25
"""Node runs before a cycle is cut: LangGraph's default `recursion_limit` (25 supersteps)."""
CHECKPOINT = ("graph", "checkpoint")
"""The (kind, name) of the effect recorded after every node."""

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class Reducer:
    """How a field merges a node's update into its current value (`Annotated[list[str], append]`)."""

    name: str
    merge: Callable[[Any, Any], Any]


append = Reducer("append", lambda old, new: [*(old or []), *(new or [])])
"""Lists accumulate: the update is added at the end."""
merge_dict = Reducer("merge", lambda old, new: {**(old or {}), **(new or {})})
"""Mappings accumulate: the update's keys replace or add to the current ones."""


@dataclass(frozen=True)
class AgentNode:
    """An agent as a node: it is given `prompt(state)` as its task, and its answer goes to field `output`."""

    agent: Any
    prompt: Callable[[Any], str]
    output: str

    async def __call__(self, state: BaseModel, ctx: Context) -> dict[str, Any]:
        result = await self.agent.run(self.prompt(state), ctx)
        return {self.output: result.answer if isinstance(result, AgentResult) else result}


NodeFn = Callable[[Any, Context], Awaitable[Any]]
Route = Callable[..., Any]


@dataclass(frozen=True)
class _Router:
    route: Route
    targets: tuple[str, ...]
    with_context: bool
    """The route takes `(state, ctx)`, not `(state)`: read once when the router is added, not at every step."""


@dataclass(frozen=True)
class Checkpoint:
    """The state a graph run left after one node, as its journal holds it."""

    step: int
    node: str
    state: dict[str, Any]
    next: str


class StateGraph(Generic[S]):
    """Nodes over a typed state, fixed and conditional edges, an entry; an agent (see the module doc)."""

    def __init__(self, state: type[S], *, name: str = "state-graph", max_steps: int = MAX_STEPS,
                 task_field: str | None = "task", answer_field: str | None = "answer") -> None:
        if not (isinstance(state, type) and issubclass(state, BaseModel)):
            raise ConfigError(f"a state graph's state is a pydantic model class, got {state!r}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ConfigError(f"a state graph's max_steps must be a whole number ≥ 1, got {max_steps!r}")
        for role, field in (("task_field", task_field), ("answer_field", answer_field)):
            if field is not None and field not in state.model_fields:
                raise ConfigError(f"state graph {name!r}: {role} {field!r} is not a field of {state.__name__} "
                                  f"(fields: {', '.join(state.model_fields)})")
        self.state_type = state
        self.name = name
        self.max_steps = max_steps
        self.task_field = task_field
        self.answer_field = answer_field
        self.nodes: dict[str, NodeFn] = {}
        self.edges: dict[str, str | _Router] = {}
        self.entry: str | None = None
        self._reducers = {field: meta for field, info in state.model_fields.items()
                          for meta in info.metadata if isinstance(meta, Reducer)}

    # --- building ----------------------------------------------------------------------------------

    def add_node(self, name: str, node: NodeFn | Any, *, prompt: Callable[[Any], str] | None = None,
                 output: str | None = None) -> StateGraph[S]:
        """Add a node: an async function `(state, ctx) -> update`, or an agent with `prompt` and `output`."""
        if not isinstance(name, str) or not name or name == END or "/" in name or "#" in name:
            raise ConfigError(f"a state graph node needs a name without '/' or '#', not {END!r}; got {name!r}")
        if name in self.nodes:
            raise ConfigError(f"state graph {self.name!r} already has a node {name!r}")
        if hasattr(node, "run") and not callable(node):
            if prompt is None or output is None:
                raise ConfigError(f"node {name!r} is an agent: give prompt= (state -> task) and output= (the field "
                                  "its answer goes to)")
            node = AgentNode(node, prompt, output)
        elif not callable(node):
            raise ConfigError(f"node {name!r} must be an async function (state, ctx) -> update, or an agent")
        if output is not None and output not in self.state_type.model_fields:
            raise ConfigError(f"node {name!r} writes field {output!r}, which {self.state_type.__name__} does not have")
        self.nodes[name] = node
        if self.entry is None:
            self.entry = name
        return self

    def add_edge(self, source: str, target: str) -> StateGraph[S]:
        """After `source`, always `target` (or `END`)."""
        self._check_source(source)
        self.edges[source] = target
        return self

    def add_router(self, source: str, route: Route, targets: Sequence[str]) -> StateGraph[S]:
        """After `source`, the node `route(state)` names (it may also take `ctx`, and be async), one of
        `targets` (which may include `END`)."""
        self._check_source(source)
        if not targets:
            raise ConfigError(f"the router after node {source!r} needs at least one target")
        self.edges[source] = _Router(route, tuple(targets), len(inspect.signature(route).parameters) >= 2)
        return self

    def set_entry(self, name: str) -> StateGraph[S]:
        self.entry = name
        return self

    def _check_source(self, source: str) -> None:
        if source in self.edges:
            raise ConfigError(f"node {source!r} already has its outgoing edge (one edge or one router per node)")

    def validate(self) -> None:
        """Every name an edge uses is a node (or `END`), every node has a way out, the entry exists."""
        if self.entry is None or self.entry not in self.nodes:
            raise ConfigError(f"state graph {self.name!r} has no entry node" if self.entry is None else
                              f"state graph {self.name!r}: entry {self.entry!r} is not a node")
        for source, edge in self.edges.items():
            if source not in self.nodes:
                raise ConfigError(f"state graph {self.name!r}: an edge leaves {source!r}, which is not a node")
            for target in edge.targets if isinstance(edge, _Router) else (edge,):
                if target != END and target not in self.nodes:
                    raise ConfigError(f"state graph {self.name!r}: the edge from {source!r} goes to {target!r}, "
                                      f"which is not a node (nodes: {', '.join(self.nodes)}; or END)")
        stuck = [n for n in self.nodes if n not in self.edges]
        if stuck:
            raise ConfigError(f"state graph {self.name!r}: node(s) {', '.join(map(repr, stuck))} have no outgoing "
                              "edge (add one, to END if the graph stops there)")

    # --- running ---------------------------------------------------------------------------------------

    async def run(self, task: str, ctx: Context) -> AgentResult:
        """The graph as an agent: the task goes into `task_field`, the answer comes from `answer_field`."""
        start = {self.task_field: task} if self.task_field else {}
        final = await self.invoke(start, ctx)
        answer = getattr(final, self.answer_field) if self.answer_field else None
        return AgentResult(answer=None if answer is None else str(answer), steps=0)

    async def invoke(self, state: S | dict[str, Any], ctx: Context) -> S:
        """Run from the entry over `state` until `END`; the final state."""
        self.validate()
        current = self._initial(state)
        node, visits, trail = self.entry, {}, []
        for step in range(self.max_steps):
            assert node is not None
            visit = visits.get(node, 0)
            visits[node] = visit + 1
            trail.append(node)
            node_ctx = ctx.child(node, visit)
            update = await self.nodes[node](current, node_ctx)
            current = self._merge(current, update, node)
            nxt = await self._next(node, current, node_ctx)
            await self._checkpoint(ctx, step, node, current, nxt)
            if nxt == END:
                return current
            node = nxt
        raise StepLimitExceeded(f"state graph {self.name!r} ran {self.max_steps} nodes without reaching END "
                                f"(last: {' → '.join(trail[-6:])}); raise max_steps or check the routers")

    def _initial(self, state: S | dict[str, Any]) -> S:
        if isinstance(state, self.state_type):
            return state
        try:
            return self.state_type.model_validate(state)
        except ValidationError as exc:
            raise ConfigError(f"state graph {self.name!r}: the initial state is not a valid "
                              f"{self.state_type.__name__}: {_first_error(exc)}") from None

    def _merge(self, current: S, update: Any, node: str) -> S:
        if update is None:
            return current
        if isinstance(update, self.state_type):
            return update
        if not isinstance(update, dict):
            raise ConfigError(f"node {node!r} returned {type(update).__name__}; a node returns a dict of the fields "
                              f"it changes, a {self.state_type.__name__}, or None")
        unknown = [k for k in update if k not in self.state_type.model_fields]
        if unknown:
            raise ConfigError(f"node {node!r} wrote field(s) {', '.join(map(repr, unknown))}, which "
                              f"{self.state_type.__name__} does not have (fields: {', '.join(self.state_type.model_fields)})")
        merged = current.model_dump()
        for key, value in update.items():
            reducer = self._reducers.get(key)
            merged[key] = reducer.merge(merged.get(key), value) if reducer else value
        try:
            return self.state_type.model_validate(merged)
        except ValidationError as exc:
            raise ConfigError(f"node {node!r} left an invalid {self.state_type.__name__}: {_first_error(exc)}") from None

    async def _next(self, node: str, state: S, ctx: Context) -> str:
        edge = self.edges[node]
        if not isinstance(edge, _Router):
            return edge
        chosen = edge.route(state, ctx.child("route")) if edge.with_context else edge.route(state)
        if inspect.isawaitable(chosen):
            chosen = await chosen
        if chosen not in edge.targets:
            raise ConfigError(f"the router after node {node!r} chose {chosen!r}, which is not one of its targets "
                              f"({', '.join(edge.targets)})")
        return chosen

    async def _checkpoint(self, ctx: Context, step: int, node: str, state: S, nxt: str) -> None:
        request = {"step": step, "node": node, "state": state.model_dump(mode="json"), "next": nxt}

        async def perform() -> dict[str, Any]:
            return {"step": step}

        # Local: it commits with the next effect that is not (a node's first call, or the run's end), which
        # loses nothing: a checkpoint is recomputed from the calls before it.
        await ctx.effect(*CHECKPOINT, request, perform, local=True)


def checkpoints(journal: Any, run_id: str, scope: str = "") -> list[Checkpoint]:
    """The checkpoints a graph run recorded in `scope` (its own scope; '' for a graph run at the root)."""
    found = []
    for entry in journal.entries(run_id):
        if (entry.kind, entry.name) == CHECKPOINT and entry.scope == scope and entry.status == "ok":
            request = entry.request
            found.append(Checkpoint(request["step"], request["node"], request["state"], request["next"]))
    return found


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "<state>"
    return f"{where}: {first.get('msg')}"
