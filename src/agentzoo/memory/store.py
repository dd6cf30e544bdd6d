"""The memory stream's storage: records in SQLite, their numbers in numpy arrays, a vector index.

SQLite (stdlib) holds the truth: every record with its embedding, and a small key-value table for
the stream's own state (the reflection counter). On open, the arrays that retrieval scans (importance,
last access, the unit-length embedding matrix) are loaded from it. `snapshot()` is the whole
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
from .index import NumpyIndex, USearchIndex, make_index
from .records import KINDS, MemoryRecord, Retrieved, check_kind

DEFAULT_POOL = 256
"""Candidates an approximate index proposes per query; memories no larger are scored exactly. Fewer
means a faster graph search and more records checked against the bound (bench/memory.py measured both)."""

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


class MemoryStore:
    """Records, arrays and index of one memory. Not async: it makes no effect (the stream does)."""

    def __init__(self, path: str | Path = ":memory:", *, index: str = "auto", pool: int = DEFAULT_POOL,
                 _conn: sqlite3.Connection | None = None, _index_bytes: bytes | None = None) -> None:
        self.path = str(path)
        self.pool = pool
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
        return records

    def touch(self, ids: list[int], now: float) -> None:
        """Mark records as retrieved at `now` (recency restarts from their last access)."""
        self._last[ids] = now
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
        """The k best records for `query` at simulated time `now` (no access is recorded: see `touch`)."""
        n = self._n
        if n == 0 or k <= 0:
            return []
        q = self._unit_query(query)
        rec = scoring.minmax(scoring.recency(self._last[:n], now, decay))
        imp = scoring.minmax(self._imp[:n])
        base = weights.recency * rec + weights.importance * imp
        if kinds is not None:
            codes = [KINDS.index(kind) for kind in kinds]
            base = np.where(np.isin(self._kind[:n], codes), base, -np.inf).astype(np.float32)
        assert self._index is not None
        if n <= self.pool or isinstance(self._index, NumpyIndex):
            rel = scoring.minmax(self._vec[:n] @ q)
            total = base + weights.relevance * rel
            best = scoring.top_k(total, self._ids[:n], k)
        else:
            best, total, rel = self._pruned(q, base, weights.relevance, k)
        best = [i for i in best if np.isfinite(total[i])]
        return [Retrieved(record, float(total[i]), float(rec[i]), float(imp[i]), float(rel[i]))
                for i, record in zip(best, self.get(best))]

    def score_concordia(self, query: list[float], k: int, *, use_recency: bool = scoring.CONCORDIA_DEFAULT_USE_RECENCY,
                        use_importance: bool = scoring.CONCORDIA_DEFAULT_USE_IMPORTANCE,
                        kinds: tuple[str, ...] | None = None) -> list[Retrieved]:
        """The k best records for `query` by Concordia v1's raw sum (see `scoring`): cosine + recency from the
        newest record's time + importance on [0, 1]. `Retrieved`'s parts are the terms as summed (0 when unused)."""
        n = self._n
        if n == 0 or k <= 0:
            return []
        q = self._unit_query(query)
        zero = np.zeros(n, np.float64)
        rel = (self._vec[:n] @ q).astype(np.float64)  # unit rows and query: Concordia's dot of unit embeddings
        created = self._created[:n]
        rec = scoring.concordia_recency(created, float(created.max())) if use_recency else zero
        imp = scoring.concordia_importance(self._imp[:n]) if use_importance else zero
        total = rel + rec + imp
        if kinds is not None:
            total = np.where(np.isin(self._kind[:n], [KINDS.index(kind) for kind in kinds]), total, -np.inf)
        best = [i for i in scoring.top_k(total, self._ids[:n], k) if np.isfinite(total[i])]
        return [Retrieved(record, float(total[i]), float(rec[i]), float(imp[i]), float(rel[i]))
                for i, record in zip(best, self.get(best))]

    def _unit_query(self, query: list[float]) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32)
        if q.shape != (self.dimensions,):
            raise ConfigError(f"memory query has {q.size} dimensions; this memory holds {self.dimensions}")
        return q / (np.linalg.norm(q) or 1.0)

    def _pruned(self, q: np.ndarray, base: np.ndarray, w_rel: float, k: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Top k without a full scan: the same as the scan up to the graph's recall (Fagin's threshold algorithm).

        Relevance comes from two sorted lists: the graph's `pool` nearest records (and, asked with −q, the
        farthest, which give the minimum for min-max normalisation), and the records with the best
        recency + importance part (`base`), B of them. A record in neither list scores at most the B-th best
        base plus the weighted relevance of the pool's least relevant record; once the k-th best score found
        reaches that bound, no other record can enter the top k. Otherwise B grows fourfold."""
        assert self._index is not None
        n = self._n
        near = self._index.candidates(q, self.pool)
        near = near[(near >= 0) & (near < n)]
        far = self._index.candidates(-q, 16)
        raw = np.full(n, np.nan, np.float32)
        seen = np.unique(np.concatenate([near, far[(far >= 0) & (far < n)]]))
        raw[seen] = self._vec[seen] @ q
        edge = float(raw[near].min())
        by_base, floor = _best_by(base, 16 * self.pool)
        size = self.pool
        while True:
            prefix = by_base[:size]
            new = prefix[np.isnan(raw[prefix])]
            raw[new] = self._vec[new] @ q
            seen = np.concatenate([seen, new])  # `new` had no cosine yet: disjoint from `seen`
            lo, hi = float(raw[seen].min()), float(raw[seen].max())
            span = hi - lo
            rel_seen = (raw[seen] - lo) / span if span > 0 else np.full(seen.size, scoring.FLAT_VALUE, np.float32)
            scores = base[seen] + w_rel * rel_seen
            kth = np.sort(scores)[-min(k, scores.size)]
            edge_rel = (edge - lo) / span if span > 0 else scoring.FLAT_VALUE
            outside = float(base[prefix[-1]]) if size < by_base.size else floor
            if kth >= outside + w_rel * edge_rel:
                break
            if size >= by_base.size:  # the list ran out before the bound was met: a longer one, or the scan
                if by_base.size * 8 > n // 4:
                    rel = scoring.minmax(self._vec[:n] @ q)
                    total = base + w_rel * rel
                    return scoring.top_k(total, self._ids[:n], k), total, rel
                by_base, floor = _best_by(base, by_base.size * 8)
            size *= 4
        rel = np.zeros(n, np.float32)
        total = np.full(n, -np.inf, np.float32)
        rel[seen] = rel_seen
        total[seen] = scores
        best = scoring.top_k(scores, self._ids[seen], k)  # over the records seen only: the rest are not candidates
        return [int(seen[i]) for i in best], total, rel

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
        return MemorySnapshot(self._conn.serialize(), index, kind, self.pool)

    @classmethod
    def restore(cls, snapshot: MemorySnapshot) -> MemoryStore:
        """A new in-memory store holding exactly what the snapshot held."""
        conn = sqlite3.connect(":memory:")
        conn.deserialize(snapshot.database)
        return cls(":memory:", index=snapshot.index_kind, pool=snapshot.pool, _conn=conn, _index_bytes=snapshot.index)

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


def _best_by(values: np.ndarray, count: int) -> tuple[np.ndarray, float]:
    """About `count` positions of the largest values, best first, and a value no record left out exceeds.

    The cut is the matching quantile of a strided sample (a full partition of a million floats costs more
    than the whole rest of a retrieval); every value at or above it is taken, so nothing above it is missed."""
    n = values.size
    if count >= n:
        order = np.argsort(-values, kind="stable")
        return order, -np.inf
    sample = values[:: max(1, n // 16384)]
    rank = max(0, sample.size - 1 - int(count * sample.size / n))
    cut = float(np.partition(sample, rank)[rank])
    chosen = np.flatnonzero(values >= cut)
    floor = float(np.max(values, where=values < cut, initial=-np.inf))
    return chosen[np.argsort(-values[chosen], kind="stable")], floor
