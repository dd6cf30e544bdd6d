"""The ProAgent loop on one kitchen episode: per step, plan when the last skill is finished, verify, explain
and replan on a failed condition, then let the controller move.

It steps the episode itself through the step core's driver (`envs.stepping.StepDriver`): each reset and step
is a journaled `env` effect in the child scope `env`. Each time step `t` has its own scope `step#t`, and in
it each planner call its own `planner#i` and each explainer call its own `explainer#i` (one model call per
scope, numbered in program order), so a run replays with no model and no kitchen, and resumes after a crash
at the step it reached. Everything else (memory, beliefs, the skill in progress) is rebuilt from the served
results as the program runs again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...envs.kitchen import Layout, State
from ...envs.stepping import StepDriver
from ...errors import ConfigError
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import AgentResult, ModelRequest
from .controller import Controller
from .memory import Beliefs, Dialogue
from .skills import SKILLS, WAIT_ONE, Call, failed_condition, finished, library_view, read_call

PROMPTS = Path(__file__).parent / "prompts"
AGENT, TEAMMATE = 0, 1


@dataclass
class Settings:
    level: str
    """Planner prompt level: `l1-p` (plan), `l2-ap` (analysis, plan), `l3-aip` (analysis, intention, plan)."""
    belief_revision: bool
    k: int
    max_retries: int
    planner_sampling: dict[str, Any]
    explainer_sampling: dict[str, Any]


@dataclass
class Trace:
    """What the run did, for the answer and for tests: one record per model call."""

    calls: list[dict[str, Any]] = field(default_factory=list)


class ProAgent:
    """ProAgent (planner, verificator, explainer, controller, memory, belief) on one kitchen episode."""

    def __init__(self, planner: Model, explainer: Model, driver: StepDriver, controller: Controller,
                 settings: Settings, name: str = "proagent") -> None:
        self.planner_model, self.explainer_model = planner, explainer
        self.driver, self.controller, self.settings, self.name = driver, controller, settings, name
        self.trace: Trace | None = None
        """The last run's planner and explainer calls (time step, skill, whether a replan, the failed condition)."""

    async def run(self, task: str, ctx: Context) -> AgentResult:
        env_ctx = ctx.child("env")
        first = await self.driver.reset(env_ctx)
        if not {"layout", "state", "goal", "horizon", "cook_time"} <= first.data.keys():
            raise ConfigError(f"{self.name}: the episode's observations carry no kitchen state (Observation.data "
                              "with layout, state, goal, horizon, cook_time): it plays the kitchen environment only")
        run = _Run(self, first.data)
        self.trace = run.trace
        while not self.driver.progress.done:
            ctx.step()
            await run.act(ctx.child("step", run.state.t), env_ctx)
        last = self.driver.observation
        system = {"role": "system", "content": run.planner_system}
        return AgentResult(last.text if last is not None else None, [system, *run.planner.messages], run.model_calls)


class _Run:
    """One episode's working memory: the state seen, the skill in progress, the dialogues, the beliefs."""

    def __init__(self, agent: ProAgent, data: dict[str, Any]) -> None:
        self.agent, self.settings = agent, agent.settings
        self.layout = Layout.from_json(data["layout"])
        self.goal, self.horizon = data["goal"], data["horizon"]
        self.state = State.from_json(data["state"])
        self.planner = Dialogue(self.settings.k)
        self.explainer = Dialogue(self.settings.k)
        self.beliefs = Beliefs()
        self.skill: Call | None = None
        self.skill_steps = 0
        self.model_calls = 0
        self.trace = Trace()
        self.planner_system = render(PROMPTS / "planner.j2", cook_time=data["cook_time"], kitchen=_kitchen(self.layout),
                                     skills=library_view(), level=self.settings.level,
                                     beliefs=self.settings.belief_revision)
        self.explainer_system = render(PROMPTS / "explainer.j2", skills=library_view())

    # --- one time step ---

    async def act(self, ctx: Context, env_ctx: Context) -> None:
        self._note_teammate()
        plans = _Counter()
        if self.skill is None:
            await self._plan(ctx, plans)
        elif self.skill_steps > 0 and finished(self.skill, self.state, self.skill_steps):
            if self.skill.name != "wait":
                self.planner.add("user", render(PROMPTS / "success.j2", skill=self.skill.text))
            await self._plan(ctx, plans)
        retries = 0
        while (failed := failed_condition(self.skill, self.layout, self.state)) is not None:  # type: ignore[arg-type]
            await self._explain(ctx, plans, failed.says)
            await self._plan(ctx, plans, replan=True)
            retries += 1
            if retries > self.settings.max_retries:  # ProAgent: after the fourth replan, wait a step
                self.skill, self.skill_steps = WAIT_ONE, 0
        assert self.skill is not None
        action = self.agent.controller.act(self.layout, self.state, self.skill)
        outcome = await self.agent.driver.step(action, env_ctx)
        self.skill_steps += 1
        self.state = State.from_json(outcome.observation.data["state"])

    def _note_teammate(self) -> None:
        """What the teammate finished in the last step (the kitchen's events), for the beliefs."""
        for event in self.state.events:
            if event["cook"] == TEAMMATE:
                self.beliefs.saw(self.state.t - 1, event["did"])

    # --- the modules ---

    def scene(self) -> str:
        counters = _counters(self.state)
        return render(PROMPTS / "scene.j2", state=self.state, goal=self.goal, counters=counters,
                      left=self.horizon - self.state.t)

    async def _plan(self, ctx: Context, plans: _Counter, *, replan: bool = False) -> None:
        """The planner: knowledge, recent dialogue, (beliefs,) the scene -> a skill (and an intention)."""
        scene = self.scene()
        user = render(PROMPTS / "replan.j2", scene=scene) if replan else scene
        if self.settings.level == "l3-aip" and self.settings.belief_revision:
            user = render(PROMPTS / "belief.j2", **self.beliefs.recent(self.settings.k),
                          correction=self.beliefs.correction()) + "\n" + user
        messages = [{"role": "system", "content": self.planner_system}, *self.planner.recent(),
                    {"role": "user", "content": user}]
        reply = await self._ask(ctx.child("planner", plans.next()), self.agent.planner_model, messages,
                                self.settings.planner_sampling)
        call = read_call(reply, AGENT) or WAIT_ONE
        if self.settings.level == "l3-aip" and (intention := read_call(reply, TEAMMATE)) is not None:
            self.beliefs.infer(self.state.t, intention.key)
        if call.name != "wait":  # ProAgent keeps waits out of the planner's history
            self.planner.add("user", user)
            self.planner.add("assistant", reply)
        self.trace.calls.append({"t": self.state.t, "role": "planner", "skill": call.text, "replan": replan})
        self.skill, self.skill_steps = call, 0

    async def _explain(self, ctx: Context, plans: _Counter, condition: str) -> None:
        """The explainer: why the skill cannot be done; its answer goes into the planner's dialogue."""
        assert self.skill is not None
        user = render(PROMPTS / "failure.j2", scene=self.scene(), skill=self.skill.text)
        messages = [{"role": "system", "content": self.explainer_system}, *self.explainer.recent(),
                    {"role": "user", "content": user}]
        reply = await self._ask(ctx.child("explainer", plans.explained()), self.agent.explainer_model, messages,
                                self.settings.explainer_sampling)
        self.explainer.add("user", user)
        self.explainer.add("assistant", reply)
        self.planner.add("user", reply)
        self.trace.calls.append({"t": self.state.t, "role": "explainer", "skill": self.skill.text,
                                 "failed": condition})

    async def _ask(self, ctx: Context, model: Model, messages: list[dict[str, Any]], sampling: dict[str, Any]) -> str:
        response = await ctx.model(model, ModelRequest(messages=messages, **sampling))
        self.model_calls += 1
        return response.text or ""


class _Counter:
    """Numbers the planner and explainer scopes of one time step, in program order."""

    def __init__(self) -> None:
        self.plans = self.explanations = 0

    def next(self) -> int:
        self.plans += 1
        return self.plans - 1

    def explained(self) -> int:
        self.explanations += 1
        return self.explanations - 1


def _kitchen(layout: Layout) -> str:
    """The layout's objects in words, for the planner's knowledge (ProAgent lists them by id)."""
    from ...envs.kitchen.world import DISHES, ONIONS, SERVING

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    pots = ", ".join(f"Pot {i}" for i in range(len(layout.pots)))
    return (f"{count(len(layout.pots), 'pot')} ({pots}), {count(len(layout.cells(ONIONS)), 'onion dispenser')}, "
            f"{count(len(layout.cells(DISHES)), 'dish dispenser')} and "
            f"{count(len(layout.cells(SERVING)), 'serving counter')}")


def _counters(state: State) -> str:
    items = sorted(state.counters.values())
    return ", ".join(f"{items.count(i)} {i}{'s' if items.count(i) > 1 else ''}" for i in dict.fromkeys(items))


__all__ = ["SKILLS", "ProAgent", "Settings"]
