"""The retry classifier, Retry-After parsing, the backoff policy and the endpoint limiter (no network)."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from agentzoo.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContextLengthError,
    ProviderError,
    ProviderTimeout,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)
from agentzoo.models.retry import EndpointLimiter, RetryPolicy, classify, limiter_for, parse_retry_after, redact

KEY = "sk-test-SECRET123"


# --- parse_retry_after ----------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "2"}, 2.0),
    ({"retry-after": "0.5"}, 0.5),
    ({"RETRY-AFTER": " 3 "}, 3.0),
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "Retry-After": "7"}, 0.25),  # the precise one wins
    ({"retry-after-ms": "junk", "Retry-After": "7"}, 7.0),
    ({"Retry-After": "-3"}, 0.0),
    ({"Retry-After": "3600"}, 60.0),
    ({"Retry-After": "nan"}, None),
    ({"Retry-After": "soon"}, None),
    ({}, None),
    (None, None),
])
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=12), usegmt=True)
    assert later.endswith("GMT")
    assert parse_retry_after({"Retry-After": later}, now=now) == pytest.approx(12.0)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": earlier}, now=now) == 0.0
    far = format_datetime(now + timedelta(hours=2), usegmt=True)
    assert parse_retry_after({"Retry-After": far}, now=now, max_wait=5) == 5.0


def test_parse_retry_after_cap_is_configurable():
    assert parse_retry_after({"Retry-After": "100"}, max_wait=120) == 100.0


# --- classify -------------------------------------------------------------------------------


def _openai_error(message: str, code: str | None = None, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(("status", "body", "cls", "retryable"), [
    (401, _openai_error("Incorrect API key provided", "invalid_api_key"), AuthenticationError, False),
    (403, _openai_error("Country not supported"), AuthenticationError, False),
    (402, {"error": {"message": "Insufficient Balance"}}, QuotaExceededError, False),
    (429, _openai_error("You exceeded your current quota, please check your plan and billing details.",
                        "insufficient_quota", "insufficient_quota"), QuotaExceededError, False),
    (429, _openai_error("You exceeded your current quota, please check your plan."), QuotaExceededError, False),
    (429, _openai_error("Billing hard limit has been reached"), QuotaExceededError, False),
    (429, _openai_error("Rate limit reached for gpt-4o on tokens per min (TPM)", "rate_limit_exceeded"),
     RateLimitError, True),
    # A per-minute "quota" is a rate limit: it passes, so it is retried.
    (429, {"error": {"code": 429, "message": "Quota exceeded for metric: generate_content_requests per minute",
                     "status": "RESOURCE_EXHAUSTED"}}, RateLimitError, True),
    (400, _openai_error("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",
                        "context_length_exceeded"), ContextLengthError, False),
    (400, {"object": "error", "message": "This model's maximum context length is 4096 tokens. However, you "
           "requested 5000 tokens", "type": "BadRequestError", "code": 400}, ContextLengthError, False),
    (400, _openai_error("prompt is too long: 210000 tokens > 200000 maximum"), ContextLengthError, False),
    (400, _openai_error("Invalid value for 'temperature'"), BadRequestError, False),
    (404, _openai_error("The model `nope` does not exist", "model_not_found"), BadRequestError, False),
    (422, {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, BadRequestError, False),
    (408, None, ProviderTimeout, True),
    (409, None, ServerError, True),
    (500, _openai_error("The server had an error", kind="server_error"), ServerError, True),
    (502, None, ServerError, True),
    (503, None, ServerError, True),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, ServerError, True),
])
def test_classify(status, body, cls, retryable):
    exc = classify(status, body, {}, endpoint="http://127.0.0.1:1/v1")
    assert type(exc) is cls
    assert exc.retryable is retryable
    assert exc.status == status
    assert f"HTTP {status}" in str(exc)
    assert "http://127.0.0.1:1/v1" in str(exc)


def test_classify_names_the_provider_message_and_code():
    exc = classify(429, _openai_error("Rate limit reached, slow down", "rate_limit_exceeded", "requests"),
                   {"Retry-After": "1.5"})
    assert "Rate limit reached, slow down" in str(exc)
    assert "rate_limit_exceeded" in str(exc)
    assert exc.retry_after == 1.5
    assert exc.code == "rate_limit_exceeded"


def test_classify_non_json_body_uses_text():
    exc = classify(502, None, {}, text="<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert isinstance(exc, ServerError)
    assert "502 Bad Gateway" in str(exc)


def test_classify_other_statuses_are_not_retried():
    exc = classify(302, None, {"Location": "http://elsewhere"})
    assert type(exc) is ProviderError and not exc.retryable
    assert isinstance(classify(418, None, {}), BadRequestError)


def test_classify_never_shows_the_key():
    body = _openai_error(f"Incorrect API key provided: {KEY}. Header was 'Authorization: Bearer {KEY}'",
                         "invalid_api_key")
    exc = classify(401, body, {}, api_key=KEY)
    assert "SECRET123" not in str(exc) and "SECRET123" not in repr(exc)
    assert "Incorrect API key provided" in str(exc)
    # Even when the caller does not pass the key, key-shaped text is removed.
    exc = classify(401, body, {})
    assert "SECRET123" not in str(exc)


@pytest.mark.parametrize("text", [
    "Authorization: Bearer abc.def-123",
    "key sk-proj-abcdefghijklmnop used",
    "url?api_key=zzzz1234&x=1",
    '{"api-key": "zzzz1234"}',
    "Basic dXNlcjpwYXNz",
])
def test_redact_credential_shapes(text):
    out = redact(text)
    for secret in ("abc.def-123", "abcdefghijklmnop", "zzzz1234", "dXNlcjpwYXNz"):
        assert secret not in out


def test_redact_exact_secrets_and_leaves_short_ones():
    assert redact("my key is hunter2hunter2", ["hunter2hunter2"]) == "my key is ***"
    assert redact("a b c", ["a"]) == "a b c"


# --- RetryPolicy ----------------------------------------------------------------------------


def test_delay_exponential_capped_without_jitter():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(10_000) == 3.0  # no overflow


def test_delay_full_jitter_and_retry_after():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=10.0)
    waits = [policy.delay(3) for _ in range(200)]
    assert all(0.0 <= w <= 4.0 for w in waits) and len(set(waits)) > 100
    assert all(policy.delay(1, retry_after=2.5) >= 2.5 for _ in range(50))
    assert policy.delay(1, retry_after=100.0) <= 10.0


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"deadline": 0},
                                    {"attempt_timeout": -1}])
def test_policy_rejects_bad_values(kwargs):
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)


FAST = RetryPolicy(base_delay=0.001, max_delay=0.005)


def _failing(errors: list[BaseException], result: str = "ok"):
    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


async def test_run_retries_retryable_errors():
    attempt, calls = _failing([ServerError("boom", status=500), RateLimitError("slow", status=429)])
    assert await FAST.run(attempt) == "ok"
    assert calls == [1, 2, 3]


async def test_run_does_not_retry_final_errors():
    attempt, calls = _failing([QuotaExceededError("quota", status=429)])
    with pytest.raises(QuotaExceededError):
        await FAST.run(attempt)
    assert calls == [1]


async def test_run_gives_up_after_max_attempts():
    attempt, calls = _failing([ServerError(f"boom {i}", status=500) for i in range(10)])
    with pytest.raises(ServerError, match=r"boom 2 \(gave up after 3 attempts\)"):
        await RetryPolicy(max_attempts=3, base_delay=0.001).run(attempt)
    assert calls == [1, 2, 3]


async def test_run_deadline_stops_before_a_wait_that_would_pass_it():
    attempt, calls = _failing([RateLimitError("slow", status=429, retry_after=5.0)])
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(ProviderTimeout, match="0.5 s deadline") as info:
        await FAST.run(attempt, deadline=0.5, what="m at http://x")
    assert loop.time() - start < 0.3
    assert not info.value.retryable
    assert "slow" in str(info.value) and calls == [1]


async def test_run_attempt_timeout_is_retried():
    slow = [True]

    async def attempt(n: int) -> str:
        if slow.pop(0) if slow else False:
            await asyncio.sleep(10)
        return f"attempt {n}"

    assert await RetryPolicy(attempt_timeout=0.05, base_delay=0.001).run(attempt) == "attempt 2"


async def test_run_deadline_during_an_attempt():
    async def attempt(n: int) -> str:
        await asyncio.sleep(10)
        return "never"

    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(ProviderTimeout, match="0.1 s deadline passed during attempt 1"):
        await RetryPolicy(attempt_timeout=5).run(attempt, deadline=0.1)
    assert loop.time() - start < 1.0


async def test_run_policy_deadline_and_argument_take_the_smaller():
    async def attempt(n: int) -> str:
        await asyncio.sleep(10)
        return "never"

    with pytest.raises(ProviderTimeout, match="0.05 s deadline"):
        await RetryPolicy(deadline=0.05).run(attempt, deadline=100)


async def test_run_self_timed_attempts_get_the_bound_and_their_timeouts_are_named():
    # The attempt keeps its own clock to `until`; past it, its bare TimeoutError is the policy's.
    loop = asyncio.get_running_loop()
    bounds: list[float | None] = []

    async def attempt(n: int, until: float | None) -> str:
        bounds.append(until)
        if n == 1:
            await asyncio.sleep(until - loop.time())
            raise TimeoutError
        return "ok"

    records: list[dict] = []
    start = loop.time()
    policy = RetryPolicy(max_attempts=2, base_delay=0.0, attempt_timeout=0.02)
    assert await policy.run(attempt, self_timed=True, attempts=records, deadline=60) == "ok"
    assert all(start < b < start + 1 for b in bounds)  # the attempt timeout, nearer than the deadline
    assert records[0]["error"]["type"] == "ProviderTimeout" and "longer than 0.02 s" in records[0]["error"]["message"]

    async def unbounded(n: int, until: float | None) -> str:
        bounds.append(until)
        return "ok"

    assert await RetryPolicy().run(unbounded, self_timed=True) == "ok" and bounds[-1] is None

    async def own_timeout(n: int, until: float | None) -> str:
        raise TimeoutError("the attempt's own, before its bound")

    with pytest.raises(TimeoutError, match="the attempt's own"):  # not the policy's: it goes through as it is
        await RetryPolicy(max_attempts=1, deadline=60).run(own_timeout, self_timed=True)


async def test_run_lets_other_exceptions_through():
    async def attempt(n: int) -> str:
        raise KeyError("not a provider error")

    with pytest.raises(KeyError):
        await FAST.run(attempt)


# --- EndpointLimiter ------------------------------------------------------------------------


async def test_limiter_bounds_concurrency():
    limiter = EndpointLimiter("http://bound", 3)
    running = peak = 0

    async def call() -> None:
        nonlocal running, peak
        await limiter.acquire()
        try:
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.005)
        finally:
            running -= 1
            limiter.release()

    await asyncio.gather(*(call() for _ in range(30)))
    assert peak == 3 and limiter.in_flight() == 0


async def test_limiter_cool_down_holds_callers_back():
    limiter = EndpointLimiter("http://cool", 10)
    limiter.cool_down(0.15)
    assert 0.1 < limiter.cooling_for() <= 0.15
    loop = asyncio.get_running_loop()
    start = loop.time()
    await limiter.acquire()
    limiter.release()
    assert loop.time() - start >= 0.14
    limiter.cool_down(0.01)  # a shorter pause never shortens a longer one
    limiter.cool_down(-5)
    assert limiter.cooling_for() <= 0.01


async def test_limiter_cancelled_waiter_does_not_leak_a_slot():
    limiter = EndpointLimiter("http://cancel", 1)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release()
    assert limiter.in_flight() == 0
    await asyncio.wait_for(limiter.acquire(), 1)
    limiter.release()


def test_limiter_works_across_event_loops_and_threads():
    limiter = limiter_for("http://loops.example/v1", 2)

    async def use() -> int:
        await limiter.acquire()
        await asyncio.sleep(0.001)
        limiter.release()
        return limiter.in_flight()

    assert asyncio.run(use()) == 0
    assert asyncio.run(use()) == 0  # a fresh loop gets fresh primitives
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(asyncio.run(use()))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0, 0, 0]


def test_limiter_registry_shares_and_takes_the_strictest_bound():
    a = limiter_for("http://registry.example/v1", 64)
    b = limiter_for("http://registry.example/v1/", 8)
    assert a is b and a.max_concurrency == 8
    assert limiter_for("http://registry.example/v1", 100).max_concurrency == 8
    assert limiter_for("http://other.example/v1", 5) is not a
    with pytest.raises(ConfigError):
        EndpointLimiter("http://bad", 0)
