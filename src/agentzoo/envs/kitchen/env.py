"""The kitchen as an environment: tasks from the layouts file, episodes on the step protocol, the scorer
and the oracle (see the package docstring for the rules)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from ...errors import ConfigError
from ...prompts import render
from .. import stepping
from ..base import Episode, Score, ScoringContext, Task
from ..step import ActionSpace, EpisodeRules, Observation, StepOutcome
from .policies import TEAMMATES, greedy_skill, rule_action, teammate_action
from .world import ACTIONS, COOK_TIME, SOUP_REWARD, TILE_NAMES, Layout, State, advance, ahead

HERE = Path(__file__).parent
LAYOUTS = HERE / "layouts.yaml"
PROMPTS = HERE / "prompts"
SPACE = ActionSpace(render(PROMPTS / "actions.j2"), ACTIONS)
MAX_STEPS = 10_000
"""The episode rules' step limit: far above any horizon, which is what ends an episode (every action, even an
unparsable one, is a step of the clock)."""


@dataclass(frozen=True)
class KitchenTask:
    """One task: a layout, a teammate, a goal and a horizon."""

    layout: str
    teammate: str
    """A policy of `policies.TEAMMATES`."""
    seed: int
    """Draws the teammate's pauses and unsticking moves."""
    goal: int
    """Soups to deliver."""
    horizon: int
    """Steps in the episode (Overcooked-AI's horizon)."""
    cook_time: int = COOK_TIME
    noise: float = 0.0
    """The teammate's chance of pausing for a step."""

    @property
    def id(self) -> str:
        return f"{self.layout}-{self.teammate}-{self.seed}"


class Game:
    """A task being played, synchronously: the state, both cooks' step, the end."""

    def __init__(self, layout: Layout, task: KitchenTask) -> None:
        self.layout, self.task = layout, task
        self.state = State.start(layout)

    @property
    def done(self) -> bool:
        return self.state.soups >= self.task.goal or self.state.t >= self.task.horizon

    def teammate(self) -> str:
        t = self.task
        return teammate_action(self.layout, self.state, t.teammate, t.seed, t.noise)

    def step(self, action: str) -> int:
        """Cook 0 takes `action` (one of `ACTIONS`), the teammate its own; the soups delivered."""
        return advance(self.layout, self.state, (action, self.teammate()), self.task.cook_time)

    def observation(self, note: str = "") -> Observation:
        return describe(self.layout, self.state, self.task, note)


class KitchenEpisode:
    """One kitchen task being played (a `StepEpisode`): its state is the `State`, as JSON."""

    action_space = SPACE

    def __init__(self, layout: Layout, task: KitchenTask) -> None:
        self.game = Game(layout, task)

    async def reset(self, seed: int | None = None) -> Observation:
        self.game.state = State.start(self.game.layout)
        return self.game.observation()

    async def step(self, action: str) -> StepOutcome:
        game = self.game
        word = action.strip().lower().strip(".`'\"")
        if game.done:
            return StepOutcome(game.observation("The episode has ended. "), 0.0, True)
        info: dict[str, Any] = {}
        note = ""
        if word not in ACTIONS:
            # The clock does not wait: the agent's cook stands still, the teammate works on.
            note = (f"'{action.strip()[:40]}' is not an action here, so you stayed; the actions are "
                    f"{', '.join(ACTIONS)}. ")
            info["parse_error"] = "unknown action"
            word = "stay"
        # Every step moves the clock (soup cooks, the teammate acts): the same word twice is not a loop.
        info.setdefault("action", f"{word} at step {game.state.t}")
        soups = game.step(word)
        return StepOutcome(game.observation(note), float(soups * SOUP_REWARD), game.done, info)

    def snapshot(self) -> dict[str, Any]:
        return self.game.state.to_json()

    def restore(self, state: dict[str, Any]) -> None:
        self.game.state = State.from_json(state)

    async def close(self) -> None:
        pass


class Kitchen:
    """Two cooks, onion soup, a scripted teammate (`Environment` and `StepEnvironment`).

    Options: `horizon` and `cook_time` replace every task's (shorter runs for slow models)."""

    name = "kitchen"
    answer_kind = "tool-calls"
    rules = EpisodeRules(max_steps=MAX_STEPS)

    def __init__(self, tasks_file: str | Path | None = None, *, horizon: int | None = None,
                 cook_time: int | None = None, **options: Any) -> None:
        if options:
            raise ConfigError(f"kitchen takes the options horizon and cook_time, got {', '.join(sorted(options))}")
        for key, value in (("horizon", horizon), ("cook_time", cook_time)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"kitchen: {key} must be a positive whole number of steps, got {value!r}")
        layouts, specs = read_tasks(LAYOUTS)
        if tasks_file is not None:
            extra, specs = read_tasks(Path(tasks_file), known=layouts)
            layouts = {**layouts, **extra}
        self.layouts = layouts
        changes = {k: v for k, v in (("horizon", horizon), ("cook_time", cook_time)) if v is not None}
        self.specs = {spec.id: replace(spec, **changes) for spec in specs}

    @cached_property
    def _tasks(self) -> list[Task]:
        return [Task(self.name, spec.id, task_prompt(spec), oracle_actions(self.layouts[spec.layout], spec),
                     asdict(spec)) for spec in self.specs.values()]

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def spec(self, task: Task) -> KitchenTask:
        return self.specs[task.id]

    def layout(self, task: Task) -> Layout:
        return self.layouts[self.spec(task).layout]

    def action_space(self, task: Task) -> ActionSpace:
        return SPACE

    def step_episode(self, task: Task) -> KitchenEpisode:
        return KitchenEpisode(self.layout(task), self.spec(task))

    def episode(self, task: Task) -> Episode:
        first = describe(self.layout(task), State.start(self.layout(task)), self.spec(task))
        return stepping.episode_for(self, task, first_observation=first)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        """Reward: the soups delivered over the goal (at most 1); success: the goal reached within the horizon."""
        progress = stepping.progress_of(episode)
        await stepping.driver_of(episode).close()
        spec = self.spec(episode.task)
        soups = round(progress.reward / SOUP_REWARD)
        return Score(min(1.0, soups / spec.goal), soups >= spec.goal,
                     {"soups": soups, "goal": spec.goal, "steps": progress.steps, "horizon": spec.horizon,
                      "stopped": progress.stopped, "teammate": spec.teammate,
                      "teammate_alone": teammate_alone(self.layout(episode.task), spec)})

    def oracle(self, task: Task, agent: str) -> list[Any]:
        goal = self.spec(task).goal
        return stepping.oracle_replies(list(task.gold), agent,
                                       answer=f"We delivered {goal} soup{'s' if goal > 1 else ''}.")


def oracle_actions(layout: Layout, spec: KitchenTask) -> list[str]:
    """The oracle's actions: the greedy rule for the agent's cook too, played until the goal or the horizon."""
    game = Game(layout, spec)
    actions = []
    while not game.done:
        actions.append(rule_action(layout, game.state, 0, greedy_skill))
        game.step(actions[-1])
    return actions


def teammate_alone(layout: Layout, spec: KitchenTask) -> int:
    """The soups the teammate delivers while the agent's cook stays where it starts: what the agent adds is the rest."""
    game = Game(layout, spec)
    while not game.done:
        game.step("stay")
    return game.state.soups


def task_prompt(spec: KitchenTask) -> str:
    return render(PROMPTS / "task.j2", task=spec)


def describe(layout: Layout, state: State, spec: KitchenTask, note: str = "") -> Observation:
    """What the agent reads (a map, both cooks, the pots, the counters, what happened), and the state as data."""
    grid = [list(row.replace(" ", ".")) for row in layout.rows]
    for i, cook in enumerate(state.cooks):
        grid[cook.pos[0]][cook.pos[1]] = str(i)
    me = state.cooks[0]
    text = render(PROMPTS / "observation.j2", note=note, state=state, task=spec, grid=["".join(r) for r in grid],
                  pots=list(zip(layout.pots, state.pots)), front=TILE_NAMES[layout.tile(ahead(me.pos, me.facing))],
                  counters=sorted(state.counters.items()))
    data = {"layout": layout.to_json(), "state": state.to_json(), "goal": spec.goal, "horizon": spec.horizon,
            "cook_time": spec.cook_time}
    return Observation(text, data)


def read_tasks(path: Path, known: dict[str, Layout] | None = None) -> tuple[dict[str, Layout], list[KitchenTask]]:
    """A layouts file (`layouts.yaml`'s format): its layouts, and its tasks (on those or on `known` ones)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a kitchen tasks file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a kitchen tasks file is a mapping with `tasks` (and `layouts`)")
    layouts = {name: Layout.parse(name, list(rows)) for name, rows in (data.get("layouts") or {}).items()}
    usable = {**(known or {}), **layouts}
    specs = []
    fields = set(KitchenTask.__dataclass_fields__)
    for n, item in enumerate(data.get("tasks") or [], 1):
        where = f"{path}: task {n}"
        if not isinstance(item, dict) or not {"layout", "teammate", "seed", "goal", "horizon"} <= item.keys():
            raise ConfigError(f"{where}: a task has layout, teammate, seed, goal and horizon (and cook_time, noise)")
        if unknown := set(item) - fields:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        if item["layout"] not in usable:
            raise ConfigError(f"{where}: no layout {item['layout']!r}; known: {', '.join(sorted(usable))}")
        if item["teammate"] not in TEAMMATES:
            raise ConfigError(f"{where}: no teammate {item['teammate']!r}; known: {', '.join(TEAMMATES)}")
        spec = KitchenTask(**item)
        if spec.goal < 1 or spec.horizon < 1 or spec.cook_time < 1 or not 0 <= spec.noise < 1:
            raise ConfigError(f"{where}: goal, horizon and cook_time are at least 1 and noise is in [0, 1)")
        specs.append(spec)
    if not specs:
        raise ConfigError(f"{path}: no tasks")
    return layouts, specs
