"""asyncio's event loop against uvloop, in interleaved pairs: the same runner, the same server, one
round on each loop, then the next pair.

    python bench/event_loops.py [--runners agentzoo,library-floor,floor] [--tasks 10000] [--pairs 4]

Each round is bench/agents.py's concurrency row (N concurrent 5-turn tasks against the stub server
with 50 ms of latency, a fresh process). This machine's speed drifts by 2x within minutes, so rows
measured one after another (as bench/agents.py does) cannot tell a 20 % change; a pair run back to
back can. Reported per runner: each pair's tasks/s and CPU seconds on both loops, each pair's ratio,
and the median ratio. agentzoo's loop is chosen with AGENTZOO_EVENT_LOOP, the floors' with
BENCH_LOOP (bench/peers/_common.py). Results: Markdown on stdout and in bench/results/event_loops.md,
everything in the JSON beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from agents import BENCH, Server, _env, machine, run_runner

LOOP_ENV = {"agentzoo": "AGENTZOO_EVENT_LOOP"}  # the floors read BENCH_LOOP


def _round(runner: str, loop: str, tasks: int, server: Server, timeout: float) -> dict:
    variable = LOOP_ENV.get(runner, "BENCH_LOOP")
    d = run_runner(runner, ["concurrency", str(tasks), "--base-url", server.base_url], timeout=timeout,
                   env=_env({variable: loop}))
    if "error" in d or d.get("ok") != tasks:
        raise RuntimeError(f"{runner} on {loop}: {d.get('error') or d.get('errors')}")
    if d.get("event_loop") != loop:
        raise RuntimeError(f"{runner} asked for {loop} ran on {d.get('event_loop')}")
    return {"tasks_per_s": round(d["tasks_per_s"], 1), "cpu_s": round(d["cpu_s"], 2),
            "peak_rss_mb": round(d["peak_rss_mb"], 1)}


def measure(runners: list[str], tasks: int, pairs: int, timeout: float) -> dict:
    server = Server(turns=5, latency_ms=50)
    out: dict = {}
    try:
        for runner in runners:
            rows = []
            for i in range(pairs):
                pair = {loop: _round(runner, loop, tasks, server, timeout) for loop in ("asyncio", "uvloop")}
                pair["tasks_per_s_ratio"] = round(pair["uvloop"]["tasks_per_s"] / pair["asyncio"]["tasks_per_s"], 3)
                pair["cpu_ratio"] = round(pair["uvloop"]["cpu_s"] / pair["asyncio"]["cpu_s"], 3)
                print(f"[event_loops {time.strftime('%H:%M:%S')}] {runner} pair {i + 1}: {pair}", file=sys.stderr,
                      flush=True)
                rows.append(pair)
            out[runner] = {"pairs": rows,
                           "median_tasks_per_s_ratio": statistics.median(p["tasks_per_s_ratio"] for p in rows),
                           "median_cpu_ratio": statistics.median(p["cpu_ratio"] for p in rows)}
    finally:
        server.close()
    return out


def markdown(report: dict) -> str:
    m, c = report["machine"], report["config"]
    lines = ["# asyncio's loop against uvloop, interleaved pairs (bench/event_loops.py)", "",
             f"Machine: {m.get('cpu', '?')}, {m['cores']} cores, Python {m['python']}; agentzoo "
             f"{m.get('agentzoo_git', '')}; {m['date']}; {c['tasks']:,} concurrent 5-turn tasks, 50 ms server "
             f"latency, {c['pairs']} pairs per runner, each pair one round on each loop, back to back.", "",
             "| runner | pair | asyncio tasks/s | uvloop tasks/s | uvloop / asyncio | asyncio CPU s | uvloop CPU s | "
             "CPU uvloop / asyncio |", "|---|---|---|---|---|---|---|---|"]
    for runner, r in report["results"].items():
        for i, p in enumerate(r["pairs"], 1):
            lines.append(f"| {runner} | {i} | {p['asyncio']['tasks_per_s']:,.0f} | {p['uvloop']['tasks_per_s']:,.0f} | "
                         f"{p['tasks_per_s_ratio']:.2f}× | {p['asyncio']['cpu_s']:.1f} | {p['uvloop']['cpu_s']:.1f} | "
                         f"{p['cpu_ratio']:.2f}× |")
        lines.append(f"| **{runner}** | median | | | **{r['median_tasks_per_s_ratio']:.2f}×** | | | "
                     f"**{r['median_cpu_ratio']:.2f}×** |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runners", default="agentzoo,library-floor,floor")
    p.add_argument("--tasks", type=int, default=10000)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--timeout", type=float, default=600, help="seconds a round may take")
    p.add_argument("--out", default=str(BENCH / "results" / "event_loops.json"))
    a = p.parse_args()
    report = {"machine": machine(), "config": {"tasks": a.tasks, "pairs": a.pairs},
              "results": measure([r.strip() for r in a.runners.split(",") if r.strip()], a.tasks, a.pairs, a.timeout)}
    text = markdown(report)
    out = Path(a.out)
    out.write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
