"""Make data/survey.csv: 120 respondents, three predictors (hours, distance, age) and an outcome score."""

import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = random.Random(5)
os.makedirs(os.path.join(ROOT, "data"), exist_ok=True)
with open(os.path.join(ROOT, "data", "survey.csv"), "w") as f:
    f.write("hours,distance,age,score\n")
    for _ in range(120):
        hours, distance, age = rng.uniform(0, 10), rng.uniform(0, 5), rng.uniform(20, 60)
        score = 2.0 + 1.5 * hours - 0.8 * distance + 0.012 * age + rng.gauss(0, 1.5)
        f.write(f"{hours:.3f},{distance:.3f},{age:.1f},{score:.3f}\n")
print("wrote data/survey.csv (120 rows)")
