"""Journal schema migrations, run when a journal file made by an older agentzoo is opened.

- 1 → 2: model requests are stored as the messages they add to the previous request of their scope
  and hashed as a chain (`request_codec`); the `blobs` table holds tool lists once. Each model entry's
  request and hash are rewritten in one transaction (a crash leaves schema 1 as it was). A row that
  cannot be read is left as it is: reading it names it, as before.
"""

from __future__ import annotations

import sqlite3

import orjson

from .. import _json
from .request_codec import RequestEncoder, is_model_request

_PAGE = 500


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring `db` from schema `version` to the current one, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, body TEXT NOT NULL)")
        if version < 2:
            _store_messages_once(db)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '2')")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _store_messages_once(db: sqlite3.Connection) -> None:
    encoders: dict[str, RequestEncoder] = {}
    last = -1
    while True:
        rows = db.execute("SELECT id, run_id, scope, seq, request FROM entries WHERE kind='model' AND id>? "
                          "ORDER BY id LIMIT ?", (last, _PAGE)).fetchall()
        updates, blobs = [], {}
        for row_id, run_id, scope, seq, raw in rows:
            if not (isinstance(run_id, str) and isinstance(scope, str) and type(seq) is int and isinstance(raw, str)):
                continue
            try:
                request = _json.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if not is_model_request("model", request):
                continue
            encoder = encoders.setdefault(run_id, RequestEncoder(by_value=True))
            encoded = encoder.encode(scope, seq, request)
            encoder.advance(encoded)
            blobs.update(encoded.blobs)
            updates.append((encoded.stored.decode(), encoded.digest, row_id))
        db.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?)", [(k, v.decode()) for k, v in blobs.items()])
        db.executemany("UPDATE entries SET request=?, request_hash=? WHERE id=?", updates)
        if len(rows) < _PAGE:
            return
        last = rows[-1][0]
