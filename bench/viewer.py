"""How fast `agentzoo view` shows a big journal, in headless Chromium.

    python bench/viewer.py [--runs 10000] [--steps 1000] [--repeat 5] [--out bench/results/viewer.json]

Two journals are made with the Journal API (synthetic, deterministic):
- 10,000 runs of 5 effects each (2 model calls, 2 tool calls, a clock read): the runs list;
- one run of 1,000 steps (a model call and a tool call each, 2,000 entries, each request holding
  the last 20 messages of ~300 characters, as a context-managed long run would): the run page.

Measured, median of --repeat page loads in a fresh tab each (the system's chromium through its
chromedriver, as the browser tests):
- first paint: the browser's first-contentful-paint of the page (the runs list is rendered by the
  server, so its first paint has the table);
- entries shown (run page): until the first page of effects is on the page (the script's
  `agentzoo:entries` mark), which needs /api/run and /api/entries;
- server: the time to answer the page's own request (and /api/entries), from Python, no browser;
- sorted by tokens: the runs list sorted by a total, which sums over all 50,000 entries.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from agentzoo import Entry, Journal  # noqa: E402
from agentzoo.runtime.entry import RunInfo  # noqa: E402
from agentzoo.types import Usage  # noqa: E402
from agentzoo.viewer.app import App  # noqa: E402
from agentzoo.viewer.server import bind  # noqa: E402


def make_runs(path: Path, n: int) -> float:
    started = time.perf_counter()
    with Journal(path) as journal:
        t0 = 1_790_000_000.0
        for i in range(n):
            run_id = f"20260101-000000-{i:012x}"
            t = t0 + i * 10
            journal.create_run(RunInfo(run_id=run_id, created_at=t, updated_at=t + 3, status="finished" if i % 7 else "failed",
                                       task=f"task {i}: add the numbers", answer=str(i),
                                       config={"version": 1, "agent": ["tool-calling", "codeact", "reflexion"][i % 3],
                                               "model": f"openai:model-{i % 4}"},
                                       parent_id=f"20260101-000000-{i - 1:012x}" if i % 50 == 1 else None))
            for s in range(2):
                journal.put(Entry(run_id, "", 2 * s, "model", f"model-{i % 4}", {"messages": [{"role": "user", "content": "x"}]},
                                  f"h{i}-{s}", {"message": {"role": "assistant", "content": "y"}}, usage=Usage(100 + i % 13, 20),
                                  cost_usd=0.0001 * (i % 5), started_at=t + s, ended_at=t + s + 0.5), commit=False)
                journal.put(Entry(run_id, "", 2 * s + 1, "tool", "add", {"name": "add", "arguments": "{}"}, f"t{i}-{s}",
                                  {"content": "3"}, started_at=t + s + 0.5, ended_at=t + s + 0.6), commit=False)
            journal.put(Entry(run_id, "", 4, "clock", "time", {}, f"c{i}", t + 2, started_at=t + 2, ended_at=t + 2),
                        commit=False)
            if i % 500 == 0:
                journal.commit()
    return time.perf_counter() - started


def make_long_run(path: Path, steps: int) -> tuple[str, float]:
    started = time.perf_counter()
    run_id = "long-run"
    filler = "lorem ipsum dolor sit amet " * 11  # ~300 characters
    with Journal(path) as journal:
        t = 1_790_000_000.0
        journal.create_run(RunInfo(run_id=run_id, created_at=t, updated_at=t + steps, status="finished",
                                   task="a long task", answer="done", config={"version": 1, "model": "openai:m"}))
        history: list[dict] = [{"role": "system", "content": "you are a patient agent"}]
        for s in range(steps):
            history.append({"role": "user" if s == 0 else "tool", "content": f"{s}: {filler}"})
            request = {"messages": history[:1] + history[-20:], "model": "m"}
            reply = {"role": "assistant", "content": f"step {s}: {filler}",
                     "tool_calls": [{"id": f"c{s}", "type": "function", "function": {"name": "add", "arguments": "{}"}}]}
            journal.put(Entry(run_id, "", 2 * s, "model", "m", request, f"h{s}", {"message": reply, "finish_reason": "tool_calls"},
                              usage=Usage(2000, 80), cost_usd=0.001, started_at=t + s, ended_at=t + s + 0.4), commit=False)
            journal.put(Entry(run_id, "", 2 * s + 1, "tool", "add", {"name": "add", "arguments": "{}"}, f"t{s}",
                              {"content": str(s)}, started_at=t + s + 0.4, ended_at=t + s + 0.5), commit=False)
            history.append(reply)
        journal.commit()
    return run_id, time.perf_counter() - started


def server_ms(url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as r:
            r.read()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def page_ms(chrome, url: str, repeat: int, mark: str | None = None) -> dict[str, float]:
    from selenium.webdriver.support.ui import WebDriverWait

    paints, marks = [], []
    for _ in range(repeat):
        chrome.switch_to.new_window("tab")
        chrome.get(url)
        WebDriverWait(chrome, 60, poll_frequency=0.02).until(lambda d: d.execute_script(
            "return performance.getEntriesByName('first-contentful-paint').length"
            + (f" && performance.getEntriesByName('{mark}').length" if mark else "")))
        paints.append(chrome.execute_script("return performance.getEntriesByName('first-contentful-paint')[0].startTime"))
        if mark:
            marks.append(chrome.execute_script(f"return performance.getEntriesByName('{mark}')[0].startTime"))
        chrome.close()
        chrome.switch_to.window(chrome.window_handles[0])
    out = {"first_paint_ms": statistics.median(paints)}
    if mark:
        out["entries_shown_ms"] = statistics.median(marks)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "viewer.json")
    args = parser.parse_args()

    from viewer.browser import start_browser, stop_browser

    with tempfile.TemporaryDirectory(prefix="az-bench-viewer-") as tmp:
        folder = Path(tmp)
        built_runs = make_runs(folder / "runs.db", args.runs)
        run_id, built_long = make_long_run(folder / "long.db", args.steps)
        sizes = {name: (folder / name).stat().st_size for name in ("runs.db", "long.db")}
        results: dict = {"runs": args.runs, "steps": args.steps, "repeat": args.repeat,
                         "journal_bytes": sizes, "build_seconds": {"runs": built_runs, "long_run": built_long},
                         "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
        chrome = start_browser(folder)
        try:
            for name, path in (("runs_list", folder / "runs.db"), ("long_run", folder / "long.db")):
                app = App(path)
                server = bind(app, port=0)
                server.start_in_thread()
                try:
                    if name == "runs_list":
                        url = server.url + "runs"
                        results[name] = {**page_ms(chrome, url, args.repeat),
                                         "server_ms": server_ms(url, args.repeat),
                                         "server_last_page_ms": server_ms(url + f"?page={args.runs // 50}", args.repeat),
                                         "server_sorted_by_tokens_ms": server_ms(url + "?sort=tokens", args.repeat),
                                         "server_search_ms": server_ms(url + "?q=task+9999", args.repeat)}
                    else:
                        url = server.url + f"run?id={run_id}"
                        api = server.url + f"api/entries?id={run_id}"
                        results[name] = {**page_ms(chrome, url, args.repeat, mark="agentzoo:entries"),
                                         "server_ms": server_ms(url, args.repeat),
                                         "server_run_api_ms": server_ms(server.url + f"api/run?id={run_id}", args.repeat),
                                         "server_first_entries_ms": server_ms(api, args.repeat),
                                         "server_last_entries_ms": server_ms(api + f"&after={2 * args.steps - 100}",
                                                                              args.repeat)}
                finally:
                    server.shutdown()
                    server.server_close()
                    app.close()
        finally:
            stop_browser(chrome)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    r, l = results["runs_list"], results["long_run"]
    print(f"| page | first paint | entries shown | server |\n|---|---|---|---|\n"
          f"| runs list, {args.runs:,} runs ({sizes['runs.db'] / 1e6:.0f} MB) | {r['first_paint_ms']:.0f} ms | — | "
          f"{r['server_ms']:.1f} ms (last page {r['server_last_page_ms']:.1f} ms, sorted by tokens "
          f"{r['server_sorted_by_tokens_ms']:.0f} ms, search {r['server_search_ms']:.1f} ms) |\n"
          f"| one run, {args.steps:,} steps ({sizes['long.db'] / 1e6:.0f} MB) | {l['first_paint_ms']:.0f} ms | "
          f"{l['entries_shown_ms']:.0f} ms | page {l['server_ms']:.1f} ms, /api/run {l['server_run_api_ms']:.1f} ms, "
          f"first 100 entries {l['server_first_entries_ms']:.1f} ms, last 100 {l['server_last_entries_ms']:.1f} ms |")
    print(f"(median of {args.repeat}; written to {args.out})")


if __name__ == "__main__":
    main()
