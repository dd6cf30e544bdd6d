"""Eval statistics and reports: hand-computed numbers, real result folders, `compare` and `export`."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from math import comb, isclose

import numpy as np
import pytest

from agentzoo.agents.tool_calling import ToolCallingAgent
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError, SandboxError
from agentzoo.catalog import REGISTERED as AGENTS, register_agent
from agentzoo.eval.export import ExportCounts, export_eval
from agentzoo.eval.harness import EvalConfig, _infra_row, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.report import PER_TASK_MAX, load_summary, render_markdown, role_of, summarize, write_reports
from agentzoo.eval.sample import ORACLE_NOTE
from agentzoo.eval.stats import mean_pass_at_k, pass_at_k, percentiles, success_rate
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from helpers.cli import agentzoo


# ------------------------------------------------------------------------------------------ stats

def codex_pass_at_k(n, c, k):
    """The numerically stable form given in the Codex paper (Chen et al. 2021, figure 3)."""
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (3, 1, 1, 1 / 3), (3, 1, 2, 2 / 3), (3, 1, 3, 1.0), (3, 0, 3, 0.0), (3, 3, 1, 1.0),
    (10, 3, 1, 0.3), (10, 3, 5, 1 - 21 / 252),  # C(7,5) = 21, C(10,5) = 252
    (200, 13, 10, 1 - comb(187, 10) / comb(200, 10)), (200, 190, 100, 1.0),
])
def test_pass_at_k_is_the_unbiased_estimator(n, c, k, expected):
    assert isclose(pass_at_k(n, c, k), expected, rel_tol=1e-12)
    assert isclose(pass_at_k(n, c, k), codex_pass_at_k(n, c, k), rel_tol=1e-9, abs_tol=1e-12)


def test_pass_at_k_is_averaged_over_tasks_for_the_ks_every_task_supports():
    assert mean_pass_at_k([(3, 3), (3, 1), (3, 0)]) == pytest.approx({1: 4 / 9, 2: 5 / 9, 3: 2 / 3})
    assert list(mean_pass_at_k([(5, 1), (2, 1)])) == [1, 2]  # one task has only 2 samples
    assert list(mean_pass_at_k([(5, 1), (5, 2)], ks=[1, 5, 6])) == [1, 5]
    assert mean_pass_at_k([]) == {}
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_the_bootstrap_interval_holds_the_rate_and_narrows_with_more_tasks():
    small = success_rate([[True]] * 6 + [[False]] * 4)
    large = success_rate([[True]] * 600 + [[False]] * 400)
    for ci in (small, large):
        assert ci.rate == 0.6 and ci.low < 0.6 < ci.high
    assert (large.high - large.low) < (small.high - small.low) / 5
    assert 0.56 < large.low < 0.58 and 0.62 < large.high < 0.64  # ≈ 0.6 ± 1.96·sqrt(0.24/1000)
    assert success_rate([[True]] * 6 + [[False]] * 4) == small  # fixed seed: reproducible
    assert small.resampled == "samples" and (small.successes, small.samples, small.tasks) == (6, 10, 10)


def test_all_success_gives_one_one_and_no_samples_gives_none():
    ci = success_rate({"a": [True, True], "b": [True, True]})
    assert (ci.rate, ci.low, ci.high) == (1.0, 1.0, 1.0)
    assert (success_rate([[False]] * 3).low, success_rate([[False]] * 3).high) == (0.0, 0.0)
    assert success_rate([]).rate is None and success_rate([[], []]).tasks == 0


def test_resampling_tasks_widens_the_interval_when_seeds_agree_within_a_task():
    clustered = success_rate([[True] * 3] * 10 + [[False] * 3] * 10)  # 20 tasks, 3 seeds that always agree
    flat = success_rate([[True]] * 30 + [[False]] * 30)  # the same 60 outcomes as independent samples
    assert clustered.rate == flat.rate == 0.5 and clustered.resampled == "tasks"
    assert (clustered.high - clustered.low) > 1.4 * (flat.high - flat.low)  # ≈ sqrt(3) wider


def test_percentiles_interpolate_linearly():
    assert percentiles(range(1, 101)) == pytest.approx({"p50": 50.5, "p90": 90.1, "p99": 99.01})
    assert percentiles([]) == {"p50": None, "p90": None, "p99": None}
    assert percentiles([2.0]) == {"p50": 2.0, "p90": 2.0, "p99": 2.0}


# ---------------------------------------------------------------------------------- result folders

def _index(task_id: str) -> int:
    return int(task_id.split("/")[1])


def shaky(model, tools=(), *, system=None, sampling=None, episode=None):
    """Right on tasks 0, 3 (every seed) and 1, 4 (seed 0 only); wrong on 2, 5: c = 3, 1, 0 per three tasks."""
    i = _index(episode.task.id)
    right = i % 3 == 0 or (i % 3 == 1 and sampling["seed"] == 0)
    wrong = ScriptedModel([f"So the answer is\n#### {int(episode.task.gold) + 1}"], name="oracle")
    return ToolCallingAgent(model if right else wrong, episode.tools, max_steps=3)


def team(model, tools=(), *, system=None, sampling=None, episode=None):
    """Two roles: a planner on a priced model (gpt-4o-mini, scripted) run twice as branches, then the solver."""
    class Team:
        async def run(self, task, ctx):
            for _ in range(2):
                planner = ScriptedModel(["Plan: read the numbers, then compute."], name="gpt-4o-mini")
                await ToolCallingAgent(planner, episode.tools, max_steps=2).run(task, ctx.child("planner"))
            return await ToolCallingAgent(model, episode.tools, max_steps=3).run(task, ctx.child("solver"))
    return Team()


def broken_on_odd_tasks(model, tools=(), *, system=None, sampling=None, episode=None):
    if _index(episode.task.id) % 2:
        class Broken:
            async def run(self, task, ctx):
                raise SandboxError("the sandbox would not start")
        return Broken()
    return ToolCallingAgent(model, episode.tools, max_steps=3)


def _rows(out):
    store = ResultStore(out / "results.db")
    try:
        return list(store.rows())
    finally:
        store.close()


def _group(summary, agent):
    (found,) = [g for g in summary["groups"] if g["agent"] == agent]
    return found


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """An oracle folder (two agents, 3 seeds) and one with agents that fail some tasks on purpose."""
    env = GSM8K()
    extra = {"shaky": shaky, "team": team, "broken-odd": broken_on_odd_tasks}
    for name, factory in extra.items():
        register_agent(name, factory)
    try:
        oracle = tmp_path_factory.mktemp("oracle")
        meta = {"envs": ["gsm8k"], "agents": ["tool-calling", "codeact"], "models": ["oracle"], "seeds": 3,
                "limit": 5, "tasks": None, "backend": "local"}
        asyncio.run(run_eval(expand({"gsm8k": env}, ["tool-calling", "codeact"], ["oracle"], 3, limit=5),
                             {"gsm8k": env}, EvalConfig(out=oracle), meta=meta))
        mixed = tmp_path_factory.mktemp("mixed")
        samples = expand({"gsm8k": env}, list(extra), ["oracle"], 3, limit=6)
        asyncio.run(run_eval(samples, {"gsm8k": env}, EvalConfig(out=mixed, retries=0, max_infra_errors=100)))
        # The rows the harness makes for samples that failed on infrastructure every time. (Written here too:
        # run_eval's retry loop currently returns through its `for ... else` before storing them.)
        store = ResultStore(mixed / "results.db")
        for s in samples:
            if s.agent == "broken-odd" and _index(s.task.id) % 2:
                store.put(_infra_row(s, {"type": "SandboxError", "message": "the sandbox would not start"}, 1), 0.0)
        store.close()
    finally:
        for name in extra:
            AGENTS.pop(name)
    return {"oracle": oracle, "mixed": mixed, "oracle_paths": write_reports(oracle),
            "mixed_paths": write_reports(mixed)}


def test_reports_of_an_oracle_folder_exist_parse_and_match_the_rows(folders):
    out, rows = folders["oracle"], _rows(folders["oracle"])
    names = [p.name for p in folders["oracle_paths"]]
    assert names == ["samples.jsonl", "samples.parquet", "plot_gsm8k.png", "summary.json", "summary.md"]
    assert all(p.is_file() and p.stat().st_size for p in folders["oracle_paths"])

    lines = (out / "samples.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == rows and len(rows) == 2 * 5 * 3

    summary = json.loads((out / "summary.json").read_text())
    assert summary["oracle_note"] == ORACLE_NOTE and summary["samples"] == 30
    assert [(g["agent"], g["env"], g["model"]) for g in summary["groups"]] == [
        ("tool-calling", "gsm8k", "oracle"), ("codeact", "gsm8k", "oracle")]  # the eval's order
    for g in summary["groups"]:
        mine = [r for r in rows if r["agent"] == g["agent"]]
        assert (g["samples"], g["scored"], g["tasks"], g["infra_errors"]) == (15, 15, 5, 0)
        assert (g["success"]["rate"], g["success"]["low"], g["success"]["high"]) == (1.0, 1.0, 1.0)
        assert g["pass_at_k"] == {"1": 1.0, "2": 1.0, "3": 1.0} and g["reward_mean"] == 1.0
        assert g["tokens"]["input"] == sum(r["input_tokens"] for r in mine)
        assert g["tokens"]["per_sample"] == pytest.approx(sum(r["input_tokens"] + r["output_tokens"] for r in mine) / 15)
        assert g["calls"]["model_per_sample"] == pytest.approx(sum(r["model_calls"] for r in mine) / 15)
        assert g["cost"] == {"usd": 0.0, "per_sample": 0.0, "per_success": 0.0, "unpriced_calls": 15, "model_calls": 15,
                             "complete": False}
        assert g["model_latency_seconds"]["calls"] == sum(len(r["model_latencies"]) for r in mine)
        assert g["model_latency_seconds"]["p50"] == pytest.approx(
            float(np.percentile([x for r in mine for x in r["model_latencies"]], 50)))
        assert g["wall_seconds"]["per_sample"] == pytest.approx(sum(r["wall_seconds"] for r in mine) / 15)
        assert list(g["roles"]) == [""] and g["roles"][""]["model_calls"] == 15

    md = (out / "summary.md").read_text()
    assert ORACLE_NOTE in md and "## gsm8k" in md and "![gsm8k" in md and "per role" not in md
    # pass@1..3, then pass^2 and pass^3 (pass^1 is pass@1), the flip rate and the reward
    assert ("| tool-calling | oracle | 15 | 5 | 100.0% [100.0, 100.0] | 100.0% | 100.0% | 100.0% | 100.0% | 100.0% "
            "| 0.0% | 1.000 |") in md
    assert "unpriced" in md
    assert (out / "plot_gsm8k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_parquet_file_holds_the_same_rows_with_nested_fields_as_json(folders):
    pq = pytest.importorskip("pyarrow.parquet")
    out, rows = folders["oracle"], _rows(folders["oracle"])
    table = pq.read_table(out / "samples.parquet")
    assert table.num_rows == len(rows)
    assert str(table.schema.field("scopes").type) == "string" and str(table.schema.field("seed").type) == "int64"
    back = table.to_pylist()
    for got, row in zip(back, rows):
        assert got["key"] == row["key"] and got["success"] is row["success"] and got["reward"] == row["reward"]
        assert json.loads(got["scopes"]) == row["scopes"] and json.loads(got["score"]) == row["score"]
        assert json.loads(got["model_latencies"]) == row["model_latencies"] and got["answer"] == row["answer"]


def test_a_folder_with_failures_infra_errors_and_roles(folders):
    out, rows = folders["mixed"], _rows(folders["mixed"])
    summary = json.loads((out / "summary.json").read_text())

    g = _group(summary, "shaky")  # c = 3, 1, 0, 3, 1, 0 of 3 seeds
    assert (g["scored"], g["tasks"], g["success"]["successes"]) == (18, 6, 8)
    assert g["success"]["rate"] == pytest.approx(8 / 18) and g["success"]["resampled"] == "tasks"
    assert g["success"]["low"] < 8 / 18 < g["success"]["high"]
    assert {int(k): v for k, v in g["pass_at_k"].items()} == pytest.approx({1: 4 / 9, 2: 5 / 9, 3: 2 / 3})
    assert g["reward_mean"] == pytest.approx(8 / 18)
    shaky_rows = [r for r in rows if r["agent"] == "shaky"]
    assert sum(r["success"] for r in shaky_rows) == 8 and g["status"] == {"finished": 18}

    g = _group(summary, "broken-odd")  # tasks 1, 3, 5 fail on infrastructure: counted apart
    assert (g["samples"], g["scored"], g["infra_errors"], g["tasks"]) == (18, 9, 9, 3)
    assert (g["success"]["rate"], g["success"]["low"]) == (1.0, 1.0)
    assert g["infra_error_types"] == {"SandboxError": 9} and g["status"] == {"finished": 9, "infra_error": 9}
    assert any("broken-odd" in note and "9 sample(s)" in note for note in summary["notes"])

    g = _group(summary, "team")
    team_rows = [r for r in rows if r["agent"] == "team"]
    assert set(g["roles"]) == {"planner", "solver"}  # planner and planner#2 are one role
    planner = g["roles"]["planner"]
    assert planner["samples"] == 18 and planner["model_calls"] == 36
    assert planner["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in team_rows)) and planner["cost_usd"] > 0
    assert g["roles"]["solver"]["cost_usd"] == 0 and g["roles"]["solver"]["model_calls"] == 18
    assert g["cost"]["unpriced_calls"] == 18 and g["cost"]["model_calls"] == 54
    assert g["cost"]["per_sample"] == pytest.approx(g["cost"]["usd"] / 18)

    md = (out / "summary.md").read_text()
    assert "### gsm8k: per role" in md and "| team | oracle | planner | 18 | 2.00 / 0.00 / 0.00 |" in md
    assert "† team × oracle: 18 of 54 model calls had no known price" in md
    assert ORACLE_NOTE in md and "| broken-odd | oracle | 9 | 3 | 100.0% [100.0, 100.0] |" in md
    assert (out / "plot_gsm8k.png").is_file()


def test_summaries_of_edge_cases():
    empty = summarize([])
    assert empty["groups"] == [] and empty["oracle_note"] is None and "No samples yet." in render_markdown(empty)
    assert role_of("team/coder#2/tester#10") == "team/coder/tester" and role_of("") == ""


def test_loading_a_folder_without_results_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no results.db"):
        write_reports(tmp_path)
    with pytest.raises(ConfigError, match="neither results.db nor summary.json"):
        load_summary(tmp_path)


# ------------------------------------------------------------------------------- compare and export

def cli(*args, cwd=None):
    return agentzoo(*args, cwd=cwd, check=False, timeout=120)


def test_compare_two_folders(folders):
    done = cli("compare", folders["oracle"], folders["mixed"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for agent in ("tool-calling", "codeact", "shaky", "team", "broken-odd"):
        assert any(agent in line for line in lines), agent
    shaky_line = next(line for line in lines if "shaky" in line)
    assert "│ mixed0 " in shaky_line and "44.4% [" in shaky_line and "@2 55.6%" in shaky_line
    assert "unpriced" in done.stdout and ORACLE_NOTE in " ".join(done.stdout.split())

    done = cli("compare", folders["oracle"], folders["mixed"], "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["oracle_note"] == ORACLE_NOTE
    assert [(r["folder"] == str(folders["oracle"]), r["agent"]) for r in data["rows"]][:2] == [
        (True, "tool-calling"), (True, "codeact")]
    assert len(data["rows"]) == 5
    row = next(r for r in data["rows"] if r["agent"] == "shaky")
    summary = json.loads((folders["mixed"] / "summary.json").read_text())
    assert row["success_rate"] == _group(summary, "shaky")["success"]["rate"]
    assert row["pass_at_k"] == _group(summary, "shaky")["pass_at_k"]

    missing = cli("compare", folders["oracle"].parent / "nowhere")
    assert missing.returncode == 2 and "neither results.db nor summary.json" in missing.stderr


def test_export_keeps_only_samples_with_enough_reward(folders, tmp_path):
    mixed, rows = folders["mixed"], _rows(folders["mixed"])
    successes = [r for r in rows if r["reward"] >= 1.0]
    assert 0 < len(successes) < len(rows)

    out = tmp_path / "train.jsonl"
    done = cli("export", mixed, "--format", "openai-jsonl", "--min-reward", "1.0", "--out", out)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    at_root = [r for r in successes if r["agent"] != "team"]  # the team's model calls are its roles', not the root's
    assert len(records) == len(at_root) == 8 + 9
    assert {r["metadata"]["key"] for r in records} == {r["key"] for r in at_root}
    assert all(r["metadata"]["reward"] >= 1.0 and r["messages"][-1]["role"] == "assistant" for r in records)
    said = " ".join(done.stdout.split())
    assert f"wrote {len(at_root)} trajectories" in said and "9 infra errors" in said
    assert "18 with no model call in scope '<root>'" in said

    done = cli("export", mixed, "--format", "sharegpt", "--min-reward", "0")  # to stdout, every scored sample
    assert done.returncode == 0, done.stderr
    scored_at_root = [r for r in rows if r["status"] != "infra_error" and r["agent"] != "team"]
    assert len(done.stdout.splitlines()) == len(scored_at_root) == 18 + 9
    assert all("conversations" in json.loads(line) for line in done.stdout.splitlines())

    counts = ExportCounts()
    team_solver = list(export_eval(mixed, "openai-jsonl", 1.0, "solver", counts=counts))
    assert len(team_solver) == len([r for r in successes if r["agent"] == "team"])
    assert len(counts.no_trajectory) == len(successes) - len(team_solver)  # the other agents have no 'solver'

    done = cli("export", "some-run-id", "--min-reward", "1.0")
    assert done.returncode == 2 and "--min-reward goes with an eval results folder" in done.stderr


def test_export_of_a_results_folder_without_its_journal_names_it_and_makes_none(folders, tmp_path):
    copy = tmp_path / "copied"
    copy.mkdir()
    shutil.copy(folders["mixed"] / "results.db", copy / "results.db")  # the rows, not the runs' journal
    done = cli("export", copy, "--format", "openai-jsonl")
    assert done.returncode == 2
    assert f"no journal at {copy / 'journal.db'} to read the trajectories from" in " ".join(done.stderr.split())
    assert not (copy / "journal.db").exists()


def test_agentzoo_eval_writes_every_report(tmp_path):
    out = tmp_path / "r"
    done = cli("eval", "--env", "gsm8k", "--agent", "tool-calling", "--model", "oracle", "--limit", "3",
               "--out", out)
    assert done.returncode == 0, done.stderr
    for name in ("samples.jsonl", "samples.parquet", "summary.json", "summary.md", "plot_gsm8k.png"):
        assert (out / name).is_file(), name
    assert ORACLE_NOTE in (out / "summary.md").read_text()


def test_without_the_eval_extra_parquet_and_plots_are_skipped_with_a_note(folders, tmp_path, monkeypatch):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(folders["oracle"], out)
    for name in ("samples.parquet", "plot_gsm8k.png"):
        (out / name).unlink()
    for module in ("pyarrow", "pyarrow.parquet", "matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    assert [p.name for p in write_reports(out)] == ["samples.jsonl", "summary.json", "summary.md"]
    md = (out / "summary.md").read_text()
    assert "samples.parquet skipped: pyarrow is not installed (pip install 'agentzoo[eval]')" in md
    assert "plots skipped: matplotlib" in md and "![" not in md
    assert not (out / "samples.parquet").exists() and not (out / "plot_gsm8k.png").exists()


def test_a_simulation_group_reports_what_one_simulated_hour_costs():
    def row(task, hours, calls, tokens, wall):
        return {"key": task, "env": "town", "task": task, "agent": "generative-agents", "model": "scripted", "seed": 0,
                "run_id": task, "reward": 0.5, "success": True, "status": "finished", "model_calls": calls,
                "tool_calls": 0, "input_tokens": tokens, "output_tokens": 0, "cost_usd": 0.0, "unpriced_calls": calls,
                "wall_seconds": wall, "model_latencies": [], "scopes": {},
                "score": {"simulated_hours": hours, "knew": 2}}

    summary = summarize([row("town/a", 2.0, 30, 3000, 60.0), row("town/b", 6.0, 50, 5000, 100.0)])
    [group] = summary["groups"]
    assert group["simulation"] == {"simulated_hours": 8.0, "hours_per_sample": 4.0, "model_calls_per_hour": 10.0,
                                   "tokens_per_hour": 1000.0, "cost_usd_per_hour": 0.0, "wall_seconds_per_hour": 20.0}
    text = render_markdown(summary)
    assert "## town" in text and "### town: simulated time" in text
    section = text.split("### town: simulated time")[1]
    line = next(x for x in section.splitlines() if x.startswith("| generative-agents"))
    assert "| 4.00 |" in line and "| 10.0 |" in line
    plain = summarize([{**row("gsm8k/1", 0.0, 3, 10, 1.0), "env": "gsm8k", "score": {}}])
    assert plain["groups"][0]["simulation"] is None and "simulated time" not in render_markdown(plain)


def test_a_small_group_shows_steps_calls_tokens_and_time_per_task_and_a_sweep_does_not():
    def row(task, seed, success, steps, calls, wall):
        return {"key": f"{task}:{seed}", "env": "mlagentbench", "task": task, "agent": "mlagentbench",
                "model": "scripted", "seed": seed, "run_id": f"{task}:{seed}", "reward": float(success),
                "success": success, "status": "finished", "model_calls": calls, "tool_calls": steps,
                "input_tokens": 100 * calls, "output_tokens": 10 * calls, "cost_usd": 0.0, "unpriced_calls": calls,
                "wall_seconds": wall, "model_latencies": [], "scopes": {}, "score": {"steps": steps}}

    summary = summarize([row("iris", 0, True, 30, 31, 60.0), row("iris", 1, False, 50, 51, 100.0),
                         row("wine", 0, False, 300, 301, 900.0)])
    [group] = summary["groups"]
    assert [t["task"] for t in group["per_task"]] == ["iris", "wine"]
    iris = group["per_task"][0]
    assert (iris["samples"], iris["successes"], iris["steps"], iris["model_calls"], iris["wall_seconds"]) == \
        (2, 1, 40.0, 41.0, 80.0)
    section = render_markdown(summary).split("### mlagentbench: per task")[1]
    line = next(x for x in section.splitlines() if "| wine |" in x)
    assert "| 0/1 | 300.0 | 301.00 / 300.00 | 30,100 / 3,010 |" in line
    # an environment that counts no steps shows a dash; a sweep over more tasks than PER_TASK_MAX keeps no rows
    plain = summarize([{**row("gsm8k/1", 0, True, 0, 1, 1.0), "env": "gsm8k", "score": {}}])
    assert plain["groups"][0]["per_task"][0]["steps"] is None
    sweep = summarize([{**row(f"gsm8k/{i}", 0, True, 0, 1, 1.0), "env": "gsm8k"} for i in range(PER_TASK_MAX + 1)])
    assert sweep["groups"][0]["per_task"] is None and ": per task" not in render_markdown(sweep)
