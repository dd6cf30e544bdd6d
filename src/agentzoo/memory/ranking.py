"""Top k of a retrieval score without scoring every record: a threshold algorithm over sorted sources.

A score here is `total(base, relevance)`: `base` is the query-free part (recency + importance, each monotone in
one number of the record: a time and the importance) and relevance the cosine, normalised or not. Three sorted
sources give the candidates (Fagin et al.'s threshold algorithm, with sorted access by blocks):

- relevance: the vector index's `pool` nearest records (and, asked with −q, the farthest);
- recency × importance: `KeyOrder`, the records grouped by kind and importance bucket, each group sorted by its
  time, so "every record whose base can reach θ" is a binary search and a suffix per group, never a scan.

The proof of stop: let `bound` be an upper bound on the weighted relevance of any record the index did not
propose, and suppose every record with base ≥ θ has been scored. A record not scored then scores below
θ + bound; so once the k-th best score found, `kth`, is ≥ θ + bound, no record left can enter the top k (nor tie
with it: the margin is kept strict). The loop lowers θ from the highest possible base in steps that double, never
below kth − bound, scoring the records each step adds, until that holds. The answer is the exact top k, ties to the
lower id, of the score with these normalisation constants, provided `bound` holds. What holds exactly and what
rests on the index's recall is said where the store uses this (`MemoryStore._ranked`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .records import KINDS

IMPORTANCE_BUCKET_EDGES = np.arange(1.0, 11.0)
"""Importance buckets: below 1, [1, 2), …, [9, 10), 10 and above. The paper's scale is whole numbers 1..10, so a
bucket holds one value and its upper bound is exact; other values share buckets and bound by their maximum."""
_BUCKETS = IMPORTANCE_BUCKET_EDGES.size + 1
GROUPS = len(KINDS) * _BUCKETS
GROUP_KIND = np.arange(GROUPS) // _BUCKETS
"""The kind (index in `KINDS`) of each group."""
REBUILD_MIN = 4096
REBUILD_FRACTION = 32
"""Re-sort when the records added or re-timed since the last sort exceed max(4096, n/32): each query checks the
changed ones one by one (vectorised), so the backlog stays a few percent of a sort's cost per query."""


def groups(kind: np.ndarray, importance: np.ndarray) -> np.ndarray:
    """Group of each record: kind × importance bucket."""
    bucket = np.searchsorted(IMPORTANCE_BUCKET_EDGES, importance, side="right")
    return kind.astype(np.int64) * _BUCKETS + bucket


class KeyOrder:
    """Record ids grouped by (kind, importance bucket), sorted by a time within each group (last access or
    creation), kept as a sorted base plus the ids changed since (added, or re-timed by an access)."""

    def __init__(self) -> None:
        self._ids = np.empty(0, np.int64)
        self._keys = np.empty(0, np.float64)
        self._starts = np.zeros(GROUPS + 1, np.int64)
        self._max_importance = np.full(GROUPS, -np.inf)
        self._changed: list[np.ndarray] = []
        self._pending = 0
        self._sorted = -1  # records covered by the base; −1: never sorted

    def changed(self, ids: np.ndarray | list[int]) -> None:
        """These records are new or have a new time: the base's entry for them (if any) is stale."""
        if self._sorted >= 0:
            ids = np.asarray(ids, np.int64)
            self._changed.append(ids)
            self._pending += ids.size

    def ensure(self, keys: np.ndarray, kind: np.ndarray, importance: np.ndarray) -> None:
        """Sort now if never sorted or the backlog is long (see `REBUILD_FRACTION`)."""
        n = keys.size
        if self._sorted < 0 or self._pending > max(REBUILD_MIN, n // REBUILD_FRACTION):
            group = groups(kind, importance)
            order = np.lexsort((keys, group))  # stable: equal times keep id order
            self._ids, self._keys = order, keys[order]
            self._starts = np.searchsorted(group[order], np.arange(GROUPS + 1))
            self._max_importance = np.full(GROUPS, -np.inf)
            filled = np.flatnonzero(np.diff(self._starts) > 0)
            if filled.size:
                self._max_importance[filled] = np.maximum.reduceat(importance[order], self._starts[filled])
            self._changed, self._pending, self._sorted = [], 0, n

    def _backlog(self) -> np.ndarray:
        if len(self._changed) > 1:
            self._changed = [unique_ids(np.concatenate(self._changed))]
        return self._changed[0] if self._changed else np.empty(0, np.int64)

    def max_importance(self, kind: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """Per group, the largest importance in it (−inf: empty)."""
        top = self._max_importance.copy()
        changed = self._backlog()
        if changed.size:
            np.maximum.at(top, groups(kind[changed], importance[changed]), importance[changed])
        return top

    def at_least(self, key_min: np.ndarray, keys: np.ndarray, kind: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """Ids (with repeats) of every record whose time is ≥ its group's `key_min` (+inf: skip the group); a
        superset: a re-timed record's old entry may come along."""
        parts = []
        for g in np.flatnonzero(key_min < np.inf):
            lo, hi = self._starts[g], self._starts[g + 1]
            if lo == hi:
                continue
            if key_min[g] > -np.inf:
                lo += int(np.searchsorted(self._keys[lo:hi], key_min[g], side="left"))
            parts.append(self._ids[lo:hi])
        changed = self._backlog()
        if changed.size:
            g = groups(kind[changed], importance[changed])
            parts.append(changed[keys[changed] >= key_min[g]])
        return np.concatenate(parts) if parts else np.empty(0, np.int64)


def threshold_top_k(k: int, seen: np.ndarray, cosines: np.ndarray, allowed: Callable[[np.ndarray], np.ndarray],
                    base: Callable[[np.ndarray], np.ndarray], base_range: tuple[float, float],
                    cosine: Callable[[np.ndarray], np.ndarray],
                    score: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, float]],
                    enumerate_from: Callable[[float], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The loop of the module doc. `seen`/`cosines`: what the index proposed; `base_range`: no base is outside it;
    `score(base, cosines, seen)`: the totals of the seen records and the bound on any unseen record's relevance
    term (α_rel·relevance); `enumerate_from(θ)`: ids that may have base ≥ θ (a superset). Returns the k best ids
    (best first, ties to the lower id), their totals, every seen id and how many rounds it took.

    θ comes down from the highest base in steps that double, never below the k-th best found less the bound: the
    index's pool alone gives a poor k-th best (its records are relevant, rarely recent and important too), and
    going straight to its bound would score tens of thousands of records the final bound excludes (measured at
    1M records: ~30,000 against ~3,000)."""
    keep = allowed(seen)
    seen, cosines = seen[keep], cosines[keep]
    bases = base(seen)
    bottom, top = base_range
    step = max(top - bottom, 1e-9) / 64
    theta = np.inf  # every record with base ≥ θ has been seen
    rounds = 0
    while True:
        totals, bound = score(bases, cosines, seen)
        kth = float(np.partition(totals, totals.size - k)[totals.size - k]) if totals.size >= k else -np.inf
        need = kth - bound
        need -= 1e-12 * max(1.0, abs(need)) if np.isfinite(need) else 0.0  # a float tie must still be seen
        if need >= theta or theta == -np.inf:
            break
        theta = max(need, (top if theta == np.inf else theta) - step)
        theta = -np.inf if theta < bottom else theta  # below every base: all of them
        step *= 2
        rounds += 1
        found = unique_ids(enumerate_from(theta))
        found = found[~np.isin(found, seen, assume_unique=True)]
        found = found[allowed(found)]
        found_bases = base(found)
        high = found_bases >= theta
        seen = np.concatenate([seen, found[high]])
        bases = np.concatenate([bases, found_bases[high]])
        cosines = np.concatenate([cosines, cosine(found[high])])
    best = _top(totals, seen, k)
    return seen[best], totals[best], seen, rounds


def unique_ids(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct ids. By sorting: numpy's `unique` (a hash table since 2.3) took 5 ms on 10,000 ids here."""
    ids = np.sort(ids)
    return ids[np.concatenate(([True], ids[1:] != ids[:-1]))] if ids.size else ids


def _top(totals: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    if totals.size > k:
        kth = np.partition(totals, totals.size - k)[totals.size - k]
        pool = np.flatnonzero(totals >= kth)
    else:
        pool = np.arange(totals.size)
    return pool[np.lexsort((ids[pool], -totals[pool]))[:k]]
