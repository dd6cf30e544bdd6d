"""Baseline: predict the mean disease progression of the training rows, whatever the features say.

It holds out the last fifth of data/train.csv to print a validation score, then fits on every training row
and writes its predictions for data/test.csv to submission.csv. Plain Python: the workspace has no numpy.
"""

import csv

from evaluate import metric


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def fit(ys):
    return sum(ys) / len(ys)


def predict(mean, rows):
    return [mean for _ in rows]


if __name__ == "__main__":
    train = load("data/train.csv")
    test = load("data/test.csv")
    cut = len(train) * 4 // 5
    ys = [float(row["target"]) for row in train]

    model = fit(ys[:cut])
    print(f"Validation mean absolute error: {metric(ys[cut:], predict(model, train[cut:])):.4f}")

    model = fit(ys)
    with open("submission.csv", "w") as f:
        f.write("id,target\n")
        for row, value in zip(test, predict(model, test)):
            f.write(f"{row['id']},{value}\n")
    print(f"Wrote submission.csv ({len(test)} predictions)")
