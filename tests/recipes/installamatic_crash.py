"""Run Installamatic on the ledger repository in its own process, SIGKILLed right after the journal has recorded its
N-th episode step (None: to the end); prints the run id and status.

usage: python installamatic_crash.py JOURNAL KILL_AFTER_ENV_STEPS|none
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.kill import run_to_the_end_or_killed  # noqa: E402

from agentzoo.envs.repo_install import RepoInstall  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes.installamatic import build  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from installamatic_script import ledger  # noqa: E402

if __name__ == "__main__":
    journal, kill_after = sys.argv[1], sys.argv[2]
    env = RepoInstall()
    task = next(t for t in env.tasks() if t.id == "ledger")
    agent = build(ScriptedModel(ledger), episode=env.episode(task))
    run_to_the_end_or_killed(agent, task.prompt, journal, None if kill_after == "none" else int(kill_after), kind="env")
