"""`concordia-scenes`: small stories played under a game master (Concordia, #58), each measured by whether the
event its goal names happened.

Each task is one shipped scenario (`concordia_scenario`, files in `data/concordia_scenes/`): its prompt is the
scenario's name, which the simulation recipe (`concordia`) loads and runs itself, so `agentzoo run`, replay,
resume and fork need no harness episode. `--tasks FILE` gives other scenarios: a JSON file holding one scenario
or a list of them (their prompts are then the scenario JSON itself).

`answer_kind = "simulation"`: the answer is the recipe's closing record, JSON its code wrote (never model text
read as code): `simulated_hours` and the game master's event log (`events`, each with `actor`, `event`,
`verdict`). The score reads the log with the task's own scenario — the goal's pattern over the statements of
players' attempts that were not rejected (`concordia_scenario.goal_event`) — so a record cannot claim a goal
it did not reach. The pattern is a reading of the story written for each scenario, not a judge: it can miss
a paraphrase. `Score.details` carries `simulated_hours` (the eval report's "per simulated hour"), the event
that reached the goal, and counts of attempts and rejections.

The oracle's gold: per scenario, an attempt that reaches the goal and the event it becomes (the `concordia`
recipe's oracle player plays them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import _json
from ..errors import ConfigError
from .base import Episode, Score, ScoringContext, Task
from .concordia_scenario import Scenario, goal_event, load_scenario, parse_scenario, read_scenario, shipped

__all__ = ["ConcordiaScenes", "score_record"]


class ConcordiaScenes:
    name = "concordia-scenes"
    answer_kind = "simulation"

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        self.path = Path(tasks_file) if tasks_file else None
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            if self.path is None:
                pairs = [(load_scenario(name), name) for name in shipped()]
            else:
                pairs = [(s, _json.dumps_str(s.data)) for s in _from_file(self.path)]
            self._tasks = [Task(self.name, s.name, prompt, s.gold, {"scenario": s.data}) for s, prompt in pairs]
        return self._tasks

    def episode(self, task: Task) -> Episode:
        return Episode(task)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        return score_record(parse_scenario(episode.task.data["scenario"], episode.task.id), answer)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The gold as one JSON reply: per player, the attempt that reaches the goal and the event it becomes."""
        if not task.gold:
            raise ConfigError(f"concordia scenario {task.id!r} has no gold (an attempt that reaches its goal)")
        return [_json.dumps_str(task.gold)]


def score_record(scenario: Scenario, answer: str | None) -> Score:
    """Whether the run's event log holds the goal's event (see the module)."""
    record, problem = _read(answer)
    hours = record.get("simulated_hours") if isinstance(record, dict) else None
    hours = float(hours) if isinstance(hours, (int, float)) and not isinstance(hours, bool) else 0.0
    base = {"scenario": scenario.name, "goal": scenario.goal.description, "simulated_hours": hours}
    if problem:
        return Score(0.0, False, {**base, "error": problem})
    events = record["events"]
    found = goal_event(scenario.goal, events)
    attempts = [e for e in events if e.get("actor") is not None]
    details = {**base, "goal_met": found is not None, "goal_event": None if found is None else events[found]["event"],
               "events": len(events), "attempts": len(attempts),
               "rejected": sum(e.get("verdict") == "rejected" for e in attempts)}
    return Score(1.0 if found is not None else 0.0, found is not None, details)


def _read(answer: str | None) -> tuple[Any, str]:
    if answer is None or not answer.strip():
        return None, "no answer (the simulation gave no closing record)"
    try:
        record = _json.loads(answer)
    except ValueError:
        return None, "the answer is not the JSON closing record of a simulation"
    if not isinstance(record, dict):
        return None, "the closing record is not a JSON object"
    if not isinstance(record.get("simulated_hours"), (int, float)) or isinstance(record.get("simulated_hours"), bool):
        return record, "the record has no simulated_hours"
    events = record.get("events")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return record, "the record has no event log (events: a list of objects)"
    return record, ""


def _from_file(path: Path) -> list[Scenario]:
    if path.suffix != ".json":
        raise ConfigError(f"--tasks {path}: concordia-scenes reads a .json file of one scenario or a list of them")
    try:
        data = _json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"--tasks {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"scenario {path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        return [read_scenario(path)]
    if not data:
        raise ConfigError(f"scenario {path}: the list holds no scenario")
    scenarios = [parse_scenario(item, f"{path}[{i}]") for i, item in enumerate(data)]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ConfigError(f"scenario {path}: two scenarios share a name (task ids are made from names)")
    return scenarios
