"""The run journal: every effect of every run, as entries in a store (`stores`).

A journal lives in an SQLite file (the default, embedded) or in a PostgreSQL database that many
processes and machines write to at once (`Journal("postgresql://...")`); both keep the same rows and
behave the same. This module owns what is stored and when; `stores` owns the database.

When entries are committed is the caller's choice (`put(..., commit=)`): the gateway commits
an effect as soon as it completes, except a *local* one (computed inside this process, with
nothing outside it touched: a scripted model, a tool declared pure). Those wait in memory and
go in with the next commit (the next non-local effect, a run's status change, any read).
A crash can lose only such entries, and resume computes them again, at no cost and with no
effect outside the process. Batching them is what keeps a run of in-process effects from
paying a commit (~20 µs on SQLite, a round trip on a server) per effect.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from .. import _json
from ..errors import CorruptJournalError, JournalError, RunNotFoundError, UnusablePathError
from ..types import Usage
from .dbfile import is_utf8
from .entry import SCHEMA_VERSION, Entry, RunInfo
from .request_codec import BLOB, RequestEncoder, RequestExpander, is_model_request
from .stores import is_url, open_store
from .stores.base import ENTRY_COLUMNS as _ENTRY_COLUMNS
from .stores.base import RUN_COLUMNS as _RUN_COLUMNS
from .stores.base import DuplicateRow
from .stores.sqlite import LAYOUT  # noqa: F401 - the viewer opens journal files with it

# An upsert keeps the row id (and so the order of entries) when a `started` or `error` entry
# is completed later by resume.
_PUT = (f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (run_id, scope, seq) DO UPDATE SET kind=excluded.kind, name=excluded.name, "
        "request=excluded.request, request_hash=excluded.request_hash, result=excluded.result, "
        "status=excluded.status, error=excluded.error, input_tokens=excluded.input_tokens, "
        "output_tokens=excluded.output_tokens, cost_usd=excluded.cost_usd, "
        "started_at=excluded.started_at, ended_at=excluded.ended_at, side_effects=excluded.side_effects")
_PUT_BLOB = "INSERT INTO blobs (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING"
_FINISH_RUN = "UPDATE runs SET status=?, answer=?, error=?, updated_at=? WHERE run_id=?"
_INSERT_RUN = f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({','.join('?' * 14)})"
_INSERT_ENTRY = f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES ({','.join('?' * 16)})"


def new_run_id() -> str:
    """Time-sortable and unique: `20261124-194512-a1b2c3d4e5f6`. 48 random bits, because an eval
    starts thousands of runs within one second (24 bits collided at 10,000)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + os.urandom(6).hex()


def default_journal() -> str | Path:
    """`$AGENTZOO_JOURNAL` (a file, or a PostgreSQL URL), else `.agentzoo/journal.db` under the current
    directory."""
    value = os.environ.get("AGENTZOO_JOURNAL")
    if value and is_url(value):
        return value
    return Path(value or Path(".agentzoo") / "journal.db")


def journal_location(value: str) -> str | Path:
    """A `--journal` value as `Journal` takes it: a PostgreSQL URL stays a string (a `Path` would fold
    its `//`), anything else is a file."""
    return value if is_url(value) else Path(value)


def default_journal_path() -> Path:
    """The default journal as a file (for what reads SQLite files only, like the viewer): `$AGENTZOO_JOURNAL`,
    else `.agentzoo/journal.db` under the current directory."""
    return Path(os.environ.get("AGENTZOO_JOURNAL") or Path(".agentzoo") / "journal.db")


def journal_missing(path: str | os.PathLike[str] | None = None) -> bool:
    """Whether the journal at `path` (None: the default) is a file that is not there (a URL or ":memory:" is
    never missing): opening it would make a new, empty one."""
    where = default_journal() if path is None else path
    return not is_url(where) and where != ":memory:" and not Path(where).exists()


def existing_journal(path: str | os.PathLike[str] | None = None) -> Journal:
    """The journal at `path` (None: the default) for a command that reads runs: a file that is not there is an
    `UnusablePathError` naming it, rather than a new empty journal left where a path was mistyped."""
    where = default_journal() if path is None else path
    if journal_missing(where):
        why = ("no run has been made here yet; try `agentzoo demo`" if path is None else
               "check the path (a run makes its journal when it starts)")
        raise UnusablePathError(f"no journal at {where}: {why}")
    return Journal(where)


class Journal:
    """A journal holding many runs: an SQLite file, or a PostgreSQL database. One instance per process
    and journal.

    `path` is a file name, whatever characters it holds, with two exceptions, both only as a `str`
    (never a `Path`): ":memory:" asks for a journal in memory, and a URL starting with `postgresql://`
    or `postgres://` opens that database (`stores.postgres`; needs the `postgres` extra). None is
    `$AGENTZOO_JOURNAL`, else `.agentzoo/journal.db`. A new file is created 0600 (its missing folders
    0700). A file that is not a journal is a `CorruptJournalError` naming it, and is left unchanged; a
    folder where the file should be, or a read-only folder, an `UnusablePathError`; a server that
    cannot be used, a `JournalUnavailableError` naming the URL with its password masked.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._store = open_store(default_journal() if path is None else path)
        self.path: Path | str = self._store.path
        """What messages name: the file, or the URL with its password masked."""
        self._sql = self._store.sql
        self._pending: list[tuple[Any, ...]] = []
        """Rows of entries put with `commit=False`, not yet in the database."""
        self._pending_sql: list[tuple[str, tuple[Any, ...]]] = []
        """Run rows added or closed with `commit=False`: written first in the next transaction."""
        self._pending_run_ids: set[str] = set()
        """The runs added with `commit=False` and not yet written (10,000 started at once: no scan)."""
        self._pending_blobs: dict[str, str] = {}
        self._known_blobs: set[str] = set()
        """Blobs this instance knows are in the database (written or read), so it writes each once."""
        self._lock = threading.Lock()
        """Guards the rows waiting in memory: held only to add or take them, never during a write."""
        self._write_lock = threading.Lock()
        """Held for a whole write: transactions go in in the order their rows were put, and a commit
        returns only once every row put before it is in the database, whichever thread wrote it."""
        self._encoders: dict[str, RequestEncoder] = {}
        """Per run: for model requests put whole (a fork's copies), the previous request of each scope."""
        self._expander = RequestExpander(self._stored_request, self._blob)
        self._group: tuple[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] | None = None
        self._in_flight: asyncio.Future[None] | None = None
        """A group commit being written by the worker thread (stores whose writes wait on a server)."""
        self._worker: ThreadPoolExecutor | None = None

    @property
    def _db(self) -> Any:
        """The SQLite connection of a file journal (tests reach under the journal with it)."""
        return self._store.db  # type: ignore[attr-defined]

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Commit what waits, then run a query; a damaged file is a typed error naming it."""
        self.commit()
        return self._store.query(sql, params)

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, info: RunInfo, *, commit: bool = True) -> None:
        """Add a run row; an id already in the journal is a `JournalError` naming it. Without `commit`
        the row goes in with the run's first commit (its first non-local effect, or its end): a run
        pays no transaction of its own to start, and a crash before that commit loses only effects
        that resume would compute again anyway (nothing outside the process was touched)."""
        info.updated_at = info.updated_at or info.created_at
        row = (info.run_id, info.created_at, info.updated_at, info.status, info.task,
               _json.dumps_str(info.config), info.config_hash, info.parent_id,
               _opt_json(info.fork_point), info.answer, _opt_json(info.error), info.schema_version,
               info.agentzoo_version, info.label)
        if not commit:
            with self._lock:
                waiting = info.run_id in self._pending_run_ids
            if waiting or self._store.query("SELECT 1 FROM runs WHERE run_id=?", (info.run_id,)):
                raise JournalError(f"journal {self.path} already has a run {info.run_id!r}")
            with self._lock:
                self._pending_sql.append((_INSERT_RUN, row))
                self._pending_run_ids.add(info.run_id)
            return
        try:
            self._write(_INSERT_RUN, row)
        except DuplicateRow:
            raise JournalError(f"journal {self.path} already has a run {info.run_id!r}") from None

    def _insert_run(self, info: RunInfo) -> None:
        self.create_run(info)

    def finish_run(self, run_id: str, *, status: str, answer: str | None = None,
                   error: dict[str, Any] | None = None, commit: bool = True) -> None:
        """Close a run's row. Without `commit` it goes in with the next commit (`await committed()`)."""
        params = (status, answer, _opt_json(error), time.time(), run_id)
        if commit:
            self._write(_FINISH_RUN, params)
        else:
            with self._lock:
                self._pending_sql.append((_FINISH_RUN, params))

    def set_run_status(self, run_id: str, status: str) -> None:
        self._write("UPDATE runs SET status=?, updated_at=? WHERE run_id=?", (status, time.time(), run_id))

    def set_fork_point(self, run_id: str, fork_point: dict[str, Any]) -> None:
        self._write("UPDATE runs SET fork_point=? WHERE run_id=?", (_json.dumps_str(fork_point), run_id))

    def get_run(self, run_id: str) -> RunInfo:
        """The run with this id, or the only run whose id starts with it, or `latest`.
        A run whose row cannot be read is a `CorruptJournalError` naming the run and the column."""
        if run_id == "latest":
            rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY {self._sql.newest_first} LIMIT 1")
            if not rows:
                raise RunNotFoundError(f"journal {self.path} has no runs yet")
            return _run_from_row(rows[0], self.path)
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ? OR {self._sql.run_id_prefix} LIMIT 3",
                          (run_id, _like_prefix(run_id)))
        exact = [r for r in rows if r[0] == run_id]
        if exact:
            return _run_from_row(exact[0], self.path)
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in journal {self.path} (see `agentzoo runs`)")
        if len(rows) > 1:
            raise RunNotFoundError(f"{run_id!r} matches several runs in {self.path}: "
                                   + ", ".join(str(r[0]) for r in rows) + ", …; give more of the id")
        return _run_from_row(rows[0], self.path)

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        """The newest runs. One whose row cannot be read is listed with status `corrupt`, what is
        wrong in `error["message"]`, and whatever else could be read; it never hides the others."""
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY {self._sql.newest_first} LIMIT ?", (limit,))
        return [_run_or_marked(r, self.path) for r in rows]

    # --- entries ----------------------------------------------------------------------------

    def put(self, entry: Entry, *, request_json: bytes | None = None, result_json: bytes | None = None,
            blobs: dict[str, bytes] | None = None, commit: bool = True) -> None:
        """Write (or complete) one entry. With `commit` (the default) it is in the database when
        this returns, together with every entry put before it; without, it waits for the next
        commit (`commit()`, or `await committed()` for a group commit). `request_json` / `result_json`,
        if given, are the request as stored and the result already serialised (saves serialising
        twice); a model request given whole is stored as its new messages (see `request_codec`),
        and `blobs` are those its stored form refers to."""
        if result_json is None and (entry.result is not None or entry.status == "ok"):
            result_json = _json.dumps(entry.result)
        if request_json is None:
            if is_model_request(entry.kind, entry.request):
                encoder = self._encoders.setdefault(entry.run_id, RequestEncoder())
                encoded = encoder.encode(entry.scope, entry.seq, entry.request)
                encoder.advance(encoded)
                request_json, blobs = encoded.stored, encoded.blobs
            else:
                request_json = _json.dumps(entry.request)
        row = (entry.run_id, entry.scope, entry.seq, entry.kind, entry.name,
               request_json.decode(), entry.request_hash,
               None if result_json is None else result_json.decode(),
               entry.status, _opt_json(entry.error), entry.usage.input_tokens, entry.usage.output_tokens,
               entry.cost_usd, entry.started_at, entry.ended_at, int(entry.side_effects))
        with self._lock:
            if blobs:
                for digest, body in blobs.items():
                    if digest not in self._known_blobs:
                        self._pending_blobs[digest] = body.decode()
            self._pending.append(row)
        if commit:
            with self._write_lock:
                self._commit_locked()

    def committed(self) -> asyncio.Future[None]:
        """Group commit: a future that is done once everything put so far is committed.

        Every caller in the same turn of the event loop joins one group, and one transaction, run as
        the loop's next callback, holds all their entries. So effects that finish together pay one
        commit, and none of them returns its result (the gateway awaits this first) before the
        transaction that holds it has committed: a `kill -9` never loses a completed effect whose
        result was used. A failed commit fails every waiter; its rows stay to be retried. Each caller
        has its own future, so one that is cancelled leaves the others waiting.

        On a store whose writes wait on a server (`commits_off_loop`), the transaction is written by a
        worker thread, so the loop goes on running the other effects meanwhile; while it is in flight
        the next group stays open (every caller until then joins it) and starts when it is done."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        group = self._group
        if group is not None and group[0] is loop:
            group[1].append(future)
        else:
            waiters = [future]
            self._group = (loop, waiters)
            loop.call_soon(self._commit_group, waiters)
        return future

    def _commit_group(self, waiters: list[asyncio.Future[None]]) -> None:
        if self._store.commits_off_loop:
            flight = self._in_flight
            if flight is not None and not flight.done() and flight.get_loop() is asyncio.get_running_loop():
                return  # the group stays open: `_group_written` starts it
            if self._group is not None and self._group[1] is waiters:
                self._group = None
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="agentzoo-journal")
            flight = self._in_flight = asyncio.get_running_loop().run_in_executor(self._worker, self.commit)
            flight.add_done_callback(lambda done: self._group_written(done, waiters))
            return
        if self._group is not None and self._group[1] is waiters:
            self._group = None
        try:
            self.commit()
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter
            _settle(waiters, exc)
            return
        _settle(waiters, None)

    def _group_written(self, done: asyncio.Future[None], waiters: list[asyncio.Future[None]]) -> None:
        self._in_flight = None
        if done.cancelled():
            for future in waiters:
                future.cancel()
        else:
            _settle(waiters, done.exception())
        group = self._group
        if group is not None and group[0] is asyncio.get_running_loop():
            self._commit_group(group[1])  # the group that waited for this one

    def commit(self) -> None:
        """Write the entries waiting in memory, in one transaction; when this returns, every entry put
        before it is in the database (a write in flight in the worker thread included)."""
        if self._pending or self._pending_sql or self._write_lock.locked():
            with self._write_lock:
                self._commit_locked()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement, committed together with the entries waiting in memory."""
        with self._write_lock:
            self._commit_locked(sql, params)

    def _commit_locked(self, sql: str | None = None, params: tuple[Any, ...] = ()) -> None:
        """Take the rows waiting and write them (and `sql`) in one transaction. `_write_lock` is held."""
        with self._lock:
            rows, self._pending = self._pending, []
            blobs, self._pending_blobs = self._pending_blobs, {}
            statements, self._pending_sql = self._pending_sql, []
            run_ids, self._pending_run_ids = self._pending_run_ids, set()
        ops: list[tuple[str, list[Any]]] = []
        for q, p in statements:  # in order; a run of the same statement is one executemany
            if ops and ops[-1][0] is q:
                ops[-1][1].append(p)
            else:
                ops.append((q, [p]))
        if blobs:  # in hash order: writers of the same blobs on a server wait for each other, never deadlock
            ops.append((_PUT_BLOB, sorted(blobs.items())))
        if rows:
            ops.append((_PUT, rows))
        if sql is not None:
            ops.append((sql, [params]))
        try:
            if ops:
                self._store.write(ops)  # one transaction (a single row: the statement's own)
        except BaseException as exc:
            with self._lock:
                self._pending[:0] = rows  # nothing is lost: a later commit tries them again
                self._pending_blobs = {**blobs, **self._pending_blobs}
                self._pending_sql[:0] = statements
                self._pending_run_ids |= run_ids
            if isinstance(exc, DuplicateRow) and statements:
                raise JournalError(f"journal {self.path}: a run added to it meanwhile has the id of one "
                                   "waiting to be written") from None
            raise
        with self._lock:
            self._known_blobs.update(blobs)

    def _stored_request(self, run_id: str, scope: str, seq: int) -> Any:
        """An entry's request as stored (for the expander walking back a chain of prefixes)."""
        rows = self._rows("SELECT request FROM entries WHERE run_id=? AND scope=? AND seq=?", (run_id, scope, seq))
        if not rows:
            return None
        return _json_any(rows[0][0])

    def _blob(self, digest: str) -> str | None:
        rows = self._rows("SELECT body FROM blobs WHERE hash=?", (digest,))
        if not rows:
            return None
        self._known_blobs.add(digest)
        return rows[0][0]

    def get(self, run_id: str, scope: str, seq: int) -> Entry | None:
        rows = self._rows(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE run_id=? AND scope=? AND seq=?",
                          (run_id, scope, seq))
        return _entry_from_row(rows[0], self.path, self._expander) if rows else None

    def entries(self, run_id: str, *, problems: list[CorruptJournalError] | None = None,
                page: int = 256) -> Iterator[Entry]:
        """The run's entries in the order they were first written, read a page at a time (a long run
        is never all in memory); each model request is whole again.

        An entry that cannot be read raises `CorruptJournalError` naming it; with `problems`, it is
        skipped and its error appended there instead (to show the rest of a damaged run)."""
        last = -1
        while True:
            rows = self._rows(f"SELECT id, {_ENTRY_COLUMNS} FROM entries WHERE run_id=? AND id>? ORDER BY id LIMIT ?",
                              (run_id, last, page))
            for row in rows:
                try:
                    entry = _entry_from_row(row[1:], self.path, self._expander)
                except CorruptJournalError as exc:
                    if problems is None:
                        raise
                    problems.append(exc)
                    continue
                yield entry
            if len(rows) < page:
                return
            last = rows[-1][0]

    def run_record(self, run_id: str) -> dict[str, Any]:
        """One run as stored, to move it to another journal (`add_run_record`): its run row, its
        entries' rows (model requests as their new messages) and the blobs they refer to. Plain
        values only (str, int, float, None), so it crosses processes and machines as it is."""
        info = self.get_run(run_id)
        run = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id=?", (info.run_id,))[0]
        entries = self._rows(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE run_id=? ORDER BY id", (info.run_id,))
        wanted = set()
        for row in entries:
            if row[3] == "model" and isinstance(row[5], str) and BLOB in row[5]:
                try:
                    tools = _json.loads(row[5]).get("tools")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if isinstance(tools, dict) and isinstance(tools.get(BLOB), str):
                    wanted.add(tools[BLOB])
        blobs = {digest: body for digest in sorted(wanted) for (body,) in
                 self._rows("SELECT body FROM blobs WHERE hash=?", (digest,))}
        return {"schema_version": SCHEMA_VERSION, "run": list(run), "entries": [list(r) for r in entries],
                "blobs": blobs}

    def add_run_record(self, record: dict[str, Any]) -> str:
        """Write a run made elsewhere (`run_record` of another journal) in one transaction; its id.
        A run id already here is a `JournalError`, and nothing is written."""
        try:
            version, run, entries, blobs = (record["schema_version"], record["run"], record["entries"],
                                            record["blobs"])
        except (KeyError, TypeError):
            raise JournalError("not a run record: it needs schema_version, run, entries and blobs") from None
        if version != SCHEMA_VERSION:
            raise JournalError(f"a run record of journal schema {version!r}; this agentzoo writes {SCHEMA_VERSION}")
        with self._write_lock:
            self._commit_locked()
            try:
                self._store.write([(_INSERT_RUN, [tuple(run)]), (_PUT_BLOB, sorted(blobs.items())),
                                   (_INSERT_ENTRY, [tuple(r) for r in entries])])
            except DuplicateRow:
                raise JournalError(f"journal {self.path} already has a run {run[0]!r}") from None
        self._known_blobs.update(blobs)
        return str(run[0])

    def usage_by_scope(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Per scope: model calls, tool calls, tokens and cost (for per-agent reports); `unpriced_calls`
        counts the successful model calls whose price was unknown (their cost is not in `cost_usd`)."""
        out: dict[str, dict[str, Any]] = {}
        for scope, kind, n, tin, tout, cost, unpriced in self._rows(self._sql.usage, (run_id,)):
            tally_usage(out, scope if isinstance(scope, str) else repr(scope), kind, n, tin, tout, cost, unpriced)
        return out

    def integrity_check(self) -> str:
        """"ok", or what is wrong with the database."""
        self.commit()
        return self._store.integrity_check()

    def close(self) -> None:
        self.commit()
        if self._worker is not None:
            self._worker.shutdown(wait=True)
        self._store.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tally_usage(out: dict[str, dict[str, Any]], scope: str, kind: str, n: int, input_tokens: float,
                output_tokens: float, cost_usd: float, unpriced: float) -> None:
    """Add `n` entries of one scope and kind (their token and cost totals, and how many of them were
    successful model calls with no price) to `out`, a `usage_by_scope` result being built."""
    row = out.setdefault(scope, {"model_calls": 0, "tool_calls": 0, "other_effects": 0, "input_tokens": 0,
                                 "output_tokens": 0, "cost_usd": 0.0, "unpriced_calls": 0})
    row[_USAGE_COUNTS.get(kind, "other_effects")] += n
    row["input_tokens"] += int(input_tokens)
    row["output_tokens"] += int(output_tokens)
    row["cost_usd"] += cost_usd
    if kind == "model":
        row["unpriced_calls"] += int(unpriced)


_USAGE_COUNTS = {"model": "model_calls", "tool": "tool_calls"}


def _settle(waiters: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    for future in waiters:
        if not future.done():
            if exc is None:
                future.set_result(None)
            else:
                future.set_exception(exc)


def _opt_json(value: Any) -> str | None:
    return None if value is None else _json.dumps_str(value)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --- reading rows back: every cell checked, so a damaged row is named, not a traceback ---------


def _what(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "a blob"
    if isinstance(value, str) and not is_utf8(value):
        return "text that is not UTF-8"
    if isinstance(value, str):
        return f"text {value[:40]!r}" + ("…" if len(value) > 40 else "")
    return f"the {type(value).__name__} {value!r}"


def _text(v: Any) -> str:
    if isinstance(v, str) and is_utf8(v):
        return v
    raise ValueError(f"{_what(v)} where text belongs")


def _int(v: Any) -> int:
    if type(v) is int:
        return v
    raise ValueError(f"{_what(v)} where an integer belongs")


def _num(v: Any) -> float:
    if type(v) in (int, float):
        return float(v)
    raise ValueError(f"{_what(v)} where a number belongs")


def _json_any(v: Any) -> Any:
    if not isinstance(v, str):
        raise ValueError(f"{_what(v)} where JSON text belongs")
    try:
        return _json.loads(v)  # rejects text that is not UTF-8 (lone surrogates) by itself
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{_what(v)}, which is not JSON ({exc})") from None


def _json_obj(v: Any) -> dict[str, Any]:
    value = _json_any(v)
    if not isinstance(value, dict):
        raise ValueError(f"JSON {type(value).__name__} {_short(v)} where an object belongs")
    return value


def _opt(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else check(v)


def _entry_status(v: Any) -> str:
    if v in ("ok", "error", "started"):
        return v
    raise ValueError(f"{_what(v)} where ok, error or started belongs")


def _flag(v: Any) -> bool:
    if v in (0, 1) and type(v) is int:
        return bool(v)
    raise ValueError(f"{_what(v)} where 0 or 1 belongs")


def _short(v: Any) -> str:
    text = str(v)
    return text if len(text) <= 40 else text[:39] + "…"


_RUN_CELLS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("run_id", _text), ("created_at", _num), ("updated_at", _num), ("status", _text), ("task", _opt(_text)),
    ("config", _json_obj), ("config_hash", _text), ("parent_id", _opt(_text)), ("fork_point", _opt(_json_obj)),
    ("answer", _opt(_text)), ("error", _opt(_json_obj)), ("schema_version", _int), ("agentzoo_version", _text),
    ("label", _opt(_text)))
_ENTRY_CELLS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("run_id", _text), ("scope", _text), ("seq", _int), ("kind", _text), ("name", _text), ("request", _json_any),
    ("request_hash", _text), ("result", _opt(_json_any)), ("status", _entry_status), ("error", _opt(_json_obj)),
    ("input_tokens", _int), ("output_tokens", _int), ("cost_usd", _opt(_num)), ("started_at", _num),
    ("ended_at", _num), ("side_effects", _flag))


def _cells(cells: tuple[tuple[str, Callable[[Any], Any]], ...], row: tuple[Any, ...]) -> dict[str, Any]:
    """The row's values by column, each checked; `ValueError("column: why")` at the first bad one."""
    out = {}
    for (name, check), raw in zip(cells, row):
        try:
            out[name] = check(raw)
        except ValueError as exc:
            raise ValueError(f"column {name} holds {exc}") from None
    return out


def _run_from_row(r: tuple[Any, ...], path: Path | str) -> RunInfo:
    try:
        return RunInfo(**_cells(_RUN_CELLS, r))
    except ValueError as exc:
        run_id = r[0] if isinstance(r[0], str) else _what(r[0])
        raise CorruptJournalError(f"journal {path}: run {run_id!r} cannot be read: {exc}",
                                  run_id=r[0] if isinstance(r[0], str) else None) from None


def _run_or_marked(r: tuple[Any, ...], path: Path | str) -> RunInfo:
    """The run of this row, or a stand-in with status `corrupt` saying what is wrong with it."""
    try:
        return _run_from_row(r, path)
    except CorruptJournalError as exc:
        return RunInfo(run_id=r[0] if isinstance(r[0], str) else _what(r[0]),
                       created_at=float(r[1]) if type(r[1]) in (int, float) else 0.0, status="corrupt",
                       error={"type": type(exc).__name__, "message": str(exc)})


def _entry_from_row(r: tuple[Any, ...], path: Path | str, expander: RequestExpander | None = None) -> Entry:
    """The entry of a row; with `expander`, a model request stored as its new messages is made whole."""
    try:
        cells = _cells(_ENTRY_CELLS, r)
        if expander is not None:
            try:
                cells["request"] = expander.expand(cells["run_id"], cells["scope"], cells["seq"], cells["request"])
            except ValueError as exc:
                raise ValueError(f"column request: {exc}") from None
    except ValueError as exc:
        scope = repr(r[1] or "<root>") if isinstance(r[1], str) else _what(r[1])
        seq = r[2] if type(r[2]) is int else _what(r[2])
        raise CorruptJournalError(f"journal {path}: run {r[0]!r}: the entry at scope {scope} seq {seq} "
                                  f"({_short(r[3])} {_short(r[4])}) cannot be read: {exc}",
                                  run_id=r[0] if isinstance(r[0], str) else None,
                                  scope=r[1] if isinstance(r[1], str) else None,
                                  seq=r[2] if type(r[2]) is int else None) from None
    cells["usage"] = Usage(cells.pop("input_tokens"), cells.pop("output_tokens"))
    return Entry(**cells)


# For read-only views that page through a journal with their own SQL (agentzoo.viewer): the same
# columns and the same checked readers, so a damaged row reads the same there as in `show`.
RUN_COLUMNS, ENTRY_COLUMNS = _RUN_COLUMNS, _ENTRY_COLUMNS
read_run_row = _run_or_marked
read_entry_row = _entry_from_row
