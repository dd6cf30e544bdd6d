"""Installamatic's task, offline (`repo-install`): write the install script after which a repository's tests pass.

Installamatic (Milliken, Kang, Yoo 2024, "Beyond pip install: Evaluating LLM Agents for the Automated
Installation of Python Projects", arXiv:2412.06294) gives an agent a Python repository; the agent writes a
Dockerfile that installs it and runs its test suite, and an install counts only when that verification passes.
Here the repositories are small ones written for this project (`repos/`, see repos/SOURCE.md), each with its own
unittest suite and an install procedure written down in it (a generated module, a config example to copy, an
editable install of a src-layout package, a vendored dependency to install first, a build step that needs an
environment variable, an outdated README beside a current docs/INSTALL.md). The Dockerfile's analogue is a shell
script run with `bash -e` in a fresh copy of the repository inside the sandbox (`run.attempt`: no network, no
Docker, a read-only system); the verification command is the repository's test run.

The episode (`episode.InstallEpisode`) is a step episode: read the repository (`ls`, `cat`, `exists`), `try` a
script (install, then the tests, both logs shown), `submit` one. Every action is a journaled `env` effect, so a
run replays with no sandbox and resumes after a crash without repeating an attempt. Any agent that calls tools
acts here through `act` and `observe` (`stepping.episode_for`).

Scoring is the paper's rule: the submitted script (else the last one tried) is run once more on a fresh copy, and
the sample succeeds only when the script exits 0 and then the verification command exits 0; reward 1 on success,
else 0. pass@10 (the paper's "installed at least once in 10 runs") is the harness's pass@k over 10 seeds.
The oracle submits the task's gold script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .. import stepping
from ..base import Episode, Score, ScoringContext, Task
from ..step import ActionSpace, EpisodeRules, Observation, StepEpisode
from .episode import InstallEpisode, action_space, action_text
from .run import Attempt, attempt
from .tasks import REPOS, RepoTask, load_all

__all__ = ["Attempt", "InstallEpisode", "RepoInstall", "action_text", "attempt"]

MAX_STEPS = 200
"""The episode's own backstop on actions (the recipe counts its own, smaller budgets)."""
NO_LIMIT = 1_000_000  # repeated or unreadable actions do not end an episode (a script may be tried twice)
ORACLE_ANSWER = "I submitted the install script."
PROMPT = ("Write an install script for the repository `{name}`: after it runs in the repository's top folder, "
          "its test run `{verify}` must pass. Read the repository's documentation to find out how it is installed.")


class RepoInstall:
    """The environment. `tasks_file`: a folder of repository folders (default: the shipped ones).
    `tier`, `allow_unsafe`, `memory_mb`: the sandbox the attempts run in."""

    name = "repo-install"
    answer_kind = "tool-calls"

    def __init__(self, tasks_file: str | Path | None = None, *, tier: str = "auto", allow_unsafe: bool = False,
                 memory_mb: int = 1024, max_steps: int = MAX_STEPS) -> None:
        self.root = Path(tasks_file) if tasks_file else REPOS
        if not self.root.is_dir():
            raise ConfigError(f"repo-install tasks {self.root}: expected a folder of repository folders")
        self.sandbox = {"tier": tier, "allow_unsafe": allow_unsafe, "memory_mb": memory_mb}
        self.rules = EpisodeRules(max_steps=max_steps, max_parse_failures=NO_LIMIT, max_repeated_actions=NO_LIMIT)
        self._repos: dict[str, RepoTask] | None = None

    def repos(self) -> dict[str, RepoTask]:
        if self._repos is None:
            self._repos = load_all(self.root)
        return self._repos

    def tasks(self) -> list[Task]:
        return [Task(self.name, r.name, PROMPT.format(name=r.name, verify=r.verify), r.gold,
                     {"verify": r.verify, "docs": list(r.docs), "kind": r.kind}) for r in self.repos().values()]

    def repository(self, task: Task) -> dict[str, str]:
        """The task's repository, path -> text (a copy)."""
        return dict(self.repos()[task.id].files)

    # --- the step protocol ---

    def action_space(self, task: Task) -> ActionSpace:
        return action_space()

    def step_episode(self, task: Task) -> StepEpisode:
        return InstallEpisode(self.repository(task), task.data["verify"], sandbox=self.sandbox)

    def first_observation(self, task: Task) -> Observation:
        episode = InstallEpisode(self.repository(task), task.data["verify"])
        return Observation(episode._render("reset", entries=episode.entries("")),
                           {"files": sorted(episode.files), "verify": episode.verify})

    def gold_actions(self, task: Task) -> list[str]:
        return [action_text("submit", task.gold)]

    # --- the Environment protocol ---

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task, first_observation=self.first_observation(task))

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext | None = None) -> Score:
        """Success iff the submitted script (else the last tried) exits 0 on a fresh copy and the verification
        command then exits 0."""
        task = episode.task
        driver = stepping.driver_of(episode)
        if not driver.started:
            return Score(0.0, False, {"error": "the repository was never opened"})
        live = await driver.live()
        assert isinstance(live, InstallEpisode)
        details: dict[str, Any] = {"verify": task.data["verify"], "submitted": live.submitted, "tries": live.tries}
        if not live.script:
            return Score(0.0, False, {**details, "error": "no install script was tried or submitted"})
        sandbox = dict(self.sandbox)
        if scoring is not None:
            sandbox.update(tier=scoring.tier, allow_unsafe=scoring.allow_unsafe)
        result = await attempt(self.repository(task), live.script, task.data["verify"], **sandbox)
        details.update(result.to_json(), script=live.script)
        if not result.success:
            details["log"] = (result.verify_log if result.install_exit == 0 else result.install_log)[-1_500:]
        return Score(1.0 if result.success else 0.0, result.success, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        return stepping.oracle_replies(self.gold_actions(task), agent, answer=ORACLE_ANSWER)
