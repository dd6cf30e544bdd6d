"""Make data/params.json: the epidemic's parameters (R0 = beta / gamma = 2.5 in a town of 300)."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
params = {"population": 300, "initial": 5, "beta": 0.5, "gamma": 0.2, "days": 60}
os.makedirs(os.path.join(ROOT, "data"), exist_ok=True)
with open(os.path.join(ROOT, "data", "params.json"), "w") as f:
    json.dump(params, f, indent=2)
print("wrote data/params.json:", params)
