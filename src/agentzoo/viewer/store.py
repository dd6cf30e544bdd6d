"""A journal opened read-only for the viewer, paged in SQL so that 10,000 runs or a 1,000-step run
cost one page of rows per request, never the whole file.

The connection is SQLite's `mode=ro`: the viewer cannot write to a journal, even by accident, and
reads a run in progress (another process writing in WAL mode) as of its last commit. Rows are
read with the journal's own checked readers, so a damaged row shows as it does in `agentzoo show`.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CorruptJournalError, RunNotFoundError, UnusablePathError
from ..runtime.dbfile import check_layout, unreadable
from ..runtime.entry import Entry, RunInfo
from ..runtime.spec import AgentSpec
from ..runtime.journal import ENTRY_COLUMNS, LAYOUT, RUN_COLUMNS, read_entry_row, read_run_row
from ..runtime.request_codec import RequestExpander

DEFAULT_AGENT = str(AgentSpec.model_fields["agent"].default)  # a spec stores no field at its default
PAGE_SIZE = 50
"""Runs per page of the runs list."""
_TEXT = functools.partial(str, encoding="utf-8", errors="surrogateescape")  # as the journal reads text
_CONFIG = "CASE WHEN json_valid(config) THEN json_extract(config, '$.{key}') END"
_AGENT = f"CASE WHEN json_valid(config) THEN COALESCE(json_extract(config, '$.agent'), '{DEFAULT_AGENT}') END"
_COLUMNS = ", ".join(f"r.{c}" for c in RUN_COLUMNS.split(", "))
# Totals per run, for the page's runs only (or for all runs when the list is sorted by one of them).
_TOTALS = ("SELECT run_id, TOTAL(kind='model') AS steps, TOTAL(input_tokens + output_tokens) AS tokens, "
           "TOTAL(cost_usd) AS cost, COUNT(*) AS effects, TOTAL(cost_usd IS NULL AND kind='model' AND status='ok') "
           "AS unpriced FROM entries {where} GROUP BY run_id")
SORTS = {
    "created": "r.created_at", "status": "r.status", "agent": _AGENT, "model": _CONFIG.format(key="model"), "task": "r.task",
    "steps": "t.steps", "tokens": "t.tokens", "cost": "t.cost", "time": "(r.updated_at - r.created_at)",
    "parent": "r.parent_id",
}
"""What the runs list can be sorted by: a name in the URL to an SQL expression (never user text)."""
_NEEDS_TOTALS = {"steps", "tokens", "cost"}


@dataclass
class RunQuery:
    """What the runs list shows: a search, a status, a sort and a page."""

    q: str = ""
    """Text to find in the run id, task, label, answer, agent or model (case-insensitive)."""
    status: str = ""
    sort: str = "created"
    descending: bool = True
    page: int = 1
    per_page: int = PAGE_SIZE


@dataclass
class RunRow:
    """One line of the runs list."""

    info: RunInfo
    agent: str
    model: str
    steps: int = 0
    """Model calls."""
    effects: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0

    @property
    def seconds(self) -> float:
        return max(0.0, self.info.updated_at - self.info.created_at)


@dataclass
class ScopeRow:
    """One scope of a run: its effects, time span and usage."""

    scope: str
    first_start: float
    last_end: float
    effects: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


@dataclass
class DiffKey:
    """What a diff compares of one entry: its key, its request hash and its result as stored."""

    id: int
    scope: str
    seq: int
    kind: str
    name: str
    status: str
    request_hash: str
    result_text: str | None


class JournalView:
    """A journal file opened read-only. Thread-safe: the server's threads share one connection."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UnusablePathError(f"no journal at {self.path}")
        self._db = _connect_read_only(self.path)
        self._lock = threading.Lock()
        # Model requests are stored as the messages they add (journal schema 2): made whole on reading.
        self._expander = RequestExpander(self._stored_request, self._blob)

    def _stored_request(self, run_id: str, scope: str, seq: int) -> Any:
        from .. import _json

        rows = self._rows("SELECT request FROM entries WHERE run_id = ? AND scope = ? AND seq = ?", (run_id, scope, seq))
        if not rows or not isinstance(rows[0][0], str):
            return None
        try:
            return _json.loads(rows[0][0])
        except ValueError:
            return None

    def _blob(self, digest: str) -> str | None:
        try:
            rows = self._rows("SELECT body FROM blobs WHERE hash = ?", (digest,))
        except (CorruptJournalError, UnusablePathError):  # a schema-1 journal has no blobs table (and needs none)
            return None
        return rows[0][0] if rows else None

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise unreadable(exc, self.path, LAYOUT) from None

    # --- the runs list ----------------------------------------------------------------------

    def count_runs(self, query: RunQuery) -> int:
        where, params = _where(query)
        return int(self._rows(f"SELECT COUNT(*) FROM runs r {where}", params)[0][0])

    def runs_page(self, query: RunQuery) -> list[RunRow]:
        """One page of the runs list; its totals are summed for that page's runs only, unless the
        list is sorted by a total."""
        where, params = _where(query)
        order = SORTS.get(query.sort, SORTS["created"])
        direction = "DESC" if query.descending else "ASC"
        offset = max(0, query.page - 1) * query.per_page
        # First the page's row ids, sorting only the sort key (sorting whole rows would copy every
        # run's config and task through the sorter), then those rows.
        source = "runs r"
        if query.sort in _NEEDS_TOTALS:  # summed over every run: one grouped pass over the entries' index
            source += f" LEFT JOIN ({_TOTALS.format(where='')}) t ON t.run_id = r.run_id"
        page = [rowid for (rowid,) in self._rows(
            f"SELECT r.rowid FROM {source} {where} ORDER BY {order} {direction} NULLS LAST, r.rowid {direction} "
            "LIMIT ? OFFSET ?", [*params, query.per_page, offset])]
        if not page:
            return []
        found = {row[0]: row[1:] for row in self._rows(
            f"SELECT r.rowid, {_COLUMNS}, {_AGENT} AS agent, {_CONFIG.format(key='preset')}, "
            f"{_CONFIG.format(key='model')} FROM runs r WHERE r.rowid IN ({','.join('?' * len(page))})", page)}
        n = len(RUN_COLUMNS.split(", "))
        out = []
        for rowid in page:
            row = found[rowid]
            info = read_run_row(row[:n], self.path)
            agent_name = row[n] if isinstance(row[n], str) else "?"
            if isinstance(row[n + 1], str):
                agent_name += f"@{row[n + 1]}"
            out.append(RunRow(info, agent=agent_name, model=row[n + 2] if isinstance(row[n + 2], str) else ""))
        self._fill_totals(out)
        return out

    def _fill_totals(self, rows: list[RunRow]) -> None:
        if not rows:
            return
        ids = [r.info.run_id for r in rows]
        marks = ",".join("?" * len(ids))
        found = {r[0]: r for r in self._rows(_TOTALS.format(where=f"WHERE run_id IN ({marks})"), ids)}
        for row in rows:
            t = found.get(row.info.run_id)
            if t is not None:
                row.steps, row.tokens, row.cost_usd, row.effects, row.unpriced_calls = \
                    int(t[1]), int(t[2]), float(t[3]), int(t[4]), int(t[5])

    def statuses(self) -> list[str]:
        return [s for (s,) in self._rows("SELECT DISTINCT status FROM runs ORDER BY status") if isinstance(s, str)]

    # --- one run ----------------------------------------------------------------------------

    def run(self, run_id: str) -> RunInfo:
        """The run with this id (or the only one it is a prefix of); `RunNotFoundError` otherwise."""
        rows = self._rows(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ? OR run_id LIKE ? ESCAPE '\\' LIMIT 3",
                          (run_id, _like_prefix(run_id)))
        exact = [r for r in rows if r[0] == run_id]
        if exact or len(rows) == 1:
            info = read_run_row((exact or rows)[0], self.path)
            if info.status == "corrupt":
                raise CorruptJournalError((info.error or {}).get("message", "damaged run row"), run_id=info.run_id)
            return info
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in journal {self.path}")
        raise RunNotFoundError(f"{run_id!r} matches several runs in {self.path}; give more of the id")

    def forks_of(self, run_id: str, limit: int = 20) -> list[tuple[str, str, Any]]:
        """Runs forked from this one: (run id, status, fork point)."""
        rows = self._rows("SELECT run_id, status, fork_point FROM runs WHERE parent_id = ? ORDER BY created_at "
                          "LIMIT ?", (run_id, limit))
        return [(r[0], r[1], r[2]) for r in rows]

    def entries_after(self, run_id: str, after: int, limit: int, scope: str | None = None
                      ) -> tuple[list[tuple[int, Entry]], list[CorruptJournalError]]:
        """Up to `limit` entries of the run written after row id `after`, in order, with their row
        ids (the cursor of the next page); unreadable ones are listed apart, not raised."""
        sql = f"SELECT id, {ENTRY_COLUMNS} FROM entries WHERE run_id = ? AND id > ?"
        params: list[Any] = [run_id, after]
        if scope is not None and scope != "":
            sql += " AND (scope = ? OR scope LIKE ? ESCAPE '\\')"
            params += [scope, _like_prefix(scope + "/")]
        elif scope == "":
            sql += " AND scope = ''"
        out, problems = [], []
        for row in self._rows(sql + " ORDER BY id LIMIT ?", [*params, limit]):
            try:
                out.append((row[0], read_entry_row(row[1:], self.path, self._expander)))
            except CorruptJournalError as exc:
                problems.append(exc)
        return out, problems

    def previous_model_request(self, run_id: str, scope: str, before_seq: int) -> Any:
        """The request of the scope's last model call before `before_seq` (None if none). By seq,
        which orders a scope's effects as they happened, so the key's index finds it at once."""
        from .. import _json

        rows = self._rows("SELECT seq, request FROM entries WHERE run_id = ? AND scope = ? AND seq < ? AND kind = 'model' "
                          "ORDER BY seq DESC LIMIT 1", (run_id, scope, before_seq))
        if not rows or not isinstance(rows[0][1], str):
            return None
        try:
            return self._expander.expand(run_id, scope, rows[0][0], _json.loads(rows[0][1]))
        except ValueError:
            return None

    def entry(self, run_id: str, scope: str, seq: int) -> Entry | None:
        rows = self._rows(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE run_id = ? AND scope = ? AND seq = ?",
                          (run_id, scope, seq))
        return read_entry_row(rows[0], self.path, self._expander) if rows else None

    def progress(self, run_id: str) -> tuple[int, int, int]:
        """(entries, highest row id, row id of the first entry still `started`, 0 if none)."""
        n, last, started = self._rows("SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(MIN(CASE WHEN status = "
                                      "'started' THEN id END), 0) FROM entries WHERE run_id = ?", (run_id,))[0]
        return int(n), int(last), int(started)

    def scopes(self, run_id: str) -> list[ScopeRow]:
        """Every scope of the run with its time span, counts and usage (one grouped query)."""
        out: dict[str, ScopeRow] = {}
        query = ("SELECT scope, kind, COUNT(*), MIN(started_at), MAX(ended_at), TOTAL(input_tokens), "
                 "TOTAL(output_tokens), TOTAL(cost_usd), TOTAL(cost_usd IS NULL AND status = 'ok'), "
                 "TOTAL(status = 'error') FROM entries WHERE run_id = ? GROUP BY scope, kind")
        for scope, kind, n, start, end, tin, tout, cost, unpriced, errors in self._rows(query, (run_id,)):
            scope = scope if isinstance(scope, str) else repr(scope)
            start = float(start) if isinstance(start, (int, float)) else 0.0
            end = float(end) if isinstance(end, (int, float)) else start
            row = out.get(scope)
            if row is None:
                row = out[scope] = ScopeRow(scope, start, end)
            row.first_start, row.last_end = min(row.first_start, start), max(row.last_end, end)
            row.effects += int(n)
            row.kinds[str(kind)] = row.kinds.get(str(kind), 0) + int(n)
            if kind == "model":
                row.model_calls += int(n)
                row.unpriced_calls += int(unpriced)
            elif kind == "tool":
                row.tool_calls += int(n)
            row.input_tokens += int(tin)
            row.output_tokens += int(tout)
            row.cost_usd += float(cost)
            row.errors += int(errors)
        return list(out.values())

    def diff_keys(self, run_id: str, limit: int = 20_000) -> list[DiffKey]:
        """The run's entries as a diff sees them, in order (no request bodies are read)."""
        rows = self._rows("SELECT id, scope, seq, kind, name, status, request_hash, result FROM entries "
                          "WHERE run_id = ? ORDER BY id LIMIT ?", (run_id, limit))
        return [DiffKey(int(r[0]), str(r[1]), int(r[2]) if type(r[2]) is int else -1, str(r[3]), str(r[4]),
                        str(r[5]), str(r[6]), r[7] if isinstance(r[7], str) else None) for r in rows]


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; the file must look like a journal (checked without writing)."""
    base = "file:" + urllib.parse.quote(os.path.abspath(path))
    try:
        db, tables = _open(base + "?mode=ro")
    except sqlite3.Error as exc:
        if os.access(path.parent, os.W_OK):
            raise unreadable(exc, path, LAYOUT) from None
        # A read-only folder: SQLite cannot make the -shm file WAL readers share. Read the file as
        # it is (nobody can be writing it there).
        try:
            db, tables = _open(base + "?mode=ro&immutable=1")
        except sqlite3.Error as exc2:
            raise unreadable(exc2, path, LAYOUT) from None
    if "runs" not in tables or "entries" not in tables:
        db.close()
        raise CorruptJournalError(f"{path} is not an agentzoo journal (its tables: {', '.join(sorted(tables)) or 'none'})")
    try:
        check_layout(db, path, LAYOUT)
    except BaseException:
        db.close()
        raise
    return db


def _open(uri: str) -> tuple[sqlite3.Connection, set[str]]:
    db = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        db.text_factory = _TEXT
        db.execute("PRAGMA busy_timeout=5000")  # a writer checkpointing the WAL holds it briefly
        return db, {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except BaseException:
        db.close()
        raise


def _where(query: RunQuery) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if query.status:
        clauses.append("r.status = ?")
        params.append(query.status)
    if query.q.strip():
        needle = query.q.strip().lower()
        fields = ["r.run_id", "r.task", "r.label", "r.answer", _AGENT, _CONFIG.format(key="model")]
        clauses.append("(" + " OR ".join(f"instr(lower(COALESCE({f}, '')), ?) > 0" for f in fields) + ")")
        params += [needle] * len(fields)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
