"""Test-suite guard rails: no real model calls, journals in temporary folders."""

from __future__ import annotations

import os

import pytest

# Any non-loopback model endpoint raises RealModelCallRefused while this is set.
os.environ["AGENTZOO_OFFLINE"] = "1"
for _key in ("OPENAI_API_KEY", "AGENTZOO_MODEL", "AGENTZOO_API_KEY", "OPENAI_BASE_URL", "AGENTZOO_PRICES"):
    os.environ.pop(_key, None)


@pytest.fixture
def journal(tmp_path):
    from agentzoo import Journal

    with Journal(tmp_path / "journal.db") as j:
        yield j


@pytest.fixture(autouse=True)
def _journal_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTZOO_JOURNAL", str(tmp_path / "cli-journal.db"))


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the whole session (tests/helpers/postgres.py), stopped at the end.
    Skipped only where PostgreSQL's server or psycopg is not installed (scripts/install-system-packages and
    the dev extra install them; CI has both)."""
    from helpers import postgres as pg

    if pg.bin_dir() is None:
        pytest.skip("PostgreSQL's server (initdb, pg_ctl) is not installed: run scripts/install-system-packages")
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[dev]'")
    server = pg.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres):
    """A PostgreSQL journal URL of its own for one test: a new schema on the session's server."""
    import uuid

    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres.socket_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{postgres.url}?options=-csearch_path%3D{schema}"
