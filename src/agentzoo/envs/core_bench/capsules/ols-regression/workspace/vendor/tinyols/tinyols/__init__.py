"""Ordinary least squares by the normal equations, R squared, and a permutation test of one coefficient."""

import random

__version__ = "0.5.0"


def _solve(a, b):
    """Solve a x = b by Gaussian elimination with partial pivoting."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def fit(columns, y):
    """Coefficients [intercept, b1, ...] of y on the columns (lists of equal length)."""
    rows = [[1.0, *values] for values in zip(*columns)]
    p = len(rows[0])
    xtx = [[sum(r[i] * r[j] for r in rows) for j in range(p)] for i in range(p)]
    xty = [sum(r[i] * t for r, t in zip(rows, y)) for i in range(p)]
    return _solve(xtx, xty)


def r_squared(columns, y, coef):
    mean = sum(y) / len(y)
    fitted = [coef[0] + sum(b * v for b, v in zip(coef[1:], values)) for values in zip(*columns)]
    ss_res = sum((t - f) ** 2 for t, f in zip(y, fitted))
    ss_tot = sum((t - mean) ** 2 for t in y)
    return 1 - ss_res / ss_tot


def permutation_p(columns, y, index, permutations, seed):
    """Two-sided permutation p-value of coefficient `index` (0 = first column): shuffle that column."""
    rng = random.Random(seed)
    observed = abs(fit(columns, y)[index + 1])
    hits = 0
    for _ in range(permutations):
        shuffled = columns[index][:]
        rng.shuffle(shuffled)
        trial = [shuffled if i == index else c for i, c in enumerate(columns)]
        hits += abs(fit(trial, y)[index + 1]) >= observed
    return (hits + 1) / (permutations + 1)
