"""A status line that shows a model call in flight, so a hung endpoint looks hung.

Only on a terminal, and only once a call has waited `after` seconds: then one transient line under
the run's output says `waiting for model NAME … 12 s` and counts up until the call returns (rich
`Live` redraws it; lines printed meanwhile go above it). Output to a file or a pipe never gets it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from .._visible import visible

SHOW_AFTER = 3.0
"""Seconds a call waits before the line appears: most calls end before, and print no line at all."""


class WaitingLine:
    def __init__(self, console: Console, *, after: float = SHOW_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.after, self.clock = console, after, clock
        self._calls: dict[Any, tuple[str, str, float]] = {}  # key -> (model, scope, started)
        self._lock = threading.Lock()  # the Live thread renders while the event loop adds and removes calls
        self._live: Live | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self, key: Any, model: str, scope: str) -> None:
        """A model call started (called from the run's event loop)."""
        if not self.console.is_terminal:
            return
        with self._lock:
            self._calls[key] = (model, scope, self.clock())
        if self._live is None and self._timer is None:
            self._schedule(self.after)

    def end(self, key: Any) -> None:
        """A call ended (or was served): the line goes when no call is left waiting."""
        with self._lock:
            self._calls.pop(key, None)
            left = bool(self._calls)
        if not left:
            self.stop()

    def saw_output(self) -> None:
        """Streamed text arrived: the calls are not hung, and a redrawn line would break the stream."""
        with self._lock:
            self._calls.clear()
        self.stop()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def show(self) -> None:
        """Put the line up if a call has waited long enough, else look again when it will have."""
        self._timer = None
        with self._lock:
            oldest = min((started for _, _, started in self._calls.values()), default=None)
        if oldest is None or self._live is not None:
            return
        remaining = self.after - (self.clock() - oldest)
        if remaining > 0:
            self._schedule(remaining)
            return
        self._live = Live(self, console=self.console, transient=True, refresh_per_second=2)
        self._live.start(refresh=True)

    def _schedule(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not in a run's event loop (a test calling us directly): nothing to time
            return
        self._timer = loop.call_later(delay, self.show)

    def __rich__(self) -> Text:
        with self._lock:
            calls = list(self._calls.values())
        if not calls:
            return Text("")
        model, scope, started = min(calls, key=lambda c: c[2])
        text = f"waiting for model {model}" + (f" ({scope})" if scope else "") + f" … {self.clock() - started:.0f} s"
        if len(calls) > 1:
            text += f" · {len(calls)} calls in flight"
        return Text(visible(text), style="dim")  # names come from configs and journals
