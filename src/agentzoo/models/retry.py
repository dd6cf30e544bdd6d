"""One retry policy for model endpoints: classify failures, back off, and share cool-downs.

- `classify` turns an HTTP error response into the right `ProviderError` subclass and decides
  whether it is worth retrying. Its messages name the status and the provider's own words,
  with anything that looks like a credential removed.
- `parse_retry_after` reads the server's wish (`retry-after-ms`, `Retry-After` seconds or date).
- `RetryPolicy.run` performs one call with retries: full-jitter exponential backoff, at least
  the server's Retry-After, a per-attempt timeout and an overall deadline.
- `EndpointLimiter` (models/concurrency.py, re-exported here) keeps an adaptive window of
  requests in flight per endpoint, which each attempt's outcome moves, and holds every caller
  back while the endpoint has asked for a pause (a 429 with Retry-After), so that a hundred
  runs hitting the same rate limit do not all hammer it again at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from ..errors import (
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
from .concurrency import EndpointLimiter, limiter_for

__all__ = ["DEFAULT_MAX_RETRY_AFTER", "EndpointLimiter", "RetryPolicy", "classify", "limiter_for",
           "parse_retry_after", "redact"]

log = logging.getLogger("agentzoo.models")

T = TypeVar("T")

DEFAULT_MAX_RETRY_AFTER = 60.0
"""Longest Retry-After honoured, in seconds: a longer wish is capped (the call's deadline still rules)."""

_MAX_MESSAGE = 500

# --- redaction ------------------------------------------------------------------------------

# Providers echo credentials back surprisingly often ("Incorrect API key provided: sk-..."),
# and proxies echo request headers. Anything shaped like a key or a bearer token is removed
# before a provider's text goes into an exception message.
_CREDENTIAL_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), r"\1 ***"),
    (re.compile(r"\bsk-[A-Za-z0-9_\-*.]{3,}"), "sk-***"),
    (re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|token)([\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]+"), r"\1\2***"),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without the given secrets and without anything that looks like a credential."""
    for secret in secrets:
        if secret and len(secret) >= 4:  # a 1-3 character "secret" would shred the message
            text = text.replace(secret, "***")
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _shorten(text: str, limit: int = _MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


# --- Retry-After ----------------------------------------------------------------------------


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts as well as multidicts."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lname = name.lower()
    for key, val in headers.items():
        if key.lower() == lname:
            return val
    return None


def parse_retry_after(headers: Mapping[str, str] | None, *, max_wait: float = DEFAULT_MAX_RETRY_AFTER,
                      now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, or None if it said nothing readable.

    Reads `retry-after-ms` (OpenAI's millisecond variant, preferred as more precise), then
    `Retry-After` as seconds or as an HTTP-date (RFC 9110 §10.2.3). The result is clamped
    to [0, max_wait].
    """
    seconds: float | None = None
    if (ms := _header(headers, "retry-after-ms")) is not None:
        seconds = _number(ms)
        if seconds is not None:
            seconds /= 1000.0
    if seconds is None and (value := _header(headers, "retry-after")) is not None:
        seconds = _number(value)
        if seconds is None:
            try:
                from email.utils import parsedate_to_datetime  # rare: only for an HTTP-date

                when = parsedate_to_datetime(value.strip())
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:  # RFC dates are GMT; a naive result means "-0000"
                when = when.replace(tzinfo=timezone.utc)
            seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds is None:
        return None
    return min(max(seconds, 0.0), max_wait)


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --- classification -------------------------------------------------------------------------

_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "insufficient_balance"}
# Worded so that per-minute "quota" rate limits (e.g. Gemini's "Quota exceeded for metric ...
# per minute") stay retryable: only account-level exhaustion is final.
_QUOTA_TEXT = re.compile(r"(?i)exceeded your current quota|insufficient[_ ](quota|balance|credits?)|billing|hard limit"
                         r"|credit balance|out of credits")
_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length", "exceed_context_size_error"}  # last: llama.cpp
_CONTEXT_TEXT = re.compile(r"(?i)maximum context length|context[_ ]length|context window|prompt is too long"
                           r"|input is too long|too many (input )?tokens|reduce the length of the (messages|prompt)")


def _error_fields(body: Any, text: str | None) -> tuple[str, str | None, str | None]:
    """(message, code, type) from the usual error shapes: OpenAI's `{"error": {...}}`,
    vLLM's flat `{"message", "type", "code"}`, FastAPI's `{"detail": ...}`, or raw text."""
    message: Any = None
    code: Any = None
    kind: Any = None
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, str):
            message = err
        elif isinstance(err, dict):
            message = err.get("message") or err.get("detail") or err.get("msg")
            code, kind = err.get("code"), err.get("type")
        if message is None and "detail" in body:
            message = body["detail"]
    elif isinstance(body, str):
        message = body
    if message is None and text:
        message = text
    if message is not None and not isinstance(message, str):
        message = str(message)
    return (message or "", str(code) if code is not None else None, str(kind) if kind is not None else None)


def classify(status: int, body: Any, headers: Mapping[str, str] | None = None, *,
             api_key: str | None = None, secrets: Iterable[str | None] = (), endpoint: str | None = None,
             text: str | None = None, max_retry_after: float = DEFAULT_MAX_RETRY_AFTER) -> ProviderError:
    """The `ProviderError` for an HTTP error response.

    `body` is the parsed JSON body or None; `text` the raw body when it was not JSON (a
    proxy's HTML page). `api_key` and `secrets` are removed from the message.
    """
    message, code, kind = _error_fields(body, text)
    where = f" from {endpoint}" if endpoint else ""
    detail = _shorten(redact(message, (api_key, *secrets))) or "(no error message)"
    tags = ", ".join(f"{k} {v}" for k, v in (("code", code), ("type", kind)) if v and v not in message)
    text_out = f"HTTP {status}{where}: {detail}" + (f" ({tags})" if tags else "")
    retry_after = parse_retry_after(headers, max_wait=max_retry_after)
    kw: dict[str, Any] = {"status": status, "retry_after": retry_after, "code": code or kind}
    haystack = f"{code} {kind} {message}"

    if status in (401, 403):
        return AuthenticationError(text_out, **kw)
    if status == 402 or (status == 429 and ({code, kind} & _QUOTA_CODES or _QUOTA_TEXT.search(message))):
        return QuotaExceededError(text_out, **kw)
    if status == 429:
        return RateLimitError(text_out, **kw)
    if 400 <= status < 500 and status != 408 and status != 409 and (
            {code, kind} & _CONTEXT_CODES or _CONTEXT_TEXT.search(haystack)):
        return ContextLengthError(text_out, **kw)
    if status == 408:  # the server gave up waiting for us: a timeout, worth another try
        return ProviderTimeout(text_out, **kw)
    if status == 409 or status >= 500:  # 409: a conflicting concurrent request (OpenAI suggests retry)
        return ServerError(text_out, **kw)
    if 400 <= status < 500:
        return BadRequestError(text_out, **kw)
    # 1xx/3xx: redirects are not followed (a POST must not silently turn into a GET).
    return ProviderError(text_out, **kw)


# --- backoff --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one model call is retried.

    Waits are full-jitter exponential (uniform in [0, min(max_delay, base_delay·2^(n-1))]),
    but never shorter than the server's Retry-After. `attempt_timeout` bounds one HTTP attempt
    (not the time spent queueing for a slot); `deadline` bounds the whole call, retries and
    waits included: a call never starts a wait that would end past it.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: bool = True
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    attempt_timeout: float | None = None
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")
        for key in ("base_delay", "max_delay", "max_retry_after"):
            if getattr(self, key) < 0:
                raise ConfigError(f"RetryPolicy.{key} must be >= 0, got {getattr(self, key)}")
        for key in ("attempt_timeout", "deadline"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise ConfigError(f"RetryPolicy.{key} must be > 0 or None, got {value}")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        cap = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, 60))
        wait = random.uniform(0.0, cap) if self.jitter else cap
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait

    async def run(self, attempt_fn: Callable[..., Awaitable[T]], *, limiter: EndpointLimiter | None = None,
                  deadline: float | None = None, what: str = "model call", attempts: list[dict[str, Any]] | None = None,
                  retry_generation_timeouts: bool = True, self_timed: bool = False) -> T:
        """Call `attempt_fn(attempt_number)` until it succeeds or a failure is final.

        Only `ProviderError`s with `retryable` set are retried. `deadline` (seconds) tightens
        the policy's own. The error that ends the loop is re-raised as it is, with the number
        of attempts added to its message when it was retryable.

        `attempts`, if given, receives one record per attempt, failed ones included (`{"attempt",
        "waited_s": for a slot, "seconds": the attempt itself, "error"?: {"type", "message"}}`);
        the error that ends the loop carries the same list as `.attempts`. With
        `retry_generation_timeouts` false, an attempt cut by `attempt_timeout` is final: the
        request would run the same (possibly runaway) generation again.

        With `self_timed`, `attempt_fn(attempt_number, until)` keeps its own clock: `until` is the
        loop-time instant by which the attempt must end (the deadline or `attempt_timeout`, or
        None), and past it the attempt raises a bare `TimeoutError`, which the policy names as
        it names its own timeouts. An attempt that runs timers anyway (a first-byte clock) saves
        a second one that way.
        """
        loop = asyncio.get_running_loop()
        limit = self.deadline if deadline is None else deadline if self.deadline is None else min(deadline,
                                                                                                   self.deadline)
        deadline_at = None if limit is None else loop.time() + limit
        records = attempts if attempts is not None else []
        attempt = 0
        while True:
            attempt += 1
            record: dict[str, Any] = {"attempt": attempt}
            records.append(record)
            started = time.monotonic()
            try:
                result = await self._attempt(attempt_fn, attempt, limiter, loop, deadline_at, limit, what, record,
                                             retry_generation_timeouts, self_timed)
            except ProviderError as exc:
                _close(record, started, exc)
                exc.attempts = records  # type: ignore[attr-defined]
                if not exc.retryable:
                    raise
                if attempt >= self.max_attempts:
                    exc.args = (f"{exc.args[0] if exc.args else exc} (gave up after {attempt} attempts)",)
                    raise
                wait = self.delay(attempt, exc.retry_after)
                if limiter is not None and exc.retry_after is not None:
                    limiter.cool_down(min(exc.retry_after, self.max_retry_after))
                if deadline_at is not None and loop.time() + wait >= deadline_at:
                    final = ProviderTimeout(
                        f"{what}: the {limit:g} s deadline would pass before retry {attempt + 1} "
                        f"(next wait {wait:.2f} s); last error: {exc}",
                        status=exc.status, retryable=False, code=exc.code)
                    final.attempts = records  # type: ignore[attr-defined]
                    raise final from exc
                record["retry_in_s"] = round(wait, 6)
                log.debug("%s: attempt %d failed, retrying in %.2f s: %s", what, attempt, wait, exc)
                await asyncio.sleep(wait)
            except BaseException as exc:
                _close(record, started, exc)
                raise
            else:
                _close(record, started, None)
                return result

    async def _attempt(self, attempt_fn: Callable[..., Awaitable[T]], attempt: int, limiter: EndpointLimiter | None,
                       loop: asyncio.AbstractEventLoop, deadline_at: float | None, limit: float | None, what: str,
                       record: dict[str, Any], retry_generation_timeouts: bool, self_timed: bool) -> T:
        # At most one timer at a time, and none where nothing can pass a bound: a free slot is
        # taken at once; a wait for one ends at the deadline (the limiter's one timer for all its
        # waiters). The request then runs under one timer to the nearer of the deadline and the
        # attempt timeout, or under its own clock.
        if deadline_at is not None and deadline_at <= loop.time():
            raise ProviderTimeout(f"{what}: the {limit:g} s deadline passed", retryable=False)
        slot: float | None = None  # when the limiter let this attempt go
        if limiter is not None:
            slot = limiter.try_acquire(loop)
            if slot is None:
                queued = time.monotonic()
                try:
                    slot = await limiter.acquire(deadline_at)
                except TimeoutError as exc:
                    raise ProviderTimeout(f"{what}: the {limit:g} s deadline passed during attempt {attempt}",
                                          retryable=False) from exc
                record["waited_s"] = round(time.monotonic() - queued, 6)
            else:
                record["waited_s"] = 0.0
        until = deadline_at
        if self.attempt_timeout is not None:
            ends = loop.time() + self.attempt_timeout
            until = ends if until is None else min(ends, until)
        timer = None
        try:
            if self_timed:
                result = await attempt_fn(attempt, until)
            elif until is None:
                result = await attempt_fn(attempt)
            else:
                timer = asyncio.timeout_at(until)
                async with timer:
                    result = await attempt_fn(attempt)
        except BaseException as exc:
            error = exc
            # A self-timed attempt reads time.monotonic (see models/openai_compat.py's _Clock), which is
            # never behind the loop's clock; uvloop's loop.time() may be, by less than a millisecond.
            if isinstance(exc, TimeoutError) and (timer.expired() if timer is not None
                                                  else self_timed and until is not None and time.monotonic() >= until):
                error = self._timed_out(until, deadline_at, limit, attempt, what, retry_generation_timeouts)
            if slot is not None:  # the endpoint's answer (or silence) moves its window
                limiter.release(slot, error, loop)  # type: ignore[union-attr]
            if error is exc:
                raise
            raise error from exc
        if slot is not None:
            limiter.release(slot, None, loop)  # type: ignore[union-attr]
        return result

    def _timed_out(self, until: float | None, deadline_at: float | None, limit: float | None,
                   attempt: int, what: str, retry_generation_timeouts: bool) -> ProviderTimeout:
        # Which bound it was, from the bounds themselves: a timer may go off a little before its
        # instant by the clock (uvloop's counts whole milliseconds), so `now >= deadline` can miss it.
        if deadline_at is not None and until == deadline_at:
            return ProviderTimeout(f"{what}: the {limit:g} s deadline passed during attempt {attempt}",
                                   retryable=False)
        if not retry_generation_timeouts:
            return ProviderTimeout(
                f"{what}: attempt {attempt} took longer than {self.attempt_timeout:g} s; not retried, since the "
                "same request would run the same generation again: bound the reply (max_tokens) or raise "
                "the timeout", retryable=False)
        return ProviderTimeout(f"{what}: attempt {attempt} took longer than {self.attempt_timeout:g} s")


def _close(record: dict[str, Any], started: float, exc: BaseException | None) -> None:
    """Fill in an attempt's record: how long it took (its slot wait included) and how it failed.
    Durations are read from time.monotonic, not the loop's clock: uvloop's counts whole milliseconds."""
    record["seconds"] = round(time.monotonic() - started, 6)
    if exc is not None:
        record["error"] = {"type": type(exc).__name__, "message": str(exc)[:_MAX_MESSAGE]}
