"""The OpenAI-compatible chat-completions backend (OpenAI, vLLM, Ollama, llama.cpp server, …).

Transport is pyreqwest (Rust's reqwest/hyper behind an asyncio API), chosen by measurement
(bench/http_clients.py): it used 0.5-0.8x aiohttp's CPU per request at concurrency 1 to 1,000
and imports in a tenth of the time. One client per instance and event loop, created lazily
inside the loop, with an unbounded connection pool because the shared `EndpointLimiter` (an
adaptive window per endpoint, models/concurrency.py) is what bounds concurrency; no redirects, no proxies from the environment, no automatic
status errors. Every call goes through the one `RetryPolicy` (models/retry.py); this module
only turns HTTP into `ModelResponse`s and transport failures into the error tree.

A response is read as it streams in and counted: past `max_response_bytes` reading stops (a
runaway generation or a body that never ends costs at most that much memory, once, since it is
not retried), and a reply with more than `max_tool_calls` tool calls ends the call too.

Replies stream by default, and three clocks watch a call instead of one over the whole reply:
connecting, the first byte (which covers the time a busy server keeps the request queued and
reads the prompt), and the silence between two chunks. So a long reply that is still arriving is
never cut, however long it takes; only `call_timeout`, a generous cap over the whole call, ends
it. A timed-out generation is not replayed blindly: a request without `max_tokens` that got no
first byte is not retried (the same request would run the same, maybe runaway, generation again
behind the same queue); the error says to bound the reply. A stream that stopped mid-way (the
idle clock) and a connect timeout are retried as they are: nothing runs away there.

Every attempt is returned with the reply (`ModelResponse.attempts`, or `.attempts` on the error),
and so is the latency: queue, prompt and generation time from the server's own `timings` where
it reports them (llama.cpp), the first token's arrival from the stream, and the total.
"""

from __future__ import annotations

import asyncio
import atexit
import ipaddress
import os
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pyreqwest import exceptions as http_errors
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.response import Response

from .. import _json
from .._version import __version__
from ..errors import (
    ConfigError,
    ProtocolError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    RealModelCallRefused,
    ResponseTooLargeError,
    TooManyToolCallsError,
)
from ..protocols import DeltaCallback
from ..runtime.secrets import register as register_secrets
from ..types import Latency, ModelRequest, ModelResponse, Usage
from .retry import RetryPolicy, classify, limiter_for, redact
from .tool_modes import ToolModeName, tool_mode as make_tool_mode

_SECRET_HEADERS = {"authorization", "api-key", "x-api-key", "proxy-authorization", "x-goog-api-key"}
_SECRET_QUERY = ("key", "token", "secret", "password", "sig", "auth")  # parts of query names that hold one
DEFAULT_MAX_RESPONSE_BYTES = 8 << 20
"""8 MiB: some hundred times a long reply, and far below what hurts memory or the journal."""
DEFAULT_MAX_TOOL_CALLS = 64
"""Parallel tool calling uses a handful per reply; hundreds means a model looping on itself."""
ERROR_BODY_BYTES = 64 << 10  # of an error response, only the start is read (its message)
DEFAULT_FIRST_BYTE_TIMEOUT = 300.0
"""Seconds to the first byte of a reply: queueing behind a one-slot local server and reading a
long prompt on a CPU both happen before it, so it is generous."""
DEFAULT_IDLE_TIMEOUT = 60.0
"""Seconds of silence between two chunks of a reply that has started: a server that is still
generating sends a token far more often."""
FINISH_GRACE = 1.0
"""Seconds a streamed reply's body may take to end after `[DONE]` before its connection is given up
(`OpenAICompatible._finish`); servers end it at once."""
DEFAULT_CALL_TIMEOUT = 1800.0
"""The cap over a whole call, retries included: half an hour, so that only a runaway meets it."""
_ACCEPT_JSON = {"Accept": "application/json"}  # over the client's default (an event stream) for post_json
# Body fields the backend owns: a request's `extra` cannot override them.
_OWNED_FIELDS = ("model", "messages", "stream", "stream_options")


class _Secret:
    """Holds a value that must not show up in reprs, `vars()` dumps or tracebacks' locals."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<redacted>"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _offline() -> bool:
    return os.environ.get("AGENTZOO_OFFLINE", "").strip().lower() in ("1", "true", "yes")


EXIT_SETTLE_SECONDS = 0.1
"""How long a process that made an HTTP client waits at exit for pyreqwest's thread (see `_settle_at_exit`)."""
_settling = False


def _settle_at_exit() -> None:
    """Once a process has made an HTTP client: at exit, give pyreqwest's own thread a moment to finish
    before the interpreter tears itself down.

    Model calls cancelled as a program ends (the rest of an `asyncio.gather` whose first call failed)
    are still being finished by that thread, which takes the GIL to let go of their Python objects; if
    the interpreter is already finalizing, CPython aborts the process ("Fatal Python error:
    PyGILState_Release", a core dump and exit 134 instead of the program's own status). Measured with 10
    gathered calls to a port that refused them: 13 aborts in 15 runs (with 100 calls, 6–8 in 30–40,
    with or without `aclose()`); none in 30 runs with this wait, nor in 90 with 20–200 ms
    (pyreqwest 0.15.1). `tests/models/test_exit.py`."""
    global _settling
    if not _settling:
        _settling = True
        atexit.register(time.sleep, EXIT_SETTLE_SECONDS)


class OpenAICompatible:
    """A `Model` served by any OpenAI-compatible `/chat/completions` endpoint.

    `stream` (default on) reads the reply as server-sent events. `connect_timeout` bounds
    establishing a connection, `first_byte_timeout` the wait for the reply's first byte (queue
    and prompt included), `idle_timeout` the silence between two chunks (so a long reply that
    keeps arriving is fine), `call_timeout` the whole call including retries (`deadline` is its
    older name; None: no cap); `read_timeout`, an older name, sets both the first-byte and the
    idle timeout. `tool_mode` says how tool calls travel (`models.tool_modes`: `native` OpenAI
    tools, `json` constrained JSON, `react` text; None: the class's `default_tool_mode`).
    `max_concurrency` caps the requests in flight to this base_url across all instances (the
    strictest wins); below it the window adapts to the endpoint: it grows while the endpoint
    answers promptly and halves on 429s, 5xx and timeouts (models/concurrency.py); None: adaptive
    up to a high ceiling. `headers` are sent with every request (e.g. Azure's `api-key`). `max_response_bytes` caps one response body, plain or streamed
    (`ResponseTooLargeError`, not retried); `max_tool_calls` the tool calls in one reply
    (`TooManyToolCallsError`). The key, secret headers and credentials in `base_url` are
    registered with `agentzoo.runtime.secrets`, so no journal entry holds them.
    """

    _stream_read_buffer = 1
    """Bytes of a streamed body pyreqwest reads before it hands over the response; after that it
    passes each chunk on once that many have gathered. 1 hands over every chunk as it comes (its
    default, 64 KiB, holds a streamed reply until its end), and the first chunk rides with the
    headers instead of costing a wait of its own, as it does with 0. At 10,000 requests in flight
    that took 293 against 335 µs of CPU per request (`bench/http_clients.py --server stub
    --latency-ms 50`, which measures both); one at a time, 299 against 346."""

    default_tool_mode: ToolModeName = "native"
    """The tool mode when none is given: OpenAI-compatible servers mostly parse tool calls natively
    (a subclass for servers that do not, such as the local llama.cpp provider, says `json`)."""

    def __init__(self, model: str, base_url: str = "https://api.openai.com/v1", api_key: str | None = None, *,
                 stream: bool = True, connect_timeout: float = 10.0,
                 first_byte_timeout: float | None = DEFAULT_FIRST_BYTE_TIMEOUT,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT, read_timeout: float | None = None,
                 deadline: float | None = DEFAULT_CALL_TIMEOUT, call_timeout: float | None = None,
                 retry: RetryPolicy | None = None, max_concurrency: int | None = None,
                 headers: dict[str, str] | None = None,
                 name: str | None = None, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS, tool_mode: ToolModeName | None = None) -> None:
        if not model:
            raise ConfigError("OpenAICompatible: model must be a non-empty model name")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"OpenAICompatible: base_url must be an http(s) URL, got {redact(base_url)!r}")
        if call_timeout is not None:
            deadline = call_timeout
        if read_timeout is not None:
            first_byte_timeout = idle_timeout = read_timeout
        for key, value in (("connect_timeout", connect_timeout), ("first_byte_timeout", first_byte_timeout),
                           ("idle_timeout", idle_timeout), ("call_timeout", deadline)):
            if value is not None and value <= 0:
                raise ConfigError(f"OpenAICompatible: {key} must be > 0 or None, got {value}")
        self.tool_mode: ToolModeName = tool_mode or self.default_tool_mode
        self._tool_mode = make_tool_mode(self.tool_mode)
        for key, count in (("max_response_bytes", max_response_bytes), ("max_tool_calls", max_tool_calls)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigError(f"OpenAICompatible: {key} must be a positive int, got {count!r}")
        self.max_response_bytes, self.max_tool_calls = max_response_bytes, max_tool_calls
        self.model = model
        self.name = name or model
        self.base_url = base_url.rstrip("/")
        self.stream = stream
        self.connect_timeout, self.deadline = connect_timeout, deadline
        self.first_byte_timeout, self.idle_timeout = first_byte_timeout, idle_timeout
        self.retry = retry or RetryPolicy()
        # For messages: scheme, host, port and path only (no userinfo or query, which may hold secrets).
        port = f":{parts.port}" if parts.port else ""
        self.endpoint = f"{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip('/')}"
        # The path goes before a query the base_url may have (`?api-version=…`).
        self._url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/chat/completions"))
        self._what = f"{model} at {self.endpoint}"
        self._loopback = _is_loopback(parts.hostname)
        self._limiter = limiter_for(self.base_url, max_concurrency)

        sent: dict[str, str] = {"Content-Type": "application/json", "User-Agent": f"agentzoo/{__version__}",
                                "Accept": "text/event-stream" if stream else "application/json"}
        sent.update(headers or {})
        if api_key:
            sent["Authorization"] = f"Bearer {api_key}"
        secrets = [api_key] + [v for k, v in (headers or {}).items() if k.lower() in _SECRET_HEADERS]
        secrets += [parts.username, parts.password]  # userinfo: a token may be the user name alone
        secrets += [v for k, v in parse_qsl(parts.query) if any(word in k.lower() for word in _SECRET_QUERY)]
        register_secrets(*secrets)
        self._headers = _Secret(sent)
        self._secrets = _Secret(tuple(s for s in secrets if s))
        self._has_key = bool(api_key)
        self._session: Client | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return (f"OpenAICompatible(model={self.model!r}, base_url={self.endpoint!r}, stream={self.stream}, "
                f"tool_mode={self.tool_mode!r}, api_key={'<set>' if self._has_key else None})")

    # --- lifecycle --------------------------------------------------------------------------

    def _client(self, loop: asyncio.AbstractEventLoop | None = None) -> Client:
        """This model's client for the running loop (`loop`, when the caller has it at hand: asking
        asyncio for it costs a getpid system call)."""
        loop = asyncio.get_running_loop() if loop is None else loop
        session = self._session
        if session is None or self._session_loop is not loop:
            # A client answers in the loop that awaits it, but its pooled connections were made
            # for the loop that was running then; a new loop (asyncio.run twice, per-test loops)
            # gets a new client. Close each with aclose() in its own loop. No read timeout here:
            # the first-byte and idle clocks are ours (`_Clock`), told apart in their errors.
            # The headers are the client's defaults, so no request converts them again.
            session = (ClientBuilder().connect_timeout(timedelta(seconds=self.connect_timeout)).max_connections(None)
                       .default_headers(self._headers.value).follow_redirects(False).error_for_status(False)
                       .no_proxy().build())
            self._session, self._session_loop = session, loop
            _settle_at_exit()
        return session

    async def aclose(self) -> None:
        session, self._session, self._session_loop = self._session, None, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> OpenAICompatible:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the call ---------------------------------------------------------------------------

    async def complete(self, request: ModelRequest, *, on_delta: DeltaCallback | None = None) -> ModelResponse:
        if not self._loopback and _offline():
            raise RealModelCallRefused(
                f"AGENTZOO_OFFLINE=1: refusing a real model call to {self.endpoint} (model {self.model!r}); "
                "use a loopback server (agentzoo.testing.fake_openai) or a ScriptedModel")
        wire = self._tool_mode.prepare(request)
        data = _json.dumps(self._body(wire))
        # A bounded reply cannot run away, so a retry after its timeout repeats at most max_tokens.
        bounded = wire.max_tokens is not None or "max_completion_tokens" in wire.extra
        # The retry loop fills `attempts` as it goes; the reply is made holding that list.
        attempts: list[dict[str, Any]] = []
        response = await self.retry.run(lambda _attempt, until: self._attempt(data, on_delta, bounded, attempts, until),
                                        limiter=self._limiter, deadline=self.deadline, what=self._what,
                                        attempts=attempts, retry_generation_timeouts=bounded, self_timed=True)
        return self._tool_mode.interpret(response, request)

    async def post_json(self, path: str, body: dict[str, Any]) -> Any:
        """POST `body` to another endpoint of the same server (`/embeddings`) with this model's
        transport, offline guard, caps and retry policy; returns the JSON reply."""
        if not self._loopback and _offline():
            raise RealModelCallRefused(f"AGENTZOO_OFFLINE=1: refusing a real call to {self.endpoint}{path}")
        parts = urlsplit(self._url)
        url = urlunsplit(parts._replace(path=parts.path.removesuffix("/chat/completions") + path))
        data = _json.dumps(body)

        async def attempt(_attempt: int, until: float | None) -> Any:
            clock = _Clock(self.first_byte_timeout, self.idle_timeout, until)
            try:
                async with clock:
                    request = self._client().post(url).headers(_ACCEPT_JSON).body_bytes(data)
                    async with request.build_streamed() as resp:
                        if not 200 <= resp.status < 300:
                            raise self._http_error(
                                resp.status, await self._read_body(resp, ERROR_BODY_BYTES, clock, cut=True),
                                resp.headers)
                        raw = await self._read_body(resp, self.max_response_bytes, clock)
            except http_errors.PyreqwestError as exc:
                raise self._transport_error(exc) from exc
            except TimeoutError:
                if clock.expired != "silence":
                    raise  # not ours, or the policy's bound: it names it
                raise self._silence(clock, True) from None
            try:
                return _json.loads(raw)
            except ValueError:
                raise ProtocolError(f"a 2xx response from {self.endpoint}{path} is not JSON: "
                                    f"{self._snippet(raw)}") from None

        return await self.retry.run(attempt, limiter=self._limiter, deadline=self.deadline,
                                    what=f"{self.model} at {self.endpoint}{path}", self_timed=True)

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        body = request.to_json()
        if extra := body.pop("extra", None):
            body.update({k: v for k, v in extra.items() if k not in _OWNED_FIELDS})
        body["model"] = self.model
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def _attempt(self, data: bytes, on_delta: DeltaCallback | None, bounded: bool,
                       attempts: list[dict[str, Any]], until: float | None) -> ModelResponse:
        """One attempt, its clocks ending by `until` at the latest (the retry policy's bound)."""
        loop = asyncio.get_running_loop()  # once: each asyncio lookup of it is a getpid system call
        request = self._client(loop).post(self._url).body_bytes(data)
        if self.stream:
            request = request.streamed_read_buffer_limit(self._stream_read_buffer)
        clock = _Clock(self.first_byte_timeout, self.idle_timeout, until, loop)
        try:
            # Always streamed, so that the body is counted as it comes and never read past the cap;
            # leaving the block drops the connection of a body that was not read to its end.
            async with clock:
                async with request.build_streamed() as resp:
                    if not 200 <= resp.status < 300:
                        raise self._http_error(resp.status,
                                               await self._read_body(resp, ERROR_BODY_BYTES, clock, cut=True),
                                               resp.headers)
                    headers = resp.headers
                    ctype = headers.get("content-type") or ""
                    # A server may ignore `stream: true` and answer with one JSON body: accept it.
                    if self.stream and ctype.startswith("text/event-stream"):
                        acc = await self._read_stream(resp, on_delta, clock, headers.get("content-length"))
                        return acc.response(self.model, clock.latency(acc.timings), attempts)
                    raw = await self._read_body(resp, self.max_response_bytes, clock)
                    return self._parse_completion(raw, ctype, clock, attempts)
        except (ProviderError, TooManyToolCallsError):
            raise
        except http_errors.PyreqwestError as exc:
            raise self._transport_error(exc) from exc
        except TimeoutError:
            if clock.expired != "silence":
                raise  # not ours, or the policy's bound: it names it
            raise self._silence(clock, bounded) from None

    def _silence(self, clock: _Clock, bounded: bool) -> ProviderTimeout:
        """The error for a reply that stopped coming: before its first byte, or between two chunks."""
        if clock.received:
            return ProviderTimeout(f"idle timeout: {self.endpoint} sent nothing for {self.idle_timeout:g} s in the "
                                   f"middle of a reply ({clock.received:,} bytes received)")
        if bounded:
            return ProviderTimeout(f"first-byte timeout: no reply from {self.endpoint} within "
                                   f"{self.first_byte_timeout:g} s (queued, or reading the prompt)")
        return ProviderTimeout(
            f"first-byte timeout: no reply from {self.endpoint} within {self.first_byte_timeout:g} s (queued, reading "
            "the prompt, or generating a reply that is not streamed); not retried, since without max_tokens the same "
            "request may run the same unbounded generation again. Bound the reply (--max-tokens / "
            "sampling.max_tokens), stream it, or raise first_byte_timeout", retryable=False)

    async def _read_body(self, resp: Response, cap: int, clock: _Clock, *, cut: bool = False) -> bytes:
        """The body, read chunk by chunk up to `cap` bytes: past it, `cut` keeps the first `cap`
        bytes (an error's message), else it is a `ResponseTooLargeError`."""
        declared = resp.headers.get("content-length") or ""
        if declared.isdigit():
            if int(declared) <= cap:  # the usual case: HTTP itself ends the body there, read it at once
                whole = bytes(await resp.bytes())
                clock.tick(len(whole))
                return whole
            if not cut:
                raise self._too_large(f"it declared {int(declared):,} bytes")
        body = bytearray()
        reader = resp.body_reader
        while (piece := await reader.read_chunk()) is not None:
            clock.tick(len(piece))
            body += bytes(piece)
            if len(body) > cap:
                if cut:
                    return bytes(body[:cap])
                raise self._too_large(f"reading stopped after {len(body):,} bytes")
        return bytes(body)

    def _too_large(self, how: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the response from {self.endpoint} is larger than max_response_bytes={self.max_response_bytes:,} "
            f"({how}); it was not retried. If replies this long are expected, raise the cap "
            f"(OpenAICompatible(..., max_response_bytes=N)); otherwise bound the reply (max_tokens)",
            retryable=False)

    def _transport_error(self, exc: Exception) -> ProviderError:
        """The error-tree class for a transport failure (pyreqwest's classes, their causes' texts)."""
        causes = " / ".join(c.get("message", "") for c in (getattr(exc, "details", None) or {}).get("causes") or ())
        detail = self._clean(causes or str(exc))
        lowered = detail.lower()
        if isinstance(exc, http_errors.RequestTimeoutError):  # the client has no other timer than connect's
            return ProviderTimeout(f"connect timeout: no connection to {self.endpoint} within "
                                   f"{self.connect_timeout:g} s")
        if isinstance(exc, http_errors.ConnectError):
            if "certificate" in lowered or "tls" in lowered or "ssl" in lowered:
                # A bad certificate does not heal by retrying.
                return ProviderConnectionError(f"TLS failure talking to {self.endpoint}: {detail}", retryable=False)
            return ProviderConnectionError(f"cannot connect to {self.endpoint}: {detail}")
        if isinstance(exc, (http_errors.ReadError, http_errors.DecodeError)):
            if self.stream:  # the connection dropped mid-stream (maybe while the first bytes were read)
                return ProtocolError(f"stream ended before [DONE] from {self.endpoint}: connection lost "
                                     f"({detail})", retryable=True)
            return ProtocolError(f"the response body from {self.endpoint} ended early: {detail}", retryable=True)
        if "closed before" in lowered or "connection closed" in lowered:
            return ProviderConnectionError(f"{self.endpoint} closed the connection before answering")
        return ProviderConnectionError(f"{type(exc).__name__} talking to {self.endpoint}: {detail}")

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets.value)

    def _snippet(self, raw: bytes, limit: int = 200) -> str:
        text = raw[: limit * 4].decode("utf-8", "replace")
        text = " ".join(self._clean(text).split())
        return repr(text[:limit] + ("…" if len(text) > limit else ""))

    def _http_error(self, status: int, raw: bytes, headers: Any) -> ProviderError:
        try:
            body = _json.loads(raw) if raw else None
            text = None
        except ValueError:
            body, text = None, raw[:2000].decode("utf-8", "replace")
        return classify(status, body, headers, secrets=self._secrets.value, endpoint=self.endpoint, text=text,
                        max_retry_after=self.retry.max_retry_after)

    # --- non-streaming ----------------------------------------------------------------------

    def _parse_completion(self, raw: bytes, ctype: str, clock: _Clock,
                          attempts: list[dict[str, Any]]) -> ModelResponse:
        try:
            obj = _json.loads(raw)
        except ValueError:
            raise ProtocolError(f"a 2xx response from {self.endpoint} is not JSON (content-type "
                                f"{ctype or 'missing'}): {self._snippet(raw)}") from None
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ProtocolError(f"a 2xx response from {self.endpoint} is not a chat completion (no choices): "
                                f"{self._snippet(raw)}")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise ProtocolError(f"a chat completion from {self.endpoint} has no message: {self._snippet(raw)}")
        calls = message.get("tool_calls")
        if isinstance(calls, list) and len(calls) > self.max_tool_calls:
            raise _too_many_calls(f"{len(calls)}", self.max_tool_calls, self.endpoint)
        return ModelResponse(message=_assistant(message, message.get("tool_calls")),
                             finish_reason=choice.get("finish_reason"), usage=_usage(obj.get("usage")),
                             model=obj.get("model") or self.model, latency=clock.latency(obj.get("timings")),
                             attempts=attempts)

    # --- streaming --------------------------------------------------------------------------

    async def _read_stream(self, resp: Response, on_delta: DeltaCallback | None,
                           clock: _Clock, declared: str | None) -> _StreamAccumulator:
        """Server-sent events up to `[DONE]`, into an accumulator, then the body to its end (see
        `_finish`; `declared` is its Content-Length, if the server sent one). Lines are split in C,
        a piece at a time (`_events`)."""
        acc = _StreamAccumulator(on_delta, self.max_tool_calls, self.endpoint, clock)
        partial: list[bytes] = []
        data: list[bytes] = []  # the data lines of the event being read
        reader = resp.body_reader
        cap = self.max_response_bytes
        while (piece := await reader.read_chunk()) is not None:
            chunk = bytes(piece)
            clock.tick(len(chunk))
            if clock.received > cap:
                raise self._too_large(f"the stream was cut after {clock.received:,} bytes and {acc.events} events")
            # `find`, not `in`: bytes' `in` first tries its operand as an int and raises a TypeError inside
            end = chunk.find(b"\n")
            if end == len(chunk) - 2 and not partial and not data and chunk.startswith(b"data: ") \
                    and chunk.endswith(b"\n\n"):
                # The usual piece while the reader keeps up with a server that flushes every token: one
                # event of one data line, whole (what `_events` would make of it, in fewer steps).
                events: Any = (chunk[6:-2],)
            elif end < 0:
                partial.append(chunk)
                continue
            else:
                events = _events(chunk, partial, data)
            for event in events:
                if len(event) < 16 and event.strip() == b"[DONE]":
                    if not (declared is not None and declared.isdigit() and clock.received >= int(declared)):
                        await self._finish(reader, clock)
                    return acc
                acc.add(self._event(event))
        # A cut stream may look complete; only [DONE] says it is. A model call has no side
        # effects, so it is retried rather than returned half-written.
        raise ProtocolError(f"stream ended before [DONE] from {self.endpoint} "
                            f"(after {acc.events} events)", retryable=True)

    async def _finish(self, reader: Any, clock: _Clock) -> None:
        """Read what follows `[DONE]` to the body's end, for a little while. A connection whose
        body was not read to its end is closed, not pooled, so the next call would pay for a new
        one (and its TLS handshake); a server that flushes each event sends the end of a chunked
        body in a write of its own, after `[DONE]`. The reply is complete already, so a server
        that keeps the body open past `FINISH_GRACE` only loses its connection."""
        grace = FINISH_GRACE if self.idle_timeout is None else min(FINISH_GRACE, self.idle_timeout / 2)
        if clock.until is not None:  # never let the call's own bound cut a reply that is whole
            grace = min(grace, clock.until - clock.time() - 0.01)
            if grace <= 0:
                return
        try:
            async with asyncio.timeout(grace):
                while (piece := await reader.read_chunk()) is not None:
                    clock.tick(len(piece))
                    if clock.received > self.max_response_bytes:
                        return
        except (TimeoutError, http_errors.PyreqwestError):
            return

    def _event(self, event: bytes) -> dict[str, Any]:
        try:
            obj = _json.loads(event)
        except ValueError:
            raise ProtocolError(f"a stream event from {self.endpoint} is not JSON: {self._snippet(event)}") from None
        if not isinstance(obj, dict):
            raise ProtocolError(f"a stream event from {self.endpoint} is not an object: {self._snippet(event)}")
        if "error" in obj and not obj.get("choices"):
            # A provider that fails mid-stream says so in an event; its own code picks the class.
            err = obj["error"]
            code = err.get("code") if isinstance(err, dict) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            raise classify(status, obj, None, secrets=self._secrets.value, endpoint=f"{self.endpoint} (mid-stream)")
        return obj


class _Clock:
    """The clocks of one attempt (the first byte, the silence between two chunks, and the retry
    policy's bound `until`: the deadline or attempt timeout) as one timer; and the instants its
    latency is read from.

    `async with clock:` runs a block under it: when a clock runs out the block is cancelled and
    raises TimeoutError, as under asyncio.timeout, and `expired` says which ran out ("silence" or
    "bound"). The timer is lazy: a chunk only notes when it came, and a timer that goes off while
    the reply is still in time sets itself again for the new instant. So a reply costs one timer
    handle, not one per chunk (each asyncio reschedule makes a new one). Until the first byte it
    goes off at least every `idle`, so the first byte never has to pull it in."""

    __slots__ = ("loop", "time", "first_byte_timeout", "idle", "until", "sent", "last", "first_byte",
                 "first_token", "received", "task", "cancelling", "handle", "expired")

    def __init__(self, first_byte: float | None, idle: float | None, until: float | None = None,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = asyncio.get_running_loop() if loop is None else loop
        # Instants from time.monotonic, the clock asyncio's loop reads too; uvloop's loop.time()
        # counts whole milliseconds, too coarse for a latency. Timers still go on the loop.
        self.time = time.monotonic
        self.sent = self.last = self.time()
        self.first_byte_timeout, self.idle, self.until = first_byte, idle, until
        self.first_byte: float | None = None
        self.first_token: float | None = None
        self.received = 0
        self.handle: asyncio.TimerHandle | None = None
        self.expired: str | None = None

    def _due(self) -> float | None:
        """When the attempt ends if nothing more arrives."""
        if self.first_byte is None:
            due = None if self.first_byte_timeout is None else self.sent + self.first_byte_timeout
        else:
            due = None if self.idle is None else self.last + self.idle
        return _earlier(due, self.until)

    async def __aenter__(self) -> _Clock:
        task = asyncio.current_task(self.loop)
        assert task is not None, "a model call runs in a task"
        self.task, self.cancelling = task, task.cancelling()
        check = self._due()
        if self.idle is not None:
            check = _earlier(check, self.sent + self.idle)
        if check is not None:
            self.handle = self.loop.call_at(check, self._check)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: Any) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        # As asyncio.timeout: our cancellation becomes a TimeoutError unless someone else also
        # asked to cancel the task meanwhile, whose wish then goes on.
        if self.expired is not None and self.task.uncancel() <= self.cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc

    def _check(self) -> None:
        self.handle = None
        now = self.time()
        due = self._due()
        if due is None or due > now:  # still in time: look again when it may not be
            if self.first_byte is None and self.idle is not None:
                # Until the first byte, look at least every `idle`: the idle clock starts with
                # it, and a timer set later than that would notice a silence after it too late.
                due = _earlier(due, now + self.idle)
            if due is not None:
                self.handle = self.loop.call_at(due, self._check)
            return
        self.expired = "bound" if due == self.until else "silence"
        self.task.cancel()

    def tick(self, size: int) -> None:
        self.received += size
        self.last = now = self.time()
        if self.first_byte is None:
            self.first_byte = now

    def token(self) -> None:
        """The reply's first token (content, a tool call or reasoning) arrived."""
        if self.first_token is None:
            self.first_token = self.time()

    def latency(self, timings: Any) -> Latency:
        """Total, first token and, when the server sent llama.cpp-style `timings`, its prompt and
        generation time and the queue (the rest of the total)."""
        total = self.time() - self.sent
        first = None if self.first_token is None else self.first_token - self.sent
        prompt = generation = queue = None
        if isinstance(timings, dict):
            prompt, generation = _ms(timings.get("prompt_ms")), _ms(timings.get("predicted_ms"))
            if prompt is not None and generation is not None:
                queue = max(0.0, total - prompt - generation)
                if first is None:  # not streamed: generation began when the server's prompt time ended
                    first = max(0.0, total - generation)
        return Latency(total, first, queue, prompt, generation)


def _events(chunk: bytes, partial: list[bytes], data: list[bytes]) -> list[bytes]:
    """The events a piece of a stream completes, its lines split in C. The start of a line that the
    piece cuts waits in `partial` until its end arrives, and the data lines of an event that has not
    ended yet (no blank line after them) wait in `data`."""
    if partial:
        partial.append(chunk)
        chunk = b"".join(partial)
        partial.clear()
    lines = chunk.split(b"\n")
    tail = lines.pop()  # after the last newline: the start of the next line, or b""
    if tail:
        partial.append(tail)
    cr = chunk.find(b"\r") >= 0
    events = []
    for line in lines:
        if cr:
            line = line.rstrip(b"\r")
        if line:
            if line.startswith(b"data: "):  # the usual spelling: one slice, not two
                data.append(line[6:])
            elif line.startswith(b"data:"):
                data.append(line[5:])
            # other fields (event:, id:, retry:) and ":" comments carry nothing we need
            continue
        if data:  # a blank line ends an event
            events.append(data[0] if len(data) == 1 else b"\n".join(data))
            data.clear()
    return events


def _earlier(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None or a <= b else b


def _ms(value: Any) -> float | None:
    return value / 1000.0 if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


class _StreamAccumulator:
    """Builds one assistant message from chat.completion.chunk events (choice 0 only)."""

    __slots__ = ("on_delta", "content", "calls", "other", "finish_reason", "usage", "model", "events",
                 "max_calls", "endpoint", "clock", "timings")

    def __init__(self, on_delta: DeltaCallback | None, max_calls: int, endpoint: str, clock: _Clock) -> None:
        self.clock = clock
        self.timings: Any = None
        self.on_delta = on_delta
        self.max_calls, self.endpoint = max_calls, endpoint
        self.content: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.other: dict[str, list[str]] = {}  # e.g. reasoning_content, refusal
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.model: str | None = None
        self.events = 0

    def add(self, chunk: dict[str, Any]) -> None:
        # Runs once per event, and a server sends an event per token: `in` (no method call) for the keys
        # most events lack (usage, timings).
        self.events += 1
        if model := chunk.get("model"):
            self.model = model
        if "usage" in chunk and (usage := chunk["usage"]):  # with include_usage, the last chunk carries it
            self.usage = usage
        if "timings" in chunk and (timings := chunk["timings"]):  # llama.cpp's server, in the last chunk
            self.timings = timings
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if finish := choice.get("finish_reason"):
                self.finish_reason = finish
            delta = choice.get("delta")
            if not delta:
                continue
            for key, value in delta.items():
                if not value or key == "role":
                    continue
                clock = self.clock
                if clock.first_token is None:
                    clock.token()
                if key == "content":
                    self.content.append(value)
                    if self.on_delta is not None:
                        self.on_delta(value)
                elif key == "tool_calls":
                    for position, call in enumerate(value):
                        self._add_call(position, call)
                elif isinstance(value, str):
                    self.other.setdefault(key, []).append(value)

    def _add_call(self, position: int, delta: dict[str, Any]) -> None:
        # Deltas are keyed by `index`; a server that omits it is taken to list calls in order.
        index = delta.get("index", position)
        call = self.calls.get(index)
        if call is None:
            if len(self.calls) >= self.max_calls:  # stop reading now, not at the end of the runaway
                raise _too_many_calls(f"more than {self.max_calls}", self.max_calls, self.endpoint)
            call = self.calls[index] = {"id": None, "name": None, "arguments": []}
        if delta.get("id") and not call["id"]:
            call["id"] = delta["id"]
        fn = delta.get("function") or {}
        if fn.get("name") and not call["name"]:
            call["name"] = fn["name"]
        if fn.get("arguments"):
            call["arguments"].append(fn["arguments"])

    def response(self, model: str, latency: Latency, attempts: list[dict[str, Any]]) -> ModelResponse:
        message: dict[str, Any] = {"content": "".join(self.content) if self.content else None}
        if self.other:
            message.update({k: "".join(v) for k, v in self.other.items()})
        calls = [{"id": c["id"], "function": {"name": c["name"], "arguments": "".join(c["arguments"])}}
                 for _, c in sorted(self.calls.items())]
        return ModelResponse(message=_assistant(message, calls), finish_reason=self.finish_reason,
                             usage=_usage(self.usage), model=self.model or model, latency=latency,
                             attempts=attempts)


def _too_many_calls(count: str, limit: int, endpoint: str) -> TooManyToolCallsError:
    return TooManyToolCallsError(
        f"the reply from {endpoint} has {count} tool calls, over max_tool_calls={limit}; the call ends here. "
        f"If that many are expected, raise the cap (OpenAICompatible(..., max_tool_calls=N))",
        message_for_model=f"Your reply made {count} tool calls; make at most {limit} in one reply.")


def _assistant(message: dict[str, Any], tool_calls: Any) -> dict[str, Any]:
    """The neutral assistant message: role, content, tool_calls in OpenAI shape (arguments as
    JSON text), plus any other non-empty field the provider set (reasoning_content, refusal)."""
    out: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    calls = []
    for i, raw in enumerate(tool_calls or ()):
        if not isinstance(raw, dict):
            continue
        fn = raw.get("function") or {}
        args = fn.get("arguments")
        if args is None:
            args = ""
        elif not isinstance(args, str):  # some servers send an object instead of JSON text
            args = _json.dumps_str(args)
        calls.append({"id": raw.get("id") or f"call_{i}", "type": "function",
                      "function": {"name": fn.get("name") or "", "arguments": args}})
    if calls:
        out["tool_calls"] = calls
    for key, value in message.items():
        if key not in ("role", "content", "tool_calls") and value not in (None, "", [], {}):
            out[key] = value
    return out


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    inp = raw.get("prompt_tokens", raw.get("input_tokens"))
    out = raw.get("completion_tokens", raw.get("output_tokens"))
    return Usage(int(inp or 0), int(out or 0))
