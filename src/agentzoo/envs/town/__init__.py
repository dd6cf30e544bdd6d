"""`town`: a small text town for social simulations (Generative Agents, Park et al. 2023).

The town is data (`scenarios/*.yaml`): places with areas and objects, 2 to 25 residents with the
paper's identity fields, daily routines and seed memories, one simulated day, and an event one
resident hosts whose news may spread by conversation. Shipped: `tiny-party` (three residents, an
afternoon: for tests and the local model) and `valentine-party` (ten residents; Isabella plans a
Valentine's Day party at Hobbs Cafe on February 14 from 17:00, as in the paper's §7.1).

Each scenario is a `Task` (prompt: its name, data: the scenario) of answer kind `simulation`: a
simulation recipe (`generative-agents`) loads the scenario itself, runs the day and answers with its
own JSON closing record. `score` is the paper's information-diffusion measure over that record
(`diffusion`): the share of the simulated residents other than the host who know of the event at the
end; `Score.details` carries `simulated_hours`, `knew`, `told` and `attended` (None when the run did
not reach the event's time). `World` is the state a simulation moves residents in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ..base import Episode, Score, ScoringContext, Task
from .diffusion import mentions, read_answer
from .diffusion import score as diffusion_score
from .scenario import Scenario, address, from_data, load_scenario, read_file, resolve, shipped
from .world import Doing, Percept, World

__all__ = ["Doing", "Percept", "Scenario", "Town", "World", "address", "from_data", "load_scenario", "mentions",
           "read_answer", "resolve", "shipped"]


class Town:
    name = "town"
    answer_kind = "simulation"

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        """The shipped scenarios, or the scenario(s) of `tasks_file` (a YAML/JSON scenario file)."""
        self.tasks_file = Path(tasks_file) if tasks_file else None
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            if self.tasks_file is None:
                scenarios = [(load_scenario(n), True) for n in shipped()]
            else:
                scenarios = [(read_file(self.tasks_file), False)]
            self._tasks = [self._task(s, is_shipped) for s, is_shipped in scenarios]
        return self._tasks

    def _task(self, scenario: Scenario, is_shipped: bool) -> Task:
        data = scenario.to_json()
        # A shipped scenario is named (the recipe loads it); another travels as its JSON.
        prompt = scenario.name if is_shipped else _json_text(data)
        return Task(self.name, scenario.name, prompt, gold=_gold(scenario), data={"scenario": data})

    def episode(self, task: Task) -> Episode:
        return Episode(task)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        return diffusion_score(self.scenario(episode.task), answer)

    def scenario(self, task: Task) -> Scenario:
        data = task.data.get("scenario")
        if data is None:
            raise ConfigError(f"town task {task.id!r} carries no scenario")
        return from_data(data, f"task {task.id}")

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """What every resident should come to know: the event, its place and time (a JSON object, as the
        recipe's oracle player says it in every conversation and interview)."""
        return [_json_text(task.gold)]


def _gold(scenario: Scenario) -> dict[str, Any]:
    event = scenario.event
    where = next(address(p.name, p.areas[0].name) for p in scenario.places if p.name == event.place)
    said = f"{event.host} hosts the {event.name} at {event.place} from {event.start} to {event.end}"
    return {"event": f"{said} ({', '.join(event.keywords)})",
            "when": f"{event.start} to {event.end}", "address": where,
            "knew": [r.name for r in scenario.residents if r.name != event.host]}


def _json_text(value: Any) -> str:
    from ... import _json

    return _json.dumps_str(value)
