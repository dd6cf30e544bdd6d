"""Estimate pi from the share of uniform points of the unit square that fall inside the quarter circle."""

import math
import random

__version__ = "1.0.0"


def estimate(samples, rng):
    """The estimate of pi and its standard error from `samples` points drawn with `rng`."""
    inside = sum(1 for _ in range(samples) if rng.random() ** 2 + rng.random() ** 2 <= 1.0)
    p = inside / samples
    return 4 * p, 4 * math.sqrt(p * (1 - p) / samples)


def generator(seed):
    return random.Random(seed)
