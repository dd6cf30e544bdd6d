"""The event loop agentzoo's own entry points run on: uvloop where it is installed, else asyncio's.

Every model call hands its request to the HTTP client's own thread and gets the reply back through
the loop (`call_soon_threadsafe`), and every run waits on timers, futures and sockets; uvloop does
that in C. At 10,000 concurrent 5-turn rollouts against a 50 ms server the same agent ran 1.22× as
many tasks/s on uvloop for 0.83× the CPU (medians of 4 interleaved pairs, `bench/event_loops.py`;
pairs 0.99–1.30×), and one HTTP step took 0.88× the CPU (6 pairs); the HTTP client alone cost 59
against 115 µs of CPU per request (`bench/http_clients.py --loop uvloop --server stub --latency-ms
50 --concurrency 10000`).

`run_loop(main())` (`agentzoo.run_loop`) is `asyncio.run(main())` on that loop; the command line
and the eval workers use it. A program that calls `asyncio.run` itself keeps asyncio's loop:
agentzoo works on both.
`AGENTZOO_EVENT_LOOP` chooses: `uvloop`, `asyncio`, or unset/`auto` (uvloop when importable).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import ConfigError

T = TypeVar("T")

ENV_VAR = "AGENTZOO_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")


def choice() -> str:
    """The loop asked for in `AGENTZOO_EVENT_LOOP` (`auto` when unset)."""
    value = os.environ.get(ENV_VAR, "").strip().lower() or "auto"
    if value not in CHOICES:
        raise ConfigError(f"{ENV_VAR}={os.environ[ENV_VAR]!r}: expected one of {', '.join(CHOICES)}")
    return value


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the loop `run_loop` uses: uvloop's, or None for asyncio's own."""
    wanted = choice()
    if wanted == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if wanted == "uvloop":
            raise ConfigError(f"{ENV_VAR}=uvloop, but uvloop is not installed (pip install uvloop; it has no "
                              "Windows build)") from None
        return None
    return uvloop.new_event_loop


def name(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """`uvloop` or `asyncio`: the kind of `loop` (by default the running one)."""
    loop = loop or asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def run_loop(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run `main` to its end on a new loop of agentzoo's choice, as `asyncio.run` does."""
    try:
        factory = loop_factory()
    except BaseException:
        main.close()  # never run: no "coroutine was never awaited" warning under the error
        raise
    with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
        return runner.run(main)
