"""Run a baseline recipe in its own process and SIGKILL it right after the journal has recorded its
N-th model call (a listener runs after the entry is committed), in the middle of a parallel stage.

usage: python crash_baselines.py JOURNAL RECIPE TASK_FILE KILL_AFTER_MODEL_CALLS [OPTIONS_JSON]

The model is `slow_play`: the role-playing script of baselines_script.py, answering after a short
sleep so that the branches of a parallel stage are all in flight at once when the kill comes.
"""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from baselines_script import play  # noqa: E402

from agentzoo import Journal, ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402

SEED = 0


async def slow_play(request):
    await asyncio.sleep(0.05)
    return play(request)


def main() -> None:
    journal_path, recipe, task_file, kill_after = sys.argv[1:5]
    options = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    recorded = 0

    def killer(entry, served):
        nonlocal recorded
        if entry.kind == "model" and not served:
            recorded += 1
            if recorded == int(kill_after):
                os.kill(os.getpid(), signal.SIGKILL)

    agent = build_recipe(recipe, ScriptedModel(slow_play), sampling={"seed": SEED}, **options)
    result = asyncio.run(runner.run(agent, Path(task_file).read_text(), journal=Journal(journal_path),
                                    listeners=[killer]))
    print(result.run_id, result.status, flush=True)


if __name__ == "__main__":
    main()
