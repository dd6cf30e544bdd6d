"""The mlagentbench workspace: the stored baselines are what train.py scores in the sandbox (and the oracle's scripts
beat them by >10 %), the success rule, Undo Edit Script and content-addressed snapshots, read-only data, scripts
that fail, time out or touch the data, the scorer, the data-hash check, and any tool agent through the harness."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the mlagentbench tasks are made from scikit-learn's datasets: "
                    "pip install -e '.[mlagentbench]'")

from agentzoo.envs import stepping  # noqa: E402
from agentzoo.envs.mlagentbench import MLAgentBench, WorkspaceEpisode  # noqa: E402
from agentzoo.envs.mlagentbench.actions import action_text  # noqa: E402
from agentzoo.envs.mlagentbench.tasks import (SUCCESS_MARGIN, TASKS, improvement, metric_value,  # noqa: E402
                                              read_submission, succeeded)
from agentzoo.errors import ConfigError, UserError  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the step core's conformance helpers
import step_conformance as conformance  # noqa: E402

ENV = MLAgentBench()
TASKS_BY_ID = {t.id: t for t in ENV.tasks()}
IRIS = TASKS_BY_ID["iris"]


def act(name: str, **args) -> str:
    return action_text(name, args)


async def fresh(task=IRIS, **options) -> WorkspaceEpisode:
    episode = MLAgentBench(**options).step_episode(task) if options else ENV.step_episode(task)
    await episode.reset()
    return episode


async def test_each_stored_baseline_is_what_train_py_scores_and_the_oracles_script_beats_it_by_over_10_percent():
    assert sorted(TASKS_BY_ID) == ["breast-cancer", "diabetes", "iris", "wine"]
    for task in TASKS_BY_ID.values():
        baseline = await ENV.measure(task)
        assert baseline == task.data["baseline"], task.id  # plain Python on fixed data: exact
        episode = await fresh(task)
        await episode.step(act("Write File", file_name="better.py", content=task.gold))
        outcome = await episode.step(act("Execute Script", script_name="better.py"))
        assert "error" not in outcome.info, outcome.observation.text
        answers = ENV.data(task).answers
        improved = metric_value(task.data["metric"], answers,
                                read_submission(episode.files["submission.csv"], len(answers), task.data["metric"]))
        assert succeeded(improved, baseline, task.data["higher_is_better"]), (task.id, improved, baseline)


def test_success_is_beating_the_baseline_by_more_than_10_percent_in_the_metrics_direction():
    assert SUCCESS_MARGIN == 0.10
    assert improvement(0.88, 0.8, True) == pytest.approx(0.1) and not succeeded(0.88, 0.8, True)
    assert succeeded(0.8801, 0.8, True) and not succeeded(0.95, 0.8, False)
    assert improvement(57.6, 64.0, False) == pytest.approx(0.1) and not succeeded(57.6, 64.0, False)
    assert succeeded(57.5, 64.0, False) and not succeeded(70.0, 64.0, False)
    assert succeeded(0.1, 0.0, True) and not succeeded(0.0, 0.0, True)


async def test_undo_edit_script_puts_back_each_edit_in_turn_and_a_restored_snapshot_carries_the_backups():
    episode = await fresh()
    original = episode.files["train.py"]
    seen = await episode.step(act("Save Edited Script", script_name="train.py", save_name="train.py",
                                  content="print('v1')\n"))
    assert seen.observation.text.startswith("Saved the edited script to train.py")
    assert "+print('v1')" in seen.observation.text
    await episode.step(act("Save Edited Script", script_name="train.py", save_name="train.py", content="print('v2')\n"))
    # A fresh episode restored from the snapshot undoes as the original would.
    state = json.loads(json.dumps(episode.snapshot()))
    assert set(state["blobs"]) == {h for h in (state["files"]["train.py"], *state["backups"]["train.py"])
                                   if h not in episode.known}
    assert len(state["blobs"]) == 2 and original not in state["blobs"].values()  # the task's text by hash only
    other = ENV.step_episode(IRIS)
    other.restore(state)
    assert other.files == episode.files and other.backups == episode.backups
    first = await other.step(act("Undo Edit Script", script_name="train.py"))
    assert other.files["train.py"] == "print('v1')\n" and "print('v1')" in first.observation.text
    await other.step(act("Undo Edit Script", script_name="./train.py"))
    assert other.files["train.py"] == original
    nothing = await other.step(act("Undo Edit Script", script_name="train.py"))
    assert nothing.observation.text == "EnvError: there is no edit of train.py to undo" and "error" in nothing.info
    assert episode.files["train.py"] == "print('v2')\n"  # the first episode is untouched
    with pytest.raises(UserError, match="workspace snapshot"):
        ENV.step_episode(IRIS).restore({"files": {"a.py": "0" * 64}, "backups": {}, "blobs": {}})


async def test_the_data_is_read_only_and_no_path_leaves_the_workspace():
    episode = await fresh()
    before = dict(episode.files)
    for action in (act("Write File", file_name="data/train.csv", content="x"),
                   act("Append File", file_name="./data/test.csv", content="x"),
                   act("Copy File", source="train.py", destination="data/train.csv"),
                   act("Read File", file_name="../../etc/passwd"),
                   act("Write File", file_name="/tmp/x", content="x"),
                   act("List Files", dir_path="nowhere")):
        outcome = await episode.step(action)
        assert outcome.observation.text.startswith("EnvError: ") and "error" in outcome.info, action
    assert episode.files == before
    listing = await episode.step(act("List Files", dir_path="."))
    assert listing.observation.text.split("\n") == ["data/", "data_description.txt", "evaluate.py", "train.py"]
    assert (await episode.step(act("List Files", dir_path="data"))).observation.text == "test.csv\ntrain.csv"


async def test_unreadable_actions_and_model_actions_are_refused_without_a_change():
    episode = await fresh()
    for action, why in (("Fly Away\n{}", "is not an action"), ("Read File\n{not json", "not valid JSON"),
                        ('Read File\n{"file": "train.py"}', "missing file_name; unknown file"),
                        ('Understand File\n{"file_name": "train.py", "things_to_look_for": "x"}', "needs a model")):
        outcome = await episode.step(action)
        assert why in outcome.info["parse_error"] and outcome.observation.text.startswith("EnvError: ")
    lines = await episode.step(act("Inspect Script Lines", script_name="train.py", start_line_number="1",
                                   end_line_number=3))
    assert lines.observation.text.startswith("The lines asked for (the file has ")
    assert lines.observation.text.endswith('the two sepal measurements.\n\nIt holds out the last fifth of '
                                           'data/train.csv to print a validation score, then fits on every '
                                           'training row')
    too_many = await episode.step(act("Inspect Script Lines", script_name="train.py", start_line_number=1,
                                      end_line_number=150))
    assert "at most 100 lines" in too_many.observation.text


async def test_a_script_run_keeps_what_it_writes_shows_its_errors_is_stopped_in_time_and_cannot_touch_the_data():
    episode = await fresh(script_seconds=2)
    program = ("open('data/train.csv', 'w').write('gone')\nopen('notes.txt', 'w').write('kept')\n"
               "print('before'); raise SystemExit('it failed on purpose')\n")
    await episode.step(act("Write File", file_name="bad.py", content=program))
    data = episode.files["data/train.csv"]
    outcome = await episode.step(act("Execute Script", script_name="bad.py"))
    assert outcome.observation.text.startswith("bad.py failed (exit status 1). Its output:\nbefore\n")
    assert "it failed on purpose" in outcome.observation.text
    assert episode.files["notes.txt"] == "kept" and episode.files["data/train.csv"] == data
    spin = "print('spinning', flush=True)\nwhile True: pass\n"
    await episode.step(act("Write File", file_name="spin.py", content=spin))
    stopped = await episode.step(act("Execute Script", script_name="spin.py"))
    assert stopped.observation.text.startswith("spin.py ran longer than 2 s and was stopped.")
    assert "spinning" in stopped.observation.text
    missing = await episode.step(act("Execute Script", script_name="nope.py"))
    assert missing.observation.text == "EnvError: the script nope.py does not exist"


async def test_the_scorer_reads_submission_csv_from_the_workspace_at_the_end(tmp_path):
    episode = ENV.episode(IRIS)
    driver = stepping.driver_of(episode)
    assert (await ENV.score(episode, None)).details["error"] == "the workspace was never opened"
    await driver.step(act("List Files", dir_path="."))
    missing = await ENV.score(episode, None)
    assert (missing.success, missing.details["error"]) == (False, "there is no submission.csv in the workspace")
    await driver.step(act("Execute Script", script_name="train.py"))
    baseline = await ENV.score(episode, None)
    assert (baseline.success, baseline.details["score"], baseline.details["improvement"]) == (
        False, IRIS.data["baseline"], 0.0)
    await driver.step(act("Write File", file_name="submission.csv", content="id,target\n0,1\n"))
    short = await ENV.score(episode, None)
    assert "no prediction for 44 of the 45 test ids" in short.details["error"]
    for action in ENV.gold_actions(IRIS):
        await driver.step(action)
    won = await ENV.score(episode, None)
    assert won.success and won.reward == 1.0 and won.details["final_answer"].startswith("I replaced the baseline")
    assert driver.progress.done


def test_a_task_whose_data_differ_from_what_its_baseline_was_measured_on_is_refused(tmp_path):
    shutil.copytree(TASKS / "iris", tmp_path / "iris")
    meta = json.loads((tmp_path / "iris" / "task.json").read_text())
    (tmp_path / "iris" / "task.json").write_text(json.dumps({**meta, "split_seed": 1}))
    env = MLAgentBench(tmp_path)
    with pytest.raises(ConfigError, match="not 3e59d2178e17 \\(what the baseline was measured on\\)"):
        env.workspace(env.tasks()[0])
    (tmp_path / "iris" / "task.json").write_text(json.dumps({**meta, "dataset": "mnist"}))
    with pytest.raises(ConfigError, match="dataset 'mnist' is not one of"):
        MLAgentBench(tmp_path).tasks()


async def test_a_tool_agent_run_replays_without_touching_the_workspace(tmp_path):
    await conformance.replays_without_touching_the_environment(MLAgentBench(), IRIS, tmp_path)


def test_the_oracle_wins_every_task_through_agentzoo_eval_with_a_tool_agent(tmp_path):
    rows = conformance.oracle_scores_full_through_cli("mlagentbench", tmp_path)
    assert len(rows) == 4 and all(r["score"]["improvement"] > SUCCESS_MARGIN for r in rows)
