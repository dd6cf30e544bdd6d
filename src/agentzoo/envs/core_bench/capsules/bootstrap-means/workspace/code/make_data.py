"""Make data/outcomes.csv: the outcome of 40 control and 40 treated units (the study's simulated trial)."""

import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = random.Random(11)
rows = [("control", rng.gauss(10.0, 2.0)) for _ in range(40)] + [("treatment", rng.gauss(11.2, 2.5)) for _ in range(40)]
os.makedirs(os.path.join(ROOT, "data"), exist_ok=True)
with open(os.path.join(ROOT, "data", "outcomes.csv"), "w") as f:
    f.write("group,outcome\n")
    for group, value in rows:
        f.write(f"{group},{value:.3f}\n")
print(f"wrote data/outcomes.csv ({len(rows)} rows)")
