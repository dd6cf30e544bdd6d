"""Long runs: does agentzoo's cost per step stay flat as a run grows to 1,000 steps?

    python bench/long_runs.py [--rounds 3] [--lengths 10,100,1000] [--out FILE.json]

Part of bench/agents.py's report (its `long_runs` section, rows and targets); run alone, it
prints the section's Markdown and writes the JSON only where --out says. Measured:

- cpu:  agentzoo's runner (bench/peers/agentzoo_.py, the same agent, declarations and journal as
        the http-cpu / inproc-cpu rows) on tasks of N model turns, N in `lengths`, in-process
        (ScriptedModel) and over HTTP to the stub server (bench/peers/_stub_server.py, zero
        latency, playing N turns). Each measurement runs max(1, 1000 // N) tasks, so ~1,000 steps
        whatever N, after warm-up tasks of the same length, in a fresh process per round:
        process CPU per step, and journal bytes per step (the measured tasks' journal file once
        closed, less an empty journal's size). The two floors run the same lengths for context:
        a request carries the whole conversation, so encoding it grows with the run for every
        client; that growth is not the journal's.
- show / replay: a 1,000-step run made as a user makes one (`agentzoo run --model
        scripted:FILE --tools agentzoo.examples.demo:add`, so the run stores its spec and
        replays), then `agentzoo show RUN`, `agentzoo show RUN --json` and `agentzoo replay RUN`
        in child processes (stdout to a file): wall time, and peak RSS from wait4's rusage.
        "Beyond start-up" subtracts the median wall time of `python -c "import agentzoo.cli.main"`
        (the imports every command pays before it reads the journal). One warm-up call of each
        command is discarded (not with agents.py --quick).

Targets (issue 22): CPU/step at 1,000 vs 10 steps ≤ 1.3×; journal bytes/step at 1,000 vs 10
≤ 1.5×; show ≤ 0.5 s beyond start-up and ≤ 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# agents.py holds the shared harness (server process, runner invocation, environment); when it is
# the __main__ module it registers itself as `agents` before importing this one.
from agents import AGENTZOO_PY, BENCH, Server, _env, _fmt, log, run_runner

AGENTZOO_CLI = AGENTZOO_PY.parent / "agentzoo"
STEPS_PER_MEASURE = 1000
SHOW_STEPS = 1000
# runner name -> the modes it runs in the long-run rows
LONG_RUNNERS = {"agentzoo": ("inproc", "http"), "floor": ("inproc", "http"), "library-floor": ("http",)}
MODE_ARG = {"inproc": "inproc-cpu", "http": "http-cpu"}
TASK = "Add the numbers 1..{n} with the add tool, one addition per call, then reply with the sum."

TARGETS = {"cpu_ratio": 1.3, "bytes_ratio": 1.5, "show_s": 0.5, "show_mb": 100.0}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# --- CPU and journal bytes per step ----------------------------------------------------------


def _tasks(n: int) -> tuple[int, int]:
    """(measured tasks, warm-up tasks) for runs of n steps: ~1,000 measured steps, ≥ 20 warm-up."""
    return max(1, STEPS_PER_MEASURE // n), max(1, 20 // n)


def measure_cpu(names: list[str], lengths: list[int], rounds: int) -> dict:
    """{runner: {mode: {str(n): cell}}}; a cell holds the median and every round."""
    out: dict = {name: {mode: {} for mode in LONG_RUNNERS[name]} for name in names if name in LONG_RUNNERS}
    for n in lengths:
        server = Server(turns=n, latency_ms=0)
        try:
            for name, modes in out.items():
                for mode in modes:
                    tasks, warmup = _tasks(n)
                    cell: dict = {"turns": n, "tasks": tasks, "warmup": warmup, "rounds": []}
                    for _ in range(rounds):
                        d = run_runner(name, [MODE_ARG[mode], "--base-url", server.base_url, "--turns", str(n),
                                              "--tasks", str(tasks), "--warmup", str(warmup)], timeout=1800)
                        if "error" in d:
                            cell["error"] = d["error"]
                            log(f"  long {name} {mode} {n}: ERROR {d['error'][:200]}")
                            break
                        cell["rounds"].append({k: d.get(k) for k in (
                            "cpu_per_step_ms", "journal_bytes_per_step", "steps", "ok", "wall_s", "peak_rss_mb")})
                    _summarize_cell(cell)
                    modes[mode][str(n)] = cell
                    log(f"  long {name} {mode} {n} steps: {_fmt(cell.get('cpu_per_step_ms'), 3)} ms/step "
                        f"{cell.get('rounds_cpu_per_step_ms', [])}, "
                        f"{_fmt(cell.get('journal_bytes_per_step'), 0)} B/step")
        finally:
            server.close()
    return out


def _summarize_cell(cell: dict) -> None:
    rs = cell["rounds"]
    if not rs:
        return
    cell["cpu_per_step_ms"] = _median([r["cpu_per_step_ms"] for r in rs])
    cell["rounds_cpu_per_step_ms"] = [round(r["cpu_per_step_ms"], 4) for r in rs]
    if rs[0].get("journal_bytes_per_step") is not None:
        cell["journal_bytes_per_step"] = _median([r["journal_bytes_per_step"] for r in rs])
        cell["rounds_journal_bytes_per_step"] = [round(r["journal_bytes_per_step"], 1) for r in rs]
    cell["peak_rss_mb"] = max(r["peak_rss_mb"] or 0 for r in rs)
    cell["ok"] = sum(r["ok"] or 0 for r in rs)
    cell["of"] = cell["tasks"] * len(rs)


# --- show and replay of a 1,000-step run -----------------------------------------------------


def _script(n: int) -> list:
    """n model turns for demo's `add`: n-1 calls adding 1..n, then the sum as text."""
    steps: list = [{"tool_calls": [{"name": "add", "arguments": {"a": k * (k + 1) // 2, "b": k + 1}}]}
                   for k in range(1, n)]
    return [*steps, f"The sum is {n * (n + 1) // 2}."]


def _child(cmd: list[str], out_path: Path, env: dict[str, str]) -> dict:
    """Run cmd with stdout to out_path; its wall time, CPU, peak RSS (wait4) and exit code."""
    t0 = time.perf_counter()
    with open(out_path, "wb") as out, open(out_path.with_suffix(".err"), "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=str(BENCH.parent))
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    d = {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024.0,
         "exit": proc.returncode, "stdout_bytes": out_path.stat().st_size}
    if proc.returncode != 0:
        tail = out_path.with_suffix(".err").read_text(errors="replace").strip().splitlines()[-3:]
        d["error"] = f"exit {proc.returncode}: {' | '.join(tail)[:400]}"
    return d


def _repeat(cmd: list[str], rounds: int, tmp: Path, label: str, env: dict[str, str], warmup: bool) -> dict:
    """A discarded warm-up call (unless not `warmup`), then `rounds` measured ones: medians and every round."""
    runs = []
    for i in range(rounds + warmup):
        d = _child(cmd, tmp / f"{label}.out", env)
        if "error" in d:
            log(f"  {label}: ERROR {d['error']}")
            return {"error": d["error"], "rounds": runs}
        if i or not warmup:
            runs.append(d)
    return {"wall_s": _median([r["wall_s"] for r in runs]), "cpu_s": _median([r["cpu_s"] for r in runs]),
            "peak_rss_mb": _median([r["peak_rss_mb"] for r in runs]),
            "stdout_bytes": runs[0]["stdout_bytes"],
            "rounds_wall_s": [round(r["wall_s"], 3) for r in runs],
            "rounds_peak_rss_mb": [round(r["peak_rss_mb"], 1) for r in runs]}


def measure_show(rounds: int, steps: int = SHOW_STEPS, warmup: bool = True) -> dict:
    """Make a run of `steps` steps with the CLI, then time show, show --json and replay of it."""
    env = _env({"AGENTZOO_OFFLINE": "1", "COLUMNS": "120"})
    env.pop("AGENTZOO_JOURNAL", None)
    env.pop("AGENTZOO_MODEL", None)
    with tempfile.TemporaryDirectory(prefix="bench-long-") as d:
        tmp = Path(d)
        script, journal = tmp / "script.json", tmp / "journal.db"
        script.write_text(json.dumps(_script(steps)))
        made = _child([str(AGENTZOO_CLI), "run", TASK.format(n=steps), "--model", f"scripted:{script}",
                       "--tools", "agentzoo.examples.demo:add", "--max-steps", str(steps),
                       "--journal", str(journal)], tmp / "run.out", env)
        out: dict = {"steps": steps, "run": {k: made.get(k) for k in ("wall_s", "cpu_s", "peak_rss_mb", "error")}}
        if "error" in made:
            log(f"  long show: making the {steps}-step run failed: {made['error']}")
            return out
        out["run"]["journal_bytes"] = sum(p.stat().st_size for p in tmp.glob("journal.db*"))
        log(f"  long show: made a {steps}-step run in {made['wall_s']:.1f} s, "
            f"journal {out['run']['journal_bytes'] / 2**20:.1f} MiB")
        base = [str(AGENTZOO_CLI)]
        for label, cmd in (
                ("startup", [str(AGENTZOO_PY), "-c", "import agentzoo.cli.main"]),
                ("show", [*base, "show", "latest", "--journal", str(journal)]),
                ("show_json", [*base, "show", "latest", "--json", "--journal", str(journal)]),
                ("replay", [*base, "replay", "latest", "--journal", str(journal)])):
            r = _repeat(cmd, rounds, tmp, label, env, warmup)
            out[label] = r
            if label != "startup" and "error" not in r and out["startup"].get("wall_s") is not None:
                su = out["startup"]["wall_s"]
                r["beyond_startup_s"] = r["wall_s"] - su
                r["rounds_beyond_startup_s"] = [round(w - su, 3) for w in r["rounds_wall_s"]]
            log(f"  long {label}: {_fmt(r.get('wall_s'), 3)} s {r.get('rounds_wall_s')}, "
                f"{_fmt(r.get('peak_rss_mb'), 0)} MB")
    return out


# --- the section -----------------------------------------------------------------------------


def measure(names: list[str], lengths: list[int], rounds: int, warmup: bool = True) -> dict:
    """The section; `warmup=False` (agents.py --quick) skips the discarded first call of each command."""
    log(f"long runs: lengths {lengths}, {rounds} rounds, runners {[n for n in names if n in LONG_RUNNERS]}")
    section = {"config": {"lengths": lengths, "rounds": rounds, "steps_per_measure": STEPS_PER_MEASURE,
                          "show_steps": SHOW_STEPS, "show_warmup_discarded": warmup},
               "cpu": measure_cpu(names, lengths, rounds)}
    if "agentzoo" in names:
        section["show"] = measure_show(rounds, warmup=warmup)
    return section


def _cell(section: dict, name: str, mode: str, n: int) -> dict:
    return (((section.get("cpu") or {}).get(name) or {}).get(mode) or {}).get(str(n)) or {}


def _ratio(a, b):
    return a / b if a is not None and b else None


def _minus(a, b):
    return a - b if a is not None and b is not None else None


def summarize(section: dict) -> dict:
    """The issue's long-run targets, from the section's medians (longest vs shortest length)."""
    lengths = section["config"]["lengths"]
    lo, hi = min(lengths), max(lengths)
    out: dict = {"short": lo, "long": hi}
    for mode in ("inproc", "http"):
        a, b = _cell(section, "agentzoo", mode, hi), _cell(section, "agentzoo", mode, lo)
        cpu = _ratio(a.get("cpu_per_step_ms"), b.get("cpu_per_step_ms"))
        byt = _ratio(a.get("journal_bytes_per_step"), b.get("journal_bytes_per_step"))
        floors = {f: _ratio(_cell(section, f, mode, hi).get("cpu_per_step_ms"),
                            _cell(section, f, mode, lo).get("cpu_per_step_ms")) for f in ("floor", "library-floor")}
        # agentzoo's own CPU per step: less the floor on the same wire (the library floor over HTTP).
        ref = "library-floor" if mode == "http" else "floor"
        own = {n: _minus(_cell(section, "agentzoo", mode, n).get("cpu_per_step_ms"),
                         _cell(section, ref, mode, n).get("cpu_per_step_ms")) for n in (lo, hi)}
        out[mode] = {"cpu_ratio": cpu, "cpu_met": cpu is not None and cpu <= TARGETS["cpu_ratio"],
                     "bytes_ratio": byt, "bytes_met": byt is not None and byt <= TARGETS["bytes_ratio"],
                     "floor_cpu_ratio": floors["floor"], "library_floor_cpu_ratio": floors["library-floor"],
                     "own_reference": ref, "own_cpu_per_step_ms": {str(n): v for n, v in own.items()},
                     "own_cpu_ratio": _ratio(own[hi], own[lo])}
    show = (section.get("show") or {}).get("show") or {}
    s, mb = show.get("beyond_startup_s"), show.get("peak_rss_mb")
    out["show"] = {"beyond_startup_s": s, "peak_rss_mb": mb,
                   "met": s is not None and mb is not None and s <= TARGETS["show_s"] and mb <= TARGETS["show_mb"]}
    return out


def markdown(section: dict) -> list[str]:
    lengths, rounds = section["config"]["lengths"], section["config"]["rounds"]
    s = summarize(section)
    lines = ["## Long runs (bench/long_runs.py)", "",
             f"Tasks of N model turns, max(1, {STEPS_PER_MEASURE:,} // N) tasks per measurement (~1,000 steps), "
             f"fresh process per round, median of {rounds} round(s) (every round in brackets). Journal bytes: "
             "the measured tasks' journal file once closed, less an empty journal. The floors have no journal; "
             "their growth over HTTP is what sending the whole conversation at every step costs any client, "
             "so the targets table also gives agentzoo's CPU/step less the library floor's (its own cost) at "
             "both lengths. The in-process test doubles read the turn from the last message (O(1) per step).", "",
             "| runner | mode | " + " | ".join(f"CPU ms/step @{n:,}" for n in lengths) + " | "
             + " | ".join(f"journal B/step @{n:,}" for n in lengths) + f" | CPU {s['long']:,} vs {s['short']:,} |",
             "|" + "---|" * (3 + 2 * len(lengths))]
    for name, modes in (section.get("cpu") or {}).items():
        for mode in modes:
            cells = [_cell(section, name, mode, n) for n in lengths]
            cpu = [(f"{_fmt(c.get('cpu_per_step_ms'), 3)} {c.get('rounds_cpu_per_step_ms', '')}" if not c.get("error")
                    else "error") for c in cells]
            byt = [(f"{_fmt(c.get('journal_bytes_per_step'), 0)} {c.get('rounds_journal_bytes_per_step', '')}"
                    if c.get("journal_bytes_per_step") is not None else "—") for c in cells]
            ratio = _ratio(cells[-1].get("cpu_per_step_ms"), cells[0].get("cpu_per_step_ms"))
            lines.append(f"| {name} | {mode} | " + " | ".join(cpu) + " | " + " | ".join(byt)
                         + f" | {_fmt(ratio, 2)}× |")
    for name, modes in (section.get("cpu") or {}).items():
        for mode, cells in modes.items():
            for n, c in cells.items():
                if c.get("error"):
                    lines.append(f"- error in {name} {mode} @{int(n):,}: `{str(c['error'])[:300]}`")
    show = section.get("show") or {}
    if show:
        run = show.get("run") or {}
        lines += ["", f"A {show['steps']:,}-step run made with `agentzoo run --model scripted:FILE --tools "
                  f"agentzoo.examples.demo:add` (each effect its own commit, as for a user): "
                  f"{_fmt(run.get('wall_s'), 1)} s, journal {_fmt((run.get('journal_bytes') or 0) / 2**20, 1)} MiB"
                  + (f"; error: `{run['error']}`" if run.get("error") else "") + ".", "",
                  "| command | wall s | beyond start-up s | peak RSS MB | rounds: wall s | rounds: RSS MB |",
                  "|---|---|---|---|---|---|"]
        for label, what in (("startup", 'python -c "import agentzoo.cli.main"'), ("show", "agentzoo show RUN"),
                            ("show_json", "agentzoo show RUN --json"), ("replay", "agentzoo replay RUN")):
            r = show.get(label) or {}
            if r.get("error"):
                lines.append(f"| `{what}` | error: `{r['error'][:200]}` | | | | |")
                continue
            lines.append(f"| `{what}` | {_fmt(r.get('wall_s'), 3)} | {_fmt(r.get('beyond_startup_s'), 3)} | "
                         f"{_fmt(r.get('peak_rss_mb'), 0)} | {r.get('rounds_wall_s', '')} | "
                         f"{r.get('rounds_peak_rss_mb', '')} |")
    return lines + [""]


def target_rows(section: dict) -> list[str]:
    """Rows for agents.py's targets table: metric | agentzoo | floor | ... | target | met."""
    s = summarize(section)
    lo, hi = s["short"], s["long"]
    rows = []
    for mode, label in (("inproc", "in-process"), ("http", "via HTTP")):
        m = s[mode]
        rows.append(f"| CPU/step {hi:,} vs {lo:,} steps, {label} | {_fmt(m['cpu_ratio'], 2)}× (less the "
                    f"{m['own_reference']}: {_fmt(m['own_cpu_ratio'], 2)}×) | {_fmt(m['floor_cpu_ratio'], 2)}× "
                    + (f"(library floor {_fmt(m['library_floor_cpu_ratio'], 2)}×)" if m["library_floor_cpu_ratio"] else "")
                    + f" | — | — | — | "
                    f"≤ {TARGETS['cpu_ratio']}× | {'yes' if m['cpu_met'] else 'NO'} |")
        rows.append(f"| journal bytes/step {hi:,} vs {lo:,} steps, {label} | {_fmt(m['bytes_ratio'], 2)}× | — | — | "
                    f"— | — | ≤ {TARGETS['bytes_ratio']}× | {'yes' if m['bytes_met'] else 'NO'} |")
    sh = s["show"]
    rows.append(f"| `agentzoo show` of a {SHOW_STEPS:,}-step run | {_fmt(sh['beyond_startup_s'], 2)} s beyond "
                f"start-up, {_fmt(sh['peak_rss_mb'], 0)} MB | — | — | — | — | ≤ {TARGETS['show_s']} s, "
                f"≤ {TARGETS['show_mb']:.0f} MB | {'yes' if sh['met'] else 'NO'} |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--lengths", default="10,100,1000")
    p.add_argument("--runners", default=",".join(LONG_RUNNERS), help="subset of " + ",".join(LONG_RUNNERS))
    p.add_argument("--out", help="also write the section as JSON here")
    a = p.parse_args()
    section = measure([n.strip() for n in a.runners.split(",")], [int(x) for x in a.lengths.split(",")], a.rounds)
    if a.out:
        Path(a.out).write_text(json.dumps(section, indent=1, default=str))
    print("\n".join(markdown(section) + ["| metric | agentzoo | floor | | | | target | met |", "|---|---|---|---|---|---|---|---|",
                                         *target_rows(section)]))


if __name__ == "__main__":
    sys.modules.setdefault("long_runs", sys.modules[__name__])
    main()
