"""The harness, driven end to end on GSM8K with the oracle and with agents that fail on purpose."""

from __future__ import annotations

import json

import pytest

from agentzoo.envs.gsm8k import GSM8K, extract_answer
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError, SandboxError
from agentzoo.catalog import REGISTERED as AGENTS, register_agent
from agentzoo.eval.harness import EvalConfig, InfraErrorBudgetExceeded, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return {r["key"]: r for r in store.rows()}
    finally:
        store.close()


async def test_the_oracle_solves_every_gsm8k_task_with_both_agents(tmp_path):
    env = GSM8K()
    assert len(env.tasks()) == 1319
    samples = expand({"gsm8k": env}, ["tool-calling", "codeact"], ["oracle"], 1)
    progress = await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path, concurrency=8))
    got = rows(tmp_path)
    assert progress.done == len(got) == 2 * 1319
    assert all(r["success"] and r["reward"] == 1.0 for r in got.values())


async def test_an_off_by_one_answer_scores_zero(tmp_path, monkeypatch):
    env = GSM8K()
    task = env.tasks()[0]
    episode = env.episode(task)
    wrong = str(int(task.gold) + 1)
    score = await env.score(episode, f"so the answer is\n#### {wrong}", None)
    assert (score.reward, score.success, score.details["got"]) == (0.0, False, wrong)
    assert (await env.score(episode, f"#### {task.gold}", None)).success
    assert not (await env.score(episode, f"The answer is {task.gold}.", None)).success  # upstream: no #### is wrong
    assert extract_answer("#### 1,234") == "1234"


async def test_a_rerun_skips_finished_samples_and_runs_the_rest(tmp_path):
    env = GSM8K()
    samples = expand({"gsm8k": env}, ["tool-calling"], ["oracle"], 2, limit=5)
    first = await run_eval(samples[:6], {"gsm8k": env}, EvalConfig(out=tmp_path))
    second = await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path))
    assert (first.done, second.skipped, second.done) == (6, 6, 4)
    assert len(rows(tmp_path)) == 10


async def test_a_rerun_counts_the_success_and_cost_of_the_samples_it_skips(tmp_path, capsys):
    def half_right(model, tools=(), *, system=None, sampling=None, episode=None):
        class Agent:
            async def run(self, task, ctx):
                right = int(episode.task.id.rsplit("/", 1)[-1]) % 2 == 0  # gsm8k/0, gsm8k/1, …
                return f"#### {episode.task.gold if right else -1}"
        return Agent()

    register_agent("half-right", half_right)
    try:
        env = GSM8K()
        samples = expand({"gsm8k": env}, ["half-right"], ["oracle"], 2, limit=5)
        first = await run_eval(samples[:6], {"gsm8k": env}, EvalConfig(out=tmp_path))
        store = ResultStore(tmp_path / "results.db")
        costly = {**next(iter(rows(tmp_path).values())), "success": True}
        store.put({**costly, "cost_usd": 0.25}, 1.0)  # a finished sample of this eval that cost something
        store.put({**costly, "key": "gone", "cost_usd": 7.0}, 2.0)  # a row of a sample this eval no longer has
        store.close()
        second = await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path))
    finally:
        AGENTS.pop("half-right")
    kept = [r for r in rows(tmp_path).values() if r["key"] != "gone"]
    assert (second.skipped, second.done) == (6, 4)
    assert second.skipped_succeeded == sum(r["success"] for r in kept if r["key"] in {s.key for s in samples[:6]})
    assert 0 < second.eval_success_rate < 1
    assert second.eval_success_rate == sum(r["success"] for r in kept) / len(kept)
    assert second.success_rate == sum(r["success"] for r in kept if r["key"] not in {s.key for s in samples[:6]}) / 4
    assert second.skipped_cost_usd == 0.25 and second.eval_cost_usd == 0.25 + second.cost_usd
    assert first.skipped_succeeded == 0 and first.eval_success_rate == first.success_rate

    from agentzoo.cli.eval_cmd import _Display

    with _Display(second.total) as shown:  # output to a file: one line (the terminal's bar shows the same text)
        shown.update(second, None)
    line = capsys.readouterr().out.splitlines()[-1]
    assert line == (f"10/10 · success {second.eval_success_rate:.1%} · cost $0.2500 · infra errors 0")


async def test_infrastructure_errors_are_retried_counted_and_budgeted(tmp_path):
    attempts: dict[str, int] = {}

    def flaky(model, tools=(), *, system=None, sampling=None, episode=None):
        class Agent:
            async def run(self, task, ctx):
                key = episode.task.id
                attempts[key] = attempts.get(key, 0) + 1
                if attempts[key] == 1:
                    raise SandboxError("the worker did not start")
                return f"#### {episode.task.gold}"
        return Agent()

    def broken(model, tools=(), *, system=None, sampling=None, episode=None):
        class Agent:
            async def run(self, task, ctx):
                raise SandboxError("bubblewrap is gone")
        return Agent()

    register_agent("flaky", flaky)
    register_agent("broken", broken)
    try:
        env = GSM8K()
        samples = expand({"gsm8k": env}, ["flaky"], ["oracle"], 1, limit=3)
        progress = await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "a"))
        assert progress.infra_errors == 3 and progress.succeeded == 3
        assert all(r["attempts"] == 2 for r in rows(tmp_path / "a").values())

        samples = expand({"gsm8k": env}, ["broken"], ["oracle"], 1, limit=2)
        progress = await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "c", retries=1))
        recorded = rows(tmp_path / "c")
        assert progress.infra_errors == 4 and len(recorded) == 2
        assert all(r["status"] == "infra_error" and r["attempts"] == 2 and not r["success"] for r in recorded.values())
        again = await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "c", retries=0))
        assert again.skipped == 0 and again.infra_errors == 2  # infra-failed samples run again

        samples = expand({"gsm8k": env}, ["broken"], ["oracle"], 1, limit=10)
        with pytest.raises(InfraErrorBudgetExceeded, match="over the budget of 4"):
            await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "b", retries=1, max_infra_errors=4,
                                                                concurrency=1))
    finally:
        AGENTS.pop("flaky")
        AGENTS.pop("broken")


def test_bad_names_and_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown environment 'gsm9k'; did you mean 'gsm8k'"):
        get_env("gsm9k")
    with pytest.raises(ConfigError, match="no such file"):
        get_env("gsm8k", tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "answer": "no final number"}) + "\n")
    with pytest.raises(ConfigError, match="line 1: the answer has no"):
        get_env("gsm8k", bad).tasks()


async def test_rows_that_end_in_one_loop_turn_share_a_commit_made_before_the_loop_waits(tmp_path):
    import asyncio
    import sqlite3

    store = ResultStore(tmp_path / "results.db")
    other = sqlite3.connect(tmp_path / "results.db")  # what another process (a report, a rerun) would see
    try:
        for key in ("a", "b", "c"):
            store.put({"key": key, "env": "e", "task": "t", "agent": "x", "model": "m"}, 1.0)
        assert other.execute("SELECT COUNT(*) FROM samples").fetchone() == (0,)  # this turn has not ended
        await asyncio.sleep(0)
        assert other.execute("SELECT key FROM samples ORDER BY key").fetchall() == [("a",), ("b",), ("c",)]
        # A commit that fails at the end of a turn is raised by the next call, and its rows are kept to write.
        store.put({"key": "d", "env": "e", "task": "t", "agent": "x", "model": "m"}, 1.0)
        other.execute("BEGIN EXCLUSIVE")  # holds the write lock past the store's wait for it
        store._db.execute("PRAGMA busy_timeout=0")
        await asyncio.sleep(0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.put({"key": "e", "env": "e", "task": "t", "agent": "x", "model": "m"}, 1.0)
        other.execute("ROLLBACK")
    finally:
        other.close()
        store.close()
    assert [r["key"] for r in ResultStore(tmp_path / "results.db").rows()] == ["a", "b", "c", "d"]
