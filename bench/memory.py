"""Memory store: insert rate and top-10 retrieval latency at growing sizes, exact numpy scan vs usearch HNSW.

    python bench/memory.py [--sizes 10000 100000 1000000] [--dims 384] [--queries 50] [--scorers ...]
                           [--bounds index extremes] [--query-noise 0.3 0.05] [--store-dir DIR]
                           [--out bench/results/memory.md]

Each size builds two stores (`agentzoo.memory.MemoryStore`, SQLite files in a temporary folder), one per index,
inserting in batches of 10,000 (SQLite rows, numpy arrays and, for usearch, the HNSW graph); the insert rate is
records / wall time. Retrieval is top 10 by each scorer: `MemoryStore.score` (Generative Agents: weighted,
min-max-normalised recency + importance + relevance) and `score_concordia` (Concordia v1's raw sum). The numpy
store scans every record (exact); the usearch store runs the threshold algorithm of `agentzoo.memory.ranking`
(the graph's pool, its farthest records, the records in time order by kind and importance). Per query: median,
p90 and p95 over --queries queries, after a first query timed apart (it sorts the time order: once per store
opening, then kept up as records come); "vs scan" is the scan's median over this median, measured in the same
run; "agreement" is how many of the scan's top 10 the indexed store also returns, "identical" how many queries
got the same ten in the same order; "CPU" the process's CPU time per query (both search threads; unlike the
wall time, no wait for a core on a loaded machine); "scored" how many records per query had a score computed (all of them: a
scan, which a store this small chooses even with a graph, see `SCAN_FLOATS`); "graph search" the paired
nearest / farthest search alone, timed again on the same query, the rest of the median being the scoring.
Vectors: 1,000 random centres plus Gaussian noise, unit length (text embeddings cluster; uniformly random
vectors are the worst case for a graph index and build several times slower). Queries: a stored vector plus
Gaussian noise of --query-noise per dimension: 0.3 (the first version of this bench) drowns the vector (the
noise's norm is ~6 against 1: the nearest record's cosine is ~0.25, hardly above the rest), a hard case for a
graph; 0.05 (norm ~1) leaves a query whose nearest records stand out, as a question's do among memories.
Times: a month, importance uniform 1..10. No model, no gateway: this measures the store. The machine's
load average is printed before and after each row: the machine is shared. With --store-dir the stores are kept
there and reused by a later run with the same sizes and dimensions (to time queries again at a quieter moment
without rebuilding a million-record graph); a reused store's insert rate reads "reused".
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
from agentzoo.memory.store import DEFAULT_POOL, FAR_POOL, MemoryStore  # noqa: E402

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


def build(path: Path, index: str, pool: int, vectors: np.ndarray, importance: np.ndarray, times: np.ndarray) -> tuple[MemoryStore, float | None]:
    """A store holding the data, and its build's wall time (None: reused from a kept file with all the records)."""
    if path.exists():
        store = MemoryStore(path, index=index, pool=pool)
        if len(store) == len(vectors):
            return store, None
        store.close()
        path.unlink()
        Path(str(path) + ".usearch").unlink(missing_ok=True)
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
    ms, cpu, tops, scored, graph = [], [], [], [], []
    for q in queries:
        start, start_cpu = time.perf_counter(), time.process_time()
        tops.append(retrieve(store, scorer, q, now))
        ms.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        scored.append(store.last_scored)
        if store.last_scored < len(store):  # the graph path: its search timed apart on the same query
            unit = (q / np.linalg.norm(q)).astype(np.float32)
            start = time.perf_counter()
            store._index.nearest_and_farthest(unit, store.pool, FAR_POOL)
            graph.append((time.perf_counter() - start) * 1000)
    return {"first": first, "ms": ms, "cpu": statistics.median(cpu), "tops": tops, "scored": statistics.mean(scored),
            "graph": f"{statistics.median(graph):.2f}" if graph else "–"}


def rate(n: int, seconds: float | None) -> str:
    return "reused" if seconds is None else f"{n / seconds:,.0f}"


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
    parser.add_argument("--query-noise", type=float, nargs="+", default=[0.3])
    parser.add_argument("--bounds", nargs="+", default=["index"], choices=["index", "extremes"],
                        help="relevance bound(s) of the indexed path (MemoryStore(relevance_bound=...))")
    parser.add_argument("--store-dir", type=Path, default=None, help="keep the stores here and reuse them")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "memory.md")
    args = parser.parse_args()
    rows = []
    header = (f"# Memory store: insert rate and top-10 retrieval\n\n`python bench/memory.py --sizes "
              f"{' '.join(map(str, args.sizes))} --dims {args.dims} --queries {args.queries} --pool {args.pool} "
              f"--scorers {' '.join(args.scorers)} --bounds {' '.join(args.bounds)} "
              f"--query-noise {' '.join(map(str, args.query_noise))}"
              f"{f' --store-dir {args.store_dir}' if args.store_dir else ''}`\n\n"
              f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
              f"numpy {np.__version__}. Vectors: {args.dims} dims, clustered (see the bench's doc). "
              f"Run started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
              "| records | query noise | scorer | index | insert (records/s) | first query ms | top-10 median ms | p90 ms | p95 ms | "
              "CPU median ms | "
              "vs scan (median) | agreement with scan | identical lists | records scored | graph search median ms | "
              "load avg before → after |\n"
              "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for n in args.sizes:
        vectors, importance, times = data(n, args.dims)
        query_sets = {}
        for noise in args.query_noise:
            rng = np.random.default_rng(1)
            query_sets[noise] = vectors[rng.integers(0, n, args.queries)] + noise * rng.standard_normal(
                (args.queries, args.dims)).astype(np.float32)
        now = float(times[-1]) + 3600
        with tempfile.TemporaryDirectory() as scratch:
            tmp = args.store_dir or Path(scratch)
            tmp.mkdir(parents=True, exist_ok=True)
            before = load()
            exact_store, exact_s = build(tmp / f"numpy-{n}-{args.dims}.db", "numpy", args.pool, vectors, importance, times)
            exact = {}
            for noise, queries in query_sets.items():
                for scorer in args.scorers:
                    before = load() if exact else before
                    exact[noise, scorer] = e = measure(exact_store, scorer, queries, now)
                    rows.append(f"| {n:,} | {noise} | {scorer} | numpy (exact scan) | {rate(n, exact_s)} | "
                                f"{e['first']:.1f} | {statistics.median(e['ms']):.2f} | {pct(e['ms'], 0.9):.2f} | "
                                f"{pct(e['ms'], 0.95):.2f} | {e['cpu']:.2f} | 1.0× | 10/10 | {args.queries}/{args.queries} | {n:,} | – | "
                                f"{before} → {load()} |")
                    print(rows[-1], flush=True)
            exact_store.close()
            del exact_store
            before = load()
            ann_store, ann_s = build(tmp / f"usearch-{n}-{args.dims}.db", "usearch", args.pool, vectors, importance, times)
            first_row = True
            for bound in args.bounds:
                ann_store.relevance_bound = bound
                for noise, queries in query_sets.items():
                    for scorer in args.scorers:
                        before = before if first_row else load()
                        a, e = measure(ann_store, scorer, queries, now), exact[noise, scorer]
                        agree = statistics.mean(len(set(x) & set(y)) for x, y in zip(a["tops"], e["tops"]))
                        same = sum(x == y for x, y in zip(a["tops"], e["tops"]))
                        ratio = statistics.median(e["ms"]) / statistics.median(a["ms"])
                        rows.append(f"| {n:,} | {noise} | {scorer} | usearch HNSW (i8, pool {args.pool:,}, bound {bound}) | "
                                    f"{rate(n, ann_s)} | {a['first']:.1f} | {statistics.median(a['ms']):.2f} | "
                                    f"{pct(a['ms'], 0.9):.2f} | {pct(a['ms'], 0.95):.2f} | {a['cpu']:.2f} | {ratio:.1f}× | "
                                    f"{agree:.2f}/10 | {same}/{args.queries} | {a['scored']:,.0f} | {a['graph']} | {before} → {load()} |")
                        print(rows[-1], flush=True)
                        first_row = False
            ann_store.close()
        args.out.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")  # after each size: a cut run keeps its rows


if __name__ == "__main__":
    main()
