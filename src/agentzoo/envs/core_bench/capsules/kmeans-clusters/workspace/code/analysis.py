"""Cluster data/points.csv into three groups with k-means; write the sizes, the inertia and a scatter plot.

The starts are random (seed from the environment variable CAPSULE_SEED, 0 when unset).
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))  # where the README installs the vendored package
import lloyd  # noqa: E402

SEED = int(os.environ.get("CAPSULE_SEED", "0"))
K = 3
COLOURS = ["blue", "orange", "green"]  # by cluster size, smallest first

with open(os.path.join(ROOT, "data", "points.csv")) as f:
    points = [tuple(float(v) for v in line.split(",")) for line in list(f)[1:]]
inertia, labels, centers, iterations = lloyd.kmeans(points, K, seed=SEED)
sizes = [labels.count(c) for c in range(K)]
order = sorted(range(K), key=lambda c: sizes[c])
colour = {c: COLOURS[rank] for rank, c in enumerate(order)}
metrics = {"cluster_sizes": sorted(sizes), "inertia": round(inertia, 3),
           "centers": [[round(v, 3) for v in centers[c]] for c in order]}
os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
with open(os.path.join(ROOT, "results", "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)

dots = "".join(f'<circle cx="{50 + 30 * (x + 3):.1f}" cy="{330 - 30 * (y + 3):.1f}" r="3" fill="{colour[l]}"/>'
               for (x, y), l in zip(points, labels))
legend = "".join(f'<rect x="300" y="{30 + 18 * i}" width="10" height="10" fill="{COLOURS[i]}"/>'
                 f'<text x="315" y="{39 + 18 * i}" font-size="11">cluster of {sorted(sizes)[i]} points</text>'
                 for i in range(K))
svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="450" height="360">'
       '<text x="225" y="18" text-anchor="middle" font-size="14">k-means clusters (k = 3)</text>'
       + dots + legend + "</svg>\n")
with open(os.path.join(ROOT, "results", "fig_clusters.svg"), "w") as f:
    f.write(svg)
print(f"cluster sizes (sorted): {sorted(sizes)}")
print(f"inertia: {inertia:.3f}")
