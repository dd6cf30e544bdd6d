"""The indexed retrieval path (threshold algorithm over sorted sources, `agentzoo.memory.ranking`) gives the exact
scan's ranking: the same ids in the same order with the same scores, for both scorers, through kinds filters,
accesses that re-time records (and move the extremes), records added after the order was built, re-sorts, ties
and a clock that went back. The graph is replaced by an exact nearest-neighbour index here, so what is tested is
the algorithm's stopping rule, not a graph's recall (test_memory_store checks usearch itself)."""

import numpy as np
import pytest

from agentzoo.memory import MemoryStore, Weights, ranking
from agentzoo.memory.index import NumpyIndex

HOUR = 3600.0
EPOCH = 1_676_361_600.0  # 2023-02-14 in POSIX seconds: the simulated clock stamps records like this


class ExactNeighbours:
    """An index whose `pool` nearest are the true nearest (by a scan), so only the stopping rule is under test."""

    kind = "exact-test"

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def add(self, ids, vectors) -> None:
        pass

    def candidates(self, query, count):
        cos = self.store._vec[: self.store._n] @ query
        return np.lexsort((np.arange(cos.size), -cos))[:count]

    def nearest_and_farthest(self, query, near, far):
        return self.candidates(query, near), self.candidates(-query, far)

    def to_bytes(self):
        return None


def memory(n=2000, dims=16, seed=3, pool=32, bound="index", importance_levels=10, spread_hours=300.0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, dims))
    vectors = centres[rng.integers(0, 12, n)] + 0.7 * rng.standard_normal((n, dims))
    importance = rng.integers(1, importance_levels + 1, n).astype(float)
    times = EPOCH + rng.uniform(0, spread_hours * HOUR, n)  # not in id order
    kinds = ["observation", "dialogue", "plan", "reflection"]
    items = [(kinds[i % 4 if i % 7 else 3], f"m{i}", float(times[i]), float(importance[i]), vectors[i].tolist(), ())
             for i in range(n)]
    exact, indexed = MemoryStore(index="numpy"), MemoryStore(index="numpy", pool=pool, relevance_bound=bound)
    for store in (exact, indexed):
        store.add_many(items[: n // 2])
    indexed._index, indexed.scan_floats = ExactNeighbours(indexed), 0  # the graph path even this small
    return exact, indexed, items[n // 2:], rng


def same(exact, indexed, q, now, k=10, weights=Weights(), kinds=None, concordia=None):
    if concordia is None:
        a, b = (s.score(q, now, k, weights, kinds=kinds) for s in (exact, indexed))
    else:
        a, b = (s.score_concordia(q, k, use_recency=concordia[0], use_importance=concordia[1], kinds=kinds)
                for s in (exact, indexed))
    assert [r.record.id for r in b] == [r.record.id for r in a]
    assert [r.score for r in b] == pytest.approx([r.score for r in a], abs=1e-12)
    for x, y in zip(a, b):
        assert (y.recency, y.importance, y.relevance) == pytest.approx((x.recency, x.importance, x.relevance), abs=1e-12)
    assert not isinstance(indexed._index, NumpyIndex) and len(indexed) > indexed.pool  # the indexed path ran
    return [r.record.id for r in a]


@pytest.mark.parametrize("bound", ["index", "extremes"])
@pytest.mark.parametrize("weights", [Weights(), Weights(relevance=3.0), Weights(recency=0.0), Weights(2.0, 0.5, 1.0)])
def test_generative_agents_ranking_equals_the_scan_through_adds_accesses_and_kinds(bound, weights, monkeypatch):
    monkeypatch.setattr(ranking, "REBUILD_MIN", 64)  # re-sorts happen within the test
    exact, indexed, rest, rng = memory(bound=bound)
    now = EPOCH + 301 * HOUR
    for step in range(24):
        q = rng.standard_normal(16).tolist()
        kinds = [None, ("reflection",), ("observation", "plan")][step % 3]
        top = same(exact, indexed, q, now, weights=weights, kinds=kinds)
        for store in (exact, indexed):
            store.touch(top[:3], now)  # accessed: re-timed, and the first touch can move the newest-access extreme
        if step % 4 == 1:
            batch, rest = rest[:97], rest[97:]  # added after the order was built: the backlog, then a re-sort
            for store in (exact, indexed):
                store.add_many(batch)
        if step == 10:
            oldest = [int(np.argmin(exact._last[: exact._n]))]
            for store in (exact, indexed):
                store.touch(oldest, now)  # the oldest access moves: the extreme is recounted
        now += 2 * HOUR


@pytest.mark.parametrize("bound", ["index", "extremes"])
@pytest.mark.parametrize("flags", [(True, True), (False, True), (True, False), (False, False)])
def test_concordia_ranking_equals_the_scan(bound, flags):
    exact, indexed, rest, rng = memory(bound=bound, spread_hours=6.0)  # Concordia's recency fades within hours
    for step in range(12):
        kinds = ("dialogue",) if step % 4 == 3 else None
        same(exact, indexed, rng.standard_normal(16).tolist(), 0.0, concordia=flags, kinds=kinds)
        if step == 5:
            for store in (exact, indexed):
                store.add_many(rest[:200])


def test_ties_go_to_the_lower_id_on_both_paths():
    vector, items = [1.0, 0.0, 0.0], []
    for i in range(300):  # a hundred triples with identical vector, time and importance
        items.append(("observation", f"m{i}", EPOCH + (i // 3) * HOUR, float(1 + (i // 3) % 10), vector, ()))
    exact, indexed = MemoryStore(index="numpy"), MemoryStore(index="numpy", pool=8)
    exact.add_many(items)
    indexed.add_many(items)
    indexed._index, indexed.scan_floats = ExactNeighbours(indexed), 0
    top = same(exact, indexed, [1.0, 0.2, 0.0], EPOCH + 100 * HOUR, k=12)
    assert [top[i: i + 3] for i in range(0, 12, 3)] == [list(range(t, t + 3)) for t in top[::3]]  # tied: id order
    assert all(t % 3 == 0 for t in top[::3])


def test_a_clock_that_went_back_counts_later_accesses_as_now():
    exact, indexed, _, rng = memory()
    late = EPOCH + 400 * HOUR
    for store in (exact, indexed):
        store.touch([5, 6, 7], late)
    for now in (EPOCH + 100 * HOUR, late + HOUR):
        same(exact, indexed, rng.standard_normal(16).tolist(), now)


def test_key_order_finds_every_record_at_or_after_each_groups_time():
    rng = np.random.default_rng(0)
    n = 500
    keys, kind = rng.uniform(0, 100, n), rng.integers(0, 4, n).astype(np.int8)
    importance = rng.integers(1, 11, n).astype(float)
    order = ranking.KeyOrder()
    order.ensure(keys, kind, importance)
    keys[:40] = 150.0  # re-timed after the sort
    order.changed(np.arange(40))
    key_min = rng.uniform(0, 120, ranking.GROUPS)
    key_min[::5] = np.inf  # skipped groups
    found = set(order.at_least(key_min, keys, kind, importance).tolist())
    group = ranking.groups(kind, importance)
    assert {i for i in range(n) if keys[i] >= key_min[group[i]]} <= found
    top = order.max_importance(kind, importance)
    for g in np.unique(group):
        assert top[g] == importance[group == g].max()
