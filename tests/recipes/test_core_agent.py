"""CORE-Agent (#33): the report check refuses a Final Answer while report.json is missing or its keys are not the
task's questions (and says which), takes it once they are; off, the first Final Answer ends the task; a scripted run
through the harness and its replay from the journal with no model or environment; the shipped local model."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("scipy", reason="the core-bench scorer uses scipy's Student t")

from agentzoo.envs import stepping  # noqa: E402
from agentzoo.envs.base import ScoringContext  # noqa: E402
from agentzoo.envs.core_bench import CoreBench  # noqa: E402
from agentzoo.envs.mlagentbench.actions import action_text  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.eval.harness import EvalConfig, run_eval  # noqa: E402
from agentzoo.eval.matrix import Sample  # noqa: E402
from agentzoo.eval.report import load_rows  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.runtime.journal import Journal  # noqa: E402

ENV = CoreBench(levels=["easy"])
TASK = next(t for t in ENV.tasks() if t.id == "kmeans-clusters/easy")
GOLD = json.loads(TASK.gold)
QUESTIONS = list(GOLD)


def act(name: str, **args) -> dict:
    return {"tool_calls": [{"name": "act", "arguments": {"action": action_text(name, args)}}]}


FINAL = act("Final Answer", final_answer="done")
PARTIAL = {QUESTIONS[0]: GOLD[QUESTIONS[0]], QUESTIONS[1]: GOLD[QUESTIONS[1]], "cluster count": 3}
SCRIPT = [FINAL,
          act("Write File", file_name="report.json", content=json.dumps(PARTIAL)),
          FINAL,
          act("Write File", file_name="report.json", content=json.dumps(GOLD)),
          FINAL,
          "report.json is written."]


def tool_results(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m.get("role") == "tool"]


async def test_protocol_a_final_answer_waits_for_a_report_whose_keys_are_the_questions():
    episode = ENV.episode(TASK)
    agent = build_recipe("core-agent", ScriptedModel(SCRIPT), episode.tools, episode=episode)
    result = await runner.run(agent, episode.prompt, journal=Journal(":memory:"))
    assert result.ok and result.answer == "report.json is written."
    first, _, second, _, last = tool_results(result.messages)
    assert "There is no report.json at the top of the workspace" in first and "README.md" in first
    assert "not ended" in second and f"- {QUESTIONS[2]}" in second and "- cluster count" in second
    assert f"- {QUESTIONS[0]}" not in second
    assert "end" in last and "not ended" not in last
    # the refused Final Answers were never workspace actions: a reset (to look), two writes and the one taken
    driver = stepping.driver_of(episode)
    assert driver.progress.steps == 3 and driver.progress.done
    score = await ENV.score(episode, result.answer, ScoringContext())
    assert score.success and score.details["steps"] == 3
    # the system prompt is CORE-Agent's (our words for the role and practices)
    assert "tests whether the code of a scientific study reproduces" in result.messages[0]["content"]


async def test_without_the_check_the_first_final_answer_ends_the_task_with_no_report():
    episode = ENV.episode(TASK)
    agent = build_recipe("core-agent", ScriptedModel([FINAL, "done"]), episode.tools, episode=episode,
                         key_check=False)
    result = await runner.run(agent, episode.prompt, journal=Journal(":memory:"))
    assert result.ok
    score = await ENV.score(episode, result.answer, ScoringContext())
    assert not score.success and "no report.json" in score.details["error"]


async def test_a_report_that_is_not_an_object_is_refused_with_the_reason():
    episode = ENV.episode(TASK)
    script = [act("Write File", file_name="report.json", content="[50, 80, 120]"), FINAL,
              act("Write File", file_name="report.json", content=json.dumps(GOLD)), FINAL, "ok"]
    result = await runner.run(build_recipe("core-agent", ScriptedModel(script), episode.tools, episode=episode),
                              episode.prompt, journal=Journal(":memory:"))
    assert "cannot be read as a JSON object (it is a list)" in tool_results(result.messages)[1]
    assert (await ENV.score(episode, result.answer, ScoringContext())).success


def test_bad_options_are_named():
    with pytest.raises(ConfigError, match="max_steps"):
        build_recipe("core-agent", ScriptedModel([]), ENV.episode(TASK).tools, max_steps=0)


def test_a_scripted_run_through_the_harness_replays_from_its_journal_with_no_model(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    out = tmp_path / "out"
    asyncio.run(run_eval([Sample(ENV.name, TASK, "core-agent", f"scripted:{path}", 0)], {ENV.name: ENV},
                         EvalConfig(out=out, concurrency=1)))
    (row,), _ = load_rows(out)
    assert row["success"] and row["model_calls"] == 6 and row["score"]["steps"] == 3, row
    done = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "replay", row["run_id"], "--journal",
                           str(out / "journal.db")], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=dict(os.environ, COLUMNS="200"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "report.json is written." in done.stdout


async def test_the_shipped_local_model_takes_one_step():
    """SmolLM2-135M, one call with CORE-Agent's system prompt over the workspace tools (a 135M model rarely acts well)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=4096&max_tokens=24")
    episode = ENV.episode(TASK)
    agent = build_recipe("core-agent", model, episode.tools, episode=episode, max_steps=1)
    result = await runner.run(agent, episode.prompt, journal=Journal(":memory:"))
    assert result.model_calls == 1  # one reply: an answer, or an action and then the step limit
    assert result.ok or result.error["type"] == "StepLimitExceeded", result.error
    assert "tests whether the code of a scientific study reproduces" in agent.system
    await stepping.driver_of(episode).close()
