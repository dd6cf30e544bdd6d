"""The viewer's read-only journal: pages in SQL (search, sort, totals, entries by cursor and scope),
reads a run in progress, never writes, and shows a damaged row as it is."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time

import pytest

from agentzoo import Entry, Journal
from agentzoo.errors import CorruptJournalError, RunNotFoundError, UnusablePathError
from agentzoo.runtime.entry import RunInfo
from agentzoo.types import Usage
from agentzoo.viewer.store import JournalView, RunQuery

from .runs import team_run, tool_run


def synthetic(journal: Journal, n: int, steps: int = 2) -> list[str]:
    """`n` runs whose i-th has i+1 model calls of i tokens each (so sorts are checkable)."""
    ids = []
    for i in range(n):
        run_id = f"run-{i:04d}"
        journal.create_run(RunInfo(run_id=run_id, created_at=1000.0 + i, status="finished" if i % 3 else "failed",
                                   task=f"task number {i}", config={"version": 1, "model": f"m{i % 2}",
                                                                    **({"agent": "codeact"} if i % 4 == 0 else {})},
                                   parent_id="run-0000" if i == 7 else None))
        for s in range(i % steps + 1):
            journal.put(Entry(run_id, "", s, "model", f"m{i % 2}", {}, "h", {}, usage=Usage(i, 0), cost_usd=0.5 * i,
                              started_at=1000.0 + i, ended_at=1000.5 + i), commit=False)
        ids.append(run_id)
    journal.commit()
    return ids


def test_runs_are_paged_searched_and_sorted_in_sql(journal):
    synthetic(journal, 30)
    view = JournalView(journal.path)
    assert view.count_runs(RunQuery()) == 30
    first = view.runs_page(RunQuery(per_page=10))
    assert [r.info.run_id for r in first] == [f"run-{i:04d}" for i in range(29, 19, -1)]  # newest first
    third = view.runs_page(RunQuery(per_page=10, page=3))
    assert [r.info.run_id for r in third][-1] == "run-0000"
    assert view.runs_page(RunQuery(per_page=10, page=4)) == []
    row = next(r for r in first if r.info.run_id == "run-0021")
    assert (row.steps, row.tokens, row.cost_usd, row.model) == (2, 42, 21.0, "m1")
    assert row.agent == "tool-calling"  # a spec leaves out the default agent
    assert next(r for r in first if r.info.run_id == "run-0020").agent == "codeact"
    by_tokens = view.runs_page(RunQuery(sort="tokens", per_page=3))
    assert [r.info.run_id for r in by_tokens] == ["run-0029", "run-0027", "run-0025"]  # 2 calls of i tokens: 58, 54, 50
    tokens = [r.tokens for r in view.runs_page(RunQuery(sort="tokens", per_page=30))]
    assert tokens == sorted(tokens, reverse=True)
    ascending = [r.cost_usd for r in view.runs_page(RunQuery(sort="cost", descending=False, per_page=30))]
    assert ascending == sorted(ascending)
    assert [r.info.status for r in view.runs_page(RunQuery(sort="status", descending=False, per_page=30))][0] == "failed"
    assert view.count_runs(RunQuery(q="NUMBER 1")) == 11  # 1, 10-19
    assert view.count_runs(RunQuery(status="failed")) == 10
    assert view.count_runs(RunQuery(q="codeact")) == 8
    assert [r.info.run_id for r in view.runs_page(RunQuery(sort="parent", per_page=1))] == ["run-0007"]
    view.close()


def test_a_search_is_text_not_sql(journal):
    synthetic(journal, 3)
    view = JournalView(journal.path)
    for text in ("%", "_", "' OR 1=1 --", "\\"):
        assert view.count_runs(RunQuery(q=text)) == 0
    assert view.runs_page(RunQuery(sort="created; DROP TABLE runs")) != []  # an unknown sort is the default


def test_entries_come_by_cursor_and_by_scope(journal):
    run_id = asyncio.run(team_run(journal))
    view = JournalView(journal.path)
    rows, problems = view.entries_after(run_id, 0, 2)
    assert [e.scope for _, e in rows] == ["team/lead", "team/coder#1"] and not problems
    more, _ = view.entries_after(run_id, rows[-1][0], 10)
    assert [e.key for _, e in more] == [("team/coder#2", 0), ("team/lead", 1), ("team/lead", 2)]
    coder, _ = view.entries_after(run_id, 0, 10, scope="team/coder#1")
    assert [e.key for _, e in coder] == [("team/coder#1", 0)]
    team, _ = view.entries_after(run_id, 0, 10, scope="team")
    assert len(team) == 5
    scopes = {s.scope: s for s in view.scopes(run_id)}
    assert scopes["team/lead"].model_calls == 2 and scopes["team/lead"].kinds == {"model": 2, "sandbox": 1}
    assert view.progress(run_id)[0] == 5


def test_it_reads_a_run_in_progress_and_never_writes(tmp_path):
    path = tmp_path / "j.db"
    writer = Journal(path)
    asyncio.run(tool_run(writer))
    writer.commit()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    view = JournalView(path)
    assert view.count_runs(RunQuery()) == 1
    with pytest.raises(sqlite3.OperationalError):
        view._db.execute("DELETE FROM runs")  # the connection itself is read-only
    writer.create_run(RunInfo(run_id="live", created_at=time.time()))
    writer.put(Entry("live", "", 0, "clock", "time", {}, "h", 1.0))
    assert view.run("live").status == "running" and view.progress("live")[0] == 1  # seen as committed
    view.close()
    writer.close()
    assert not (tmp_path / "x.db").exists()
    with pytest.raises(UnusablePathError):
        JournalView(tmp_path / "x.db")  # a missing journal is not created
    assert not (tmp_path / "x.db").exists()
    # The main file changed only by the writer (the checkpoint), never by the viewer's reads.
    view = JournalView(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    view.runs_page(RunQuery())
    view.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before != digest


def test_damaged_rows_and_files_are_named(tmp_path, journal):
    synthetic(journal, 2)
    journal._db.execute("UPDATE runs SET config = 'not json' WHERE run_id = 'run-0001'")
    view = JournalView(journal.path)
    rows = view.runs_page(RunQuery())
    assert [r.info.status for r in rows] == ["corrupt", "failed"]  # listed, not hiding the other
    with pytest.raises(CorruptJournalError, match="run-0001"):
        view.run("run-0001")
    with pytest.raises(RunNotFoundError):
        view.run("nope")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(CorruptJournalError, match="not an agentzoo journal"):
        JournalView(other)
