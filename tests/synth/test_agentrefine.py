"""AgentRefine (#38): persona → environment script → simulated trajectory with a mistake and its correction,
rule-verified and regenerated on failure; SFT rows with tools and the wrong turns' loss masked."""

import json

import pytest

from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.pipelines.agentrefine import build, personas, rows
from agentzoo.synth.pipelines.agentrefine.verify import Rejected, check_script, check_trajectory
from agentzoo.synth.rows import validate_row

AR = get_pipeline("agentrefine")
ACTIONS = [{"name": "look", "description": "look around", "parameters": {}},
           {"name": "take", "description": "take an item", "parameters": {"item": "string"}},
           {"name": "place", "description": "put an item on a shelf", "parameters": {"item": "string",
                                                                                  "shelf": "integer"}}]


def turn(name, error=False, **arguments):
    return {"thought": f"I {name}.", "action": {"name": name, "arguments": arguments},
            "observation": "That did not work: you hold nothing." if error else f"You {name}.", "error": error}


GOOD = {"turns": [turn("look"), turn("place", True, item="atlas", shelf=2), turn("take", item="atlas"),
                  turn("place", item="atlas", shelf=2)], "final": "The atlas is shelved."}
NOT_LISTED = {"turns": [turn("look"), turn("teleport", True), turn("take", item="atlas")]}
NO_CORRECTION = {"turns": [turn("look"), turn("take", item="atlas"), turn("place", item="atlas", shelf=2)]}


def scripted(behaviour):
    """`behaviour`: persona → "good" | "fix" (a listed action only on the second try) | "never" (no mistake,
    ever) | "bad-script" (a script without a task first)."""
    def reply(request):
        first = request.messages[0]["content"]
        retries = sum(m["role"] == "user" for m in request.messages) - 1
        if first.startswith("You design small interactive environments"):
            persona = next(p for p in behaviour if p in first)
            script = {"description": "A reading room with a returns cart.", "actions": ACTIONS,
                      "task": f"Shelve the atlas for {persona}", "state": {"atlas": "on the cart"}}
            if behaviour[persona] == "bad-script" and retries == 0:
                del script["task"]
            return json.dumps(script)
        persona = next(p for p in behaviour if p in first)
        kind = behaviour[persona]
        if kind == "fix":
            return json.dumps(NOT_LISTED if retries == 0 else GOOD)
        if kind == "never":
            return json.dumps(NO_CORRECTION)
        return json.dumps(GOOD)
    return ScriptedModel(reply, name="refine")


def plan(limit=4, env=None, **options):
    seeds = build(ScriptedModel(["x"]), env, limit=limit, seed=0, **options).seeds
    kinds = ["good", "fix", "never", "bad-script"]
    return {s["persona"]: kinds[i] for i, s in enumerate(seeds)}


def test_the_registry_finds_the_module_and_its_surface():
    assert AR.NAME == "agentrefine" and set(AR.OPTIONS) == set(AR.OPTION_SOURCES) and AR.DEVIATIONS
    assert len(personas()) >= 20 and len(set(personas())) == len(personas())


async def test_protocol_unlisted_actions_are_rejected_and_uncorrected_trajectories_not_kept(journal):
    behaviour = plan()
    m = scripted(behaviour)
    result = await runner.run(build(m, None, limit=4, seed=0), "synth", journal=journal)
    assert result.ok, result.error
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert (records["script"].items_in, records["script"].items_out) == (4, 4)  # the bad script was written again
    simulated = records["simulate"]
    assert (simulated.items_in, simulated.items_out) == (4, 3)
    assert simulated.dropped == {"trajectory: no error→correction": 1}  # after 1 + max_retries tries
    by_persona = {i["persona"]: i for i in simulated.items}
    fixed = by_persona[next(p for p, k in behaviour.items() if k == "fix")]
    note = fixed["provenance"][-1]["note"]
    assert note["attempts"] == 2 and note["rejected"][0]["category"] == "trajectory: action not in list"
    assert "teleport" in note["rejected"][0]["problem"]
    for item in simulated.items:
        assert {t["action"]["name"] for t in item["turns"]} <= {"look", "take", "place"}
        assert any(t["error"] for t in item["turns"])
    # the rejected generator was told why, and asked 3 times in all for the trajectory that never had a mistake
    never = next(p for p, k in behaviour.items() if k == "never")
    asked = [r for r in m.requests if never in r.messages[0]["content"] and "play two parts" in
             r.messages[0]["content"]]
    assert len(asked) == 1 + AR.OPTIONS["max_retries"]
    assert "corrects it" in asked[1].messages[-1]["content"]
    bad_script = next(p for p, k in behaviour.items() if k == "bad-script")
    [item] = [i for i in records["script"].items if i["persona"] == bad_script]
    assert item["provenance"][-1]["note"]["rejected"][0]["category"] == "script: missing field"


async def test_rows_carry_tools_masked_mistakes_and_provenance_to_the_calls(journal):
    m = scripted(plan())
    result = await runner.run(build(m, None, limit=4, seed=0), "synth", journal=journal)
    items = final_items(journal, result.run_id)
    made = rows(items, result.run_id)
    assert len(made) == 3 and all(r["kind"] == "sft" for r in made)
    assert [validate_row(r, i) for i, r in enumerate(made)] == made  # extras under provenance, as exports need
    calls = {}
    for e in journal.entries(result.run_id):
        if e.kind == "model":
            calls.setdefault(e.scope, []).append(e.result["message"]["content"])
    for row in made:
        assert [t["function"]["name"] for t in row["tools"]] == ["look", "take", "place"]
        assert row["tools"][2]["function"]["parameters"]["properties"]["shelf"] == {"type": "integer"}
        assistant = [msg for msg in row["messages"] if msg["role"] == "assistant"]
        assert len(row["loss"]) == len(assistant) == 5  # four turns and the final reply
        assert row["loss"] == [True, False, True, True, True]
        assert row["provenance"]["error_turns"] == [1] and row["provenance"]["corrected"]
        call = assistant[1]["tool_calls"][0]
        assert call["function"]["name"] == "place" and json.loads(call["function"]["arguments"]) == {
            "item": "atlas", "shelf": 2}
        tool_msg = row["messages"][row["messages"].index(assistant[1]) + 1]
        assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == call["id"]
        p = row["provenance"]
        assert p["stages"] == ["script", "simulate"] and p["run_id"] == result.run_id
        assert json.loads(calls[p["scope"] + "/simulator"][-1])["turns"][1]["action"]["name"] == "place"
    unmasked = rows(items, result.run_id, mask_errors=False)
    assert all(all(r["loss"]) for r in unmasked)


async def test_a_replay_makes_no_model_call(journal):
    first = await runner.run(build(scripted(plan()), None, limit=4, seed=0), "synth", journal=journal)
    again_model = scripted(plan())
    again = build(again_model, None, limit=4, seed=0)
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again_model.requests == []
    assert again.records[-1].items == final_items(journal, first.run_id)


@pytest.mark.parametrize("name", AR.ENVS)
async def test_with_an_environment_its_start_inspires_the_script_through_a_journaled_reset(journal, name):
    env = get_env(name)
    behaviour = plan(limit=2, env=env)
    m = scripted(behaviour)
    result = await runner.run(build(m, env, limit=2, seed=0), "synth", journal=journal)
    assert result.ok, result.error
    resets = [e for e in journal.entries(result.run_id) if e.kind == "env"]
    assert sorted(e.scope for e in resets) == ["script/item#0/env", "script/item#1/env"]
    prompts = [r.messages[0]["content"] for r in m.requests if "design small" in r.messages[0]["content"]]
    starts = [e.result["outcome"]["observation"]["text"].strip() for e in resets]
    assert len(prompts) == 2 and all(any(start in p for p in prompts) for start in starts)
    assert all(i["task_id"] and i["env"] == name for i in final_items(journal, result.run_id))


@pytest.mark.parametrize("turns, category", [
    ([turn("look"), turn("fly", True), turn("look")], "action not in list"),
    ([turn("look"), turn("take", True), turn("look")], "bad parameters"),                     # missing item
    ([turn("look"), turn("take", True, item="a", colour="red"), turn("look")], "bad parameters"),  # unknown one
    ([turn("look"), turn("place", True, item="a", shelf="two"), turn("look")], "bad parameters"),  # wrong type
    ([turn("look"), turn("place", True, item="a", shelf=True), turn("look")], "bad parameters"),   # bool ≠ int
    ([turn("look"), turn("look")], "turn count"),
    ([turn("look"), {"action": {"name": "look"}}, turn("look")], "bad format"),             # no observation
    ([turn("look"), turn("look"), turn("look", True)], "no error→correction"),              # never corrected
])
def test_the_verifier_names_the_check_that_failed(turns, category):
    with pytest.raises(Rejected) as caught:
        check_trajectory({"turns": turns}, ACTIONS, min_turns=3, max_turns=6)
    assert caught.value.category == f"trajectory: {category}"
    assert check_trajectory(GOOD, ACTIONS, min_turns=3, max_turns=6)["final"] == "The atlas is shelved."
    assert check_trajectory(NO_CORRECTION, ACTIONS, min_turns=3, max_turns=6, require_correction=False)


def test_the_script_check_normalises_and_refuses():
    ok = check_script({"description": "d", "task": "t", "state": {"a": 1}, "actions": [
        {"name": "go", "parameters": {"where": {"type": "string", "description": "x"}}},
        {"name": "wait", "parameters": None}, {"name": "count", "parameters": {"n": "int?"}}]}, min_actions=3)
    assert ok["state"] == '{"a": 1}' and [a["parameters"] for a in ok["actions"]] == [
        {"where": "string"}, {}, {"n": "string"}]
    for bad, category in [({"description": "d", "task": "t", "state": "s", "actions": []}, "too few actions"),
                          ({"description": "d", "task": "", "state": "s", "actions": ACTIONS}, "missing field"),
                          ({"description": "d", "task": "t", "state": "s", "actions": ACTIONS + ACTIONS[:1]},
                           "bad action")]:
        with pytest.raises(Rejected) as caught:
            check_script(bad, min_actions=1)
        assert caught.value.category == f"script: {category}"


def test_options_are_checked_by_name():
    with pytest.raises(ConfigError, match="unknown option.*turns"):
        build(ScriptedModel(["x"]), None, turns=3)
    with pytest.raises(ConfigError, match="below min_turns"):
        build(ScriptedModel(["x"]), None, min_turns=5, max_turns=4)
    assert build(ScriptedModel(["x"]), None, mask_errors="false").meta["options"]["mask_errors"] is False


async def test_the_shipped_local_model_runs_the_pipeline_and_the_run_replays(tmp_path):
    """SmolLM2-135M rarely writes a script the verifier accepts: what is checked is the mechanics (each stage
    counted with its drop reasons, the calls journaled, a replay makes none); the dataset may be empty."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo import Journal
    from agentzoo.models.local import LocalModel
    from agentzoo.models.registry import RecordedOnlyModel

    options = dict(max_retries=0, max_tokens=96)
    async with LocalModel() as m:
        with Journal(tmp_path / "j.db") as journal:
            result = await runner.run(build(m, None, limit=1, **options), "synth", journal=journal)
            assert result.ok, result.error
            records = stage_records(journal, result.run_id)
            assert [r.stage for r in records] == ["script", "simulate", "dedup"]
            script = records[0]
            assert script.items_in == 1 and script.items_out + sum(script.dropped.values()) == 1
            calls = [e for e in journal.entries(result.run_id) if e.kind == "model"]
            assert 1 <= len(calls) <= 2 and calls[0].request["response_format"] == {"type": "json_object"}
            again = build(RecordedOnlyModel(m.name), None, limit=1, **options)
            replayed = await runner.replay(again, result.run_id, journal=journal)
            assert replayed.ok and replayed.live_effects == 0
            assert len(rows(final_items(journal, result.run_id), result.run_id)) == records[-1].items_out
