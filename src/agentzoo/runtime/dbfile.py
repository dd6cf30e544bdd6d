"""Opening agentzoo's SQLite files: the journal and an eval's `results.db`.

- A path is always a path. The SQLite library here reads a name starting with `file:` as a URI
  even when Python asks it not to, so `--journal 'file:x.db?mode=memory'` would be an in-memory
  database and the run lost. Every file is opened through a URI we build, with the whole path
  percent-escaped, so no part of the name can become a URI parameter.
- A new file is created whole (schema included) and private: see `agentzoo._files`.
- An existing file is checked before anything is written to it: not SQLite, empty, or without
  the tables and columns agentzoo writes is a typed error naming the file, and the file is left
  exactly as it was (no table is added to someone else's database).
- Text that is not UTF-8 in a cell comes back with its bad bytes as lone surrogates
  (surrogateescape) instead of failing the whole query, so one damaged row cannot hide the
  others; readers reject such a cell (`is_utf8`), and JSON parsing rejects it by itself.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import check_file_path, create_whole
from ..errors import AgentzooError, UnusablePathError


_TEXT = functools.partial(str, encoding="utf-8", errors="surrogateescape")  # C-level: no cost per cell


def is_utf8(text: str) -> bool:
    """False for text read from a cell that held bytes that are not UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Layout:
    """What one kind of agentzoo database must hold."""

    what: str
    """Its name in messages: "journal", "results database"."""
    schema: str
    """SQL that makes a new, empty one."""
    tables: dict[str, tuple[str, ...]]
    """The columns each table must have."""
    corrupt: Callable[[str], AgentzooError]
    """The error for a file (or row) that is not what agentzoo writes."""


# sqlite3 binds int, float, str and bytearray as they are and asks its adapters about anything else, None
# included: with no adapter for None, that asks the protocol for `__adapt__`, which raises and clears an
# AttributeError for every NULL bound (~1,200 instructions; an entry's row binds four or five). An adapter
# that gives None back costs a dict lookup instead. Added only where nobody registered one for None.
sqlite3.adapters.setdefault((type(None), sqlite3.PrepareProtocol), {}.get)


def connect(path: str | os.PathLike[str], *, create: bool = False) -> sqlite3.Connection:
    """A connection to the file at `path`, whatever characters its name holds."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + ("?mode=rwc" if create else "?mode=rw")
    # isolation_level=None: autocommit, one transaction per statement unless BEGIN is said.
    db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    db.text_factory = _TEXT
    return db


def memory_database(layout: Layout) -> sqlite3.Connection:
    """A new database of `layout` that lives in memory only (for runs nobody asked to keep)."""
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    db.text_factory = _TEXT
    db.executescript(layout.schema)
    return db


def open_database(path: str | os.PathLike[str], layout: Layout,
                  check: Callable[[sqlite3.Connection], None] | None = None) -> sqlite3.Connection:
    """Open (or create) the database at `path`, in WAL mode, after checking it is one of `layout`
    (and passes `check`, which may only read) without writing to it before."""
    path = Path(path)
    if not check_file_path(path, layout.what):
        create_whole(path, lambda tmp: _fill(tmp, layout.schema), layout.what)
    elif path.stat().st_size == 0:
        raise layout.corrupt(f"{layout.what} {path} is an empty file, not an agentzoo {layout.what}: "
                             "remove it, or name another file")
    try:
        db = connect(path)
    except sqlite3.Error as exc:
        raise unreadable(exc, path, layout) from None
    try:
        db.execute("PRAGMA busy_timeout=10000")  # other processes (eval workers) may write too
        check_layout(db, path, layout)
        if check is not None:
            check(db)
        db.execute("PRAGMA journal_mode=WAL")
        # A process crash loses nothing committed in WAL mode without an fsync per commit;
        # a power cut may lose the last commits but never corrupts.
        db.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        db.close()
        raise unreadable(exc, path, layout) from None
    except BaseException:
        db.close()
        raise
    return db


def _fill(tmp: Path, schema: str) -> None:
    db = connect(tmp, create=True)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # kept in the file's header
        db.executescript(schema)
    finally:
        db.close()


def check_layout(db: sqlite3.Connection, path: Path, layout: Layout) -> None:
    """Raise `layout.corrupt` unless every table and column of `layout` is there. Reads only."""
    found = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
             if isinstance(name, str)}
    if not found:  # a valid SQLite file with nothing in it: ours to set up
        db.executescript(layout.schema)
        return
    lacking, whole = [], 0
    for table, columns in layout.tables.items():
        if table not in found:
            lacking.append(f"no table {table!r}")
            continue
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in columns if c not in have]
        if missing:
            lacking.append(f"table {table!r} lacks column{'s' * (len(missing) > 1)} {', '.join(missing)}")
        else:
            whole += 1
    if not lacking:
        return
    if not whole:  # nothing of ours in it (a `meta` table is a common name)
        raise layout.corrupt(f"{path} is an SQLite database but not an agentzoo {layout.what} "
                             f"(its tables: {', '.join(sorted(found))})")
    raise layout.corrupt(f"{layout.what} {path} is damaged: {'; '.join(lacking)}")


def write_together(db: sqlite3.Connection, ops: Sequence[tuple[str, Iterable[Sequence[Any]]]]) -> None:
    """Each statement over its rows, in order, in one transaction; a single row is its statement's own
    (autocommit). On any failure nothing of it is written."""
    try:
        if len(ops) == 1 and isinstance(ops[0][1], list) and len(ops[0][1]) == 1:
            db.execute(ops[0][0], ops[0][1][0])
            return
        db.execute("BEGIN IMMEDIATE")
        for sql, rows in ops:
            db.executemany(sql, rows)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def unreadable(exc: sqlite3.Error, path: Path, layout: Layout) -> AgentzooError:
    """The typed error for an SQLite failure on `path`: a damaged file, or a file or folder that
    cannot be opened or written."""
    if type(exc) is sqlite3.DatabaseError:  # SQLITE_NOTADB, SQLITE_CORRUPT
        return layout.corrupt(f"{layout.what} {path} is not a readable SQLite database ({exc}); "
                              f"if it was one, `sqlite3 {path} .recover` may save what is left")
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc)
        folder = os.path.abspath(path.parent)
        if not os.access(folder, os.W_OK):
            return UnusablePathError(f"cannot use {layout.what} {path}: the folder {folder} is read-only "
                                     f"(SQLite writes its -wal and -shm files beside the {layout.what})")
        if "readonly" in message or not os.access(path, os.W_OK):
            return UnusablePathError(f"cannot use {layout.what} {path}: the file is read-only")
        return UnusablePathError(f"cannot use {layout.what} {path}: {message}")
    return layout.corrupt(f"{layout.what} {path}: {exc}")
