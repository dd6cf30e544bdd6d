"""The library floor: floor.py's minimal agent loop on agentzoo's HTTP client library (pyreqwest).

Same loop, messages, tool and JSON library (orjson) as the raw floor (bench/peers/floor.py); only
the wire differs: one pyreqwest client per event loop, built as agentzoo builds its own
(`models/openai_compat.py`: no connection cap, no proxies from the environment, no redirects,
no automatic status errors), one non-streamed POST per turn. No framework: no retry, limiter,
timeouts, validation or journal. So agentzoo's distance to this floor is what agentzoo itself
costs on top of the library it chose, and this floor's distance to the raw one is what the library
costs on top of hand-written HTTP/1.1. Runs in agentzoo's own venv (where pyreqwest is installed).
agentzoo streams replies by default (SSE); this floor asks for plain JSON, as the raw floor does.
"""

import _common as C

SYNC = False

TOOLS = [{"type": "function", "function": {
    "name": "add", "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}]
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def imports():
    global asyncio, dumps, loads, ClientBuilder
    import asyncio

    from orjson import dumps, loads
    from pyreqwest.client import ClientBuilder


class Poster:
    """POSTs to one URL with a pyreqwest client bound to the running loop (made on first use, as
    agentzoo makes its own: a client's pooled connections belong to the loop that made them)."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.client = None
        self.loop = None

    async def post(self, body: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        if self.client is None or self.loop is not loop:
            self.client = (ClientBuilder().max_connections(None).follow_redirects(False).error_for_status(False)
                           .no_proxy().build())
            self.loop = loop
        resp = await self.client.post(self.url).headers(HEADERS).body_bytes(body).build().send()
        data = bytes(await resp.bytes())
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
        return data


def make_http(base_url: str, turns: int):
    poster = Poster(base_url)
    system, task = C.SYSTEM, C.task_text(turns)

    async def run_one():
        messages = [{"role": "system", "content": system}, {"role": "user", "content": task}]
        for _ in range(turns + 5):
            resp = loads(await poster.post(dumps({"model": C.MODEL, "messages": messages, "tools": TOOLS})))
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
    raise NotImplementedError("the library floor is an HTTP floor; in-process, see floor.py")


if __name__ == "__main__":
    C.main(__import__(__name__))
