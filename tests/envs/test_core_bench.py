"""core-bench: CORE-Bench's scorer (the prediction interval of repeated runs, lists exact, strings, '%', vision questions
apart, a task solved only when every question is), the capsules (the levels' files, every gold report scores 1, the
published results and a fresh sandboxed run at medium and hard land inside every interval), a missing or malformed
report.json, and a scripted tool agent through the harness that writes report.json, then its replay with no model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("scipy", reason="the core-bench scorer uses scipy's Student t")

from agentzoo.envs import stepping  # noqa: E402
from agentzoo.envs.base import ScoringContext  # noqa: E402
from agentzoo.envs.core_bench import CoreBench  # noqa: E402
from agentzoo.envs.core_bench.capsules import REPORT, answers_from, load_capsules  # noqa: E402
from agentzoo.envs.core_bench.scoring import prediction_interval, score_report  # noqa: E402
from agentzoo.envs.mlagentbench.actions import action_text  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.eval.harness import EvalConfig, run_eval  # noqa: E402
from agentzoo.eval.matrix import Sample  # noqa: E402
from agentzoo.eval.report import load_rows  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the step core's conformance helpers
import step_conformance as conformance  # noqa: E402

ENV = CoreBench()
CAPSULES = load_capsules()
TASKS = {t.id: t for t in ENV.tasks()}


def act(name: str, **args) -> dict:
    return {"tool_calls": [{"name": "act", "arguments": {"action": action_text(name, args)}}]}


# --- the scorer ------------------------------------------------------------------------------------------


def test_protocol_a_number_inside_the_95_percent_prediction_interval_is_correct_and_a_task_needs_every_question():
    runs = [{"Report the accuracy.": v, "Report the best model.": "ridge"} for v in (0.5, 0.52, 0.49)]
    judged = score_report(runs, {"Report the accuracy.": 0.51, "Report the best model.": "ridge"})
    assert judged.solved and [v.correct for v in judged.verdicts] == [True, True]
    judged = score_report(runs, {"Report the accuracy.": 0.7, "Report the best model.": "ridge"})
    assert not judged.solved and [v.correct for v in judged.verdicts] == [False, True]
    assert judged.details()["correct_written_answers"] == 1 and judged.details()["total_written_questions"] == 2
    # the interval is mean ± t.ppf(0.975, n-1)·sd·sqrt(1 + 1/n): with 3 runs, t(0.975, 2) = 4.3027
    low, high = prediction_interval([0.5, 0.52, 0.49])
    half = 4.302652729911275 * 0.015275252316519468 * math.sqrt(1 + 1 / 3)
    assert low == pytest.approx(0.503333333 - half) and high == pytest.approx(0.503333333 + half)
    assert 0.427 < low < 0.428 and 0.579 < high < 0.580


def test_percentages_strings_lists_and_missing_answers():
    runs = [{"Report the R squared, as a percentage.": v, "Report the group.": "Control",
             "Report the sizes.": [50, 80, 120]} for v in (91.8, 91.9, 91.85)]
    ok = {"Report the R squared, as a percentage.": "91.85%", "Report the group.": "control",
          "Report the sizes.": [50, 80, 120]}
    assert score_report(runs, ok).solved  # '%' stripped then cast; strings compared ignoring case
    for question, wrong in (("Report the R squared, as a percentage.", "ninety"),  # not a number
                            ("Report the R squared, as a percentage.", "0.9185"),  # a share is not a percentage
                            ("Report the group.", "control group"),
                            ("Report the sizes.", [120, 80, 50]),  # a list is exact, order included
                            ("Report the sizes.", "[50, 80, 120]")):
        judged = score_report(runs, {**ok, question: wrong})
        assert not judged.solved and [v.question for v in judged.verdicts if not v.correct] == [question]
    # a question the report does not answer is wrong; one it was not asked is ignored
    judged = score_report(runs, {**{k: v for k, v in ok.items() if k != "Report the group."}, "extra": 1})
    assert [v.got for v in judged.verdicts] == ["91.85%", None, [50, 80, 120]] and not judged.solved
    # an answer that cannot be compared does not stop the judging of those after it (upstream's one try does)
    judged = score_report(runs, {**ok, "Report the R squared, as a percentage.": ["x"]})
    assert [v.correct for v in judged.verdicts] == [False, True, True]


def test_runs_that_agree_give_an_interval_of_their_value_and_one_run_is_refused():
    assert prediction_interval([0.0065] * 5) == (0.0065, 0.0065)  # fmean would give 0.006500000000000001
    assert score_report([{"q": 0.0065}] * 5, {"q": "0.0065"}).solved
    assert not score_report([{"q": 0.0065}] * 5, {"q": 0.0066}).solved
    with pytest.raises(ConfigError, match="at least two"):
        prediction_interval([1.0])


def test_fig_questions_are_vision_questions_counted_apart():
    runs = [{"Report the mean.": m, "fig Report the peak day.": d} for m, d in ((1.0, 16), (1.1, 15), (0.9, 18))]
    judged = score_report(runs, {"Report the mean.": 1.0, "fig Report the peak day.": 40})
    details = judged.details()
    assert (details["correct_written_answers"], details["total_written_questions"]) == (1, 1)
    assert (details["correct_vision_answers"], details["total_vision_questions"]) == (0, 1)
    assert not judged.solved  # a task needs its vision questions too
    assert score_report(runs, {"Report the mean.": 1.0, "fig Report the peak day.": "16"}).solved
    # in the capsules, only the figure questions say "fig" (a word like "configuration" would make one vision)
    vision = {name: [q.text for q in c.questions if "fig" in q.text] for name, c in CAPSULES.items()}
    assert all(all(q.startswith("fig ") for q in qs) for qs in vision.values())
    assert sum(bool(qs) for qs in vision.values()) == 3
    for c in CAPSULES.values():
        assert all((q.figure is not None) == q.text.startswith("fig ") for q in c.questions)


# --- the capsules ----------------------------------------------------------------------------------------


def test_each_level_holds_what_core_bench_gives_it():
    assert sorted(CAPSULES) == ["bootstrap-means", "kmeans-clusters", "monte-carlo-pi", "ols-regression",
                                "sir-epidemic"]
    assert len(TASKS) == 15
    for name, capsule in CAPSULES.items():
        easy, medium, hard = (set(capsule.workspace(level)) for level in ("easy", "medium", "hard"))
        assert {"README.md", "REPRODUCING.md", "code/reproduce.py", "code/analysis.py", "code/make_data.py",
                "results/metrics.json"} <= easy
        assert any(p.startswith("data/") for p in easy) and any(p.startswith("vendor/") for p in easy)
        assert medium == {p for p in easy if not p.startswith("results/")}
        assert hard == {p for p in medium if not p.startswith("data/")} - {"REPRODUCING.md", "code/reproduce.py"}
        assert len(capsule.results) == 5 and capsule.seeds == (1, 2, 3, 4, 5)
    # the kinds the original scores: numbers, lists and strings, and numbers that vary between runs
    kinds = {type(v).__name__ for c in CAPSULES.values() for v in c.results[0].values()}
    assert kinds == {"float", "int", "list", "str"}
    varying = [q for c in CAPSULES.values() for q in c.results[0] if len({run[q] for run in c.results
                                                                        if not isinstance(run[q], list)}) > 1]
    assert len(varying) >= 5
    prompts = {level: TASKS[f"ols-regression/{level}"].prompt for level in ("easy", "medium", "hard")}
    assert "Do not run or execute any code" in prompts["easy"] and "REPRODUCING.md" in prompts["medium"]
    assert "Install every requirement the README names" in prompts["hard"]
    assert all("Report the R squared of the fitted model, as a percentage." in p for p in prompts.values())
    with pytest.raises(ConfigError, match="levels"):
        CoreBench(levels=["expert"])
    assert [t.id for t in CoreBench(levels=["easy"]).tasks()][:2] == ["bootstrap-means/easy", "kmeans-clusters/easy"]


async def scored(task_id: str, actions: list[str]):
    """The score of an episode of `task_id` after `actions` (taken through the tools, as an agent would)."""
    task = TASKS[task_id]
    episode = ENV.episode(task)
    driver = stepping.driver_of(episode)
    for action in actions:
        await driver.step(action)
    try:
        return await ENV.score(episode, None, ScoringContext())
    finally:
        await driver.close()


async def test_every_capsules_gold_report_and_published_results_score_1_at_every_level():
    for task in TASKS.values():
        capsule = CAPSULES[task.data["capsule"]]
        score = await scored(task.id, ENV.gold_actions(task))
        assert score.success and score.reward == 1.0, (task.id, score.details)
        assert score.details["steps"] == 2 and score.details["final_answer"]
        # the results the easy level reads are a run outside the ground truth (seed 0), inside every interval
        assert score_report(list(capsule.results), answers_from(capsule, capsule.files)).solved, task.id


async def test_a_missing_or_malformed_report_is_a_failure_that_says_why():
    task = TASKS["kmeans-clusters/easy"]
    cases = [([action_text("List Files", {"dir_path": "."})], "there is no report.json"),
             ([action_text("Write File", {"file_name": REPORT, "content": "{'sizes': [50]"})], "not valid JSON"),
             ([action_text("Write File", {"file_name": REPORT, "content": "[50, 80, 120]"})], "must be a JSON object"),
             ([action_text("Write File", {"file_name": "results/report.json", "content": "{}"})], "no report.json")]
    for actions, why in cases:
        score = await scored(task.id, actions)
        assert not score.success and score.reward == 0.0 and why in score.details["error"], score.details
    score = await ENV.score(ENV.episode(task), None, ScoringContext())
    assert not score.success and score.details["error"] == "the workspace was never opened"
    score = await scored(task.id, [action_text("Write File", {"file_name": REPORT, "content": "{}"})])
    assert not score.success and score.details["total_written_questions"] == 2
    assert [q["got"] for q in score.details["questions"]] == [None, None, None]


async def test_a_fresh_run_in_the_sandbox_reproduces_within_the_intervals_at_medium_and_hard():
    """Medium: run code/reproduce.py as REPRODUCING.md says (two capsules). Hard: the analysis fails until the
    vendored package is installed; a script that installs it offline, makes the data and runs the analysis
    reproduces the answers. Each a run outside the recorded ones, in the sandbox."""
    for name in ("ols-regression", "sir-epidemic"):
        episode = ENV.step_episode(TASKS[f"{name}/medium"])
        await episode.reset()
        outcome = await episode.step(action_text("Execute Script", {"script_name": "code/reproduce.py"}))
        assert "error" not in outcome.info and "ran. Its output" in outcome.observation.text, outcome.observation.text
        capsule = CAPSULES[name]
        got = answers_from(capsule, episode.files)
        assert score_report(list(capsule.results), got).solved, (name, got)
    episode = ENV.step_episode(TASKS["bootstrap-means/hard"])
    await episode.reset()
    failed = await episode.step(action_text("Execute Script", {"script_name": "code/analysis.py"}))
    assert "No module named 'bootci'" in failed.observation.text
    script = ("import subprocess, sys\n"
              "run = lambda *a: subprocess.run([sys.executable, *a], check=True)\n"
              "run('-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--target', 'lib', 'vendor/bootci')\n"
              "run('code/make_data.py')\nrun('code/analysis.py')\n")
    await episode.step(action_text("Write File", {"file_name": "run_all.py", "content": script}))
    outcome = await episode.step(action_text("Execute Script", {"script_name": "run_all.py"}))
    assert "ran. Its output" in outcome.observation.text, outcome.observation.text
    capsule = CAPSULES["bootstrap-means"]
    got = answers_from(capsule, episode.files)
    assert score_report(list(capsule.results), got).solved, got
    report = {q: (f"{v}" if isinstance(v, float) else v) for q, v in got.items()}  # numbers as text, as models do
    await episode.step(action_text("Write File", {"file_name": REPORT, "content": json.dumps(report)}))
    assert json.loads(episode.files[REPORT]) == report


# --- through the harness ---------------------------------------------------------------------------------


def test_a_scripted_tool_agent_writes_report_json_through_the_harness_and_the_run_replays_with_no_model(tmp_path):
    task = TASKS["sir-epidemic/easy"]
    gold = CAPSULES["sir-epidemic"].gold
    questions = list(gold)
    metrics = json.loads(CAPSULES["sir-epidemic"].files["results/metrics.json"])
    report = {questions[0]: f"{metrics['attack_rate_percent']}%", questions[1]: metrics["mean_peak_day"],
              questions[2]: 16}  # the percentage as text with '%', the peak day read off the figure
    script = [act("Read File", file_name="results/metrics.json"),
              act("Read File", file_name="results/fig_curve.svg"),
              act("Write File", file_name=REPORT, content=json.dumps(report)),
              act("Final Answer", final_answer="report.json is written"),
              "I wrote report.json."]
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    out = tmp_path / "out"
    import asyncio

    asyncio.run(run_eval([Sample(ENV.name, task, "tool-calling", f"scripted:{path}", 0)], {ENV.name: ENV},
                         EvalConfig(out=out, concurrency=1)))
    (row,), _ = load_rows(out)
    assert row["success"] and row["reward"] == 1.0, row
    assert row["score"]["steps"] == 4 and row["score"]["level"] == "easy"
    assert (row["score"]["correct_vision_answers"], row["score"]["total_vision_questions"]) == (1, 1)
    assert row["score"]["questions"][0]["got"] == report[questions[0]]
    assert row["model_calls"] == 5
    # the run replays from its journal: no model, no tool, no sandbox, no environment
    done = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "replay", row["run_id"], "--journal",
                           str(out / "journal.db")], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=dict(os.environ, COLUMNS="200"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "I wrote report.json." in done.stdout


async def test_a_tool_agent_run_replays_without_touching_the_workspace(tmp_path):
    live = await conformance.replays_without_touching_the_environment(ENV, TASKS["monte-carlo-pi/hard"], tmp_path)
    assert live.answer == "report.json holds the answers."
