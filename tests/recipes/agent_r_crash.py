"""Run agent-r (preset `small`) on one TextWorld game with the hashed actor of `agent_r_script.py`, in its own
process; SIGKILL itself right after the journal recorded the N-th model call (a listener runs after the entry is
committed). Prints the run id.

usage: python agent_r_crash.py JOURNAL [KILL_AFTER_MODEL_CALL_N]
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from agent_r_script import play  # noqa: E402

from helpers import kill  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.envs.textworld_env import TextWorld  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402

GAME = "simple/dense-detailed/1"
OPTIONS = {"iterations": 4, "children": 2, "max_depth": 6}  # the `small` preset


def game():
    env = TextWorld()
    return env, next(t for t in env.tasks() if t.id == GAME)


def agent(episode, model):
    return build_recipe("agent-r", model, episode=episode, **OPTIONS)


def main() -> None:
    journal_path = sys.argv[1]
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    killer = kill.killer(kill_after, "model")

    env, task = game()
    result = asyncio.run(runner.run(agent(env.episode(task), ScriptedModel(play, name="actor")), task.prompt,
                                    journal=Journal(journal_path), listeners=[killer]))
    print(result.run_id, result.status, flush=True)


if __name__ == "__main__":
    main()
