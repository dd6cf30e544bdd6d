"""The metric of this task, and a check that submission.csv is complete.

Run it (`Execute Script` evaluate.py) after train.py to check the submission's format; the test targets are
held back, so the test score itself is known only after the final answer.
"""

import csv


def metric(truth, predictions):
    """Accuracy: the share of predictions equal to the true class (higher is better)."""
    return sum(int(float(p)) == int(float(t)) for t, p in zip(truth, predictions)) / len(truth)


def check_submission(submission="submission.csv", test="data/test.csv"):
    with open(test) as f:
        ids = [row["id"] for row in csv.DictReader(f)]
    with open(submission) as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["id", "target"]:
            return f"{submission}: the header must be id,target, not {','.join(reader.fieldnames or [])}"
        given = {row["id"] for row in reader}
    missing = [i for i in ids if i not in given]
    if missing:
        return f"{submission}: {len(missing)} of the {len(ids)} test ids have no prediction"
    return f"{submission}: one prediction for each of the {len(ids)} test ids"


if __name__ == "__main__":
    print(check_submission())
