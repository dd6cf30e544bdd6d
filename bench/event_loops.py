"""asyncio's event loop against uvloop, in interleaved pairs: the same runner, the same server, one
round on each loop, then the next pair.

    python bench/event_loops.py [--runners agentzoo,library-floor,floor] [--tasks 10000] [--pairs 4]
    python bench/event_loops.py --mode http-cpu [--pairs 6]

Each round is bench/agents.py's concurrency row (N concurrent 5-turn tasks against the stub server
with 50 ms of latency, a fresh process), or with `--mode http-cpu` its CPU row (process CPU
per model turn, 20 ten-turn tasks one after another against the server with no latency). This
machine's speed drifts by 2x within minutes, so rows measured one after another (as
bench/agents.py does) cannot tell a 20 % change; a pair run back to back can. Reported per runner:
each pair's figures on both loops, each pair's ratio, and the median ratio. agentzoo's loop is
chosen with AGENTZOO_EVENT_LOOP, the floors' with BENCH_LOOP (bench/peers/_common.py). Results:
Markdown on stdout and in bench/results/event_loops{,-cpu}.md, everything in the JSON beside it.
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


def _round(runner: str, loop: str, mode: str, tasks: int, server: Server, timeout: float) -> dict:
    variable = LOOP_ENV.get(runner, "BENCH_LOOP")
    args = (["concurrency", str(tasks)] if mode == "concurrency" else ["http-cpu", "--tasks", "20", "--warmup", "3"])
    d = run_runner(runner, [*args, "--base-url", server.base_url], timeout=timeout, env=_env({variable: loop}))
    if "error" in d or (mode == "concurrency" and d.get("ok") != tasks):
        raise RuntimeError(f"{runner} on {loop}: {d.get('error') or d.get('errors')}")
    if d.get("event_loop") != loop:
        raise RuntimeError(f"{runner} asked for {loop} ran on {d.get('event_loop')}")
    if mode == "http-cpu":  # one figure: CPU per step; "tasks_per_s" is then steps per CPU second
        return {"tasks_per_s": round(1000 / d["cpu_per_step_ms"], 1), "cpu_s": round(d["cpu_per_step_ms"], 4),
                "peak_rss_mb": round(d["peak_rss_mb"], 1)}
    return {"tasks_per_s": round(d["tasks_per_s"], 1), "cpu_s": round(d["cpu_s"], 2),
            "peak_rss_mb": round(d["peak_rss_mb"], 1)}


def measure(runners: list[str], mode: str, tasks: int, pairs: int, timeout: float) -> dict:
    server = Server(turns=5, latency_ms=50) if mode == "concurrency" else Server(turns=10, latency_ms=0)
    out: dict = {}
    try:
        for runner in runners:
            rows = []
            for i in range(pairs):
                pair = {loop: _round(runner, loop, mode, tasks, server, timeout) for loop in ("asyncio", "uvloop")}
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
    if c.get("mode", "concurrency") == "concurrency":
        what, rate, cpu = (f"{c['tasks']:,} concurrent 5-turn tasks, 50 ms server latency", "tasks/s", "CPU s")
    else:
        what, rate, cpu = ("CPU per model turn, 20 ten-turn tasks one after another, no server latency",
                           "steps per CPU s", "CPU ms/step")
    lines = ["# asyncio's loop against uvloop, interleaved pairs (bench/event_loops.py)", "",
             f"Machine: {m.get('cpu', '?')}, {m['cores']} cores, Python {m['python']}; agentzoo "
             f"{m.get('agentzoo_git', '')}; {m['date']}; {what}, {c['pairs']} pairs per runner, each pair one "
             "round on each loop, back to back.", "",
             f"| runner | pair | asyncio {rate} | uvloop {rate} | uvloop / asyncio | asyncio {cpu} | uvloop {cpu} | "
             "CPU uvloop / asyncio |", "|---|---|---|---|---|---|---|---|"]
    for runner, r in report["results"].items():
        for i, p in enumerate(r["pairs"], 1):
            lines.append(f"| {runner} | {i} | {p['asyncio']['tasks_per_s']:,.0f} | {p['uvloop']['tasks_per_s']:,.0f} | "
                         f"{p['tasks_per_s_ratio']:.2f}× | {p['asyncio']['cpu_s']:.3g} | {p['uvloop']['cpu_s']:.3g} | "
                         f"{p['cpu_ratio']:.2f}× |")
        lines.append(f"| **{runner}** | median | | | **{r['median_tasks_per_s_ratio']:.2f}×** | | | "
                     f"**{r['median_cpu_ratio']:.2f}×** |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runners", default="agentzoo,library-floor,floor")
    p.add_argument("--mode", choices=("concurrency", "http-cpu"), default="concurrency")
    p.add_argument("--tasks", type=int, default=10000, help="concurrent tasks per round (concurrency mode)")
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--timeout", type=float, default=600, help="seconds a round may take")
    p.add_argument("--out", help="default: bench/results/event_loops.json (concurrency), event_loops-cpu.json")
    a = p.parse_args()
    runners = [r.strip() for r in a.runners.split(",") if r.strip()]
    report = {"machine": machine(), "config": {"mode": a.mode, "tasks": a.tasks, "pairs": a.pairs},
              "results": measure(runners, a.mode, a.tasks, a.pairs, a.timeout)}
    text = markdown(report)
    name = "event_loops.json" if a.mode == "concurrency" else "event_loops-cpu.json"
    out = Path(a.out or BENCH / "results" / name)
    out.write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
