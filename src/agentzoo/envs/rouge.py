"""ROUGE-L: how much of a reference reply a candidate reproduces in order, as the F-measure of their longest
common subsequence of tokens.

Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries" (ACL workshop), §3.1: with X the reference
(m tokens), Y the candidate (n tokens) and LCS their longest common subsequence, R = LCS/m, P = LCS/n and
F = (1 + β²)RP / (R + β²P). We report β = 1 (F1), as google-research's `rouge-score` package does.
Tokens are as that package's default tokenizer makes them: lowercase, every run of characters other than
a-z and 0-9 a separator, no stemming. No dependency: the whole metric is the dynamic program below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATOR = re.compile(r"[^a-z0-9]+")


def tokens(text: str) -> list[str]:
    return [t for t in _SEPARATOR.split(text.lower()) if t]


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, in O(len(a)·len(b)) time and O(len(b)) memory."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class RougeL:
    precision: float
    recall: float
    f1: float


def rouge_l(candidate: str, reference: str) -> RougeL:
    """ROUGE-L of `candidate` against one `reference` (0 for an empty side)."""
    cand, ref = tokens(candidate), tokens(reference)
    common = lcs_length(ref, cand)
    if not common:
        return RougeL(0.0, 0.0, 0.0)
    precision, recall = common / len(cand), common / len(ref)
    return RougeL(precision, recall, 2 * precision * recall / (precision + recall))
