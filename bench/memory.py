"""Memory store: insert rate and top-10 retrieval latency at growing sizes, exact numpy scan vs usearch HNSW.

    python bench/memory.py [--sizes 10000 100000 1000000] [--dims 384] [--queries 50] [--scorers ...]
                           [--bounds index extremes] [--out bench/results/memory.md]

Each size builds two stores (`agentzoo.memory.MemoryStore`, SQLite files in a temporary folder), one per index,
inserting in batches of 10,000 (SQLite rows, numpy arrays and, for usearch, the HNSW graph); the insert rate is
records / wall time. Retrieval is top 10 by each scorer: `MemoryStore.score` (Generative Agents: weighted,
min-max-normalised recency + importance + relevance) and `score_concordia` (Concordia v1's raw sum). The numpy
store scans every record (exact); the usearch store runs the threshold algorithm of `agentzoo.memory.ranking`
(the graph's pool, its farthest records, the records in time order by kind and importance). Per query: median,
p90 and p95 over --queries queries, after a first query timed apart (it sorts the time order: once per store
opening, then kept up as records come); "vs scan" is the scan's median over this median, measured in the same
run; "agreement" is how many of the scan's top 10 the indexed store also returns, "identical" how many queries
got the same ten in the same order; "scored" how many records per query had a score computed.
Vectors: 1,000 random centres plus Gaussian noise, unit length (text embeddings cluster; uniformly random
vectors are the worst case for a graph index and build several times slower). Queries: a stored vector plus
noise. Times: a month, importance uniform 1..10. No model, no gateway: this measures the store. The machine's
load average is printed before and after each row: the machine is shared.
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
SCORERS = ("generative-agents", "concordia-v1")


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


def retrieve(store: MemoryStore, scorer: str, q: np.ndarray, now: float) -> list[int]:
    if scorer == "concordia-v1":
        found = store.score_concordia(q, 10)
    else:
        found = store.score(q, now, 10, Weights())
    return [r.record.id for r in found]


def measure(store: MemoryStore, scorer: str, queries: np.ndarray, now: float) -> dict:
    start = time.perf_counter()
    retrieve(store, scorer, queries[0], now)
    first = (time.perf_counter() - start) * 1000
    ms, tops, scored = [], [], []
    for q in queries:
        start = time.perf_counter()
        tops.append(retrieve(store, scorer, q, now))
        ms.append((time.perf_counter() - start) * 1000)
        scored.append(store.last_scored)
    return {"first": first, "ms": ms, "tops": tops, "scored": statistics.mean(scored)}


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[max(0, int(round(p * len(xs))) - 1)]


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--pool", type=int, default=DEFAULT_POOL)
    parser.add_argument("--scorers", nargs="+", default=list(SCORERS), choices=SCORERS)
    parser.add_argument("--bounds", nargs="+", default=["index"], choices=["index", "extremes"],
                        help="relevance bound(s) of the indexed path (MemoryStore(relevance_bound=...))")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "memory.md")
    args = parser.parse_args()
    rows = []
    header = (f"# Memory store: insert rate and top-10 retrieval\n\n`python bench/memory.py --sizes "
              f"{' '.join(map(str, args.sizes))} --dims {args.dims} --queries {args.queries} --pool {args.pool} "
              f"--scorers {' '.join(args.scorers)} --bounds {' '.join(args.bounds)}`\n\n"
              f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
              f"numpy {np.__version__}. Vectors: {args.dims} dims, clustered (see the bench's doc). "
              f"Run started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
              "| records | scorer | index | insert (records/s) | first query ms | top-10 median ms | p90 ms | p95 ms | "
              "vs scan (median) | agreement with scan | identical lists | records scored | load avg before → after |\n"
              "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for n in args.sizes:
        vectors, importance, times = data(n, args.dims)
        rng = np.random.default_rng(1)
        queries = vectors[rng.integers(0, n, args.queries)] + 0.3 * rng.standard_normal((args.queries, args.dims)).astype(np.float32)
        now = float(times[-1]) + 3600
        with tempfile.TemporaryDirectory() as tmp:
            before = load()
            exact_store, exact_s = build(Path(tmp) / "numpy.db", "numpy", args.pool, vectors, importance, times)
            exact = {}
            for scorer in args.scorers:
                before = load() if exact else before
                exact[scorer] = measure(exact_store, scorer, queries, now)
                e = exact[scorer]
                rows.append(f"| {n:,} | {scorer} | numpy (exact scan) | {n / exact_s:,.0f} | {e['first']:.1f} | "
                            f"{statistics.median(e['ms']):.2f} | {pct(e['ms'], 0.9):.2f} | {pct(e['ms'], 0.95):.2f} | "
                            f"1.0× | 10/10 | {args.queries}/{args.queries} | {n:,} | {before} → {load()} |")
                print(rows[-1], flush=True)
            exact_store.close()
            del exact_store
            before = load()
            ann_store, ann_s = build(Path(tmp) / "usearch.db", "usearch", args.pool, vectors, importance, times)
            first_row = True
            for bound in args.bounds:
                ann_store.relevance_bound = bound
                for scorer in args.scorers:
                    before = before if first_row else load()
                    a, e = measure(ann_store, scorer, queries, now), exact[scorer]
                    agree = statistics.mean(len(set(x) & set(y)) for x, y in zip(a["tops"], e["tops"]))
                    same = sum(x == y for x, y in zip(a["tops"], e["tops"]))
                    ratio = statistics.median(e["ms"]) / statistics.median(a["ms"])
                    rows.append(f"| {n:,} | {scorer} | usearch HNSW (i8, pool {args.pool:,}, bound {bound}) | "
                                f"{n / ann_s:,.0f} | {a['first']:.1f} | {statistics.median(a['ms']):.2f} | "
                                f"{pct(a['ms'], 0.9):.2f} | {pct(a['ms'], 0.95):.2f} | {ratio:.1f}× | {agree:.2f}/10 | "
                                f"{same}/{args.queries} | {a['scored']:,.0f} | {before} → {load()} |")
                    print(rows[-1], flush=True)
                    first_row = False
            ann_store.close()
        args.out.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")  # after each size: a cut run keeps its rows


if __name__ == "__main__":
    main()
