"""Vector indexes for the memory store: an exact numpy scan, and usearch's HNSW graph for large streams.

The store keeps every embedding in one float32 matrix (unit rows), so relevance is always the exact
cosine; an index only chooses which records to compute it for. `NumpyIndex` chooses all of them
(exact, linear in the stream); `USearchIndex` gives the `pool` nearest and a few farthest records
(sub-linear, approximate), the relevance source of the store's threshold algorithm (`ranking`).
bench/results/memory.md has the figures (at 1M records, 2026-12-03: the scan ~300 ms per top 10, the
graph path ~10–20 ms, of which ~4 ms is the two graph searches). sqlite-vec was the other candidate:
this Python's sqlite3 cannot load extensions, and its vec0 table is a scan as well."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

USEARCH_DTYPE = "i8"
"""Stored quantised to 8 bits: fastest to build and to search on the measuring machine (the pool is
re-scored with exact float32 cosines, so quantisation only affects which records are in the pool)."""


class NumpyIndex:
    """Exact: every record is a candidate."""

    kind = "numpy"

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        pass  # the store's matrix is the index

    def candidates(self, query: np.ndarray, count: int) -> np.ndarray | None:
        return None  # None: score them all

    def to_bytes(self) -> bytes | None:
        return None


class USearchIndex:
    """Approximate: an HNSW graph (usearch) proposes the `count` nearest records."""

    kind = "usearch"

    def __init__(self, dimensions: int, data: bytes | None = None) -> None:
        try:
            from usearch.index import Index
        except ImportError:
            raise ConfigError("memory index 'usearch' needs the usearch package: pip install 'agentzoo[memory]'") from None
        self._index = Index.restore(data) if data is not None else Index(ndim=dimensions, metric="cos",
                                                                         dtype=USEARCH_DTYPE)

    def __len__(self) -> int:
        return len(self._index)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        # One thread: a graph built by several threads depends on their timing, and a replay that rebuilt a
        # different graph could retrieve differently and diverge from its journal. One thread builds the same bytes.
        self._index.add(ids.astype(np.uint64), vectors, threads=1)

    def candidates(self, query: np.ndarray, count: int) -> np.ndarray | None:
        matches = self._index.search(query, count, threads=1)
        return np.asarray(matches.keys, dtype=np.int64)

    def nearest_and_farthest(self, query: np.ndarray, near: int, far: int) -> tuple[np.ndarray, np.ndarray]:
        """The `near` records nearest to `query` and the `far` nearest to −query (the least similar). Two calls
        on one thread: one call with both queries took longer here (9–11 ms against 2.3 + 3.7 ms at 1M records)."""
        return self.candidates(query, near), self.candidates(-query, far)

    def to_bytes(self) -> bytes | None:
        return bytes(self._index.save())


def make_index(kind: str, dimensions: int, data: bytes | None = None) -> NumpyIndex | USearchIndex:
    """`numpy`, `usearch`, or `auto` (usearch when installed, else numpy)."""
    if kind == "auto":
        try:
            import usearch.index  # noqa: F401
            kind = "usearch"
        except ImportError:
            kind = "numpy"
    if kind == "numpy":
        return NumpyIndex()
    if kind == "usearch":
        return USearchIndex(dimensions, data)
    raise ConfigError(f"memory index {kind!r} is unknown; indexes: auto, numpy, usearch")
