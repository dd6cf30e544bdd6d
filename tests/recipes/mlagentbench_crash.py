"""Run the mlagentbench research agent on the iris workspace in its own process, SIGKILLed right after the journal
has recorded its N-th workspace step (None: to the end); prints the run id and status.

usage: python mlagentbench_crash.py JOURNAL KILL_AFTER_ENV_STEPS|none STEPS
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.kill import run_to_the_end_or_killed  # noqa: E402

from agentzoo.envs.mlagentbench import MLAgentBench  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes.mlagentbench import build  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlagentbench_script import long_run  # noqa: E402

if __name__ == "__main__":
    journal, kill_after, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    env = MLAgentBench()
    task = next(t for t in env.tasks() if t.id == "iris")
    agent = build(ScriptedModel(long_run(task, steps)), episode=env.episode(task), agent_max_steps=steps,
                  max_steps=steps)
    run_to_the_end_or_killed(agent, task.prompt, journal, None if kill_after == "none" else int(kill_after), kind="env")
