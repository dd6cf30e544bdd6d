"""`agentzoo adas search` as a user runs it, with scripted models (issue 15, evidence 2 and 4).

The search runs through the eval harness (each validation task a sandboxed run) and is one run in the
journal: the same seed gives the same archive; a replay makes no model call; run again with more
generations it goes on at the next one and evaluates nothing twice; killed with SIGKILL and run again
it repeats no model call that had finished. An archive entry is then an ordinary agent for `agentzoo eval`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

import adas_play
from helpers.cli import agentzoo

PLAY = f"scripted:{Path(adas_play.__file__).resolve()}:play"
VOLATILE = ("search", "where")


def cli(*args, cwd, timeout=600):
    return agentzoo(*args, cwd=cwd, env={"AGENTZOO_JOURNAL": str(Path(cwd) / "journal.db")}, timeout=timeout).stdout


def search(folder, *extra, generations=1, valid_size=5, seed=0, model=PLAY):
    folder.mkdir(exist_ok=True)
    return cli("adas", "search", "--archive", "archive.json", "--model", model, "--generations", str(generations),
               "--valid-size", str(valid_size), "--seed", str(seed), "--concurrency", "3", *extra, cwd=folder)


def archive(folder):
    return json.loads((folder / "archive.json").read_text())


def decisions(data):
    """The archive without who ran it and where its files are."""
    return [{k: v for k, v in e.items() if k != "evaluation"} | {"outcomes": e["evaluation"]["outcomes"]}
            for e in data["entries"]], data["dropped"], data["generations_done"]


def model_entries(folder, run_id):
    con = sqlite3.connect(folder / "journal.db")
    try:
        return con.execute("SELECT COUNT(*) FROM entries WHERE run_id = ? AND kind = 'model'", (run_id,)).fetchone()[0]
    finally:
        con.close()


def harness_runs(folder):
    """Every sample run the candidates' evals made (their journals), by run id."""
    ids = set()
    for db in (folder / "archive.adas").rglob("journal.db"):
        con = sqlite3.connect(db)
        try:
            ids |= {r for (r,) in con.execute("SELECT run_id FROM runs")}
        finally:
            con.close()
    return ids


def test_a_search_grows_the_archive_through_the_harness_and_prints_it(tmp_path):
    out = search(tmp_path / "a", generations=2)
    data = archive(tmp_path / "a")
    entries = data["entries"]
    assert [e["generation"] for e in entries] == ["initial"] * 7 + [1, 2]
    assert [e["name"] for e in entries[7:]] == ["Checked Solver 7", "Checked Solver 8"]
    for entry in entries:
        fitness, evaluation = entry["fitness"], entry["evaluation"]
        assert len(evaluation["outcomes"]) == 5 and fitness["total"] == 5 and fitness["resamples"] == 100_000
        assert fitness["text"] == (f"95% Bootstrap Confidence Interval: ({fitness['low'] * 100:.1f}%, "
                                   f"{fitness['high'] * 100:.1f}%), Median: {fitness['median'] * 100:.1f}%")
        assert (tmp_path / "a" / evaluation["where"] / "results.db").exists() and evaluation["cost"]["model_calls"] >= 5
    # The scripted agents solve the same tasks whatever their design: every entry has the same outcomes.
    assert len({tuple(e["evaluation"]["outcomes"]) for e in entries}) == 1
    search_ = data["search"]
    assert (search_["env"], search_["valid_size"], search_["seed"], search_["generations"]) == ("gsm8k", 5, 0, 2)
    assert model_entries(tmp_path / "a", search_["run_id"]) == 6  # two generations of three meta calls
    assert "ADAS archive · 2 generations" in out and "Checked Solver 8" in out and "meta agent: 6 model calls" in out


def test_the_same_seed_gives_the_same_archive_and_a_replay_makes_no_model_call(tmp_path):
    search(tmp_path / "a")
    search(tmp_path / "b")
    search(tmp_path / "c", seed=1)
    a, b, c = (archive(tmp_path / x) for x in "abc")
    assert a["search"]["run_id"] != b["search"]["run_id"]
    assert decisions(a) == decisions(b)
    assert decisions(a) != decisions(c)  # another seed draws another validation slice
    out = cli("adas", "replay", "--archive", "archive.json", cwd=tmp_path / "a")
    assert "3 model calls served from the journal, 0 effects performed" in out
    assert "the archive it makes is the same as the file's" in out


def test_run_again_with_more_generations_it_goes_on_and_evaluates_nothing_twice(tmp_path):
    folder = tmp_path / "a"
    search(folder, generations=1)
    first = archive(folder)
    runs_before = harness_runs(folder)
    out = search(folder, generations=2)
    second = archive(folder)
    assert "resuming ADAS search run" in out and second["search"]["run_id"] == first["search"]["run_id"]
    assert second["entries"][:8] == first["entries"] and second["entries"][8]["generation"] == 2
    # Generation 1's three meta calls were served, not made again; generation 2 made three more.
    assert model_entries(folder, second["search"]["run_id"]) == 6
    # Only the new candidate's five tasks ran in the harness.
    assert len(harness_runs(folder) - runs_before) == 5


def test_without_its_journal_the_archive_file_alone_resumes_the_search(tmp_path):
    folder = tmp_path / "a"
    search(folder, generations=1)
    first = archive(folder)
    runs_before = harness_runs(folder)
    (folder / "journal.db").rename(folder / "elsewhere.db")  # as on another machine, with the archive copied
    out = search(folder, generations=2)
    second = archive(folder)
    assert "is not in" in out and "starting a new run from the archive file" in out
    assert second["search"]["run_id"] != first["search"]["run_id"]
    assert second["entries"][:8] == first["entries"] and [e["generation"] for e in second["entries"][8:]] == [2]
    assert model_entries(folder, second["search"]["run_id"]) == 3  # generation 2 only: nothing re-evaluated
    assert len(harness_runs(folder) - runs_before) == 5


def test_a_resumed_search_refuses_other_settings_and_fewer_generations(tmp_path):
    folder = tmp_path / "a"
    search(folder, generations=1)

    def refused(*flags):
        done = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "adas", "search", "--archive", "archive.json",
                               "--model", PLAY, "--seed", "0", *flags], capture_output=True, text=True, cwd=folder,
                              env=dict(os.environ, COLUMNS="300", AGENTZOO_JOURNAL=str(folder / "journal.db")))
        assert done.returncode == 2, done.stdout
        return " ".join(done.stderr.split())

    assert "archive.json is a search with valid_size=5; this command asks for valid_size=6" in refused(
        "--valid-size", "6", "--generations", "1")
    assert "archive.json has 1 generations already; --generations 0 would end the search before them" in refused(
        "--valid-size", "5", "--generations", "0")


def test_an_archive_entry_runs_with_agentzoo_eval_like_any_agent(tmp_path):
    folder = tmp_path / "a"
    search(folder, generations=1)
    entry = archive(folder)["entries"][7]
    out = cli("eval", "--agent", "adas:archive.json#7", "--env", "gsm8k", "--model", PLAY, "--limit", "6",
              "--out", "results", cwd=folder)
    assert "6 samples run" in out
    rows = [json.loads(line) for line in (folder / "results" / "samples.jsonl").read_text().splitlines()]
    assert {r["agent"] for r in rows} == {"adas:archive.json#7"} and {r["status"] for r in rows} == {"finished"}
    success = {r["task"]: r["success"] for r in rows}  # rows come in the order samples ended
    assert success == {t.id: adas_play.solves(t.prompt) for t in adas_play.GSM8K().tasks()[:6]}
    assert {r["model_calls"] for r in rows} == {2}  # the generated agent's two solvers
    by_name = cli("eval", "--agent", f"adas:archive.json#{entry['name']}", "--env", "gsm8k", "--model", PLAY,
                  "--limit", "2", "--out", "by-name", cwd=folder)
    assert "2 samples run" in by_name


# --- SIGKILL in the middle, then the same command -------------------------------------------------------


def fake_reply(body):
    """The scripted player, as a fake OpenAI-compatible server's behaviour."""
    return {"content": adas_play.play(SimpleNamespace(messages=body["messages"]))}


def test_sigkill_mid_search_then_the_same_command_repeats_no_finished_model_call(tmp_path):
    from agentzoo.testing.fake_openai import FakeOpenAIServer

    with FakeOpenAIServer(fake_reply) as reference:
        search(tmp_path / "reference", generations=2, model=f"openai-compatible:fake@{reference.base_url}")
        whole = reference.count

    killed = threading.Event()
    seen_meta = []

    def stop_in_generation_2(body):
        request = SimpleNamespace(messages=body["messages"])
        if adas_play.is_meta(request):
            seen_meta.append(len(body["messages"]))
            if adas_play.archive_size(request) == 8 and len(body["messages"]) == 4:  # generation 2, first review
                killed.set()
                return {"hang": True}
        return fake_reply(body)

    folder = tmp_path / "killed"
    folder.mkdir()
    with FakeOpenAIServer(stop_in_generation_2) as server:
        model = f"openai-compatible:fake@{server.base_url}"
        command = [sys.executable, "-m", "agentzoo.cli.main", "adas", "search", "--archive", "archive.json", "--model",
                   model, "--generations", "2", "--valid-size", "5", "--concurrency", "3"]
        child = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=dict(os.environ, AGENTZOO_JOURNAL=str(folder / "journal.db")))
        try:
            assert killed.wait(300), "the search never reached generation 2"
        finally:
            child.kill()
            child.wait()
        before, port = server.count, server.port
        cut = archive(folder)
        assert cut["generations_done"] == 1 and len(cut["entries"]) == 8  # written after generation 1
    with FakeOpenAIServer(fake_reply, port=port) as server:  # the same endpoint: a resumed search keeps its model
        out = search(folder, generations=2, model=model)
        after = server.count
    assert "resuming ADAS search run" in out
    # Every call the killed run saw answered was served on resume: only the one in flight is asked again.
    assert before + after == whole + 1
    assert decisions(archive(folder)) == decisions(archive(tmp_path / "reference"))
