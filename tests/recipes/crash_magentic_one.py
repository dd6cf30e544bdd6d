"""Run a Magentic-One recipe in its own process with the role-playing script; SIGKILL itself
right after the journal has recorded the N-th live model call; or resume the latest run.

usage: python crash_magentic_one.py RECIPE JOURNAL TASK_FILE run [KILL_AFTER_N_MODEL_CALLS]
       python crash_magentic_one.py RECIPE JOURNAL TASK_FILE resume
Prints one JSON line: status, answer, and the model calls and sandbox runs this process made.
"""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from magentic_one_script import play  # noqa: E402

from agentzoo import Journal, ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402


def main() -> None:
    recipe, journal_path, task_file, mode = sys.argv[1:5]
    kill_after = int(sys.argv[5]) if len(sys.argv) > 5 else None
    model = ScriptedModel(play, name="play")
    agent = build_recipe(recipe, model, sampling={"seed": 0})
    journal = Journal(journal_path)
    live_models = live_sandbox = 0

    def killer(entry, served):
        nonlocal live_models, live_sandbox
        live_sandbox += entry.kind == "sandbox" and not served
        if entry.kind == "model" and not served:
            live_models += 1
            if live_models == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    if mode == "run":
        result = asyncio.run(runner.run(agent, Path(task_file).read_text(), journal=journal, listeners=[killer]))
    else:
        result = asyncio.run(runner.resume(agent, "latest", journal=journal, listeners=[killer]))
    print(json.dumps({"status": result.status, "answer": result.answer, "live_model_calls": model.calls,
                      "live_sandbox_runs": live_sandbox}), flush=True)


if __name__ == "__main__":
    main()
