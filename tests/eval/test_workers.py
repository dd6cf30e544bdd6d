"""`eval --workers N`: samples in N processes give the rows one process gives, resume, survive a killed
worker and an interrupt, and send errors back as themselves.

Worker processes start slowly (a fresh interpreter), so these evals are small, and which process
runs what is made certain with `GatedGSM8K`: its scorer notes each scoring in a folder and waits
where a test says, instead of relying on timing.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentzoo.envs.gsm8k import GSM8K
from agentzoo.catalog import REGISTERED, register_agent
from agentzoo.errors import AgentzooError, ConfigError, SandboxError
from agentzoo.eval import workers
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.runtime.gc_tuning import MIDDLE_THRESHOLD, YOUNG_THRESHOLD
from agentzoo.runtime.journal import Journal
from agentzoo.runtime.spec import AgentSpec

VARYING = ("run_id", "wall_seconds", "model_latencies", "attempts")  # differ between any two runs of a sample
HERE = Path(__file__).resolve().parent


class GatedGSM8K(GSM8K):
    """GSM8K whose scorer marks each scoring (`folder/marks/<pid>.<task number>`), then waits where
    `wait` says: "everywhere", or "workers" (in processes other than `parent`), until `folder/open`
    or `folder/open.<task number>` exists; "parent" or "workers" (in `parent`) until a worker has
    scored something, so that the parent does not run every sample while the workers start."""

    def __init__(self, folder: str, wait: str, parent: int, tasks_file: str | None = None) -> None:
        super().__init__(tasks_file)
        self.folder, self.wait, self.parent = Path(folder), wait, parent

    async def score(self, episode, answer, scoring):
        number = episode.task.id.rpartition("/")[2]
        (self.folder / "marks").mkdir(parents=True, exist_ok=True)
        (self.folder / "marks" / f"{os.getpid()}.{number}").touch()
        here = os.getpid() == self.parent
        if self.wait == "everywhere" or (self.wait == "workers" and not here):
            while not ((self.folder / "open").exists() or (self.folder / f"open.{number}").exists()):
                await asyncio.sleep(0.01)
        while self.wait in ("parent", "workers") and here and not scorers(self.folder) - {self.parent}:
            await asyncio.sleep(0.01)
        return await super().score(episode, answer, scoring)


def marks(folder: Path) -> set[tuple[int, int]]:
    """(process, task number) of every scoring so far."""
    return {tuple(map(int, p.name.split("."))) for p in (folder / "marks").glob("*.*")}


def scorers(folder: Path) -> set[int]:
    return {pid for pid, _ in marks(folder)}


def fails_in_workers(model, tools=(), *, system=None, sampling=None, episode=None):
    """An agent kind (registered from Python) that answers right in the process named by
    $TEST_PARENT_PID, once a worker has run; in a worker its sandbox breaks (an infrastructure error),
    or, with $TEST_WORKER_ERROR=config, it raises a `ConfigError`."""
    folder, parent = Path(os.environ["TEST_GATE"]), int(os.environ["TEST_PARENT_PID"])
    if os.getpid() != parent and os.environ.get("TEST_WORKER_ERROR") == "config":  # raised by the build
        (folder / "marks").mkdir(parents=True, exist_ok=True)
        (folder / "marks" / f"{os.getpid()}.{episode.task.id.rpartition('/')[2]}").touch()
        raise ConfigError(f"no such thing in {os.getpid()}")

    class Agent:
        async def run(self, task, ctx):
            number = episode.task.id.rpartition("/")[2]
            (folder / "marks").mkdir(parents=True, exist_ok=True)
            (folder / "marks" / f"{os.getpid()}.{number}").touch()
            if os.getpid() != parent:
                raise SandboxError("bubblewrap is gone")
            while not scorers(folder) - {parent}:
                await asyncio.sleep(0.01)
            return f"#### {episode.task.gold}"
    return Agent()


def rows(out, drop=VARYING) -> dict:
    store = ResultStore(out / "results.db")
    try:
        return {r["key"]: {k: v for k, v in r.items() if k not in drop} for r in store.rows()}
    finally:
        store.close()


async def test_two_processes_give_the_rows_one_process_gives(tmp_path):
    plain = GSM8K()
    samples = expand({"gsm8k": plain}, ["tool-calling"], ["oracle"], 2, limit=6)
    one = await run_eval(samples, {"gsm8k": plain}, EvalConfig(out=tmp_path / "one", concurrency=4))
    gated = GatedGSM8K(str(tmp_path / "gate"), "parent", os.getpid())  # so that the worker surely runs some
    seen = []
    two = await run_eval(samples, {"gsm8k": gated}, EvalConfig(out=tmp_path / "two", concurrency=4, workers=2),
                         on_progress=lambda p, row: seen.append(row and row["key"]))
    assert (two.total, two.done, two.succeeded, two.infra_errors) == (one.total, one.done, one.succeeded, 0) == (12,) * 3 + (0,)
    assert rows(tmp_path / "two") == rows(tmp_path / "one")
    assert seen[0] is None and sorted(seen[1:]) == sorted(s.key for s in samples)
    assert len(scorers(tmp_path / "gate") - {os.getpid()}) == 1  # one worker process beside this one
    # Every row's run is in the one journal, finished, whichever process wrote it: the worker wrote a
    # part of it, merged in when the eval ended.
    assert not (tmp_path / "two" / "journal.db.parts").exists()
    with Journal(tmp_path / "two" / "journal.db") as journal:
        assert all(journal.get_run(r["run_id"]).status == "finished"
                   for r in rows(tmp_path / "two", drop=()).values())


class CollectorGSM8K(GatedGSM8K):
    """Writes, at each scoring, whether the process's garbage collector is on and its thresholds."""

    async def score(self, episode, answer, scoring):
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"gc.{os.getpid()}").write_text(f"{gc.isenabled()} {gc.get_threshold()[:2]}")
        return await super().score(episode, answer, scoring)


async def test_a_worker_runs_its_samples_with_the_collector_on_and_tuned_as_the_parent(tmp_path):
    env = CollectorGSM8K(str(tmp_path / "gate"), "parent", os.getpid())
    samples = expand({"gsm8k": env}, ["tool-calling"], ["oracle"], 1, limit=6)
    await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "out", concurrency=4, workers=2))
    (worker,) = scorers(tmp_path / "gate") - {os.getpid()}
    assert (tmp_path / "gate" / f"gc.{worker}").read_text() == f"True {(YOUNG_THRESHOLD, MIDDLE_THRESHOLD)}"


def children() -> set[int]:
    """The processes this one started and has not reaped (Linux)."""
    return {int(pid) for path in Path("/proc/self/task").glob("*/children") for pid in path.read_text().split()}


async def test_a_rerun_runs_only_the_samples_without_rows(tmp_path):
    env = GSM8K()
    samples = expand({"gsm8k": env}, ["tool-calling"], ["oracle"], 2, limit=5)
    config = EvalConfig(out=tmp_path, concurrency=4, workers=2)
    before = children()
    first = await run_eval(samples[:6], {"gsm8k": env}, config)
    second = await run_eval(samples, {"gsm8k": env}, config)
    # Nothing left: the worker started ahead (while the results store is read) is stopped, unused.
    third = await run_eval(samples, {"gsm8k": env}, config)
    assert (first.done, second.skipped, second.done, third.skipped, third.done) == (6, 6, 4, 10, 0)
    assert len(rows(tmp_path)) == 10 and all(r["success"] for r in rows(tmp_path).values())
    assert children() <= before  # no worker outlives its eval


async def test_a_results_store_that_cannot_be_read_leaves_no_worker_behind(tmp_path):
    env = GSM8K()
    samples = expand({"gsm8k": env}, ["tool-calling"], ["oracle"], 1, limit=4)
    (tmp_path / "results.db").write_bytes(b"not a database" * 100)
    before = children()
    with pytest.raises(AgentzooError, match="results.db"):
        await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path, concurrency=4, workers=2))
    assert children() <= before


async def test_a_worker_is_started_in_a_session_of_its_own(tmp_path):
    # A Ctrl-C at the terminal goes to the foreground process group: a worker still importing (it is
    # started before the parent reads its results store) would die of it, with a traceback.
    proc = await workers._spawn()
    try:
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
    finally:
        await workers._stop([proc])
    assert proc.returncode is not None


async def until(condition, task):
    while not condition():
        assert not task.done(), task.result()
        await asyncio.sleep(0.01)


async def test_a_killed_worker_fails_its_sample_as_an_infra_error_and_a_rerun_runs_it(tmp_path):
    gate = tmp_path / "gate"
    env = GatedGSM8K(str(gate), "workers", os.getpid())
    samples = expand({"gsm8k": env}, ["tool-calling"], ["oracle"], 1, limit=4)
    config = EvalConfig(out=tmp_path / "out", concurrency=2, workers=2, retries=0)
    running = asyncio.create_task(run_eval(samples, {"gsm8k": env}, config))
    await until(lambda: scorers(gate) - {os.getpid()}, running)  # a sample waits at the gate in the worker
    (victim,) = scorers(gate) - {os.getpid()}
    os.kill(victim, signal.SIGKILL)
    progress = await asyncio.wait_for(running, 60)
    # The sample it was running is an infra error; the one waiting behind it there (a worker holds its
    # next sample) was never started: it runs in this process, no error.
    assert (progress.done, progress.infra_errors, progress.succeeded) == (4, 1, 3)
    got = rows(tmp_path / "out", drop=())
    (lost,) = [r for r in got.values() if r["status"] == "infra_error"]
    assert lost["error"]["type"] == "WorkerDied" and "killed by SIGKILL" in lost["error"]["message"]
    assert str(victim) in lost["error"]["message"] and lost["run_id"] is None and lost["attempts"] == 1
    assert not (tmp_path / "out" / "journal.db.parts").exists()  # the killed worker's part was merged too

    again = await run_eval(samples, {"gsm8k": env}, config)  # one sample left: run in this process
    assert (again.skipped, again.done, again.succeeded) == (3, 1, 1)
    assert all(r["success"] for r in rows(tmp_path / "out").values())


async def test_a_killed_worker_is_replaced_and_its_sample_retried(tmp_path):
    gate = tmp_path / "gate"
    env = GatedGSM8K(str(gate), "everywhere", os.getpid())
    samples = expand({"gsm8k": env}, ["tool-calling"], ["oracle"], 1, limit=2)
    running = asyncio.create_task(run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path, concurrency=2, workers=2)))
    await until(lambda: len(scorers(gate)) == 2, running)  # one sample waits here, one in the worker
    ((victim, number),) = [m for m in marks(gate) if m[0] != os.getpid()]
    os.kill(victim, signal.SIGKILL)
    # This process has no room (its sample waits), so the retry goes to the worker started in its place.
    await until(lambda: len(scorers(gate)) == 3, running)
    (replacement,) = scorers(gate) - {os.getpid(), victim}
    assert (replacement, number) in marks(gate)
    (gate / "open").touch()
    progress = await asyncio.wait_for(running, 60)
    assert (progress.done, progress.succeeded, progress.infra_errors) == (2, 2, 1)
    assert {r["task"]: r["attempts"] for r in rows(tmp_path, drop=()).values()} == {"gsm8k/0": 1, "gsm8k/1": 1} | {
        f"gsm8k/{number}": 2}


async def test_an_agent_registered_from_python_runs_in_the_workers_and_its_infra_errors_come_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_GATE", str(tmp_path / "gate"))
    monkeypatch.setenv("TEST_PARENT_PID", str(os.getpid()))
    register_agent("fails-in-workers", fails_in_workers)
    try:
        env = GSM8K()
        samples = expand({"gsm8k": env}, ["fails-in-workers"], ["oracle"], 1, limit=4)
        progress = await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "out", concurrency=2, workers=2,
                                                                      retries=0))
    finally:
        REGISTERED.pop("fails-in-workers")
    where = {f"gsm8k/{number}": pid for pid, number in marks(tmp_path / "gate")}
    got = rows(tmp_path / "out")
    in_workers = [r for r in got.values() if where[r["task"]] != os.getpid()]
    assert progress.infra_errors == len(in_workers) >= 1 and progress.succeeded == 4 - len(in_workers) >= 1
    for row in got.values():
        if row in in_workers:  # the error as the harness records it in one process
            assert (row["status"], row["error"]) == ("infra_error", {"type": "SandboxError", "message": "bubblewrap is gone",
                                                                     "infrastructure": True}), row
        else:
            assert row["success"] and row["status"] == "finished"


async def test_an_error_in_a_worker_comes_back_as_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_GATE", str(tmp_path / "gate"))
    monkeypatch.setenv("TEST_PARENT_PID", str(os.getpid()))
    monkeypatch.setenv("TEST_WORKER_ERROR", "config")
    register_agent("fails-in-workers", fails_in_workers)
    try:
        env = GSM8K()
        samples = expand({"gsm8k": env}, ["fails-in-workers"], ["oracle"], 1, limit=4)
        with pytest.raises(ConfigError, match="no such thing in") as raised:
            await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "out", concurrency=2, workers=2))
    finally:
        REGISTERED.pop("fails-in-workers")
    (worker,) = scorers(tmp_path / "gate") - {os.getpid()}
    assert str(raised.value) == f"no such thing in {worker}"
    assert any(f"raised in eval worker process {worker}" in note for note in raised.value.__notes__)
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)  # the worker stopped with the eval


def test_an_error_that_cannot_travel_as_itself_becomes_a_worker_error():
    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(f"{a} and {b}")

    sent = workers._portable(Odd(1, 2))
    assert isinstance(sent, workers.WorkerError) and isinstance(sent, AgentzooError)
    assert "Odd: 1 and 2" in str(sent) and "raised in eval worker process" in sent.__notes__[0]


async def test_an_environment_that_cannot_be_sent_is_named(tmp_path):
    env = GSM8K()
    env.hook = lambda: None  # a lambda does not pickle
    samples = expand({"gsm8k": env}, ["tool-calling"], ["oracle"], 1, limit=2)
    with pytest.raises(ConfigError, match=r"environment 'gsm8k' cannot be sent to a worker process.*--workers 1"):
        await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path, concurrency=2, workers=2))


# --- the command line -------------------------------------------------------------------------


def az(capsys, monkeypatch, *args) -> tuple[int, str]:
    """`agentzoo eval ARGS` in this process: (exit code, what it printed)."""
    from agentzoo.cli import main as cli_main

    monkeypatch.setattr(sys, "argv", ["agentzoo", "eval", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "200")
    try:
        cli_main.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("value, message", [("0", "--workers: Input should be greater than or equal to 1"),
                                            ("two", "Invalid value for '--workers': Input should be a valid integer")])
def test_a_bad_workers_value_is_named_by_its_flag(tmp_path, capsys, monkeypatch, value, message):
    code, shown = az(capsys, monkeypatch, "--env", "gsm8k", "--model", "oracle", "--limit", "1", "--workers", value,
                     "--out", tmp_path)
    assert code != 0 and message in " ".join(shown.split())
    assert not (tmp_path / "results.db").exists()


def test_workers_with_the_ray_backend_is_refused(tmp_path, capsys, monkeypatch):
    code, shown = az(capsys, monkeypatch, "--env", "gsm8k", "--model", "oracle", "--limit", "1", "--workers", "2",
                     "--backend", "ray", "--out", tmp_path)
    assert code != 0 and "with --backend ray, Ray places them" in " ".join(shown.split())


def test_ctrl_c_keeps_finished_rows_stops_the_workers_and_a_rerun_finishes(tmp_path):
    gate = tmp_path / "gate"
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(f"""
agents: [tool-calling]
envs:
  - name: test_workers:GatedGSM8K
    limit: 6
    options: {{folder: "{gate}", wait: everywhere, parent: 0}}
models: [oracle]
concurrency: 2
workers: 2
""")
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "agentzoo.cli.main", "eval", str(experiment), "--out", str(out)]
    # In its own process group, as a shell starts a command: Ctrl-C is SIGINT to the whole group.
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, even
                             # when this test run ignores SIGINT (started in the background by a script)
                             start_new_session=True)

    def wait_for(condition):
        deadline = time.monotonic() + 60
        while not condition():
            if child.poll() is not None or time.monotonic() > deadline:
                child.kill()
                raise AssertionError(child.communicate())
            time.sleep(0.01)

    wait_for(lambda: {n for _, n in marks(gate)} == {0, 1})  # tasks 0 and 1 wait at the gate
    assert len(scorers(gate)) == 2 and child.pid in scorers(gate)  # in the eval's process and in its worker
    (worker,) = scorers(gate) - {child.pid}
    (gate / "open.0").touch()
    (gate / "open.1").touch()
    # 0 and 1 are done; another waits at the gate (the worker holds the rest).
    wait_for(lambda: len(marks(gate)) >= 3 and out.joinpath("results.db").exists() and len(rows(out)) == 2)
    os.killpg(child.pid, signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stdout + stderr
    assert "run the same command to finish the rest" in stdout
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)  # the worker stopped with the eval
    assert sorted(r["task"] for r in rows(out).values()) == ["gsm8k/0", "gsm8k/1"]

    (gate / "open").touch()
    again = subprocess.run([*command, "--workers", "1"], capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "4 samples run, 2 already done" in again.stdout
    assert len(rows(out)) == 6 and all(r["success"] for r in rows(out).values())
