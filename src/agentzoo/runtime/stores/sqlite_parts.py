"""A journal file's parts: journals that other processes of one eval write beside it, merged into it.

Two processes that commit to one SQLite file take turns for its write lock, and each finds the
other's commits when it next reads, which empties its page cache: with `eval --workers 2` that
cost each process a third more CPU and as much wall time as the second core gave back. So an
eval's worker process writes its own file, a *part*, in `<journal>.parts/`, with the same schema
and the same group commit (nothing is less durable), and the parts are merged into the journal
(runs, entries and blobs copied in one transaction, then the part removed) when the eval ends,
and whenever the journal file is opened (`SQLiteStore`), so that nothing a killed eval's workers
committed is missing from `show`, `replay`, a report or the next eval.

A part's writer holds an exclusive `flock` on `<part>.lock` for as long as its process lives (the
kernel drops it when the process dies, even by `kill -9`); a part whose lock is held is being
written and is left alone. Merging is idempotent: a part merged but not yet removed (a crash in
between) is merged again to the same rows.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import sqlite3
import urllib.parse
from pathlib import Path

from ...errors import AgentzooError

log = logging.getLogger(__name__)

# What a merge does on a row that is already there: a run's row and its entries are the part's to
# write (its process made the run), a blob is the same text under the same hash wherever it is.
_MERGED = (("runs", "REPLACE"), ("entries", "REPLACE"), ("blobs", "IGNORE"))


def parts_dir(journal: Path) -> Path:
    return journal.with_name(journal.name + ".parts")


class Part:
    """A new part of `journal` for this process to write: `path` is a journal file, held (its lock
    taken) until `release` or the end of the process."""

    def __init__(self, journal: Path) -> None:
        folder = parts_dir(journal)
        folder.mkdir(exist_ok=True)
        stem = f"{os.getpid()}-{secrets.token_hex(4)}"
        # The lock first: a part file that exists has a lock that is, or was, held by its writer.
        self._fd: int | None = os.open(folder / f"{stem}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.path = folder / f"{stem}.db"

    def release(self) -> None:
        """Done writing (its journal closed): the part may be merged."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def merge_parts(db: sqlite3.Connection, journal: Path) -> int:
    """Copy every part of `journal` that no live process holds into `db` (the journal's open
    connection) and remove it; the number merged. A part that cannot be read is left where it is,
    with a warning that names it."""
    folder = parts_dir(journal)
    if not folder.is_dir():
        return 0
    merged = 0
    for part in sorted(folder.glob("*.db")):
        try:
            fd = os.open(part.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:  # a folder this user may only read: the parts stay, the journal opens
            log.warning("journal part %s was not merged into %s: %s", part, journal, exc)
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is writing it
            try:
                _merge(db, part)
            except (sqlite3.Error, AgentzooError, OSError) as exc:
                log.warning("journal part %s was not merged into %s: %s", part, journal, exc)
                continue
            for leftover in (part, Path(f"{part}-wal"), Path(f"{part}-shm"), part.with_suffix(".lock")):
                leftover.unlink(missing_ok=True)
            merged += 1
        finally:
            os.close(fd)
    try:
        folder.rmdir()  # only if empty: a live part keeps it
    except OSError:
        pass
    return merged


def _merge(db: sqlite3.Connection, part: Path) -> None:
    from .sqlite import SQLiteStore

    SQLiteStore(part).close()  # a part is checked and, from an older agentzoo, migrated like any journal
    db.execute("ATTACH DATABASE ? AS part", ("file:" + urllib.parse.quote(str(part.resolve())) + "?mode=rw",))
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, on_conflict in _MERGED:
                mine = _columns(db, "main", table)
                theirs = set(_columns(db, "part", table))
                # not `id`: the journal numbers its own entries
                columns = ", ".join(c for c in mine if c in theirs and c != "id")
                order = " ORDER BY id" if table == "entries" else ""  # a run's entries keep their order
                db.execute(f"INSERT OR {on_conflict} INTO main.{table} ({columns}) "
                           f"SELECT {columns} FROM part.{table}{order}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    finally:
        db.execute("DETACH DATABASE part")


def _columns(db: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA {schema}.table_info({table})")]
