"""Regress the score on hours, distance and age; test the age coefficient by permutation.

The permutation test shuffles at random (seed from the environment variable CAPSULE_SEED, 0 when unset), so
its p-value moves a little between runs; the fit itself does not.
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))  # where the README installs the vendored package
import tinyols  # noqa: E402

SEED = int(os.environ.get("CAPSULE_SEED", "0"))
PERMUTATIONS = 400
NAMES = ["hours", "distance", "age"]

with open(os.path.join(ROOT, "data", "survey.csv")) as f:
    rows = [[float(v) for v in line.split(",")] for line in list(f)[1:]]
columns = [[r[i] for r in rows] for i in range(3)]
y = [r[3] for r in rows]
coef = tinyols.fit(columns, y)
r2 = tinyols.r_squared(columns, y, coef)
p_age = tinyols.permutation_p(columns, y, 2, PERMUTATIONS, SEED)
smallest = min(range(3), key=lambda i: abs(coef[i + 1]))
metrics = {"intercept": round(coef[0], 4), **{f"coef_{n}": round(c, 4) for n, c in zip(NAMES, coef[1:])},
           "r2_percent": round(100 * r2, 2), "p_age": round(p_age, 4), "smallest_effect": NAMES[smallest]}
os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
with open(os.path.join(ROOT, "results", "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
table = "term,estimate\n" + f"intercept,{metrics['intercept']:.4f}\n" + "".join(
    f"{n},{metrics['coef_' + n]:.4f}\n" for n in NAMES)
with open(os.path.join(ROOT, "results", "coefficients.csv"), "w") as f:
    f.write(table)
print(table, end="")
print(f"R^2 = {metrics['r2_percent']:.2f}%")
print(f"permutation p-value of age ({PERMUTATIONS} permutations): {metrics['p_age']:.4f}")
