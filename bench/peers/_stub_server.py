"""A minimal, fast fake OpenAI-compatible chat-completions server for bench/agents.py.

    python bench/peers/_stub_server.py --port 0 --latency-ms 50 --turns 10

Prints its base_url (`http://127.0.0.1:PORT/v1`) as the first stdout line, then serves
`POST .../chat/completions` (plain JSON or SSE when `"stream": true`):

- for the first `turns - 1` assistant turns of a conversation (turn = number of assistant
  messages already in `messages`) it answers with one `add` tool call, arguments
  `{"a": 1+...+(k+1), "b": k+2}`, so that a model "adds the numbers 1..turns";
- on turn `turns` it answers with a final text (or, when the request offers a tool named
  `final_answer`, as smolagents' ToolCallingAgent requires, a call to that tool);
- `GET /_stats` returns `{"requests", "body_bytes"}` counted since start or `POST /_reset`.

It is a raw asyncio.Protocol HTTP/1.1 server (keep-alive, Content-Length or chunked bodies),
fast enough for 10,000 concurrent connections; it runs in its own process so its CPU is not
charged to the client being measured. Stand-in until/alongside agentzoo.testing.fake_openai.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

from _common import raise_nofile  # same folder: run as a script

try:
    import orjson

    def _dumps(v) -> bytes:
        return orjson.dumps(v)

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    import json

    def _dumps(v) -> bytes:
        return json.dumps(v, separators=(",", ":")).encode()

    _loads = json.loads

STATS = {"requests": 0, "body_bytes": 0}


def answer(body: dict, turns: int) -> tuple[dict, str]:
    """(assistant message, finish_reason) for this request."""
    messages = body.get("messages") or []
    k = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
    if k < turns - 1:
        a = (k + 1) * (k + 2) // 2
        args = '{"a": %d, "b": %d}' % (a, k + 2)
        call = {"id": f"call_{k}", "type": "function", "function": {"name": "add", "arguments": args}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    total = turns * (turns + 1) // 2
    names = {(t.get("function") or {}).get("name") for t in body.get("tools") or () if isinstance(t, dict)}
    if "final_answer" in names:
        call = {"id": f"call_{k}", "type": "function",
                "function": {"name": "final_answer", "arguments": '{"answer": "%d"}' % total}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    return {"role": "assistant", "content": f"The sum is {total}."}, "stop"


def completion(body: dict, raw_len: int, turns: int, counter: list[int]) -> tuple[bytes, str]:
    msg, finish = answer(body, turns)
    counter[0] += 1
    rid = f"chatcmpl-{counter[0]}"
    model = body.get("model") or "fake-model"
    usage = {"prompt_tokens": raw_len // 4, "completion_tokens": 10, "total_tokens": raw_len // 4 + 10}
    created = int(time.time())
    if not body.get("stream"):
        out = {"id": rid, "object": "chat.completion", "created": created, "model": model,
               "choices": [{"index": 0, "message": msg, "finish_reason": finish, "logprobs": None}],
               "usage": usage}
        return _dumps(out), "application/json"
    # SSE: one delta with everything, one with finish_reason, optionally usage, then [DONE].
    delta = {"role": "assistant", "content": msg.get("content")}
    if msg.get("tool_calls"):
        delta["tool_calls"] = [dict(c, index=i) for i, c in enumerate(msg["tool_calls"])]
    base = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
    chunks = [dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": None}]),
              dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}])]
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append(dict(base, choices=[], usage=usage))
    data = b"".join(b"data: " + _dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    return data, "text/event-stream"


class Http(asyncio.Protocol):
    def __init__(self, turns: int, latency: float, counter: list[int]) -> None:
        self.turns, self.latency, self.counter = turns, latency, counter
        self.buf = bytearray()
        self.busy = False
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        while not self.busy and self.transport is not None:
            req = self._parse()
            if req is None:
                return
            self._handle(*req)

    def _parse(self):
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(buf[:end]).decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, _ = lines[0].split(" ", 2)
        except ValueError:
            self._write(400, b"bad request", "text/plain", close=True)
            return None
        length, chunked, close = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        start = end + 4
        if chunked:
            body = bytearray()
            pos = start
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
                if size == 0:
                    tail = buf.find(b"\r\n", eol + 2)
                    if tail < 0:
                        return None
                    del buf[:tail + 2]
                    break
                if len(buf) < eol + 2 + size + 2:
                    return None
                body += buf[eol + 2:eol + 2 + size]
                pos = eol + 2 + size + 2
            body = bytes(body)
        else:
            if len(buf) < start + length:
                return None
            body = bytes(buf[start:start + length])
            del buf[:start + length]
        return method, target, body, close

    def _handle(self, method: str, target: str, body: bytes, close: bool) -> None:
        path = target.split("?", 1)[0]
        if method == "POST" and path.endswith("/chat/completions"):
            STATS["requests"] += 1
            STATS["body_bytes"] += len(body)
            try:
                data = _loads(body)
            except Exception:
                self._write(400, b'{"error":{"message":"bad json"}}', "application/json", close)
                return
            payload, ctype = completion(data, len(body), self.turns, self.counter)
            if self.latency > 0:
                self.busy = True
                self.loop.call_later(self.latency, self._delayed, payload, ctype, close)
            else:
                self._write(200, payload, ctype, close)
        elif path == "/_stats":
            self._write(200, _dumps(STATS), "application/json", close)
        elif path == "/_reset":
            STATS["requests"] = STATS["body_bytes"] = 0
            self._write(200, _dumps(STATS), "application/json", close)
        elif path.endswith("/models"):
            self._write(200, _dumps({"object": "list", "data": [{"id": "fake-model", "object": "model"}]}),
                        "application/json", close)
        else:
            self._write(404, b'{"error":{"message":"not found"}}', "application/json", close)

    def _delayed(self, payload: bytes, ctype: str, close: bool) -> None:
        self.busy = False
        self._write(200, payload, ctype, close)
        if self.buf:
            self._next()

    def _write(self, status: int, payload: bytes, ctype: str, close: bool) -> None:
        t = self.transport
        if t is None:
            return
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n").encode()
        t.write(head + payload)
        if close:
            t.close()


async def serve(host: str, port: int, latency_ms: float, turns: int) -> None:
    loop = asyncio.get_running_loop()
    counter = [0]
    server = await loop.create_server(lambda: Http(turns, latency_ms / 1000.0, counter), host, port,
                                      backlog=16384, reuse_address=True)
    real_port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"http://{host}:{real_port}/v1\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--turns", type=int, default=10)
    a = p.parse_args()
    raise_nofile()
    asyncio.run(serve(a.host, a.port, a.latency_ms, a.turns))


if __name__ == "__main__":
    main()
