"""Instructions per step (or per eval sample), counted under valgrind: a yardstick this noisy machine cannot move.

    .venv/bin/python bench/instructions.py [--mode inproc|http|eval|events|events-flushed] [--base REV]
                                           [--small N] [--large N] [--take-out PART]

Timings on a shared VM move by more than most changes do (the same pure-Python loop takes 1.5–2.3 s from
one minute to the next), so a change to the hot path is measured here by the instructions the process
executes (valgrind's callgrind, user space only): the whole process at `--large` tasks less the same at
`--small` tasks, divided by the steps between them, so that start-up, imports and warm-up cancel out. Runs
of the same code agree to about 0.1 %. What it does not see: time in the kernel (SQLite's commits,
sockets), waiting, and the machine's speed; so a change that saves system calls is under-counted.

- `inproc`: bench/peers/agentzoo_.py's in-process runner (ToolCallingAgent, the scripted model, journal
  on), 10-turn tasks one after another; per model turn.
- `http`: the same agent against bench/peers/_stub_server.py (zero latency, its own process, not
  counted); per model turn.
- `eval`: the oracle eval of GSM8K with the tool-calling agent in one process, 1,319 samples per seed
  (`--small`/`--large` count seeds here); per sample.
- `events`: a streamed reply as a real server sends it, an event per token: 200 one-token content
  events read by the model client's stream reader from memory (in two pieces, as from a socket that
  has gathered many), no HTTP; per event (`--small`/`--large` count replies here).
- `events-flushed`: the same events, each in a piece of its own, as a reader that keeps up with a
  server flushing every token gets them.

`--take-out secrets|journal-write|journal-rows|validation` measures the same runner again with that part of a
step replaced by nothing (no secrets scan; rows kept but not written; no rows; no argument check) and prints
what the part costs: a measuring tool, not a way to run agentzoo (docs/performance.md has the figures).
Instruction counts are this stable only on an idle machine: another job on the cores changes them.

`--base REV` measures REV too (a temporary git worktree, imported ahead of this checkout's package) and
prints the ratio. The runners are this checkout's in both cases. Needs valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from agents import Server  # bench/agents.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
TURNS = 10

# The measured program: N tasks (or N seeds of the eval) and nothing else worth counting.
# `--take-out PART`: the same program with one part of a step replaced by nothing, to weigh that part. Not
# agentzoo as anyone runs it (no secrets masked, no journal rows): a measuring tool only.
TAKE_OUT = {
    "secrets": "from agentzoo.runtime import secrets as S\n"
               "S.Redactor.json = lambda self, value, data: None\n"
               "S.Redactor.may_hold = lambda self, data: False\n",
    "journal-write": "from agentzoo.runtime.stores.sqlite import SQLiteStore\n"
                     "SQLiteStore.write = lambda self, ops: None\n",
    "journal-rows": "from agentzoo.runtime.journal import Journal\n"
                    "Journal.put = lambda self, *args, **kwargs: None\n",
    "validation": "from agentzoo.tools.function_tool import FunctionTool\n"
                  "FunctionTool.validate = lambda self, arguments: arguments\n",
}

_AGENT = """
import asyncio, os, sys
sys.path.insert(0, {peers!r})
import agentzoo_ as A
A.imports()
{take_out}
n, url = int(sys.argv[1]), sys.argv[2]
run_one = A.make_http(url, {turns}) if url else A.make_inproc({turns})
async def many():
    for _ in range(n):
        await run_one()
with asyncio.Runner(loop_factory=A.loop_factory()) as runner:
    runner.run(many())
A.cleanup()
"""
_EVAL = """
import asyncio, sys, tempfile
from pathlib import Path
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
env = GSM8K()
samples = expand({env.name: env}, ["tool-calling"], ["oracle"], int(sys.argv[1]))
with tempfile.TemporaryDirectory() as out:
    asyncio.run(run_eval(samples, {env.name: env}, EvalConfig(out=Path(out), concurrency=4)))
"""


_EVENTS = """
import asyncio, sys, orjson
from agentzoo import OpenAICompatible
from agentzoo.models.openai_compat import _Clock
model = OpenAICompatible("m", base_url="http://127.0.0.1:9/v1")
def event(i):
    return orjson.dumps({{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                          "choices": [{{"index": 0, "delta": {{"content": f" tok{{i}}"}}, "finish_reason": None}}]}})
flushed = [b"data: " + event(i) + b"\\n\\n" for i in range({events})] + [b"data: [DONE]\\n\\n"]
body = b"".join(flushed)
pieces = {pieces}
class Reader:
    def __init__(self):
        self.pieces = iter(pieces)
    async def read_chunk(self):
        return next(self.pieces, None)
class Reply:
    def __init__(self):
        self.body_reader = Reader()
async def main(n):
    for _ in range(n):
        acc = await model._read_stream(Reply(), None, _Clock(None, None), str(len(body)))
        assert len(acc.content) == {events}
asyncio.run(main(int(sys.argv[1])))
"""
EVENTS = 200


def instructions(code: str, n: int, url: str, src: Path | None) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict orders, the same work, run after run
    if src is not None:
        env["PYTHONPATH"] = str(src)
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                           code, str(n), url], env=env, capture_output=True, text=True, cwd=ROOT)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the measured program failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_unit(mode: str, small: int, large: int, url: str, src: Path | None, take_out: str = "") -> float:
    if mode == "eval":
        code, units = _EVAL, (large - small) * 1319
    elif mode in ("events", "events-flushed"):
        code = _EVENTS.format(events=EVENTS, pieces="[body[:4000], body[4000:]]" if mode == "events" else "flushed")
        units = (large - small) * EVENTS
    else:
        code = _AGENT.format(peers=str(PEERS), turns=TURNS, take_out=TAKE_OUT.get(take_out, ""))
        units = (large - small) * TURNS  # TURNS model calls a task
    return (instructions(code, large, url, src) - instructions(code, small, url, src)) / units


@contextlib.contextmanager
def stub_server() -> Iterator[str]:
    """The benchmark's fake server (bench/agents.py's `Server`), zero latency, in its own process: its URL."""
    server = Server(turns=TURNS, latency_ms=0)
    try:
        yield server.base_url
    finally:
        server.close()


def worktree(rev: str, into: str) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", "-q", into, rev], cwd=ROOT, check=True)
    return Path(into) / "src"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=["inproc", "http", "eval", "events", "events-flushed"], default="inproc")
    p.add_argument("--base", help="a git revision to measure as well, for the ratio")
    p.add_argument("--small", type=int,
                   help="tasks (eval: seeds; events: replies) of the smaller run (default 40; eval 1)")
    p.add_argument("--large", type=int,
                   help="tasks (eval: seeds; events: replies) of the larger run (default 140; eval 2)")
    p.add_argument("--take-out", choices=sorted(TAKE_OUT),
                   help="inproc/http: measure again with this part of a step replaced by nothing, and print the "
                        "difference (what that part costs)")
    a = p.parse_args()
    if a.take_out and a.mode not in ("inproc", "http"):
        raise SystemExit("--take-out goes with --mode inproc or http")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    small = a.small if a.small is not None else (1 if a.mode == "eval" else 40)
    large = a.large if a.large is not None else (2 if a.mode == "eval" else 140)
    if not 0 <= small < large:
        raise SystemExit(f"--small ({small}) must be below --large ({large})")
    unit = {"eval": "sample", "events": "stream event", "events-flushed": "stream event"}.get(a.mode, "model turn")
    with tempfile.TemporaryDirectory(prefix="agentzoo-instructions-") as tmp:
        base_src = worktree(a.base, os.path.join(tmp, "base")) if a.base else None
        try:
            with stub_server() if a.mode == "http" else contextlib.nullcontext("") as url:
                here = per_unit(a.mode, small, large, url, None)
                print(f"this checkout: {here / 1000:,.1f} thousand instructions per {unit}")
                if a.take_out:
                    without = per_unit(a.mode, small, large, url, None, a.take_out)
                    print(f"without {a.take_out}: {without / 1000:,.1f} thousand; it costs "
                          f"{(here - without) / 1000:,.1f} thousand ({(here - without) / here:.1%})")
                if base_src is not None:
                    base = per_unit(a.mode, small, large, url, base_src)
                    print(f"{a.base}: {base / 1000:,.1f} thousand; this checkout / {a.base}: {here / base:.3f}")
        finally:
            if base_src is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(base_src.parent)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
