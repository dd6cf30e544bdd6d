"""Runs behave the same on both journal stores: run, replay, divergence, resume and fork through the public
API; the entries a run leaves are the same on SQLite and PostgreSQL; a run moves between the stores
(`run_record`); several processes write runs to one journal at once and every entry of every run is there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal
from agentzoo.runtime import runner
from agentzoo.runtime.budgets import Budget
from helpers.adder import adder

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
SRC = Path(__file__).resolve().parents[2] / "src"




@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    return tmp_path / "journal.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def shape(journal: Journal, run_id: str) -> list[tuple]:
    """A run's entries without what differs between two runs of the same program (ids, times)."""
    return [(e.scope, e.seq, e.kind, e.name, e.request, e.request_hash, e.result, e.status, e.error, e.usage,
             e.side_effects) for e in journal.entries(run_id)]


async def test_run_replay_divergence_resume_and_fork(location):
    with Journal(location) as journal:
        first = await agentzoo.run(adder(8), "add", journal=journal)
        assert first.ok and first.answer == "done"
        again = await agentzoo.replay(adder(8, silent=True), first.run_id, journal=journal)
        assert again.answer == "done" and again.live_effects == 0
        diverged = await agentzoo.replay(adder(8, "Add, carefully.", silent=True), first.run_id, journal=journal)
        assert diverged.error["type"] == "DivergenceError"
        assert "seq 0" in diverged.error["message"] and "$.messages[0].content" in diverged.error["message"]

        stopped = await runner.run(adder(8), "add", journal=journal, budgets=Budget(model_calls=3))
        assert stopped.error["type"] == "BudgetExceeded"
        assert journal.get_run(stopped.run_id).status == "failed"
        resumed = await agentzoo.resume(adder(8), stopped.run_id, journal=journal)
        assert resumed.ok and resumed.run_id == stopped.run_id and resumed.messages == first.messages
        assert shape(journal, stopped.run_id) == shape(journal, first.run_id)

        child = await agentzoo.fork(adder(8, system="Add!"), first.run_id, journal=journal)
        assert child.ok
        info = journal.get_run(child.run_id)
        assert info.parent_id == first.run_id and (info.fork_point["scope"], info.fork_point["seq"]) == ("", 0)
        fresh = await agentzoo.run(adder(8, system="Add!"), "add", journal=journal)
        assert shape(journal, child.run_id) == shape(journal, fresh.run_id)
        assert {r.run_id for r in journal.list_runs()} == {first.run_id, stopped.run_id, child.run_id, fresh.run_id}
        assert journal.get_run("latest").run_id == fresh.run_id
        assert journal.usage_by_scope(first.run_id)[""]["model_calls"] == 8
        assert journal.integrity_check() == "ok"


async def test_the_same_run_leaves_the_same_entries_on_both_stores(tmp_path, postgres_url):
    shapes = []
    for location in (tmp_path / "journal.db", postgres_url):
        with Journal(location) as journal:
            result = await agentzoo.run(adder(10), "add", journal=journal)
            shapes.append(shape(journal, result.run_id))
    assert len(shapes[0]) == 19 and shapes[0] == shapes[1]


async def test_a_run_moves_between_the_stores_and_replays_there(tmp_path, postgres_url):
    with Journal(postgres_url) as server, Journal(tmp_path / "local.db") as local:
        made = await agentzoo.run(adder(6), "add", journal=server)
        local.add_run_record(server.run_record(made.run_id))  # a server's run, copied to a laptop
        assert shape(local, made.run_id) == shape(server, made.run_id)
        assert (await agentzoo.replay(adder(6, silent=True), made.run_id, journal=local)).answer == "done"
        there = await agentzoo.run(adder(5), "add", journal=local)
        server.add_run_record(local.run_record(there.run_id))  # and a laptop's run, sent to the server
        assert shape(server, there.run_id) == shape(local, there.run_id)
        assert (await agentzoo.replay(adder(5, silent=True), there.run_id, journal=server)).answer == "done"
        with pytest.raises(agentzoo.errors.JournalError, match="already has a run"):
            server.add_run_record(local.run_record(there.run_id))


def test_several_processes_write_runs_at_once(location):
    Journal(location).close()  # the tables exist before the writers start (they would race to make them: also fine)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    writers = [subprocess.Popen([sys.executable, HELPERS / "journal_writer.py", str(location), "8", "5", f"w{n}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for n in range(4)]
    run_ids = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        run_ids += out.split()[:-1]
    assert len(set(run_ids)) == 32
    with Journal(location) as journal:
        runs = journal.list_runs(limit=100)
        assert {r.run_id for r in runs} == set(run_ids) and {r.status for r in runs} == {"finished"}
        assert sorted(r.task for r in runs) == sorted(f"w{n} {i}" for n in range(4) for i in range(8))
        for run_id in run_ids:
            entries = list(journal.entries(run_id))
            assert [(e.kind, e.seq) for e in entries] == [(k, s) for s in range(9)
                                                          for k in ["model" if s % 2 == 0 else "tool"]]
        assert journal.integrity_check() == "ok"
