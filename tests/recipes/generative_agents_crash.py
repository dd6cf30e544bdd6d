"""The `tiny-party` day of generative-agents with the tests' scripted town, in a process of its own that is
SIGKILLed after the N-th journaled model call (mid-day), for the resume test.

usage: python generative_agents_crash.py JOURNAL [KILL_AFTER_MODEL_CALL_N]   → prints the run id and status
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from helpers import kill  # noqa: E402

from agentzoo import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402

import generative_agents_script as town  # noqa: E402

OPTIONS = {"steps_per_hour": 4}


def agent(model=None):
    return build_recipe("generative-agents", model or ScriptedModel(town.play), **OPTIONS)


if __name__ == "__main__":
    kill.run_to_the_end_or_killed(agent(), "tiny-party", sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
