"""The journal's behaviour, on both stores: every test taking `journal` runs on an SQLite file and on a
PostgreSQL database (a schema of its own on the session's throwaway server, see conftest)."""

import sqlite3
import time

import pytest

from agentzoo import Journal, _json
from agentzoo.errors import JournalError, RunNotFoundError, SerializationError
from agentzoo.runtime.entry import SCHEMA_VERSION, Entry, RunInfo
from agentzoo.types import Usage


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    """Where a journal is: a file, or a PostgreSQL URL."""
    return tmp_path / "journal.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
def journal(location):
    with Journal(location) as j:
        yield j


def poke(location, sql, params=()):
    """Run one statement on the journal's database beside agentzoo (`?` placeholders); its rows."""
    if isinstance(location, str):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    db = sqlite3.connect(location)
    try:
        rows = db.execute(sql, params).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def _run(journal, run_id="r1", **kw):
    journal.create_run(RunInfo(run_id=run_id, created_at=time.time(), task="t", config={"model": "m"}, **kw))


def test_entries_round_trip_in_write_order(journal):
    _run(journal)
    for scope, seq in [("", 0), ("team/coder#2", 0), ("", 1)]:
        journal.put(Entry("r1", scope, seq, "tool", "add", {"a": [1, 2]}, "h", {"content": "3"},
                          usage=Usage(5, 7), cost_usd=0.5, started_at=1.0, ended_at=2.5))
    got = list(journal.entries("r1"))
    assert [e.key for e in got] == [("", 0), ("team/coder#2", 0), ("", 1)]
    assert got[1] == Entry("r1", "team/coder#2", 0, "tool", "add", {"a": [1, 2]}, "h", {"content": "3"},
                           usage=Usage(5, 7), cost_usd=0.5, started_at=1.0, ended_at=2.5)
    assert journal.get("r1", "", 1).request == {"a": [1, 2]}
    assert journal.get("r1", "", 9) is None


def test_completing_a_started_entry_keeps_its_place(journal):
    _run(journal)
    journal.put(Entry("r1", "", 0, "tool", "write_file", {}, "h", status="started", side_effects=True))
    journal.put(Entry("r1", "", 1, "model", "m", {}, "h2", {"x": 1}))
    journal.put(Entry("r1", "", 0, "tool", "write_file", {}, "h", {"content": "ok"}, side_effects=True))
    assert [(e.seq, e.status) for e in journal.entries("r1")] == [(0, "ok"), (1, "ok")]


def test_lone_surrogates_and_nan_are_sanitised_objects_rejected(journal):
    _run(journal)
    journal.put(Entry("r1", "", 0, "tool", "t", {"text": "bad \udc80 byte", "x": float("nan")}, "h",
                      {"v": [float("inf"), 1.5]}))
    e = journal.get("r1", "", 0)
    assert e.request == {"text": "bad \ufffd byte", "x": None}
    assert e.result == {"v": [None, 1.5]}
    with pytest.raises(SerializationError, match=r"\$\.result\.when: object is not plain JSON"):
        _json.dumps({"result": {"when": object()}})
    with pytest.raises(SerializationError, match="key 1 is int"):
        _json.dumps({1: "x"})


def test_request_hash_ignores_key_order_but_not_values():
    assert _json.request_hash({"a": 1, "b": [1, 2]}) == _json.request_hash({"b": [1, 2], "a": 1})
    assert _json.request_hash({"a": 1}) != _json.request_hash({"a": 2})


def test_run_lookup_by_prefix_latest_and_clear_errors(journal):
    _run(journal, "20260101-000000-aaaaaa")
    _run(journal, "20260101-000000-aabbbb")
    assert journal.get_run("20260101-000000-aab").run_id == "20260101-000000-aabbbb"
    assert journal.get_run("latest").run_id == "20260101-000000-aabbbb"
    with pytest.raises(RunNotFoundError, match="matches several runs"):
        journal.get_run("20260101-000000-aa")
    with pytest.raises(RunNotFoundError, match="no run 'zzz'"):
        journal.get_run("zzz")


def test_run_metadata_carries_config_hash_and_schema_version(journal):
    _run(journal, config_hash="abc")
    journal.finish_run("r1", status="finished", answer="42")
    info = journal.get_run("r1")
    assert (info.status, info.answer, info.config_hash, info.schema_version) == ("finished", "42", "abc", SCHEMA_VERSION)


def test_wal_mode_and_integrity(tmp_path):
    with Journal(tmp_path / "journal.db") as journal:
        mode = sqlite3.connect(tmp_path / "journal.db").execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        assert journal.integrity_check() == "ok"


def test_integrity_check(journal):
    _run(journal)
    assert journal.integrity_check() == "ok"


def test_newer_schema_is_refused(location):
    Journal(location).close()
    poke(location, "UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(JournalError, match="schema version 99"):
        Journal(location)


def test_usage_by_scope(journal):
    _run(journal)
    journal.put(Entry("r1", "a", 0, "model", "m", {}, "h", {}, usage=Usage(10, 2), cost_usd=0.25))
    journal.put(Entry("r1", "a", 1, "tool", "t", {}, "h", {}))
    journal.put(Entry("r1", "b", 0, "model", "m", {}, "h", {}, usage=Usage(1, 1), cost_usd=None))
    usage = journal.usage_by_scope("r1")
    assert usage["a"] == {"model_calls": 1, "tool_calls": 1, "other_effects": 0, "input_tokens": 10,
                          "output_tokens": 2, "cost_usd": 0.25, "unpriced_calls": 0}
    assert usage["b"]["cost_usd"] == 0.0 and usage["b"]["model_calls"] == 1 and usage["b"]["unpriced_calls"] == 1


def test_run_ids_do_not_collide_when_thousands_start_at_once():
    from agentzoo.runtime.journal import new_run_id

    ids = {new_run_id() for _ in range(100_000)}
    assert len(ids) == 100_000


def test_duplicate_run_id_is_a_clear_error(journal):
    _run(journal, "r1")
    with pytest.raises(JournalError, match="already has a run 'r1'"):
        _run(journal, "r1")


def test_entries_put_without_commit_wait_for_the_next_commit_and_keep_their_order(location):
    journal = Journal(location)
    _run(journal)
    committed = lambda: [tuple(r) for r in poke(location, "SELECT scope, seq FROM entries ORDER BY id")]  # noqa: E731 - another connection: sees only what is committed
    journal.put(Entry("r1", "", 0, "model", "m", {}, "h0", {"x": 0}), commit=False)
    journal.put(Entry("r1", "", 1, "tool", "add", {}, "h1", {"x": 1}), commit=False)
    assert committed() == []  # still in memory
    journal.put(Entry("r1", "", 2, "model", "m", {}, "h2", {"x": 2}))  # a committing put takes them along
    assert committed() == [("", 0), ("", 1), ("", 2)]
    journal.put(Entry("r1", "", 3, "tool", "add", {}, "h3", {"x": 3}), commit=False)
    journal.finish_run("r1", status="finished", answer="6")  # the run's status goes in with them
    assert committed()[-1] == ("", 3)
    journal.put(Entry("r1", "", 4, "tool", "add", {}, "h4", {"x": 4}), commit=False)
    assert journal.get("r1", "", 4).result == {"x": 4}  # a read on the same journal commits first
    assert committed()[-1] == ("", 4)
    journal.close()


def test_a_failed_commit_loses_no_entry(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "j.db")
    _run(journal)
    journal.put(Entry("r1", "", 0, "model", "m", {}, "h0", {"x": 0}), commit=False)
    real = journal._store.db

    class Full:  # the disk fills up once, in the middle of the batch
        def __getattr__(self, name):
            return getattr(real, name)

        def executemany(self, *a):
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(journal._store, "db", Full())
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        journal.put(Entry("r1", "", 1, "model", "m", {}, "h1", {"x": 1}))
    monkeypatch.setattr(journal._store, "db", real)
    assert not real.in_transaction
    assert [e.seq for e in journal.entries("r1")] == [0, 1]
    assert journal.integrity_check() == "ok"
