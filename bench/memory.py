"""Memory store: insert rate and top-10 retrieval latency at growing sizes, exact numpy scan vs usearch HNSW.

    python bench/memory.py [--sizes 10000 100000 1000000] [--dims 384] [--queries 50] [--out bench/results/memory.md]

Each size builds two stores (`agentzoo.memory.MemoryStore`, SQLite files in a temporary folder), one per
index, inserting in batches of 10,000 (SQLite rows, numpy arrays and, for usearch, the HNSW graph); the
insert rate is records / wall time. Retrieval is `MemoryStore.score` with the paper's weighted
recency + importance + relevance, k=10: the numpy store scans every record; the usearch store scores a
pool of --pool candidates from the graph (exact below that size; then a bound says which other records
could still rank and only those are scored). Latency is per query, median and p95 over
--queries queries; "top-10 agreement" is how many of the exact top 10 the usearch store also returns.
Vectors: 1,000 random centres plus Gaussian noise, unit length (text embeddings cluster; uniformly random
vectors are the worst case for a graph index and build several times slower). No model, no gateway: this
measures the store. The machine's load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from agentzoo.memory.scoring import Weights  # noqa: E402
from agentzoo.memory.store import DEFAULT_POOL, MemoryStore  # noqa: E402

BATCH = 10_000
KINDS = ("observation", "dialogue", "plan")


def data(n: int, dims: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, dims)).astype(np.float32)
    vectors = centres[rng.integers(0, 1000, n)] + 0.6 * rng.standard_normal((n, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    importance = rng.integers(1, 11, n).astype(np.float32)
    times = np.sort(rng.uniform(0, 30 * 24 * 3600, n))  # a month of simulated time
    return vectors, importance, times


def build(path: Path, index: str, pool: int, vectors: np.ndarray, importance: np.ndarray, times: np.ndarray) -> tuple[MemoryStore, float]:
    store = MemoryStore(path, index=index, pool=pool)
    start = time.perf_counter()
    for lo in range(0, len(vectors), BATCH):
        hi = min(lo + BATCH, len(vectors))
        store.add_many([(KINDS[i % 3], f"memory {i}", float(times[i]), float(importance[i]), vectors[i], ())
                        for i in range(lo, hi)])
    return store, time.perf_counter() - start


def latencies(store: MemoryStore, queries: np.ndarray, now: float) -> tuple[list[float], list[list[int]]]:
    out, tops = [], []
    for q in queries:
        start = time.perf_counter()
        found = store.score(q, now, 10, Weights())
        out.append((time.perf_counter() - start) * 1000)
        tops.append([r.record.id for r in found])
    return out, tops


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(round(0.95 * len(xs))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--pool", type=int, default=DEFAULT_POOL)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "memory.md")
    args = parser.parse_args()
    rows = []
    header = (f"# Memory store: insert rate and top-10 retrieval\n\n`python bench/memory.py --sizes "
              f"{' '.join(map(str, args.sizes))} --dims {args.dims} --queries {args.queries} --pool {args.pool}`\n\n"
              f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}. "
              f"Vectors: {args.dims} dims, clustered (see the bench's doc).\n\n"
              "| records | index | insert (records/s) | top-10 median ms | top-10 p95 ms | top-10 agreement with exact | load avg (1 min) |\n"
              "|---:|---|---:|---:|---:|---:|---:|\n")
    for n in args.sizes:
        vectors, importance, times = data(n, args.dims)
        rng = np.random.default_rng(1)
        queries = vectors[rng.integers(0, n, args.queries)] + 0.3 * rng.standard_normal((args.queries, args.dims)).astype(np.float32)
        now = float(times[-1]) + 3600
        with tempfile.TemporaryDirectory() as tmp:
            exact_store, exact_s = build(Path(tmp) / "numpy.db", "numpy", args.pool, vectors, importance, times)
            exact_ms, exact_tops = latencies(exact_store, queries, now)
            exact_store.close()
            del exact_store
            rows.append(f"| {n:,} | numpy (exact scan) | {n / exact_s:,.0f} | {statistics.median(exact_ms):.2f} | "
                        f"{p95(exact_ms):.2f} | 10/10 | {os.getloadavg()[0]:.2f} |")
            print(rows[-1], flush=True)
            ann_store, ann_s = build(Path(tmp) / "usearch.db", "usearch", args.pool, vectors, importance, times)
            ann_ms, ann_tops = latencies(ann_store, queries, now)
            ann_store.close()
            agree = statistics.mean(len(set(a) & set(b)) for a, b in zip(ann_tops, exact_tops))
            rows.append(f"| {n:,} | usearch HNSW (i8, pool {args.pool:,}) | {n / ann_s:,.0f} | {statistics.median(ann_ms):.2f} | "
                        f"{p95(ann_ms):.2f} | {agree:.1f}/10 | {os.getloadavg()[0]:.2f} |")
            print(rows[-1], flush=True)
        args.out.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")  # after each size: a cut run keeps its rows


if __name__ == "__main__":
    main()
