"""Run agenttorch (LLM archetypes, 6 groups × 2 replicates × 4 steps = 48 calls) on the test scenario with the
scripted archetypes of `agenttorch_script.py`, in its own process; SIGKILL itself right after the journal
recorded the N-th model call. Prints the run id and status.

usage: python agenttorch_crash.py JOURNAL [KILL_AFTER_MODEL_CALL_N]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from agenttorch_script import TASK, decide  # noqa: E402

from helpers import kill  # noqa: E402

from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402

OPTIONS = {"n_arch": 2, "concurrency": 3}


def agent(model):
    return build_recipe("agenttorch", model, **OPTIONS)


def main() -> None:
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    kill.run_to_the_end_or_killed(agent(ScriptedModel(decide, name="archetypes")), TASK, sys.argv[1], kill_after)


if __name__ == "__main__":
    main()
