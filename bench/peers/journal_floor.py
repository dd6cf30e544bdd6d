"""The journal floor: the library floor's loop plus the least a durable journal must do.

What agentzoo promises about its journal, done by hand with nothing else: every effect (each model
call, each tool call) becomes a row in an SQLite file (WAL, synchronous=NORMAL, as agentzoo opens
its own), holding its request as stored (a model request as its new messages only, so a step costs
the same at any run length), a SHA-256 over the request chain (what replay compares), and its
result. A model call over HTTP touches the world, so its result is not used before the transaction
that holds its row has committed (a `kill -9` never loses a completed effect); the rows of the
effects that finish in one turn of the event loop share that transaction (group commit). A tool
computed in the process (`add`) and the in-process script are local: their rows wait for the next
commit, as agentzoo's `touches=()` tools and `local=True` models do. A run has a row, written with
its first commit, and is closed with a committed status.

No retry, limiter, timeout, streaming, validation, secrets masking, budget or accounting: so this
floor against the library floor is what durability alone costs, and agentzoo against this floor is
everything else the framework does per step. HTTP rows with library_floor.py's client (`Poster`), the
in-process rows with floor.py's script. Runs in agentzoo's own venv.
"""

import _common as C
import library_floor as L

SYNC = False


def imports():
    global asyncio, hashlib, os, sqlite3, tempfile, time, dumps, loads
    L.imports()  # the library floor's client (`Poster`), on pyreqwest
    import asyncio
    import hashlib
    import os
    import sqlite3
    import tempfile
    import time

    from orjson import dumps, loads


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, status TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL,
    kind TEXT NOT NULL, request TEXT NOT NULL, request_hash TEXT NOT NULL, result TEXT,
    UNIQUE (run_id, seq));
"""
_RUN = "INSERT INTO runs VALUES (?, ?, ?)"
_FINISH = "UPDATE runs SET status=?, updated_at=? WHERE run_id=?"
_ENTRY = "INSERT INTO entries (run_id, seq, kind, request, request_hash, result) VALUES (?,?,?,?,?,?)"

_DIRS: list = []


class Journal:
    """Rows wait in memory; `committed()` is a future done once a transaction holds every row put so
    far, and every caller in one loop turn shares that transaction."""

    def __init__(self) -> None:
        d = tempfile.mkdtemp(prefix="bench-journal-floor-")
        _DIRS.append(d)
        self.db = sqlite3.connect(os.path.join(d, "journal.db"), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.runs: list = []
        self.finished: list = []
        self.rows: list = []
        self.waiters: list | None = None

    def committed(self):
        future = asyncio.get_running_loop().create_future()
        if self.waiters is None:
            self.waiters = [future]
            asyncio.get_running_loop().call_soon(self._commit)
        else:
            self.waiters.append(future)
        return future

    def _commit(self) -> None:
        waiters, self.waiters = self.waiters, None
        runs, rows, finished = self.runs, self.rows, self.finished
        self.runs, self.rows, self.finished = [], [], []
        db = self.db
        db.execute("BEGIN")
        if runs:
            db.executemany(_RUN, runs)
        if rows:
            db.executemany(_ENTRY, rows)
        if finished:
            db.executemany(_FINISH, finished)
        db.execute("COMMIT")
        for future in waiters:
            future.set_result(None)


class Run:
    """One run's place in the journal: its id, its next seq, the hash chain and how many messages
    its last model request had (the next one stores only those after)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.run_id = os.urandom(8).hex()
        self.seq = 0
        self.chain = b""
        self.sent = 0
        journal.runs.append((self.run_id, "running", time.time()))

    def model_request(self, messages: list, tools_hash: str) -> None:
        new = dumps(messages[self.sent:])
        self.sent = len(messages)
        self.chain = hashlib.sha256(self.chain + new).digest()
        self._row("model", new, self.chain.hex() + tools_hash)

    def _row(self, kind: str, request: bytes, digest: str) -> None:
        self.pending = [self.run_id, self.seq, kind, request.decode(), digest, None]
        self.seq += 1

    def result(self, result: bytes) -> None:
        self.pending[5] = result.decode()
        self.journal.rows.append(tuple(self.pending))

    def tool(self, name: str, arguments: str, result: str) -> None:
        request = dumps({"name": name, "arguments": arguments})
        self._row("tool", request, hashlib.sha256(request).hexdigest())
        self.result(dumps(result))

    async def finish(self) -> None:
        self.journal.finished.append(("finished", time.time(), self.run_id))
        await self.journal.committed()


def cleanup():
    import shutil

    for d in _DIRS:
        shutil.rmtree(d, ignore_errors=True)


def _loop(journal: Journal, turns: int, model):
    system, task = C.SYSTEM, C.task_text(turns)
    tools_hash = hashlib.sha256(dumps(L.TOOLS)).hexdigest()[:16]

    async def run_one():
        run = Run(journal)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": task}]
        for _ in range(turns + 5):
            run.model_request(messages, tools_hash)
            msg = await model(messages, run)
            calls = msg.get("tool_calls")
            if not calls:
                await run.finish()
                return msg.get("content")
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            for c in calls:
                fn = c["function"]
                result = str(C.add(**loads(fn["arguments"])))
                run.tool(fn["name"], fn["arguments"], result)
                messages.append({"role": "tool", "tool_call_id": c["id"], "content": result})
        return None

    return run_one


def make_http(base_url: str, turns: int):
    poster = L.Poster(base_url)
    journal = Journal()

    async def model(messages, run):
        msg = loads(await poster.post(dumps({"model": C.MODEL, "messages": messages, "tools": L.TOOLS})))
        msg = msg["choices"][0]["message"]
        run.result(dumps(msg))
        await journal.committed()  # a non-local effect: its result is used only once it is durable
        return msg

    return _loop(journal, turns, model)


def make_inproc(turns: int):
    journal = Journal()

    async def model(messages, run):
        k = C.turns_done(messages)
        s = C.script(k, turns)
        if s[0] == "final":
            msg = {"role": "assistant", "content": s[1]}
        else:
            args = dumps({"a": s[2], "b": s[3]}).decode()
            msg = {"role": "assistant", "content": None,
                   "tool_calls": [{"id": s[1], "type": "function", "function": {"name": "add", "arguments": args}}]}
        run.result(dumps(msg))  # local: committed with the run's end
        return msg

    return _loop(journal, turns, model)


if __name__ == "__main__":
    C.main(__import__(__name__))
