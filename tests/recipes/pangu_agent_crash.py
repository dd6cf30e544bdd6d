"""A crash script for the pangu-agent tests: think -> plan -> act walking the first maze with the scripted roles of
`pangu_agent_script.py`, run to its end or killed by SIGKILL after the n-th model call
(`python pangu_agent_crash.py JOURNAL [KILL_AFTER]`)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from pangu_agent_script import play  # noqa: E402

from helpers import kill  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.envs.gridworld import GridWorld  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes.pangu_agent import build  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402

ENV = GridWorld()
TASK = ENV.tasks()[0]           # maze-3x3-1: 6 moves
CALLS = 3 * len(TASK.gold)


def agent(episode, model):
    return build(model, episode.tools, episode=episode)


if __name__ == "__main__":
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    episode = ENV.episode(TASK)
    result = asyncio.run(runner.run(agent(episode, ScriptedModel(play)), episode.prompt, journal=Journal(sys.argv[1]),
                                    listeners=[kill.killer(kill_after, "model")]))
    print(result.run_id, result.status, flush=True)
