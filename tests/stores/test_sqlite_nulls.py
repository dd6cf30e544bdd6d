"""The SQLite store binds None through an adapter of its own (it saves sqlite3 an exception per NULL): what
it writes is still SQL NULL, which a user's own queries of the journal test with `IS NULL`, and an
adapter for None that the program registered before agentzoo was imported is the one that stays."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import agentzoo
from agentzoo import Journal
from helpers.adder import adder

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_fields_an_entry_leaves_empty_are_sql_nulls(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        result = asyncio.run(agentzoo.run(adder(2), "add", journal=journal))
    assert result.status == "finished"
    db = sqlite3.connect(path)
    rows = db.execute("SELECT count(*), count(error), sum(error IS NULL), sum(typeof(error) = 'null') "
                      "FROM entries WHERE status = 'ok'").fetchone()
    db.close()
    assert rows[0] >= 2 and rows[1] == 0 and rows[2] == rows[0] == rows[3]
    # and read back as None, as written
    with Journal(path) as journal:
        assert all(e.error is None for e in journal.entries(result.run_id))


def test_an_adapter_for_none_registered_before_agentzoo_is_kept():
    code = ("import sqlite3\n"
            "mine = lambda value: 'none'\n"
            "sqlite3.register_adapter(type(None), mine)\n"
            "import agentzoo.runtime.dbfile\n"
            "print(sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)] is mine)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "True"
