"""Estimate pi at each sample size of data/design.csv; write the estimates and a bar chart of the errors.

Each size draws its own points, so the estimates change from run to run; the seed is read from the
environment variable CAPSULE_SEED (0 when unset).
"""

import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))  # where the README installs the vendored package
import mcpi  # noqa: E402

SEED = int(os.environ.get("CAPSULE_SEED", "0"))

with open(os.path.join(ROOT, "data", "design.csv")) as f:
    sizes = [int(line.split(",")[1]) for line in list(f)[1:]]
rng = mcpi.generator(SEED)
rows = []
for n in sizes:
    value, se = mcpi.estimate(n, rng)
    rows.append({"samples": n, "estimate": round(value, 4), "standard_error": round(se, 4),
                 "abs_error": round(abs(value - math.pi), 4)})
metrics = {"sizes": sizes, "estimate_largest": rows[-1]["estimate"], "se_largest": rows[-1]["standard_error"],
           "runs": rows}
os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
with open(os.path.join(ROOT, "results", "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
with open(os.path.join(ROOT, "results", "estimates.csv"), "w") as f:
    f.write("samples,estimate,standard_error,abs_error\n")
    for r in rows:
        f.write(f"{r['samples']},{r['estimate']:.4f},{r['standard_error']:.4f},{r['abs_error']:.4f}\n")

# the bar chart of the absolute errors (SVG, one bar per sample size)
top = max(r["abs_error"] for r in rows) or 1.0
bars = []
for i, r in enumerate(rows):
    h = 200 * r["abs_error"] / top
    bars.append(f'<rect x="{60 + 80 * i}" y="{240 - h:.1f}" width="50" height="{h:.1f}" fill="steelblue"/>'
                f'<text x="{85 + 80 * i}" y="258" text-anchor="middle" font-size="11">{r["samples"]}</text>')
svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
       '<text x="200" y="20" text-anchor="middle" font-size="14">Error of the estimate of pi</text>'
       '<line x1="50" y1="240" x2="380" y2="240" stroke="black"/><line x1="50" y1="30" x2="50" y2="240" stroke="black"/>'
       '<text x="15" y="135" transform="rotate(-90 15 135)" text-anchor="middle" font-size="12">absolute error</text>'
       '<text x="215" y="285" text-anchor="middle" font-size="12">number of points</text>' + "".join(bars) + "</svg>\n")
with open(os.path.join(ROOT, "results", "fig_error.svg"), "w") as f:
    f.write(svg)
for r in rows:
    print(f"n={r['samples']:>6}  pi ~ {r['estimate']:.4f}  (se {r['standard_error']:.4f}, error {r['abs_error']:.4f})")
