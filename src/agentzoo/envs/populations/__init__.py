"""`populations`: made-up places whose people decide one thing each step (stay home; look for work), scored
against a reference series. The simulation environment of AgentTorch-style archetype populations (#54).

Each task is one shipped scenario (`scenarios/*.json`, checked by `scenario.parse_scenario`): its prompt is
the scenario's name, which a simulation recipe (`agenttorch`) loads and runs itself, so `agentzoo run`,
replay, resume and fork need no harness episode. `--tasks FILE` gives other scenarios: a JSON file holding
one scenario object or a list of them (their prompts are then the scenario JSON itself).

`answer_kind = "simulation"`: the answer is the recipe's closing record (JSON its code wrote), scored by
`scoring.score_answer` — the normalised RMS error of the run's curve against the scenario's reference
series (read `scoring` for the measure and what it does and does not say). `Score.details` carries
`simulated_hours` (the eval report's "per simulated hour"), the error, both series and the run's summary.
The gold (`oracle`) is the behaviour each scenario's reference series was written under: a rule per group that
answers the news; played through the recipe it lands within the tolerance (it checks the harness and the
scorer, not what people would do).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ... import _json
from ...errors import ConfigError
from ..base import Episode, Score, ScoringContext, Task
from .scenario import Scenario, load_scenario, parse_scenario, read_scenario, shipped
from .scoring import nrmse, score_answer

__all__ = ["Populations", "Scenario", "load_scenario", "nrmse", "parse_scenario", "read_scenario", "score_answer",
           "shipped"]


class Populations:
    name = "populations"
    answer_kind = "simulation"

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        self.path = Path(tasks_file) if tasks_file else None
        self._scenarios: list[tuple[Scenario, str]] | None = None

    def scenarios(self) -> list[tuple[Scenario, str]]:
        """Each scenario with the task text that names it."""
        if self._scenarios is None:
            if self.path is None:
                self._scenarios = [(load_scenario(name), name) for name in shipped()]
            else:
                self._scenarios = [(s, _json.dumps_str(s.data)) for s in self._from_file(self.path)]
        return self._scenarios

    def tasks(self) -> list[Task]:
        return [Task(self.name, f"populations/{s.name}", prompt, list(s.reference.series), s.data)
                for s, prompt in self.scenarios()]

    def episode(self, task: Task) -> Episode:
        return Episode(task)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        return score_answer(parse_scenario(episode.task.data, episode.task.id), answer)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The gold is the behaviour the reference series was written under (`reference.behaviour`): the
        scenario itself, as one JSON reply, which the simulation recipe's oracle player reads to answer each
        group as that behaviour would (`agentzoo.recipes._oracle.agenttorch`)."""
        scenario = parse_scenario(task.data, task.id)
        if scenario.reference.behaviour is None:
            raise ConfigError(f"populations task {task.id}: its reference states no behaviour, so there is no gold "
                              "to play (give reference.behaviour, or score with a model instead of 'oracle')")
        return [_json.dumps_str(task.data)]

    @staticmethod
    def _from_file(path: Path) -> list[Scenario]:
        if path.suffix != ".json":
            raise ConfigError(f"--tasks {path}: populations reads a .json file of one scenario or a list of them")
        try:
            data = _json.loads(path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"--tasks {path}: {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"scenario {path}: not valid JSON ({exc})") from None
        items = data if isinstance(data, list) else [data]
        if not items:
            raise ConfigError(f"scenario {path}: the list holds no scenario")
        scenarios = [parse_scenario(item, f"{path}[{i}]" if isinstance(data, list) else str(path))
                     for i, item in enumerate(items)]
        names = [s.name for s in scenarios]
        if len(set(names)) != len(names):
            raise ConfigError(f"scenario {path}: two scenarios share a name (task ids are made from names)")
        return scenarios

