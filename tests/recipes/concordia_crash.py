"""The concordia recipe on `locked-door` with the scripted world (concordia_script.py), in a process of its own,
killed by SIGKILL after the n-th model call when n is given.

usage: python concordia_crash.py JOURNAL [KILL_AFTER_MODEL_CALL_N]   → prints the run id and status
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from concordia_script import world  # noqa: E402

from helpers.kill import run_to_the_end_or_killed  # noqa: E402

from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402

if __name__ == "__main__":
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    run_to_the_end_or_killed(build_recipe("concordia", ScriptedModel(world)), "locked-door", sys.argv[1], kill_after)
