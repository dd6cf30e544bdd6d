"""The journal store on a PostgreSQL server (psycopg 3): many processes and machines write to one journal.

- **Where.** A libpq URL, `postgresql://user:password@host:port/database?param=value` (or `postgres://`),
  so whatever libpq reads works too: `sslmode`, a unix-socket folder as `host=`, `PGPASSWORD`,
  `~/.pgpass`, `options=-csearch_path=myschema` to keep the tables in a schema of their own. Every
  message names the URL with its password masked.
- **Tables** are made on first use under an advisory lock, so that a hundred workers opening a new
  database at once do not race. A database whose tables of these names are not a journal's is refused
  and left untouched (put the journal in its own schema). Columns are typed (double precision times,
  bigint tokens): the only cells that can hold what agentzoo did not write are the JSON texts, which
  the journal's readers check as they do on SQLite.
- **Concurrency.** Each write is one transaction (READ COMMITTED): entries upsert on
  (run_id, scope, seq), keeping their id and so their order, as on SQLite; blobs are inserted or left as
  they are, in hash order, so two writers of the same blobs wait for each other instead of
  deadlocking; a run's id is unique. Runs written by different processes share no rows but blobs.
  A transaction is sent as one pipeline (BEGIN, the statements, COMMIT): one round trip, not one per
  statement, which is what a group commit costs on a server across the network.
- **Failures** are typed: a server that cannot be reached, a refused password, a missing database or a
  connection that broke is `JournalUnavailableError` (the journal keeps the entries it could not write,
  and the next call connects again); a table changed under us is `CorruptJournalError`.
- **One difference from SQLite:** PostgreSQL text cannot hold the NUL character. JSON cells escape it;
  a run's task, answer or label holding one is refused with a `JournalError` saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ...errors import ConfigError, CorruptJournalError, JournalError, JournalUnavailableError
from ..entry import SCHEMA_VERSION
from . import masked_url
from .base import TABLES, Dialect, DuplicateRow, Rows, checked_version

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.conninfo import conninfo_to_dict
except ModuleNotFoundError:  # the `postgres` extra is not installed
    psycopg = None  # type: ignore[assignment]

INSTALL = "a PostgreSQL journal needs psycopg: pip install 'agentzoo[postgres]'"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
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
        label TEXT,
        row_id BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
    )""",
    # row_id: the order runs were added, to break ties of created_at as SQLite's rowid does.
    "CREATE INDEX IF NOT EXISTS runs_newest ON runs (created_at, row_id)",
    """CREATE TABLE IF NOT EXISTS entries (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION,
        started_at DOUBLE PRECISION NOT NULL,
        ended_at DOUBLE PRECISION NOT NULL,
        side_effects SMALLINT NOT NULL,
        UNIQUE (run_id, scope, seq)
    )""",
    # A run's entries in the order they were written, a page at a time, without sorting the run.
    "CREATE INDEX IF NOT EXISTS entries_in_order ON entries (run_id, id)",
    "CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, body TEXT NOT NULL)",
    f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}') ON CONFLICT DO NOTHING",
)
_SCHEMA_LOCK = int.from_bytes(b"agentzoo", "big")  # the advisory lock held while the tables are made

DIALECT = Dialect(
    newest_first="created_at DESC, row_id DESC",
    # ILIKE: SQLite's LIKE ignores the case of ASCII letters, and a prefix must find the same runs on both.
    run_id_prefix="run_id ILIKE ? ESCAPE '\\'",
    # Sums of bigint are numeric (Decimal): cast back. Scopes in byte order, as SQLite sorts them.
    usage="SELECT scope, kind, COUNT(*), COALESCE(SUM(input_tokens), 0)::BIGINT, "
          "COALESCE(SUM(output_tokens), 0)::BIGINT, COALESCE(SUM(cost_usd), 0)::DOUBLE PRECISION, "
          "COUNT(*) FILTER (WHERE cost_usd IS NULL AND status = 'ok') FROM entries WHERE run_id=? "
          "GROUP BY scope, kind ORDER BY scope COLLATE \"C\", kind COLLATE \"C\"",
)


@lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """A statement written with `?` placeholders, in psycopg's `%s` style."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresStore:
    """A journal in a PostgreSQL database. One connection, opened again if it breaks."""

    sql = DIALECT
    commits_off_loop = True

    def __init__(self, url: str) -> None:
        self.path: str = masked_url(url)
        if psycopg is None:
            raise ConfigError(f"cannot open journal {self.path}: {INSTALL}")
        self._url = url
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise ConfigError(f"journal {self.path} is not a PostgreSQL URL libpq reads: "
                              f"{self._scrub(str(exc))}") from None
        self._password = params.get("password") or ""
        self._connect_options: dict[str, Any] = {"autocommit": True, "client_encoding": "utf8",
                                                 "application_name": params.get("application_name", "agentzoo")}
        if "connect_timeout" not in params:
            self._connect_options["connect_timeout"] = 10  # libpq's default is to wait forever
        self._lock = threading.Lock()
        self._closed = False
        self._conn = self._connect()
        try:
            self._prepare()
        except BaseException:
            self._conn.close()
            raise

    # --- connection ---------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._url, **self._connect_options)
        except psycopg.Error as exc:
            raise self._typed(exc, "cannot connect") from None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise JournalError(f"journal {self.path} is closed")
        if self._conn.closed:  # it broke (the server restarted, the network dropped): try again
            self._conn = self._connect()
        return self._conn

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if getattr(self, "_password", "") else text

    def _typed(self, exc: BaseException, doing: str) -> Exception:
        """The agentzoo error for a psycopg failure (`DuplicateRow` for a unique key)."""
        message = self._scrub(str(exc).strip().removeprefix("connection failed: "))
        if isinstance(exc, pg_errors.UniqueViolation):
            return DuplicateRow(message)
        if isinstance(exc, psycopg.OperationalError):
            if "does not exist" in message and "database" in message:
                message += " (create it first: createdb, or CREATE DATABASE)"
            return JournalUnavailableError(f"journal {self.path}: {doing}: {message}")
        if isinstance(exc, (pg_errors.UndefinedTable, pg_errors.UndefinedColumn)):
            return CorruptJournalError(f"journal {self.path} is damaged: {message}")
        if isinstance(exc, psycopg.DataError) and "NUL" in message:
            return JournalError(f"journal {self.path}: {doing}: PostgreSQL text cannot hold the NUL character "
                                "(\\x00), and a value to write has one")
        if isinstance(exc, UnicodeEncodeError):
            return JournalError(f"journal {self.path}: {doing}: a value to write is not valid Unicode ({exc})")
        return JournalError(f"journal {self.path}: {doing}: {message}")

    # --- schema -------------------------------------------------------------------------------

    def _layout_problems(self, conn: psycopg.Connection[Any]) -> tuple[dict[str, set[str]], list[str]]:
        found: dict[str, set[str]] = {}
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = ANY(%s)", (list(TABLES),))
        for table, column in rows:
            found.setdefault(table, set()).add(column)
        problems = []
        for table, columns in TABLES.items():
            if table not in found:
                problems.append(f"no table {table!r}")
            elif missing := [c for c in columns if c not in found[table]]:
                problems.append(f"table {table!r} lacks column{'s' * (len(missing) > 1)} {', '.join(missing)}")
        return found, problems

    def _prepare(self) -> None:
        """Make the tables if there are none of them; check them and the schema version."""
        conn = self._conn
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                found, problems = self._layout_problems(conn)
                if not found:
                    for statement in SCHEMA:
                        conn.execute(statement)
                    problems = []
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() \
                    if not problems else None
        except psycopg.Error as exc:
            raise self._typed(exc, "cannot set up its tables") from None
        if problems:
            whole = [t for t in found if not any(p.startswith(f"table {t!r}") for p in problems)]
            if not whole:
                raise CorruptJournalError(f"{self.path} holds tables that are not an agentzoo journal's "
                                          f"({'; '.join(problems)}); give the journal a schema of its own "
                                          "(?options=-csearch_path%3Dagentzoo) or another database")
            raise CorruptJournalError(f"journal {self.path} is damaged: {'; '.join(problems)}")
        if row is None:
            raise CorruptJournalError(f"journal {self.path} is damaged: its meta table has no schema_version")
        version = checked_version(row[0], self.path)
        if version < SCHEMA_VERSION:
            raise JournalError(f"journal {self.path} has schema version {version}; a PostgreSQL journal "
                               f"is made at {SCHEMA_VERSION} and this agentzoo cannot migrate it")

    # --- the store ------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(_pg(sql), params).fetchall()
            except psycopg.Error as exc:
                raise self._typed(exc, "cannot read") from None

    def write(self, ops: Sequence[tuple[str, Rows]]) -> None:
        ops = [(sql, rows if isinstance(rows, list) else list(rows)) for sql, rows in ops]
        # Refused before it is sent: psycopg finds it while the pipeline is open, and then the pipeline
        # has to be torn down (and says so on the log).
        if any(type(v) is str and "\x00" in v for _, rows in ops for row in rows for v in row):
            raise self._typed(psycopg.DataError("NUL"), "cannot write")
        with self._lock:
            conn = self._connection()
            try:
                if len(ops) == 1 and len(ops[0][1]) == 1:
                    conn.execute(_pg(ops[0][0]), ops[0][1][0])  # autocommit: its own transaction, one round trip
                    return
                with conn.pipeline(), conn.transaction(), conn.cursor() as cursor:
                    for sql, rows in ops:
                        cursor.executemany(_pg(sql), rows)
            except (psycopg.Error, UnicodeEncodeError) as exc:
                raise self._typed(exc, "cannot write") from None

    def integrity_check(self) -> str:
        """The tables and columns are all there ("ok"), or what is missing. (The server keeps its files
        whole itself; there is no PRAGMA integrity_check to run.)"""
        with self._lock:
            conn = self._connection()
            try:
                _, problems = self._layout_problems(conn)
            except psycopg.Error as exc:
                raise self._typed(exc, "cannot read") from None
        return "; ".join(problems) or "ok"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()
