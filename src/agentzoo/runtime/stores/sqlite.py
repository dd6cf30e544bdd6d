"""The embedded journal store: one SQLite file in WAL mode (or a database in memory).

Crash safety comes from SQLite itself: in WAL mode a transaction is in the log once its commit
returns, so a `kill -9` at any moment leaves every committed entry readable and the file consistent.
`synchronous=NORMAL` skips the fsync per commit: that protects against a process crash, which is
what we promise; a power cut may lose the last few commits but never corrupts. Opening, checking and
creating the file is `dbfile`'s; a journal of an older schema is migrated on open (`migrate`).

Write failures other than a duplicate key come out as SQLite raised them: a full disk is the
caller's to see (the journal keeps the rows to write again).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import CorruptJournalError
from ..dbfile import Layout, memory_database, open_database, unreadable, write_together
from ..entry import SCHEMA_VERSION
from ..migrate import migrate
from .base import TABLES, Dialect, DuplicateRow, Rows, checked_version
from .sqlite_parts import merge_parts, parts_dir

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, body TEXT NOT NULL);
"""

LAYOUT = Layout(
    what="journal",
    schema=SCHEMA + f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');",
    # `blobs` is not required: a schema-1 journal has none until it is migrated.
    tables={name: columns for name, columns in TABLES.items() if name != "blobs"},
    corrupt=CorruptJournalError,
)

DIALECT = Dialect(
    # SQLite keeps whatever a cell was given: a created_at that is not a number (a damaged row)
    # sorts last instead of first.
    newest_first="CASE WHEN typeof(created_at) IN ('real', 'integer') THEN created_at END DESC NULLS LAST, "
                 "rowid DESC",
    run_id_prefix="run_id LIKE ? ESCAPE '\\'",
    # TOTAL, not SUM: a damaged cell counts as 0 instead of failing the sum.
    usage="SELECT scope, kind, COUNT(*), TOTAL(input_tokens), TOTAL(output_tokens), TOTAL(cost_usd), "
          "TOTAL(cost_usd IS NULL AND status='ok') FROM entries WHERE run_id=? GROUP BY scope, kind "
          "ORDER BY scope, kind",
)


class SQLiteStore:
    """A journal file (or `":memory:"`, a string, for a journal in memory)."""

    sql = DIALECT
    commits_off_loop = False

    def __init__(self, path: Path | str) -> None:
        self._found_version = SCHEMA_VERSION
        if isinstance(path, str) and path == ":memory:":
            self.path: Path | str = Path(path)
            self.db = memory_database(LAYOUT)
            return
        self.path = Path(path)
        self.db = open_database(self.path, LAYOUT, check=self._check_schema_version)
        if self._found_version < SCHEMA_VERSION:
            try:
                migrate(self.db, self._found_version)
            except sqlite3.Error as exc:
                self.db.close()
                raise unreadable(exc, self.path, LAYOUT) from None
        if parts_dir(self.path).is_dir():  # what an eval's worker processes wrote beside it
            merge_parts(self.db, self.path)

    def _check_schema_version(self, db: sqlite3.Connection) -> None:
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        # No row: a journal made by an agentzoo that did not write its version yet.
        self._found_version = 1 if row is None else checked_version(row[0], self.path)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise unreadable(exc, Path(self.path), LAYOUT) from None

    def write(self, ops: Sequence[tuple[str, Rows]]) -> None:
        try:
            write_together(self.db, ops)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise DuplicateRow(str(exc)) from None
            raise

    def integrity_check(self) -> str:
        return self.query("PRAGMA integrity_check")[0][0]

    def close(self) -> None:
        self.db.close()
