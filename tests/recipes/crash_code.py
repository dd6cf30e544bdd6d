"""Run a code recipe (agentcoder, codecor) with its scripted role-player in a process of its own,
for the crash tests: optionally SIGKILL itself right after the journal has recorded the N-th model
call (a listener runs after the entry is committed).

usage: python crash_code.py RECIPE JOURNAL TASK_FILE [KILL_AFTER_N_MODEL_CALLS]

Prints one JSON line (when not killed): run_id, status, answer, and `calls`, the model calls made.
"""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo._loading import load_callable
from agentzoo.recipes import build_recipe

HERE = Path(__file__).parent


def agent(recipe: str):
    model = ScriptedModel(load_callable(f"{HERE / (recipe + '_script.py')}:play", "model script"))
    return build_recipe(recipe, model), model


def main() -> None:
    recipe, journal_path = sys.argv[1:3]
    built, model = agent(recipe)
    kill_after = int(sys.argv[4]) if len(sys.argv) > 4 else None
    seen = 0

    def killer(entry, served):
        nonlocal seen
        if entry.kind == "model" and not served:
            seen += 1
            if seen == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    task = Path(sys.argv[3]).read_text()
    result = asyncio.run(agentzoo.run(built, task, journal=Journal(journal_path), listeners=[killer]))
    print(json.dumps({"run_id": result.run_id, "status": result.status, "answer": result.answer,
                      "calls": model.calls}), flush=True)


if __name__ == "__main__":
    main()
