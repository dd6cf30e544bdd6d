"""A damaged journal: every way of being damaged is a typed error that names the file (and the run,
entry and column), the file is not touched by a failed open, and nothing that can still be read is
lost: the other runs list and open, the readable entries of a damaged run are still shown."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel, ToolCallingAgent, tool
from agentzoo.errors import CorruptJournalError, JournalError
from agentzoo.runtime.budgets import Budget

SRC = Path(__file__).resolve().parents[2] / "src"
SCRIPT = [{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]},
          {"tool_calls": [{"name": "add", "arguments": {"a": 3, "b": 4}}]}, "The sum is 10."]


@tool(touches=())
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def three_runs(path: Path) -> list[str]:
    """A journal with three finished runs (the middle one is the one the tests damage)."""
    with Journal(path) as journal:
        ids = []
        for task in ("first", "second", "third"):
            result = await agentzoo.run(ToolCallingAgent(ScriptedModel(SCRIPT), [add]), task, journal=journal)
            assert result.ok
            ids.append(result.run_id)
    return ids


def damage(path: Path, sql: str, *params) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.close()


def snapshot(journal: Journal, run_ids: list[str]) -> dict:
    return {rid: (journal.get_run(rid), list(journal.entries(rid))) for rid in run_ids}


# --- files that are not journals -----------------------------------------------------------


def _sqlite_of_another_app(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.execute("INSERT INTO users VALUES ('ada')")
    db.commit()
    db.close()


def _results_db(path: Path) -> None:
    from agentzoo.eval.store import ResultStore

    ResultStore(path).close()


def _journal_without(sql: str):
    def make(path: Path) -> None:
        Journal(path).close()
        damage(path, sql)
    return make


NOT_JOURNALS = [
    pytest.param(lambda p: p.write_bytes(b""), "is an empty file", id="empty-file"),
    pytest.param(lambda p: p.write_text("runs: []\n"), "not a readable SQLite database", id="text-file"),
    pytest.param(lambda p: p.write_bytes(os.urandom(8192)), "not a readable SQLite database", id="random-bytes"),
    pytest.param(lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), "not a readable SQLite database",
                 id="bad-header"),
    pytest.param(_sqlite_of_another_app, r"not an agentzoo journal \(its tables: users\)",
                 id="another-apps-database"),
    pytest.param(_results_db, "not an agentzoo journal", id="an-eval-results-db"),
    pytest.param(_journal_without("DROP TABLE entries"), "no table 'entries'", id="dropped-table"),
    pytest.param(_journal_without("ALTER TABLE runs DROP COLUMN label"), "table 'runs' lacks column label",
                 id="dropped-column"),
    pytest.param(_journal_without("UPDATE meta SET value='abc' WHERE key='schema_version'"),
                 "schema_version is 'abc'", id="schema-version-abc"),
    pytest.param(_journal_without("UPDATE meta SET value=X'FF00' WHERE key='schema_version'"),
                 "schema_version is", id="schema-version-blob"),
]


@pytest.mark.parametrize("make, why", NOT_JOURNALS)
def test_a_file_that_is_not_a_journal_is_a_typed_error_and_is_left_as_it_was(tmp_path, make, why):
    path = tmp_path / "journal.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(CorruptJournalError, match=why) as caught:
        Journal(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


async def test_a_truncated_journal_is_a_typed_error(tmp_path):
    path = tmp_path / "journal.db"
    await three_runs(path)
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptJournalError, match="journal.db") as caught:
        with Journal(path) as journal:  # page 1 may still read: then the first query says it
            journal.list_runs()
    assert "sqlite3" in str(caught.value) and ".recover" in str(caught.value)  # says what may help


def test_a_newer_schema_is_still_a_plain_journal_error(tmp_path):
    path = tmp_path / "j.db"
    _journal_without("UPDATE meta SET value='99' WHERE key='schema_version'")(path)
    with pytest.raises(JournalError, match="schema version 99") as caught:
        Journal(path)
    assert not isinstance(caught.value, CorruptJournalError)


# --- one damaged run among good ones -------------------------------------------------------

BAD_RUN_CELLS = [
    ("config", "{not json", "column config holds text '{not json', which is not JSON"),
    ("config", "[1, 2]", "column config holds JSON list"),
    ("error", "{", "column error holds text '{', which is not JSON"),
    ("created_at", "yesterday", "column created_at holds text 'yesterday' where a number belongs"),
    ("schema_version", "abc", "column schema_version holds text 'abc' where an integer belongs"),
    ("task", b"\xff\xfe bad", "column task holds a blob where text belongs"),
    ("answer", "CAST(X'FFFE' AS TEXT)", "column answer holds text that is not UTF-8"),
    ("fork_point", "7", "column fork_point holds JSON int"),
]


@pytest.mark.parametrize("column, value, why", BAD_RUN_CELLS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD_RUN_CELLS)])
async def test_one_damaged_run_is_marked_and_the_others_still_list_and_open(tmp_path, column, value, why):
    path = tmp_path / "journal.db"
    ids = await three_runs(path)
    with Journal(path) as journal:
        before = snapshot(journal, [ids[0], ids[2]])
        listed_before = {r.run_id: r for r in journal.list_runs()}
    if isinstance(value, str) and value.startswith("CAST("):
        damage(path, f"UPDATE runs SET {column}={value} WHERE run_id=?", ids[1])
    else:
        damage(path, f"UPDATE runs SET {column}=? WHERE run_id=?", value, ids[1])
    with Journal(path) as journal:
        listed = {r.run_id: r for r in journal.list_runs()}
        assert set(listed) == set(ids)  # one bad row hides nothing
        assert listed[ids[0]] == listed_before[ids[0]] and listed[ids[2]] == listed_before[ids[2]]
        marked = listed[ids[1]]
        assert marked.status == "corrupt" and marked.error["type"] == "CorruptJournalError"
        assert why in marked.error["message"] and str(path) in marked.error["message"]
        with pytest.raises(CorruptJournalError, match=why) as caught:
            journal.get_run(ids[1])
        assert caught.value.run_id == ids[1] and ids[1] in str(caught.value)
        assert snapshot(journal, [ids[0], ids[2]]) == before  # the good runs read exactly as before
        assert journal.get_run("latest").run_id == ids[2]


def test_the_runs_command_lists_every_run_and_marks_the_damaged_one(tmp_path):
    import asyncio

    path = tmp_path / "journal.db"
    ids = asyncio.run(three_runs(path))
    damage(path, "UPDATE runs SET config='{oops' WHERE run_id=?", ids[1])
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "runs", "--journal", str(path)],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(SRC), COLUMNS="300"))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    for run_id in ids:
        assert run_id in out.stdout
    assert "corrupt" in out.stdout


def test_a_run_id_that_is_not_text_is_listed_not_fatal(tmp_path):
    import asyncio

    path = tmp_path / "journal.db"
    ids = asyncio.run(three_runs(path))
    damage(path, "UPDATE runs SET run_id=X'00FF' WHERE run_id=?", ids[1])
    with Journal(path) as journal:
        runs = journal.list_runs()
        assert len(runs) == 3 and {r.run_id for r in runs if r.status != "corrupt"} == {ids[0], ids[2]}
        assert [r.run_id for r in runs if r.status == "corrupt"] == ["a blob"]


# --- a damaged entry ---------------------------------------------------------------------

BAD_ENTRY_CELLS = [
    ("result", "not json", "column result holds text 'not json', which is not JSON"),
    ("request", "{\"messages\": [", "column request holds text"),
    ("error", "[]", "column error holds JSON list"),
    ("status", "maybe", "column status holds text 'maybe' where ok, error or started belongs"),
    ("input_tokens", "many", "column input_tokens holds text 'many' where an integer belongs"),
    ("cost_usd", "free", "column cost_usd holds text 'free' where a number belongs"),
    ("side_effects", 7, "column side_effects holds the int 7 where 0 or 1 belongs"),
    ("seq", "two", "column seq holds text 'two' where an integer belongs"),
]


@pytest.mark.parametrize("column, value, why", BAD_ENTRY_CELLS,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD_ENTRY_CELLS)])
async def test_a_damaged_entry_is_named_and_the_rest_is_still_read(tmp_path, column, value, why):
    path = tmp_path / "journal.db"
    ids = await three_runs(path)
    with Journal(path) as journal:
        good = snapshot(journal, [ids[0], ids[2]])
        entries = list(journal.entries(ids[1]))
    target = entries[2]  # the second model call, scope '' seq 2
    damage(path, f"UPDATE entries SET {column}=? WHERE run_id=? AND scope=? AND seq=?", value, ids[1],
           target.scope, target.seq)
    with Journal(path) as journal:
        with pytest.raises(CorruptJournalError, match=why) as caught:
            list(journal.entries(ids[1]))
        message = str(caught.value)
        assert ids[1] in message and str(path) in message and "entry at scope '<root>'" in message
        if column != "seq":
            assert "seq 2" in message and (caught.value.scope, caught.value.seq) == ("", 2)
        problems: list = []
        rest = list(journal.entries(ids[1], problems=problems))
        assert why in str(problems[0])
        if column in ("request", "seq"):
            # A model request is stored as the messages it adds to the one before it, so the later
            # model call of the scope, which builds on the damaged one, cannot be read either: named.
            later = [e for e in entries[3:] if e.kind == "model"]
            assert rest == [e for e in entries[:2] + entries[3:] if e not in later]
            assert len(problems) == 1 + len(later)
            assert all("builds on the model request at seq 2" in str(p) for p in problems[1:])
        else:
            assert rest == entries[:2] + entries[3:] and len(problems) == 1
        assert journal.get_run(ids[1]) .status == "finished"  # the run's own row is fine
        assert snapshot(journal, [ids[0], ids[2]]) == good
        assert journal.usage_by_scope(ids[0])[""]["model_calls"] == 3


async def test_resuming_a_run_with_a_damaged_entry_stops_with_a_typed_error_naming_it(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        stopped = await agentzoo.run(ToolCallingAgent(ScriptedModel(SCRIPT), [add]), "sum", journal=journal,
                                     budgets=Budget(model_calls=2))
        assert stopped.error["type"] == "BudgetExceeded"
    damage(path, "UPDATE entries SET result='{' WHERE run_id=? AND seq=1", stopped.run_id)
    with Journal(path) as journal:
        with pytest.raises(CorruptJournalError, match=r"seq 1 .*column result"):
            await agentzoo.resume(ToolCallingAgent(ScriptedModel(SCRIPT), [add]), stopped.run_id, journal=journal)
        # refused before anything was performed or the run row touched: it still says how it stopped
        after = journal.get_run(stopped.run_id)
        assert after.status == "failed" and after.error["type"] == "BudgetExceeded"


async def test_a_model_entry_that_holds_no_response_is_a_typed_error_on_replay(tmp_path):
    """A doctored journal whose model result is JSON of the wrong shape: replay names the entry."""
    import sqlite3

    import agentzoo
    from agentzoo import Journal, ScriptedModel, ToolCallingAgent
    from agentzoo.errors import CorruptJournalError

    path = tmp_path / "j.db"
    with Journal(path) as journal:
        first = await agentzoo.run(ToolCallingAgent(ScriptedModel(["hi"])), "q", journal=journal)
    db = sqlite3.connect(path)
    db.execute("UPDATE entries SET result = '[1, 2, 3]' WHERE kind = 'model'")
    db.commit()
    db.close()
    with Journal(path) as journal:
        result = await agentzoo.replay(ToolCallingAgent(ScriptedModel([])), first.run_id, journal=journal)
    assert result.status == "failed" and result.error["type"] == "CorruptJournalError"
    assert "holds no model response" in result.error["message"] and "seq 0" in result.error["message"]
