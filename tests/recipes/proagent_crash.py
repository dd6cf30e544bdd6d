"""ProAgent on one kitchen task with a scripted planner that sometimes names a skill it cannot do (so the run has
explainer calls too), in its own process; SIGKILL itself right after the journal recorded the N-th model call
(`helpers.kill`), or run to the end (the reference). Prints the run id and status.

usage: python proagent_crash.py TASK_ID JOURNAL [KILL_AFTER_MODEL_CALL_N]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from helpers import kill  # noqa: E402

from agentzoo.envs.kitchen import Kitchen  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes._oracle.gold import Gold, last_user  # noqa: E402
from agentzoo.recipes._oracle.proagent import proagent as oracle_player  # noqa: E402
from agentzoo.recipes.proagent import build  # noqa: E402

WRONG = 'Analysis: time to serve.\nIntention for Player 1: "pickup(onion)"\nPlan for Player 0: "deliver_soup()"'
"""A plan that fails its check unless Player 0 holds a soup."""


def player(env, task):
    """The oracle's planner, except that every first plan of a scene whose number is a multiple of 4 is
    `deliver_soup()` (the verificator refuses it, the explainer is asked, the replan is the oracle's)."""
    oracle = oracle_player(Gold.of(env, task))

    def play(request):
        user = last_user(request)
        scene = next((line for line in user.splitlines() if line.startswith("Scene ")), "")
        number = int(scene.split()[1].rstrip(":")) if scene else -1
        if scene and number % 4 == 0 and "plan again" not in user:
            return WRONG
        return oracle(request)

    return play


def agent(env, task, episode, model):
    return build(model, episode=episode)


def main() -> None:
    task_id, journal_path = sys.argv[1], sys.argv[2]
    kill_after = int(sys.argv[3]) if len(sys.argv) > 3 else None
    env = Kitchen()
    task = next(t for t in env.tasks() if t.id == task_id)
    model = ScriptedModel(player(env, task), name="play")  # not `local`: each call is committed as it returns
    kill.run_to_the_end_or_killed(agent(env, task, env.episode(task), model), task.prompt, journal_path, kill_after)


if __name__ == "__main__":
    main()
