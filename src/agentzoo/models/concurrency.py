"""How many requests one endpoint gets at once: an adaptive window per endpoint (AIMD).

A fixed bound is wrong in both directions: 64 in flight starves a fast local server that could
take thousands (10,000 concurrent rollouts against a 50 ms server ran at a ceiling of 64/50 ms),
and is already too many for a rate-limited account or a one-slot llama.cpp. So each endpoint
learns its window the way TCP does, from what the endpoint says back:

- **multiplicative decrease** on a sign of overload (a 429, a 5xx, a timeout, a refused or
  dropped connection): the window is halved, at most once per round trip (a failure of a request
  that started before the last cut was caused by the window that cut already answered);
- **additive increase** on a success whose latency holds: +1 per success while below the
  threshold of the last cut (slow start, so a fresh endpoint reaches a large window in a few
  round trips), +1 per window's worth of successes above it (probing gently near a limit that
  was hit). A success whose latency is more than `tolerance` times the baseline (the lowest
  latency seen lately, as in TCP Vegas and Netflix's gradient limiters) holds the window where
  it is: the endpoint is queueing, more in flight would only lengthen its queue;
- a window nobody fills does not grow (fewer than half its slots in use: a success then says
  nothing about more load), so an idle client does not build up a burst;
- between 1 and the user's `max_concurrency`; without one, up to a ceiling derived from the
  process's open-file limit (each request in flight holds a socket).

Latency only ever holds the window, it never cuts it: an LLM call's latency follows the length of
its reply, and a long reply is not congestion. The endpoint's own errors are the hard signal.

On top of the window, a cool-down: a 429 with Retry-After holds every caller back, in every loop,
until the endpoint's wish has passed, so a hundred runs hitting one rate limit do not storm it.

The window and the cool-down are per endpoint and process-wide; the slots (who is in flight, who
waits) are per event loop, since asyncio futures belong to one loop. Everything on the hot path
is plain attribute arithmetic in the one loop: no lock is taken there.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

from ..errors import ConfigError, ProviderConnectionError, ProviderTimeout, RateLimitError, ServerError

DEFAULT_INITIAL_WINDOW = 32
"""Requests in flight to an endpoint before it has answered anything: below the old fixed 64, and
slow start doubles it each round trip that goes well."""
DEFAULT_CEILING = 1 << 16
"""The highest window when the user sets no `max_concurrency` (and the open-file limit allows)."""
BACKOFF = 0.5
"""Multiplicative decrease on overload (TCP Reno's halving)."""
TOLERANCE = 2.0
"""A success slower than this times the baseline latency holds the window (Netflix's gradient
limiters allow 1.5-2x; LLM latency is noisier, so the upper end)."""
BASELINE_MEMORY = 30.0
"""Seconds over which the baseline follows latencies above it. It drops to a faster sample at once
and rises towards slower ones by (time since the last sample / this) of the gap, so a server that
became slower for good (longer prompts as runs go on) is re-learnt within a minute or so however
many calls a second it serves (a per-sample rate would forget in a blink at thousands a second)."""

# The endpoint's own signs of overload. A bad request, a refused key or an unreadable reply say
# nothing about load, and neither does a cancellation.
OVERLOAD = (RateLimitError, ServerError, ProviderTimeout, ProviderConnectionError)


def default_ceiling() -> int:
    """The window's ceiling without a user maximum: `DEFAULT_CEILING`, but below the soft limit
    of open files (each request in flight holds a socket; past the limit connects fail)."""
    try:
        import resource  # POSIX only
    except ImportError:  # pragma: no cover - Windows
        return DEFAULT_CEILING
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_CEILING
    return max(1, min(DEFAULT_CEILING, soft - 128))  # room for the journal, sandboxes, logs


class _LoopSlots:
    """The requests in flight and the queue of waiters of one endpoint in one event loop: a FIFO
    counting semaphore whose limit is passed at each call, so that the window may move (or the
    maximum be lowered) while calls wait."""

    __slots__ = ("used", "waiters", "loop", "timed", "_expiry", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.used = 0
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.loop = weakref.ref(loop)
        self.timed: deque[tuple[float, asyncio.Future[None]]] = deque()
        """The waiters that have a deadline (loop time), in the order they came."""
        self._expiry: asyncio.TimerHandle | None = None  # at the earliest deadline of `timed`

    async def acquire(self, limit: int, deadline: float | None = None) -> None:
        """Take a slot, waiting for one in turn; past `deadline` (loop time) the wait ends in
        TimeoutError. All waiters' deadlines share one timer, at the earliest of them: thousands
        of queued calls cost no timer each (one per call was 12 µs of each call at 10,000)."""
        if self.used < limit and not self.waiters:
            self.used += 1
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self.waiters.append(fut)
        if deadline is not None:
            self._expire_at(deadline, fut, loop)
        try:
            await fut
        except BaseException:
            # Cancelled or expired waiters stay in the deque (`fill` skips them: O(1) here, since a
            # mass cancellation of thousands of runs would make removal quadratic). If the slot had
            # already been handed to us, give it back.
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.release(limit)
            raise

    def _expire_at(self, deadline: float, fut: asyncio.Future[None], loop: asyncio.AbstractEventLoop) -> None:
        timed = self.timed
        while timed and timed[0][1].done():  # served in order: the done ones gather at the front
            timed.popleft()
        timed.append((deadline, fut))
        expiry = self._expiry
        if expiry is None or deadline < expiry.when():
            if expiry is not None:
                expiry.cancel()
            self._expiry = loop.call_at(deadline, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail the waiters whose deadline has come; set the timer for the next one."""
        self._expiry = None
        now = loop.time()
        waiting: deque[tuple[float, asyncio.Future[None]]] = deque()
        for deadline, fut in self.timed:
            if fut.done():
                continue
            if deadline <= now:
                fut.set_exception(TimeoutError())
            else:
                waiting.append((deadline, fut))
        self.timed = waiting
        if waiting:
            self._expiry = loop.call_at(min(deadline for deadline, _ in waiting), self._expire, loop)

    def release(self, limit: int) -> None:
        self.used -= 1
        self.fill(limit)

    def fill(self, limit: int) -> None:
        """Hand free slots to waiters, first come first served. The slot is counted as used when
        handed over, so nobody can barge in before the waiter wakes."""
        waiters = self.waiters
        while self.used < limit and waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                self.used += 1


class EndpointLimiter:
    """The adaptive window and shared cool-down of one endpoint (see the module docstring).

    `acquire()` waits for a slot and returns the instant it got it; `release(started, error)`
    gives it back and reports how the request went: no error is a success (its latency counts
    from `started`), an error of the `OVERLOAD` kinds cuts the window, any other error says
    nothing. `release()` without `started` reports nothing. `clock` is the monotonic clock all
    instants are read from (tests pass their own).
    """

    def __init__(self, key: str, max_concurrency: int | None = None, *,
                 initial: int = DEFAULT_INITIAL_WINDOW, backoff: float = BACKOFF,
                 tolerance: float = TOLERANCE, clock: Callable[[], float] = time.monotonic) -> None:
        self.key = key
        self._clock = clock
        self._max = self._check_max(max_concurrency)
        if initial < 1:
            raise ConfigError(f"the initial concurrency window must be >= 1, got {initial}")
        if not 0.0 < backoff < 1.0:
            raise ConfigError(f"the concurrency backoff factor must be between 0 and 1, got {backoff}")
        if tolerance < 1.0:
            raise ConfigError(f"the latency tolerance must be >= 1, got {tolerance}")
        self.backoff, self.tolerance = backoff, tolerance
        self._window = float(min(initial, self._max))
        self._limit = int(self._window)  # what the slots are given: the window's whole part
        self._threshold = float(self._max)  # slow start below it; set by each cut
        self._baseline = float("inf")
        self._sampled_at = 0.0  # monotonic instant of the last success
        self._cut_at = 0.0  # monotonic instant of the last cut
        self._cool_until = 0.0
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSlots] = weakref.WeakKeyDictionary()
        self._recent: _LoopSlots | None = None  # the last loop's slots: one weakref call instead of a lookup
        self._lock = threading.Lock()

    @staticmethod
    def _check_max(value: int | None) -> int:
        if value is None:
            return default_ceiling()
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"max_concurrency must be a positive int or None (adaptive), got {value!r}")
        return value

    def __repr__(self) -> str:
        return f"EndpointLimiter({self.key!r}, window={self.window}, max_concurrency={self._max})"

    # --- the window -------------------------------------------------------------------------

    @property
    def window(self) -> int:
        """Requests this endpoint may have in flight now (per event loop)."""
        return self._limit

    @property
    def max_concurrency(self) -> int:
        """The user's maximum (or the ceiling): the window never grows past it."""
        return self._max

    @max_concurrency.setter
    def max_concurrency(self, value: int | None) -> None:
        self._max = self._check_max(value)
        self._set(min(self._window, self._max))
        self._threshold = min(self._threshold, float(self._max))

    def _set(self, window: float) -> None:
        self._window = window
        self._limit = int(window)

    def _success(self, now: float, latency: float, slots: _LoopSlots) -> None:
        base = self._baseline
        if latency < base:
            self._baseline = base = latency
        else:
            self._baseline = base + (latency - base) * min(1.0, (now - self._sampled_at) / BASELINE_MEMORY)
        self._sampled_at = now
        window = self._window
        # `used` no longer counts the request that just ended, hence the + 1.
        if latency > self.tolerance * base or window >= self._max or (slots.used + 1) * 2 < self._limit:
            return
        window += 1.0 if window < self._threshold else 1.0 / window
        self._set(min(window, float(self._max)))

    def _overload(self, started: float) -> None:
        if started < self._cut_at:
            return  # it was sent under the window the last cut already answered
        window = max(1.0, self._window * self.backoff)
        self._set(window)
        self._threshold = window
        self._cut_at = self._clock()

    # --- cool-down --------------------------------------------------------------------------

    def cool_down(self, seconds: float) -> None:
        """Hold every caller back for `seconds` from now (an earlier end never shortens a pause)."""
        until = self._clock() + max(seconds, 0.0)
        if until > self._cool_until:
            self._cool_until = until

    def cooling_for(self) -> float:
        """Seconds left in the current cool-down (0 if none)."""
        return max(0.0, self._cool_until - self._clock())

    # --- slots ------------------------------------------------------------------------------

    def _for_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> _LoopSlots:
        """The slots of `loop` (default: the running one; a caller that has it saves asyncio's lookup,
        a getpid system call)."""
        loop = asyncio.get_running_loop() if loop is None else loop
        slots = self._recent
        if slots is not None and slots.loop() is loop:
            return slots
        slots = self._slots.get(loop)
        if slots is None:
            with self._lock:  # loops of several threads may create theirs at once
                slots = self._slots.setdefault(loop, _LoopSlots(loop))
        self._recent = slots
        return slots

    def in_flight(self) -> int:
        """Slots in use in the running loop."""
        return self._for_loop().used

    def try_acquire(self, loop: asyncio.AbstractEventLoop | None = None) -> float | None:
        """A slot now, as `acquire` would give it, or None if that would mean waiting (no slot
        free, callers queued before us, or a cool-down): the common case without a coroutine.
        `loop` is the running loop, if the caller has it."""
        slots = self._for_loop(loop)
        if slots.used < self._limit and not slots.waiters:
            now = self._clock()
            if self._cool_until <= now:
                slots.used += 1
                return now
        return None

    async def acquire(self, deadline: float | None = None) -> float:
        """Wait for a slot, then for the end of any cool-down; return the monotonic instant the
        request may start. Pair with `release()`. Past `deadline` (an instant of the running
        loop's clock, `loop.time()`) the wait ends in TimeoutError, without a slot."""
        slots = self._for_loop()
        await slots.acquire(self._limit, deadline)
        try:
            # Re-checked in a loop: a new 429 may extend the pause while we sleep.
            while (wait := self._cool_until - self._clock()) > 0:
                if deadline is not None and (left := deadline - asyncio.get_running_loop().time()) <= wait:
                    await asyncio.sleep(max(left, 0.0))
                    raise TimeoutError
                await asyncio.sleep(wait)
        except BaseException:
            slots.release(self._limit)
            raise
        return self._clock()

    def release(self, started: float | None = None, error: BaseException | None = None,
                loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Give the slot back; with `started` (what `acquire` returned), learn from the outcome.
        `loop` is the running loop, if the caller has it."""
        slots = self._for_loop(loop)
        slots.used -= 1
        if started is not None:
            if error is None:
                now = self._clock()
                self._success(now, now - started, slots)
            elif isinstance(error, OVERLOAD):
                self._overload(started)
        slots.fill(self._limit)


_limiters: dict[str, EndpointLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(base_url: str, max_concurrency: int | None = None) -> EndpointLimiter:
    """The process-wide limiter of an endpoint. Endpoints share rate limits, so when several
    clients of one base_url ask for different maximums, the strictest one applies (None: no
    maximum of its own)."""
    key = base_url.rstrip("/")
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = EndpointLimiter(key, max_concurrency)
        elif max_concurrency is not None and max_concurrency < limiter.max_concurrency:
            limiter.max_concurrency = max_concurrency
        return limiter
