"""Run a tree search on a maze in its own process; SIGKILL itself right after the journal recorded the N-th model
call (a listener runs after the entry is committed).

usage: python search_crash.py JOURNAL [KILL_AFTER_MODEL_CALL_N]   → prints the run id
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from search_models import models  # noqa: E402

from helpers import kill  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.envs.gridworld import GridWorld  # noqa: E402
from agentzoo.envs.stepping import driver_of  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.search import UCT, Limits, TextPolicy, TreeSearch, ValueAgent  # noqa: E402
from agentzoo.search.agent import SearchAgent  # noqa: E402

LIMITS = Limits(max_iterations=12, max_expansions=3, max_depth=10)


def agent(episode, policy_model, value_model) -> SearchAgent:
    search = TreeSearch(TextPolicy(policy_model), ValueAgent(value_model), UCT.swe_search(), limits=LIMITS)
    return SearchAgent(search, driver_of(episode) if episode is not None else None)


def maze():
    env = GridWorld()
    task = env.tasks()[4]
    return env, task


def main() -> None:
    journal_path = sys.argv[1]
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    killer = kill.killer(kill_after, "model")

    env, task = maze()
    policy, value = models()
    result = asyncio.run(runner.run(agent(env.episode(task), policy, value), task.prompt,
                                    journal=Journal(journal_path), listeners=[killer]))
    print(result.run_id, result.status, flush=True)


if __name__ == "__main__":
    main()
