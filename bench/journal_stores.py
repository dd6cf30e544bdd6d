"""Journal writes per second on each store: the embedded SQLite file and a PostgreSQL server.

    python bench/journal_stores.py [--runs 100] [--steps 10] [--rounds 3] [--out bench/results/journal_stores.json]

One process, one event loop: --runs runs at once (asyncio.gather), each --steps model calls of a scripted
model with a tool call between them. The tool is not declared pure, so each of its calls is committed
before its result is used (effects that finish in the same loop turn share a group commit); the scripted
model's entries go in with the next commit. Writes/s = entries in the journal / wall time of the runs.

Stores:
- sqlite: a file in WAL mode with synchronous=NORMAL (agentzoo's default: no fsync per commit);
- postgresql: a server started for the bench on 127.0.0.1 (tests/helpers/postgres.py) with PostgreSQL's
  defaults: the WAL is fsync'd at every commit;
- postgresql, synchronous_commit=off: the same server, the journal's session asking for no wait on the
  WAL flush (a server crash may lose the last commits, never corrupt: the promise SQLite's NORMAL makes).

Each round uses a new journal; the figure is the median of --rounds rounds, every round reported.
The machine's load average is printed: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import agentzoo  # noqa: E402
from agentzoo import Journal  # noqa: E402
from helpers import postgres  # noqa: E402 - tests/helpers/postgres.py: a throwaway server
from helpers.journal_writer import adder  # noqa: E402 - the scripted adder of the concurrent-writers test


async def one_round(location: str | Path, runs: int, steps: int) -> dict:
    with Journal(location) as journal:
        started = time.perf_counter()
        results = await asyncio.gather(*(agentzoo.run(adder(steps), f"task {i}", journal=journal)
                                         for i in range(runs)))
        wall = time.perf_counter() - started
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        entries = sum(1 for r in results for _ in journal.entries(r.run_id))
    return {"entries": entries, "wall_s": round(wall, 4), "writes_per_s": round(entries / wall, 1)}


def measure(name: str, locations, runs: int, steps: int, rounds: int) -> dict:
    per_round = [asyncio.run(one_round(next(locations), runs, steps)) for _ in range(rounds)]
    median = statistics.median(r["writes_per_s"] for r in per_round)
    print(f"{name:40s} {median:10,.0f} writes/s   rounds: "
          + ", ".join(f"{r['writes_per_s']:,.0f}" for r in per_round), flush=True)
    return {"writes_per_s": median, "rounds": per_round}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    print(f"{args.runs} concurrent runs x {args.steps} model calls ({2 * args.steps - 1} entries a run); "
          f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
    report = {"runs": args.runs, "steps": args.steps, "rounds": args.rounds, "machine": platform.platform(),
              "cores": os.cpu_count(), "load_start": os.getloadavg()[0], "stores": {}}
    with tempfile.TemporaryDirectory(prefix="agentzoo-bench-") as tmp:
        files = (Path(tmp) / f"journal-{i}.db" for i in range(args.rounds))
        report["stores"]["sqlite"] = measure("sqlite (WAL, synchronous=NORMAL)", files, args.runs, args.steps,
                                             args.rounds)
    server = postgres.start(durable=True)
    try:
        report["postgresql_version"] = server.version()
        schemas = (server.database(f"bench_{i}") for i in range(args.rounds))
        report["stores"]["postgresql"] = measure("postgresql (defaults: fsync per commit)", schemas,
                                                 args.runs, args.steps, args.rounds)
        relaxed = (server.database(f"bench_async_{i}") + "?options=-csynchronous_commit%3Doff"
                   for i in range(args.rounds))
        report["stores"]["postgresql_synchronous_commit_off"] = measure(
            "postgresql (synchronous_commit=off)", relaxed, args.runs, args.steps, args.rounds)
    finally:
        server.stop()
    report["load_end"] = os.getloadavg()[0]
    ratio = report["stores"]["postgresql"]["writes_per_s"] / report["stores"]["sqlite"]["writes_per_s"]
    print(f"postgresql / sqlite: {ratio:.2f}x; load average at end {report['load_end']:.1f}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
