"""Percentile bootstrap for the difference of two means, and Welch's t statistic."""

import math
import random
import statistics

__version__ = "0.3.1"


def welch_t(a, b):
    """Welch's t statistic of mean(b) - mean(a)."""
    va, vb = statistics.variance(a), statistics.variance(b)
    return (statistics.fmean(b) - statistics.fmean(a)) / math.sqrt(va / len(a) + vb / len(b))


def bootstrap_diff(a, b, resamples, level, seed):
    """The percentile interval of mean(b) - mean(a) over `resamples` resamples of each group."""
    rng = random.Random(seed)
    diffs = []
    for _ in range(resamples):
        ra = [a[rng.randrange(len(a))] for _ in a]
        rb = [b[rng.randrange(len(b))] for _ in b]
        diffs.append(statistics.fmean(rb) - statistics.fmean(ra))
    diffs.sort()
    tail = (1 - level) / 2
    return diffs[int(tail * resamples)], diffs[int((1 - tail) * resamples) - 1]
