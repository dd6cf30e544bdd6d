"""Kill -9 a run at the worst moments; resume must finish it without repeating a completed
model call or tool call, and the journal must stay intact.

The agent runs in a child process against the fake server in this process, which counts
model calls; the tool counts its own calls in a file.
"""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentzoo import Journal
from agentzoo.testing.fake_openai import FakeOpenAIServer, add_agent

HERE = Path(__file__).parent / "helpers"
TURNS = 6  # 5 tool calls, then the answer
PY = sys.executable
AGENTZOO = [PY, "-m", "agentzoo.cli.main"]


class Server:
    """The add-agent conversation; `hang_on` makes the n-th request (1-based) never answer."""

    def __init__(self, hang_on=None):
        self.hang_on = hang_on
        self.play = add_agent(TURNS)
        self.srv = FakeOpenAIServer(self.behave)

    def behave(self, body):
        if self.hang_on is not None and self.srv.count == self.hang_on:
            return {"hang": True}
        return self.play(body)


def child_env(tmp_path):
    env = dict(os.environ, CRASH_COUNTER=str(tmp_path / "tool_calls.txt"))
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent.parent / "src"), env.get("PYTHONPATH", "")])
    return env


def tool_calls(tmp_path):
    path = tmp_path / "tool_calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def resume(tmp_path, journal_path):
    out = subprocess.run(AGENTZOO + ["resume", "latest", "--trust", "--journal", str(journal_path)], env=child_env(tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def reference(tmp_path, task="Add up."):
    """An uninterrupted run: its answer, model calls and tool calls."""
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "task.txt").write_text(task)
    with Server().srv as srv:
        out = subprocess.run([PY, HERE / "crash_agent.py", ref / "j.db", srv.base_url, ref / "task.txt"],
                             env=child_env(ref), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.split(" ", 2)[2].strip(), srv.count, tool_calls(ref)


def assert_intact(journal_path):
    with Journal(journal_path) as j:
        assert j.integrity_check() == "ok"
        run = j.get_run("latest")
        assert run.status == "finished"
        keys = [e.key for e in j.entries(run.run_id)]
        assert len(keys) == len(set(keys)) and all(e.status == "ok" for e in j.entries(run.run_id))
        return run


def test_kill_during_a_model_call_then_resume(tmp_path):
    answer, ref_model_calls, ref_tools = reference(tmp_path)
    (tmp_path / "task.txt").write_text("Add up.")
    journal_path = tmp_path / "j.db"
    server = Server(hang_on=4)  # the 4th model call never answers
    with server.srv as srv:
        child = subprocess.Popen([PY, HERE / "crash_agent.py", journal_path, srv.base_url, tmp_path / "task.txt"],
                                 env=child_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while srv.count < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.count == 4, child.communicate(timeout=5)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert len(tool_calls(tmp_path)) == 3
        server.hang_on = None
        out = resume(tmp_path, journal_path)
        # Only the interrupted call is made again: 3 completed model calls were served from the journal.
        assert srv.count == ref_model_calls + 1
    assert f"answer: {answer}" in out
    assert tool_calls(tmp_path) == ref_tools
    assert assert_intact(journal_path).answer == answer


@pytest.mark.parametrize("kill_after_tool", [1, 3, 5])
def test_kill_right_after_a_tool_call_then_resume(tmp_path, kill_after_tool):
    answer, ref_model_calls, ref_tools = reference(tmp_path)
    (tmp_path / "task.txt").write_text("Add up.")
    journal_path = tmp_path / "j.db"
    with Server().srv as srv:
        out = subprocess.run([PY, HERE / "crash_agent.py", journal_path, srv.base_url, tmp_path / "task.txt",
                              str(kill_after_tool)], env=child_env(tmp_path), capture_output=True, timeout=60)
        assert out.returncode == -signal.SIGKILL
        assert len(tool_calls(tmp_path)) == kill_after_tool and srv.count == kill_after_tool
        out = resume(tmp_path, journal_path)
        assert srv.count == ref_model_calls  # no model call repeated
    assert tool_calls(tmp_path) == ref_tools  # no tool call repeated
    assert f"answer: {answer}" in out
    assert_intact(journal_path)


def assert_at_most_the_call_in_flight_repeated(calls, reference_calls):
    """A read-only tool that ran but whose entry was not yet committed when the kill came is run
    again by resume (it is not a completed call: the journal never saw its result); only that one
    call may repeat, right after itself. Side-effecting tools get a `started` entry instead."""
    repeats = [i for i in range(1, len(calls)) if calls[i] == calls[i - 1]]
    assert len(repeats) <= 1, calls
    assert [c for i, c in enumerate(calls) if i not in repeats] == reference_calls


def settled_count(srv, quiet=0.3):
    """The server's request count once it has stopped changing: a request the child sent just
    before it died may still be in the server's hands (seen on a loaded machine)."""
    count, since = srv.count, time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.01)
        if srv.count != count:
            count, since = srv.count, time.monotonic()
    return count


def test_kill_in_the_middle_of_journal_writes_then_resume(tmp_path):
    """A task of a few MB makes every model-call entry a multi-megabyte write, so most of the
    run's time is spent writing the journal; kills at random moments land inside writes."""
    task = "Add up. " + "x" * 3_000_000
    answer, ref_model_calls, ref_tools = reference(tmp_path, task)
    rng = random.Random(7)
    for attempt in range(4):
        work = tmp_path / f"attempt{attempt}"
        work.mkdir()
        (work / "task.txt").write_text(task)
        journal_path = work / "j.db"
        with Server().srv as srv:
            child = subprocess.Popen([PY, HERE / "crash_agent.py", journal_path, srv.base_url, work / "task.txt"],
                                     env=child_env(work), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # Wait for the first model call so the kill lands in the run, not in interpreter start-up.
            deadline = time.monotonic() + 30
            while srv.count < 1 and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.25))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            completed_before = settled_count(srv)
            # Every committed entry is readable, and the file is consistent.
            db = sqlite3.connect(journal_path)
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = db.execute("SELECT kind, status, length(request) FROM entries").fetchall()
            db.close()
            recorded_models = sum(1 for kind, status, _ in rows if kind == "model" and status == "ok")
            if not rows and not Journal(journal_path).list_runs():
                continue  # killed before the run row was written: nothing to resume
            resume(work, journal_path)
            # Model calls: each one recorded before the kill is served; the others are made again.
            assert srv.count == completed_before + (ref_model_calls - recorded_models)
        assert_at_most_the_call_in_flight_repeated(tool_calls(work), ref_tools)
        run = assert_intact(journal_path)
        assert run.answer == answer


async def test_a_kill_loses_only_local_entries_and_resume_recomputes_them(tmp_path):
    """Local effects (a pure script, a pure tool) are committed with the next non-local one; a kill
    in between loses only them, and resume computes them again without re-running the other tool."""
    sys.path.insert(0, str(HERE))
    try:
        from local_agent import build
    finally:
        sys.path.remove(str(HERE))
    from agentzoo.runtime import runner

    journal_path, notes = tmp_path / "j.db", tmp_path / "notes.txt"
    out = subprocess.run([PY, HERE / "local_agent.py", journal_path, notes, "7"],  # killed at the last add
                         env=child_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == -signal.SIGKILL, out.stderr
    db = sqlite3.connect(journal_path)
    committed = [r for r in db.execute("SELECT kind, name FROM entries ORDER BY id")]
    db.close()
    # Everything up to the non-local `note` went in with its commit; the model call and the pure
    # `add` after it were still in memory.
    assert committed == [("model", "scripted"), ("tool", "add"), ("model", "scripted"), ("tool", "add"),
                         ("model", "scripted"), ("tool", "note")]
    with Journal(journal_path) as journal:
        run_id = journal.get_run("latest").run_id
        result = await runner.resume(build(notes), run_id, journal=journal)
        assert result.answer == "The sum is 10." and result.live_effects == 3  # m3, add, m4
        assert journal.integrity_check() == "ok"
        assert [e.name for e in journal.entries(run_id)][-3:] == ["scripted", "add", "scripted"]
    assert notes.read_text() == "6\n"  # the non-local tool ran once
