"""Runs in the sandbox (standard library only): the published run of a capsule, then one run per seed.

The published run is code/reproduce.py as a reader would run it (seed 0); its data/ and results/ are kept in
_runs/0/. Then code/analysis.py runs once per seed of _seeds.txt, each run's results/ kept in _runs/<seed>/.
"""

import os
import shutil
import subprocess
import sys


def keep(seed):
    target = os.path.join("_runs", str(seed))
    for folder in ("data", "results"):
        shutil.copytree(folder, os.path.join(target, folder))


subprocess.run([sys.executable, "code/reproduce.py"], check=True)
keep(0)
with open("_seeds.txt") as f:
    seeds = [int(s) for s in f.read().split()]
for seed in seeds:
    subprocess.run([sys.executable, "code/analysis.py"], env=dict(os.environ, CAPSULE_SEED=str(seed)), check=True,
                   stdout=subprocess.DEVNULL)
    keep(seed)
print("recorded seeds", seeds)
