"""Baseline: a nearest-centroid classifier on every feature of the tumour, as the data gives them.

It holds out the last fifth of data/train.csv to print a validation score, then fits on every training row
and writes its predictions for data/test.csv to submission.csv. Plain Python: the workspace has no numpy.
"""

import csv

from evaluate import metric

FEATURES = None  # every column but the target


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def vectors(rows):
    names = FEATURES or [k for k in rows[0] if k not in ("id", "target")]
    return [[float(row[name]) for name in names] for row in rows]


def fit(xs, ys):
    """The mean feature vector of each class."""
    by_class = {}
    for x, y in zip(xs, ys):
        by_class.setdefault(y, []).append(x)
    return {y: [sum(column) / len(column) for column in zip(*members)] for y, members in by_class.items()}


def predict(centroids, xs):
    def distance(a, b):
        return sum((u - v) ** 2 for u, v in zip(a, b))

    return [min(sorted(centroids), key=lambda y: distance(x, centroids[y])) for x in xs]


if __name__ == "__main__":
    train = load("data/train.csv")
    test = load("data/test.csv")
    cut = len(train) * 4 // 5
    xs, ys = vectors(train), [row["target"] for row in train]

    model = fit(xs[:cut], ys[:cut])
    print(f"Validation accuracy: {metric(ys[cut:], predict(model, xs[cut:])):.4f}")

    model = fit(xs, ys)
    with open("submission.csv", "w") as f:
        f.write("id,target\n")
        for row, label in zip(test, predict(model, vectors(test))):
            f.write(f"{row['id']},{label}\n")
    print(f"Wrote submission.csv ({len(test)} predictions)")
