"""`agentzoo eval` as a user runs it: killed half way, interrupted, run again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

VOLATILE = ("run_id", "wall_seconds", "model_latencies", "attempts")


def eval_cmd(out, *extra):
    return [sys.executable, "-m", "agentzoo.cli.main", "eval", "--env", "gsm8k", "--agent", "tool-calling,codeact",
            "--model", "oracle", "--seeds", "2", "--limit", "300", "--concurrency", "2", "--out", str(out), *extra]


def env():
    return dict(os.environ, COLUMNS="200")


def finished_rows(out):
    # Read-only: a plain connect makes an empty file where the eval has not made its database yet, and the eval,
    # which refuses an empty file as no results database, stopped at once (the wait then ran out with 0 rows).
    db = sqlite3.connect((out / "results.db").resolve().as_uri() + "?mode=ro", uri=True)
    try:
        rows = [json.loads(r) for (r,) in db.execute("SELECT row FROM samples")]
    finally:
        db.close()
    return {r["key"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in rows}


def wait_for_rows(out, at_least, child, timeout=60):
    """Until `out` holds `at_least` rows; a child that exits first, or a wait that runs out, fails with what the
    child said and the processes it had then (so that a child stopped by an error is not read as a slow one)."""
    deadline = time.monotonic() + timeout
    rows = 0
    while time.monotonic() < deadline:
        exited = child.poll() is not None  # before the rows: those it wrote before it exited count
        try:
            rows = len(finished_rows(out))
        except sqlite3.Error:
            pass
        if rows >= at_least:
            return
        if exited:
            break
        time.sleep(0.01)
    state = f"exited {child.returncode}" if child.poll() is not None else "still running"
    tree = _descendants(child.pid) if child.poll() is None else ""
    child.kill()
    _, stderr = child.communicate(timeout=30)
    raise AssertionError(f"{rows} of {at_least} rows (waited up to {timeout} s); the eval {state}\n{tree}"
                         f"stderr: {stderr}")


def _descendants(pid):
    """`ps` lines of `pid` and the processes under it (its workers and their sandboxes)."""
    lines = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,stat=,etime=,time=,args="], capture_output=True,
                           text=True).stdout.splitlines()
    tree, found = {pid}, []
    for line in lines:  # parents are listed before their children (pids rise), except after a wrap-around
        fields = line.split()
        if len(fields) >= 2 and (int(fields[0]) in tree or int(fields[1]) in tree):
            tree.add(int(fields[0]))
            found.append(line[:200])
    return "\n".join(found) + "\n"


def test_sigkill_half_way_then_the_same_command_finishes_only_the_rest(tmp_path):
    reference = tmp_path / "reference"
    done = subprocess.run(eval_cmd(reference), capture_output=True, text=True, env=env(), timeout=300)
    assert done.returncode == 0, done.stderr
    expected = finished_rows(reference)
    assert len(expected) == 1200

    out = tmp_path / "killed"
    child = subprocess.Popen(eval_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env())
    wait_for_rows(out, 100, child)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    before = len(finished_rows(out))
    assert 100 <= before < 1200

    again = subprocess.run(eval_cmd(out), capture_output=True, text=True, env=env(), timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{1200 - before} samples run, {before} already done" in again.stdout
    assert finished_rows(out) == expected


def test_ctrl_c_stops_cleanly_and_leaves_a_resumable_folder(tmp_path):
    out = tmp_path / "interrupted"
    child = subprocess.Popen(eval_cmd(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal
    wait_for_rows(out, 50, child)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stdout + stderr
    assert "run the same command to finish the rest" in stdout
    before = len(finished_rows(out))
    again = subprocess.run(eval_cmd(out), capture_output=True, text=True, env=env(), timeout=300)
    assert again.returncode == 0 and f"{before} already done" in again.stdout
    assert len(finished_rows(out)) == 1200
