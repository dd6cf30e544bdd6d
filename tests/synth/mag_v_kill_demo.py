"""MAG-V on tau-retail with the scripted roles of test_mag_v.py, in its own process, killed (SIGKILL) after
the N-th model call when N is given.

usage: python mag_v_kill_demo.py JOURNAL [KILL_AFTER_MODEL_CALL_N]   → prints the run id and status
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from test_mag_v import magv, model  # noqa: E402

from helpers import kill  # noqa: E402

from agentzoo.envs.tau_env import TauRetail  # noqa: E402


def pipeline(m):
    return magv.build(m, TauRetail(), limit=2, questions=1, alternates=2, concurrency=1)


def main() -> None:
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    kill.run_to_the_end_or_killed(pipeline(model()), "mag-v", sys.argv[1], kill_after)


if __name__ == "__main__":
    main()
