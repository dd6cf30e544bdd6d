"""The PostgreSQL store on a real server (the session's throwaway one, see conftest): URLs and their
failures (typed, the password never shown), the tables it makes or refuses, a connection that breaks in
the middle of a run, damaged cells named as on SQLite, and the ways a user names such a journal
($AGENTZOO_JOURNAL, --journal URL)."""

from __future__ import annotations

import os
import time

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[dev]'")

import agentzoo  # noqa: E402
from agentzoo import Journal
from agentzoo.errors import ConfigError, CorruptJournalError, JournalError, JournalUnavailableError
from agentzoo.runtime.entry import Entry, RunInfo
from agentzoo.runtime.stores import masked_url

from test_both_stores import adder  # noqa: E402 - tests/stores is on sys.path


def sql(url: str, statement: str, params=()) -> list:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def test_masked_url_hides_the_password_wherever_it_is():
    assert masked_url("postgresql://ada:s3cret@db:5432/j") == "postgresql://ada:***@db:5432/j"
    assert masked_url("postgres://ada@db/j?sslmode=require&password=s3cret") == \
        "postgres://ada@db/j?sslmode=require&password=***"
    assert masked_url("postgresql:///j?host=/run/pg") == "postgresql:///j?host=/run/pg"


@pytest.mark.parametrize("change, why", [
    (lambda s: s.url.replace(s.password, "not-the-password"), "password authentication failed"),
    (lambda s: s.url.rsplit("/", 1)[0] + "/no_such_db", 'database "no_such_db" does not exist'),
    (lambda s: s.url.replace(f":{s.port}/", ":1/"), "Connection refused"),
], ids=["wrong-password", "missing-database", "no-server"])
def test_a_server_that_cannot_be_used_is_a_typed_error_naming_the_url_without_its_password(postgres, change, why):
    url = change(postgres)
    with pytest.raises(JournalUnavailableError, match=why) as caught:
        Journal(url)
    message = str(caught.value)
    assert masked_url(url) in message and postgres.password not in message and "not-the-password" not in message
    assert caught.value.infrastructure


def test_without_psycopg_a_url_says_what_to_install(monkeypatch):
    from agentzoo.runtime.stores import postgres as store

    monkeypatch.setattr(store, "psycopg", None)
    with pytest.raises(ConfigError, match=r"pip install 'agentzoo\[postgres\]'") as caught:
        Journal("postgresql://ada:s3cret@db.example/j")
    assert "s3cret" not in str(caught.value) and "ada:***@db.example" in str(caught.value)


def test_a_url_libpq_cannot_read_is_a_config_error(postgres):
    with pytest.raises(ConfigError, match=r"not a PostgreSQL URL .*flavour"):
        Journal(f"postgresql://agentzoo:{postgres.password}@127.0.0.1:{postgres.port}/postgres?flavour=x")


def test_the_tables_are_made_on_first_use_in_the_schema_the_url_names(postgres_url):
    schema = postgres_url.rsplit("%3D", 1)[1]
    with Journal(postgres_url.replace("postgresql://", "postgres://", 1)) as journal:
        assert journal.path == masked_url(postgres_url).replace("postgresql://", "postgres://", 1)
        journal.create_run(RunInfo(run_id="r1", created_at=time.time()))
    tables = sql(postgres_url, "SELECT table_name FROM information_schema.tables WHERE table_schema=%s", (schema,))
    assert {t for (t,) in tables} == {"meta", "runs", "entries", "blobs"}
    with Journal(postgres_url) as journal:  # opened again: the same journal
        assert journal.get_run("latest").run_id == "r1"


def test_many_processes_opening_a_new_database_at_once_make_the_tables_once(postgres_url):
    import threading

    errors, opened = [], []

    def open_one():
        try:
            opened.append(Journal(postgres_url))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(opened) == 8
    for journal in opened:
        journal.close()


def test_tables_of_another_app_are_refused_and_left_as_they_were(postgres_url):
    sql(postgres_url, "CREATE TABLE meta (name TEXT, size INTEGER)")
    with pytest.raises(CorruptJournalError, match="not an agentzoo journal's") as caught:
        Journal(postgres_url)
    assert "search_path" in str(caught.value)  # says how to keep the journal apart
    assert {t for (t,) in sql(postgres_url, "SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = current_schema()")} == {"meta"}


def test_a_damaged_journal_and_a_newer_one_are_refused(postgres_url):
    Journal(postgres_url).close()
    sql(postgres_url, "ALTER TABLE runs DROP COLUMN label")
    with pytest.raises(CorruptJournalError, match="table 'runs' lacks column label"):
        Journal(postgres_url)
    sql(postgres_url, "ALTER TABLE runs ADD COLUMN label TEXT")
    sql(postgres_url, "UPDATE meta SET value='abc' WHERE key='schema_version'")
    with pytest.raises(CorruptJournalError, match="schema_version is 'abc'"):
        Journal(postgres_url)
    sql(postgres_url, "UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(JournalError, match="schema version 99"):
        Journal(postgres_url)


async def test_a_connection_that_breaks_mid_run_loses_nothing_and_the_next_commit_reconnects(postgres, postgres_url):
    journal = Journal(postgres_url)
    journal.create_run(RunInfo(run_id="r1", created_at=time.time()))
    journal.put(Entry("r1", "", 0, "tool", "t", {}, "h0", {"x": 0}))
    journal.put(Entry("r1", "", 1, "tool", "t", {}, "h1", {"x": 1}), commit=False)
    # The server drops this journal's connection (a restart, a failover, an idle timeout).
    sql(postgres.socket_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name='agentzoo'")
    with pytest.raises(JournalUnavailableError, match="cannot write") as caught:
        journal.put(Entry("r1", "", 2, "tool", "t", {}, "h2", {"x": 2}))
    assert postgres.password not in str(caught.value)
    journal.put(Entry("r1", "", 3, "tool", "t", {}, "h3", {"x": 3}))  # connects again; the waiting rows go in
    assert [e.seq for e in journal.entries("r1")] == [0, 1, 2, 3]
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.get_run("r1")


def test_text_with_a_nul_character_is_refused_with_a_journal_error(postgres_url):
    with Journal(postgres_url) as journal:
        journal.create_run(RunInfo(run_id="r1", created_at=time.time()))
        with pytest.raises(JournalError, match="cannot hold the NUL character"):
            journal.finish_run("r1", status="finished", answer="a\x00b")
        journal.finish_run("r1", status="finished", answer="ab")
        journal.put(Entry("r1", "", 0, "tool", "t", {"text": "a\x00b"}, "h", "c\x00d"))  # JSON escapes it
        assert journal.get("r1", "", 0).request == {"text": "a\x00b"} and journal.get_run("r1").answer == "ab"


# --- damaged cells: the JSON texts are what a typed column leaves to be damaged ---------------


async def _two_runs(url: str) -> list[str]:
    with Journal(url) as journal:
        return [(await agentzoo.run(adder(4), task, journal=journal)).run_id for task in ("first", "second")]


@pytest.mark.parametrize("statement, why", [
    ("UPDATE runs SET config='{not json' WHERE run_id=%s", "column config holds text '{not json', which is not JSON"),
    ("UPDATE runs SET fork_point='7' WHERE run_id=%s", "column fork_point holds JSON int"),
])
async def test_a_damaged_run_is_named_and_hides_no_other(postgres_url, statement, why):
    ids = await _two_runs(postgres_url)
    sql(postgres_url, statement, (ids[0],))
    with Journal(postgres_url) as journal:
        listed = {r.run_id: r for r in journal.list_runs()}
        assert listed[ids[0]].status == "corrupt" and why in listed[ids[0]].error["message"]
        assert listed[ids[1]].status == "finished"
        with pytest.raises(CorruptJournalError, match=why) as caught:
            journal.get_run(ids[0])
        assert caught.value.run_id == ids[0] and masked_url(postgres_url) in str(caught.value)


@pytest.mark.parametrize("statement, why", [
    ("UPDATE entries SET result='not json' WHERE run_id=%s AND seq=1",
     "column result holds text 'not json', which is not JSON"),
    ("UPDATE entries SET status='maybe' WHERE run_id=%s AND seq=1",
     "column status holds text 'maybe' where ok, error or started belongs"),
    ("DELETE FROM entries WHERE run_id=%s AND seq=0", "builds on the model request at seq 0, which is missing"),
    ("DELETE FROM blobs", "its tools are the blob .*, which is missing"),
])
async def test_a_damaged_entry_is_named_by_run_scope_seq_and_column(postgres_url, statement, why):
    ids = await _two_runs(postgres_url)
    sql(postgres_url, statement, (ids[0],) if "%s" in statement else ())
    with Journal(postgres_url) as journal:
        problems = []
        readable = list(journal.entries(ids[0], problems=problems))
        assert problems and len(readable) + len(problems) <= 7
        error = problems[0]
        assert isinstance(error, CorruptJournalError) and error.run_id == ids[0] and error.scope == ""
        assert f"seq {error.seq}" in str(error)
        with pytest.raises(CorruptJournalError, match=why):
            list(journal.entries(ids[0]))


# --- naming a PostgreSQL journal -------------------------------------------------------------


def test_agentzoo_journal_may_hold_a_url(postgres_url, monkeypatch):
    monkeypatch.setenv("AGENTZOO_JOURNAL", postgres_url)
    with Journal() as journal:
        assert journal.path == masked_url(postgres_url)
        journal.create_run(RunInfo(run_id="r-env", created_at=time.time()))
    with Journal(postgres_url) as journal:
        assert journal.get_run("r-env").run_id == "r-env"


def test_the_command_line_takes_a_url_for_journal_and_never_prints_its_password(postgres_url):
    import subprocess
    import sys

    def az(*args):
        out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", *args, "--journal", postgres_url],
                             capture_output=True, text=True, timeout=120, env=dict(os.environ, COLUMNS="200"))
        assert out.returncode == 0, out.stderr
        assert postgres_url.split(":")[2].split("@")[0] not in out.stdout + out.stderr  # the password
        return out.stdout

    demo = az("demo", "--scripted")
    assert "replay: the same outcome" in demo and "journal " + masked_url(postgres_url) in demo
    assert "diverged from" in az("fork", "latest", "--system", "Be terse.")
    with Journal(postgres_url) as journal:
        runs = journal.list_runs()
        assert len(runs) == 2 and runs[0].parent_id == runs[1].run_id
    assert '"kind":"tool"' in az("show", "latest", "--json")


def test_ctrl_c_names_the_resume_command_with_the_url_masked(postgres_url, tmp_path):
    from rich.console import Console

    from agentzoo.cli import render

    with Journal(postgres_url) as journal:
        render.EntryPrinter(Console(file=open(os.devnull, "w"))).on_run("r-1", "live", journal)
    assert render.interrupted_message(postgres_url).plain.endswith("agentzoo resume r-1")  # the default journal
    other = render.interrupted_message(tmp_path / "journal.db").plain
    assert f"agentzoo resume r-1 --journal '{masked_url(postgres_url)}'" in other


# --- group commits on a server: written by a worker thread, the loop goes on ---------------


async def test_group_commits_are_written_off_the_loop_and_no_result_is_used_before_its_commit(postgres_url):
    import asyncio
    import threading

    from agentzoo import Gateway, Scope

    journal = Journal(postgres_url)
    gateway = Gateway(run_id="r", journal=journal)
    real_write, writes, performed = journal._store.write, [], []

    def slow_write(ops):  # a server far away: each transaction takes a while
        before = len(performed)
        time.sleep(0.3)
        real_write(ops)
        writes.append((threading.current_thread().name, len(performed) - before))

    journal._store.write = slow_write
    reader = psycopg.connect(postgres_url, autocommit=True)
    seen = []

    async def one(i):
        async def perform():
            await asyncio.sleep(0.02 * i)
            performed.append(i)
            return {"i": i}

        result = await gateway.effect(Scope(f"w{i}"), "tool", "t", {"i": i}, perform)
        # Used only once its entry is in the database (read by another connection).
        seen.append(reader.execute("SELECT COUNT(*) FROM entries WHERE scope=%s", (f"w{i}",)).fetchone()[0])
        return result

    results = await asyncio.gather(*(one(i) for i in range(6)))
    assert [r["i"] for r in results] == list(range(6)) and seen == [1] * 6
    assert all(name.startswith("agentzoo-journal") for name, _ in writes)
    # The loop went on while the first transaction was in flight, and what finished meanwhile went in
    # together with the next one (not one transaction each).
    assert writes[0][1] > 0 and len(writes) < 6
    reader.close()
    journal.close()


async def test_a_failed_group_commit_on_a_server_fails_its_effects_and_keeps_their_entries(postgres, postgres_url):
    from agentzoo import Gateway, Scope

    journal = Journal(postgres_url)
    gateway = Gateway(run_id="r", journal=journal)
    sql(postgres.socket_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name='agentzoo'")

    async def perform():
        return {"ok": True}

    with pytest.raises(JournalUnavailableError):
        await gateway.effect(Scope(""), "tool", "t", {}, perform)
    journal.commit()  # connected again: the entry waited in memory and goes in now
    assert [e.result for e in journal.entries("r")] == [{"ok": True}]
    journal.close()
