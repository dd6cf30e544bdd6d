"""MLAgentBench's workspace environment (`mlagentbench`): improve a baseline ML script in a sandboxed task folder.

MLAgentBench (Huang et al. 2024, arXiv:2310.03302; code snap-stanford/MLAgentBench) gives an agent a task
folder (data, a baseline `train.py`, a description) and a set of actions over it; a hidden evaluation scores
the `submission.csv` the agent leaves, and a run succeeds when it beats the baseline by more than 10 %.
Here the tasks are small problems on datasets scikit-learn ships (`tasks.py`: iris, wine, breast cancer,
diabetes), whose scripts run offline in the sandbox on the standard library, each in seconds.

The episode (`workspace.WorkspaceEpisode`) is a step episode over the workspace's files, with MLAgentBench's
env actions (`actions.yaml`); the actions that need a model (Understand File, Edit Script (AI), Edit Script
Segment (AI), Reflection, Retrieval from Research Log) are made of env steps and model calls by the agent
that holds the model (`model_actions.ModelActions`; the research agent, `agentzoo.recipes.mlagentbench`).
Every action is a journaled `env` effect, its record carrying the workspace's content-addressed snapshot, so a
run replays without a sandbox, resumes after a crash with the files as they were at the last recorded step,
and forks at any step with them.

Any agent that calls tools acts here too, through `act` and `observe` (`stepping.episode_for`), with the env
actions. The scorer reads `submission.csv` from the workspace as the episode left it (a scorer's file, parsed
here, never run), computes the task's metric on the held-back targets, and applies the success rule
(`tasks.succeeded`); reward is 1 on success, else 0, with the score, the baseline and the improvement in the
details. The oracle writes the task's `improved.py` over `train.py`, runs it, and gives its final answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .. import stepping
from ..base import Episode, Score, ScoringContext, Task
from ..step import ActionSpace, EpisodeRules, Observation, StepEpisode
from .actions import FINAL_ANSWER, action_text
from .execute import SCRIPT_SECONDS
from .tasks import (READ_ONLY, SUBMISSION, TASKS, SubmissionError, TaskData, TaskSpec, improvement, load_spec,
                    metric_value, read_submission, succeeded, task_data)
from .workspace import WorkspaceEpisode, action_space

__all__ = ["MLAgentBench", "WorkspaceEpisode"]

MAX_LOW_LEVEL_STEPS = 1_000
"""The episode's own limit, a backstop on env steps: MLAgentBench's limit (50 actions, runner.py --max-steps) is
counted by the agent, since a model action takes one or two env steps (its reads and its write)."""
NO_LIMIT = 1_000_000
"""MLAgentBench ends a run on neither unparsable nor repeated actions."""
ORACLE_ANSWER = "I replaced the baseline in train.py with a better model, ran it, and it wrote submission.csv."


class MLAgentBench:
    """The workspace environment. `tasks_file`: a folder of task folders (default: the shipped four).
    `tier`, `allow_unsafe`, `memory_mb`: the sandbox Execute Script runs in; `script_seconds`: one script's
    wall clock; `max_steps`: the episode's backstop on env steps."""

    name = "mlagentbench"
    answer_kind = "tool-calls"

    def __init__(self, tasks_file: str | Path | None = None, *, tier: str = "auto", allow_unsafe: bool = False,
                 memory_mb: int = 1024, script_seconds: float = SCRIPT_SECONDS,
                 max_steps: int = MAX_LOW_LEVEL_STEPS) -> None:
        self.root = Path(tasks_file) if tasks_file else TASKS
        if not self.root.is_dir():
            raise ConfigError(f"mlagentbench tasks {self.root}: expected a folder of task folders")
        self.sandbox = {"tier": tier, "allow_unsafe": allow_unsafe, "memory_mb": memory_mb}
        self.script_seconds = float(script_seconds)
        self.rules = EpisodeRules(max_steps=max_steps, max_parse_failures=NO_LIMIT, max_repeated_actions=NO_LIMIT)
        self._specs: dict[str, TaskSpec] | None = None
        self._data: dict[str, TaskData] = {}

    # --- tasks ---

    def specs(self) -> dict[str, TaskSpec]:
        if self._specs is None:
            folders = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
            self._specs = {folder.name: load_spec(folder) for folder in folders}
        return self._specs

    def tasks(self) -> list[Task]:
        return [self._task(spec) for spec in self.specs().values()]

    def _task(self, spec: TaskSpec) -> Task:
        data = {"dataset": spec.dataset, "metric": spec.metric, "higher_is_better": spec.higher_is_better,
                "baseline": spec.baseline, "read_only": list(READ_ONLY)}
        return Task(self.name, spec.name, spec.research_problem, spec.improved, data)

    def data(self, task: Task) -> TaskData:
        """The task's workspace files and hidden answers (made from the dataset once, then kept)."""
        if task.id not in self._data:
            self._data[task.id] = task_data(self.specs()[task.id])
        return self._data[task.id]

    def workspace(self, task: Task) -> dict[str, str]:
        """The task's workspace at the start, path -> text (a copy)."""
        return dict(self.data(task).files)

    # --- the step protocol ---

    def action_space(self, task: Task) -> ActionSpace:
        return action_space()

    def step_episode(self, task: Task) -> StepEpisode:
        """A fresh workspace of `task`: cheap (files in memory; a sandbox only while a script runs)."""
        return WorkspaceEpisode(self.workspace(task), read_only=READ_ONLY, research_problem=task.prompt,
                                sandbox=self.sandbox, seconds=self.script_seconds)

    def first_observation(self, task: Task) -> Observation:
        """What the reset shows, told without starting the episode."""
        episode = WorkspaceEpisode(self.workspace(task), research_problem=task.prompt)
        return Observation(episode._render("reset", entries=episode._entries("")),
                           {"research_problem": task.prompt, "files": sorted(episode.files)})

    def gold_actions(self, task: Task) -> list[str]:
        """The oracle's actions: the improved script written over train.py, run, and the final answer."""
        return [action_text("Write File", {"file_name": "train.py", "content": task.gold}),
                action_text("Execute Script", {"script_name": "train.py"}),
                action_text(FINAL_ANSWER, {"final_answer": ORACLE_ANSWER})]

    # --- the Environment protocol ---

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task, first_observation=self.first_observation(task))

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext | None = None) -> Score:
        """The task's metric on `submission.csv` as the workspace holds it at the end; success iff it beats the
        measured baseline by more than 10 %."""
        task = episode.task
        spec = self.specs()[task.id]
        if spec.baseline is None:
            raise ConfigError(f"mlagentbench task {task.id}: its baseline was never measured (task.json baseline)")
        details: dict[str, Any] = {"metric": spec.metric, "baseline": spec.baseline}
        driver = stepping.driver_of(episode)
        if not driver.started:
            return Score(0.0, False, {**details, "error": "the workspace was never opened"})
        live = await driver.live()
        assert isinstance(live, WorkspaceEpisode)
        details.update(steps=driver.progress.steps, final_answer=live.answer)
        answers = self.data(task).answers
        try:
            predictions = read_submission(live.files.get(SUBMISSION), len(answers), spec.metric)
        except SubmissionError as exc:
            return Score(0.0, False, {**details, "error": str(exc)})
        value = metric_value(spec.metric, answers, predictions)
        ok = succeeded(value, spec.baseline, spec.higher_is_better)
        details.update(score=value, improvement=improvement(value, spec.baseline, spec.higher_is_better))
        return Score(1.0 if ok else 0.0, ok, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The gold actions as the agent named sends them (`act` calls for a tool agent)."""
        return stepping.oracle_replies(self.gold_actions(task), agent, answer=ORACLE_ANSWER)

    async def measure(self, task: Task, script: str = "train.py") -> float:
        """Run `script` on a fresh workspace in the sandbox and score the submission it writes: how a task's
        baseline (and the oracle's improvement) is measured."""
        episode = self.step_episode(task)
        await episode.reset()
        outcome = await episode.step(action_text("Execute Script", {"script_name": script}))
        assert isinstance(episode, WorkspaceEpisode)
        if "error" in outcome.info or "parse_error" in outcome.info:
            raise ConfigError(f"mlagentbench task {task.id}: {script} failed: {outcome.observation.text[:500]}")
        answers = self.data(task).answers
        spec = self.specs()[task.id]
        return metric_value(spec.metric, answers, read_submission(episode.files.get(SUBMISSION), len(answers),
                                                                  spec.metric))
