"""Run Agent Laboratory on the iris workspace in its own process, SIGKILLed right after the journal has recorded
its N-th model call (None: to the end); prints the run id and status.

usage: python agent_laboratory_crash.py JOURNAL KILL_AFTER_MODEL_CALLS|none
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.kill import run_to_the_end_or_killed

from agentzoo.envs.mlagentbench import MLAgentBench
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes.agent_laboratory import build

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_laboratory_script import Lab

OPTIONS = {"num_papers_lit_review": 2, "mlesolver_max_steps": 2, "papersolver_max_steps": 1}

if __name__ == "__main__":
    journal, kill_after = sys.argv[1], sys.argv[2]
    env = MLAgentBench()
    task = next(t for t in env.tasks() if t.id == "iris")
    agent = build(ScriptedModel(Lab(task.gold)), episode=env.episode(task), **OPTIONS)
    run_to_the_end_or_killed(agent, task.prompt, journal, None if kill_after == "none" else int(kill_after))
