"""ProactiveBench's metrics over (prediction, judgement) pairs, as its `eval/calculate_agent_performance.py`
defines them (thunlp/ProactiveAgent).

A pair is one turn: the agent's prediction (a proposed task, or None for silence) and the judge's verdict.
For a proposal the verdict is whether the user accepts it (TP when accepted, FP when rejected); for silence
it is whether silence was right (TN when no help was needed, FN when help was). False-Alarm is the share of
proposals that were rejected, FP / (TP + FP), as in that file (not FP / (FP + TN)).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EPS = 1e-8  # calculate_agent_performance.py: calculate_scores(..., eps=1e-8), in every denominator


def confusion(pairs: Iterable[tuple[str | None, bool]]) -> dict[str, int]:
    counts = {"TP": 0, "FP": 0, "TN": 0, "FN": 0}
    for prediction, judged in pairs:
        if prediction is not None:
            counts["TP" if judged else "FP"] += 1
        else:
            counts["TN" if judged else "FN"] += 1
    return counts


def metrics(pairs: Iterable[tuple[str | None, bool]]) -> dict[str, Any]:
    """The counts and the rates (each rounded to 6 places, so that 0.5 reads 0.5 despite `EPS`)."""
    c = confusion(pairs)
    tp, fp, tn, fn = c["TP"], c["FP"], c["TN"], c["FN"]
    recall = tp / (tp + fn + EPS)
    precision = tp / (tp + fp + EPS)
    rates = {"Recall": recall, "Precision": precision, "Accuracy": (tp + tn) / (tp + tn + fp + fn + EPS),
             "False-Alarm": fp / (tp + fp + EPS), "F1": 2 * precision * recall / (precision + recall + EPS),
             "Accept-Rate": tp / (tp + fp + EPS)}
    return {**c, **{name: round(value, 6) for name, value in rates.items()}}
