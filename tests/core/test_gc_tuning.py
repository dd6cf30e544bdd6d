"""The cyclic collector is tuned for many runs once a process runs `MANY_RUNS` at once (a rollout
engine that gathers thousands of `agentzoo.run`), and not for a few; each case in a fresh process,
since the tuning is for the process's life."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
SRC = Path(__file__).resolve().parents[2] / "src"

_RUNS = """
import asyncio, gc, json, sys
import agentzoo
from agentzoo import Journal
from agentzoo.runtime.gc_tuning import MANY_RUNS, MIDDLE_THRESHOLD, YOUNG_THRESHOLD
from adder import adder
before = gc.get_threshold()
async def main(n):
    with Journal(sys.argv[2]) as journal:
        results = await asyncio.gather(*(agentzoo.run(adder(2), f"t{i}", journal=journal) for i in range(n)))
    assert all(r.ok for r in results)
asyncio.run(main(int(sys.argv[1])))
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "many": MANY_RUNS, "young": YOUNG_THRESHOLD, "middle": MIDDLE_THRESHOLD}))
"""


@pytest.mark.parametrize("runs, tuned", [(10, False), (150, True)])
def test_the_collector_is_tuned_once_many_runs_run_at_once(tmp_path, runs, tuned):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), str(HELPERS), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", _RUNS, str(runs), str(tmp_path / "journal.db")], env=env,
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    assert (runs >= got["many"]) is tuned
    if tuned:
        assert got["after"][:2] == [got["young"], got["middle"]] and got["after"][2] == got["before"][2]
        assert got["young"] > got["before"][0] and got["middle"] > got["before"][1] and got["frozen"] > 0
    else:
        assert got["after"] == got["before"] and got["frozen"] == 0
