"""Simulate 40 epidemics with the parameters of data/params.json; report the attack rate and the peak.

The epidemics are random (seed from the environment variable CAPSULE_SEED, 0 when unset).
"""

import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))  # where the README installs the vendored package
import episim  # noqa: E402

SEED = int(os.environ.get("CAPSULE_SEED", "0"))
REPLICATES = 40

with open(os.path.join(ROOT, "data", "params.json")) as f:
    params = json.load(f)
curves, sizes = episim.replicate(params, REPLICATES, SEED)
attack = 100 * statistics.fmean(sizes) / params["population"]
peaks = [max(range(len(c)), key=c.__getitem__) for c in curves]
mean_curve = [statistics.fmean(day) for day in zip(*curves)]
peak_day = max(range(len(mean_curve)), key=mean_curve.__getitem__)
metrics = {"attack_rate_percent": round(attack, 2), "mean_peak_day": round(statistics.fmean(peaks), 2),
           "replicates": REPLICATES}
os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
with open(os.path.join(ROOT, "results", "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)

top = max(mean_curve)
line = " ".join(f"{50 + 5 * d},{250 - 200 * v / top:.1f}" for d, v in enumerate(mean_curve))
svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
       '<text x="200" y="20" text-anchor="middle" font-size="14">Mean number infected</text>'
       f'<polyline points="{line}" fill="none" stroke="firebrick" stroke-width="2"/>'
       f'<line x1="{50 + 5 * peak_day}" y1="40" x2="{50 + 5 * peak_day}" y2="250" stroke="gray" stroke-dasharray="4"/>'
       f'<text x="{55 + 5 * peak_day}" y="45" font-size="11">peak: day {peak_day}</text>'
       '<text x="200" y="285" text-anchor="middle" font-size="12">day</text></svg>\n')
with open(os.path.join(ROOT, "results", "fig_curve.svg"), "w") as f:
    f.write(svg)
print(f"{REPLICATES} epidemics: attack rate {metrics['attack_rate_percent']:.2f}%, "
      f"mean peak day {metrics['mean_peak_day']:.2f}")
