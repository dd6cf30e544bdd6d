"""A discrete-time stochastic SIR epidemic (Reed-Frost chain binomial with recovery)."""

import math
import random

__version__ = "0.1.4"


def _binomial(n, p, rng):
    return sum(1 for _ in range(n) if rng.random() < p)


def simulate(population, initial, beta, gamma, days, rng):
    """The number infected on each day 0..days of one epidemic."""
    s, i = population - initial, initial
    curve = [i]
    for _ in range(days):
        p_infect = 1 - math.exp(-beta * i / population)
        new_cases = _binomial(s, p_infect, rng)
        recovered = _binomial(i, gamma, rng)
        s, i = s - new_cases, i + new_cases - recovered
        curve.append(i)
    return curve, population - s


def replicate(params, replicates, seed):
    """`replicates` epidemics: their curves and their final sizes (everyone ever infected)."""
    rng = random.Random(seed)
    runs = [simulate(params["population"], params["initial"], params["beta"], params["gamma"], params["days"], rng)
            for _ in range(replicates)]
    return [c for c, _ in runs], [size for _, size in runs]
