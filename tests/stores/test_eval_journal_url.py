"""`agentzoo eval --journal URL`: the runs of an eval go to a PostgreSQL journal (every worker process
writes there), the rows to the results folder; a rerun resumes; the runs replay from the URL."""

import subprocess
import sys
import urllib.parse

from agentzoo import Journal

AGENTZOO = [sys.executable, "-m", "agentzoo.cli.main"]


def test_an_eval_writes_its_runs_to_a_postgresql_journal_and_resumes(tmp_path, postgres_url):
    out = tmp_path / "results"
    command = AGENTZOO + ["eval", "--env", "gsm8k", "--model", "oracle", "--limit", "3", "--seeds", "2",
                          "--workers", "2", "--out", str(out), "--journal", postgres_url]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert not (out / "journal.db").exists()
    with Journal(postgres_url) as journal:
        runs = journal.list_runs(limit=100)
        assert len(runs) == 6 and all(r.status == "finished" for r in runs)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "6 already done" in again.stdout, again.stdout + again.stderr
    replayed = subprocess.run(AGENTZOO + ["replay", runs[0].run_id, "--journal", postgres_url],
                              capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    password = urllib.parse.urlsplit(postgres_url).password
    assert password and all(password not in p.stdout + p.stderr for p in (first, again, replayed))


def test_an_eval_whose_journal_cannot_be_opened_stops_before_its_results_folder_is_made(tmp_path):
    """A server that refuses the connection, or a file that is no journal: the error names it, and no
    results folder is left behind to be mistaken for a started eval."""
    not_a_journal = tmp_path / "notes.txt"
    not_a_journal.write_text("not a database\n" * 200)
    for journal, why in (("postgresql://nobody@127.0.0.1:1/x", "JournalUnavailableError"),
                         (str(not_a_journal), "CorruptJournalError")):
        out = tmp_path / f"results-{why}"
        done = subprocess.run(AGENTZOO + ["eval", "--env", "gsm8k", "--model", "oracle", "--limit", "2",
                                          "--out", str(out), "--journal", journal],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and why in done.stdout + done.stderr, done.stdout + done.stderr
        assert not out.exists()
    assert not_a_journal.read_text() == "not a database\n" * 200
