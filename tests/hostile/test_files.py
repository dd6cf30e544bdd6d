"""The files agentzoo writes: private (0600 in 0700 folders it creates), named exactly as given (no
part of a journal's name read as an SQLite URI), and a clear error, never a traceback, when a path
is of the wrong kind or its folder is read-only."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agentzoo import Journal
from agentzoo._files import open_private
from agentzoo.errors import UnusablePathError
from agentzoo.eval.harness import EvalConfig, run_samples
from agentzoo.eval.store import ResultStore
from agentzoo.runtime.entry import RunInfo
from helpers.cli import agentzoo

SRC = Path(__file__).resolve().parents[2] / "src"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return agentzoo(*args, cwd=cwd, env={"PYTHONPATH": str(SRC), **(env or {})}, check=False, timeout=60, columns=300,
                    unset=["AGENTZOO_JOURNAL"])


# --- private files, in folders made private --------------------------------------------------


def test_a_new_journal_is_0600_in_folders_made_0700(tmp_path):
    existing = tmp_path / "mine"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    path = existing / "a" / "b" / "journal.db"
    with Journal(path) as journal:
        journal.create_run(RunInfo(run_id="r", created_at=1.0))
        assert mode(path) == 0o600
        for side in ("journal.db-wal", "journal.db-shm"):  # SQLite gives them the database's mode
            if (path.parent / side).exists():
                assert mode(path.parent / side) == 0o600
    assert mode(existing / "a") == 0o700 and mode(existing / "a" / "b") == 0o700
    assert mode(existing) == 0o755  # the user's folder is left as it was
    assert sorted(p.name for p in path.parent.iterdir()) == ["journal.db"]  # no temporary file left behind


def test_an_existing_journal_keeps_its_mode(tmp_path):
    path = tmp_path / "j.db"
    Journal(path).close()
    path.chmod(0o640)
    Journal(path).close()
    assert mode(path) == 0o640


async def test_a_results_folder_and_database_are_private(tmp_path):
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def nothing(todo):
        yield None

    out = tmp_path / "results" / "run1"
    await run_samples([], EvalConfig(out=out), nothing)
    assert mode(tmp_path / "results") == 0o700 and mode(out) == 0o700
    assert mode(out / "results.db") == 0o600


def test_an_export_file_is_0600_and_appended_to(tmp_path):
    path = tmp_path / "exports" / "trajectories.jsonl"
    with open_private(path, "export file") as f:
        f.write("one\n")
    with open_private(path, "export file") as f:
        f.write("two\n")
    assert path.read_text() == "one\ntwo\n"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    with pytest.raises(UnusablePathError, match="is a folder"):
        open_private(tmp_path / "exports", "export file")


# --- a path is a path ------------------------------------------------------------------------

URI_LIKE = ["file:x.db?mode=memory", "file:%41.db#frag", "file:other.db?vfs=memdb", ":memory:",
            "x.db?mode=ro&cache=shared"]


@pytest.mark.parametrize("name", URI_LIKE)
def test_a_journal_name_is_never_read_as_an_sqlite_uri(tmp_path, name):
    path = tmp_path / name
    with Journal(path) as journal:
        journal.create_run(RunInfo(run_id="kept", created_at=1.0))
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [name]
    # Read back in another process: an in-memory database would be gone by now.
    code = f"from agentzoo import Journal; print([r.run_id for r in Journal({str(path)!r}).list_runs()])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(SRC)))
    assert out.stdout.strip() == "['kept']", out.stderr


def test_agentzoo_run_with_a_uri_like_journal_name_keeps_the_run_on_disk(tmp_path):
    (tmp_path / "script.json").write_text(json.dumps(["Hello."]))
    name = "file:x.db?mode=memory"
    out = cli("run", "Say hello.", "--model", f"scripted:{tmp_path / 'script.json'}", "--journal", name, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / name).is_file()
    listed = cli("runs", "--journal", name, cwd=tmp_path)
    assert listed.returncode == 0 and "finished" in listed.stdout and "Hello." in listed.stdout, listed.stdout


# --- paths of the wrong kind -----------------------------------------------------------------


def test_a_journal_path_of_the_wrong_kind_is_a_clear_error(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(UnusablePathError, match=r"journal .*folder is a folder; expected a file"):
        Journal(tmp_path / "folder")
    (tmp_path / "plain").write_text("notes")
    with pytest.raises(UnusablePathError, match=r"plain is a file, not a folder"):
        Journal(tmp_path / "plain" / "journal.db")
    assert (tmp_path / "plain").read_text() == "notes"
    with pytest.raises(UnusablePathError, match="not a regular file"):
        Journal("/dev/null")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "j.db")
    with pytest.raises(UnusablePathError, match="symbolic link to nothing"):
        Journal(tmp_path / "dangling")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "folder", "plain"]


def test_a_results_folder_that_is_a_file_is_a_clear_error(tmp_path):
    out = tmp_path / "results"
    out.write_text("my notes")

    async def go(folder):
        await run_samples([], EvalConfig(out=folder), None)

    with pytest.raises(UnusablePathError, match=r"results folder .*results is a file, not a folder"):
        asyncio.run(go(out))
    with pytest.raises(UnusablePathError, match=r"results is a file, not a folder"):
        asyncio.run(go(out / "inner"))
    assert out.read_text() == "my notes"
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "results.db").mkdir()
    with pytest.raises(UnusablePathError, match="results.db is a folder"):
        ResultStore(tmp_path / "r2" / "results.db")


def test_the_cli_names_a_journal_that_is_a_folder_without_a_traceback(tmp_path):
    out = cli("runs", "--journal", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"journal {tmp_path} is a folder" in out.stderr


# --- read-only folders -----------------------------------------------------------------------

CHILD = """
import asyncio, json, sys
from pathlib import Path
try:
    exec(sys.argv[1])
    print(json.dumps({"type": None}))
except Exception as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
"""


def read_only(folder: Path, argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `argv` with `folder` read-only: mode 0555 for a normal user; for root (whom modes do not
    stop) a read-only bind mount in a private mount namespace."""
    full = {k: v for k, v in os.environ.items() if k != "AGENTZOO_JOURNAL"}
    full.update(PYTHONPATH=str(SRC), **(env or {}))
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=full, cwd=cwd)
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("running as root, and no private mount namespace (unshare -m) to make a folder read-only")
    # `cd "$PWD"` again after mounting: the working folder opened before would be the writable one under it.
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && cd "$PWD" && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, str(folder), *argv], capture_output=True, text=True,
                          timeout=60, env=full, cwd=cwd)


def outcome(folder: Path, code: str) -> dict:
    done = read_only(folder, [sys.executable, "-c", CHILD, code], cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_journal_in_a_read_only_folder_is_a_clear_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    got = outcome(folder, f"from agentzoo import Journal; Journal({str(folder / 'journal.db')!r})")
    assert got["type"] == "UnusablePathError" and str(folder) in got["message"] and "read-only" in got["message"]
    assert list(folder.iterdir()) == []

    Journal(folder / "kept.db").close()  # a journal made before the folder became read-only
    before = (folder / "kept.db").read_bytes()
    got = outcome(folder, f"from agentzoo import Journal; Journal({str(folder / 'kept.db')!r}).list_runs()")
    assert got["type"] == "UnusablePathError" and f"the folder {folder} is read-only" in got["message"]
    assert (folder / "kept.db").read_bytes() == before


def test_a_results_folder_in_or_at_a_read_only_folder_is_a_clear_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    run = ("from agentzoo.eval.harness import EvalConfig, run_samples; "
           "asyncio.run(run_samples([], EvalConfig(out=Path({!r})), None))")
    got = outcome(folder, run.format(str(folder / "results")))
    assert got["type"] == "UnusablePathError" and "cannot create results folder" in got["message"]
    assert "read-only" in got["message"] and str(folder) in got["message"]
    got = outcome(folder, run.format(str(folder)))  # the folder itself, with no results.db yet
    assert got["type"] == "UnusablePathError" and str(folder) in got["message"] and "read-only" in got["message"]
    assert list(folder.iterdir()) == []


def test_agentzoo_in_a_read_only_working_folder_says_so_without_a_traceback(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    done = read_only(work, [sys.executable, "-m", "agentzoo.cli.main", "demo", "--scripted"], cwd=work,
                     env={"COLUMNS": "300"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert ".agentzoo" in done.stderr and "read-only" in done.stderr
    assert list(work.iterdir()) == []
