"""Shared driver for the bench/peers runners (stdlib only: it runs in every peer's venv).

A runner module defines:
    imports()                 -> the imports a user writes to build an HTTP agent (timed in `import` mode)
    make_http(base_url, turns)-> run_one: a callable running ONE task against the server, returning the answer
    make_inproc(turns)        -> run_one for the framework's own in-process test double
    SYNC = True|False         -> run_one is a plain function (True) or a coroutine function (False)
and optionally, for the cpu modes:
    before_measure()          -> called after the warm-up tasks, before the measured ones
    after_measure(steps)      -> a dict merged into the result line (e.g. journal bytes per step)
and calls `main(sys.modules[__name__])`.

    python bench/peers/<name>.py MODE [N] [--base-url URL] [--tasks K] [--warmup W] [--turns T]

--turns (cpu modes, default 10) sets the model turns per task, for the long-run rows; only the
agentzoo runner and the two floors loop long enough for more than 20.

MODE is http-cpu | inproc-cpu | import | concurrency N | chars. Exactly ONE JSON line is
printed on stdout (fd 1 is redirected to stderr while the framework runs, so its own console
output cannot interfere).
"""

from __future__ import annotations

# Only modules every interpreter has loaded (or tiny C ones) at top level: the `import` mode
# times the framework's imports in a fresh interpreter, so asyncio, json, urllib... must not be
# preloaded here. The rest is imported by _late_imports() after that measurement.
import os
import resource
import sys
import time


def _late_imports() -> None:
    global argparse, asyncio, gc, json, threading, traceback, urllib
    import argparse
    import asyncio
    import gc
    import json
    import threading
    import traceback
    import urllib.request

SYSTEM = "You are a calculator. Use the add tool for every addition, one call at a time."
CPU_TURNS = 10      # 9 tool calls + 1 final answer
CONC_TURNS = 5      # 4 tool calls + 1 final answer
MODEL = "fake-model"
API_KEY = "sk-fake"

# Counted by the in-process test doubles (one per model call), so steps are measured, not assumed.
CALLS = [0]

QUIET_ENV = {
    # Telemetry that would try the (closed) network, or that a benchmark should not send.
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "ANONYMIZED_TELEMETRY": "False",
    "POSTHOG_DISABLED": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "LITELLM_TELEMETRY": "False",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


def task_text(turns: int) -> str:
    return f"Add the numbers 1..{turns} using the add tool, one addition per call, then reply with the sum."


def expected(turns: int) -> str:
    return str(turns * (turns + 1) // 2)


def script(k: int, turns: int):
    """The scripted conversation, shared by every in-process test double (same as the fake server).

    k = number of assistant turns already in the conversation. Returns ("call", call_id, a, b)
    for the first turns-1 turns, then ("final", text)."""
    CALLS[0] += 1
    if k < turns - 1:
        return ("call", f"call_{k}", (k + 1) * (k + 2) // 2, k + 2)
    return ("final", f"The sum is {expected(turns)}.")


def turns_done(messages) -> int:
    """Assistant turns already in an OpenAI-shaped conversation, read from the last assistant
    message's call id (`call_{k}`, as script() and the server name them). Scanning from the end
    costs O(1) per step where counting every message costs O(run length): in the long-run rows
    the test double must not be what grows."""
    for m in reversed(messages):
        if m.get("role") == "assistant":
            calls = m.get("tool_calls")
            return int(calls[0]["id"].rpartition("_")[2]) + 1 if calls else sum(
                1 for x in messages if x.get("role") == "assistant")
    return 0


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# ---------------------------------------------------------------------------------------------

_REAL_STDOUT = None


def raise_nofile() -> None:
    """Raise the soft limit on open files to the hard one: 10,000 tasks hold 10,000 sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def _setup() -> None:
    global _REAL_STDOUT
    if not os.environ.get("BENCH_KEEP_TELEMETRY"):  # set by `agents.py --probe-network`
        for k, v in QUIET_ENV.items():
            os.environ.setdefault(k, v)
    raise_nofile()
    sys.stdout.flush()
    _REAL_STDOUT = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the framework prints goes to stderr


def emit(data: dict) -> None:
    out = _REAL_STDOUT or sys.stdout
    out.write(json.dumps(data, default=str) + "\n")
    out.flush()


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def server_root(base_url: str) -> str:
    root = base_url.rstrip("/")
    return root[:-3] if root.endswith("/v1") else root


def server_stats(base_url: str, reset: bool = False) -> dict:
    url = server_root(base_url) + ("/_reset" if reset else "/_stats")
    req = urllib.request.Request(url, data=b"" if reset else None, method="POST" if reset else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class _NetWatch:
    """Audit hook noting every socket connect / DNS lookup to a non-loopback address."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def __call__(self, event: str, args) -> None:
        if event == "socket.connect":
            addr = args[1]
            host = addr[0] if isinstance(addr, tuple) else str(addr)
        elif event == "socket.getaddrinfo":
            host = args[0]
        else:
            return
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host in (None, "", "localhost") or str(host).startswith(("127.", "::1", "/")):
            return
        if len(self.attempts) < 50:
            self.attempts.append(f"{event} {host}")


# ---------------------------------------------------------------------------------------------


class _GcTimer:
    """A gc callback: time spent in CPython's cyclic garbage collector, and its full collections
    (each one walks every live object: with thousands of tasks in flight, that is most of the cost)."""

    def __init__(self) -> None:
        self.seconds, self.full, self._start = 0.0, 0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.full += info.get("generation") == 2


def _invoker(mod, run_one):
    """A plain function running one task, for sync and async runners alike (one persistent loop)."""
    if getattr(mod, "SYNC", False):
        return run_one
    loop = asyncio.get_event_loop()  # set by main() before the runner built its clients
    return lambda: loop.run_until_complete(run_one())


def _cpu(mod, run_one, turns: int, tasks: int, warmup: int, base_url: str | None) -> dict:
    call = _invoker(mod, run_one)
    answers = []
    for _ in range(warmup):
        answers.append(call())
    before = getattr(mod, "before_measure", None)
    if before is not None:  # e.g. agentzoo's runner: a fresh journal, so its bytes are the measured tasks'
        before()
    if base_url:
        server_stats(base_url, reset=True)
    CALLS[0] = 0
    gc.collect()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(tasks):
        answers.append(call())
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    steps = server_stats(base_url)["requests"] if base_url else CALLS[0]
    ok = sum(1 for a in answers[warmup:] if expected(turns) in str(a))
    out = {
        "turns": turns, "tasks": tasks, "warmup": warmup, "steps": steps, "steps_per_task": steps / tasks,
        "cpu_s": cpu, "wall_s": wall,
        "cpu_per_step_ms": 1000.0 * cpu / max(steps, 1),
        "cpu_per_task_ms": 1000.0 * cpu / tasks,
        "ok": ok, "sample_answer": str(answers[-1])[:120], "peak_rss_mb": maxrss_mb(),
    }
    after = getattr(mod, "after_measure", None)
    if after is not None:
        out.update(after(steps))
    return out


def _chars(mod, run_one, base_url: str) -> dict:
    call = _invoker(mod, run_one)
    call()  # warm-up
    server_stats(base_url, reset=True)
    answer = call()
    st = server_stats(base_url)
    return {"chars_per_task": st["body_bytes"], "requests_per_task": st["requests"],
            "ok": expected(CPU_TURNS) in str(answer), "sample_answer": str(answer)[:120]}


async def _concurrency(mod, base_url: str, n: int, turns: int) -> dict:
    run_one = mod.make_http(base_url, turns)  # inside the loop: clients may bind to it
    if getattr(mod, "SYNC", False):
        first = await asyncio.to_thread(run_one)  # warm-up: lazy imports, first connection
    else:
        first = await run_one()
    rss0 = current_rss_mb()
    errors: dict[str, int] = {}
    gc.collect()
    gc_time = _GcTimer()
    gc.callbacks.append(gc_time)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if getattr(mod, "SYNC", False):
        # No async API: one thread per concurrent task, as a user would have to do.
        from concurrent.futures import ThreadPoolExecutor
        threading.stack_size(1 << 20)
        with ThreadPoolExecutor(max_workers=n) as pool:
            futs = [pool.submit(run_one) for _ in range(n)]
            results = []
            for f in futs:
                try:
                    results.append(f.result())
                except BaseException as e:  # noqa: BLE001
                    results.append(e)
    else:
        results = await asyncio.gather(*(run_one() for _ in range(n)), return_exceptions=True)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    gc.callbacks.remove(gc_time)
    ok = 0
    for r in results:
        if isinstance(r, BaseException):
            key = f"{type(r).__name__}: {str(r)[:100]}"
            errors[key] = errors.get(key, 0) + 1
        elif expected(turns) in str(r):
            ok += 1
        else:
            errors["wrong answer: " + str(r)[:60]] = errors.get("wrong answer: " + str(r)[:60], 0) + 1
    return {
        "n": n, "turns": turns, "ok": ok, "wall_s": wall, "cpu_s": cpu,
        "tasks_per_s": ok / wall if wall > 0 else 0.0,
        "rss_after_warmup_mb": rss0, "peak_rss_mb": maxrss_mb(),
        "gc_seconds": gc_time.seconds, "gc_full_collections": gc_time.full,
        "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5]),
        "warmup_answer": str(first)[:80],
    }


def _loop_factory(mod):
    """What makes the runner's event loop: the runner's own choice (`mod.loop_factory()`, agentzoo's
    default loop), else uvloop's under BENCH_LOOP=uvloop (the floors' `-uvloop` rows), else asyncio's."""
    own = getattr(mod, "loop_factory", None)
    if own is not None:
        return own()
    if os.environ.get("BENCH_LOOP") == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def _loop_name(factory) -> str:
    return "uvloop" if getattr(factory, "__module__", "").startswith("uvloop") else "asyncio"


def main(mod) -> None:
    if sys.argv[1:2] == ["import"]:
        # Fresh interpreter, nothing but os/sys/time/resource loaded: time the user's imports.
        wall0, cpu0 = time.perf_counter(), time.process_time()
        out_fd = os.dup(1)
        os.dup2(2, 1)
        mod.imports()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        line = ('{"mode": "import", "import_s": %.6f, "import_cpu_s": %.6f, "peak_rss_mb": %.3f, '
                '"modules": %d}\n' % (wall, cpu, maxrss_mb(), len(sys.modules)))
        os.write(out_fd, line.encode())
        os._exit(0)
    _late_imports()
    _setup()
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["http-cpu", "inproc-cpu", "concurrency", "chars"])
    p.add_argument("n", nargs="?", type=int, default=0)
    p.add_argument("--base-url", default=os.environ.get("BENCH_BASE_URL"))
    p.add_argument("--tasks", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--turns", type=int, default=CPU_TURNS,
                   help="model turns per task in the cpu modes (long runs; the server must play as many)")
    a = p.parse_args()
    out: dict = {"mode": a.mode}
    if a.mode == "concurrency":
        out["n"] = a.n
    try:
        if a.mode == "chars":
            watch = _NetWatch()
            sys.addaudithook(watch)
            mod.imports()
            net_at_import = list(watch.attempts)
            factory = _loop_factory(mod)
            out["event_loop"] = _loop_name(factory)
            asyncio.set_event_loop(factory())
            out.update(_chars(mod, mod.make_http(a.base_url, CPU_TURNS), a.base_url))
            if os.environ.get("BENCH_KEEP_TELEMETRY"):
                time.sleep(float(os.environ.get("BENCH_PROBE_WAIT", "8")))  # let batch exporters flush
            out.update(net_attempts_at_import=net_at_import, net_attempts=watch.attempts,
                       threads_after=sorted({t.name.rstrip("0123456789-_ ") for t in threading.enumerate()}))
        else:
            mod.imports()
            factory = _loop_factory(mod)
            out["event_loop"] = _loop_name(factory)
            asyncio.set_event_loop(factory())
            if a.mode == "http-cpu":
                run_one = mod.make_http(a.base_url, a.turns)
                out.update(_cpu(mod, run_one, a.turns, a.tasks, a.warmup, a.base_url))
            elif a.mode == "inproc-cpu":
                run_one = mod.make_inproc(a.turns)
                out.update(_cpu(mod, run_one, a.turns, a.tasks, a.warmup, None))
            else:
                with asyncio.Runner(loop_factory=factory) as runner:
                    out.update(runner.run(_concurrency(mod, a.base_url, a.n, CONC_TURNS)))
    except BaseException as e:  # noqa: BLE001 - report, never crash without a JSON line
        out["error"] = f"{type(e).__name__}: {e}"[:500]
        out["traceback"] = traceback.format_exc()[-2000:]
    cleanup = getattr(mod, "cleanup", None)
    if cleanup is not None:
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - cleanup must not cost the result line
            pass
    emit(out)
    sys.stderr.flush()
    os._exit(0)  # don't wait for frameworks' background threads (telemetry, trace exporters)

