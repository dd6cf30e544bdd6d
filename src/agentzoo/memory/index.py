"""Vector indexes for the memory store: an exact numpy scan, and usearch's HNSW graph for large streams.

The store keeps every embedding in one float32 matrix (unit rows), so relevance is always the exact
cosine; an index only chooses which records to compute it for. `NumpyIndex` chooses all of them
(exact, linear in the stream); `USearchIndex` asks an HNSW graph for the `pool` nearest (sub-linear,
approximate). bench/memory.py measured both (bench/results/memory.md): at 1M records a top-10
retrieval took 222 ms by scan and 41 ms through the graph (the issue's 20 ms is not met yet: most of
the 41 ms is the per-record recency and importance arithmetic, not the graph). sqlite-vec was the other
candidate: this Python's sqlite3 cannot load extensions, and its vec0 table is a scan as well.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

USEARCH_DTYPE = "i8"
"""Stored quantised to 8 bits: fastest to build and to search on the measuring machine (the pool is
re-scored with exact float32 cosines, so quantisation only affects which records are in the pool)."""


SEARCH_THREADS = 2
"""Threads for the paired nearest / farthest search (see `USearchIndex.nearest_and_farthest`)."""


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

    def nearest_and_farthest(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The `count` records nearest to `query` and the `count` nearest to −query (the least similar), in one
        call: two searches of one graph, on two threads when there are two cores. A search only reads the graph,
        so its answer is the same on any number of threads (only building depends on them)."""
        matches = self._index.search(np.stack([query, -query]), count, threads=SEARCH_THREADS)
        keys = np.asarray(matches.keys, dtype=np.int64)
        return keys[0], keys[1]

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
