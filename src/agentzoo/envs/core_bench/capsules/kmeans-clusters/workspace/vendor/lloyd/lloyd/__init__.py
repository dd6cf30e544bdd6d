"""k-means clustering by Lloyd's algorithm, best of several random starts."""

import random

__version__ = "0.2.0"


def _nearest(point, centers):
    return min(range(len(centers)), key=lambda c: (point[0] - centers[c][0]) ** 2 + (point[1] - centers[c][1]) ** 2)


def _fit_once(points, k, rng, max_iter):
    centers = rng.sample(points, k)
    labels = None
    for iteration in range(1, max_iter + 1):
        new = [_nearest(p, centers) for p in points]
        if new == labels:
            break
        labels = new
        for c in range(k):
            members = [p for p, l in zip(points, labels) if l == c]
            if members:
                centers[c] = (sum(p[0] for p in members) / len(members), sum(p[1] for p in members) / len(members))
    inertia = sum((p[0] - centers[l][0]) ** 2 + (p[1] - centers[l][1]) ** 2 for p, l in zip(points, labels))
    return inertia, labels, centers, iteration


def kmeans(points, k, restarts=10, max_iter=100, seed=0):
    """(inertia, labels, centers, iterations) of the best of `restarts` random starts."""
    rng = random.Random(seed)
    return min((_fit_once(points, k, rng, max_iter) for _ in range(restarts)), key=lambda fit: fit[0])
