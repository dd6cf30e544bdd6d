"""How long does one sandboxed action take? agentzoo's sandbox tiers against their peers, in one run.

    .venv/bin/python bench/sandbox.py [--quick] [--iterations N] [--warmup N] [--startups N] [--block N]
                                      [--idle-ms MS] [--idle-samples N] [--runners agentzoo,smolagents,subprocess]
                                      [--tiers bwrap,landlock,unsafe] [--skip-install] [--out bench/results/sandbox.json]
    .venv/bin/python bench/sandbox.py --render bench/results/sandbox.json      # rewrite the Markdown only

Actions, on one persistent interpreter state:

- trivial: `x = 1`
- tool:    `y = add(x, 2)` + `print(y)`, where `add` is a function of the host process; the
           action's stdout is checked to be "3\\n" every time.
- trivial after idle: `x = 1` after sleeping --idle-ms (50 ms), as the model call between two
           actions of an agent would; fewer samples.

trivial and tool alternate back to back, N pairs after warm-up pairs. Runners:

- agentzoo-<tier>: `agentzoo.sandbox.Sandbox(tier=...)`, in this process (the project venv), one
  row per tier that `probe()` reports available; the tool is the host coroutine passed as
  `execute(..., call_tool=...)`. Round trip = wall time of `await sb.execute(...)`.
- subprocess: a fresh `python -c code` per action (this interpreter, `sys.executable`). For the
  tool action the child gets a stub `add` that writes a JSON request line to its stdout and
  reads the JSON reply line from its stdin; the host answers it with the real `add`. There is
  no state between processes, so its tool action is prefixed with `x = 1`.
- smolagents: `LocalPythonExecutor` (its in-process AST interpreter, default settings, as its
  CodeAgent builds it), run in its own venv (bench/.venvs/smolagents, the one bench/agents.py
  installs, same pins) by this same file in `--child` mode, through bench/agents.py's
  run_runner, printing one JSON line. The tool is a plain Python function in `send_tools({...})`.
  Round trip = wall time of `executor(code)`.

agentzoo's tiers and subprocess are measured in one loop, in blocks of --block pairs with the
runners taking turns, so that a busy moment of the (shared) machine costs all of them alike and
the ratios between them stay fair; smolagents runs after them.

Startup = from `Sandbox(...)` (resp. `LocalPythonExecutor(...)` + `send_tools`, resp. spawning
the process) to the first action (`x = 1`) answered; the first sample is reported apart as
"cold" and left out of the statistics. Import time of the package is measured separately and
is not in the startup figure. Results: Markdown on stdout and in bench/results/sandbox.md,
everything (raw samples included) in bench/results/sandbox.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import agents as A  # noqa: E402  - bench/agents.py: venvs, pins, child runner, machine info (stdlib only)

TRIVIAL = "x = 1"
TOOL = "y = add(x, 2)\nprint(y)"
TOOL_STDOUT = "3\n"
ADD_SCHEMA = {
    "name": "add",
    "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]},
}
TIERS = ["bwrap", "landlock", "unsafe"]
ALL_RUNNERS = ["agentzoo", "smolagents", "subprocess"]

# The smolagents side is this file run as a child in smolagents' venv (see child_smolagents).
SMOL = "smolagents-sandbox"
A.RUNNERS[SMOL] = (str(Path(__file__).resolve()), "smolagents", ["smolagents"])  # absolute: PEERS_DIR / abs == abs

# Targets from the issue.
TARGET_TRIVIAL_MS = 1.0
TARGET_SPEEDUP = 20.0
TARGET_STARTUP_MS = 150.0

log = A.log


def stats(samples_s: list[float]) -> dict | None:
    """median / p90 (nearest rank) / mean / min / max, in milliseconds."""
    if not samples_s:
        return None
    ms = sorted(1000.0 * s for s in samples_s)
    return {"n": len(ms), "median_ms": statistics.median(ms), "p90_ms": ms[max(0, math.ceil(0.9 * len(ms)) - 1)],
            "mean_ms": statistics.fmean(ms), "min_ms": ms[0], "max_ms": ms[-1]}


def new_result(runner: str, **extra) -> dict:
    return {"runner": runner, "startup_s": [], "close_s": [], "trivial_s": [], "tool_s": [], "idle_trivial_s": [],
            "failed": {"startup": 0, "trivial": 0, "tool": 0, "idle_trivial": 0}, "failures": {}, "errors": {},
            **extra}


def fail(res: dict, what: str, msg: str) -> None:
    """Count a wrong result of a `what` action (startup/trivial/tool); keep distinct messages with counts."""
    res["failed"][what] += 1
    key = f"{what}: {msg}"[:400]
    if key in res["failures"] or len(res["failures"]) < 10:
        res["failures"][key] = res["failures"].get(key, 0) + 1


# --- smolagents, in its own venv (child mode) ---------------------------------------------------


def child_smolagents(cfg: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    from smolagents.local_python_executor import LocalPythonExecutor
    import_s = time.perf_counter() - t0
    import smolagents

    calls = [0]

    def add(a: int, b: int) -> int:
        calls[0] += 1
        return a + b

    def final_answer(answer):
        return answer

    tools = {"add": add, "final_answer": final_answer}  # final_answer as CodeAgent always sends it

    def new_executor():
        ex = LocalPythonExecutor(additional_authorized_imports=[])  # CodeAgent's defaults
        ex.send_tools(dict(tools))
        return ex

    out = new_result("smolagents", version=smolagents.__version__, python=platform.python_version(),
                     import_s=import_s)
    for _ in range(cfg.startups + 1):
        t0 = time.perf_counter()
        ex = new_executor()
        ex(TRIVIAL)
        out["startup_s"].append(time.perf_counter() - t0)
        out["close_s"].append(0.0)  # nothing to close: the executor is a dict of state
        del ex
    ex = new_executor()
    gc.collect()
    pc = time.perf_counter
    for i in range(cfg.warmup + cfg.iterations):
        t0 = pc()
        ex(TRIVIAL)
        t1 = pc()
        r = ex(TOOL)
        t2 = pc()
        if r.logs != TOOL_STDOUT:
            fail(out, "tool", f"printed {r.logs!r}")
        if i >= cfg.warmup:
            out["trivial_s"].append(t1 - t0)
            out["tool_s"].append(t2 - t1)
    for _ in range(cfg.idle_samples):
        time.sleep(cfg.idle_ms / 1000.0)
        t0 = pc()
        ex(TRIVIAL)
        out["idle_trivial_s"].append(pc() - t0)
    out["tool_calls"] = calls[0]
    return out


def measure_smolagents(cfg: argparse.Namespace) -> dict:
    res: dict = {"runner": "smolagents", "errors": {}}
    err = A.ensure_venv("smolagents", cfg.skip_install)  # same venv and pins as bench/agents.py
    if err:
        res["errors"]["install"] = err
        return res
    d = A.run_runner(SMOL, ["--child", "smolagents", "--iterations", str(cfg.iterations), "--warmup",
                            str(cfg.warmup), "--startups", str(cfg.startups), "--idle-ms", str(cfg.idle_ms),
                            "--idle-samples", str(cfg.idle_samples)], timeout=600)
    if "error" in d:
        res["errors"]["run"] = d["error"] + ("\n" + d["traceback"] if d.get("traceback") else "")
        return res
    res.update(d)
    res["versions"] = A.versions(SMOL)
    return res


# --- in this process: agentzoo's tiers and a fresh process per action, interleaved ----------------
#
# All of them are measured in one loop, round-robin per iteration (the order rotates), so that a
# busy moment of the shared machine costs every runner alike and the ratios stay fair.

# The child's side of the tool call: one JSON request line out, one JSON reply line in.
SUBPROCESS_STUB = (
    "import json, sys\n"
    "def add(a, b):\n"
    "    sys.stdout.write(json.dumps({'tool': 'add', 'args': {'a': a, 'b': b}}) + '\\n')\n"
    "    sys.stdout.flush()\n"
    "    return json.loads(sys.stdin.readline())['result']\n"
)
SUBPROCESS_TOOL = SUBPROCESS_STUB + TRIVIAL + "\n" + TOOL


def _host_add(a: int, b: int) -> int:
    return a + b


class SubprocessRunner:
    """`python -c code` per action; the tool action talks to the host over its stdin/stdout."""

    def __init__(self) -> None:
        self.res = new_result("subprocess", python=platform.python_version(), executable=sys.executable)

    @staticmethod
    def _trivial() -> str | None:
        r = subprocess.run([sys.executable, "-c", TRIVIAL], capture_output=True)
        return None if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.decode(errors='replace')[-200:]}"

    @staticmethod
    def _tool() -> str | None:
        p = subprocess.Popen([sys.executable, "-c", SUBPROCESS_TOOL], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        printed = []
        for line in p.stdout:
            if line.startswith(b'{"tool"'):
                req = json.loads(line)
                p.stdin.write(json.dumps({"result": _host_add(**req["args"])}).encode() + b"\n")
                p.stdin.flush()
            else:
                printed.append(line)
        p.stdin.close()
        stderr = p.stderr.read()
        p.stderr.close()
        p.stdout.close()
        if p.wait() != 0:
            return f"exit {p.returncode}: {stderr.decode(errors='replace')[-200:]}"
        got = b"".join(printed).decode()
        return None if got == TOOL_STDOUT else f"printed {got!r}"

    async def startup_sample(self) -> None:  # spawn to `x = 1` answered: the trivial action itself
        t0 = time.perf_counter()
        e = self._trivial()
        self.res["startup_s"].append(time.perf_counter() - t0)
        self.res["close_s"].append(0.0)
        if e:
            fail(self.res, "startup", e)

    async def open(self) -> None:
        pass

    async def idle_sample(self, idle_s: float) -> None:
        await asyncio.sleep(idle_s)
        t0 = time.perf_counter()
        e = self._trivial()
        self.res["idle_trivial_s"].append(time.perf_counter() - t0)
        if e:
            fail(self.res, "idle_trivial", e)

    async def pair(self, record: bool) -> None:
        pc = time.perf_counter
        t0 = pc()
        e1 = self._trivial()
        t1 = pc()
        e2 = self._tool()
        t2 = pc()
        for what, e in (("trivial", e1), ("tool", e2)):
            if e:
                fail(self.res, what, e)
        if record:
            self.res["trivial_s"].append(t1 - t0)
            self.res["tool_s"].append(t2 - t1)

    async def close(self) -> None:
        pass


class AgentzooRunner:
    """One `agentzoo.sandbox.Sandbox` tier; the tool is a host coroutine given to `execute`."""

    def __init__(self, S, tier: str) -> None:
        self.S, self.tier, self.sb = S, tier, None
        self.res = new_result(f"agentzoo-{tier}", tier=tier, reported_trivial_s=[], reported_tool_s=[],
                              tiers_seen=[], tool_calls=0)
        self.kwargs: dict = {"tier": tier, "limits": S.Limits(), "tools": [ADD_SCHEMA]}
        if tier == "unsafe":
            self.kwargs["allow_unsafe"] = True

    async def call_tool(self, name: str, args: dict):
        self.res["tool_calls"] += 1
        if name != "add":
            raise ValueError(f"unknown tool {name}")
        return _host_add(**args)

    def check(self, r, what: str, stdout: str | None = None) -> None:
        if r.tier not in self.res["tiers_seen"]:
            self.res["tiers_seen"].append(r.tier)
        if r.state_lost:
            bad = "state_lost"
        elif not r.ok:
            e = r.error or {}
            bad = f"not ok: {e.get('type')}: {e.get('message')}"
        elif stdout is not None and r.stdout != stdout:
            bad = f"printed {r.stdout!r}, expected {stdout!r}"
        elif r.tier != self.tier:
            bad = f"ran in tier {r.tier!r}, asked for {self.tier!r}"
        else:
            return
        notes = [n for n in (getattr(r, "notes", None) or []) if not n.startswith("UNSAFE")]
        fail(self.res, what, bad + (f" (notes: {'; '.join(notes)})" if notes else ""))

    async def startup_sample(self) -> None:
        pc = time.perf_counter
        t0 = pc()
        sb = self.S.Sandbox(**self.kwargs)
        try:
            await sb.start()
            r = await sb.execute(TRIVIAL)
            t1 = pc()
        finally:
            t2 = pc()
            await sb.close()
            t3 = pc()
        self.check(r, "startup")
        self.res["startup_s"].append(t1 - t0)
        self.res["close_s"].append(t3 - t2)

    async def open(self) -> None:
        self.sb = self.S.Sandbox(**self.kwargs)
        await self.sb.start()

    async def idle_sample(self, idle_s: float) -> None:
        await asyncio.sleep(idle_s)
        t0 = time.perf_counter()
        r = await self.sb.execute(TRIVIAL)
        self.res["idle_trivial_s"].append(time.perf_counter() - t0)
        self.check(r, "idle_trivial")

    async def pair(self, record: bool) -> None:
        pc = time.perf_counter
        t0 = pc()
        r1 = await self.sb.execute(TRIVIAL)
        t1 = pc()
        r2 = await self.sb.execute(TOOL, call_tool=self.call_tool)
        t2 = pc()
        self.check(r1, "trivial")
        self.check(r2, "tool", TOOL_STDOUT)
        if record:
            self.res["trivial_s"].append(t1 - t0)
            self.res["tool_s"].append(t2 - t1)
            self.res["reported_trivial_s"].append(r1.duration_s)
            self.res["reported_tool_s"].append(r2.duration_s)

    async def close(self) -> None:
        if self.sb is not None:
            sb, self.sb = self.sb, None
            await sb.close()


def import_agentzoo_sandbox():
    t0 = time.perf_counter()
    try:
        import agentzoo.sandbox as S
    except ImportError as e:
        raise SystemExit(f"bench/sandbox.py: cannot import agentzoo.sandbox ({e}); run it with the project venv "
                         f"({A.AGENTZOO_PY}) after `pip install -e .`, or leave agentzoo out with "
                         f"--runners smolagents,subprocess") from e
    return S, time.perf_counter() - t0


async def measure_host(runners: list, cfg: argparse.Namespace) -> None:
    live = list(runners)

    async def each(step: int, method: str, *args) -> None:
        k = step % len(live) if live else 0
        for r in live[k:] + live[:k]:  # rotate the order every step
            await guarded(r, method, *args)

    async def guarded(r, method: str, *args) -> None:
        if r not in live:
            return
        try:
            await getattr(r, method)(*args)
        except Exception as e:  # noqa: BLE001 - one runner must not abort the run
            log(f"  {r.res['runner']} {method}: ERROR {type(e).__name__}: {e}")
            r.res["errors"][method] = f"{type(e).__name__}: {e}"
            live.remove(r)
            try:
                await r.close()
            except Exception:  # noqa: BLE001
                pass

    log(f"startups ({cfg.startups} + 1 cold, round-robin): {', '.join(r.res['runner'] for r in live)}")
    for i in range(cfg.startups + 1):
        await each(i, "startup_sample")
    await each(0, "open")
    log(f"actions: {cfg.warmup} warm-up + {cfg.iterations} pairs each, in blocks of {cfg.block}, runners rotating")
    for r in list(live):
        for _ in range(cfg.warmup):
            await guarded(r, "pair", False)
    gc.collect()
    try:
        blocks = [min(cfg.block, cfg.iterations - j) for j in range(0, cfg.iterations, cfg.block)]
        for i, size in enumerate(blocks):
            k = i % len(live) if live else 0
            for r in live[k:] + live[:k]:
                for _ in range(size):
                    await guarded(r, "pair", True)
        if cfg.idle_samples:
            log(f"trivial action after {cfg.idle_ms:g} ms idle: {cfg.idle_samples} each, round-robin")
            for i in range(cfg.idle_samples):
                await each(i, "idle_sample", cfg.idle_ms / 1000.0)
    finally:
        for r in live:
            await r.close()


def measure_in_process(cfg: argparse.Namespace, runners: list[str]) -> tuple[dict | None, list[dict]]:
    """agentzoo's available tiers and/or subprocess -> (agentzoo import/probe info, one result per runner)."""
    info, rows, active = None, [], []
    if "agentzoo" in runners:
        S, import_s = import_agentzoo_sandbox()
        t0 = time.perf_counter()
        reports = S.probe()
        probe_s = time.perf_counter() - t0
        info = {"import_s": import_s, "probe_s": probe_s,
                "probe": [{"name": r.name, "available": r.available, "reason": r.reason,
                           "details": getattr(r, "details", None)} for r in reports],
                "versions": {"agentzoo": importlib.metadata.version("agentzoo")}}
        avail = {r.name: r for r in reports}
        wpy = {str((getattr(r, "details", None) or {}).get("python")) for r in reports if r.available} - {"None"}
        for py in sorted(wpy):
            try:
                v = subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                                   capture_output=True, text=True, timeout=30).stdout.strip()
                info["worker_python"] = f"{py}: Python {v}"
            except (OSError, subprocess.SubprocessError):
                pass
        for tier in cfg.tiers:
            rep = avail.get(tier)
            if rep is None or not rep.available:
                why = rep.reason if rep is not None else "not reported by probe()"
                log(f"agentzoo-{tier}: unavailable ({why})")
                rows.append({"runner": f"agentzoo-{tier}", "tier": tier, "unavailable": why, "errors": {}})
                continue
            active.append(AgentzooRunner(S, tier))
    if "subprocess" in runners:
        active.append(SubprocessRunner())
    if active:
        asyncio.run(measure_host(active, cfg))
    return info, rows + [r.res for r in active]


# --- report -----------------------------------------------------------------------------------


def summarize(report: dict) -> dict:
    rows = report["results"]
    for r in rows:
        for k in ("trivial", "tool", "idle_trivial", "startup", "close"):
            samples = r.get(f"{k}_s") or []
            if k in ("startup", "close"):
                r[f"{k}_cold_ms"] = 1000.0 * samples[0] if samples else None
                samples = samples[1:]  # the first (cold) sample is not in the statistics
            r[k] = stats(samples)
        for k in ("reported_trivial", "reported_tool"):
            if r.get(f"{k}_s"):
                r[k] = stats(r[f"{k}_s"])
    by = {r["runner"]: r for r in rows}

    def med(runner: str, k: str):
        return ((by.get(runner) or {}).get(k) or {}).get("median_ms")

    bw_triv, bw_start = med("agentzoo-bwrap", "trivial"), med("agentzoo-bwrap", "startup")
    sp_triv = med("subprocess", "trivial")
    speedup = sp_triv / bw_triv if bw_triv and sp_triv else None
    bw = by.get("agentzoo-bwrap") or {}
    why = bw.get("unavailable") or "; ".join(bw.get("errors", {}).values()) or ("bwrap not measured" if not bw else None)
    return {"targets": [
        {"what": "bwrap: trivial action, median", "value_ms": bw_triv, "target": f"≤ {TARGET_TRIVIAL_MS:g} ms",
         "met": None if bw_triv is None else bw_triv <= TARGET_TRIVIAL_MS, "why_not_measured": why},
        {"what": "bwrap: trivial action vs a process per action (subprocess median / bwrap median)",
         "value_x": speedup, "target": f"≥ {TARGET_SPEEDUP:g}×",
         "met": None if speedup is None else speedup >= TARGET_SPEEDUP, "why_not_measured": why},
        {"what": "bwrap: startup (Sandbox(...) to first action answered), median", "value_ms": bw_start,
         "p90_ms": ((bw.get("startup") or {}).get("p90_ms")), "max_ms": ((bw.get("startup") or {}).get("max_ms")),
         "target": f"< {TARGET_STARTUP_MS:g} ms",
         "met": None if bw_start is None else bw_start < TARGET_STARTUP_MS, "why_not_measured": why},
    ], "info": {
        "bwrap_idle_trivial_median_ms": med("agentzoo-bwrap", "idle_trivial"),
        "subprocess_idle_trivial_median_ms": med("subprocess", "idle_trivial"),
        "idle_ms": report["config"].get("idle_ms"),
    }}


def _ms(v, digits: int = 3) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 1000 else f"{v:.{digits}f}"


def _x(v) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}×" if v < 0.1 else f"{v:.2f}×" if v < 10 else f"{v:,.0f}×"


def markdown(report: dict) -> str:
    m, cfg, rows, s = report["machine"], report["config"], report["results"], report["summary"]
    by = {r["runner"]: r for r in rows}

    def med(runner, k):
        return ((by.get(runner) or {}).get(k) or {}).get("median_ms")

    lines = ["# agentzoo sandbox vs peers (bench/sandbox.py)", "",
             f"Machine: {m.get('cpu', '?')}, {m['cores']} cores, {m.get('mem_gib', '?')} GiB, kernel {m.get('kernel')}, "
             f"Python {m['python']}, {m.get('bwrap', 'bwrap ?')}; agentzoo {m.get('agentzoo_git', '')}; {m['date']}; "
             f"mode: {'quick' if cfg['quick'] else 'full'} ({cfg['iterations']} trivial + tool pairs after "
             f"{cfg['warmup']} warm-up pairs, {cfg.get('idle_samples', 0)} samples after idle, {cfg['startups']} "
             f"startups after 1 cold one).", "",
             f"Command: `{report['command']}`", "",
             f"Actions: trivial = `{TRIVIAL}`; tool = `{TOOL.replace(chr(10), '; ')}` with `add` a host function "
             "(stdout checked to be `3`). Times are host wall-clock round trips in ms; ratios compare medians "
             "within this run (< 1 = faster than the peer). failed = actions (warm-up included) whose result was "
             "wrong: error, wrong output, wrong tier or lost state (see the notes); their times are in the figures. "
             f"trivial and tool alternate back to back; agentzoo's tiers and subprocess run in this process, in "
             f"blocks of {cfg.get('block')} pairs with the runners taking turns (so a busy moment of the shared "
             "machine hits all of them); smolagents runs in its own venv's process, after them. "
             f"\"trivial after {cfg.get('idle_ms', 0):g} ms idle\" sleeps first, as the model call between two "
             "actions of an agent would (runners take turns per sample).", ""]
    head = ["runner", "action", "median ms", "p90 ms", "mean ms", "min ms", "vs subprocess", "vs smolagents", "failed"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r.get("unavailable") or not (r.get("trivial") or r.get("tool")):
            why = f"unavailable: {r['unavailable']}" if r.get("unavailable") else \
                  f"error: {'; '.join(r.get('errors', {}).values())[:200]}"
            lines.append(f"| {r['runner']} | — | {why} |" + " |" * (len(head) - 3))
            continue
        for k in ("trivial", "tool", "idle_trivial"):
            st = r.get(k)
            if not st:
                continue
            sp, sm = med("subprocess", k), med("smolagents", k)
            label = f"trivial after {cfg['idle_ms']:g} ms idle" if k == "idle_trivial" else k
            lines.append(f"| {r['runner']} | {label} | {_ms(st['median_ms'])} | {_ms(st['p90_ms'])} | "
                         f"{_ms(st['mean_ms'])} | "
                         f"{_ms(st['min_ms'])} | {_x(st['median_ms'] / sp if sp else None)} | "
                         f"{_x(st['median_ms'] / sm if sm else None)} | {(r.get('failed') or {}).get(k, 0)} |")
    lines += ["", "Startup (to the first action answered; the cold sample is the first one, not in the median):", "",
              "| runner | median ms | p90 ms | max ms | cold ms | close median ms | vs subprocess | failed |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        st = r.get("startup")
        if not st:
            continue
        sp = med("subprocess", "startup")
        lines.append(f"| {r['runner']} | {_ms(st['median_ms'], 1)} | {_ms(st['p90_ms'], 1)} | {_ms(st['max_ms'], 1)} | "
                     f"{_ms(r.get('startup_cold_ms'), 1)} | {_ms((r.get('close') or {}).get('median_ms'), 1)} | "
                     f"{_x(st['median_ms'] / sp if sp else None)} | {(r.get('failed') or {}).get('startup', 0)} |")
    lines += ["", "## Targets", ""]
    for t in s["targets"]:
        verdict = "NOT MEASURED" if t["met"] is None else ("PASS" if t["met"] else "FAIL")
        if "value_x" in t:
            val = f"{t['value_x']:.1f}×" if t["value_x"] is not None else "—"
        else:
            val = f"{_ms(t['value_ms'])} ms" if t["value_ms"] is not None else "—"
            if t.get("p90_ms") is not None:
                val += f" (p90 {_ms(t['p90_ms'], 1)}, max {_ms(t['max_ms'], 1)})"
        extra = f" ({t['why_not_measured']})" if t["met"] is None and t.get("why_not_measured") else ""
        lines.append(f"- {verdict}: {t['what']}: {val}, target {t['target']}{extra}")
    info = s.get("info") or {}
    if info.get("bwrap_idle_trivial_median_ms") is not None:
        bi, si = info["bwrap_idle_trivial_median_ms"], info.get("subprocess_idle_trivial_median_ms")
        lines.append(f"- (not a target, for reading the first one) bwrap: trivial action after {info['idle_ms']:g} ms "
                     f"idle, median: {_ms(bi)} ms" + (f", {si / bi:.1f}× faster than a process" if si else ""))
    lines += ["", "## Notes", ""]
    az = report.get("agentzoo")
    if az:
        vers = ", ".join(f"{n} {v}" for n, v in (az.get("versions") or {}).items() if v)
        lines.append(f"- agentzoo ({vers}): `import agentzoo.sandbox` {1000 * az['import_s']:.0f} ms, `probe()` "
                     f"{1000 * az['probe_s']:.0f} ms (neither in the startup figure). probe(): "
                     + "; ".join(f"{p['name']} {'available' if p['available'] else 'unavailable'}"
                                 + (f" ({p['reason']})" if p.get("reason") else "") for p in az["probe"]))
        if az.get("worker_python"):
            lines.append(f"  - the sandbox worker's interpreter (from probe()'s details): {az['worker_python']} "
                         f"(the host, smolagents and subprocess: Python {m['python']})")
        for r in rows:
            if r["runner"].startswith("agentzoo-") and r.get("reported_trivial"):
                lines.append(f"  - {r['runner']}: the sandbox's own `duration_s`, median: trivial "
                             f"{_ms(r['reported_trivial']['median_ms'])} ms, tool {_ms(r['reported_tool']['median_ms'])} ms")
    sm = by.get("smolagents")
    if sm and "import_s" in sm:
        lines.append(f"- smolagents {sm.get('version')} (Python {sm.get('python')}, bench/.venvs/smolagents): "
                     f"LocalPythonExecutor(additional_authorized_imports=[]) with its defaults (30 s timeout: each "
                     f"call runs in a new one-thread ThreadPoolExecutor), tools `add` (plain function) and "
                     f"`final_answer`; `import smolagents` {1000 * sm['import_s']:.0f} ms, not in startup. In-process "
                     "AST interpreter: no isolation from the host process.")
    sp = by.get("subprocess")
    if sp:
        exe = sp.get("executable") or "python"
        exe = os.path.relpath(exe, A.ROOT) if exe.startswith(str(A.ROOT)) else exe
        lines.append(f"- subprocess: `{exe} -c <code>` (Python {sp.get('python')}, its site-packages "
                     "loaded as usual); tool action = JSON request line on the child's stdout, reply line on its stdin; "
                     "`x = 1` prepended (no state across processes).")
    for r in rows:
        for k, e in (r.get("errors") or {}).items():
            lines.append(f"- {r['runner']} error ({k}): `{str(e)[:400]}`")
        for f, n in (r.get("failures") or {}).items():
            lines.append(f"- {r['runner']}, {n}× (warm-up included): `{f}`")
    return "\n".join(lines) + "\n"


def machine() -> dict:
    info = A.machine()
    info["kernel"] = platform.release()
    try:
        info["bwrap"] = subprocess.run(["bwrap", "--version"], capture_output=True, text=True,
                                       timeout=10).stdout.strip() or "bwrap ?"
    except (OSError, subprocess.SubprocessError):
        info["bwrap"] = "no bwrap"
    return info


def write(report: dict, out: Path) -> str:
    report["summary"] = summarize(report)
    return A.save(report, out, markdown(report))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="50 actions of each kind after 5 warm-up, 3 startups")
    p.add_argument("--iterations", type=int, help="measured actions of each kind (default 300, quick 50)")
    p.add_argument("--warmup", type=int, help="warm-up actions of each kind (default 20, quick 5)")
    p.add_argument("--startups", type=int, help="startup samples after the cold one (default 10, quick 3)")
    p.add_argument("--block", type=int, default=25,
                   help="action pairs a runner does in a row before the next runner's turn (default 25)")
    p.add_argument("--idle-ms", type=float, default=50.0,
                   help="idle time before each 'trivial after idle' sample, like a model call between actions")
    p.add_argument("--idle-samples", type=int, help="'trivial after idle' samples (default 40, quick 10; 0: skip)")
    p.add_argument("--runners", default=",".join(ALL_RUNNERS), help=f"subset of {','.join(ALL_RUNNERS)}")
    p.add_argument("--tiers", default=",".join(TIERS), help="agentzoo tiers to try (unavailable ones are reported)")
    p.add_argument("--skip-install", action="store_true", help="use bench/.venvs/smolagents as it is")
    p.add_argument("--out", default=str(BENCH / "results" / "sandbox.json"))
    p.add_argument("--render", metavar="JSON", help="only rewrite the Markdown from a saved JSON result")
    p.add_argument("--child", choices=["smolagents"], help=argparse.SUPPRESS)
    cfg = p.parse_args()
    cfg.iterations = cfg.iterations or (50 if cfg.quick else 300)
    cfg.warmup = cfg.warmup if cfg.warmup is not None else (5 if cfg.quick else 20)
    cfg.startups = cfg.startups or (3 if cfg.quick else 10)
    cfg.idle_samples = cfg.idle_samples if cfg.idle_samples is not None else (10 if cfg.quick else 40)
    cfg.block = max(1, cfg.block)

    if cfg.child:  # in smolagents' venv, run by measure_smolagents through bench/agents.py's run_runner
        try:
            out = child_smolagents(cfg)
        except BaseException as e:  # noqa: BLE001 - report, never die without a JSON line
            import traceback
            out = {"error": f"{type(e).__name__}: {e}"[:500], "traceback": traceback.format_exc()[-2000:]}
        print(json.dumps(out), flush=True)
        return
    if cfg.render:
        report = json.loads(Path(cfg.render).read_text())
        print(write(report, Path(cfg.render)))
        return

    runners = [r.strip() for r in cfg.runners.split(",") if r.strip()]
    bad = [r for r in runners if r not in ALL_RUNNERS]
    if bad:
        p.error(f"unknown runners {bad}; choose from {ALL_RUNNERS}")
    cfg.tiers = [t.strip() for t in cfg.tiers.split(",") if t.strip()]
    if [t for t in cfg.tiers if t not in TIERS]:
        p.error(f"tiers are {TIERS}")
    try:
        exe = os.path.relpath(sys.executable, A.ROOT)
        script = os.path.relpath(__file__, A.ROOT)
    except ValueError:
        exe, script = sys.executable, __file__
    report: dict = {"command": shlex.join([exe, script, *sys.argv[1:]]), "machine": machine(),
                    "config": {"quick": cfg.quick, "iterations": cfg.iterations, "warmup": cfg.warmup,
                               "startups": cfg.startups, "block": cfg.block, "idle_ms": cfg.idle_ms,
                               "idle_samples": cfg.idle_samples, "runners": runners, "tiers": cfg.tiers,
                               "trivial": TRIVIAL, "tool": TOOL},
                    "results": []}
    t_all = time.perf_counter()
    info, rows = measure_in_process(cfg, runners)
    if info:
        report["agentzoo"] = info
    report["results"] += rows
    if "smolagents" in runners:
        log("measuring smolagents (LocalPythonExecutor, own venv)")
        report["results"].append(measure_smolagents(cfg))
    # table order: agentzoo tiers, smolagents, subprocess
    report["results"].sort(key=lambda r: (r["runner"] == "subprocess", r["runner"] == "smolagents"))
    report["wall_s"] = time.perf_counter() - t_all
    out = Path(cfg.out)
    md = write(report, out)
    print(md)
    log(f"wrote {out} and {out.with_suffix('.md')} in {report['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
