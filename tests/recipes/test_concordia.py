"""Concordia (#58) as a recipe: entity–component players under the game master on the shipped scenarios.

The protocol test of PAPERS.md through the recipe; replay byte for byte with no model call; a run killed by
SIGKILL mid-scene resumes without repeating a finished call; a fork with an intervention at round 1 diverges
there; the shipped local model drives a short scene; the harness scores a run with `simulated_hours`."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentzoo import Journal, ScriptedModel
from agentzoo.envs.concordia_scenes import ConcordiaScenes
from agentzoo.errors import ConfigError
from agentzoo.recipes import build_recipe
from agentzoo.runtime import runner

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from concordia_script import FOUND, OPENS, TRIED, world  # noqa: E402

CRASH = HERE / "concordia_crash.py"
ATTEMPT = "I try to open the locked door"


def model_entries(journal, run_id):
    return [e for e in journal.entries(run_id) if e.kind == "model"]


def act_prompts(model, name):
    return [r.messages[0]["content"] for r in model.requests
            if r.messages[0]["content"].startswith(f"You are playing {name} ")]


async def test_protocol_an_attempt_becomes_one_event_in_gm_memory_delivered_before_the_next_step(journal):
    model = ScriptedModel(world)
    agent = build_recipe("concordia", model)
    result = await runner.run(agent, "locked-door", journal=journal)
    assert result.ok, result.error
    gm = agent.gm
    # exactly one event statement for the attempt, made by the GM's chain in its own scopes
    [event] = [e for e in gm.events if e.attempt == ATTEMPT]
    assert event.actor == "Mara" and event.text == TRIED and event.observers == ("Mara", "Tomas")
    assert [e.scope for e in model_entries(journal, result.run_id) if e.scope.startswith("scene#0/round#0/gm#0/")] \
        == ["scene#0/round#0/gm#0/plausibility", "scene#0/round#0/gm#0/result", "scene#0/round#0/gm#0/who_what_where"]
    # stored in the GM's memory once (beside the premise and the other events)
    stored = [r.text for r in gm.memory.store.get(list(range(len(gm.memory))))]
    assert stored.count(TRIED) == 1 and stored == [e.text for e in gm.events]
    # delivered to Mara's observations before the next step: her memory has it before Tomas acts ...
    order = [(e.kind, e.scope, e.request) for e in journal.entries(result.run_id)]
    into_mara = next(i for i, (kind, scope, request) in enumerate(order)
                     if kind == "embed" and scope == "scene#0/round#0/player#0" and request["input"] == [TRIED])
    tomas_acts = next(i for i, (kind, scope, _) in enumerate(order) if scope == "scene#0/round#0/player#1/act")
    assert into_mara < tomas_acts
    # ... and her next act prompt shows it among her current observations
    second = act_prompts(model, "Mara")[1]
    assert f"] {TRIED}" in second.split("Mara's current observations:")[1]
    record = json.loads(result.answer)
    assert record["goal"] == {"description": "someone gets the cellar door open", "met": True, "event": OPENS}
    assert record["simulated_hours"] == 0.25 and record["start"] == "2024-03-01T20:00"
    assert record["end"] == "2024-03-01T20:15" and record["players"] == ["Mara", "Tomas"]
    assert [e["event"] for e in record["events"]][1:4] == [TRIED, FOUND, "Mara waited in the cellar."]


async def test_the_act_prompt_assembles_the_components_blocks(journal):
    model = ScriptedModel(world)
    await runner.run(build_recipe("concordia", model), "locked-door", journal=journal)
    second = act_prompts(model, "Tomas")[1]
    labels = [line for line in second.split("\n") if line.startswith("Tomas's ")]
    assert labels == ["Tomas's identity:", "Tomas's plan:", "Tomas's summary of relevant memories:",
                      "Tomas's current observations:"]
    assert "Tomas is the innkeeper's nephew" in second and "20:00 find a way out of the cellar." in second
    assert "Tomas is locked in the cellar." in second and second.rstrip().endswith('starting with "Tomas".')
    # components work in their own scopes; the plan asks whether to change it once it has one
    scopes = [e.scope for e in model_entries(journal, journal.list_runs()[0].run_id)
              if e.scope.startswith("scene#0/round#1/player#1/")]
    assert scopes == ["scene#0/round#1/player#1/plan", "scene#0/round#1/player#1/summary",
                      "scene#0/round#1/player#1/act"]
    replan = [r for r in model.requests if "change this plan" in r.messages[0]["content"]]
    assert len(replan) == 4 and all(r.temperature == 0.5 for r in model.requests)


async def test_a_replay_gives_the_same_answer_byte_for_byte_with_no_model_call(journal):
    first = await runner.run(build_recipe("concordia", ScriptedModel(world)), "locked-door", journal=journal)

    def no_call(request):
        raise AssertionError("a replay asked the model")

    again = await runner.replay(build_recipe("concordia", ScriptedModel(no_call)), first.run_id, journal=journal)
    assert again.ok and again.answer == first.answer and again.live_effects == 0
    assert again.model_calls == first.model_calls == 36


def test_a_run_killed_mid_scene_resumes_without_repeating_a_finished_call(tmp_path):
    import asyncio

    ref = subprocess.run([sys.executable, CRASH, tmp_path / "ref.db"], capture_output=True, text=True, timeout=120)
    assert ref.returncode == 0, ref.stderr
    with Journal(tmp_path / "ref.db") as journal:
        reference = journal.get_run(ref.stdout.split()[0])
        calls = len(model_entries(journal, reference.run_id))
    kill_after = 15  # in round 1: the round's plans and summaries done, Mara's act recorded
    killed = subprocess.run([sys.executable, CRASH, tmp_path / "j.db", str(kill_after)], capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        done = [(e.scope, e.seq, e.request_hash) for e in model_entries(journal, run.run_id)]
        assert len(done) == kill_after and done[-1][0].startswith("scene#0/round#1/")
        model = ScriptedModel(world)
        resumed = asyncio.run(runner.resume(build_recipe("concordia", model), run.run_id, journal=journal))
        assert resumed.ok and resumed.answer == reference.answer
        assert len(model.requests) == calls - kill_after  # every finished call served, none made twice
        after = [(e.scope, e.seq, e.request_hash) for e in model_entries(journal, run.run_id)]
        assert after[:kill_after] == done and len(after) == calls


async def test_a_fork_with_an_intervention_at_round_1_serves_the_parent_until_there(journal):
    parent = await runner.run(build_recipe("concordia", ScriptedModel(world)), "locked-door", journal=journal)
    model = ScriptedModel(world)
    heard = {"round": 1, "to": ["Mara"], "text": "Mara hears footsteps on the stairs above."}
    agent = build_recipe("concordia", model, interventions=[heard])
    forked = await runner.fork(agent, parent.run_id, journal=journal)
    assert forked.ok and forked.fork_point["scope"] == "scene#0/round#1/narration#0"
    # round 0 (and the setup) came from the parent; only what differs was asked of the model
    theirs = {(e.scope, e.seq, e.request_hash) for e in model_entries(journal, parent.run_id)}
    mine = model_entries(journal, forked.run_id)
    assert all((e.scope, e.seq, e.request_hash) in theirs for e in mine if "/round#0/" in e.scope)
    assert len(model.requests) == sum((e.scope, e.seq, e.request_hash) not in theirs for e in mine) > 0
    before, after = json.loads(parent.answer)["events"], json.loads(forked.answer)["events"]
    assert after[:3] == before[:3]
    assert [e["attempt"] for e in after if e["actor"] == "Mara"][1] == "Mara shouts for help up the stairs."
    assert {"actor": None, "event": heard["text"], "observers": ["Mara"]}.items() <= after[3].items()


def test_max_rounds_caps_every_scene_and_drops_the_narrations_of_the_rounds_cut():
    from agentzoo.envs.concordia_scenario import load_scenario
    from agentzoo.recipes.concordia import scenes_of

    scenario = load_scenario("lighthouse-night")
    full, capped = scenes_of(scenario), scenes_of(scenario, max_rounds=1)
    assert [s.rounds for s in full] == [2, 2] and [len(s.narrations) for s in full] == [0, 1]
    assert [s.rounds for s in capped] == [1, 1] and [len(s.narrations) for s in capped] == [0, 0]
    assert [s.step_seconds for s in capped] == [600.0, 600.0] and capped[1].start == "2024-01-12T19:00"
    with pytest.raises(ConfigError, match="round 1 is not a round of scene 'the lamp room' \\(0 to 0\\)"):
        scenes_of(scenario, [{"scene": "the lamp room", "round": 1, "text": "x"}], max_rounds=1)


# --- the harness and the shipped local model ---------------------------------------------------------------

TINY = {"name": "tiny-door", "setting": "A shed with a stuck door.", "start": "2024-05-01T12:00",
        "world": ["The shed door sticks but opens with a push."],
        "players": [{"name": "Ada", "identity": "Ada is a gardener.", "goal": "Get out of the shed."}],
        "scenes": [{"name": "the shed", "participants": ["Ada"], "rounds": 1, "step_minutes": 30}],
        "goal": {"description": "Ada opens the shed door", "pattern": "open(s|ed)? the (shed )?door",
                 "exclude": "\\b(not|n't|tries|tried)\\b"},
        "gold": {"Ada": {"attempt": "Ada pushes the door open.", "event": "Ada opened the shed door."}}}
SMALL = {"components": ["identity", "observation"], "chain": ["result", "who_what_where"]}


async def test_the_harness_scores_a_run_and_reports_simulated_hours(tmp_path):
    from agentzoo.eval.harness import EvalConfig, run_eval
    from agentzoo.eval.matrix import Sample
    from agentzoo.eval.report import load_summary, write_reports
    from agentzoo.eval.store import ResultStore
    from agentzoo.runtime.spec import AgentSpec

    scenario = tmp_path / "tiny.json"
    scenario.write_text(json.dumps(TINY))
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["Ada pushes the door open.", "The door gives.", "Ada pushed the shed door and "
                                  "opened the shed door onto the garden.\nPresent: none"]))
    env = ConcordiaScenes(scenario)
    [task] = env.tasks()
    assert task.id == "tiny-door" and json.loads(task.prompt) == TINY
    model = f"scripted:{script}"
    out = tmp_path / "out"
    await run_eval([Sample(env.name, task, "concordia-small", model, 0)], {env.name: env}, EvalConfig(
        out=out, agents={"concordia-small": AgentSpec(agent="concordia", model=model, options=SMALL)}))
    store = ResultStore(out / "results.db")
    try:
        [row] = list(store.rows())
    finally:
        store.close()
    assert row["status"] == "finished" and row["success"] and row["model_calls"] == 3
    assert row["score"]["simulated_hours"] == 0.5 and row["score"]["goal_met"] is True
    assert row["score"]["goal_event"] == "Ada pushed the shed door and opened the shed door onto the garden."
    write_reports(out)
    [group] = load_summary(out)["groups"]
    assert group["simulation"]["simulated_hours"] == 0.5 and group["simulation"]["model_calls_per_hour"] == 6.0
    assert "simulated time" in (out / "summary.md").read_text()


async def test_the_shipped_local_model_plays_a_short_scene(journal):
    """SmolLM2-135M writes little that makes sense; what is checked is that a real model drives every step of
    the chain, the record is well formed, and every call is journaled."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?threads=2")
    try:
        agent = build_recipe("concordia", model, max_tokens=48, **SMALL)
        result = await runner.run(agent, json.dumps(TINY), journal=journal)
    finally:
        await model.aclose()
    assert result.ok, result.error
    record = json.loads(result.answer)
    [event] = record["events"]
    assert event["actor"] == "Ada" and event["event"].strip() and record["simulated_hours"] == 0.5
    calls = model_entries(journal, result.run_id)
    assert [e.scope for e in calls] == ["scene#0/round#0/player#0/act", "scene#0/round#0/gm#0/result",
                                        "scene#0/round#0/gm#0/who_what_where"]
    assert all(e.request["max_tokens"] == 48 and e.name == "local:smollm2-135m" for e in calls)


# --- refusals ----------------------------------------------------------------------------------------------


async def test_scenarios_and_options_are_refused_by_name(journal):
    model = ScriptedModel(world)
    unknown = await runner.run(build_recipe("concordia", model), "haunted-house", journal=journal)
    assert not unknown.ok and "unknown concordia scenario 'haunted-house'" in unknown.error["message"]
    assert "locked-door" in unknown.error["message"]
    bad = dict(TINY, scenes=[{"name": "x", "participants": ["Zed"]}])
    failed = await runner.run(build_recipe("concordia", model), json.dumps(bad), journal=journal)
    assert "scenes[0].participants must name distinct players (Ada)" in failed.error["message"]
    with pytest.raises(ConfigError, match="takes no tools"):
        build_recipe("concordia", model, tools=[object()])
    with pytest.raises(ConfigError, match="unknown thought-chain step 'vibes'"):
        build_recipe("concordia", model, chain=("result", "vibes"))
    with pytest.raises(ConfigError, match="components must be distinct names"):
        build_recipe("concordia", model, components=("identity", "mood"))
    late = build_recipe("concordia", model, interventions=[{"round": 5, "text": "x"}])
    refused = await runner.run(late, "locked-door", journal=journal)
    assert "interventions[0]: round 5 is not a round of scene 'the cellar' (0 to 2)" in refused.error["message"]
    assert model.requests == []  # every refusal before a model call
