"""The step loop: at every environment step the structure runs over the memory, and its action is taken.

The agent steps its episode through the step core's driver (`envs.stepping.StepDriver`, as
`recipes/react_textgame` does): every reset and step is a journaled `env` effect in the child scope `env`.
Each function of the structure has its own scope, made once per run in the structure's order (`think`,
`plan`, `act`; a repeated function `think#2`; `vote/sample#<i>/…`; `swift/…`, `sage/…`), so its calls are
numbered there step after step, replay serves them and a model per role serves each function.

Only the extrinsic function's output goes to `driver.step`; what the intrinsic ones say stays in the memory
(and in the trajectory the run returns, one assistant message per function, named after it, and the
environment's answers as user messages).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ...envs.stepping import StepDriver
from ...protocols import Model
from ...runtime.context import Context
from ...tools import ToolSet
from ...types import AgentResult
from . import functions
from .functions import Setting, action_of
from .memory import Memory
from .structure import Call, Node, Structure, Vote, spec


@dataclass
class Bound:
    """A node of the structure with the scope(s) it runs in."""

    node: Node
    ctx: Context | None = None
    """A function's scope."""
    samples: list[list[Bound]] = field(default_factory=list)
    """vote: each sample's sequence."""
    branches: tuple[list[Bound], list[Bound]] | None = None
    """swiftsage: the swift and the sage sequence."""


def bind(sequence: Structure, ctx: Context) -> list[Bound]:
    """Scopes for every function of `sequence`, made now, in the structure's order (so they are the same in every
    run of the same structure)."""
    bound = []
    for node in sequence:
        if isinstance(node, Call):
            bound.append(Bound(node, ctx.child(node.name)))
        elif isinstance(node, Vote):
            votes = ctx.child("vote")
            bound.append(Bound(node, samples=[bind(node.body, votes.child("sample", i)) for i in range(node.n)]))
        else:
            swift, sage = bind(node.swift, ctx.child("swift")), bind(node.sage, ctx.child("sage"))
            bound.append(Bound(node, branches=(swift, sage)))
    return bound


@dataclass
class RunState:
    """What one run has seen so far, for the SwiftSage switch and the trajectory."""

    calm: int = 0
    """Steps since the last reward gain or the last sage step."""
    trace: list[dict[str, Any]] = field(default_factory=list)
    sage_steps: int = 0


class PanguAgent:
    """A reasoning structure acting in one step episode (its `driver`)."""

    def __init__(self, model: Model, driver: StepDriver, structure: Structure, *, goal: str | None, tools: ToolSet,
                 system: str, sampling: dict[str, Any], window: int, keep_thoughts: bool, max_steps: int | None,
                 vote_temperature: float | None, sage_patience: int, name: str = "pangu-agent") -> None:
        self.model, self.driver, self.structure, self.goal, self.name = model, driver, structure, goal, name
        self.tools, self.system, self.sampling, self.window = tools, system, sampling, window
        self.keep_thoughts, self.max_steps = keep_thoughts, max_steps
        self.vote_temperature, self.sage_patience = vote_temperature, sage_patience

    @property
    def spec(self) -> str:
        return spec(self.structure)

    async def run(self, task: str, ctx: Context) -> AgentResult:
        goal = await self._goal(task, ctx)
        env_ctx = ctx.child("env")
        first = await self.driver.reset(env_ctx)
        memory = Memory(goal, str((self.driver.start or {}).get("actions") or ""), first.text, first.text)
        bound = bind(self.structure, ctx)
        setting = Setting(self.model, self.system, self.sampling, self.window, self.tools)
        run = RunState()
        steps = 0
        while not self.driver.progress.done and (self.max_steps is None or steps < self.max_steps):
            ctx.step()
            memory, reply = await self._sequence(bound, memory, setting, self.sampling, run, steps)
            action = action_of(reply)
            before = self.driver.progress.reward
            outcome = await self.driver.step(action, env_ctx)
            memory = memory.stepped(action, outcome.observation.text, keep_thoughts=self.keep_thoughts)
            run.trace.append({"role": "user", "content": outcome.observation.text})
            run.calm = 0 if self.driver.progress.reward > before else run.calm + 1
            steps += 1
        head = [{"role": "system", "content": self.system}, {"role": "user", "content": first.text}]
        return AgentResult(memory.observation, head + run.trace, steps)

    async def _goal(self, task: str, ctx: Context) -> str:
        """The task as the episode states it (given at build), else the run's task; journaled, so a replay, built
        with no episode, shows the same."""
        async def perform() -> str:
            return self.goal if self.goal is not None else task

        return await ctx.effect("pangu", "goal", {}, perform, local=True)

    async def _sequence(self, bound: list[Bound], memory: Memory, setting: Setting, sampling: dict[str, Any],
                        run: RunState, step: int) -> tuple[Memory, str]:
        """Run a sequence; the memory after its intrinsic functions and the extrinsic function's reply."""
        for item in bound:
            node = item.node
            if isinstance(node, Call) and node.name != "act":
                assert item.ctx is not None
                memory, said = await functions.INTRINSIC[node.name](setting, memory, item.ctx, sampling)
                run.trace.append({"role": "assistant", "name": node.name, "content": said})
            elif isinstance(node, Call):
                assert item.ctx is not None
                reply = await functions.act(setting, memory, item.ctx, sampling)
                run.trace.append({"role": "assistant", "name": "act", "content": reply})
                return memory, reply
            elif isinstance(node, Vote):
                return await self._vote(item, memory, setting, run, step)
            else:
                assert item.branches is not None
                if self.stuck(run, step):
                    run.calm, run.sage_steps = 0, run.sage_steps + 1
                    return await self._sequence(item.branches[1], memory, setting, sampling, run, step)
                return await self._sequence(item.branches[0], memory, setting, sampling, run, step)
        raise AssertionError("a checked structure ends with an action")

    async def _vote(self, item: Bound, memory: Memory, setting: Setting, run: RunState,
                    step: int) -> tuple[Memory, str]:
        """Every sample from the same memory (sampled, each with its own seed); the most frequent action wins, the
        earliest sample among equals; the memory goes on from the winning sample."""
        results = []
        base = int(self.sampling.get("seed") or 0)
        for i, sample in enumerate(item.samples):
            sampling = {**self.sampling, "seed": base + i}
            if self.vote_temperature is not None:
                sampling["temperature"] = self.vote_temperature
            results.append(await self._sequence(sample, memory, setting, sampling, run, step))
        counts = Counter(_same(action_of(reply)) for _, reply in results)
        return next(r for r in results if counts[_same(action_of(r[1]))] == max(counts.values()))

    def stuck(self, run: RunState, step: int) -> bool:
        """SwiftSage's switch to the slow branch: at the first step, after an action the environment could not
        read, after the same action twice in a row, or after `sage_patience` steps with no reward gained."""
        progress = self.driver.progress
        return (step == 0 or progress.parse_failures > 0 or progress.repeats >= 2
                or run.calm >= self.sage_patience)


def _same(action: str) -> str:
    return " ".join(action.lower().split())
