"""The floor: a hand-written agent loop on raw asyncio streams (HTTP/1.1, keep-alive pool).

Not production code: no retries beyond one reconnect, no validation, minimal message list,
the tool runs inline. It is what one agent turn costs with nothing but the wire in between.
JSON with orjson when importable (as agentzoo uses it), else the stdlib json.
"""

import _common as C

SYNC = False

TOOLS = [{"type": "function", "function": {
    "name": "add", "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}]


def imports():
    global asyncio, dumps, loads, JSON_LIB
    import asyncio
    try:
        import orjson
        dumps, loads, JSON_LIB = orjson.dumps, orjson.loads, "orjson"
    except ImportError:
        import json
        loads, JSON_LIB = json.loads, "json"

        def dumps(v):
            return json.dumps(v, separators=(",", ":")).encode()


class Pool:
    """Keep-alive HTTP/1.1 connections to one host; one request per connection at a time."""

    def __init__(self, base_url: str) -> None:
        rest = base_url.split("://", 1)[1]
        hostport, _, prefix = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.host, self.port = host, int(port or 80)
        self.path = ("/" + prefix.rstrip("/") + "/chat/completions").replace("//", "/")
        self.head = (f"POST {self.path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
                     "Content-Length: ").encode()
        self.idle: list = []

    async def post(self, body: bytes) -> bytes:
        for attempt in (0, 1):
            if self.idle and attempt == 0:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
            try:
                writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
                head = await reader.readuntil(b"\r\n\r\n")
                i = head.lower().find(b"content-length:")
                n = int(head[i + 15:head.find(b"\r\n", i)])
                data = await reader.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if attempt:
                    raise
                continue
            self.idle.append((reader, writer))
            return data
        raise RuntimeError("unreachable")


def make_http(base_url: str, turns: int):
    pool = Pool(base_url)
    system, task = C.SYSTEM, C.task_text(turns)

    async def run_one():
        messages = [{"role": "system", "content": system}, {"role": "user", "content": task}]
        for _ in range(turns + 5):
            resp = loads(await pool.post(dumps({"model": C.MODEL, "messages": messages, "tools": TOOLS})))
            msg = resp["choices"][0]["message"]
            calls = msg.get("tool_calls")
            if not calls:
                return msg.get("content")
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            for c in calls:
                args = loads(c["function"]["arguments"])
                messages.append({"role": "tool", "tool_call_id": c["id"], "content": str(C.add(**args))})
        return None

    return run_one


def make_inproc(turns: int):
    system, task = C.SYSTEM, C.task_text(turns)

    async def model(messages):
        k = C.turns_done(messages)
        s = C.script(k, turns)
        if s[0] == "final":
            return {"role": "assistant", "content": s[1]}
        args = dumps({"a": s[2], "b": s[3]}).decode()
        return {"role": "assistant", "content": None,
                "tool_calls": [{"id": s[1], "type": "function", "function": {"name": "add", "arguments": args}}]}

    async def run_one():
        messages = [{"role": "system", "content": system}, {"role": "user", "content": task}]
        for _ in range(turns + 5):
            msg = await model(messages)
            calls = msg.get("tool_calls")
            if not calls:
                return msg.get("content")
            messages.append(msg)
            for c in calls:
                args = loads(c["function"]["arguments"])
                messages.append({"role": "tool", "tool_call_id": c["id"], "content": str(C.add(**args))})
        return None

    return run_one


if __name__ == "__main__":
    C.main(__import__(__name__))
