"""Make data/design.csv: the sample sizes of the experiment (a doubling-of-four design from 1,000 points)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sizes = [1000 * 4 ** k for k in range(4)]
os.makedirs(os.path.join(ROOT, "data"), exist_ok=True)
with open(os.path.join(ROOT, "data", "design.csv"), "w") as f:
    f.write("run,samples\n")
    for run, n in enumerate(sizes, 1):
        f.write(f"{run},{n}\n")
print("wrote data/design.csv:", sizes)
