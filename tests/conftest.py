"""Test-suite guard rails: no real model calls, journals in temporary folders."""

from __future__ import annotations

import os

import pytest

# Any non-loopback model endpoint raises RealModelCallRefused while this is set.
os.environ["AGENTZOO_OFFLINE"] = "1"
for _key in ("OPENAI_API_KEY", "AGENTZOO_MODEL", "AGENTZOO_API_KEY", "OPENAI_BASE_URL", "AGENTZOO_PRICES"):
    os.environ.pop(_key, None)


if os.environ.get("AGENTZOO_EVENT_LOOP", "").strip().lower() == "uvloop":
    # The async tests run on asyncio's loop, as a program that calls asyncio.run has it;
    # `AGENTZOO_EVENT_LOOP=uvloop pytest` runs them on the command line's loop instead.
    def pytest_asyncio_loop_factories(config, item):
        import uvloop

        return {"uvloop": uvloop.new_event_loop}


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


# --- beside the suite's other processes (`pytest -n auto`) ----------------------------------------------------------
# The processes share the machine, and sandboxes share its `nobody` user: its process count is what RLIMIT_NPROC
# holds a sandbox to, so a fork bomb's expected end depends on no other sandbox starting meanwhile. A test marked
# `alone` runs while no test of another process does (an exclusive lock; every other test holds it shared). The
# turnstile makes new shared takers wait behind a waiting exclusive one, so it is not starved.


def pytest_configure(config):
    config.addinivalue_line("markers", "alone: run while no other test process runs a test (pytest -n)")


@pytest.fixture(scope="session")
def _suite_locks(request, tmp_path_factory):
    if not hasattr(request.config, "workerinput"):  # one process: nothing beside it
        yield None
        return
    shared = tmp_path_factory.getbasetemp().parent  # the run's temporary folder, above each process's own
    with open(shared / "suite.lock", "a") as main, open(shared / "suite.turnstile", "a") as turnstile:
        yield main.fileno(), turnstile.fileno()


@pytest.fixture(autouse=True)
def _beside_other_processes(request, _suite_locks):
    if _suite_locks is None:
        yield
        return
    import fcntl

    main, turnstile = _suite_locks
    fcntl.flock(turnstile, fcntl.LOCK_EX)
    try:
        fcntl.flock(main, fcntl.LOCK_EX if request.node.get_closest_marker("alone") else fcntl.LOCK_SH)
    finally:
        fcntl.flock(turnstile, fcntl.LOCK_UN)
    try:
        yield
    finally:
        fcntl.flock(main, fcntl.LOCK_UN)
