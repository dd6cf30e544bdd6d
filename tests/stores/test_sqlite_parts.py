"""A journal file's parts (what an eval's worker processes write beside it): merged into the journal
when it is next opened, with every run and entry, replayable there; a part still held by a live
process is left alone; merging twice gives the same rows; a part that cannot be read is named and
left, and the journal still opens."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import agentzoo
from agentzoo import Journal
from agentzoo.runtime.stores.sqlite_parts import Part, parts_dir
from helpers.adder import adder

SRC = Path(__file__).resolve().parents[2] / "src"
HELPERS = Path(__file__).resolve().parents[1] / "helpers"

# A process that writes two runs to a new part of the journal, prints their ids, then either waits
# for its input to close (holding the part) or kills itself (SIGKILL: no clean-up at all).
_WRITER = """
import asyncio, os, signal, sys
from pathlib import Path
import agentzoo
from agentzoo import Journal
from agentzoo.runtime.stores.sqlite_parts import Part
from adder import adder
part = Part(Path(sys.argv[1]))
async def main():
    with Journal(part.path) as journal:
        results = [await agentzoo.run(adder(3), f"part {i}", journal=journal) for i in range(2)]
    print(" ".join(r.run_id for r in results), flush=True)
asyncio.run(main())
if sys.argv[2] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
sys.stdin.read()
"""


def writer(journal: Path, end: str) -> tuple[subprocess.Popen, list[str]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), str(HELPERS), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(journal), end], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    return proc, proc.stdout.readline().split()


def shape(journal: Journal, run_id: str) -> list[tuple]:
    return [(e.scope, e.seq, e.kind, e.request, e.result, e.status) for e in journal.entries(run_id)]


async def test_a_killed_processes_part_is_merged_when_the_journal_is_opened_and_its_runs_replay(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        mine = await agentzoo.run(adder(3), "mine", journal=journal)
    proc, theirs = writer(path, "kill")
    assert proc.wait(timeout=60) == -9 and len(theirs) == 2
    with Journal(path) as journal:
        assert {r.run_id for r in journal.list_runs(limit=10)} == {mine.run_id, *theirs}
        for run_id in theirs:
            assert journal.get_run(run_id).status == "finished"
            assert [kind for _, _, kind, *_ in shape(journal, run_id)] == ["model", "tool", "model", "tool", "model"]
            replayed = await agentzoo.replay(adder(3, silent=True), run_id, journal=journal)
            assert replayed.ok and replayed.answer == "done"
        assert journal.integrity_check() == "ok"
    assert not parts_dir(path).exists()


async def test_a_part_its_process_still_holds_is_left_alone(tmp_path):
    path = tmp_path / "journal.db"
    Journal(path).close()
    proc, theirs = writer(path, "wait")
    try:
        with Journal(path) as journal:
            assert journal.list_runs(limit=10) == []
        assert len(list(parts_dir(path).glob("*.db"))) == 1
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    with Journal(path) as journal:  # its process ended: merged now
        assert {r.run_id for r in journal.list_runs(limit=10)} == set(theirs)


async def test_merging_a_part_again_gives_the_same_rows(tmp_path):
    # A crash between the merge's commit and the part's removal leaves the part: it is merged again.
    path = tmp_path / "journal.db"
    Journal(path).close()
    part = Part(path)
    with Journal(part.path) as journal:
        run = await agentzoo.run(adder(4), "twice", journal=journal)
    part.release()
    kept = tmp_path / "kept.db"
    shutil.copy(part.path, kept)
    with Journal(path) as journal:
        once = shape(journal, run.run_id)
    parts_dir(path).mkdir()
    shutil.copy(kept, part.path)
    with Journal(path) as journal:
        assert shape(journal, run.run_id) == once and len(once) == 7
        assert len(journal.list_runs(limit=10)) == 1


def test_a_part_that_is_not_a_journal_is_named_and_left(tmp_path, caplog):
    path = tmp_path / "journal.db"
    Journal(path).close()
    parts_dir(path).mkdir()
    (parts_dir(path) / "123-abcd.db").write_bytes(b"not a database at all" * 100)
    with caplog.at_level(logging.WARNING), Journal(path) as journal:
        assert journal.list_runs(limit=10) == []
    assert "123-abcd.db was not merged" in caplog.text
    assert (parts_dir(path) / "123-abcd.db").exists()
