"""Tasks a model wrote, played in an interactive environment: what PAE and OS-Genesis share.

A synthesised task has no gold and no checker of its own, so the environment cannot score it; what it needs
is the environment's start state, its actions and its observations. `OpenTasks(env)` is a step environment
over free-text tasks on `screens` (the phone from its home screen) or `webworld` (a browser at a site's front
page). Its episodes report no reward: the environment's reward would judge the wrong task (a screens episode
checks its goal), and these pipelines judge success with a model from what the agent saw.

`attempt(...)` plays one task with the text loop (`agents.stepper`), every model call in the scope given
(the agent's) and every reset and step a journaled `env` effect in its child scope `env`, so an attempt
replays with no model and no environment, and resumes from the last step's snapshot.
`contexts(env)` names what a proposer may be told about the environment: each app or site, where it starts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from ...agents.stepper import Stepper, read_action
from ...envs.base import Task
from ...envs.step import ActionSpace, EpisodeRules, Observation, StepOutcome
from ...envs.stepping import Record, StepDriver
from ...errors import ConfigError
from ...protocols import Model
from ...runtime.context import Context

ENVS = ("screens", "webworld")


def _env_name(env: Any) -> str:
    name = getattr(env, "name", None)
    if name not in ENVS:
        raise ConfigError(f"this pipeline plays model-written tasks on {' or '.join(ENVS)}, not "
                          f"{name or type(env).__name__!r}")
    return name


def contexts(env: Any) -> list[dict[str, Any]]:
    """What a proposer may be told, one entry per app (screens) or site (webworld): its name and where an
    episode starts. Nothing is started: no browser, no episode."""
    name = _env_name(env)
    if name == "screens":
        from ...envs.screens.machine import Phone, fresh

        home = Phone(env.world, fresh(env.world)).text()
        return [{"env": name, "site": app.title, "start": "home", "start_observation": home}
                for app in env.world.apps.values()]
    from ...envs.webworld.server import SITES

    return [{"env": name, "site": site, "start": f"{address}/", "start_observation": None}
            for site, address in SITES.items()]


def task_id(text: str, start: str) -> str:
    """A stable id for a written task (what the episode's identity hashes): its start and words."""
    return "open/" + hashlib.sha256(f"{start}\n{text}".encode()).hexdigest()[:12]


class OpenEpisode:
    """A step episode whose rewards are taken away (the model-written task is not the episode's own)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.action_space = inner.action_space

    async def reset(self, seed: int | None = None) -> Observation:
        return await self.inner.reset(seed)

    async def step(self, action: str) -> StepOutcome:
        outcome = await self.inner.step(action)
        info = {k: v for k, v in outcome.info.items() if k not in ("success", "end_state")}
        return replace(outcome, reward=0.0, info=info)

    def snapshot(self) -> dict[str, Any]:
        return self.inner.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        self.inner.restore(state)

    async def close(self) -> None:
        await self.inner.close()


class OpenTasks:
    """A step environment over written tasks on `env` (screens or webworld)."""

    def __init__(self, env: Any, rules: EpisodeRules | None = None) -> None:
        self.env = env
        self.name = _env_name(env)
        self.rules = rules or env.rules
        self.side_effects = bool(getattr(env, "side_effects", False))

    def task(self, text: str, start: str) -> Task:
        """The written task `text`, starting at `start` (a site's address; `home` on the phone)."""
        data: dict[str, Any] = {"start_url": start} if self.name == "webworld" else {"start": start}
        return Task(self.name, task_id(text, start), self.prompt(text, start), None, data)

    def prompt(self, text: str, start: str) -> str:
        """The task as the agent is told it: the environment's own task framing where it has one."""
        if self.name == "webworld":
            from ...envs.webworld.env import TASK_PROMPT
            from ...envs.webworld.server import SITES
            from ...prompts import render

            return render(TASK_PROMPT, intent=text, sites=SITES, start_url=start)
        return text

    def action_space(self, task: Task) -> ActionSpace:
        return self.env.action_space(task)

    def step_episode(self, task: Task) -> OpenEpisode:
        if self.name == "webworld":
            return OpenEpisode(self.env.step_episode(task))
        from ...envs.screens.episode import ScreenEpisode
        from ...envs.screens.goals import Goal

        # A goal with no condition: Goal needs a condition or an answer, and "" is in every answer. Its
        # verdict never reaches the agent (OpenEpisode takes the reward away).
        return OpenEpisode(ScreenEpisode(self.env.world, Goal(id=task.id, prompt=task.prompt, answer=[""])))


@dataclass
class Attempt:
    """What one attempt left: the conversation, every observation in order, the end."""

    messages: list[dict[str, Any]]
    observations: list[str]
    actions: list[str]
    answer: str | None
    steps: int
    stopped: str | None

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "observations": self.observations, "actions": self.actions,
                "answer": self.answer, "steps": self.steps, "stopped": self.stopped}


async def attempt(model: Model, world: OpenTasks, task: Task, ctx: Context, *, system: str | None = None,
                  sampling: dict[str, Any] | None = None, window: int | None = None) -> Attempt:
    """Play `task` with the text loop in `ctx` (the agent's scope; steps in its child `env`)."""
    driver = StepDriver(world, task, rules=world.rules)
    seen: list[Record] = []
    driver.on_record(seen.append)  # served records too: a replay sees what the live run saw
    stepper = Stepper(model, driver, system=system, sampling=sampling, window=window)
    try:
        result = await stepper.run(task.prompt, ctx)
    finally:
        await driver.close()
    messages = list(result.messages)
    while messages and messages[-1]["role"] != "assistant":  # the observation after the last action
        messages.pop()
    actions = [read_action(m["content"] or "") for m in messages if m["role"] == "assistant"]  # as sent
    answer = seen[-1].outcome.info.get("answer") if len(seen) > 1 else None
    progress = driver.progress
    return Attempt(messages, [r.outcome.observation.text for r in seen], actions,
                   answer if isinstance(answer, str) else None, progress.steps, progress.stopped)
