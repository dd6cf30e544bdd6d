"""What a journal store is: the database behind `Journal`, and the SQL that differs between them.

`Journal` owns what an entry is (encoding, group commit, checked readers); a store owns the
connection, the transaction, the schema and its version, and turns the database's own failures into
typed agentzoo errors naming the journal. The statements `Journal` sends are written once, with `?`
placeholders, in the SQL both SQLite and PostgreSQL speak (`INSERT ... ON CONFLICT`, `LIKE ... ESCAPE`);
what cannot be said the same way is a field of `Dialect`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..entry import SCHEMA_VERSION
from ...errors import CorruptJournalError, JournalError

RUN_COLUMNS = ("run_id, created_at, updated_at, status, task, config, config_hash, parent_id, fork_point, "
               "answer, error, schema_version, agentzoo_version, label")
ENTRY_COLUMNS = ("run_id, scope, seq, kind, name, request, request_hash, result, status, error, "
                 "input_tokens, output_tokens, cost_usd, started_at, ended_at, side_effects")
TABLES = {"meta": ("key", "value"), "runs": tuple(RUN_COLUMNS.split(", ")),
          "entries": ("id", *ENTRY_COLUMNS.split(", ")), "blobs": ("hash", "body")}


@dataclass(frozen=True)
class Dialect:
    """The statements (or parts) that differ between the stores."""

    newest_first: str
    """ORDER BY terms: runs newest first, a tie broken by the order they were added."""
    run_id_prefix: str
    """A WHERE condition on one parameter, a LIKE pattern: the runs whose id starts with a prefix."""
    usage: str
    """Per (scope, kind) of one run (the parameter): count, input tokens, output tokens, cost, and the
    successful calls with no price; sums of nothing are 0."""


Rows = Iterable[Sequence[Any]]


class DuplicateRow(Exception):
    """A write would add a second row with the same key (a run id, or an entry's (run, scope, seq))."""


class Store(Protocol):
    """A journal's database. One per `Journal`; safe to call from several threads (reads)."""

    path: Path | str
    """What messages name: the file (`Path`), or the server's URL with its password masked."""
    sql: Dialect
    commits_off_loop: bool
    """A write waits on a server: the journal's group commits run in a worker thread, so the event loop
    goes on meanwhile. False where a commit is a few microseconds of CPU (a thread hop would cost more)."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read. A failure is a typed error naming the journal."""

    def write(self, ops: Sequence[tuple[str, Rows]]) -> None:
        """Each statement run once per row of parameters, all in one transaction: all are in the
        database when this returns, or none. A second row with a unique key is `DuplicateRow`."""

    def integrity_check(self) -> str:
        """"ok", or what is wrong with the database."""

    def close(self) -> None: ...


def checked_version(value: Any, name: Path | str) -> int:
    """The schema version a journal's `meta` holds, refused if newer than this agentzoo reads."""
    try:
        version = int(value)
    except (TypeError, ValueError):
        raise CorruptJournalError(f"journal {name} is damaged: its schema_version is {value!r}, "
                                  "not a number") from None
    if version > SCHEMA_VERSION:
        raise JournalError(f"journal {name} has schema version {value}; this agentzoo reads "
                           f"up to {SCHEMA_VERSION}: upgrade agentzoo")
    return version
