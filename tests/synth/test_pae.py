"""PAE (#22): proposer → agent → evaluator → filtered BC, on the screens world (and the web world when a
browser is installed). PAPERS.md's protocol test: only trajectories the evaluator marks successful reach the
training buffer; the proposer's prompt contains the website (here: app or site) name."""

import json

import pytest

from agentzoo.envs.screens import Screens
from agentzoo.errors import ConfigError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.rows import validate_rows

pae = get_pipeline("pae")


def role(request) -> str:
    system = request.messages[0]["content"] if request.messages[0]["role"] == "system" else ""
    if "practice tasks" in system:
        return "proposer"
    if "check whether an agent finished" in system:
        return "evaluator"
    return "agent"


def reply(request) -> str:
    """Proposer: two tasks naming the app it was told. Agent: opens the app named in the task, then stops.
    Evaluator: success exactly when the task mentions Clock or Notes (so some attempts fail)."""
    last = request.messages[-1]["content"]
    who = role(request)
    if who == "proposer":
        app = last.split("practise on ", 1)[1].split(".", 1)[0].split(" (", 1)[0]
        return json.dumps({"tasks": [f"Open {app} and look around.", f"Find the first item in {app}."]})
    if who == "evaluator":
        task = last.split("# Task\n", 1)[1].split("\n", 1)[0]
        return json.dumps({"reasons": "scripted", "success": "Clock" in task or "Notes" in task})
    first = request.messages[1]["content"]
    app = first.split(" ", 2)[1] if first.startswith("Open ") else first.rsplit(" ", 1)[-1].rstrip(".")
    turns = sum(m["role"] == "assistant" for m in request.messages)
    return f"Thought: go.\nAction: open_app [{app}]" if turns == 0 else "Action: stop"


def model() -> ScriptedModel:
    return ScriptedModel(reply, name="pae-script")


async def test_protocol_only_successes_reach_the_buffer_and_the_proposer_is_told_the_name(journal):
    m = model()
    env = Screens()
    result = await runner.run(pae.build(m, env, limit=4), "pae", journal=journal)
    assert result.ok, result.error
    proposer_prompts = [r.messages[-1]["content"] for r in m.requests if role(r) == "proposer"]
    apps = [a.title for a in env.world.apps.values()][:4]
    assert len(proposer_prompts) == 4
    for app, prompt in zip(apps, proposer_prompts):  # each proposer call names its app
        assert f"practise on {app}" in prompt
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert (records["propose"].items_out, records["attempt"].items_out, records["evaluate"].items_out) == (8, 8, 8)
    judged = records["evaluate"].items
    assert {i["reward"] for i in judged} == {0.0, 1.0}
    kept = final_items(journal, result.run_id)
    assert kept == [i for i in judged if i["reward"] == 1.0]  # only the evaluator's successes, all of them
    assert {i["site"] for i in kept} == {"Clock"} and records["filter"].dropped == {"filtered": 6}


async def test_rows_are_the_successful_trajectories_traced_to_their_calls_and_steps(journal):
    result = await runner.run(pae.build(model(), Screens(), limit=2), "pae", journal=journal)
    rows = validate_rows(pae.rows(final_items(journal, result.run_id), result.run_id))
    assert len(rows) == 2
    entries = list(journal.entries(result.run_id))
    for row in rows:
        assert row["kind"] == "sft" and row["messages"][-1]["role"] == "assistant"
        assert row["messages"][-1]["content"] == "Action: stop" and row["loss"] == [True, True]
        prov = row["provenance"]
        assert prov["pipeline"] == "pae" and prov["run_id"] == result.run_id and prov["reward"] == 1.0
        assert prov["stage"] == "attempt" and prov["scope"] == f"{prov['scopes'][1]}/agent"
        assert "Clock" in prov["task"] and prov["site"] == "Clock" and prov["task_id"].startswith("open/")
        assert prov["stages"] == ["propose", "attempt", "evaluate"] and prov["scores"]["evaluate"]["reward"] == 1.0
        propose, attempt, evaluate = prov["scopes"]
        calls = {e.scope for e in entries if e.kind == "model"}
        assert f"{propose}/proposer" in calls and f"{attempt}/agent" in calls and f"{evaluate}/evaluator" in calls
        steps = [e for e in entries if e.kind == "env" and e.scope == f"{attempt}/agent/env"]
        assert [e.request.get("op") for e in steps] == ["reset", "step", "step"]  # open the app, stop
        agent_calls = [e for e in entries if e.kind == "model" and e.scope == f"{attempt}/agent"]
        assert [c.result["message"]["content"] for c in agent_calls] == [
            m["content"] for m in row["messages"] if m["role"] == "assistant"]


async def test_a_replay_makes_no_model_call_and_takes_no_step(journal):
    first = await runner.run(pae.build(model(), Screens(), limit=2), "pae", journal=journal)
    again = model()
    pipeline = pae.build(again, Screens(), limit=2)
    replayed = await runner.replay(pipeline, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again.requests == []
    assert pipeline.records[-1].items == final_items(journal, first.run_id)


async def test_an_unreadable_evaluator_is_asked_once_more_then_the_attempt_gets_reward_0(journal):
    def broken(request):
        return "I think it worked" if role(request) == "evaluator" else reply(request)
    m = ScriptedModel(broken, name="broken-evaluator")
    result = await runner.run(pae.build(m, Screens(), limit=1), "pae", journal=journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert all(i["reward"] == 0.0 and "unreadable" in i["reasons"] for i in records["evaluate"].items)
    assert sum(role(r) == "evaluator" for r in m.requests) == 4  # 2 attempts × (ask + one retry)
    assert final_items(journal, result.run_id) == []


def test_unknown_options_and_environments_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown option.*tasks_per_site"):
        pae.build(model(), Screens(), tasks_per_site=3)
    from agentzoo.envs.gridworld import GridWorld
    with pytest.raises(ConfigError, match="screens or webworld"):
        pae.build(model(), GridWorld())


def test_the_surface_the_registry_promises():
    assert pae.NAME == "pae" and set(pae.OPTIONS) == set(pae.OPTION_SOURCES) and pae.DEVIATIONS
    assert pae.ENVS == ("screens", "webworld")


async def test_on_the_web_world_the_proposer_is_told_the_site_and_the_agent_browses_it(journal):
    from agentzoo.envs.browser import available
    from agentzoo.envs.webworld import WebWorld

    if not available():
        pytest.skip("chromium, chromedriver or selenium is not installed (scripts/install-system-packages)")

    def web(request):
        who = role(request)
        if who == "proposer":
            return json.dumps({"tasks": ["Find the cheapest kettle."]})
        if who == "evaluator":
            return json.dumps({"reasons": "scripted", "success": True})
        return "Action: stop [none]"
    m = ScriptedModel(web, name="web")
    result = await runner.run(pae.build(m, WebWorld(), limit=1, tasks_per_context=1), "pae", journal=journal)
    assert result.ok, result.error
    assert "practise on shop (http://shop.test/)" in m.requests[0].messages[-1]["content"]
    [row] = validate_rows(pae.rows(final_items(journal, result.run_id), result.run_id))
    assert "The browser starts at http://shop.test/" in row["messages"][1]["content"]
    assert "RootWebArea 'Corner Shop'" in row["messages"][1]["content"]  # the page it saw, from the browser


@pytest.mark.parametrize("kill_after", [5, 16])  # in the middle of the attempts, of the evaluations
async def test_sigkill_mid_stage_then_resume_repeats_no_finished_call_or_step(tmp_path, kill_after):
    import sys
    from pathlib import Path

    from agentzoo import Journal

    script = Path(__file__).parent / "synth_screens_kill.py"
    sys.path.insert(0, str(script.parent))
    from synth_crash import killed_run, reference_then_killed
    from synth_screens_kill import setup

    ref, killed = reference_then_killed(script, tmp_path, kill_after, "pae")
    with Journal(killed) as journal:
        run, recorded = killed_run(journal)
        assert recorded >= kill_after
        pipeline, m = setup("pae")
        resumed = await runner.resume(pipeline, run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert len(m.requests) == ref.model_calls - recorded  # no finished call asked again
        assert sum(e.kind == "env" for e in journal.entries(run.run_id)) == ref.env_steps
        assert final_items(journal, run.run_id) == ref.items


async def test_the_shipped_local_model_runs_the_whole_loop(tmp_path):
    """SmolLM2-135M as proposer, agent and evaluator, one task of one step: what is checked is the mechanics (a
    135M model proposes poor tasks and judges at random; the run may keep no row)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo import Journal
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=4096&max_tokens=48")
    with Journal(tmp_path / "j.db") as journal:
        pipeline = pae.build(model, Screens(), limit=1, tasks_per_context=1, max_steps=1)
        result = await runner.run(pipeline, "pae", journal=journal)
        assert result.ok, result.error
        records = stage_records(journal, result.run_id)
        assert [r.stage for r in records] == ["propose", "attempt", "evaluate", "filter"]
        for before, after in zip(records, records[1:]):
            assert after.items_in == before.items_out
        calls = [e for e in journal.entries(result.run_id) if e.kind == "model"]
        assert calls and all(e.scope.rsplit("/", 1)[-1] in ("proposer", "agent", "evaluator") for e in calls)
        for row in validate_rows(pae.rows(final_items(journal, result.run_id), result.run_id)):
            assert row["provenance"]["run_id"] == result.run_id and row["provenance"]["reward"] == 1.0
        again = ScriptedModel([], name="none")
        replayed = await runner.replay(pae.build(again, Screens(), limit=1, tasks_per_context=1, max_steps=1),
                                       result.run_id, journal=journal)
        assert replayed.ok and replayed.live_effects == 0
