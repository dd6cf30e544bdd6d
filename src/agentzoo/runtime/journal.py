"""The embedded journal store: SQLite in WAL mode, JSON only.

Crash safety comes from SQLite itself: in WAL mode a transaction is in the log once its
commit returns, so a `kill -9` at any moment leaves every committed entry readable and the
file consistent. `synchronous=NORMAL` skips the fsync per commit: that protects against a
process crash, which is what we promise; a power cut may lose the last few commits but never
corrupts.

When entries are committed is the caller's choice (`put(..., commit=)`): the gateway commits
an effect as soon as it completes, except a *local* one (computed inside this process, with
nothing outside it touched: a scripted model, a tool declared pure). Those wait in memory and
go in with the next commit (the next non-local effect, a run's status change, any read).
A crash can lose only such entries, and resume computes them again, at no cost and with no
effect outside the process. Batching them is what keeps a run of in-process effects from
paying a commit (~20 µs) per effect.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import _json
from ..errors import JournalError, RunNotFoundError
from ..types import Usage
from .entry import SCHEMA_VERSION, Entry, RunInfo

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    task TEXT,
    config TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    parent_id TEXT,
    fork_point TEXT,
    answer TEXT,
    error TEXT,
    schema_version INTEGER NOT NULL,
    agentzoo_version TEXT NOT NULL,
    label TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    request TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT,
    status TEXT NOT NULL,
    error TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    side_effects INTEGER NOT NULL,
    UNIQUE (run_id, scope, seq)
);
"""

_ENTRY_COLUMNS = ("run_id, scope, seq, kind, name, request, request_hash, result, status, error, "
                  "input_tokens, output_tokens, cost_usd, started_at, ended_at, side_effects")
# An upsert keeps the row id (and so the order of entries) when a `started` or `error` entry
# is completed later by resume.
_PUT = (f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (run_id, scope, seq) DO UPDATE SET kind=excluded.kind, name=excluded.name, "
        "request=excluded.request, request_hash=excluded.request_hash, result=excluded.result, "
        "status=excluded.status, error=excluded.error, input_tokens=excluded.input_tokens, "
        "output_tokens=excluded.output_tokens, cost_usd=excluded.cost_usd, "
        "started_at=excluded.started_at, ended_at=excluded.ended_at, side_effects=excluded.side_effects")


def new_run_id() -> str:
    """Time-sortable and unique: `20261124-194512-a1b2c3d4e5f6`. 48 random bits, because an eval
    starts thousands of runs within one second (24 bits collided at 10,000)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + os.urandom(6).hex()


def default_journal_path() -> Path:
    """`$AGENTZOO_JOURNAL`, else `.agentzoo/journal.db` under the current directory."""
    return Path(os.environ.get("AGENTZOO_JOURNAL") or Path(".agentzoo") / "journal.db")


class Journal:
    """A SQLite journal file holding many runs. One instance per process and file."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: autocommit, one transaction per statement.
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")  # other processes (eval workers) may write too
            self._db.executescript(_SCHEMA)
            self._check_schema_version()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        self._pending: list[tuple[Any, ...]] = []
        """Rows of entries put with `commit=False`, not yet in the database."""
        self._lock = threading.Lock()

    def _check_schema_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise JournalError(f"journal {self.path} has schema version {row[0]}; this agentzoo reads "
                               f"up to {SCHEMA_VERSION}: upgrade agentzoo")

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, info: RunInfo) -> None:
        """Add a run row; an id already in the journal is a `JournalError` naming it."""
        info.updated_at = info.updated_at or info.created_at
        try:
            self._insert_run(info)
        except sqlite3.IntegrityError:
            raise JournalError(f"journal {self.path} already has a run {info.run_id!r}") from None

    def _insert_run(self, info: RunInfo) -> None:
        self._write(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (info.run_id, info.created_at, info.updated_at, info.status, info.task,
             _json.dumps_str(info.config), info.config_hash, info.parent_id,
             _opt_json(info.fork_point), info.answer, _opt_json(info.error), info.schema_version,
             info.agentzoo_version, info.label),
        )

    def finish_run(self, run_id: str, *, status: str, answer: str | None = None,
                   error: dict[str, Any] | None = None) -> None:
        self._write("UPDATE runs SET status=?, answer=?, error=?, updated_at=? WHERE run_id=?",
                    (status, answer, _opt_json(error), time.time(), run_id))

    def set_run_status(self, run_id: str, status: str) -> None:
        self._write("UPDATE runs SET status=?, updated_at=? WHERE run_id=?", (status, time.time(), run_id))

    def set_fork_point(self, run_id: str, fork_point: dict[str, Any]) -> None:
        self._write("UPDATE runs SET fork_point=? WHERE run_id=?", (_json.dumps_str(fork_point), run_id))

    def get_run(self, run_id: str) -> RunInfo:
        """The run with this id, or the only run whose id starts with it, or `latest`."""
        self.commit()
        if run_id == "latest":
            row = self._db.execute("SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
            if row is None:
                raise RunNotFoundError(f"journal {self.path} has no runs yet")
            return _run_from_row(row)
        rows = self._db.execute("SELECT * FROM runs WHERE run_id = ? OR run_id LIKE ? ESCAPE '\\' LIMIT 3",
                                (run_id, _like_prefix(run_id))).fetchall()
        exact = [r for r in rows if r[0] == run_id]
        if exact:
            return _run_from_row(exact[0])
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in journal {self.path} (see `agentzoo runs`)")
        if len(rows) > 1:
            raise RunNotFoundError(f"{run_id!r} matches several runs in {self.path}: "
                                   + ", ".join(r[0] for r in rows) + ", …; give more of the id")
        return _run_from_row(rows[0])

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        self.commit()
        rows = self._db.execute("SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,))
        return [_run_from_row(r) for r in rows.fetchall()]

    # --- entries ----------------------------------------------------------------------------

    def put(self, entry: Entry, *, request_json: bytes | None = None, result_json: bytes | None = None,
            commit: bool = True) -> None:
        """Write (or complete) one entry. With `commit` (the default) it is in the database when
        this returns, together with every entry put before it; without, it waits for the next
        commit. `request_json` / `result_json`, if given, are the already-serialised request and
        result (saves serialising twice)."""
        if result_json is None and (entry.result is not None or entry.status == "ok"):
            result_json = _json.dumps(entry.result)
        row = (entry.run_id, entry.scope, entry.seq, entry.kind, entry.name,
               (request_json or _json.dumps(entry.request)).decode(), entry.request_hash,
               None if result_json is None else result_json.decode(),
               entry.status, _opt_json(entry.error), entry.usage.input_tokens, entry.usage.output_tokens,
               entry.cost_usd, entry.started_at, entry.ended_at, int(entry.side_effects))
        with self._lock:
            self._pending.append(row)
            if commit:
                self._commit_locked()

    def commit(self) -> None:
        """Write the entries waiting in memory, in one transaction."""
        if self._pending:
            with self._lock:
                self._commit_locked()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement, committed together with the entries waiting in memory."""
        with self._lock:
            self._commit_locked(sql, params)

    def _commit_locked(self, sql: str | None = None, params: tuple[Any, ...] = ()) -> None:
        rows, self._pending = self._pending, []
        try:
            if not rows:
                if sql is not None:
                    self._db.execute(sql, params)
            elif len(rows) == 1 and sql is None:
                self._db.execute(_PUT, rows[0])  # autocommit: its own transaction
            else:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(_PUT, rows)
                if sql is not None:
                    self._db.execute(sql, params)
                self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._pending[:0] = rows  # nothing is lost: a later commit tries them again
            raise

    def get(self, run_id: str, scope: str, seq: int) -> Entry | None:
        self.commit()
        row = self._db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE run_id=? AND scope=? AND seq=?",
                               (run_id, scope, seq)).fetchone()
        return None if row is None else _entry_from_row(row)

    def entries(self, run_id: str) -> Iterator[Entry]:
        """The run's entries in the order they were first written."""
        self.commit()
        rows = self._db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE run_id=? ORDER BY id", (run_id,))
        for row in rows.fetchall():
            yield _entry_from_row(row)

    def usage_by_scope(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Per scope: model calls, tool calls, tokens and cost (for per-agent reports)."""
        self.commit()
        out: dict[str, dict[str, Any]] = {}
        query = ("SELECT scope, kind, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd) "
                 "FROM entries WHERE run_id=? GROUP BY scope, kind")
        for scope, kind, n, tin, tout, cost in self._db.execute(query, (run_id,)).fetchall():
            row = out.setdefault(scope, {"model_calls": 0, "tool_calls": 0, "other_effects": 0,
                                         "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0})
            row[{"model": "model_calls", "tool": "tool_calls"}.get(kind, "other_effects")] += n
            row["input_tokens"] += tin or 0
            row["output_tokens"] += tout or 0
            row["cost_usd"] += cost or 0.0
        return out

    def integrity_check(self) -> str:
        self.commit()
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        self.commit()
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _opt_json(value: Any) -> str | None:
    return None if value is None else _json.dumps_str(value)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _run_from_row(r: tuple[Any, ...]) -> RunInfo:
    return RunInfo(run_id=r[0], created_at=r[1], updated_at=r[2], status=r[3], task=r[4],
                   config=_json.loads(r[5]), config_hash=r[6], parent_id=r[7],
                   fork_point=None if r[8] is None else _json.loads(r[8]), answer=r[9],
                   error=None if r[10] is None else _json.loads(r[10]), schema_version=r[11],
                   agentzoo_version=r[12], label=r[13])


def _entry_from_row(r: tuple[Any, ...]) -> Entry:
    return Entry(run_id=r[0], scope=r[1], seq=r[2], kind=r[3], name=r[4], request=_json.loads(r[5]),
                 request_hash=r[6], result=None if r[7] is None else _json.loads(r[7]), status=r[8],
                 error=None if r[9] is None else _json.loads(r[9]), usage=Usage(r[10], r[11]),
                 cost_usd=r[12], started_at=r[13], ended_at=r[14], side_effects=bool(r[15]))
