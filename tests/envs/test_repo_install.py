"""repo-install: every repository's gold install script passes its verification in the sandbox and running the
tests with no install step fails; the success rule (script exit 0, then verification exit 0); a hostile script
reaches neither the host's files nor the network; the episode's reading actions, snapshot and restore; the scorer;
replay and SIGKILL resume through the step core; the oracle through `agentzoo eval`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentzoo.envs import stepping
from agentzoo.envs.base import ScoringContext
from agentzoo.envs.repo_install import RepoInstall, action_text, attempt
from agentzoo.envs.repo_install.episode import ActionError, parse
from agentzoo.errors import ConfigError, UserError
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the step core's conformance helpers
import step_conformance as conformance  # noqa: E402

ENV = RepoInstall()
TASKS = {t.id: t for t in ENV.tasks()}
LEDGER = TASKS["ledger"]


def test_six_original_repositories_each_with_documents_a_verification_and_a_gold_script():
    assert sorted(TASKS) == ["confetti", "geomkit", "ledger", "quill", "tallyho", "wordstat"]
    assert "written for agentzoo" in (ENV.root / "SOURCE.md").read_text()
    for task in TASKS.values():
        files = ENV.repository(task)
        assert any(p.startswith("tests/") for p in files), task.id
        assert task.data["docs"] and all(d in files for d in task.data["docs"]), task.id
        assert task.gold.strip() and task.data["verify"] in task.prompt
        made = {"tallyho/_build_info.py", "confetti.ini", "ledger.sqlite3", "wordstat/table.json"}
        assert not made & set(files)  # what the install procedures make is not shipped


@pytest.mark.parametrize("name", sorted(TASKS))
async def test_the_gold_script_passes_and_running_the_tests_with_no_install_step_fails(name):
    task = TASKS[name]
    gold = await attempt(ENV.repository(task), task.gold, task.data["verify"])
    assert gold.success, (gold.install_log, gold.verify_log, gold.error)
    assert gold.install_exit == 0 and gold.verify_exit == 0 and "OK" in gold.verify_log
    naive = await attempt(ENV.repository(task), "true\n", task.data["verify"])
    assert naive.install_exit == 0 and naive.verify_exit not in (0, None) and not naive.success


async def test_an_install_script_that_fails_is_a_failed_build_and_the_tests_never_run():
    # The gold's commands after a failing one: `bash -e` stops at the failure, as a Dockerfile build does.
    script = "python3 -m pip install --user --no-index sqlalchemy==1.3.24\n" + LEDGER.gold
    result = await attempt(ENV.repository(LEDGER), script, LEDGER.data["verify"])
    assert result.install_exit not in (0, None) and result.verify_exit is None and not result.success
    assert "sqlalchemy" in result.install_log.lower()


async def test_the_verification_decides_even_when_the_script_succeeds():
    # The outdated README's procedure for ledger: requirements.txt needs the network, setup.py is gone.
    readme = "python3 -m pip install --user -r requirements.txt || true\npython3 setup.py develop || true\n"
    result = await attempt(ENV.repository(LEDGER), readme, LEDGER.data["verify"])
    assert result.install_exit == 0 and result.verify_exit == 1 and not result.success
    assert "make dev" in result.verify_log  # the test's error names the current procedure


async def test_a_hostile_script_reaches_neither_the_hosts_files_nor_the_network(tmp_path):
    # Only files under pytest's tmp_path are aimed at: were the sandbox to leak, nothing of value would be hurt.
    target, secret = tmp_path / "pwned", tmp_path / "secret.txt"
    secret.write_text("host secret")
    script = (f"touch {target} || true\ncat {secret} || echo NO-SECRET\nrm -f {secret} || true\n"
              "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)\" "
              "|| echo NO-NETWORK\n" + LEDGER.gold)
    result = await attempt(ENV.repository(LEDGER), script, LEDGER.data["verify"])
    assert result.success  # the script ran to its end, in the sandbox
    assert not target.exists() and secret.read_text() == "host secret"
    assert "NO-SECRET" in result.install_log and "host secret" not in result.install_log
    assert "NO-NETWORK" in result.install_log


async def test_the_reading_actions_the_parse_and_refused_paths():
    episode = ENV.step_episode(LEDGER)
    first = await episode.reset()
    assert "README.md" in first.text and "docs/" in first.text and first.data["verify"] == LEDGER.data["verify"]
    shown = await episode.step("cat docs/INSTALL.md")
    assert "make dev" in shown.observation.text and not shown.done
    assert "INSTALL.md" in (await episode.step("ls docs")).observation.text
    found = await episode.step("exists Makefile")
    assert found.info["found"] and not found.info["folder"]
    missing = await episode.step("exists setup.py")
    assert not missing.info["found"] and "does not exist" in missing.observation.text
    outside = await episode.step("cat ../../etc/passwd")
    assert "not in the repository" in outside.info["error"]
    unknown = await episode.step("rm -rf /")
    assert "unknown action 'rm'" in unknown.info["parse_error"]
    assert parse("submit\nmake dev\n") == ("submit", "make dev\n")
    assert action_text("try", "make dev\n") == "try\nmake dev\n"
    with pytest.raises(ActionError, match="takes the install script"):
        parse("try")


async def test_try_shows_both_logs_submit_ends_and_snapshot_restore_keep_the_scripts():
    episode = ENV.step_episode(LEDGER)
    await episode.reset()
    tried = await episode.step(action_text("try", "true\n"))
    assert tried.info["attempt"] == {"install_exit": 0, "verify_exit": 1, "success": False, "timed_out": False,
                                     "error": None}
    assert "failed (exit status 1)" in tried.observation.text and "make dev" in tried.observation.text
    done = await episode.step(action_text("submit", LEDGER.gold))
    assert done.done and done.info["answer"] == LEDGER.gold
    assert (await episode.step("ls .")).info == {"ended": True}
    state = episode.snapshot()
    assert state == {"script": LEDGER.gold, "submitted": True, "tries": 1}
    fresh = ENV.step_episode(LEDGER)
    fresh.restore(state)
    assert fresh.snapshot() == state
    with pytest.raises(UserError, match="snapshot"):
        fresh.restore({"script": 3})
    with pytest.raises(ConfigError, match="expected a folder"):
        RepoInstall(tasks_file="/nonexistent")


async def test_the_scorer_runs_the_submitted_script_on_a_fresh_copy():
    async def run(script):
        episode = ENV.episode(LEDGER)
        agent = conformance.tool_agent(ENV, LEDGER, episode, script)
        result = await runner.run(agent, episode.prompt, journal=Journal(":memory:"))
        return await ENV.score(episode, result.answer if result.ok else None, ScoringContext())

    good = await run(ENV.oracle(LEDGER, "tool-calling"))
    assert good.success and good.reward == 1.0 and good.details["verify_exit"] == 0
    bad = await run(stepping.oracle_replies([action_text("submit", "true\n")], "tool-calling"))
    assert not bad.success and bad.reward == 0.0
    assert bad.details["verify_exit"] == 1 and "make dev" in bad.details["log"]
    none = await run(["I cannot do it."])
    assert not none.success and "never opened" in none.details["error"]


async def test_a_run_replays_without_touching_the_environment(tmp_path):
    await conformance.replays_without_touching_the_environment(ENV, LEDGER, tmp_path)


def test_the_oracle_installs_every_repository_through_agentzoo_eval(tmp_path):
    rows = conformance.oracle_scores_full_through_cli("repo-install", tmp_path)
    assert len(rows) == 6 and all(r["success"] for r in rows)
