"""agentzoo against its peers, measured in one run.

    python bench/agents.py [--peers a,b,...] [--skip-install] [--quick] [--out bench/results/agents.json]
                           [--levels 10,100,1000,10000] [--conc-timeout S] [--[no-]probe-network]
                           [--rounds R] [--[no-]long-runs] [--long-lengths 10,100,1000]
    python bench/agents.py --render bench/results/agents.json     # rewrite the Markdown only

One agent, one tool `add(a: int, b: int) -> int`, the task "add the numbers 1..N with the add
tool", so a run is N model turns (N-1 tool calls + a final answer). Each framework runs in its
own venv (bench/.venvs/<peer>, created and pip-installed here, pinned below) through a small
runner, bench/peers/<peer>.py, that prints one JSON line. Measured, per framework:

- http-cpu:   process CPU (time.process_time, all threads) per model turn, 10-turn tasks run one
              after another against a fake OpenAI-compatible server with zero latency, after
              warm-up tasks; median of several processes. agentzoo's SQLite journal is on; peers
              run with their defaults (their own tracing included, see the notes).
- inproc-cpu: the same with each framework's own in-process test double instead of HTTP
              (agentzoo ScriptedModel, pydantic-ai FunctionModel, autogen ReplayChatCompletionClient,
              smolagents / openai-agents / langgraph / crewai custom model classes).
- import:     wall time of the imports a user writes to build the HTTP agent, in a fresh
              interpreter (nothing else loaded), and peak RSS right after; median of several
              samples after one discarded warm-up sample (which compiles the .pyc files).
- chars:      bytes of the request bodies the server received for one 10-turn task.
- concurrency N: N tasks of 5 turns started at once (asyncio.gather; one thread per task for
              frameworks without an async API) against the server with 50 ms latency per answer:
              tasks/s (finished correctly / wall time) and the runner's peak RSS.
- long runs:  agentzoo's CPU and journal bytes per step on runs of 10, 100 and 1,000 steps, and
              `agentzoo show` / `replay` of a 1,000-step run (bench/long_runs.py, which says how).
Every measured row is the median of `--rounds` rounds (3 in full runs, 1 with --quick), each a
fresh process, and every round is in the JSON and in the Markdown's "All rounds" list; the
import row takes 7 samples (3 quick); chars are exact byte counts, measured once.
Three floors: the "floor" is a hand-written raw-asyncio HTTP/1.1 agent loop (bench/peers/floor.py);
the "library-floor" is the same loop on pyreqwest, the client library agentzoo uses
(bench/peers/library_floor.py); the "journal-floor" is the library floor plus the least a durable
journal must do (bench/peers/journal_floor.py: a row per effect, hashed, group-committed before a
non-local result is used). agentzoo against the library floor is the framework's own cost, of which
the journal floor shows what durability alone takes; the library floor against the raw one is the
library's.
agentzoo runs on its own event loop (uvloop, as its command line and eval workers do;
src/agentzoo/runtime/event_loop.py); the floors run on asyncio's, as the issue defines them. The
`-uvloop` rows run the raw and library floors on uvloop too, and `agentzoo-asyncio` runs agentzoo on
asyncio's loop, so both comparisons are in every report.
The fake server (bench/peers/_stub_server.py) runs in its own process, so its CPU is not counted.
Telemetry that would use the (closed) network is disabled through environment variables; the
network probe (full runs) re-runs each framework once with its telemetry defaults and reports
which non-loopback hosts it tried to reach. Results: Markdown on stdout and in
bench/results/agents.md, everything in the JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS_DIR = BENCH / "peers"
VENVS = BENCH / ".venvs"
AGENTZOO_PY = ROOT / ".venv" / "bin" / "python"

# Versions installed in each peer's venv. Pinned so that a run measures the same code as the
# run it is compared with (these frameworks change their hot paths from release to release) and
# so that `--skip-install`-free runs are reproducible; they are the newest releases the package
# index offered when this benchmark was written, except langchain-core, held at 1.8.3 because
# 1.8.4 needs a langchain-protocol release the index did not have.
PINS: dict[str, list[str]] = {
    "smolagents": ["smolagents==1.26.0", "openai==3.57.0"],
    "autogen": ["autogen-agentchat==0.7.5", "autogen-ext[openai]==0.7.5"],
    "langgraph": ["langgraph==1.2.24", "langchain-openai==1.7.4", "langchain-core==1.8.3"],
    "openai-agents": ["openai-agents==0.24.0"],
    "pydantic-ai": ["pydantic-ai-slim[openai]==2.68.0"],
    "crewai": ["crewai==1.15.30"],
}

# name -> (runner file, venv dir name or None for agentzoo's own venv, distributions to report)
RUNNERS: dict[str, tuple[str, str | None, list[str]]] = {
    "agentzoo": ("agentzoo_.py", None, ["agentzoo", "pyreqwest", "orjson", "pydantic"]),
    "floor": ("floor.py", None, ["orjson"]),
    "library-floor": ("library_floor.py", None, ["pyreqwest", "orjson"]),
    "journal-floor": ("journal_floor.py", None, ["pyreqwest", "orjson"]),
    "smolagents": ("smolagents_.py", "smolagents", ["smolagents", "openai", "httpx"]),
    "autogen": ("autogen_.py", "autogen", ["autogen-agentchat", "autogen-ext", "autogen-core", "openai"]),
    "langgraph": ("langgraph_.py", "langgraph", ["langgraph", "langgraph-prebuilt", "langchain-core",
                                                  "langchain-openai", "openai"]),
    "openai-agents": ("openai_agents.py", "openai_agents", ["openai-agents", "openai"]),
    "pydantic-ai": ("pydantic_ai_.py", "pydantic_ai", ["pydantic-ai-slim", "openai", "pydantic"]),
    "crewai": ("crewai_.py", "crewai", ["crewai", "openai", "pydantic"]),
}
PEER_NAMES = ["smolagents", "autogen", "langgraph", "openai-agents", "pydantic-ai", "crewai"]
FLOORS = ["floor", "library-floor", "journal-floor"]
UVLOOP_FLOORS = ["floor", "library-floor"]
"""Floors measured a second time on uvloop (the `-uvloop` rows), the loop agentzoo's own entry points
use; the floors themselves stay on asyncio's loop, as the issue defines them."""
ALL = ["agentzoo", *FLOORS, *PEER_NAMES]

NOTES = {
    "agentzoo": "ToolCallingAgent + OpenAICompatible (pyreqwest) on agentzoo's event loop (uvloop, as its command "
                "line and eval workers run; the `agentzoo-asyncio` row is on asyncio's); SQLite journal on, the pure "
                "`add` and the "
                "in-process script declared so (their entries committed in batches; see agentzoo-commit-each); "
                "defaults: an adaptive (AIMD) window of requests in flight per endpoint, streamed replies "
                "(the `agentzoo-uncapped` row raises the window's ceiling to 100,000; the `agentzoo-no-wire` row "
                "replaces HTTP with the script answering after the server's latency).",
    "floor": "raw asyncio streams, keep-alive pool, minimal messages, orjson, on asyncio's loop (`floor-uvloop`: "
             "the same on uvloop); not production code.",
    "library-floor": "floor.py's loop on pyreqwest (agentzoo's HTTP client, built as agentzoo builds it), "
                     "no framework: no retry, limiter, timeouts, streaming or journal; on asyncio's loop "
                     "(`library-floor-uvloop`: on uvloop); HTTP rows only.",
    "journal-floor": "the library floor plus a hand-written durable journal (SQLite WAL, a row per effect with its "
                     "new messages and a hash chain, group commit per loop turn, a non-local result used only once "
                     "committed; local effects wait for the next commit); in-process: floor.py's script plus "
                     "that journal.",
    "smolagents": "ToolCallingAgent + OpenAIServerModel (sync openai client); verbosity off (its default "
                  "prints rich panels per step); ends on its `final_answer` tool; sync only: one thread per "
                  "concurrent task.",
    "autogen": "AssistantAgent(max_tool_iterations=20) + OpenAIChatCompletionClient; OTel API spans (no-op "
               "without an SDK); logs 'Token count has been done only on string content' per replayed step.",
    "langgraph": "langgraph.prebuilt.create_react_agent (deprecated in 1.x in favour of langchain.agents."
                 "create_agent) + ChatOpenAI; no checkpointer; LangSmith tracing off unless configured.",
    "openai-agents": "Agent + Runner.run + OpenAIChatCompletionsModel; tracing ON by default (spans + a "
                     "background batch exporter thread; without OPENAI_API_KEY it skips the upload to "
                     "api.openai.com, so it stays in-process).",
    "pydantic-ai": "Agent + OpenAIChatModel/OpenAIProvider (slim[openai] install); no instrumentation by "
                   "default.",
    "crewai": "Agent+Task+Crew, akickoff (native async) + crewai LLM (its OpenAI provider); telemetry to "
              "telemetry.crewai.com ON by default (disabled here: CREWAI_DISABLE_TELEMETRY, OTEL_SDK_DISABLED); "
              "logs a context-window warning per step for an unknown model name.",
}

# Environment for runners: telemetry off (the runner also sets these), no real keys/endpoints.
QUIET_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true", "CREWAI_DISABLE_TRACKING": "true", "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true", "ANONYMIZED_TELEMETRY": "False", "POSTHOG_DISABLED": "1", "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "LITELLM_TELEMETRY": "False",
    "LANGCHAIN_TRACING_V2": "false", "LANGSMITH_TRACING": "false", "TOKENIZERS_PARALLELISM": "false",
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
}
SCRUB = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "ANTHROPIC_API_KEY", "LANGSMITH_API_KEY",
         "LANGCHAIN_API_KEY", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")

RSS_LIMIT_MB = 8 * 1024  # a runner above this is killed (the machine is shared; there is no swap)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- venvs ------------------------------------------------------------------------------------


def python_for(name: str) -> Path:
    venv = RUNNERS[name][1]
    return AGENTZOO_PY if venv is None else VENVS / venv / "bin" / "python"


def _installed(py: Path, pins: list[str]) -> bool:
    names = {p.split("[")[0].split("==")[0]: p.split("==")[1] for p in pins}
    code = ("import importlib.metadata as m, json, sys\nout = {}\nfor n in json.loads(sys.argv[1]):\n"
            "    try: out[n] = m.version(n)\n    except m.PackageNotFoundError: out[n] = None\nprint(json.dumps(out))")
    try:
        got = json.loads(subprocess.run([str(py), "-c", code, json.dumps(list(names))], capture_output=True,
                                        text=True, timeout=60, check=True).stdout)
    except (subprocess.SubprocessError, OSError, ValueError):
        return False
    return all(got.get(n) == v for n, v in names.items())


def ensure_venv(name: str, skip_install: bool) -> str | None:
    """Create/install the peer's venv if needed. Returns an error string or None."""
    if RUNNERS[name][1] is None:
        if not AGENTZOO_PY.exists():
            return f"{AGENTZOO_PY} missing (create it and `pip install -e {ROOT}`)"
        return None
    py = python_for(name)
    pins = PINS[name]
    if skip_install:
        return None if py.exists() else f"venv {py.parent.parent} missing (--skip-install)"
    if py.exists() and _installed(py, pins):
        return None
    venv = py.parent.parent
    log(f"installing {name} into {venv}: {' '.join(pins)}")
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
                           capture_output=True, text=True, timeout=3600)
        if r.returncode != 0:
            return f"pip install failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}"
    except (subprocess.SubprocessError, OSError) as e:
        return f"venv/install failed: {e}"
    return None


def versions(name: str) -> dict[str, str | None]:
    code = ("import importlib.metadata as m, json, sys\nout = {}\nfor n in json.loads(sys.argv[1]):\n"
            "    try: out[n] = m.version(n)\n    except m.PackageNotFoundError: out[n] = None\nprint(json.dumps(out))")
    try:
        return json.loads(subprocess.run([str(python_for(name)), "-c", code, json.dumps(RUNNERS[name][2])],
                                         capture_output=True, text=True, timeout=60).stdout)
    except (subprocess.SubprocessError, OSError, ValueError):
        return {}


# --- the fake server --------------------------------------------------------------------------


class Server:
    """bench/peers/_stub_server.py in its own process."""

    def __init__(self, turns: int, latency_ms: float) -> None:
        self.proc = subprocess.Popen([str(AGENTZOO_PY), str(PEERS_DIR / "_stub_server.py"), "--port", "0",
                                      "--turns", str(turns), "--latency-ms", str(latency_ms)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        if not line.startswith("http"):
            self.proc.kill()
            raise RuntimeError(f"fake server did not start (got {line!r})")
        self.base_url = line

    def cpu_s(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- running a runner -------------------------------------------------------------------------


def _env(extra: dict[str, str] | None = None, keep_telemetry: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    if keep_telemetry:
        env = {k: v for k, v in env.items() if k not in QUIET_ENV or k.lower() == "no_proxy"}
        env["BENCH_KEEP_TELEMETRY"] = "1"
    else:
        env.update(QUIET_ENV)
    env.update(extra or {})
    return env


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def run_runner(name: str, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> dict:
    """Run bench/peers/<runner> with args; return its JSON line (or {"error": ...})."""
    cmd = [str(python_for(name)), str(PEERS_DIR / RUNNERS[name][0]), *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or _env(), cwd=str(ROOT))
    out_chunks: list[bytes] = []
    err_tail: list[bytes] = []

    def pump(stream, sink, keep_tail: bool) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            sink.append(chunk)
            if keep_tail and len(sink) > 16:
                del sink[:-16]

    threads = [threading.Thread(target=pump, args=(proc.stdout, out_chunks, False), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, err_tail, True), daemon=True)]
    for t in threads:
        t.start()
    killed = None
    while proc.poll() is None:
        if time.perf_counter() - t0 > timeout:
            killed = f"timeout after {timeout:.0f} s"
        elif _rss_mb(proc.pid) > RSS_LIMIT_MB:
            killed = f"killed: RSS above {RSS_LIMIT_MB} MB"
        if killed:
            proc.kill()
            break
        time.sleep(0.2)
    proc.wait()
    for t in threads:
        t.join(5)
    stdout = b"".join(out_chunks).decode(errors="replace")
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            data["elapsed_s"] = round(time.perf_counter() - t0, 3)
            return data
    tail = b"".join(err_tail).decode(errors="replace").strip().splitlines()[-3:]
    return {"error": killed or f"no JSON line (exit {proc.returncode}): {' | '.join(tail)[:400]}"}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _failed(res: dict, label: str, mode: str, data: dict) -> bool:
    """Record and log a runner's error for `mode`; True if there was one."""
    if "error" in data:
        res["errors"][mode] = data["error"]
        log(f"  {label} {mode}: ERROR {data['error'][:200]}")
        return True
    return False


def measure_cpu(name: str, label: str, cfg: argparse.Namespace, cpu_srv: Server, res: dict,
                env: dict[str, str] | None = None, modes: tuple[str, ...] = ("http-cpu", "inproc-cpu")) -> None:
    """The CPU-per-step modes of runner `name` (median of cfg.cpu_runs), into `res`, logged as `label`."""
    for mode in modes:
        runs = []
        for _ in range(cfg.cpu_runs):
            d = run_runner(name, [mode, "--base-url", cpu_srv.base_url, "--tasks", str(cfg.tasks),
                                  "--warmup", str(cfg.warmup)], timeout=900, env=env)
            if _failed(res, label, mode, d):
                break
            runs.append(d)
        if runs:
            res[mode] = {"cpu_per_step_ms": _median([r["cpu_per_step_ms"] for r in runs]),
                         "runs_ms": [round(r["cpu_per_step_ms"], 4) for r in runs],
                         "steps_per_task": runs[0]["steps_per_task"], "tasks": runs[0]["tasks"],
                         "peak_rss_mb": max(r.get("peak_rss_mb") or 0 for r in runs),
                         "ok": sum(r["ok"] for r in runs), "of": sum(r["tasks"] for r in runs),
                         "sample_answer": runs[0].get("sample_answer")}
            if runs[0].get("journal_bytes_per_step") is not None:
                res[mode]["journal_bytes_per_step"] = _median([r["journal_bytes_per_step"] for r in runs])
                res[mode]["runs_journal_bytes_per_step"] = [round(r["journal_bytes_per_step"], 1) for r in runs]
            log(f"  {label} {mode} {res[mode]['cpu_per_step_ms']:.3f} ms/step {res[mode]['runs_ms']}")


def measure_concurrency(name: str, n: int, cfg: argparse.Namespace, conc_srv: Server,
                        env: dict[str, str] | None = None) -> dict:
    """cfg.conc_rounds rounds of N concurrent tasks, each in a fresh process. The result is the
    median round's line (by tasks/s) with tasks_per_s set to the median and every round listed;
    peak RSS is the highest round's. A round that fails ends the level (its error is kept)."""
    rounds, failed = [], None
    for _ in range(cfg.conc_rounds):
        scpu0 = conc_srv.cpu_s()
        d = run_runner(name, ["concurrency", str(n), "--base-url", conc_srv.base_url],
                       timeout=cfg.conc_timeout, env=env)
        d["server_cpu_s"] = round(conc_srv.cpu_s() - scpu0, 3)
        if "error" in d:
            if not rounds:
                return d
            failed = d["error"]
            break
        rounds.append(d)
        if d["ok"] != n:  # tasks failed: no point repeating a level that does not finish cleanly
            break
    by_speed = sorted(rounds, key=lambda r: r["tasks_per_s"])
    out = dict(by_speed[(len(by_speed) - 1) // 2])
    out["tasks_per_s"] = _median([r["tasks_per_s"] for r in rounds])
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    out["rounds_tasks_per_s"] = [round(r["tasks_per_s"], 1) for r in rounds]
    out["rounds_peak_rss_mb"] = [round(r["peak_rss_mb"], 1) for r in rounds]
    out["rounds_wall_s"] = [round(r["wall_s"], 2) for r in rounds]
    if len(rounds) < cfg.conc_rounds:
        out["rounds_note"] = (f"{len(rounds)} of {cfg.conc_rounds} rounds: "
                              + (f"the next failed: {failed[:200]}" if failed else "tasks failed"))
    return out


def measure_variant(runner: str, variant: str, notes: str, cfg: argparse.Namespace, conc_srv: Server) -> dict:
    """The concurrency rows of `runner` with the variant's environment (cfg.extra_env[variant])."""
    u: dict = {"name": variant, "notes": notes, "errors": {}, "concurrency": {}}
    for lvl in cfg.levels:
        d = measure_concurrency(runner, lvl, cfg, conc_srv, env=_env(cfg.extra_env[variant]))
        u["concurrency"][str(lvl)] = d
        log(f"  {variant} {lvl}: {d.get('tasks_per_s', 0):.0f} tasks/s {d.get('rounds_tasks_per_s', '')}, "
            f"peak {d.get('peak_rss_mb', 0):.0f} MB {d.get('error', '')}")
    return u


def measure(name: str, cfg: argparse.Namespace, cpu_srv: Server, conc_srv: Server) -> dict:
    res: dict = {"name": name, "notes": NOTES.get(name, ""), "errors": {}}

    def err(mode: str, data: dict) -> bool:
        return _failed(res, name, mode, data)

    # import: fresh interpreter per sample; the first sample (which may compile .pyc) is discarded.
    samples = []
    for i in range(cfg.import_samples + 1):
        d = run_runner(name, ["import"], timeout=300)
        if err("import", d):
            break
        if i:
            samples.append(d)
    if samples:
        res["import"] = {"import_ms": 1000 * _median([s["import_s"] for s in samples]),
                         "import_cpu_ms": 1000 * _median([s["import_cpu_s"] for s in samples]),
                         "peak_rss_mb": _median([s["peak_rss_mb"] for s in samples]),
                         "modules": samples[0]["modules"], "samples_ms": [round(1000 * s["import_s"], 1)
                                                                          for s in samples]}
        log(f"  {name} import {res['import']['import_ms']:.0f} ms, {res['import']['peak_rss_mb']:.0f} MB")

    # The library floor is an HTTP floor: in-process it would be floor.py's loop again.
    measure_cpu(name, name, cfg, cpu_srv, res, modes=("http-cpu",) if name == "library-floor"
                else ("http-cpu", "inproc-cpu"))

    d = run_runner(name, ["chars", "--base-url", cpu_srv.base_url], timeout=300)
    if not err("chars", d):
        res["chars"] = {k: d.get(k) for k in ("chars_per_task", "requests_per_task", "ok", "threads_after")}
        log(f"  {name} chars {d.get('chars_per_task')} in {d.get('requests_per_task')} requests")

    res["concurrency"] = {}
    for n in cfg.levels:
        d = measure_concurrency(name, n, cfg, conc_srv, env=_env(cfg.extra_env.get(name)))
        res["concurrency"][str(n)] = d
        if err(f"concurrency {n}", d):
            continue
        log(f"  {name} concurrency {n}: {d['tasks_per_s']:.0f} tasks/s {d['rounds_tasks_per_s']}, {d['ok']}/{n} ok, "
            f"peak {d['peak_rss_mb']:.0f} MB, wall {d['wall_s']:.1f} s {d.get('errors') or ''}")
    return res


def probe_network(name: str, cpu_srv: Server) -> dict:
    d = run_runner(name, ["chars", "--base-url", cpu_srv.base_url], timeout=300, env=_env(keep_telemetry=True))
    if "error" in d:
        return {"error": d["error"]}
    hosts = sorted({a.split(" ", 1)[1] for a in (d.get("net_attempts_at_import") or []) + (d.get("net_attempts") or [])})
    return {"hosts": hosts, "at_import": d.get("net_attempts_at_import") or [], "threads_after": d.get("threads_after")}


# --- report -----------------------------------------------------------------------------------


def machine() -> dict:
    info = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()]}  # other work on a shared machine
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        info["agentzoo_git"] = rev + (" (+ uncommitted changes in src/)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    try:  # the code measured: PYTHONPATH may point agentzoo's venv at another checkout (a "before" run)
        where = subprocess.run([str(AGENTZOO_PY), "-c", "import agentzoo; print(agentzoo.__file__)"],
                               capture_output=True, text=True, timeout=60, env=_env()).stdout.strip()
        info["agentzoo_imported_from"] = str(Path(where).parent.parent)
        if not Path(where).is_relative_to(ROOT):
            info["agentzoo_git"] = f"the code at {info['agentzoo_imported_from']} (not this checkout)"
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return info


def _get(res: dict, *path, default=None):
    cur = res
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return default
        cur = cur[p]
    return cur


def _fmt(v, digits=2, unit="") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}{unit}"
        return f"{v:.{digits}f}{unit}"
    return f"{v:,}{unit}" if isinstance(v, int) else f"{v}{unit}"


def tput(res: dict, n: int):
    d = _get(res, "concurrency", str(n))
    if not d or "error" in d:
        return None
    return d.get("tasks_per_s")  # counts correctly finished tasks only; failures are listed in the notes


def tput_cell(res: dict, n: int) -> str:
    d = _get(res, "concurrency", str(n))
    if not d:
        return "—"
    if "error" in d:
        if "timeout after" in d["error"]:
            secs = float(d["error"].split("timeout after", 1)[1].split()[0])
            return f"timeout (< {n / secs:,.0f})"  # not all n tasks finished within the limit
        return "killed (RSS)" if "RSS" in d["error"] else "error"
    if d.get("ok") != n:
        return f"{d.get('tasks_per_s', 0):,.0f} ({d.get('ok')}/{n} ok)"
    return _fmt(d["tasks_per_s"], 0)


def summarize(results: dict[str, dict], levels: list[int]) -> dict:
    peers = {k: v for k, v in results.items() if k in PEER_NAMES}
    az, floor, lib = results.get("agentzoo", {}), results.get("floor", {}), results.get("library-floor", {})
    jf = results.get("journal-floor", {})

    def fastest(metric: tuple, higher: bool = False):
        vals = [(_get(r, *metric), k) for k, r in peers.items() if _get(r, *metric) is not None]
        if not vals:
            return None, None
        return (max if higher else min)(vals)

    out = {}
    # Targets of issue 22. Via HTTP the target holds in every round: each of agentzoo's rounds is
    # divided by the fastest peer's median (rounds of different frameworks are not paired).
    for key, metric, factor, label in (("http_cpu", ("http-cpu", "cpu_per_step_ms"), 0.07,
                                        "≤ 0.07× fastest peer, every round"),
                                       ("inproc_cpu", ("inproc-cpu", "cpu_per_step_ms"), 0.1, "≤ 0.10× fastest peer"),
                                       ("import", ("import", "import_ms"), 0.5, "≤ 1/2 fastest peer")):
        best, who = fastest(metric)
        mine = _get(az, *metric)
        ratio = mine / best if mine is not None and best else None
        out[key] = {"agentzoo": mine, "fastest_peer": who, "fastest_peer_value": best,
                    "floor": _get(floor, *metric), "ratio_vs_fastest_peer": ratio,
                    "ratio_vs_floor": (mine / _get(floor, *metric)) if mine is not None and _get(floor, *metric) else None,
                    "target": label, "met": (ratio is not None and ratio <= factor)}
        if key == "http_cpu":
            each_round = [r / best for r in (_get(az, *metric[:-1], "runs_ms") or [])] if best else []
            out[key]["rounds_ratio_vs_fastest_peer"] = [round(r, 4) for r in each_round]
            out[key]["met"] = bool(each_round) and max(each_round) <= factor
        each = _get(results.get("agentzoo-commit-each", {}), *metric)
        if key != "import" and each is not None:
            out[key]["commit_each"] = each
            out[key]["commit_each_ratio_vs_fastest_peer"] = each / best if best else None
            out[key]["commit_each_met"] = bool(best) and each / best <= factor
    top = max(levels)
    mine, fl, lf = tput(az, top), tput(floor, top), tput(lib, top)
    rss = _get(az, "concurrency", str(top), "peak_rss_mb")
    peer_t = [(tput(r, top), k) for k, r in peers.items() if tput(r, top) is not None]
    vs_floor, vs_lib = (mine / fl if mine and fl else None), (mine / lf if mine and lf else None)
    out["concurrency"] = {"n": top, "agentzoo_tasks_per_s": mine, "floor_tasks_per_s": fl,
                          "library_floor_tasks_per_s": lf,
                          "best_peer": max(peer_t)[1] if peer_t else None,
                          "best_peer_tasks_per_s": max(peer_t)[0] if peer_t else None,
                          "ratio_vs_floor": vs_floor, "ratio_vs_library_floor": vs_lib,
                          "library_floor_ratio_vs_floor": lf / fl if lf and fl else None,
                          "agentzoo_peak_rss_mb": rss,
                          "agentzoo_failed_tasks": top - (_get(az, "concurrency", str(top), "ok") or 0),
                          "target": f"≥ 0.5× floor at {top:,} tasks with defaults, < 1 GiB",
                          "met": bool(vs_floor and vs_floor >= 0.5 and rss is not None and rss < 1024)
                          and top >= 10000,
                          "target_library_floor": f"≥ 0.8× library floor at {top:,} tasks",
                          "met_library_floor": bool(vs_lib and vs_lib >= 0.8) and top >= 10000}
    no_wire = tput(results.get("agentzoo-no-wire", {}), top)
    if no_wire:
        out["concurrency"].update(agentzoo_no_wire_tasks_per_s=no_wire,
                                  agentzoo_no_wire_cpu_s=_get(results["agentzoo-no-wire"], "concurrency", str(top),
                                                              "cpu_s"),
                                  agentzoo_cpu_s=_get(az, "concurrency", str(top), "cpu_s"))
    whole = tput(results.get("agentzoo-whole-replies", {}), top)
    if whole:
        out["concurrency"].update(agentzoo_whole_replies_tasks_per_s=whole,
                                  agentzoo_whole_replies_cpu_s=_get(results["agentzoo-whole-replies"], "concurrency",
                                                                    str(top), "cpu_s"),
                                  agentzoo_whole_replies_ratio_vs_library_floor=whole / lf if lf else None,
                                  agentzoo_cpu_s=_get(az, "concurrency", str(top), "cpu_s"))
    j = tput(jf, top)
    if j:
        out["concurrency"].update(journal_floor_tasks_per_s=j, ratio_vs_journal_floor=mine / j if mine else None,
                                  journal_floor_ratio_vs_library_floor=j / lf if lf else None)
    on_asyncio = tput(results.get("agentzoo-asyncio", {}), top)
    if on_asyncio:
        out["concurrency"].update(agentzoo_asyncio_tasks_per_s=on_asyncio,
                                  agentzoo_asyncio_ratio_vs_floor=on_asyncio / fl if fl else None,
                                  agentzoo_asyncio_ratio_vs_library_floor=on_asyncio / lf if lf else None)
    fu, lu = tput(results.get("floor-uvloop", {}), top), tput(results.get("library-floor-uvloop", {}), top)
    if fu or lu:
        out["concurrency"].update(floor_uvloop_tasks_per_s=fu, library_floor_uvloop_tasks_per_s=lu,
                                  ratio_vs_floor_uvloop=mine / fu if mine and fu else None,
                                  ratio_vs_library_floor_uvloop=mine / lu if mine and lu else None)
    uncapped = results.get("agentzoo-uncapped")
    if uncapped:
        u = tput(uncapped, top)
        out["concurrency"]["agentzoo_uncapped_tasks_per_s"] = u
        out["concurrency"]["agentzoo_uncapped_ratio_vs_floor"] = u / fl if u and fl else None
        out["concurrency"]["agentzoo_uncapped_ratio_vs_library_floor"] = u / lf if u and lf else None
        out["concurrency"]["agentzoo_uncapped_peak_rss_mb"] = _get(uncapped, "concurrency", str(top), "peak_rss_mb")
    c_az, c_fl = _get(az, "chars", "chars_per_task"), _get(floor, "chars", "chars_per_task")
    c_peers = [(_get(r, "chars", "chars_per_task"), k) for k, r in peers.items() if _get(r, "chars", "chars_per_task")]
    out["chars"] = {"agentzoo": c_az, "floor": c_fl, "ratio_vs_floor": c_az / c_fl if c_az and c_fl else None,
                    "smallest_peer": min(c_peers)[1] if c_peers else None,
                    "smallest_peer_value": min(c_peers)[0] if c_peers else None,
                    "target": "≤ 1.05× floor", "met": bool(c_az and c_fl and c_az / c_fl <= 1.05)}
    return out


def markdown(report: dict) -> str:
    results, levels, m, s = report["results"], report["config"]["levels"], report["machine"], report["summary"]
    order = [k for k in ["agentzoo", "agentzoo-asyncio", "agentzoo-commit-each", "agentzoo-uncapped",
                         "agentzoo-whole-replies", "agentzoo-no-wire",
                         *FLOORS, *(f"{f}-uvloop" for f in UVLOOP_FLOORS), *PEER_NAMES]
             if k in results]
    lines = ["# agentzoo vs peers (bench/agents.py)", "",
             f"Machine: {m.get('cpu', '?')}, {m['cores']} cores, {m.get('mem_gib', '?')} GiB, Python {m['python']}, "
             f"{m['platform']}; agentzoo {m.get('agentzoo_git', '')}; {m['date']}; "
             f"mode: {'quick' if report['config']['quick'] else 'full'}; load average (1, 5, 15 min) at start "
             f"{m.get('loadavg_start', '?')}, at end {m.get('loadavg_end', '?')}.", "",
             "CPU = process CPU time per model turn (lower is better). Import = median wall time of the imports "
             "needed to build the agent, fresh interpreter. Throughput = tasks/s with N concurrent 5-turn tasks, "
             "50 ms server latency (tasks that failed are not counted, see the notes). Medians of "
             f"{report['config'].get('rounds', report['config'].get('cpu_runs', 1))} round(s); every round is "
             "under \"All rounds\".", ""]
    head = ["framework", "HTTP CPU ms/step", "in-proc CPU ms/step", "import ms", "RSS after import MB",
            "chars/task"] + [f"tasks/s @{n:,}" for n in levels] + [f"peak RSS MB @{levels[-1]:,}"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in order:
        r = results[k]
        row = [k, _fmt(_get(r, "http-cpu", "cpu_per_step_ms"), 3), _fmt(_get(r, "inproc-cpu", "cpu_per_step_ms"), 3),
               _fmt(_get(r, "import", "import_ms"), 0), _fmt(_get(r, "import", "peak_rss_mb"), 0),
               _fmt(_get(r, "chars", "chars_per_task"))]
        row += [tput_cell(r, n) for n in levels]
        row += [_fmt(_get(r, "concurrency", str(levels[-1]), "peak_rss_mb"), 0)]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Targets (ratios within this run)", "",
              "| metric | agentzoo | floor | fastest peer | agentzoo / fastest peer | agentzoo / floor | target | met |",
              "|---|---|---|---|---|---|---|---|"]
    for key, label in (("http_cpu", "CPU/step via HTTP (ms)"), ("inproc_cpu", "CPU/step in-process (ms)"),
                       ("import", "import (ms)")):
        t = s[key]
        dg = 0 if key == "import" else 3
        lines.append(f"| {label} | {_fmt(t['agentzoo'], dg)} | {_fmt(t['floor'], dg)} | "
                     f"{t['fastest_peer'] or '—'} {_fmt(t['fastest_peer_value'], dg)} | "
                     f"{_fmt(t['ratio_vs_fastest_peer'], 3)}"
                     + (f" (rounds {t['rounds_ratio_vs_fastest_peer']})" if t.get("rounds_ratio_vs_fastest_peer") else "")
                     + f" | {_fmt(t['ratio_vs_floor'], 2)} | {t['target']} | {'yes' if t['met'] else 'NO'} |")
        if t.get("commit_each") is not None:
            lines.append(f"| {label}, every effect its own commit | {_fmt(t['commit_each'], dg)} | "
                         f"{_fmt(t['floor'], dg)} | {t['fastest_peer'] or '—'} {_fmt(t['fastest_peer_value'], dg)} | "
                         f"{_fmt(t['commit_each_ratio_vs_fastest_peer'], 3)} | "
                         f"{_fmt(t['commit_each'] / t['floor'] if t['floor'] else None, 2)} | {t['target']} | "
                         f"{'yes' if t['commit_each_met'] else 'NO'} |")
    c = s["concurrency"]
    extra = ""
    if c.get("agentzoo_uncapped_tasks_per_s") is not None:
        extra = (f" (uncapped: {_fmt(c['agentzoo_uncapped_tasks_per_s'], 0)} tasks/s = "
                 f"{_fmt(c['agentzoo_uncapped_ratio_vs_floor'], 2)}× floor, "
                 f"{_fmt(c.get('agentzoo_uncapped_ratio_vs_library_floor'), 2)}× library floor, "
                 f"{_fmt(c['agentzoo_uncapped_peak_rss_mb'], 0)} MB)")
    lines.append(f"| tasks/s @{c['n']:,} | {_fmt(c['agentzoo_tasks_per_s'], 0)}, peak {_fmt(c['agentzoo_peak_rss_mb'], 0)} MB"
                 f"{extra} | {_fmt(c['floor_tasks_per_s'], 0)} | {c['best_peer'] or '—'} "
                 f"{_fmt(c['best_peer_tasks_per_s'], 0)} | — | {_fmt(c['ratio_vs_floor'], 2)} | {c['target']} | "
                 f"{'yes' if c['met'] else 'NO'} |")
    if c.get("target_library_floor"):
        lines.append(f"| tasks/s @{c['n']:,} vs the library floor | {_fmt(c['agentzoo_tasks_per_s'], 0)} | "
                     f"library floor {_fmt(c.get('library_floor_tasks_per_s'), 0)} (= "
                     f"{_fmt(c.get('library_floor_ratio_vs_floor'), 2)}× floor) | — | — | "
                     f"{_fmt(c.get('ratio_vs_library_floor'), 2)} | {c['target_library_floor']} | "
                     f"{'yes' if c.get('met_library_floor') else 'NO'} |")
    if c.get("agentzoo_asyncio_tasks_per_s"):
        lines.append(f"| tasks/s @{c['n']:,} on asyncio's loop | {_fmt(c['agentzoo_asyncio_tasks_per_s'], 0)} | "
                     f"{_fmt(c['floor_tasks_per_s'], 0)} | — | — | "
                     f"{_fmt(c.get('agentzoo_asyncio_ratio_vs_floor'), 2)} "
                     f"(library floor: {_fmt(c.get('agentzoo_asyncio_ratio_vs_library_floor'), 2)}) | "
                     "a program that calls asyncio.run itself | — |")
    if c.get("floor_uvloop_tasks_per_s") or c.get("library_floor_uvloop_tasks_per_s"):
        lines.append(f"| tasks/s @{c['n']:,} vs the floors on uvloop | {_fmt(c['agentzoo_tasks_per_s'], 0)} | "
                     f"floor {_fmt(c.get('floor_uvloop_tasks_per_s'), 0)}, library floor "
                     f"{_fmt(c.get('library_floor_uvloop_tasks_per_s'), 0)} | — | — | "
                     f"{_fmt(c.get('ratio_vs_floor_uvloop'), 2)} (library floor: "
                     f"{_fmt(c.get('ratio_vs_library_floor_uvloop'), 2)}) | the floors on agentzoo's loop | — |")
    if c.get("journal_floor_tasks_per_s"):
        lines.append(f"| tasks/s @{c['n']:,} vs the journal floor | {_fmt(c['agentzoo_tasks_per_s'], 0)} | "
                     f"journal floor {_fmt(c['journal_floor_tasks_per_s'], 0)} (= "
                     f"{_fmt(c.get('journal_floor_ratio_vs_library_floor'), 2)}× library floor) | — | — | "
                     f"{_fmt(c.get('ratio_vs_journal_floor'), 2)} | what durability alone costs | — |")
    if c.get("agentzoo_whole_replies_tasks_per_s"):
        lines.append(f"| tasks/s @{c['n']:,} reading each reply whole (`--model-opt stream=false`) | "
                     f"{_fmt(c['agentzoo_whole_replies_tasks_per_s'], 0)} "
                     f"({_fmt(c.get('agentzoo_whole_replies_cpu_s'), 1)} s of CPU; streamed "
                     f"{_fmt(c.get('agentzoo_cpu_s'), 1)} s) | "
                     f"library floor {_fmt(c.get('library_floor_tasks_per_s'), 0)} | — | — | "
                     f"{_fmt(c.get('agentzoo_whole_replies_ratio_vs_library_floor'), 2)} | "
                     "the library floor reads replies whole too | — |")
    if c.get("agentzoo_no_wire_tasks_per_s"):
        lines.append(f"| tasks/s @{c['n']:,} with the wire taken out | {_fmt(c['agentzoo_no_wire_tasks_per_s'], 0)} "
                     f"({_fmt(c.get('agentzoo_no_wire_cpu_s'), 1)} s of CPU; over HTTP "
                     f"{_fmt(c.get('agentzoo_cpu_s'), 1)} s) | — | — | — | — | agentzoo's own cost | — |")
    ch = s["chars"]
    lines.append(f"| chars sent per task | {_fmt(ch['agentzoo'])} | {_fmt(ch['floor'])} | {ch['smallest_peer'] or '—'} "
                 f"{_fmt(ch['smallest_peer_value'])} | — | {_fmt(ch['ratio_vs_floor'], 3)} | {ch['target']} | "
                 f"{'yes' if ch['met'] else 'NO'} |")
    if report.get("long_runs"):
        import long_runs

        lines += long_runs.target_rows(report["long_runs"])
        lines += [""] + long_runs.markdown(report["long_runs"])
    lines += [""] + all_rounds(report, order)
    lines += ["## Versions and notes", ""]
    for k in order:
        r = results[k]
        vers = ", ".join(f"{n} {v}" for n, v in (r.get("versions") or {}).items() if v)
        lines.append(f"- **{k}** ({vers}): {r.get('notes', '')}")
        if r.get("errors"):
            for mode, e in r["errors"].items():
                lines.append(f"  - error in {mode}: `{str(e)[:300]}`")
        top = (r.get("concurrency") or {}).get(str(levels[-1])) or {}
        if top.get("gc_seconds") is not None and top.get("cpu_s"):
            lines.append(f"  - CPython's garbage collector at {levels[-1]:,}: {top['gc_seconds']:.1f} s of "
                         f"{top['cpu_s']:.1f} s CPU ({top['gc_full_collections']} full collections)")
        conc_errs = {n: d.get("errors") for n, d in (r.get("concurrency") or {}).items() if d.get("errors")}
        for n, e in conc_errs.items():
            lines.append(f"  - failures at {int(n):,}: `{json.dumps(e)[:300]}`")
        if r.get("network_probe"):
            p = r["network_probe"]
            lines.append(f"  - network with telemetry defaults: {', '.join(p.get('hosts') or []) or 'none'}"
                         + (f" (error: {p['error']})" if p.get("error") else ""))
    return "\n".join(lines) + "\n"


def all_rounds(report: dict, order: list[str]) -> list[str]:
    """Every round behind the medians above, one line per framework and row."""
    results, levels = report["results"], report["config"]["levels"]
    lines = ["## All rounds", ""]
    for k in order:
        r = results[k]
        parts = []
        for mode, label in (("http-cpu", "HTTP CPU ms/step"), ("inproc-cpu", "in-proc CPU ms/step")):
            if _get(r, mode, "runs_ms"):
                parts.append(f"{label} {r[mode]['runs_ms']}")
            if _get(r, mode, "runs_journal_bytes_per_step"):
                parts.append(f"{mode} journal B/step {r[mode]['runs_journal_bytes_per_step']}")
        if _get(r, "import", "samples_ms"):
            parts.append(f"import ms {r['import']['samples_ms']}")
        for n in levels:
            d = _get(r, "concurrency", str(n)) or {}
            if d.get("rounds_tasks_per_s"):
                parts.append(f"tasks/s @{n:,} {d['rounds_tasks_per_s']} (peak MB {d['rounds_peak_rss_mb']})"
                             + (f" — {d['rounds_note']}" if d.get("rounds_note") else ""))
        if parts:
            lines.append(f"- **{k}**: " + "; ".join(parts))
    return lines + [""]


def save(report: dict, out: Path, md: str) -> str:
    """Write the report as JSON (atomically: a killed run leaves the last one whole) and its
    Markdown beside it; return the Markdown. Shared by the bench scripts."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str))
    tmp.replace(out)
    out.with_suffix(".md").write_text(md)
    return md


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--peers", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    p.add_argument("--skip-install", action="store_true", help="use the venvs as they are")
    p.add_argument("--quick", action="store_true", help="fewer samples, concurrency up to 1,000")
    p.add_argument("--out", default=str(BENCH / "results" / "agents.json"))
    p.add_argument("--levels", help="concurrency levels, e.g. 10,100,1000,10000")
    p.add_argument("--conc-timeout", type=float,
                   help="seconds one framework may take for one concurrency level before it is stopped and "
                        "recorded as timed out (default: 600 quick, 2400 full)")
    p.add_argument("--probe-network", action=argparse.BooleanOptionalAction, default=None,
                   help="re-run each framework once with its telemetry defaults and list the hosts it "
                        "tried to reach (default: on for full runs)")
    p.add_argument("--rounds", type=int, help="rounds behind every median (default: 3 full, 1 quick)")
    p.add_argument("--long-runs", action=argparse.BooleanOptionalAction, default=True,
                   help="measure the long-run rows (bench/long_runs.py) when agentzoo is among --peers")
    p.add_argument("--long-lengths", default="10,100,1000", help="run lengths (steps) of the long-run rows")
    p.add_argument("--render", metavar="JSON", help="only rewrite the Markdown from a saved JSON result")
    cfg = p.parse_args()
    if cfg.render:
        report = json.loads(Path(cfg.render).read_text())
        report["summary"] = summarize(report["results"], report["config"]["levels"])
        if report.get("long_runs"):
            import long_runs

            report["summary"]["long_runs"] = long_runs.summarize(report["long_runs"])
        md = markdown(report)
        Path(cfg.render).with_suffix(".md").write_text(md)
        print(md)
        return
    names = [n.strip() for n in cfg.peers.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        p.error(f"unknown peers {unknown}; choose from {ALL}")
    cfg.levels = ([int(x) for x in cfg.levels.split(",")] if cfg.levels
                  else [10, 100, 1000] if cfg.quick else [10, 100, 1000, 10000])
    cfg.import_samples = 3 if cfg.quick else 7
    cfg.rounds = cfg.rounds or (1 if cfg.quick else 3)
    cfg.cpu_runs = cfg.conc_rounds = cfg.rounds
    cfg.tasks = 5 if cfg.quick else 20
    cfg.warmup = 2 if cfg.quick else 3
    cfg.conc_timeout = cfg.conc_timeout or (600 if cfg.quick else 2400)
    cfg.extra_env = {"agentzoo-uncapped": {"BENCH_AGENTZOO_MODEL_OPT": "max_concurrency=100000"},
                     "agentzoo-whole-replies": {"BENCH_AGENTZOO_MODEL_OPT": "stream=false"},
                     "agentzoo-no-wire": {"BENCH_AGENTZOO_NO_WIRE_MS": "50"},  # the concurrency server's latency
                     "agentzoo-commit-each": {"BENCH_AGENTZOO_COMMIT_EACH": "1"},
                     "agentzoo-asyncio": {"AGENTZOO_EVENT_LOOP": "asyncio"},
                     **{f"{floor}-uvloop": {"BENCH_LOOP": "uvloop"} for floor in UVLOOP_FLOORS}}
    probe = cfg.probe_network if cfg.probe_network is not None else not cfg.quick

    report = {"machine": machine(), "config": {"quick": cfg.quick, "levels": cfg.levels, "tasks": cfg.tasks,
                                               "warmup": cfg.warmup, "cpu_runs": cfg.cpu_runs,
                                               "rounds": cfg.rounds, "concurrency_rounds": cfg.conc_rounds,
                                               "import_samples": cfg.import_samples, "cpu_turns": 10,
                                               "concurrency_turns": 5, "latency_ms": 50, "pins": PINS},
              "results": {}}
    ready = {}
    for n in names:
        e = ensure_venv(n, cfg.skip_install)
        ready[n] = e
        if e:
            log(f"{n}: {e}")

    cpu_srv, conc_srv = Server(turns=10, latency_ms=0), Server(turns=5, latency_ms=50)
    log(f"servers: {cpu_srv.base_url} (0 ms, 10 turns), {conc_srv.base_url} (50 ms, 5 turns)")
    try:
        for n in names:
            if ready[n]:
                report["results"][n] = {"name": n, "notes": NOTES.get(n, ""), "errors": {"install": ready[n]}}
                continue
            log(f"measuring {n}")
            try:
                r = measure(n, cfg, cpu_srv, conc_srv)
            except Exception as e:  # noqa: BLE001 - one framework must not abort the run
                r = {"name": n, "notes": NOTES.get(n, ""), "errors": {"harness": f"{type(e).__name__}: {e}"}}
            r["versions"] = versions(n)
            if probe and n not in FLOORS:
                r["network_probe"] = probe_network(n, cpu_srv)
                log(f"  {n} network probe: {r['network_probe']}")
            report["results"][n] = r
            if n in UVLOOP_FLOORS:
                # The same floor on uvloop, the loop agentzoo's own entry points run on.
                variant = f"{n}-uvloop"
                log(f"measuring {variant} (concurrency only)")
                report["results"][variant] = measure_variant(n, variant, NOTES[n] + " On uvloop.", cfg, conc_srv)
            if n == "agentzoo":
                # Same runner with OpenAICompatible's in-flight cap raised, and with no wire at all
                # (the script answering after the server's latency): concurrency only.
                for variant, notes in (
                        ("agentzoo-asyncio", "agentzoo on asyncio's own event loop (AGENTZOO_EVENT_LOOP=asyncio), as "
                                             "a program that calls asyncio.run itself has it; concurrency rows only."),
                        ("agentzoo-uncapped", "agentzoo with OpenAICompatible(max_concurrency=100000); concurrency "
                                              "rows only."),
                        ("agentzoo-whole-replies", "agentzoo reading each reply whole instead of as a stream "
                                                   "(`--model-opt stream=false`); concurrency rows only."),
                        ("agentzoo-no-wire", "agentzoo with the wire taken out: the in-process script (not declared "
                                             "local) answering after the server's 50 ms; concurrency rows only, so "
                                             "that agentzoo's own cost is told from its model client's.")):
                    log(f"measuring {variant} (concurrency only)")
                    report["results"][variant] = measure_variant("agentzoo", variant, notes, cfg, conc_srv)
                # Same runner without the pure/local declarations: every effect its own commit.
                log("measuring agentzoo-commit-each (CPU rows only, every effect committed on its own)")
                e = {"name": "agentzoo-commit-each", "errors": {},
                     "notes": "agentzoo with the tool and the script left at their default declarations, so "
                              "each model call and tool call is its own SQLite transaction; CPU rows only."}
                measure_cpu("agentzoo", "agentzoo-commit-each", cfg, cpu_srv, e,
                            env=_env(cfg.extra_env["agentzoo-commit-each"]))
                report["results"]["agentzoo-commit-each"] = e
    finally:
        cpu_srv.close()
        conc_srv.close()
    if cfg.long_runs and "agentzoo" in names and not ready["agentzoo"]:
        import long_runs

        lengths = [int(x) for x in cfg.long_lengths.split(",")]
        report["long_runs"] = long_runs.measure([n for n in names if not ready[n]], lengths, cfg.rounds,
                                                warmup=not cfg.quick)

    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["summary"] = summarize(report["results"], cfg.levels)
    if report.get("long_runs"):
        report["summary"]["long_runs"] = long_runs.summarize(report["long_runs"])
    out = Path(cfg.out)
    print(save(report, out, markdown(report)))
    log(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    sys.modules.setdefault("agents", sys.modules[__name__])  # bench/long_runs.py imports the harness from here
    main()
