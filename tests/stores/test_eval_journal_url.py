"""`agentzoo eval --journal URL`: the runs of an eval go to a PostgreSQL journal (every worker process
writes there), the rows to the results folder; a rerun resumes; the runs replay from the URL."""

import urllib.parse

from agentzoo import Journal
from helpers.cli import agentzoo


def _cli(*args, cwd=None):
    return agentzoo(*args, cwd=cwd, check=False, timeout=300)


def test_an_eval_writes_its_runs_to_a_postgresql_journal_and_resumes(tmp_path, postgres_url):
    out = tmp_path / "results"
    command = ["eval", "--env", "gsm8k", "--model", "oracle", "--limit", "3", "--seeds", "2",
                          "--workers", "2", "--out", str(out), "--journal", postgres_url]
    first = _cli(*command)
    assert first.returncode == 0, first.stdout + first.stderr
    assert not (out / "journal.db").exists()
    with Journal(postgres_url) as journal:
        runs = journal.list_runs(limit=100)
        assert len(runs) == 6 and all(r.status == "finished" for r in runs)
    again = _cli(*command)
    assert again.returncode == 0 and "6 already done" in again.stdout, again.stdout + again.stderr
    replayed = _cli("replay", runs[0].run_id, "--journal", postgres_url)
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
        done = _cli("eval", "--env", "gsm8k", "--model", "oracle", "--limit", "2", "--out", out, "--journal", journal)
        assert done.returncode != 0 and why in done.stdout + done.stderr, done.stdout + done.stderr
        assert not out.exists()
    assert not_a_journal.read_text() == "not a database\n" * 200


def test_the_commands_that_read_an_eval_find_its_runs_where_it_wrote_them(tmp_path):
    """`eval --journal FILE`: the results folder keeps where its runs went, so `bundle`, `export`, `otel export`
    and the viewer given the folder alone read them there, not an empty journal.db made in the folder."""
    from agentzoo.viewer.app import App

    made = _cli("eval", "--env", "gsm8k", "--model", "oracle", "--limit", "3", "--out", "results",
                "--journal", "elsewhere/runs.db", cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    out = tmp_path / "results"
    assert not (out / "journal.db").exists()
    bundled = _cli("bundle", out, "-o", tmp_path / "b.azb", cwd=tmp_path.parent)  # from another folder
    assert bundled.returncode == 0 and "3 run(s)" in bundled.stdout, bundled.stdout + bundled.stderr
    exported = _cli("export", out, cwd=tmp_path.parent)
    assert exported.returncode == 0 and exported.stdout.count('"run_id"') == 3, exported.stdout + exported.stderr
    app = App(None, [out])
    assert app.handle("/runs", {"j": "e0"}).body.count(b"gsm8k|gsm8k/") == 3
    assert not (out / "journal.db").exists()
    shown = _cli("show", tmp_path / "b.azb", cwd=tmp_path)  # the bundle holds the runs itself
    assert shown.returncode == 0 and "3 runs in" in shown.stdout, shown.stdout + shown.stderr
    # run again, its runs must go where the others are: without that --journal it is refused, with it resumed
    again = _cli("eval", "--env", "gsm8k", "--model", "oracle", "--limit", "4", "--out", "results", cwd=tmp_path)
    assert again.returncode == 2 and f"runs are in {tmp_path / 'elsewhere' / 'runs.db'}: run it again with that " \
        "--journal" in again.stderr, again.stdout + again.stderr
    again = _cli("eval", "--env", "gsm8k", "--model", "oracle", "--limit", "4", "--out", "results", "--journal",
                 "elsewhere/runs.db", cwd=tmp_path)
    assert again.returncode == 0 and "1 samples run, 3 already done" in again.stdout, again.stdout + again.stderr


def test_an_eval_whose_runs_are_in_postgresql_says_to_give_its_url(tmp_path, postgres_url):
    from agentzoo.viewer.app import App

    out = tmp_path / "results"
    made = _cli("eval", "--env", "gsm8k", "--model", "oracle", "--limit", "2", "--out", out, "--journal", postgres_url,
                cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    password = urllib.parse.urlsplit(postgres_url).password
    for command in (["bundle", out, "-o", tmp_path / "b.azb"], ["export", out], ["otel", "export", out]):
        refused = _cli(*command, cwd=tmp_path)
        assert refused.returncode == 2 and "are in the PostgreSQL journal postgresql://" in refused.stderr, \
            refused.stdout + refused.stderr
        assert "give its URL with --journal" in refused.stderr and password not in refused.stdout + refused.stderr
    assert not (out / "journal.db").exists()
    app = App(None, [out])
    assert app.handle("/eval", {"e": "0"}).status == 200  # the eval's tables, without links to runs
    runs = app.handle("/runs", {"j": "e0"})
    assert runs.status == 400 and b"agentzoo bundle" in runs.body and password.encode() not in runs.body
    bundled = _cli("bundle", out, "-o", tmp_path / "b.azb", "--journal", postgres_url, cwd=tmp_path)
    assert bundled.returncode == 0, bundled.stdout + bundled.stderr
    from agentzoo.bundle import OpenedBundle

    with OpenedBundle(tmp_path / "b.azb") as opened:  # its eval reads the bundle's own journal, not the server's
        assert App(None, [opened.results_folder]).handle("/runs", {"j": "e0"}).body.count(b"gsm8k|gsm8k/") == 2
