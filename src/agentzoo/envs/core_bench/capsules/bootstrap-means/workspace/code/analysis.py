"""Compare treatment and control: difference of means, Welch's t, and a 95 % percentile bootstrap interval.

The bootstrap draws resamples at random, so its bounds move a little from run to run; the seed is read from
the environment variable CAPSULE_SEED (0 when unset).
"""

import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))  # where the README installs the vendored package
import bootci  # noqa: E402

SEED = int(os.environ.get("CAPSULE_SEED", "0"))
RESAMPLES = 2000

groups = {"control": [], "treatment": []}
with open(os.path.join(ROOT, "data", "outcomes.csv")) as f:
    next(f)
    for line in f:
        group, value = line.strip().split(",")
        groups[group].append(float(value))
control, treatment = groups["control"], groups["treatment"]
diff = statistics.fmean(treatment) - statistics.fmean(control)
t = bootci.welch_t(control, treatment)
low, high = bootci.bootstrap_diff(control, treatment, RESAMPLES, 0.95, SEED)
sds = {g: statistics.stdev(v) for g, v in groups.items()}
metrics = {"mean_difference": round(diff, 4), "welch_t": round(t, 4), "ci_low": round(low, 4),
           "ci_high": round(high, 4), "larger_sd_group": max(sds, key=sds.get),
           "sd_control": round(sds["control"], 4), "sd_treatment": round(sds["treatment"], 4)}
os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
with open(os.path.join(ROOT, "results", "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
summary = (f"Treatment vs control (n = {len(treatment)} + {len(control)})\n"
           f"difference of means (treatment - control): {metrics['mean_difference']:.4f}\n"
           f"Welch t: {metrics['welch_t']:.4f}\n"
           f"95% bootstrap interval ({RESAMPLES} resamples): [{metrics['ci_low']:.4f}, {metrics['ci_high']:.4f}]\n"
           f"standard deviation: control {metrics['sd_control']:.4f}, treatment {metrics['sd_treatment']:.4f}\n")
with open(os.path.join(ROOT, "results", "summary.txt"), "w") as f:
    f.write(summary)
print(summary, end="")
