"""Where finished samples are recorded: one SQLite row per sample, written last and atomically.

A row exists only for a sample that ran to its end and was scored, so a rerun of the same eval
skips exactly those; a sample that died half way has no row and runs again.

Rows that end in the same turn of the event loop share one transaction, committed when that turn
ends, before the loop waits for anything (a commit per row was most of what a worker's sample cost
the eval's parent process); outside an event loop a row is committed at once.

A row that cannot be read back (not JSON, not an object, a field of the wrong type) counts as
not done: a rerun of the same eval runs that sample again and replaces the row. Readers get the
rows that are fine and a sentence per row that is not (`rows(problems)`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .. import _json
from ..errors import CorruptResultsError
from ..runtime.dbfile import Layout, is_utf8, open_database, unreadable, write_together

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    key TEXT PRIMARY KEY,
    row TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
LAYOUT = Layout(what="results database", schema=SCHEMA,
                tables={"samples": ("key", "row", "finished_at"), "meta": ("name", "value")},
                corrupt=CorruptResultsError)

# The fields a report reads, and the JSON types they must have: required text first, then
# optional fields (None is fine) that a report sums, counts or writes as typed Parquet columns.
_REQUIRED = ("key", "env", "task", "agent", "model")
_INT, _NUMBER = (int,), (int, float)
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "seed": _INT, "input_tokens": _INT, "output_tokens": _INT, "unpriced_calls": _INT, "model_calls": _INT,
    "tool_calls": _INT, "attempts": _INT, "model_retries": _INT, "reward": _NUMBER, "cost_usd": _NUMBER, "wall_seconds": _NUMBER,
    "success": (bool,), "infra_error": (bool,), "status": (str,), "run_id": (str,), "answer": (str,),
    "error": (dict,), "score": (dict,), "scopes": (dict,), "model_latencies": (list,),
}


class ResultStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = open_database(self.path, LAYOUT)
        self._pending: list[tuple[str, str, float]] = []
        """Rows put in this turn of the event loop, not yet committed."""
        self._flush_at_turn_end = False
        self._failed: BaseException | None = None
        """A commit that failed at the end of a turn, raised by the next call (a loop callback cannot)."""

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self.flush()
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise unreadable(exc, self.path, LAYOUT) from None

    def done(self) -> dict[str, tuple[bool, float]]:
        """Samples that ran to the end, each with whether it succeeded and what it cost; one that
        failed on infrastructure every time, or whose row cannot be read, runs again."""
        done = {}
        for key, text in self._query("SELECT key, row FROM samples"):
            row, _ = _decode(key, text)
            if row is not None and row.get("status") != "infra_error":
                done[key] = (bool(row.get("success")), row.get("cost_usd") or 0.0)
        return done

    def put(self, row: dict[str, Any], finished_at: float) -> None:
        """Write a finished sample's row: now, or in a running event loop when this turn ends."""
        self._raise_failed()
        self._pending.append((row["key"], _json.dumps_str(row), finished_at))
        if self._flush_at_turn_end:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_at_turn_end = True
        loop.call_soon(self._flush_at_end_of_turn)

    def flush(self) -> None:
        """Commit the rows put and not yet committed."""
        self._raise_failed()
        rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            write_together(self._db, [("INSERT OR REPLACE INTO samples(key, row, finished_at) VALUES (?, ?, ?)", rows)])
        except BaseException:
            self._pending[:0] = rows  # still to write: the next flush (or close) tries them again
            raise

    def _flush_at_end_of_turn(self) -> None:
        self._flush_at_turn_end = False
        try:
            self.flush()
        except BaseException as exc:  # e.g. a full disk: the eval stops at its next row, not silently
            self._failed = exc

    def _raise_failed(self) -> None:
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed

    def rows(self, problems: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """The rows in the order they finished. A row that cannot be read raises
        `CorruptResultsError`; with `problems`, it is skipped and described there instead."""
        for key, text in self._query("SELECT key, row FROM samples ORDER BY finished_at, key"):
            row, problem = _decode(key, text)
            if row is not None:
                yield row
                continue
            message = f"results database {self.path}: {problem}"
            if problems is None:
                raise CorruptResultsError(message + "; rerun the same `agentzoo eval` to run that sample again")
            problems.append(message)

    def set_meta(self, name: str, value: Any) -> None:
        self.flush()
        self._db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", (name, _json.dumps_str(value)))

    def get_meta(self, name: str) -> Any:
        found = self._query("SELECT value FROM meta WHERE name=?", (name,))
        if not found:
            return None
        try:
            return _json.loads(found[0][0])
        except (orjson.JSONDecodeError, TypeError):
            raise CorruptResultsError(f"results database {self.path}: its {name!r} meta is not JSON; "
                                      "rerun the same `agentzoo eval` to write it again") from None

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()


def _decode(key: Any, text: Any) -> tuple[dict[str, Any] | None, str]:
    """The row, or None and what is wrong with it."""
    shown = repr(key) if isinstance(key, str) and is_utf8(key) else "with an unreadable key"
    if not isinstance(key, str) or not is_utf8(key):
        return None, f"the row {shown} cannot be read: its key is not text"
    if not isinstance(text, str):
        return None, f"the row {shown} cannot be read: it is {type(text).__name__}, not JSON text"
    try:
        row = _json.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, f"the row {shown} is not JSON ({exc})"
    if not isinstance(row, dict):
        return None, f"the row {shown} is a JSON {type(row).__name__}, not an object"
    problem = _check_fields(row)
    if problem:
        return None, f"the row {shown}: {problem}"
    if row["key"] != key:
        return None, f"the row {shown} says its key is {row['key']!r}"
    return row, ""


def _check_fields(row: dict[str, Any]) -> str:
    """What is wrong with a decoded row's fields, or ''."""
    for field in _REQUIRED:
        if not isinstance(row.get(field), str):
            return f"field {field!r} is {_shown(row.get(field))}, not text"
    for field, types in _OPTIONAL.items():
        value = row.get(field)
        if value is not None and not _is(value, types):
            return f"field {field!r} is {_shown(value)}, not {' or '.join(t.__name__ for t in types)}"
    for scope, usage in (row.get("scopes") or {}).items():
        if not isinstance(usage, dict) or not all(_is(v, _NUMBER) for v in usage.values() if v is not None):
            return f"scope {scope!r} of field 'scopes' is {_shown(usage)}, not an object of numbers"
    if not all(_is(x, _NUMBER) for x in row.get("model_latencies") or ()):
        return "field 'model_latencies' holds something that is not a number"
    return ""


def _is(value: Any, types: tuple[type, ...]) -> bool:
    # JSON true/false are Python bools, which are ints too: a bool is only a bool here.
    return isinstance(value, types) and (isinstance(value, bool) == (bool in types))


def _shown(value: Any) -> str:
    text = _json.dumps_str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def runs_journal(folder: str | Path, given: str | Path | None = None) -> str | Path:
    """Where the runs of the eval in `folder` are: `given` (a `--journal`), else where its meta says the eval
    wrote them (`journal_in`), else the folder's journal.db."""
    from ..errors import AgentzooError

    if given is not None:
        return given
    meta = None
    if (Path(folder) / "results.db").is_file():
        try:
            store = ResultStore(Path(folder) / "results.db")
        except AgentzooError:  # one that cannot be opened here: its own journal.db, as before evals kept this
            return Path(folder) / "journal.db"
        try:
            meta = store.get_meta("eval")
        finally:
            store.close()
    return journal_in(folder, meta)


def journal_in(folder: str | Path, meta: Any, given: str | Path | None = None) -> str | Path:
    """`runs_journal` for a caller that has read the eval's meta already: `given`, else the meta's `journal`
    (`eval --journal`), else the folder's journal.db. Runs in a PostgreSQL journal are a `ConfigError` asking
    for its URL: the folder keeps it with the password masked."""
    from ..errors import ConfigError
    from ..runtime.stores import is_url

    if given is not None:
        return given
    recorded = meta.get("journal") if isinstance(meta, dict) else None
    if not isinstance(recorded, str):
        return Path(folder) / "journal.db"
    if is_url(recorded):
        raise ConfigError(f"the runs of the eval in {folder} are in the PostgreSQL journal {recorded}: give its "
                          "URL with --journal")
    return Path(recorded)


def journal_record(journal: str | Path | None) -> str | None:
    """What an eval's meta keeps of its `--journal`: None for the results folder's own, a file as an
    absolute path, a URL with its password masked."""
    from ..runtime.stores import is_url, masked_url

    if journal is None:
        return None
    return masked_url(journal) if is_url(journal) else str(Path(journal).resolve())
