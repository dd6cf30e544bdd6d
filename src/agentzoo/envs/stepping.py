"""The step protocol's machinery: every reset and step of an episode is a journaled effect.

For environment authors, the whole contract:

    from agentzoo.envs import stepping

    class MyEnv:                                    # the `Environment` protocol (`envs.base`) and `StepEnvironment`
        name, answer_kind = "myenv", "tool-calls"
        rules = EpisodeRules()                      # WebArena's 30 / 3 / 3 by default

        def step_episode(self, task) -> StepEpisode:      # a fresh episode (`envs.step`): cheap, starts nothing
            ...
        def action_space(self, task) -> ActionSpace:      # optional: the prompt then needs no episode
            ...
        def episode(self, task) -> Episode:               # tools `act` and `observe`, for any agent
            return stepping.episode_for(self, task, first_observation=...)  # optional: the first
                                                          # observation, if it can be told without starting
        async def score(self, episode, answer, scoring) -> Score:
            progress = stepping.progress_of(episode)      # steps, reward, done, stopped; the live episode (a
            live = await stepping.driver_of(episode).live()  # database, a page) restored to the last step
            ...
            await stepping.driver_of(episode).close()     # the harness scores each sample once, then drops it:
                                                          # release the browser or server here
        def oracle(self, task, agent) -> list:
            return stepping.oracle_replies(gold_actions, agent, answer="...")  # as each agent sends them

Register the name in `envs/registry.py`; then `agentzoo eval --env myenv --model oracle` runs it with any
agent (`tool-calling`, `codeact`, or the text loop `--agent agentzoo.agents.stepper:build`), and
`tests/envs/step_conformance.py` gives its tests issue 14's evidence in five calls.

A `StepEpisode` must be deterministic given its snapshot: `restore(s)` on a fresh episode (never reset)
followed by the same actions gives the same observations. `tests/envs/step_conformance.py` checks that,
and the rest of issue 14's evidence, for any environment.

How an episode is journaled (`StepDriver`):
- Each reset and step is one effect of kind `env`, named after the environment. Its request is the
  action and a hash of every action before it (`history`), so a step is served from the journal only
  when it is the same action from the same state. Its result is a record: the `StepOutcome`, the
  episode's `snapshot()` after it (inline JSON: the journal's blob table holds only model tool lists
  and bundles carry only those, so a snapshot goes in the entry; keep snapshots small), and the
  episode's progress (steps, cumulative reward, done, why it stopped, the counters of the rules).
- Replay serves every record; the environment is not created.
- Resume and fork: when the run goes live after served steps, a fresh episode is made and restored
  from the last served record's snapshot before the next step, so no step is repeated.
- An environment step is *not* marked side-effecting by default: the episode's state is its
  snapshot, so a step cut off by a crash is performed again from the state before it (restored), which
  repeats nothing. An environment whose steps reach something the snapshot does not hold (a real web
  site) sets `side_effects = True` on itself: its steps are then written `started` first, and resume
  refuses to run an interrupted one again unless told (`--rerun-interrupted`), as for tools.

Where the effects go:
- Through `episode_for`'s tools (`act`, `observe`), a step is made inside the tool call's own effect,
  so it goes in a scope named after that call (`<agent scope>/env#<seq of the tool call>`, via
  `runtime.gateway.current_effect()`): its key is the same whether or not earlier calls were served.
  Its entry is committed with the tool call's (one transaction), so a crash never keeps one
  without the other. The driver cannot see the calls served from the journal, so when it first
  goes live in a resumed or forked run it reads the last record of its episode in the run (and, for
  a fork, in the parents, among the calls the fork reused) to know where the episode stands.
- A text agent that steps itself (`agentzoo.agents.stepper`) passes a context: `await
  driver.reset(ctx)`, `await driver.step(action, ctx)` (effects in `ctx.scope`; the text loop uses its
  child scope `env`); it sees every record, served or not. Built to replay (no episode), it uses
  `StepDriver.replaying()`: the requests name neither environment nor task, and what the agent is told
  at the start (the action space, the rules) is in the reset's record.
- With no run at all (a test, a benchmark), the driver performs the steps directly.

The rules (`EpisodeRules`, WebArena's `early_stop` in its run.py: `--max_steps 30`,
`--parsing_failure_th 3`, `--repeating_action_failure_th 3`): after a step, the episode ends with the
reason in `info["stopped"]` when it has taken `max_steps` steps, when the last `max_parse_failures`
actions were unparsable (the environment says so with `info["parse_error"]`), or when the last
`max_repeated_actions` actions were the same (the environment's `info["action"]`, its reading of the
action, else the text with spaces collapsed). An environment where the same words can be progress (a
move in a maze, a scroll) puts what makes two actions the same in `info["action"]` (the move and the
cell it starts from), as WebArena compares actions on their element, not their words. Unlike WebArena,
a `type` action repeated with other actions between is not counted (its rule for typing counts the
whole history). `ToolCallingAgent` also declines a third identical tool call in a row on its own;
`oracle_replies` puts an `observe` call between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..prompts import render
from .base import Episode, Task, final_reply
from .step import ActionSpace, EpisodeRules, Observation, StepEnvironment
from .stepping_driver import KIND, Progress, Record, StepDriver, chain, is_record, latest_record

__all__ = ["KIND", "Progress", "Record", "StepDriver", "action_space_of", "action_tool_name", "chain",
           "describe_actions", "driver_of", "episode_for", "is_record", "latest_record", "oracle_replies",
           "progress_of"]

PROMPTS = Path(__file__).parent / "prompts" / "stepping"
AGENT_REPEAT_LIMIT = 3
"""`ToolCallingAgent`'s default `repeat_limit`: it does not make the same tool call a third time in a row, so
the oracle calls `observe` between (a move repeated in a maze is progress; the episode rules tell that
apart by the environment's `info["action"]`)."""
_NOT_IN_TOOL_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
DRIVER = "driver"
"""The key of an adapted episode's `state` that holds its `StepDriver`."""


def episode_for(env: StepEnvironment, task: Task, *, seed: int | None = None, rules: EpisodeRules | None = None,
                first_observation: Observation | str | None = None, system: str | None = None,
                action_tools: bool = False) -> Episode:
    """An `Episode` whose tools act on a step episode of `task`, for any agent that calls tools.

    Tools: `act(action)` takes one action (its result is the next observation, and a note of the
    reward or of the end), `observe()` shows the current observation (the reset, the first time).
    `action_tools`: also one tool per action name the action space lists (`click(argument)` takes the
    action `click <argument>`), for agents that do better with one tool per action.
    Each reset and step is a journaled `env` effect inside the tool call (see the module docstring).
    The prompt is the task's, the action space (`action_space_of`), and the first observation when
    `first_observation` gives it (computed by the environment without starting the episode: nothing is
    started before the run; it must be what `reset` will return); otherwise the agent is told to call
    `observe` first.

    `episode.state` mirrors the driver after every step, for `score`: `steps`, `reward`, `done`,
    `stopped`, `observation` (text), `info` (the last step's), and `driver` (`driver_of(episode)`).
    """
    from ..tools import tool

    driver = StepDriver(env, task, seed=seed, rules=rules)
    state: dict[str, Any] = {"steps": 0, "reward": 0.0, "done": False, "stopped": None, "observation": None,
                             "info": {}, DRIVER: driver}

    def mirror(record: Record) -> None:
        p = record.progress
        state.update(steps=p.steps, reward=p.reward, done=p.done, stopped=p.stopped,
                     observation=record.outcome.observation.text, info=record.outcome.info)

    driver.on_record(mirror)

    async def act(action: str) -> str:
        """Take one action in the environment, written in its action grammar; returns what you observe next."""
        if driver.progress.done:
            return _ended(driver.progress)
        before = driver.progress.reward
        outcome = await driver.step(action)
        progress = driver.progress
        return render(PROMPTS / "result.j2", observation=outcome.observation.text, done=progress.done,
                      stopped=progress.stopped, reward=_number(progress.reward),
                      step_reward=_number(progress.reward - before) if progress.reward != before else None)

    async def observe() -> str:
        """What you observe now, without acting."""
        return (await driver.observe()).text

    first = first_observation.text if isinstance(first_observation, Observation) else first_observation
    space = action_space_of(env, task, driver)
    prompt = render(PROMPTS / "prompt.j2", task=task.prompt, actions=describe_actions(space), observation=first,
                    max_steps=driver.rules.max_steps)
    tools = [tool(act), tool(observe)]
    if action_tools:
        taken = {"act", "observe"}
        for name in space.actions:
            if (tool_name := action_tool_name(name)) and tool_name not in taken:
                taken.add(tool_name)
                tools.append(_action_tool(name, tool_name, act))
    return Episode(task, tools, state, system=system, prompt=prompt)


def action_tool_name(action: str) -> str:
    """The tool name of an action name (`go north` → `go_north`); "" when nothing of it is usable."""
    return _NOT_IN_TOOL_NAME.sub("_", action.strip()).strip("_")[:64]


def _action_tool(action: str, tool_name: str, act: Any) -> Any:
    from ..tools import tool

    async def take(argument: str = "") -> str:
        return await act(f"{action} {argument}".strip())

    return tool(take, name=tool_name, description=f"The action `{action}` with its argument, if it takes one, "
                "written as the actions above say; returns what you observe next.")


def driver_of(episode: Episode) -> StepDriver:
    """The driver behind an episode made by `episode_for` (for a scorer: `await driver_of(e).live()`)."""
    driver = episode.state.get(DRIVER)
    if not isinstance(driver, StepDriver):
        raise TypeError(f"episode of task {episode.task.id!r} was not made by stepping.episode_for")
    return driver


def recipe_driver(episode: Episode | None, needs: str) -> StepDriver:
    """A recipe's step driver: the harness episode's; with no episode, one that replays a run from its journal.
    An episode that does not step is a `ConfigError`: `needs` (what the recipe needs, in its words) and the task."""
    if episode is None:
        return StepDriver.replaying()
    try:
        return driver_of(episode)
    except TypeError:
        raise ConfigError(f"{needs}; the episode of task {episode.task.id!r} ({episode.task.env}) is not one") from None


def progress_of(episode: Episode) -> Progress:
    """Where the episode stands: steps, summed reward, done, why the rules stopped it."""
    return driver_of(episode).progress


def action_space_of(env: StepEnvironment, task: Task, driver: StepDriver | None = None) -> ActionSpace:
    """The action space of `task`: the environment's `action_space(task)` if it has one (no episode is
    made), else that of a fresh episode (made now: the driver keeps it for its first step)."""
    method = getattr(env, "action_space", None)
    if callable(method):
        return method(task)
    if isinstance(method, ActionSpace):
        return method
    episode = driver._live_episode() if driver is not None else env.step_episode(task)
    return episode.action_space


def describe_actions(space: ActionSpace) -> str:
    """The action space as the agent is told it: its description (which lists the actions)."""
    return space.description.strip()


def oracle_replies(actions: list[str], agent: str, answer: str = "done", *,
                   action_tools: Sequence[str] = ()) -> list[Any]:
    """The replies of a model that takes `actions` and then answers, in the shape the agent named reads:
    `act` tool calls for `tool-calling` (and any agent that calls tools; an `observe` call before a third
    identical one in a row), one code action for `codeact`, the action texts for the text loop `stepper`.
    `action_tools`: the action names of an episode made with `action_tools=True`; each action is then a
    call of the tool of its (longest) name, with the rest as its argument."""
    name = agent.partition("@")[0]
    if name == "stepper" or name.endswith("stepper:build"):
        return [f"Action: {a}" for a in actions]
    if name == "codeact":
        code = "\n".join(f"print(act({a!r}))" for a in actions)
        return [f"Action:\n{code}\nEnd Action", final_reply("codeact", answer)]
    steps: list[Any] = []
    run = 0
    for i, action in enumerate(actions):
        run = run + 1 if i and action == actions[i - 1] else 1
        if run == AGENT_REPEAT_LIMIT:  # the agent would not make the same call again: it looks first
            steps.append({"tool_calls": [{"name": "observe", "arguments": {}}]})
            run = 1
        steps.append({"tool_calls": [_call(action, action_tools)]})
    return [*steps, final_reply(name, answer)]


def _call(action: str, names: Sequence[str]) -> dict[str, Any]:
    for name in sorted(names, key=len, reverse=True):
        rest = action[len(name):]
        if action.startswith(name) and (not rest or rest[0].isspace()) and action_tool_name(name):
            return {"name": action_tool_name(name), "arguments": {"argument": rest.strip()} if rest.strip() else {}}
    return {"name": "act", "arguments": {"action": action}}


def _ended(progress: Progress) -> str:
    return render(PROMPTS / "ended.j2", stopped=progress.stopped, reward=_number(progress.reward))


def _number(value: float) -> str:
    return f"{value:g}"
