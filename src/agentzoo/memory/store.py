"""The memory stream's storage: records in SQLite, their numbers in numpy arrays, a vector index.

SQLite (stdlib) holds the truth: every record with its embedding, and a small key-value table for
the stream's own state (the reflection counter). On open, the arrays that retrieval reads (importance,
last access, creation time, kind, the unit-length embedding matrix) are loaded from it. Retrieval scans
a small memory; a large one with a graph index finds its top k without touching every record (see
`_ranked` and `ranking`). `snapshot()` is the whole
database as bytes (SQLite's serialize) plus the index's bytes, so a fork or a search node restores
it without re-embedding or rebuilding anything, and ranks exactly as the original.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from . import scoring
from . import ranking
from .index import NumpyIndex, USearchIndex, make_index
from .records import KINDS, MemoryRecord, Retrieved, check_kind

DEFAULT_POOL = 256
"""Candidates an approximate index proposes per query; memories no larger are scored exactly. Fewer
means a faster graph search and more records checked against the bound (bench/memory.py measured both)."""
FAR_POOL = 64
"""Records asked of the graph for −q, the least similar: the relevance minimum the paper's normalisation needs is
the least cosine among them and every other cosine a retrieval computes. 256 finds the true minimum more often
(100k records: 42 of 50 top-10 lists equal to the scan's, against 32) for +2.4 ms at 1M (3.7 against 1.3 ms)."""
RELEVANCE_BOUNDS = ("index", "extremes")
"""What the graph path assumes of a record the graph did not propose (see `MemoryStore._ranked`): "index", that it is
no more similar than the record found at `INDEX_BOUND_DEPTH` of the pool; "extremes", only that it is no more
similar than the most similar found: exact given the relevance extremes, but a query whose nearest records stand
out leaves every recent, important record a candidate (bench/results/memory.md: at 1M records 32,700 scored per
query, 44 ms, against 13,500 and 21 ms)."""
INDEX_BOUND_DEPTH = 0.5
"""The graph is trusted down to half its answer (the 128th of 256): a more similar record would have to be missed
by a search that returned twice as many. Chosen on bench/memory.py's data at 1M records (hard queries, 20 of
them, 2026-12-03): trusted to its last record, 2 of 20 top-10 lists equalled the scan's (8.4/10 records in
common); at half depth 6 of 20 (9.5/10), at 1.6x the records scored; "extremes" 8 of 20 (9.7/10) at 4.4x."""
SCAN_FLOATS = 1 << 24
"""A memory whose embedding matrix holds fewer numbers than this (64 MB of float32: ~44,000 records of 384
dimensions) is scanned even with a graph: the scan is exact and, that small, faster than the graph path's fixed
cost (bench/results/memory.md, 2026-12-03: 10k records scanned in ~1.4 ms, the graph path costs ~3 ms for its
searches alone; 100k: the scan ~16 ms against ~6 ms)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL,
  last_accessed REAL NOT NULL, importance REAL NOT NULL, evidence TEXT NOT NULL, embedding BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class MemorySnapshot:
    """A memory frozen for fork or search: restore it with `MemoryStore.restore`."""

    database: bytes
    index: bytes | None
    index_kind: str
    pool: int
    relevance_bound: str = "index"


class MemoryStore:
    """Records, arrays and index of one memory. Not async: it makes no effect (the stream does)."""

    def __init__(self, path: str | Path = ":memory:", *, index: str = "auto", pool: int = DEFAULT_POOL,
                 relevance_bound: str = "index", _conn: sqlite3.Connection | None = None, _index_bytes: bytes | None = None) -> None:
        self.path = str(path)
        self.pool = pool
        if relevance_bound not in RELEVANCE_BOUNDS:
            raise ConfigError(f"memory relevance bound {relevance_bound!r} is unknown; bounds: {', '.join(RELEVANCE_BOUNDS)}")
        self.relevance_bound = relevance_bound
        """What the indexed path assumes of the records the graph did not propose (see `_ranked`)."""
        self.scan_floats = SCAN_FLOATS
        """Scan below this many embedding numbers (see `SCAN_FLOATS`; tests set 0 to exercise the graph path)."""
        self.last_scored = 0
        """Records the last retrieval computed a score for (every record for a scan; for the bench)."""
        self._conn = _conn or sqlite3.connect(self.path)
        self._conn.executescript(_SCHEMA)
        self._index_kind = index
        if index not in ("auto", "numpy", "usearch"):
            raise ConfigError(f"memory index {index!r} is unknown; indexes: auto, numpy, usearch")
        rows = self._conn.execute("SELECT importance, last_accessed, embedding, kind, created FROM records ORDER BY id"
                                  ).fetchall()
        self.dimensions: int | None = None
        if rows:
            self.dimensions = len(rows[0][2]) // 4
        self._n = len(rows)
        capacity = max(1024, self._n)
        self._imp = np.zeros(capacity, np.float32)
        self._kind = np.zeros(capacity, np.int8)
        self._last = np.zeros(capacity, np.float64)
        self._created = np.zeros(capacity, np.float64)
        self._ids = np.arange(capacity, dtype=np.int64)
        self._vec = np.zeros((capacity, self.dimensions or 0), np.float32)
        if rows:  # whole columns at once: a million-record memory opens without a Python loop per vector
            imp, last, blobs, kinds, created = zip(*rows)
            self._imp[: self._n], self._last[: self._n], self._created[: self._n] = imp, last, created
            self._kind[: self._n] = [KINDS.index(k) for k in kinds]
            self._vec[: self._n] = np.frombuffer(b"".join(blobs), np.float32).reshape(self._n, self.dimensions)
        # Extremes for the normalisation (records only add; an access moves last_accessed) and the time orders.
        self._imp_low, self._imp_high = (float(self._imp[: self._n].min()), float(self._imp[: self._n].max())) \
            if self._n else (np.inf, -np.inf)
        self._created_high = float(self._created[: self._n].max()) if self._n else -np.inf
        self._last_low, self._last_high, self._last_stale = np.inf, -np.inf, True
        self._by_last, self._by_created = ranking.KeyOrder(), ranking.KeyOrder()
        self._index: NumpyIndex | USearchIndex | None = None
        if self.dimensions is not None:
            if _index_bytes is None:
                _index_bytes = self._saved_index()
            self._index = make_index(index, self.dimensions, _index_bytes)
            if _index_bytes is None and self._n:
                self._index.add(self._ids[: self._n], self._vec[: self._n])

    # --- writing -----------------------------------------------------------------------------

    def add_many(self, items: list[tuple[str, str, float, float, list[float], tuple[int, ...]]]) -> list[MemoryRecord]:
        """Append records: (kind, text, created, importance, embedding, evidence) each, in one transaction."""
        if not items:
            return []
        vectors = np.asarray([item[4] for item in items], dtype=np.float32)
        if vectors.ndim != 2 or not np.isfinite(vectors).all():
            raise ConfigError("memory embeddings must be vectors of finite numbers, all of one length")
        if self.dimensions is None:
            self.dimensions = vectors.shape[1]
            self._vec = np.zeros((self._imp.size, self.dimensions), np.float32)
            self._index = make_index(self._index_kind, self.dimensions)
        if vectors.shape[1] != self.dimensions:
            raise ConfigError(f"memory embeddings have {vectors.shape[1]} dimensions; this memory holds "
                              f"{self.dimensions} (one embedder per memory)")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)  # unit rows: a dot product is the cosine
        records = []
        for offset, (kind, text, created, importance, _, evidence) in enumerate(items):
            check_kind(kind)
            for cited in evidence:
                if not 0 <= cited < self._n + offset:
                    raise ConfigError(f"memory evidence cites record {cited}, which does not exist")
            records.append(MemoryRecord(self._n + offset, kind, text, float(created), float(created),
                                        float(importance), tuple(int(e) for e in evidence)))
        self._conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (r.id, r.kind, r.text, r.created, r.last_accessed, r.importance, json.dumps(list(r.evidence)),
             vectors[i].tobytes()) for i, r in enumerate(records)])
        self._conn.commit()
        self._grow(self._n + len(records))
        new = slice(self._n, self._n + len(records))
        self._imp[new] = [r.importance for r in records]
        self._kind[new] = [KINDS.index(r.kind) for r in records]
        self._last[new] = [r.last_accessed for r in records]
        self._created[new] = [r.created for r in records]
        self._vec[new] = vectors
        assert self._index is not None
        self._index.add(self._ids[new], vectors)
        self._n += len(records)
        self._imp_low = min(self._imp_low, float(self._imp[new].min()))
        self._imp_high = max(self._imp_high, float(self._imp[new].max()))
        self._created_high = max(self._created_high, float(self._created[new].max()))
        if not self._last_stale:
            self._last_low = min(self._last_low, float(self._last[new].min()))
            self._last_high = max(self._last_high, float(self._last[new].max()))
        self._by_last.changed(self._ids[new])
        self._by_created.changed(self._ids[new])
        return records

    def touch(self, ids: list[int], now: float) -> None:
        """Mark records as retrieved at `now` (recency restarts from their last access)."""
        if not len(ids):
            return
        old = self._last[ids]
        if np.any((old == self._last_low) | (old == self._last_high)):
            self._last_stale = True  # an extreme may have moved inward: recounted at the next retrieval
        else:
            self._last_low, self._last_high = min(self._last_low, now), max(self._last_high, now)
        self._last[ids] = now
        self._by_last.changed(ids)
        self._conn.executemany("UPDATE records SET last_accessed = ? WHERE id = ?", [(now, i) for i in ids])
        self._conn.commit()

    def _grow(self, size: int) -> None:
        if size <= self._imp.size:
            return
        capacity = max(size, 2 * self._imp.size)
        self._imp = np.resize(self._imp, capacity)
        self._kind = np.resize(self._kind, capacity)
        self._last = np.resize(self._last, capacity)
        self._created = np.resize(self._created, capacity)
        self._ids = np.arange(capacity, dtype=np.int64)
        grown = np.zeros((capacity, self._vec.shape[1]), np.float32)
        grown[: self._n] = self._vec[: self._n]
        self._vec = grown

    # --- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def get(self, ids: list[int]) -> list[MemoryRecord]:
        """The records with these ids, in the order asked."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._conn.execute(f"SELECT id, kind, text, created, last_accessed, importance, evidence FROM records "
                                  f"WHERE id IN ({marks})", ids).fetchall()
        found = {row[0]: MemoryRecord(row[0], row[1], row[2], row[3], row[4], row[5], tuple(json.loads(row[6])))
                 for row in rows}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ConfigError(f"memory has no record {missing[0]} (it holds ids 0..{self._n - 1})")
        return [found[i] for i in ids]

    def latest(self, count: int) -> list[MemoryRecord]:
        return self.get(list(range(max(0, self._n - count), self._n)))

    def score(self, query: list[float], now: float, k: int, weights: scoring.Weights,
              decay: float = scoring.RECENCY_DECAY_PER_HOUR, kinds: tuple[str, ...] | None = None) -> list[Retrieved]:
        """The k best records for `query` at simulated time `now` by Generative Agents' score (no access is
        recorded: see `touch`). Recency and importance are normalised by their extremes over every record, kept
        exactly as records come and are touched; relevance by the cosine's extremes (see `_ranked`)."""
        if self._n == 0 or k <= 0:
            return []
        parts = scoring.GenerativeAgentsParts(weights, now, decay, self._last_range(),
                                              (self._imp_low, self._imp_high))
        return self._ranked(self._unit_query(query), k, parts, self._last, self._by_last, kinds)

    def score_concordia(self, query: list[float], k: int, *, use_recency: bool = scoring.CONCORDIA_DEFAULT_USE_RECENCY,
                        use_importance: bool = scoring.CONCORDIA_DEFAULT_USE_IMPORTANCE,
                        kinds: tuple[str, ...] | None = None) -> list[Retrieved]:
        """The k best records for `query` by Concordia v1's raw sum (see `scoring`): cosine + recency from the
        newest record's time + importance on [0, 1]. `Retrieved`'s parts are the terms as summed (0 when unused)."""
        if self._n == 0 or k <= 0:
            return []
        parts = scoring.ConcordiaParts(self._created_high, use_recency, use_importance, (self._imp_low, self._imp_high))
        return self._ranked(self._unit_query(query), k, parts, self._created, self._by_created, kinds)

    def _ranked(self, q: np.ndarray, k: int, parts: scoring.GenerativeAgentsParts | scoring.ConcordiaParts,
                times: np.ndarray, order: ranking.KeyOrder, kinds: tuple[str, ...] | None) -> list[Retrieved]:
        """Exact scan (numpy index, or a memory under `scan_floats`), or the threshold algorithm of `ranking` over
        the graph's pool, its farthest records and `order`.

        What the graph path guarantees: the top k, ties to the lower id, of the same per-record arithmetic as the
        scan (same bits: `_cosines`), given (1) for Generative Agents, the relevance extremes, which the scan takes
        over every record and this path over the records it computed a cosine for (the pool, the graph's answer
        for −q, every candidate): the most and least similar records as far as the graph finds them; no index
        gives the least similar of a million 384-dimension vectors exactly in less than a scan; and (2) with
        `relevance_bound="index"`, that no record the graph did not propose is more similar than the one at
        `INDEX_BOUND_DEPTH` of its answer (with "extremes": than the most similar found). Recency and importance
        extremes are exact. bench/memory.py measures the agreement with the scan (bench/results/memory.md)."""
        n = self._n
        keys, imp, kind = times[:n], self._imp[:n], self._kind[:n]
        codes = None if kinds is None else [KINDS.index(c) for c in kinds]
        assert self._index is not None
        if n <= self.pool or n * (self.dimensions or 0) < self.scan_floats or isinstance(self._index, NumpyIndex):
            cos = _cosines(self._vec[:n], q)
            low, high = float(cos.min()), float(cos.max())
            total = parts.total(parts.base(keys, imp), parts.relevance(cos, low, high))
            if codes is not None:
                total = np.where(np.isin(kind, codes), total, -np.inf)
            best = np.array([i for i in scoring.top_k(total, self._ids[:n], k) if np.isfinite(total[i])], np.int64)
            totals, self.last_scored = total[best], n
        else:
            best, totals, low, high = self._threshold(q, k, parts, keys, imp, kind, order, codes)
        return [Retrieved(record, float(t), float(r), float(i), float(c)) for record, t, r, i, c in zip(
            self.get([int(i) for i in best]), totals, parts.recency(keys[best]), parts.importance(imp[best]),
            parts.relevance(_cosines(self._vec[best], q), low, high))]

    def _threshold(self, q: np.ndarray, k: int, parts: scoring.GenerativeAgentsParts | scoring.ConcordiaParts,
                   keys: np.ndarray, imp: np.ndarray, kind: np.ndarray, order: ranking.KeyOrder,
                   codes: list[int] | None) -> tuple[np.ndarray, np.ndarray, float, float]:
        assert self._index is not None
        n = self._n
        order.ensure(keys, kind, imp)
        assert isinstance(self._index, USearchIndex) or hasattr(self._index, "nearest_and_farthest")
        near, far = self._index.nearest_and_farthest(q, self.pool, FAR_POOL)
        near = near[(near >= 0) & (near < n)]
        seen = ranking.unique_ids(np.concatenate([near, far[(far >= 0) & (far < n)]]))
        cosines = _cosines(self._vec[seen], q)
        near_cos = np.sort(cosines[np.isin(seen, near)])[::-1]
        edge = float(near_cos[max(1, int(near_cos.size * INDEX_BOUND_DEPTH)) - 1]) if near.size else None
        extremes = [float(cosines.min()), float(cosines.max())]
        group_max = order.max_importance(kind, imp)
        if codes is not None:
            group_max = np.where(np.isin(ranking.GROUP_KIND, codes), group_max, -np.inf)

        def allowed(ids: np.ndarray) -> np.ndarray:
            return np.ones(ids.size, bool) if codes is None else np.isin(kind[ids], codes)

        def score(bases: np.ndarray, cos: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, float]:
            extremes[:] = [min(extremes[0], float(cos.min())), max(extremes[1], float(cos.max()))]
            low, high = extremes
            # "extremes": no unseen record is more similar than the most similar found; "index": than `edge`.
            ceiling = edge if self.relevance_bound == "index" and edge is not None else high
            bound = parts.relevance_weight * float(parts.relevance(np.array([ceiling]), low, high)[0])
            return parts.total(bases, parts.relevance(cos, low, high)), bound

        def enumerate_from(theta: float) -> np.ndarray:
            live = group_max > -np.inf
            key_min = np.full(ranking.GROUPS, np.inf)
            key_min[live] = parts.key_at_least(np.full(int(live.sum()), theta), group_max[live])
            return order.at_least(key_min, keys, kind, imp)

        best, totals, seen, _ = ranking.threshold_top_k(
            k, seen, cosines, allowed, lambda ids: parts.base(keys[ids], imp[ids]), parts.base_range(),
            lambda ids: _cosines(self._vec[ids], q), score, enumerate_from)
        self.last_scored = seen.size
        return best, totals, extremes[0], extremes[1]

    def _last_range(self) -> tuple[float, float]:
        if self._last_stale:
            last = self._last[: self._n]
            self._last_low, self._last_high, self._last_stale = float(last.min()), float(last.max()), False
        return self._last_low, self._last_high

    def _unit_query(self, query: list[float]) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32)
        if q.shape != (self.dimensions,):
            raise ConfigError(f"memory query has {q.size} dimensions; this memory holds {self.dimensions}")
        return q / (np.linalg.norm(q) or 1.0)

    # --- state -------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self._conn.commit()

    def snapshot(self) -> MemorySnapshot:
        index = self._index.to_bytes() if self._index is not None else None
        kind = self._index.kind if self._index is not None else self._index_kind
        return MemorySnapshot(self._conn.serialize(), index, kind, self.pool, self.relevance_bound)

    @classmethod
    def restore(cls, snapshot: MemorySnapshot) -> MemoryStore:
        """A new in-memory store holding exactly what the snapshot held."""
        conn = sqlite3.connect(":memory:")
        conn.deserialize(snapshot.database)
        return cls(":memory:", index=snapshot.index_kind, pool=snapshot.pool, relevance_bound=snapshot.relevance_bound,
                   _conn=conn, _index_bytes=snapshot.index)

    def _saved_index(self) -> bytes | None:
        """The graph `close()` saved beside the database, if it holds exactly the records the database holds
        (after a crash it may not: then it is rebuilt, which at a million records takes minutes)."""
        if self.path == ":memory:" or self._index_kind == "numpy":
            return None
        saved = Path(self.path + ".usearch")
        if not saved.is_file() or self.get_meta("index_records") != str(self._n):
            return None
        return saved.read_bytes()

    def close(self) -> None:
        """Close the database; a file-backed store with a graph index saves the graph beside it first."""
        if isinstance(self._index, USearchIndex) and self.path != ":memory:":
            data = self._index.to_bytes()
            assert data is not None
            Path(self.path + ".usearch").write_bytes(data)
            self.set_meta("index_records", str(self._n))
        self._conn.close()


def _cosines(rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Each unit row's dot with the unit query. einsum, not `@`: its sum runs the same way for a row whatever the
    rows around it, so the scan and the indexed path compute the same bits for a record (a BLAS matrix-vector
    product can round a record differently when it is one row of ten than one of a million), and a record's score,
    hence the ranking and its ties, does not depend on which path scored it."""
    return np.einsum("ij,j->i", rows, q)
