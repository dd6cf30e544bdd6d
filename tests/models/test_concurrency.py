"""The adaptive window per endpoint (models/concurrency.py): how outcomes move it, and its bounds.

Latencies are given, not measured: `release(started - latency)` reports a request that took
`latency` seconds, so no assertion here depends on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from agentzoo.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContextLengthError,
    ProtocolError,
    ProviderConnectionError,
    ProviderTimeout,
    RateLimitError,
    ServerError,
)
from agentzoo.models.concurrency import DEFAULT_INITIAL_WINDOW, EndpointLimiter, default_ceiling, limiter_for
from agentzoo.models.retry import RetryPolicy


async def drive(limiter: EndpointLimiter, calls: int, *, callers: int = 64, latency: float = 1.0) -> int:
    """`calls` successful requests from `callers` concurrent tasks, each reported as taking
    `latency` seconds; returns the most that were in flight at once."""
    remaining, running, peak = calls, 0, 0

    async def caller() -> None:
        nonlocal remaining, running, peak
        while remaining > 0:
            remaining -= 1
            started = await limiter.acquire()
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            running -= 1
            limiter.release(started - latency)

    await asyncio.gather(*(caller() for _ in range(callers)))
    assert limiter.in_flight() == 0
    return peak


async def fail_once(limiter: EndpointLimiter, error: BaseException) -> None:
    started = await limiter.acquire()
    limiter.release(started, error)


# --- growth ---------------------------------------------------------------------------------


async def test_window_grows_under_success_and_lets_more_in():
    limiter = EndpointLimiter("http://grow", None, initial=4)
    peak = await drive(limiter, 400, callers=200)
    # Slow start: +1 per success while the window is full, so it doubles each round.
    assert limiter.window > 100 and peak > 100


async def test_window_never_exceeds_the_users_maximum():
    limiter = EndpointLimiter("http://max", 10, initial=4)
    peak = await drive(limiter, 500, callers=100)
    assert limiter.window == 10 and peak == 10
    limiter.max_concurrency = 3  # lowered while in use (a stricter client of the same endpoint)
    assert limiter.window == 3
    assert await drive(limiter, 100, callers=20) == 3


async def test_a_window_nobody_fills_does_not_grow():
    limiter = EndpointLimiter("http://idle", None, initial=16)
    await drive(limiter, 500, callers=4)  # never more than 4 of 16 slots in use
    assert limiter.window == 16


async def test_slow_successes_hold_the_window_until_the_new_latency_is_learnt():
    now = [1000.0]
    limiter = EndpointLimiter("http://slow", None, initial=4, clock=lambda: now[0])
    await drive(limiter, 100, callers=100, latency=1.0)
    grown = limiter.window
    await drive(limiter, 2000, callers=300, latency=10.0)  # 10x the baseline: the endpoint queues
    assert limiter.window == grown
    # A server that became slower for good: after a minute the baseline has followed it, however
    # many calls were made, and the window grows again.
    now[0] += 60.0
    await drive(limiter, 2000, callers=300, latency=10.0)
    assert limiter.window > grown


# --- decrease -------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RateLimitError("429"), ServerError("503"), ProviderTimeout("first byte"),
                                   ProviderConnectionError("reset")])
async def test_overload_halves_the_window_once_per_round_trip(error):
    limiter = EndpointLimiter("http://cut", None, initial=16)
    early = await limiter.acquire()  # in flight when the endpoint starts failing
    await fail_once(limiter, error)
    assert limiter.window == 8
    limiter.release(early, error)  # sent before the cut: the cut already answered it
    assert limiter.window == 8
    await fail_once(limiter, error)  # sent after it: the window was still too large
    assert limiter.window == 4


@pytest.mark.parametrize("error", [BadRequestError("400"), AuthenticationError("401"), ContextLengthError("long"),
                                   ProtocolError("not JSON"), asyncio.CancelledError(), KeyError("bug")])
async def test_other_failures_leave_the_window_alone(error):
    limiter = EndpointLimiter("http://neutral", None, initial=16)
    await fail_once(limiter, error)
    assert limiter.window == 16 and limiter.in_flight() == 0


async def test_window_never_goes_below_one_and_recovers():
    limiter = EndpointLimiter("http://floor", None, initial=8)
    for _ in range(10):
        await fail_once(limiter, RateLimitError("429"))
    assert limiter.window == 1
    await drive(limiter, 20, callers=10)
    assert limiter.window > 1


async def test_after_a_cut_growth_is_additive():
    limiter = EndpointLimiter("http://avoid", None, initial=16)
    await fail_once(limiter, ServerError("503"))
    assert limiter.window == 8
    # Above the cut's threshold the window gains about one slot per window's worth of successes,
    # where slow start would have doubled it.
    await drive(limiter, 24, callers=50)
    assert 9 <= limiter.window <= 11


# --- retry policy and cool-down ---------------------------------------------------------------


async def test_retry_policy_reports_outcomes_to_the_window():
    limiter = EndpointLimiter("http://policy", None, initial=16)
    failures = [ServerError("HTTP 503")]

    async def attempt(n: int) -> str:
        if failures:
            raise failures.pop()
        return "ok"

    policy = RetryPolicy(max_attempts=3, base_delay=0.0)
    assert await policy.run(attempt, limiter=limiter) == "ok"
    assert limiter.window == 8 and limiter.in_flight() == 0


async def test_an_attempt_timeout_cuts_the_window():
    limiter = EndpointLimiter("http://timeout", None, initial=16)

    async def attempt(n: int) -> str:
        if n == 1:
            await asyncio.sleep(10)
        return "ok"

    policy = RetryPolicy(max_attempts=2, base_delay=0.0, attempt_timeout=0.01)
    assert await policy.run(attempt, limiter=limiter) == "ok"
    assert limiter.window == 8


async def test_hundred_callers_after_a_429_wait_out_the_pause():
    limiter = EndpointLimiter("http://storm", None)
    pause_ends: list[float] = []
    starts: list[float] = []

    async def attempt(n: int) -> str:
        starts.append(time.monotonic())
        await asyncio.sleep(0)
        if not pause_ends:
            pause_ends.append(time.monotonic() + 0.2)
            raise RateLimitError("HTTP 429", retry_after=0.2)
        await asyncio.sleep(0.01)
        return "ok"

    policy = RetryPolicy(max_attempts=3, base_delay=0.0)
    results = await asyncio.gather(*(policy.run(attempt, limiter=limiter) for _ in range(100)))
    assert results == ["ok"] * 100
    # The first wave (the window's worth) was already on its way; nobody started during the pause.
    first_wave = [t for t in starts if t < pause_ends[0] - 0.2]
    assert len(first_wave) <= DEFAULT_INITIAL_WINDOW
    assert not [t for t in starts if pause_ends[0] - 0.2 <= t < pause_ends[0]]
    assert limiter.window < DEFAULT_INITIAL_WINDOW  # and the window was cut


# --- bounds and registry ----------------------------------------------------------------------


def test_no_maximum_means_the_open_file_ceiling():
    limiter = EndpointLimiter("http://ceiling")
    assert limiter.max_concurrency == default_ceiling() >= 1
    assert limiter.window == min(DEFAULT_INITIAL_WINDOW, default_ceiling())


@pytest.mark.parametrize("kwargs", [{"max_concurrency": 0}, {"max_concurrency": -3}, {"max_concurrency": 2.5},
                                    {"max_concurrency": True}, {"initial": 0}, {"backoff": 1.0},
                                    {"tolerance": 0.5}])
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        EndpointLimiter("http://bad", **kwargs)


def test_registry_no_maximum_keeps_an_existing_one():
    a = limiter_for("http://registry-none.example/v1", 12)
    assert limiter_for("http://registry-none.example/v1").max_concurrency == 12
    b = limiter_for("http://registry-free.example/v1")
    assert b is not a and b.max_concurrency == default_ceiling()


async def test_try_acquire_takes_a_free_slot_and_never_jumps_a_queue_or_a_pause():
    limiter = EndpointLimiter("http://try", 2)
    first = limiter.try_acquire()
    assert first is not None and limiter.in_flight() == 1
    assert limiter.try_acquire() is not None and limiter.try_acquire() is None  # full
    queued = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    limiter.release()  # handed to the task that waited, not to a later try
    assert limiter.try_acquire() is None
    limiter.release(await queued)
    limiter.release()
    assert limiter.in_flight() == 0
    limiter.cool_down(5)
    assert limiter.try_acquire() is None and limiter.in_flight() == 0


# --- waiting with a deadline ------------------------------------------------------------------


async def test_a_wait_for_a_slot_ends_at_its_deadline_without_taking_one():
    limiter = EndpointLimiter("http://deadline-wait", 1)
    held = await limiter.acquire()
    loop = asyncio.get_running_loop()
    patient = asyncio.create_task(limiter.acquire())  # no deadline: keeps its place
    hurried = [asyncio.create_task(limiter.acquire(loop.time() + 0.05)) for _ in range(3)]
    done, _ = await asyncio.wait(hurried)
    assert all(isinstance(t.exception(), TimeoutError) for t in done)
    assert not patient.done() and limiter.in_flight() == 1  # the expired waiters took nothing
    limiter.release(held)
    limiter.release(await patient)  # the slot went to the waiter that was still waiting
    assert limiter.in_flight() == 0 and limiter.try_acquire() is not None


async def test_a_later_waiter_with_an_earlier_deadline_is_not_held_to_the_earlier_ones():
    # One timer serves every waiter: a deadline earlier than all before it must bring it forward.
    limiter = EndpointLimiter("http://deadline-order", 1)
    await limiter.acquire()
    loop = asyncio.get_running_loop()
    slow = asyncio.create_task(limiter.acquire(loop.time() + 30))
    await asyncio.sleep(0)
    start = loop.time()
    with pytest.raises(TimeoutError):
        await limiter.acquire(start + 0.05)
    assert loop.time() - start < 20  # not held until the first waiter's 30 s
    assert not slow.done()
    slow.cancel()


async def test_served_waiters_are_forgotten_as_the_queue_moves():
    limiter = EndpointLimiter("http://deadline-forget", 1)
    started = await limiter.acquire()
    loop = asyncio.get_running_loop()
    for _ in range(5):
        waiter = asyncio.create_task(limiter.acquire(loop.time() + 60))
        await asyncio.sleep(0)
        limiter.release(started)
        started = await waiter  # served before its deadline
    slots = limiter._for_loop()
    assert len(slots.timed) <= 1  # served waiters do not pile up until their deadlines pass
    limiter.release(started)


async def test_a_cool_down_longer_than_the_deadline_ends_the_wait_at_the_deadline():
    limiter = EndpointLimiter("http://deadline-cool", 4)
    limiter.cool_down(30)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TimeoutError):
        await limiter.acquire(start + 0.05)
    # uvloop's timers keep whole milliseconds: one may go off up to 1 ms before its instant.
    assert 0.049 <= loop.time() - start < 20 and limiter.in_flight() == 0


async def test_a_model_call_queued_past_its_deadline_is_a_provider_timeout():
    limiter = EndpointLimiter("http://deadline-policy", 1)
    held = await limiter.acquire()

    async def attempt(n: int) -> str:
        return "sent"

    with pytest.raises(ProviderTimeout, match="0.05 s deadline passed during attempt 1") as info:
        await RetryPolicy().run(attempt, limiter=limiter, deadline=0.05)
    assert not info.value.retryable and limiter.in_flight() == 1
    limiter.release(held)
