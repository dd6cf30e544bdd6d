"""mobile-agent-v2 on screens: the decision agent acts, the memory unit notes focus content, the reflection agent's
B goes back and C does not, the planning agent updates the completed contents only after an A, and B or C sets
the error flag shown as a hint in the next decision prompt; a run replays with no phone and no model; the harness
runs it with scripted roles and with the oracle; the local model takes one round."""

from __future__ import annotations

import json

import pytest

from agentzoo.envs import stepping
from agentzoo.envs.base import Episode, ScoringContext
from agentzoo.envs.screens import Screens
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.mobile_agent_v2 import (
    build,
    read_decision,
    read_memory,
    read_verdict,
)
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal

ENV = Screens()
TASKS = {t.id: t for t in ENV.tasks()}
ALARM = TASKS["phone/alarm-off-gym"]  # gold: open_app [Clock], tap [3]
HINT = "It did not have the expected effect"


def decide(action: str) -> str:
    return f"### Thought ###\nThis moves the task on.\n### Action ###\n{action}\n### Operation ###\nDo {action}."


NOTHING = "### Important content ###\nNone"


def reflect(letter: str) -> str:
    return f"### Thought ###\nI compared the screens.\n### Answer ###\n{letter}"


def plan(text: str) -> str:
    return f"### Thought ###\nProgress.\n### Completed contents ###\n{text}"


def prompt(request) -> str:
    return request.messages[-1]["content"]


def decisions(model) -> list[str]:
    return [prompt(r) for r in model.requests if "### Output format ###" in prompt(r)]


def rows(out) -> list[dict]:
    store = ResultStore(out / "results.db")
    try:
        return list(store.rows())
    finally:
        store.close()


async def test_reflection_b_goes_back_keeps_completed_contents_and_the_next_decision_shows_the_error_hint():
    episode = ENV.episode(ALARM)
    model = ScriptedModel([
        decide("open_app [Messages]"), NOTHING, reflect("B"),                     # a wrong app: B, back
        decide("open_app [Clock]"), NOTHING, reflect("A"), plan("The Clock app is open."),
        decide("tap [3]"), NOTHING, reflect("A"), plan("The 6:00 alarm is off."),
        decide("stop"), NOTHING])
    agent = build(model, episode=episode)
    result = await runner.run(agent, ALARM.prompt)
    assert result.ok, result.error
    assert agent.verdicts == ["B", "A", "A"]
    driver = stepping.driver_of(episode)
    assert driver.progress.steps == 5  # open_app, back (the reflection's), open_app, tap, stop
    first, second, third, _ = decisions(model)
    # B: back was taken (the second decision sees the home screen again), nothing recorded as done ...
    assert "### History operations ###" not in second and "### Progress ###" not in second
    # ... and the error flag is shown as a hint in the next decision prompt only.
    assert HINT in second and 'Your last operation was "Do open_app [Messages]."' in second
    assert HINT not in first and HINT not in third
    assert "Step 1: Do open_app [Clock]." in third and "Completed contents: The Clock app is open." in third
    assert agent.completed == "The 6:00 alarm is off." and len(agent.history) == 2
    planning = [prompt(r) for r in model.requests if "### Completed contents ###" in prompt(r)
                and "Keep track" in prompt(r)]
    assert len(planning) == 2  # after each A, never after the B
    score = await ENV.score(episode, result.answer, ScoringContext())
    assert score.success


async def test_reflection_c_sets_the_error_flag_without_going_back_and_memory_notes_reach_the_next_decision():
    episode = ENV.episode(ALARM)
    model = ScriptedModel([
        decide("open_app [Clock]"), "### Important content ###\nThe home screen lists Clock.", reflect("C"),
        decide("tap [3]"), NOTHING, reflect("A"), plan("The alarm is off."),
        decide("stop"), NOTHING])
    agent = build(model, episode=episode)
    result = await runner.run(agent, ALARM.prompt)
    assert result.ok, result.error
    assert agent.verdicts == ["C", "A"] and stepping.driver_of(episode).progress.steps == 3  # no back
    second, third = decisions(model)[1:]
    assert HINT in second and "### History operations ###" not in second
    assert "- The home screen lists Clock." in second
    assert HINT not in third and agent.history == [{"operation": "Do tap [3].", "action": "tap [3]"}]


async def test_the_switches_turn_the_reflection_and_memory_off():
    episode = ENV.episode(ALARM)
    model = ScriptedModel([decide("open_app [Clock]"), plan("Clock open."), decide("tap [3]"), plan("Done."),
                           decide("stop")])
    agent = build_recipe("mobile-agent-v2", model, episode=episode, reflection=False, memory=False)
    result = await runner.run(agent, ALARM.prompt)
    assert result.ok, result.error
    assert len(model.requests) == 5 and agent.verdicts == ["A", "A"] and agent.completed == "Done."
    assert (await ENV.score(episode, result.answer, ScoringContext())).success


def test_replies_are_read_by_their_sections():
    got = read_decision("### Thought ###\nt\n### Action ###\n\n`tap [2]`\nextra\n### Operation ###\nTap it.")
    assert (got.thought, got.action, got.operation) == ("t", "tap [2]", "Tap it.")
    assert read_decision("just text").action == ""
    assert read_verdict(reflect("B")) == "B" and read_verdict("C") == "C" and read_verdict("unsure") == "C"
    assert read_memory(NOTHING) is None and read_memory("### Important content ###\n7 messages") == "7 messages"


def test_bad_options_and_episodes_are_refused():
    with pytest.raises(ConfigError, match="max_rounds must be at least 1"):
        build(ScriptedModel([]), episode=ENV.episode(ALARM), max_rounds=0)
    with pytest.raises(ConfigError, match="needs an episode of screens"):
        build(ScriptedModel([]), episode=Episode(ALARM))


async def test_a_run_replays_from_the_journal_with_no_phone_and_no_model(tmp_path):
    journal = Journal(tmp_path / "j.db")
    script = [decide("open_app [Messages]"), NOTHING, reflect("B"), decide("open_app [Clock]"), NOTHING,
              reflect("A"), plan("Clock open."), decide("tap [3]"), NOTHING, reflect("A"), plan("Done."),
              decide("stop"), NOTHING]
    live = await runner.run(build(ScriptedModel(script), episode=ENV.episode(ALARM)), ALARM.prompt, journal=journal)
    assert live.ok, live.error
    again = build(ScriptedModel([]))
    replayed = await runner.replay(again, live.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    assert replayed.answer == live.answer and json.dumps(replayed.messages) == json.dumps(live.messages)
    assert again.verdicts == ["B", "A", "A"] and again.completed == "Done."
    # Each role's calls are journaled in its own scope, so a report counts them apart.
    calls = [e.scope for e in journal.entries(live.run_id) if e.kind == "model"]
    assert calls == ["decision", "memory", "reflection", *["decision", "memory", "reflection", "planning"] * 2,
                     "decision", "memory"]
    journal.close()


async def test_the_harness_runs_scripted_roles_and_the_oracle(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([decide("open_app [Clock]"), NOTHING, reflect("A"), plan("Clock open."),
                                  decide("tap [3]"), NOTHING, reflect("A"), plan("Done."), decide("stop"), NOTHING]))
    await run_eval([Sample(ENV.name, ALARM, "mobile-agent-v2", f"scripted:{script}", 0)], {ENV.name: ENV},
                   EvalConfig(out=tmp_path / "scripted"))
    [row] = rows(tmp_path / "scripted")
    assert row["status"] == "finished" and row["success"], row["error"]
    tasks = list(TASKS.values())[:6]
    await run_eval([Sample(ENV.name, t, "mobile-agent-v2", "oracle", 0) for t in tasks], {ENV.name: ENV},
                   EvalConfig(out=tmp_path / "oracle", concurrency=4))
    got = rows(tmp_path / "oracle")
    assert len(got) == 6 and all(r["reward"] == 1.0 for r in got), [(r["task"], r["error"]) for r in got]
    # Per gold action: decision, memory, reflection, planning; then the stop's decision and memory.
    assert {r["task"]: r["model_calls"] for r in got} == {t.id: 4 * len(ENV.gold_actions(t)) + 2 for t in tasks}


async def test_the_shipped_local_model_takes_one_round(tmp_path):
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.local import model_file
    from agentzoo.models.registry import parse_model

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    episode = ENV.episode(ALARM)
    agent = build(parse_model("local:smollm2-135m?ctx=4096&max_tokens=60"), episode=episode, max_rounds=1,
                  reflection=False, memory=False)
    result = await runner.run(agent, ALARM.prompt)
    assert result.ok, result.error
    assert 1 <= result.model_calls <= 2 and stepping.driver_of(episode).progress.steps == 1
