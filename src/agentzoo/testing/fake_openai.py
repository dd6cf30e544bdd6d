"""A fake OpenAI-compatible chat-completions server, for tests and benchmarks.

It listens on 127.0.0.1 (an ephemeral port by default) and answers `POST …/chat/completions`
from a *script*: one behaviour, a list of behaviours consumed in order (the last one repeating
if `repeat_last`), or a callable `fn(request_body) -> behaviour`. A behaviour is a dict:

    {"content": "hi", "tool_calls": [{"name": "add", "arguments": {"a": 1}}],
     "usage": {"prompt_tokens": 3, "completion_tokens": 1}, "finish_reason": "stop"}
                                        a completion; streamed as SSE if the request asks
    {"status": 429, "json": {...}, "headers": {"Retry-After": "1"}}   an error response
    {"status": 401, "echo_authorization": true}   error whose message repeats the Authorization header
    {"status": 200, "body": "<html>…", "content_type": "text/html"}  a raw body
    {"hang": true}                      accept the request and never answer
    {"delay": 0.5, ...}                 wait before answering (added to the server's latency)
    {"sse": [chunk, ...], "cut_before_done": true, "done": true, "chunk_delay": 0.01}
                                        an explicit SSE stream: dict chunks are sent as
                                        `data: <json>`, strings as they are; then `data: [DONE]`
                                        unless `done` is false (clean end without it) or
                                        `cut_before_done` (the connection is dropped)
    `cut_before_done` also works on a streamed completion.
    {"hold_after_done": 5.0, ...}       a streamed reply's body ends that long after `[DONE]`

Like a real server (`queue`, `prompt_delay` and `chunk_delay` on a completion):

    {"queue": 0.5, ...}                 wait as a one-slot server does while another request runs
    {"prompt_delay": 0.05, ...}         then "read the prompt" before the first token
    {"chunk_delay": 0.01, ...}          "generate": a pause per streamed event; not streamed, the
                                        reply comes whole after all those pauses
    {"timings": true, ...}              report llama.cpp-style `timings` (prompt_ms, predicted_ms:
                                        the prompt delay and the time spent generating), in the
                                        body or the stream's last chunk
    `text_tool_call(name, arguments)` is a reply that writes a tool call as fenced JSON text
    instead of calling it, as models without native tool calling do.

`POST …/embeddings` answers every input with a vector made from the text's SHA-256 (8 numbers,
or the request's `dimensions`): the same text always gets the same vector. Its request bodies
are kept in `embedding_requests`, apart from the chat script.

In-process (a background thread with its own loop):

    with FakeOpenAIServer([{"status": 500}, {"content": "ok"}]) as srv:
        model = OpenAICompatible("m", base_url=srv.base_url)
        ...; assert srv.count == 2; srv.requests[0]["messages"]

or `async with FakeOpenAIServer(...)` to serve from the running loop. As a process:

    python -m agentzoo.testing.fake_openai --port 0 --latency-ms 50 [--script FILE | --turns N]

prints its base_url as the first line of stdout. Without a script it plays the "add agent":
a tool call `add(a, b)` on each of the first N-1 turns of a conversation, a final answer on turn N.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from aiohttp import web
except ImportError as exc:  # the server is the one part of agentzoo that needs aiohttp
    raise ImportError("agentzoo.testing.fake_openai needs aiohttp: pip install 'agentzoo[testing]'") from exc

from .. import _json

Behaviour = dict[str, Any]
Script = Behaviour | list[Behaviour] | Callable[[dict[str, Any]], Any]

_EXHAUSTED = {"status": 400, "json": {"error": {"message": "fake_openai: script exhausted",
                                                "type": "invalid_request_error", "code": "fake_script_exhausted"}}}


def text_tool_call(name: str, arguments: dict[str, Any], *, fenced: bool = True) -> Behaviour:
    """A reply whose text holds a tool call as JSON (```json fenced, or bare) and no `tool_calls`."""
    call = _json.dumps_str({"name": name, "arguments": arguments})
    return {"content": f"```json\n{call}\n```" if fenced else call}


def add_agent(turns: int) -> Callable[[dict[str, Any]], Behaviour]:
    """The benchmark conversation: `add(turn, turn)` tool calls until turn `turns`, then an answer.

    The turn is read from the request (its assistant messages), so one server serves any
    number of concurrent conversations without state.
    """

    def behave(body: dict[str, Any]) -> Behaviour:
        messages = body.get("messages") or []
        turn = 1 + sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
        if turn < turns:
            return {"tool_calls": [{"id": f"call_{turn}", "name": "add", "arguments": {"a": turn, "b": turn}}]}
        last = next((m.get("content") for m in reversed(messages)
                     if isinstance(m, dict) and m.get("role") == "tool"), None)
        return {"content": f"The answer is {last}." if last is not None else "Hello from fake_openai."}

    return behave


class FakeOpenAIServer:
    """See the module docstring. `requests`, `headers`, `times` (time.monotonic() at arrival)
    and `peers` (the client's address and port, so the connections used) are recorded per
    request unless `record=False` (long benchmarks)."""

    def __init__(self, script: Script | None = None, *, repeat_last: bool | None = None, latency_ms: float = 0.0,
                 host: str = "127.0.0.1", port: int = 0, backlog: int = 16384, record: bool = True,
                 chunk_size: int = 8) -> None:
        if script is None:
            script = add_agent(1)
        self._script = script
        # A single behaviour or a callable always applies; a list is consumed once unless told.
        self._repeat_last = repeat_last if repeat_last is not None else not isinstance(script, list)
        self.latency = latency_ms / 1000.0
        self.host, self.port, self.backlog = host, port, backlog
        self.record = record
        self.chunk_size = max(1, chunk_size)
        self.requests: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []
        self.peers: list[Any] = []  # the client's (address, port) per request: one port per connection
        self.count = 0
        self.embedding_requests: list[Any] = []
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # --- lifecycle --------------------------------------------------------------------------

    async def start_async(self) -> None:
        """Serve from the running loop."""
        self._stopping = asyncio.Event()
        # No access log and a large body limit; backlog raised for thousands of simultaneous connects.
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/chat/completions", self._handle)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(self.backlog)
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, backlog=self.backlog).start()

    async def stop_async(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # releases `hang` handlers so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAIServer:
        await self.start_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_async()

    def start(self) -> FakeOpenAIServer:
        """Serve from a background thread with its own event loop."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop_async())
                loop.close()

        self._thread = threading.Thread(target=main, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        if self._stopping is not None:
            loop.call_soon_threadsafe(self._stopping.set)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- requests ---------------------------------------------------------------------------

    def _next_behaviour(self, index: int, body: Any) -> Any:
        script = self._script
        if isinstance(script, list):
            if index < len(script):
                return script[index]
            return script[-1] if self._repeat_last and script else _EXHAUSTED
        if callable(script):
            return script(body)
        return script

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        index = self.count
        self.count += 1
        try:
            body = _json.loads(raw)
        except ValueError:
            body = None
        if self.record:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            self.times.append(time.monotonic())
            self.peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        if not isinstance(body, dict):
            return _error(400, "fake_openai: request body is not a JSON object")
        behaviour = self._next_behaviour(index, body)
        if inspect.isawaitable(behaviour):
            behaviour = await behaviour
        delay = self.latency + float(behaviour.get("delay", 0.0)) + float(behaviour.get("queue", 0.0))
        if delay > 0:
            await asyncio.sleep(delay)
        if (prompt := float(behaviour.get("prompt_delay", 0.0))) > 0:
            await asyncio.sleep(prompt)
        if behaviour.get("hang"):
            assert self._stopping is not None
            await self._stopping.wait()
            return _error(503, "fake_openai: shutting down")
        if "sse" in behaviour:
            return await self._stream(request, [_sse_event(c) for c in behaviour["sse"]], behaviour)
        status = int(behaviour.get("status", 200))
        if status != 200 or "body" in behaviour or "json" in behaviour:
            return self._raw(request, status, behaviour)
        completion = _completion(body, behaviour, index, len(raw))
        if body.get("stream"):
            chunks = self._chunks(completion, body)
            if behaviour.get("timings"):  # computed as the last event goes out
                chunks.append(lambda: _sse_event({"choices": [], "timings": _timings(behaviour, generating)}))
            generating = time.monotonic()
            return await self._stream(request, chunks, behaviour)
        generating = time.monotonic()
        if (pause := float(behaviour.get("chunk_delay", 0.0))) > 0:  # generated whole, then sent
            await asyncio.sleep(pause * len(self._chunks(completion, body)))
        if behaviour.get("timings"):
            completion["timings"] = _timings(behaviour, generating)
        return web.Response(body=_json.dumps(completion), content_type="application/json")

    async def _embeddings(self, request: web.Request) -> web.Response:
        try:
            body = _json.loads(await request.read())
        except ValueError:
            body = None
        self.embedding_requests.append(body)
        texts = body.get("input") if isinstance(body, dict) else None
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(400, "fake_openai: input must be a string or a list of strings")
        size = int(body.get("dimensions") or 8)
        data = [{"object": "embedding", "index": i, "embedding": _hash_vector(t, size)} for i, t in enumerate(texts)]
        tokens = sum(len(t.split()) for t in texts)
        reply = {"object": "list", "data": data, "model": body.get("model", "fake"),
                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return web.Response(body=_json.dumps(reply), content_type="application/json")

    def _raw(self, request: web.Request, status: int, behaviour: Behaviour) -> web.Response:
        headers = dict(behaviour.get("headers") or {})
        if "body" in behaviour:
            return web.Response(status=status, text=str(behaviour["body"]), headers=headers,
                                content_type=behaviour.get("content_type", "text/plain"))
        payload = behaviour.get("json")
        if payload is None:
            payload = {"error": {"message": f"fake_openai: status {status}", "type": "fake_error", "code": None}}
        if behaviour.get("echo_authorization"):
            auth = request.headers.get("Authorization", "(none)")
            payload = {"error": {"message": f"Incorrect API key provided: {auth}; request had "
                                            f"Authorization: {auth}", "type": "invalid_request_error",
                                 "code": "invalid_api_key"}}
        return web.Response(status=status, body=_json.dumps(payload), headers=headers,
                            content_type="application/json")

    def _chunks(self, completion: dict[str, Any], body: dict[str, Any]) -> list[bytes]:
        """A completion as OpenAI streams it: role, content pieces, tool-call pieces, finish, usage."""
        base = {"id": completion["id"], "object": "chat.completion.chunk", "created": completion["created"],
                "model": completion["model"]}
        choice = completion["choices"][0]
        message = choice["message"]

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return _sse_event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        out = [chunk({"role": "assistant", "content": ""})]
        text = message.get("content") or ""
        n = self.chunk_size
        out += [chunk({"content": text[i:i + n]}) for i in range(0, len(text), n)]
        for i, call in enumerate(message.get("tool_calls") or ()):
            fn = call["function"]
            out.append(chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                              "function": {"name": fn["name"], "arguments": ""}}]}))
            args = fn["arguments"]
            out += [chunk({"tool_calls": [{"index": i, "function": {"arguments": args[j:j + n]}}]})
                    for j in range(0, len(args), n)]
        out.append(chunk({}, choice["finish_reason"]))
        if (body.get("stream_options") or {}).get("include_usage"):
            out.append(_sse_event({**base, "choices": [], "usage": completion["usage"]}))
        return out

    async def _stream(self, request: web.Request, events: list[bytes], behaviour: Behaviour) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        cut = bool(behaviour.get("cut_before_done"))
        if not cut and behaviour.get("done", True):
            events = [*events, b"data: [DONE]\n\n"]
        pause = float(behaviour.get("chunk_delay", 0.0))
        if pause > 0 or any(callable(e) for e in events):
            for event in events:
                await resp.write(event() if callable(event) else event)
                if pause > 0:
                    await asyncio.sleep(pause)
        else:
            await resp.write(b"".join(events))  # one write: the cheap path for benchmarks
        if cut:
            # Drop the connection mid-body: the client sees the chunked body end without its
            # terminator, as when a proxy or the provider dies mid-stream.
            if request.transport is not None:
                request.transport.close()
            return resp
        if (hold := float(behaviour.get("hold_after_done", 0.0))) > 0:
            await asyncio.sleep(hold)
        await resp.write_eof()
        return resp


def _hash_vector(text: str, size: int) -> list[float]:
    """A fixed vector for a text: SHA-256 bytes (repeated as needed) scaled into [-1, 1]."""
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [digest[i % len(digest)] / 127.5 - 1.0 for i in range(size)]


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, body=_json.dumps({"error": {"message": message, "type": "fake_error"}}),
                        content_type="application/json")


def _timings(behaviour: Behaviour, generating: float) -> dict[str, float]:
    return {"prompt_ms": float(behaviour.get("prompt_delay", 0.0)) * 1000.0,
            "predicted_ms": (time.monotonic() - generating) * 1000.0}


def _sse_event(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode()
    return b"data: " + _json.dumps(chunk) + b"\n\n"


def _completion(body: dict[str, Any], behaviour: Behaviour, index: int, request_bytes: int) -> dict[str, Any]:
    content = behaviour.get("content")
    calls: list[dict[str, Any]] = []
    for i, call in enumerate(behaviour.get("tool_calls") or ()):
        args = call.get("arguments", "{}")
        calls.append({"id": call.get("id") or f"call_{index}_{i}", "type": "function",
                      "function": {"name": call["name"],
                                   "arguments": args if isinstance(args, str) else _json.dumps_str(args)}})
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    # A rough token count (4 bytes a token) so that usage accounting has something to sum.
    usage = behaviour.get("usage") or {
        "prompt_tokens": request_bytes // 4,
        "completion_tokens": (len(content or "") + sum(len(c["function"]["arguments"]) for c in calls)) // 4 + 1,
    }
    usage = {**usage, "total_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)}
    return {
        "id": f"chatcmpl-fake-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": behaviour.get("model") or body.get("model") or "fake",
        "choices": [{"index": 0, "message": message,
                     "finish_reason": behaviour.get("finish_reason") or ("tool_calls" if calls else "stop")}],
        "usage": usage,
    }


# --- command line ---------------------------------------------------------------------------


def _raise_fd_limit() -> None:
    # Thousands of concurrent connections need thousands of file descriptors.
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
    except (ImportError, ValueError, OSError):
        pass


async def _serve(args: argparse.Namespace) -> None:
    script: Script
    if args.script:
        script = _json.loads(Path(args.script).read_bytes())
    else:
        script = add_agent(args.turns)
    server = FakeOpenAIServer(script, repeat_last=args.repeat_last, latency_ms=args.latency_ms, host=args.host,
                              port=args.port, record=False)
    await server.start_async()
    print(server.base_url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await stop.wait()
    finally:
        await server.stop_async()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agentzoo.testing.fake_openai", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before every answer")
    parser.add_argument("--script", help="JSON file: one behaviour or a list of behaviours")
    parser.add_argument("--turns", type=int, default=1, help="add-agent turns per conversation (without --script)")
    parser.add_argument("--repeat-last", action=argparse.BooleanOptionalAction, default=None,
                        help="repeat the script's last behaviour (default: yes for a single behaviour)")
    args = parser.parse_args(argv)
    _raise_fd_limit()
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
