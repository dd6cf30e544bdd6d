"""Run a recipe (DyLAN, or MALLM) with a scripted model in its own process, and SIGKILL that
process right after the journal has recorded the N-th model call; the crash tests then resume
the run and count the calls the resumption makes.

usage: python crash_dylan.py JOURNAL RECIPE SCRIPT TASK_FILE KILL_AFTER_MODEL_CALLS OPTIONS_JSON
(SCRIPT is `path/file.py:function`; KILL_AFTER 0 runs to the end.)
"""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from agentzoo import Journal, ScriptedModel
from agentzoo._loading import load_callable
from agentzoo.recipes import build_recipe
from agentzoo.runtime import runner

ROLES = {"mathematician": "Mathematician", "economist": "Economist", "lawyer": "Lawyer", "historian": "Historian"}
# Per role, the number it answers in rounds 1 and 2; everyone answers 7 in round 3. No round
# agrees before the third, so a run makes 4 + 4 calls, one ranker call, then 2 calls.
ANSWERS = {"Mathematician": (1, 7), "Economist": (2, 7), "Lawyer": (3, 8), "Historian": (4, 9)}


async def disagreeing(request) -> str:
    """DyLAN agents that agree only in round 3 (concurrent calls overlap: each sleeps a little)."""
    await asyncio.sleep(0.05)
    prompt = request.messages[-1]["content"]
    if "Choose the best" in prompt:
        return "[1, 2]"
    role = next(name for key, name in ROLES.items() if key in request.messages[0]["content"].lower())
    shown = prompt.count("=== Agent ")
    rated = prompt.count("[[") > 1  # the answers shown carry ratings (the instruction has one example)
    rnd = 0 if not shown else (2 if rated else 1)
    value = 7 if rnd == 2 else ANSWERS[role][rnd]
    return f"Working it out: #### {value}" + (f"\n[[{', '.join(['3'] * shown)}]]" if shown else "")


def main() -> None:
    journal_path, recipe, script, task_file, kill_after, options = sys.argv[1:7]
    kill_after = int(kill_after)
    model = ScriptedModel(load_callable(script, "model script"))
    seen = 0

    def killer(entry, served):
        nonlocal seen
        if entry.kind == "model" and entry.status == "ok":
            seen += 1
            if seen == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    agent = build_recipe(recipe, model, **json.loads(options))
    result = asyncio.run(runner.run(agent, Path(task_file).read_text(), journal=Journal(journal_path),
                                    listeners=[killer]))
    print(result.run_id, result.status, json.dumps(result.answer), flush=True)


if __name__ == "__main__":
    main()
