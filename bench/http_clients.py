"""Which async HTTP client should the OpenAI-compatible backend use? Measure it.

Starts the fake OpenAI server (agentzoo.testing.fake_openai, zero latency) in a separate process,
then, in this process, sends chat-completion requests with each client at concurrency 1 and 100
and reports per request the client's CPU time (time.process_time, i.e. this process only) and
the throughput. Every client does the same work: orjson-encode the body, POST it on a reused
connection pool, read the body, orjson-decode it. The last rows are agentzoo's own
OpenAICompatible with its defaults (pyreqwest + retry policy + adaptive window + the reply's clocks +
response parsing), streamed (the default) and not, to show what the model client costs on top of
its transport: the `pyreqwest` row is the same request sent with the library alone. The row
"agentzoo (streamed; buffer 0)" reads a streamed reply as agentzoo did before it let the first
chunk come with the headers (`OpenAICompatible._stream_read_buffer`).

    .venv/bin/python bench/http_clients.py [--requests 3000] [--rounds 3]

`--loop uvloop` runs the clients on uvloop, the loop of agentzoo's command line (default: asyncio's).
`--server stub --latency-ms 50` answers from bench/agents.py's server instead, with its delay: the
setting of the 10,000-task rows, e.g.

    .venv/bin/python bench/http_clients.py --server stub --latency-ms 50 --concurrency 10000 \
        --requests 50000 --clients "pyreqwest,agentzoo (streamed),agentzoo (streamed; buffer 0)"

Optional clients (niquests, pyreqwest) are measured when importable, e.g. after
`.venv/bin/pip install pyreqwest`. `--concurrency 1,100,1000` adds a level where the client's
own objects start to matter: at 1,000 requests in flight CPython's garbage collector walks every
live object of every pending request. With 2 cores the server has about
one core to itself: at concurrency 100 req/s can be server-bound, CPU/request is not.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

BODY: dict[str, Any] = {
    "model": "bench-model",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant that uses tools when useful. " * 8},
        {"role": "user", "content": "What is 2 + 2? Please think step by step and answer briefly. " * 4},
    ],
    "temperature": 0.0,
}

Send = Callable[[], Awaitable[Any]]


async def _aiohttp(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                    timeout=aiohttp.ClientTimeout(total=None, sock_read=60, sock_connect=10))
    headers = {"Content-Type": "application/json"}

    async def send() -> Any:
        async with session.post(url, data=orjson.dumps(BODY), headers=headers) as resp:
            raw = await resp.read()
            assert resp.status == 200, resp.status
            return orjson.loads(raw)

    return send, session.close


async def _httpx(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import httpx

    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
                               timeout=httpx.Timeout(60, connect=10))
    headers = {"Content-Type": "application/json"}

    async def send() -> Any:
        resp = await client.post(url, content=orjson.dumps(BODY), headers=headers)
        assert resp.status_code == 200, resp.status_code
        return orjson.loads(resp.content)

    return send, client.aclose


async def _niquests(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import niquests

    session = niquests.AsyncSession(pool_connections=1, pool_maxsize=200, disable_http2=True, disable_http3=True)
    headers = {"Content-Type": "application/json"}

    async def send() -> Any:
        resp = await session.post(url, data=orjson.dumps(BODY), headers=headers, timeout=60)
        assert resp.status_code == 200, resp.status_code
        return orjson.loads(resp.content or b"")

    return send, session.close


async def _pyreqwest(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    from pyreqwest.client import ClientBuilder

    # As agentzoo builds its own: no connection cap, no redirects, no status errors.
    client = ClientBuilder().max_connections(None).follow_redirects(False).error_for_status(False).no_proxy().build()
    headers = {"Content-Type": "application/json"}

    async def send() -> Any:
        resp = await client.post(url).body_bytes(orjson.dumps(BODY)).headers(headers).build().send()
        raw = bytes(await resp.bytes())
        assert resp.status == 200, resp.status
        return orjson.loads(raw)

    return send, client.close


async def _agentzoo(url: str, stream: bool = True,
                   read_buffer: int | None = None) -> tuple[Send, Callable[[], Awaitable[None]]]:
    from agentzoo.models.openai_compat import OpenAICompatible
    from agentzoo.types import ModelRequest

    model = OpenAICompatible("bench-model", base_url=url.rsplit("/chat/completions", 1)[0], stream=stream)
    if read_buffer is not None:
        model._stream_read_buffer = read_buffer
    request = ModelRequest(messages=BODY["messages"], temperature=0.0)

    async def send() -> Any:
        return await model.complete(request)

    return send, model.aclose


async def _agentzoo_plain(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    return await _agentzoo(url, stream=False)


async def _agentzoo_unbuffered(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """Streamed, with pyreqwest's read buffer at 0 instead of agentzoo's 1: the response is handed
    over before any of its body, which then costs a wait of its own."""
    return await _agentzoo(url, read_buffer=0)


CLIENTS: dict[str, Callable[[str], Awaitable[tuple[Send, Callable[[], Awaitable[None]]]]]] = {
    "aiohttp": _aiohttp,
    "httpx": _httpx,
    "niquests": _niquests,
    "pyreqwest": _pyreqwest,
    "agentzoo (streamed)": _agentzoo,
    "agentzoo (not streamed)": _agentzoo_plain,
    "agentzoo (streamed; buffer 0)": _agentzoo_unbuffered,
}


async def _measure(make: Callable[[str], Awaitable[tuple[Send, Any]]], url: str, n: int,
                   concurrency: int) -> tuple[float, float]:
    """(CPU seconds per request, requests per second) for n requests at the given concurrency."""
    send, close = await make(url)

    async def drive(count: int) -> None:
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await send()

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    try:
        # Warm up at the measured concurrency, so that each client's pool holds as many
        # connections as the workload needs (a bigger pool would penalise clients whose
        # pool does per-request work proportional to its size).
        await drive(max(4 * concurrency, 100))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await drive(n)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await close()
    return cpu / n, n / wall


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _available(name: str) -> bool:
    module = {"pyreqwest": "pyreqwest.client"}.get(name, name)
    return name not in ("aiohttp", "httpx", "niquests", "pyreqwest") or _importable(module)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per cell; the median is reported")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset of: " + ", ".join(CLIENTS))
    parser.add_argument("--concurrency", default="1,100", help="comma-separated levels (default: 1,100)")
    parser.add_argument("--server", choices=("fake", "stub"), default="fake",
                        help="fake: agentzoo.testing.fake_openai (aiohttp; a streamed reply in chunked encoding); "
                             "stub: bench/peers/_stub_server.py (asyncio; each reply whole, with its length), "
                             "the server of bench/agents.py")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the server's delay before each reply")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="the event loop the clients run on (uvloop: the loop of agentzoo's command line)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    wanted = [n.strip() for n in args.clients.split(",")]

    sys.path.insert(0, str(Path(__file__).parent / "peers"))
    from _common import raise_nofile

    raise_nofile()  # 10,000 in flight hold 10,000 sockets
    if args.server == "fake":
        command = [sys.executable, "-m", "agentzoo.testing.fake_openai"]
    else:
        command = [sys.executable, str(Path(__file__).parent / "peers" / "_stub_server.py")]
    server = subprocess.Popen([*command, "--port", "0", "--latency-ms", str(args.latency_ms)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        url = base_url + "/chat/completions"
        names = [n for n in CLIENTS if n in wanted and _available(n)]
        skipped = [n for n in wanted if n not in names]
        print(f"server {base_url}; python {sys.version.split()[0]}; {args.loop} loop; {args.requests} requests x "
              f"{args.rounds} rounds per cell (median)" + (f"; not installed: {', '.join(skipped)}" if skipped else ""))
        if "httpx" in names and not _importable("sniffio"):
            # httpcore 1.0.x tries `import sniffio` on every request; without it that is a
            # failed import (a sys.path search) per request. Fresh httpx installs lack sniffio.
            print("note: sniffio is not installed; httpx pays a failed import per request")
        results: dict[tuple[str, int], tuple[float, float]] = {}
        for concurrency in levels:
            for name in names:
                rounds = []
                for _ in range(args.rounds):
                    with asyncio.Runner(loop_factory=factory) as runner:
                        rounds.append(runner.run(_measure(CLIENTS[name], url, args.requests, concurrency)))
                results[name, concurrency] = (statistics.median(r[0] for r in rounds),
                                              statistics.median(r[1] for r in rounds))
        _print_table(names, results, levels)
    finally:
        server.terminate()
        server.wait(10)


def _print_table(names: list[str], results: dict[tuple[str, int], tuple[float, float]], levels: list[int]) -> None:
    # Ratios are against the best library measured; with only agentzoo's rows, against the best of those.
    raw_clients = [n for n in names if not n.startswith("agentzoo")] or names
    print()
    width = max(24, *map(len, names))
    print(f"{'client':<{width}} {'conc':>5} {'CPU µs/req':>11} {'req/s':>9} {'CPU vs best':>12} {'req/s vs best':>14}")
    for concurrency in levels:
        best_cpu = min(results[n, concurrency][0] for n in raw_clients)
        best_rps = max(results[n, concurrency][1] for n in raw_clients)
        for name in names:
            cpu, rps = results[name, concurrency]
            print(f"{name:<{width}} {concurrency:>5} {cpu * 1e6:>11.0f} {rps:>9.0f} {cpu / best_cpu:>11.2f}x "
                  f"{rps / best_rps:>13.2f}x")
    winner = min(raw_clients, key=lambda n: sum(results[n, c][0] for c in levels))
    print(f"\nlowest CPU per request (summed over the levels): {winner}")


if __name__ == "__main__":
    main()
