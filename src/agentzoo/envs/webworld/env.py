"""The web world as an environment: its tasks, an episode per task in a browser, WebArena's scoring, the oracle.

    agentzoo eval --env webworld --model oracle                 # every task, the gold actions: 100 %
    env = get_env("webworld", judge="openai:gpt-4o-mini")      # fuzzy_match answers judged by a model

Options: `judge` (a model string, `{model: STRING, model_options: {KEY: VALUE}}` or a `Model`) judges
`fuzzy_match` answers; without one, such an answer must contain the reference (stricter than a judge; the
score's details say so). `perturb_oracle=True` spoils the end of every gold action list (a wrong answer, or
the last action before `stop` left out), to show that the scorers tell. `world_seed` picks another seeded
database (the shipped tasks are written for `WORLD_SEED`).

The answer scored is the one of `stop [answer]`; an episode that ended otherwise is scored on the agent's
final reply, as if it had said it with `stop`. The evaluators read the state after the last step from its
snapshot (the step driver's last record): its database is rebuilt on a world of its own and its pages
served from there, so scoring needs no browser, and is the same whether the episode is alive, closed or
was resumed from the journal. The live episode is closed after scoring, giving its browser back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ... import _json
from ...errors import ConfigError
from ...prompts import render
from .. import stepping
from ..base import Episode, Score, ScoringContext, Task, final_reply
from ..step import ActionSpace, EpisodeRules
from . import database, evaluators, oracle, seed
from .browsers import BrowserPool, default_pool
from .episode import WebEpisode, action_space, page_url
from .judge import ModelJudge
from .server import SITES, WorldServer, default_server

HERE = Path(__file__).parent
TASKS = HERE / "tasks.json"
TASK_PROMPT = HERE / "prompts" / "task.md"
AGENTS = ("tool-calling", "react")
"""The agent kinds whose oracle acts through `stepping.episode_for`'s tools (and the text loop, by text)."""


class WebWorld:
    """The shop, its admin side and the forum, served on 127.0.0.1, with their tasks."""

    name = "webworld"
    answer_kind = "tool-calls"
    rules = EpisodeRules()  # WebArena's: 30 steps, 3 unparsable actions in a row, 3 identical ones

    def __init__(self, tasks_file: str | Path | None = None, *, judge: Any = None, perturb_oracle: bool = False,
                 world_seed: int = seed.WORLD_SEED, server: WorldServer | None = None,
                 pool: BrowserPool | None = None) -> None:
        self.path = Path(tasks_file) if tasks_file else TASKS
        self._tasks = load_tasks(self.path)
        self.judge = ModelJudge(judge) if judge is not None else None
        self.perturb_oracle = bool(perturb_oracle)
        self.world_seed = int(world_seed)
        self._server, self._pool = server, pool

    @property
    def server(self) -> WorldServer:
        return self._server or default_server()

    @property
    def pool(self) -> BrowserPool:
        return self._pool or default_pool()

    def tasks(self) -> list[Task]:
        return [Task(self.name, t["id"], render(TASK_PROMPT, intent=t["intent"], sites=SITES, start_url=t["start_url"]),
                     list(t["oracle"]), {"intent": t["intent"], "start_url": t["start_url"], "eval": t["eval"]})
                for t in self._tasks]

    def action_space(self, task: Task) -> ActionSpace:
        return action_space()

    def step_episode(self, task: Task) -> WebEpisode:
        return WebEpisode(task.data["start_url"], self.server, self.pool, self.world_seed)

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext | None) -> Score:
        driver = stepping.driver_of(episode)
        try:
            record = driver.record
            if record is None:
                return Score(0.0, False, {"why": "the episode never started"})
            stopped_with = record.outcome.info.get("answer")
            # The state after the last step, rebuilt on a world of its own: no browser, and the same whether
            # the episode is alive, closed, or was resumed from the journal.
            ended = self.server.open_world(self.world_seed)
            try:
                database.apply(ended.db, record.snapshot["db"], self.world_seed)
                ending = evaluators.Ending(stopped_with if stopped_with is not None else answer,
                                          page_url(record.snapshot), ended.db, ended.fetch)
                task = {"intent": episode.task.data["intent"], "eval": episode.task.data["eval"]}
                reward, details = await evaluators.evaluate(task, ending, self.judge)
            finally:
                self.server.close_world(ended)
        finally:
            await driver.close()  # the live episode, if any: its browser goes back to the pool
        progress = driver.progress
        details.update(steps=progress.steps, stopped=progress.stopped, url=ending.url,
                       answer_from="stop" if stopped_with is not None else "final reply")
        return Score(reward, reward >= 1.0, details)

    def oracle(self, task: Task, agent: str) -> Any:
        """A function of the request that plays the gold against the observations (`oracle.player`)."""
        name = agent.partition("@")[0]
        plan = oracle.perturb(list(task.gold)) if self.perturb_oracle else list(task.gold)
        if name == "stepper" or name.endswith("stepper:build"):
            return oracle.text_player(plan)
        if name not in AGENTS:
            raise ConfigError(f"webworld's oracle plays for agents that act with the episode's tools "
                              f"({', '.join(AGENTS)}) or the text loop (agentzoo.agents.stepper:build), not "
                              f"{agent!r}: its element ids are read from each observation as it comes")
        return oracle.player(plan, final_reply(name, "done"))


def load_tasks(path: Path) -> list[dict[str, Any]]:
    """The tasks of a tasks file (`{"tasks": [...]}`), checked: a `ConfigError` names the task and what is wrong."""
    try:
        data = _json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(f"{path}: expected {{\"tasks\": [...]}} with at least one task")
    seen: set[str] = set()
    for n, task in enumerate(tasks, 1):
        where = f"{path}: task {n} ({task.get('id', 'no id') if isinstance(task, dict) else '?'})"
        problem = _task_problem(task, seen)
        if problem:
            raise ConfigError(f"{where}: {problem}")
        seen.add(task["id"])
    return tasks


def _task_problem(task: Any, seen: set[str]) -> str:
    if not isinstance(task, dict):
        return "a task is an object"
    missing = [k for k in ("id", "intent", "start_url", "eval", "oracle") if k not in task]
    if missing:
        return f"missing {', '.join(missing)}"
    if task["id"] in seen:
        return "its id is used twice"
    if not any(task["start_url"].startswith(address) for address in SITES.values()):
        return f"start_url {task['start_url']!r} is not on a site of the world ({', '.join(SITES.values())})"
    spec = task["eval"]
    kinds = spec.get("eval_types") if isinstance(spec, dict) else None
    if not kinds or any(k not in evaluators.EVAL_TYPES for k in kinds):
        return f"eval.eval_types must list some of {', '.join(evaluators.EVAL_TYPES)}"
    needs = {"string_match": "reference_answers", "url_match": "reference_url", "program_html": "program_html",
             "db_match": "db"}
    absent = [needs[k] for k in kinds if needs[k] not in spec]
    if absent:
        return f"eval needs {', '.join(absent)} for its eval_types"
    plan = task["oracle"]
    if not isinstance(plan, list) or not plan or not str(plan[-1]).startswith("stop"):
        return "oracle is a list of actions ending with stop [...]"
    return ""
