"""proactive-agent on proactive-events: ProactiveBench's metrics from (prediction, judgement) pairs; the loop
proposes a task or stays silent at each event, judged by the labels or by a model's strict JSON verdict; a run
replays with no model; the harness runs it with scripted roles and with the oracle; the local model decides once."""

from __future__ import annotations

import json

import pytest

from agentzoo.envs import stepping
from agentzoo.envs.base import Episode, ScoringContext
from agentzoo.envs.proactive_events import (
    JudgeError,
    ModelJudge,
    ProactiveEvents,
    StreamEpisode,
    metrics,
    parse_action,
    parse_verdict,
)
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.proactive_agent import build, read_task
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal

ENV = ProactiveEvents()
TASKS = {t.id: t for t in ENV.tasks()}
EMAIL = TASKS["writing/email"]  # 4 events: help needed at the first only


def reply(task: str | None) -> str:
    return f"Thought: I look at what the user does.\nTask: {task or 'None'}"


def rows(out) -> list[dict]:
    store = ResultStore(out / "results.db")
    try:
        return list(store.rows())
    finally:
        store.close()


def test_the_papers_metrics_from_scripted_prediction_judgement_pairs():
    got = metrics([("Draft a reply", True), ("Book a taxi", False), (None, True), (None, False)])
    assert (got["TP"], got["FP"], got["TN"], got["FN"]) == (1, 1, 1, 1)
    assert (got["Precision"], got["Recall"], got["Accuracy"], got["False-Alarm"]) == (0.5, 0.5, 0.5, 0.5)
    assert got["F1"] == 0.5 and got["Accept-Rate"] == 0.5
    # False-Alarm is FP / (TP + FP) as in calculate_agent_performance.py: silence does not dilute it.
    assert metrics([("a", False), (None, True), (None, True), (None, True)])["False-Alarm"] == 1.0


async def test_the_same_four_turns_through_the_recipe_and_the_environment(tmp_path):
    """One stream whose four turns are (task, accepted), (task, rejected), (None, right), (None, wrong)."""
    stream = {"id": "four", "domain": "coding", "events": [
        {"time": "1", "event": "A test fails.", "help": {"accept": ["test"], "task": "Fix the test."}},
        {"time": "2", "event": "The user reads the news.", "help": None},
        {"time": "3", "event": "The user drinks coffee.", "help": None},
        {"time": "4", "event": "The build breaks.", "help": {"accept": ["build"], "task": "Fix the build."}}]}
    path = tmp_path / "streams.json"
    path.write_text(json.dumps({"streams": [stream]}))
    env = ProactiveEvents(path)
    [task] = env.tasks()
    episode = env.episode(task)
    model = ScriptedModel([reply("Look at the failing test."), reply("Summarise the news."), reply(None),
                           reply(None)])
    result = await runner.run(build(model, episode=episode), task.prompt)
    assert result.ok, result.error
    score = await env.score(episode, result.answer, ScoringContext())
    d = score.details
    assert (d["TP"], d["FP"], d["TN"], d["FN"]) == (1, 1, 1, 1)
    assert (d["Precision"], d["Recall"], d["Accuracy"], d["False-Alarm"]) == (0.5, 0.5, 0.5, 0.5)
    assert score.reward == 0.5 and not score.success


async def test_each_event_is_one_decision_sent_as_propose_or_none_and_the_user_reaction_is_seen():
    episode = ENV.episode(EMAIL)
    model = ScriptedModel([reply("Draft a reply to the client."), reply(None), "I would stay quiet.", reply(None)])
    agent = build(model, episode=episode)
    result = await runner.run(agent, EMAIL.prompt)
    assert result.ok, result.error
    assert agent.decisions == ["Draft a reply to the client.", None, None, None]
    assert stepping.driver_of(episode).progress.steps == 4 and stepping.driver_of(episode).progress.done
    second = model.requests[1].messages
    assert second[0]["role"] == "system" and "propose one concrete task" in second[0]["content"]
    assert second[1]["content"].startswith(EMAIL.prompt) and "Event 1 of 4" in second[1]["content"]
    assert "The user accepted the proposal." in second[-1]["content"] and "Event 2 of 4" in second[-1]["content"]
    assert [len(r.messages) for r in model.requests] == [2, 4, 6, 8]
    score = await ENV.score(episode, result.answer, ScoringContext())
    assert score.success and score.details["TP"] == 1 and score.details["TN"] == 3


def test_replies_and_actions_are_read_strictly():
    assert read_task("Thought: x\nTask: Draft a reply") == "Draft a reply"
    assert read_task("Thought: x\n**Task**: None.") is None and read_task("no task line") is None
    assert read_task("Task: null") is None and read_task(None) is None
    assert parse_action("propose [Fix it [now]]") == "Fix it [now]" and parse_action("`none`") is None
    with pytest.raises(ValueError, match="write `propose \\[task\\]` or `none`"):
        parse_action("propose []")


async def test_an_unreadable_action_is_a_parse_failure_and_takes_no_turn():
    episode = StreamEpisode(ENV.stream(EMAIL), ENV.judge)
    await episode.reset()
    out = await episode.step("help the user")
    assert "parse_error" in out.info and episode.index == 0 and not out.done


async def test_a_model_judge_gives_a_strict_json_verdict_and_anything_else_is_an_error():
    event = ENV.stream(EMAIL)["events"][1]
    judge = ModelJudge(ScriptedModel(['{"accept": true, "reason": "useful"}', "```json\n{\"accept\": false}\n```",
                                      "yes, accept"]))
    assert await judge.accepts("Check Friday's calendar", event, []) is True
    assert await judge.accepts("Check Friday's calendar", event, []) is False
    with pytest.raises(JudgeError, match="one JSON object"):
        await judge.accepts("Check Friday's calendar", event, [])
    assert "Check Friday's calendar" in judge.model.requests[0].messages[0]["content"]
    with pytest.raises(JudgeError, match="boolean \"accept\""):
        parse_verdict('{"accept": "yes"}')


def test_bad_options_and_episodes_are_refused():
    with pytest.raises(ConfigError, match="max_events must be at least 1"):
        build(ScriptedModel([]), episode=ENV.episode(EMAIL), max_events=0)
    with pytest.raises(ConfigError, match="needs an episode of proactive-events"):
        build(ScriptedModel([]), episode=Episode(EMAIL))


async def test_a_run_replays_from_the_journal_with_no_model_and_no_environment(tmp_path):
    journal = Journal(tmp_path / "j.db")
    episode = ENV.episode(EMAIL)
    live = await runner.run(build_recipe("proactive-agent", ScriptedModel([reply("Draft a reply."), reply(None),
                                                                            reply(None), reply("Read the news.")]),
                                         episode=episode), EMAIL.prompt, journal=journal)
    assert live.ok, live.error
    replayed = await runner.replay(build(ScriptedModel([])), live.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    assert replayed.answer == live.answer and json.dumps(replayed.messages) == json.dumps(live.messages)
    journal.close()


async def test_the_harness_runs_scripted_roles_and_the_oracle(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([reply("Draft a reply."), reply("Check the calendar."), reply(None), reply(None)]))
    await run_eval([Sample(ENV.name, EMAIL, "proactive-agent", f"scripted:{script}", 0)], {ENV.name: ENV},
                   EvalConfig(out=tmp_path / "scripted"))
    [row] = rows(tmp_path / "scripted")
    assert row["status"] == "finished" and row["reward"] == 0.75
    assert (row["score"]["TP"], row["score"]["FP"], row["score"]["TN"]) == (1, 1, 2)
    tasks = list(TASKS.values())
    await run_eval([Sample(ENV.name, t, "proactive-agent", "oracle", 0) for t in tasks], {ENV.name: ENV},
                   EvalConfig(out=tmp_path / "oracle", concurrency=4))
    got = rows(tmp_path / "oracle")
    assert len(got) == 8 and all(r["reward"] == 1.0 and r["score"]["F1"] == 1.0 for r in got)
    assert {r["task"]: r["model_calls"] for r in got} == {t.id: len(t.gold) for t in tasks}


async def test_the_shipped_local_model_decides_once(tmp_path):
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.local import model_file
    from agentzoo.models.registry import parse_model

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    episode = ENV.episode(EMAIL)
    agent = build(parse_model("local:smollm2-135m?ctx=2048&max_tokens=40"), episode=episode, max_events=1)
    result = await runner.run(agent, EMAIL.prompt)
    assert result.ok, result.error
    assert len(agent.decisions) == 1 and stepping.driver_of(episode).progress.steps == 1
