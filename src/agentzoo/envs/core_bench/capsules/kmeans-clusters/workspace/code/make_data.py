"""Make data/points.csv: 250 points in the plane from three Gaussian blobs of 50, 80 and 120 points."""

import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = random.Random(7)
blobs = [((0.0, 0.0), 50), ((6.0, 1.0), 80), ((2.0, 7.0), 120)]
points = [(rng.gauss(cx, 1.0), rng.gauss(cy, 1.0)) for (cx, cy), n in blobs for _ in range(n)]
os.makedirs(os.path.join(ROOT, "data"), exist_ok=True)
with open(os.path.join(ROOT, "data", "points.csv"), "w") as f:
    f.write("x,y\n")
    for x, y in points:
        f.write(f"{x:.4f},{y:.4f}\n")
print(f"wrote data/points.csv ({len(points)} points)")
