"""PAE or OS-Genesis on the screens world with their tests' scripted models, in a process of its own that can be
SIGKILLed after the N-th journaled model call (in the middle of a stage that also steps the environment).

usage: python synth_screens_kill.py pae|os-genesis JOURNAL [KILL_AFTER_MODEL_CALL_N]   → prints the run id
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from helpers import kill  # noqa: E402

from agentzoo.envs.screens import Screens  # noqa: E402
from agentzoo.synth.pipelines import get_pipeline  # noqa: E402

OPTIONS = {"pae": {"limit": 3}, "os-genesis": {"limit": 2, "explore_steps": 3}}


def setup(name: str):
    """The pipeline `name` with its test's scripted model: (pipeline, model)."""
    if name == "pae":
        import test_pae as t
    else:
        import test_os_genesis as t
    model = t.model()
    return get_pipeline(name).build(model, Screens(), **OPTIONS[name]), model


def main() -> None:
    name, path = sys.argv[1], sys.argv[2]
    pipeline, _ = setup(name)
    kill_after = int(sys.argv[3]) if len(sys.argv) > 3 else None
    kill.run_to_the_end_or_killed(pipeline, name, path, kill_after)


if __name__ == "__main__":
    main()
