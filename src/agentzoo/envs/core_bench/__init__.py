"""CORE-Bench's environment (`core-bench`): reproduce a small study's results and answer questions about them.

CORE-Bench (Siegel et al. 2024, arXiv:2409.11363; code siegelz/core-bench) gives an agent a Code Ocean capsule
(a paper's code, data and README) and questions about its results, at three levels: easy (the results are there:
read them, run nothing), medium (follow REPRODUCING.md, which says how to run it) and hard (install the
requirements the README names, then run it). The agent saves `report.json`, question -> answer, and the scorer
judges it against several ground-truth runs (`scoring.py`); a task is solved only when every question is right.

Here the capsules are five small studies written for this project (`capsules.py`): plain Python that runs
offline in the sandbox in seconds, with a local package to install with `pip --no-index`, a data file to make,
seeded randomness so that runs differ a little, and figures (SVG) for the vision questions. Tasks are
`<capsule>/<level>`. The agent works in the capsule through MLAgentBench's workspace (`mlagentbench.workspace`:
List Files, Read File, Write File, Execute Script in the sandbox, ..., Final Answer), every action a journaled
`env` step whose record carries the workspace's snapshot, so a run replays with no sandbox and no model. Any tool
agent acts through `act` and `observe` (`stepping.episode_for`). The scorer reads `report.json` as the workspace
holds it at the end; a missing or malformed report is a failed task with the reason in the details. The oracle
writes the gold report (the first ground-truth run's answers) and submits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...prompts import render
from .. import stepping
from ..base import Episode, Score, ScoringContext, Task
from ..mlagentbench.actions import FINAL_ANSWER, action_text
from ..mlagentbench.execute import SCRIPT_SECONDS
from ..mlagentbench.workspace import WorkspaceEpisode, action_space
from ..step import ActionSpace, EpisodeRules, Observation, StepEpisode
from .capsules import CAPSULES, LEVELS, REPORT, Capsule, load_capsules
from .scoring import is_vision, score_report

__all__ = ["CoreBench"]

PROMPTS = Path(__file__).parent / "prompts"
MAX_STEPS = 1_000
"""The episode's backstop on workspace actions; the agent's own step budget is the real limit."""
NO_LIMIT = 1_000_000
ORACLE_ANSWER = "report.json holds the answers."


class CoreBench:
    """The environment. `tasks_file`: a folder of capsule folders (default: the shipped five). `levels`: which of
    easy, medium, hard to make tasks at (all three by default, capsule by capsule). `tier`, `allow_unsafe`,
    `memory_mb`: the sandbox Execute Script runs in; `script_seconds`: one script's wall clock."""

    name = "core-bench"
    answer_kind = "tool-calls"

    def __init__(self, tasks_file: str | Path | None = None, *, levels: list[str] | tuple[str, ...] = LEVELS,
                 tier: str = "auto", allow_unsafe: bool = False, memory_mb: int = 1024,
                 script_seconds: float = SCRIPT_SECONDS, max_steps: int = MAX_STEPS) -> None:
        self.root = Path(tasks_file) if tasks_file else CAPSULES
        if not self.root.is_dir():
            raise ConfigError(f"core-bench capsules {self.root}: expected a folder of capsule folders")
        unknown = [level for level in levels if level not in LEVELS]
        if unknown or not levels:
            raise ConfigError(f"core-bench levels {list(levels)}: each must be one of {', '.join(LEVELS)}")
        self.levels = tuple(levels)
        self.sandbox = {"tier": tier, "allow_unsafe": allow_unsafe, "memory_mb": memory_mb}
        self.script_seconds = float(script_seconds)
        self.rules = EpisodeRules(max_steps=max_steps, max_parse_failures=NO_LIMIT, max_repeated_actions=NO_LIMIT)
        self._capsules: dict[str, Capsule] | None = None

    # --- tasks ---

    def capsules(self) -> dict[str, Capsule]:
        if self._capsules is None:
            self._capsules = load_capsules(self.root)
        return self._capsules

    def tasks(self) -> list[Task]:
        return [self._task(capsule, level) for capsule in self.capsules().values() for level in self.levels]

    def _task(self, capsule: Capsule, level: str) -> Task:
        questions = [q.text for q in capsule.questions]
        prompt = render(PROMPTS / "task.j2", level=level, title=capsule.title, task_prompt=capsule.task_prompt,
                        questions=questions).strip()
        data = {"capsule": capsule.name, "level": level, "questions": questions,
                "vision_questions": [q for q in questions if is_vision(q)]}
        return Task(self.name, f"{capsule.name}/{level}", prompt, json.dumps(capsule.gold, indent=2), data)

    def capsule(self, task: Task) -> Capsule:
        return self.capsules()[task.data["capsule"]]

    def workspace(self, task: Task) -> dict[str, str]:
        """The capsule's files at the task's level, path -> text (a copy)."""
        return self.capsule(task).workspace(task.data["level"])

    # --- the step protocol ---

    def action_space(self, task: Task) -> ActionSpace:
        return action_space()

    def step_episode(self, task: Task) -> StepEpisode:
        return WorkspaceEpisode(self.workspace(task), research_problem=task.prompt, sandbox=self.sandbox,
                                seconds=self.script_seconds)

    def first_observation(self, task: Task) -> Observation:
        """What the reset shows, told without starting the episode."""
        episode = WorkspaceEpisode(self.workspace(task), research_problem=task.prompt)
        return Observation(episode._render("reset", entries=episode._entries("")),
                           {"research_problem": task.prompt, "files": sorted(episode.files)})

    def gold_actions(self, task: Task) -> list[str]:
        """The oracle's actions: the gold report written, then the final answer."""
        return [action_text("Write File", {"file_name": REPORT, "content": task.gold}),
                action_text(FINAL_ANSWER, {"final_answer": ORACLE_ANSWER})]

    # --- the Environment protocol ---

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task, first_observation=self.first_observation(task))

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext | None = None) -> Score:
        """report.json as the workspace holds it at the end, against the capsule's ground-truth runs."""
        task = episode.task
        driver = stepping.driver_of(episode)
        details: dict[str, Any] = {"capsule": task.data["capsule"], "level": task.data["level"]}
        if not driver.started:
            return Score(0.0, False, {**details, "error": "the workspace was never opened"})
        live = await driver.live()
        assert isinstance(live, WorkspaceEpisode)
        details.update(steps=driver.progress.steps, final_answer=live.answer)
        report, error = read_report(live.files.get(REPORT))
        if report is None:
            return Score(0.0, False, {**details, "error": error})
        judged = score_report(list(self.capsule(task).results), report)
        details.update(judged.details())
        return Score(1.0 if judged.solved else 0.0, judged.solved, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        return stepping.oracle_replies(self.gold_actions(task), agent, answer=ORACLE_ANSWER)


def read_report(text: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The report as a dict, or None and what is wrong with it (for the score's details, never raised)."""
    if text is None:
        return None, f"there is no {REPORT} at the top of the workspace: the agent never wrote its report"
    try:
        report = json.loads(text)
    except ValueError as exc:
        return None, f"{REPORT} is not valid JSON ({exc}): {text[:200]!r}"
    if not isinstance(report, dict):
        return None, (f"{REPORT} must be a JSON object whose keys are the questions, not a "
                      f"{type(report).__name__}: {text[:200]!r}")
    return report, None
