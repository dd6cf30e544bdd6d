"""Where finished samples are recorded: one SQLite row per sample, written last and atomically.

A row exists only for a sample that ran to its end and was scored, so a rerun of the same eval
skips exactly those; a sample that died half way has no row and runs again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import _json

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    key TEXT PRIMARY KEY,
    row TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class ResultStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def done_keys(self) -> set[str]:
        """Samples that ran to the end; one that failed on infrastructure every time runs again."""
        query = "SELECT key FROM samples WHERE json_extract(row, '$.status') != 'infra_error'"
        return {key for (key,) in self._db.execute(query)}

    def put(self, row: dict[str, Any], finished_at: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO samples(key, row, finished_at) VALUES (?, ?, ?)",
                         (row["key"], _json.dumps_str(row), finished_at))

    def rows(self) -> Iterator[dict[str, Any]]:
        for (text,) in self._db.execute("SELECT row FROM samples ORDER BY finished_at, key"):
            yield _json.loads(text)

    def set_meta(self, name: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", (name, _json.dumps_str(value)))

    def get_meta(self, name: str) -> Any:
        found = self._db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return _json.loads(found[0]) if found else None

    def close(self) -> None:
        self._db.close()
