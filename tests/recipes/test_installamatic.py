"""installamatic: Installamatic's loop. The PAPERS.md protocol: a run succeeds only when the verification (the
repository's test run) exits 0 after the script, and pass@10 is 1 when any of 10 seeded runs succeeded; the search
(a plan, then one action), the summary and the script in one conversation, at most two repairs each a new
conversation with the script and the log; replay with no model call and no sandbox; a run SIGKILLed after its failed
try resumes repeating no call; the harness with scripted roles and the oracle; the shipped local model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentzoo.envs import stepping
from agentzoo.envs.base import Episode, ScoringContext
from agentzoo.envs.repo_install import RepoInstall
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.report import write_reports
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes.installamatic import MAX_REPAIRS, build, read_action, read_script
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from installamatic_script import ACT, EXPLAIN, FIX, PLAN, README_SCRIPT, WRITE, ledger, seeded  # noqa: E402

ENV = RepoInstall()
LEDGER = next(t for t in ENV.tasks() if t.id == "ledger")
SCRIPT_FILE = HERE / "installamatic_script.py"


def agent_on(play, task=LEDGER, **options):
    episode = ENV.episode(task)
    model = ScriptedModel(play)
    return episode, model, build(model, episode=episode, **options)


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return list(store.rows())
    finally:
        store.close()


def env_entries(journal, run_id):
    return [e for e in journal.entries(run_id) if e.kind == "env"]


async def test_protocol_a_failed_build_is_repaired_from_its_log_and_the_run_succeeds_only_when_the_tests_pass():
    journal = Journal(":memory:")
    episode, model, agent = agent_on(ledger)
    result = await runner.run(agent, LEDGER.prompt, journal=journal)
    assert result.ok and result.answer == "make dev\n"
    steps = env_entries(journal, result.run_id)
    tries = [e.result["outcome"]["info"]["attempt"] for e in steps if "attempt" in e.result["outcome"]["info"]]
    # The README's script: pip finds no index, so the build fails and the tests never run; the repair passes.
    assert tries == [{"install_exit": 1, "verify_exit": None, "success": False, "timed_out": False, "error": None},
                     {"install_exit": 0, "verify_exit": 0, "success": True, "timed_out": False, "error": None}]
    assert steps[-1].request["action"].startswith("submit\nmake dev")
    score = await ENV.score(episode, result.answer, ScoringContext())
    assert score.success and score.reward == 1.0 and score.details["verify_exit"] == 0
    # Every search step is a plan and then one action; the repair is a new conversation holding the script and log.
    prompts = [str(r.messages[-1]["content"]) for r in model.requests]
    kinds = [next(name for name, m in (("plan", PLAN), ("act", ACT), ("write", WRITE), ("explain", EXPLAIN),
                                       ("fix", FIX)) if m.found_in(p)) if not p.startswith("You are installing")
             else "summary" for p in prompts]
    assert kinds == ["plan", "act"] * 5 + ["summary", "write", "explain"] + ["plan", "act"] * 2 + ["fix"]
    repair = next(r for r in model.requests if EXPLAIN.found_in(str(r.messages[-1]["content"])))
    opening = repair.messages[0]["content"]
    assert len(repair.messages) == 2 and README_SCRIPT.strip() in opening and "requirements.txt" in opening
    assert "The install script failed (exit status 1); the tests were not run" in opening
    summary = next(r for r in model.requests if str(r.messages[-1]["content"]).startswith("You are installing"))
    assert "--- README.md ---" in summary.messages[0]["content"] and "make dev" in summary.messages[0]["content"]


async def test_protocol_a_script_that_exits_0_is_not_a_success_when_the_tests_fail():
    # With no seed (not 7) the script installs nothing: every try exits 0 and the tests fail; two repairs, then it ends.
    journal = Journal(":memory:")
    episode, _, agent = agent_on(seeded, max_search_steps=1)
    result = await runner.run(agent, LEDGER.prompt, journal=journal)
    tries = [e.result["outcome"]["info"]["attempt"] for e in env_entries(journal, result.run_id)
             if "attempt" in e.result["outcome"]["info"]]
    assert [(t["install_exit"], t["verify_exit"]) for t in tries] == [(0, 1)] * (1 + MAX_REPAIRS) and MAX_REPAIRS == 2
    score = await ENV.score(episode, result.answer, ScoringContext())
    assert not score.success and score.reward == 0.0 and score.details["install_exit"] == 0


async def test_pass_at_10_is_1_when_one_of_ten_seeded_runs_succeeds_through_the_harness(tmp_path):
    model = f"scripted:{SCRIPT_FILE}:seeded"
    samples = [Sample(ENV.name, LEDGER, "installamatic", model, seed) for seed in range(10)]
    from agentzoo.runtime.spec import AgentSpec

    spec = AgentSpec(agent="installamatic", model=model, options={"max_search_steps": 1, "max_repairs": 0})
    await run_eval(samples, {ENV.name: ENV}, EvalConfig(out=tmp_path, concurrency=2, agents={"installamatic": spec}))
    got = rows(tmp_path)
    assert sorted((r["seed"], r["success"]) for r in got) == [(s, s == 7) for s in range(10)]
    assert all(r["status"] == "finished" and r["score"]["install_exit"] == 0 for r in got)
    write_reports(tmp_path)
    [group] = json.loads((tmp_path / "summary.json").read_text())["groups"]
    assert group["pass_at_k"]["10"] == 1.0 and group["pass_at_k"]["1"] == pytest.approx(0.1)
    assert "pass@10" in (tmp_path / "summary.md").read_text()


async def test_the_no_repair_preset_stops_after_the_first_try_and_bad_options_are_named():
    journal = Journal(":memory:")
    episode, model, agent = agent_on(ledger, max_repairs=0)
    result = await runner.run(agent, LEDGER.prompt, journal=journal)
    assert result.answer == README_SCRIPT and not any(EXPLAIN.found_in(str(r.messages[-1]["content"]))
                                                      for r in model.requests)
    assert not (await ENV.score(episode, result.answer, ScoringContext())).success
    with pytest.raises(ConfigError, match="needs an episode of repo-install"):
        build(ScriptedModel([]), episode=Episode(LEDGER))
    with pytest.raises(ConfigError, match="cannot be negative"):
        build(ScriptedModel([]), episode=ENV.episode(LEDGER), max_repairs=-1)


def test_replies_are_read_as_one_action_and_a_fenced_script():
    allowed = ("ls", "cat", "exists", "record", "done")
    assert read_action("`cat README.md`\nbecause", allowed) == ("cat", "README.md")
    assert read_action("Action: record docs/INSTALL.md", allowed) == ("record", "docs/INSTALL.md")
    assert read_action("I will read it", allowed) is None
    assert read_script("Fix:\n```bash\nmake dev\n```\n") == "make dev\n"
    assert read_script("make dev") == "make dev\n"


async def test_a_run_replays_with_no_model_call_and_no_sandbox(tmp_path):
    journal = Journal(tmp_path / "j.db")
    _, _, agent = agent_on(ledger)
    live = await runner.run(agent, LEDGER.prompt, journal=journal)
    assert live.ok
    replayed = await runner.replay(build(ScriptedModel([])), live.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    assert replayed.answer == live.answer and json.dumps(replayed.messages) == json.dumps(live.messages)
    journal.close()


def crash(journal, kill_after):
    return subprocess.run([sys.executable, HERE / "installamatic_crash.py", journal, str(kill_after)],
                          capture_output=True, text=True, timeout=600)


async def test_a_run_killed_after_its_failed_try_resumes_repeating_no_call(tmp_path):
    reference = crash(tmp_path / "reference.db", "none")
    assert reference.returncode == 0, reference.stderr
    with Journal(tmp_path / "reference.db") as journal:
        ref_run = journal.get_run("latest")
        ref_env = env_entries(journal, ref_run.run_id)
        first_try = next(i for i, e in enumerate(ref_env) if str(e.request.get("action", "")).startswith("try"))
    killed = crash(tmp_path / "j.db", first_try + 1)  # killed right after the failed try was recorded
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        run = journal.get_run("latest")
        assert run.status == "running"
        before = list(journal.entries(run.run_id))
        assert len(env_entries(journal, run.run_id)) == first_try + 1
        episode = ENV.episode(LEDGER)
        model = ScriptedModel(ledger)
        resumed = await runner.resume(build(model, episode=episode), run.run_id, journal=journal)
        assert resumed.ok and resumed.answer == "make dev\n"
        entries = list(journal.entries(run.run_id))
        assert len({e.key for e in entries}) == len(entries)  # no call twice
        new = len(entries) - len(before)
        driver = stepping.driver_of(episode)
        # Only the calls after the kill were made: the failed try was not run again.
        assert model.calls == sum(1 for e in entries[len(before):] if e.kind == "model") and model.calls > 0
        assert driver.performed == len(ref_env) - (first_try + 1) and new > 0
        def steps(entries):  # what each step was and left (the logs carry the tests' timings, so not those)
            return [(e.request, e.result["snapshot"], e.result["outcome"]["info"]) for e in entries]

        assert steps(env_entries(journal, run.run_id)) == steps(ref_env)
    assert (await ENV.score(episode, resumed.answer, ScoringContext())).success


async def test_the_harness_runs_the_oracle_on_every_repository(tmp_path):
    await run_eval([Sample(ENV.name, t, "installamatic", "oracle", 0) for t in ENV.tasks()], {ENV.name: ENV},
                   EvalConfig(out=tmp_path, concurrency=3))
    got = rows(tmp_path)
    assert len(got) == 6 and all(r["success"] and r["reward"] == 1.0 for r in got)
    assert all(r["model_calls"] == 4 for r in got)  # a plan, `done`, the summary, the gold script


async def test_the_shipped_local_model_runs_a_short_attempt(tmp_path):
    pytest.importorskip("xllamacpp")
    from agentzoo.models.local import model_file
    from agentzoo.runtime.spec import AgentSpec

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    spec = AgentSpec(agent="installamatic", model="local:smollm2-135m?max_tokens=48",
                     options={"max_search_steps": 1, "max_repairs": 0, "max_tokens": 48})
    await run_eval([Sample(ENV.name, LEDGER, "installamatic", spec.model, 0)], {ENV.name: ENV},
                   EvalConfig(out=tmp_path, concurrency=1, agents={"installamatic": spec}))
    [row] = rows(tmp_path)
    assert row["status"] == "finished", row["error"]
    assert row["model_calls"] == 4  # a plan, an action, the summary, the script
    assert row["score"]["tries"] == 1 and row["success"] is (row["score"].get("verify_exit") == 0)
