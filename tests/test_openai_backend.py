"""OpenAICompatible against the fake OpenAI server on loopback: retries, timeouts, streaming, secrets."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
import traceback
from email.utils import formatdate

import pytest

from agentzoo.errors import (
    AuthenticationError,
    ProtocolError,
    ProviderConnectionError,
    ProviderTimeout,
    QuotaExceededError,
    RateLimitError,
    RealModelCallRefused,
)
from agentzoo.models.openai_compat import OpenAICompatible
from agentzoo.models.retry import RetryPolicy
from agentzoo.protocols import Model
from agentzoo.testing.fake_openai import FakeOpenAIServer, add_agent
from agentzoo.types import ModelRequest, Usage

KEY = "sk-test-SECRET123"
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02)
REQ = ModelRequest(messages=[{"role": "user", "content": "What is 2 + 2?"}])
OK = {"content": "4", "usage": {"prompt_tokens": 11, "completion_tokens": 1}}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("AGENTZOO_OFFLINE", "1")


def model(srv_or_url, **kw) -> OpenAICompatible:
    base_url = srv_or_url if isinstance(srv_or_url, str) else srv_or_url.base_url
    kw.setdefault("retry", FAST)
    return OpenAICompatible("fake-model", base_url=base_url, **kw)


# --- the happy path -------------------------------------------------------------------------


async def test_completion_and_request_body():
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    request = ModelRequest(messages=REQ.messages, tools=tools, temperature=0.0, max_tokens=5,
                           extra={"logprobs": True, "model": "ignored", "stream": True})
    with FakeOpenAIServer(OK) as srv:
        async with model(srv, stream=False) as m:
            assert isinstance(m, Model) and m.name == "fake-model"
            resp = await m.complete(request)
    assert resp.text == "4" and resp.tool_calls == []
    assert resp.message == {"role": "assistant", "content": "4"}
    assert resp.usage == Usage(11, 1) and resp.finish_reason == "stop" and resp.model == "fake-model"
    body = srv.requests[0]
    assert body["model"] == "fake-model" and body["messages"] == REQ.messages and body["tools"] == tools
    assert body["temperature"] == 0.0 and body["max_tokens"] == 5 and body["logprobs"] is True
    assert "extra" not in body and "stream" not in body  # the backend owns model and stream
    assert "Authorization" not in srv.headers[0]  # no key, no header


async def test_tool_calls_and_key_header():
    behaviour = {"tool_calls": [{"id": "c1", "name": "add", "arguments": {"a": 1, "b": 2}}]}
    with FakeOpenAIServer(behaviour) as srv:
        async with model(srv, api_key=KEY, headers={"X-Extra": "1"}, name="alias") as m:
            resp = await m.complete(REQ)
    assert m.name == "alias"
    assert [(c.id, c.name, c.arguments) for c in resp.tool_calls] == [("c1", "add", '{"a":1,"b":2}')]
    assert resp.finish_reason == "tool_calls"
    assert srv.headers[0]["Authorization"] == f"Bearer {KEY}" and srv.headers[0]["X-Extra"] == "1"


async def test_empty_response_is_returned_as_is():
    with FakeOpenAIServer({"content": None}) as srv:
        async with model(srv) as m:
            resp = await m.complete(REQ)
    assert resp.text == "" and resp.tool_calls == [] and srv.count == 1


def test_instance_serves_one_loop_after_another():
    async def call_and_close(m: OpenAICompatible) -> str:
        try:
            return (await m.complete(REQ)).text
        finally:
            await m.aclose()  # a session belongs to its loop: close it there

    with FakeOpenAIServer(OK) as srv:
        m = model(srv)
        assert asyncio.run(call_and_close(m)) == "4"
        assert asyncio.run(call_and_close(m)) == "4"  # a new loop gets a new session


# --- rate limits and retries ----------------------------------------------------------------


async def test_429_retry_after_seconds_is_honoured():
    with FakeOpenAIServer([{"status": 429, "headers": {"Retry-After": "0.2"}}, OK]) as srv:
        async with model(srv) as m:
            resp = await m.complete(REQ)
    assert resp.text == "4" and srv.count == 2
    assert srv.times[1] - srv.times[0] >= 0.2


async def test_429_retry_after_ms_is_honoured():
    with FakeOpenAIServer([{"status": 429, "headers": {"retry-after-ms": "200"}}, OK]) as srv:
        async with model(srv) as m:
            assert (await m.complete(REQ)).text == "4"
    assert srv.times[1] - srv.times[0] >= 0.2


async def test_429_retry_after_http_date_is_honoured():
    # HTTP-dates have whole seconds: aim at the next second at least 0.2 s away.
    target: list[float] = []
    arrivals: list[float] = []

    def script(body):
        now = time.time()
        arrivals.append(now)
        if not target:
            target.append(math.floor(now) + (1 if math.floor(now) + 1 - now >= 0.2 else 2))
            return {"status": 429, "headers": {"Retry-After": formatdate(target[0], usegmt=True)}}
        return OK

    with FakeOpenAIServer(script) as srv:
        async with model(srv) as m:
            assert (await m.complete(REQ)).text == "4"
    assert srv.count == 2
    assert arrivals[1] >= target[0] - 0.02  # waited for the date (small allowance for clock reads)


async def test_insufficient_quota_is_not_retried():
    quota = {"status": 429, "json": {"error": {"message": "You exceeded your current quota, please check your "
                                               "plan and billing details.", "type": "insufficient_quota",
                                               "code": "insufficient_quota"}}}
    with FakeOpenAIServer(quota) as srv:
        async with model(srv) as m:
            with pytest.raises(QuotaExceededError, match="HTTP 429.*exceeded your current quota"):
                await m.complete(REQ)
    assert srv.count == 1


async def test_429_without_quota_gives_up_as_rate_limit():
    with FakeOpenAIServer({"status": 429}) as srv:
        async with model(srv, retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as m:
            with pytest.raises(RateLimitError, match="gave up after 2 attempts"):
                await m.complete(REQ)
    assert srv.count == 2


async def test_500_and_503_are_retried_then_succeed():
    with FakeOpenAIServer([{"status": 500}, {"status": 503}, OK]) as srv:
        async with model(srv) as m:
            assert (await m.complete(REQ)).text == "4"
    assert srv.count == 3


async def test_401_never_shows_the_key():
    with FakeOpenAIServer({"status": 401, "echo_authorization": True}) as srv:
        m = model(srv, api_key=KEY)
        try:
            with pytest.raises(AuthenticationError) as info:
                await m.complete(REQ)
        finally:
            await m.aclose()
    assert srv.count == 1 and srv.headers[0]["Authorization"] == f"Bearer {KEY}"  # the server did get it
    exc = info.value
    shown = [str(exc), repr(exc), repr(m), str(vars(m)), "".join(traceback.format_exception(exc))]
    assert all("SECRET123" not in s for s in shown)
    assert "HTTP 401" in str(exc) and "Incorrect API key provided" in str(exc)


# --- the shared limiter ---------------------------------------------------------------------


async def test_shared_cool_down_prevents_a_storm():
    first = [True]

    def script(body):
        if first:
            first.pop()
            return {"status": 429, "headers": {"Retry-After": "0.3"}}
        return {"content": "ok", "delay": 0.05}

    with FakeOpenAIServer(script) as srv:
        async with model(srv, max_concurrency=4) as m:
            results = await asyncio.gather(*(m.complete(REQ) for _ in range(20)))
    assert [r.text for r in results] == ["ok"] * 20 and srv.count == 21
    t429 = srv.times[0]
    # Without the shared cool-down, each freed slot would send at once: ~18 requests here.
    during = [t for t in srv.times if t429 + 0.03 < t < t429 + 0.27]
    assert len(during) <= 1, [round(t - t429, 3) for t in srv.times]
    assert max(srv.times) - t429 >= 0.3


async def test_default_window_grows_past_the_old_fixed_cap():
    # 1,000 calls at once with the defaults: the window grows while the server answers promptly,
    # so more than the old fixed 64 are in flight at the server. (Client and server sockets
    # both live in this process, so it needs some 2,000 open files.)
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4096 and (hard == resource.RLIM_INFINITY or hard > soft):
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096 if hard == resource.RLIM_INFINITY else min(4096, hard), hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < 2600:
        pytest.skip(f"needs ~2,600 open files, the limit is {soft}")
    in_flight = peak = 0

    async def script(body):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.1)
        finally:
            in_flight -= 1
        return OK

    with FakeOpenAIServer(script, record=False, backlog=4096) as srv:
        async with OpenAICompatible("fake-model", base_url=srv.base_url) as m:
            results = await asyncio.gather(*(m.complete(REQ) for _ in range(1000)))
            window = m._limiter.window
    assert [r.text for r in results] == ["4"] * 1000
    assert peak > 64 and window > 64, (peak, window)


# --- timeouts and connection failures -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused_after_retries():
    port = _free_port()  # bound, then closed: nothing listens there
    async with model(f"http://127.0.0.1:{port}/v1", retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as m:
        with pytest.raises(ProviderConnectionError, match=r"cannot connect.*gave up after 2 attempts"):
            await m.complete(REQ)


async def test_connect_timeout():
    # A listener that never accepts, with its accept queue full: the kernel drops new SYNs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    await asyncio.sleep(0.05)
    try:
        async with model(f"http://127.0.0.1:{port}/v1", connect_timeout=0.2,
                         retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as m:
            start = time.monotonic()
            with pytest.raises(ProviderTimeout, match="connect timeout"):
                await m.complete(REQ)
            assert time.monotonic() - start < 2.0
    finally:
        for s in [*fillers, listener]:
            s.close()


async def test_server_that_never_answers_hits_the_first_byte_timeout_and_a_bounded_request_is_retried():
    bounded = ModelRequest(messages=REQ.messages, max_tokens=16)
    with FakeOpenAIServer({"hang": True}) as srv:
        async with model(srv, read_timeout=0.2, retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as m:
            start = time.monotonic()
            with pytest.raises(ProviderTimeout, match="first-byte timeout.*0.2 s") as info:
                await m.complete(bounded)
            assert 0.4 <= time.monotonic() - start < 2.0
    assert srv.count == 2
    assert [a["attempt"] for a in info.value.attempts] == [1, 2]
    assert all(a["error"]["type"] == "ProviderTimeout" for a in info.value.attempts)


async def test_an_unbounded_request_that_times_out_before_its_first_byte_is_not_run_again():
    # The same request would queue behind (or run) the same unbounded generation again: fail clearly.
    with FakeOpenAIServer({"hang": True}) as srv:
        async with model(srv, first_byte_timeout=0.2, retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as m:
            with pytest.raises(ProviderTimeout, match="not retried.*max-tokens") as info:
                await m.complete(REQ)
    assert srv.count == 1 and not info.value.retryable and len(info.value.attempts) == 1


async def test_server_that_never_answers_hits_the_deadline():
    with FakeOpenAIServer({"hang": True}) as srv:
        async with model(srv, read_timeout=30, deadline=0.3) as m:
            start = time.monotonic()
            with pytest.raises(ProviderTimeout, match="0.3 s deadline") as info:
                await m.complete(REQ)
            assert time.monotonic() - start < 1.5
    assert not info.value.retryable


@pytest.mark.parametrize("first_byte_timeout", [None, 30.0], ids=["no-first-byte-clock", "long-first-byte-clock"])
async def test_the_idle_clock_starts_with_a_first_byte_that_comes_after_idle(first_byte_timeout):
    # The first byte comes after longer than the idle timeout; then the stream stalls: a silence
    # of `idle` after it ends the call (not the first-byte clock, nor the end of the stream).
    late_then_stalled = {"sse": [_chunk({"content": "Once"})], "done": False, "chunk_delay": 5, "delay": 0.3}
    with FakeOpenAIServer(late_then_stalled) as srv:
        async with model(srv, first_byte_timeout=first_byte_timeout, idle_timeout=0.1,
                         retry=RetryPolicy(max_attempts=1)) as m:
            with pytest.raises(ProviderTimeout, match="idle timeout: .* sent nothing for 0.1 s in the middle"):
                await m.complete(REQ)


async def test_a_call_cancelled_mid_stream_is_cancelled_not_a_timeout_and_frees_its_slot():
    slow = {"content": "a long reply " * 50, "chunk_delay": 0.05}
    with FakeOpenAIServer([slow, OK]) as srv:
        async with model(srv, idle_timeout=0.2) as m:
            deltas: list[str] = []
            call = asyncio.create_task(m.complete(REQ, on_delta=deltas.append))
            while not deltas:
                await asyncio.sleep(0.01)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert m._limiter.in_flight() == 0
            assert (await m.complete(REQ)).text == "4"


# --- bad 200s -------------------------------------------------------------------------------


async def test_html_200_is_a_protocol_error():
    html = {"status": 200, "body": "<html><body>Please log in to the captive portal</body></html>",
            "content_type": "text/html"}
    with FakeOpenAIServer(html) as srv:
        async with model(srv) as m:
            with pytest.raises(ProtocolError, match=r"not JSON \(content-type text/html.*captive portal"):
                await m.complete(REQ)
    assert srv.count == 1


async def test_json_without_choices_is_a_protocol_error():
    with FakeOpenAIServer({"status": 200, "json": {"object": "list", "data": []}}) as srv:
        async with model(srv) as m:
            with pytest.raises(ProtocolError, match="no choices"):
                await m.complete(REQ)


# --- streaming ------------------------------------------------------------------------------


def _chunk(delta: dict, finish: str | None = None) -> dict:
    return {"id": "x", "object": "chat.completion.chunk", "model": "served-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


async def test_stream_accumulates_content_and_tool_call_deltas():
    sse = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Let me "}),
        _chunk({"content": "add."}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                "function": {"name": "add", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                "function": {"name": "mul", "arguments": '{"x"'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1,'}}]}),
        _chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": 3}"}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "b": 2}'}}]}),
        ": keep-alive comment\n\n",
        _chunk({}, "tool_calls"),
        {"id": "x", "object": "chat.completion.chunk", "choices": [],
         "usage": {"prompt_tokens": 20, "completion_tokens": 9}},
    ]
    deltas: list[str] = []
    with FakeOpenAIServer({"sse": sse}) as srv:
        async with model(srv, stream=True) as m:
            resp = await m.complete(REQ, on_delta=deltas.append)
    body = srv.requests[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert deltas == ["Let me ", "add."] and resp.text == "Let me add."
    assert [(c.id, c.name, c.arguments) for c in resp.tool_calls] == [
        ("call_a", "add", '{"a": 1, "b": 2}'), ("call_b", "mul", '{"x": 3}')]
    assert resp.finish_reason == "tool_calls" and resp.usage == Usage(20, 9) and resp.model == "served-model"


async def test_stream_framing_crlf_fields_multiline_data_and_lines_cut_between_reads():
    first = json.dumps(_chunk({"content": "Hello"}), separators=(",", ":"))
    cut = first.index(",") + 1  # a data field may go on over several lines: they join with "\n"
    last = "data: " + json.dumps(_chunk({"content": ", world"}, "stop"))
    sse = ["event: message\r\nid: 1\r\n", f"data:{first[:cut]}", f"\r\ndata: {first[cut:]}\r", "\n\r\n",
           ": a comment\r\n\r\n", last[:17], last[17:] + "\r\n\r\n", "data: [DONE]\r\n", "\r\n"]
    with FakeOpenAIServer({"sse": sse, "done": False, "chunk_delay": 0.005}) as srv:
        async with model(srv, stream=True) as m:
            resp = await m.complete(REQ)
    assert resp.text == "Hello, world" and resp.finish_reason == "stop" and srv.count == 1


def _read_pieces(pieces: list[bytes]):
    """The stream reader on a body given in these pieces, as the HTTP client hands them over."""
    from agentzoo.models.openai_compat import _Clock

    class Reader:
        def __init__(self) -> None:
            self.left = iter(pieces)

        async def read_chunk(self) -> bytes | None:
            return next(self.left, None)

    class Reply:
        body_reader = Reader()

    async def read():
        m = OpenAICompatible("m", base_url="http://127.0.0.1:9/v1")
        return await m._read_stream(Reply(), None, _Clock(None, None), None)

    return asyncio.run(read())


@pytest.mark.parametrize("cut", ["events", "whole", 1, 2, 7, 64, "random"])
def test_a_stream_reads_the_same_however_it_is_cut_into_pieces(cut):
    # Each event whole in a piece of its own is read by a shorter path than the others: every way of
    # cutting the same body must give the same reply, the events that span pieces or lines included.
    import random

    one = json.dumps(_chunk({"content": "Hel"}), separators=(",", ":"))
    at = one.index(",") + 1
    events = [f"data: {one[:at]}\ndata: {one[at:]}\n\n",  # one event, two data lines (joined by "\n")
              f"data:{json.dumps(_chunk({'content': 'lo'}))}\n\n", ": a comment\n\n",
              f"event: message\r\ndata: {json.dumps(_chunk({'content': ', '}))}\r\n\r\n",
              *[f"data: {json.dumps(_chunk({'content': w}))}\n\n" for w in ("wor", "ld")],
              f"data: {json.dumps(_chunk({}, 'stop'))}\n\n", "data: [DONE]\n\n"]
    body = "".join(events).encode()
    if cut == "events":
        pieces = [e.encode() for e in events]
    elif cut == "whole":
        pieces = [body]
    else:
        rng = random.Random(7)
        sizes = iter(lambda: rng.randint(1, 40), None) if cut == "random" else iter(lambda: cut, None)
        pieces, at = [], 0
        while at < len(body):
            size = next(sizes)
            pieces.append(body[at:at + size])
            at += size
    acc = _read_pieces(pieces)
    assert "".join(acc.content) == "Hello, world" and acc.finish_reason == "stop" and acc.events == 6


def test_a_data_line_waiting_for_its_blank_line_joins_the_next_piece_s_line():
    # "data: A\n" then "data: B\n\n": one event of two data lines, even though the second piece looks
    # like a whole event by itself.
    one = json.dumps(_chunk({"content": "joined"}))
    at = one.index(",") + 1
    acc = _read_pieces([f"data: {one[:at]}\n".encode(), f"data: {one[at:]}\n\n".encode(), b"data: [DONE]\n\n"])
    assert acc.content == ["joined"] and acc.events == 1
    # A piece that ends in the middle of a line (here a comment's) continues that line in the next one.
    event = f"data: {json.dumps(_chunk({'content': 'not an event'}))}\n\n".encode()
    acc = _read_pieces([b": keep-", event, f"data: {one}\n\n".encode(), b"data: [DONE]\n\n"])
    assert acc.content == ["joined"] and acc.events == 1


async def test_stream_and_plain_give_the_same_message():
    behaviour = {"content": "The answer is four, as it has always been.",
                 "tool_calls": [{"id": "c9", "name": "add", "arguments": {"a": 2, "b": 2}}]}
    with FakeOpenAIServer(behaviour) as srv:
        async with model(srv) as plain, model(srv, stream=True) as streamed:
            one, two = await plain.complete(REQ), await streamed.complete(REQ)
    assert one.message == two.message and one.finish_reason == two.finish_reason
    assert two.usage.output_tokens > 0


async def test_stream_cut_before_done_is_retried():
    with FakeOpenAIServer([{"content": "half an ans", "cut_before_done": True}, {"content": "whole answer"}]) as srv:
        async with model(srv, stream=True) as m:
            resp = await m.complete(REQ)
    assert resp.text == "whole answer" and srv.count == 2


@pytest.mark.parametrize("cut", [{"cut_before_done": True}, {"done": False}], ids=["dropped", "clean-eof"])
async def test_stream_always_cut_is_a_protocol_error_never_a_partial_answer(cut):
    with FakeOpenAIServer({"content": "partial", **cut}) as srv:
        async with model(srv, stream=True, retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as m:
            with pytest.raises(ProtocolError, match=r"stream ended before \[DONE\].*gave up after 3 attempts"):
                await m.complete(REQ)
    assert srv.count == 3


async def test_stream_error_event_is_classified():
    sse = [_chunk({"content": "x"}), {"error": {"message": "The server had an error", "type": "server_error"}}]
    with FakeOpenAIServer([{"sse": sse}, OK]) as srv:
        async with model(srv, stream=True) as m:
            assert (await m.complete(REQ)).text == "4"  # a 500-like mid-stream error is retried
    assert srv.count == 2


async def test_stream_request_answered_without_sse_is_accepted():
    with FakeOpenAIServer({"status": 200, "json": {"choices": [{"message": {"content": "plain"}}]}}) as srv:
        async with model(srv, stream=True) as m:
            assert (await m.complete(REQ)).text == "plain"


# --- offline guard and secrets --------------------------------------------------------------


async def test_offline_refuses_real_endpoints_without_connecting():
    m = OpenAICompatible("gpt-4o-mini", api_key=KEY)
    with pytest.raises(RealModelCallRefused, match="api.openai.com") as info:
        await m.complete(REQ)
    assert m._session is None  # no client, so no connection was ever attempted
    assert "SECRET123" not in str(info.value) and "SECRET123" not in repr(m)


@pytest.mark.parametrize("url", ["http://localhost:1/v1", "http://127.0.0.9:1/v1", "http://[::1]:1/v1"])
async def test_offline_allows_loopback(url):
    m = OpenAICompatible("m", base_url=url, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ProviderConnectionError):  # allowed through: it tries, and nothing listens
        await m.complete(REQ)
    await m.aclose()


def test_fake_server_add_agent_script():
    behave = add_agent(3)
    first = behave({"messages": [{"role": "user", "content": "go"}]})
    assert first["tool_calls"][0]["name"] == "add"
    done = behave({"messages": [{"role": "user"}, {"role": "assistant"}, {"role": "tool", "content": "2"},
                                {"role": "assistant"}, {"role": "tool", "content": "4"}]})
    assert done == {"content": "The answer is 4."}


async def test_an_untrusted_certificate_is_a_tls_error_that_is_not_retried(tmp_path):
    """HTTPS goes through the same transport; a certificate no CA vouches for fails at once."""
    import shutil
    import ssl
    import subprocess
    import threading

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    handshakes = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                handshakes.append("refused by the client")

    threading.Thread(target=serve, daemon=True).start()
    try:
        async with model(f"https://127.0.0.1:{listener.getsockname()[1]}/v1", api_key="sk-test-secret",
                         retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as m:
            with pytest.raises(ProviderConnectionError, match="TLS failure") as info:
                await m.complete(REQ)
        assert not info.value.retryable
        assert "certificate" in str(info.value) and "sk-test-secret" not in str(info.value)
        # The server thread records the refused handshake after the client has given up: wait for it.
        deadline = time.monotonic() + 5
        while not handshakes and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        listener.close()
    assert len(handshakes) == 1  # one attempt: a bad certificate does not heal by retrying
