"""AgentGen (#63): generated environments pass a parse-and-execute check in the sandbox before they enter the
library; each seed task gets one easier and one harder variant (Bi-Evol), checked by plan length; solved
trajectories become SFT rows that trace back to the calls that made them."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from agentzoo.errors import ConfigError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.rows import validate_rows

agentgen = get_pipeline("agentgen")

LINE = '''
def actions(state):
    out = []
    if state["pos"] < state["size"]:
        out.append("right")
    if state["pos"] > 0:
        out.append("left")
    return out

def step(state, action):
    state["pos"] += 1 if action == "right" else -1
    return state, f"You are at {state['pos']}."
'''
BROKEN = "def actions(state):\n    return [1, 2]\n\ndef step(state, action):\n    return state, 'ok'\n"


def world(marker: str = "/nonexistent", overrides: dict[str, str] | None = None) -> ScriptedModel:
    """A scripted model playing every AgentGen role, as a function of the request; `overrides`: a reply for
    prompts holding a given text."""
    return ScriptedModel(script(marker, overrides), name="agentgen-script")


def script(marker: str = "/nonexistent", overrides: dict[str, str] | None = None):
    def reply(request) -> str:
        last = request.messages[-1]["content"]
        for text, answer in (overrides or {}).items():
            if text in last:
                return answer
        if "# Text" in last:  # designer: a spec per inspiration text
            name = "line_" + last.split("# Text")[1].split()[2].lower()
            return json.dumps({"name": name, "description": "A walker on a line of cells 0..size.",
                               "actions": ["right", "left"], "rules": "right adds one to pos, left takes one",
                               "example_state": {"pos": 1, "size": 5}})
        if "line_small" in request.messages[0]["content"]:  # "In a small warehouse": never fixed
            return f"```python\nopen({marker!r}, 'w').write('escaped')\n{BROKEN}```"
        if "Write the environment below" in last:
            return f"```python\n{BROKEN}```"  # the first try of every other environment is broken
        if "Running the code on the example state failed" in last:
            return f"```python\n{LINE}```"
        if "different tasks for an agent" in last:
            return json.dumps({"tasks": [
                {"instruction": "Walk to cell 3.", "init": {"pos": 1, "size": 5}, "goal": {"pos": 3}},
                {"instruction": "Stay at 1.", "init": {"pos": 1, "size": 5}, "goal": {"pos": 1}},  # already met
                {"instruction": "Walk to 9.", "init": {"pos": 1, "size": 5}, "goal": {"pos": 9}}]})  # unreachable
        if "EASIER version" in last:
            return json.dumps({"instruction": "Walk to cell 3.", "init": {"pos": 2, "size": 5}, "goal": {"pos": 3}})
        if "HARDER version" in last:
            return json.dumps({"instruction": "Walk to cell 5.", "init": {"pos": 0, "size": 5}, "goal": {"pos": 5}})
        # the solver: walks towards the goal, except on the 5-cell walk where it types a wrong action
        goal = int(re.search(r"Walk to cell (\d+)", request.messages[1]["content"]).group(1))
        pos = json.loads(re.findall(r"State: (\{.*\})", last)[-1])["pos"]
        if goal == 5:
            return "I jump.\nAction: jump"
        return f"Closer.\nAction: {'right' if goal > pos else 'left'}"
    return reply


async def test_every_library_environment_passed_its_check_in_the_sandbox(journal, tmp_path):
    marker = tmp_path / "escaped.txt"
    m = world(str(marker))
    result = await runner.run(agentgen.build(m, limit=3), "agentgen", journal=journal)
    assert result.ok, result.error
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    implement = records["implement"]
    assert (implement.items_in, implement.items_out) == (3, 2)
    assert implement.dropped == {"environment failed its check": 1}
    for item in implement.items:  # in the library only after a failed try, the repair, and a passing check
        check = item["provenance"][-1]["note"]
        assert check["check"] == "passed" and check["repairs"] == 1
        assert "must return a list of strings" in check["errors"][0]
        assert item["env"]["actions"] == ["right", "left"]
    runs = [e for e in journal.entries(result.run_id) if e.kind == "sandbox" and e.scope.startswith("implement/")]
    assert len(runs) == 2 + 2 + 2  # the dropped one: its try and its repair; the others: failed try, then pass
    assert all(e.request["agentgen"]["op"] == "check" for e in runs)
    assert not marker.exists()  # the model's code ran in the sandbox, never here


async def test_each_seed_task_gets_one_easier_and_one_harder_variant_ordered_by_plan_length(journal):
    result = await runner.run(agentgen.build(world(), limit=2, seed=1), "agentgen", journal=journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    tasks = records["tasks"]
    assert (tasks.items_in, tasks.items_out) == (2, 2)  # of the first 2 proposed per env, 1 fails its check
    assert [i["task"]["plan"] for i in tasks.items] == [["right", "right"]] * 2
    why = [r["why"] for r in tasks.items[0]["provenance"][-1]["note"]["rejected"]]
    assert why == ["Broken: the goal already holds in the initial state"]
    with_third = await runner.run(agentgen.build(world(), limit=1, seed=1, tasks_per_env=3), "agentgen",
                                  journal=journal)
    third = {r.stage: r for r in stage_records(journal, with_third.run_id)}["tasks"].items
    assert [r["why"] for r in third[0]["provenance"][-1]["note"]["rejected"]] == [
        "Broken: the goal already holds in the initial state", "Broken: no plan reaches the goal (searched 6 states)"]
    evolved = records["bi-evol"]
    assert evolved.items_out == 3 * tasks.items_out
    for seed in tasks.items:
        family = [i for i in evolved.items if i["task_id"] == seed["task_id"] or i.get("parent") == seed["task_id"]]
        assert sorted(i["difficulty"] for i in family) == ["easier", "harder", "seed"]
        length = {i["difficulty"]: i["task"]["plan_length"] for i in family}
        assert length["easier"] < length["seed"] < length["harder"] == 5


async def test_a_variant_that_is_not_easier_or_harder_is_dropped_by_the_order_check(journal):
    not_easier = {"EASIER version": json.dumps(  # 2 steps, as many as its seed
        {"instruction": "Walk to cell 3.", "init": {"pos": 5, "size": 5}, "goal": {"pos": 3}})}
    kept = {}
    for order_check in (True, False):
        pipeline = agentgen.build(world(overrides=not_easier), limit=1, seed=1, order_check=order_check)
        result = await runner.run(pipeline, "agentgen", journal=journal)
        evolved = {r.stage: r for r in stage_records(journal, result.run_id)}["bi-evol"]
        kept[order_check] = sorted(i["difficulty"] for i in evolved.items)
        [seed] = [i for i in evolved.items if i["difficulty"] == "seed"]
        why = seed["provenance"][-1]["note"]["rejected"]
        assert why == ([{"variant": "easier", "why": "not easier: 2 actions, the seed 2"}] if order_check else [])
    assert kept == {True: ["harder", "seed"], False: ["easier", "harder", "seed"]}


async def test_solved_trajectories_become_sft_rows_that_trace_back_to_their_calls(journal, tmp_path):
    result = await runner.run(agentgen.build(world(), limit=2, seed=1), "agentgen", journal=journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    solve = records["solve"]
    assert solve.items_in == 6 and solve.items_out == 4 and solve.dropped == {"not solved": 2}  # the harder ones
    rows = agentgen.rows(final_items(journal, result.run_id), result.run_id)
    assert validate_rows(rows) == rows and len(rows) == 4
    datasets = pytest.importorskip("datasets")
    from agentzoo.synth.formats import write_dataset
    written = write_dataset(rows, tmp_path / "out", ["jsonl", "openai"])
    loaded = datasets.load_dataset("json", data_files=str(written["jsonl"]), split="train")
    assert loaded.num_rows == 4 and loaded[0]["provenance"]["run_id"] == result.run_id
    assert {r["provenance"]["difficulty"] for r in rows} == {"seed", "easier"}
    calls = {}
    for e in journal.entries(result.run_id):
        if e.kind == "model":
            calls.setdefault(e.scope, []).append(e)
    for row in rows:
        p = row["provenance"]
        assert p["pipeline"] == "agentgen" and p["run_id"] == result.run_id
        assert p["stages"] == ["specify", "implement", "tasks", "bi-evol", "solve"]
        solver = calls[p["scope"] + "/solver"]
        replies = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        assert replies == [e.result["message"]["content"] for e in solver]
        assert len(replies) == p["steps"] == p["plan_length"]
        assert row["messages"][0]["role"] == "system" and all(r.endswith(("right", "left")) for r in replies)


async def test_a_replay_makes_no_model_call_and_runs_no_code(journal):
    first = await runner.run(agentgen.build(world(), limit=2, seed=1), "agentgen", journal=journal)
    again_model = world()
    again = agentgen.build(again_model, limit=2, seed=1, sandbox_tier="no-such-tier")
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again_model.requests == []
    assert again.records[-1].items == final_items(journal, first.run_id)


def test_unknown_options_are_refused_by_name():
    with pytest.raises(ConfigError, match="tasks_per_envs"):
        agentgen.build(world(), tasks_per_envs=3)


async def test_with_the_shipped_local_model(journal):
    """SmolLM2-135M rarely writes a working environment: what is checked is that a real model drives the
    stages to the end, each counted, and every call is journaled."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed")
    from agentzoo.models.registry import parse_model
    model = parse_model("local:smollm2-135m?max_tokens=256")
    try:
        result = await runner.run(agentgen.build(model, limit=1, max_tokens=256), "agentgen", journal=journal)
    finally:
        await model.aclose()
    assert result.ok, result.error
    records = stage_records(journal, result.run_id)
    assert [r.stage for r in records] == ["specify", "implement", "tasks", "bi-evol", "solve"]
    assert records[0].items_in == 1 and all(r.items_in == p.items_out for p, r in zip(records, records[1:]))
    assert sum(e.kind == "model" for e in journal.entries(result.run_id)) >= 1


async def test_a_run_that_died_mid_stage_resumes_without_repeating_a_finished_call_or_sandbox_run(journal):
    reference = await runner.run(agentgen.build(world(), limit=2, seed=1), "agentgen", journal=journal)
    ref_calls = sum(e.kind == "model" for e in journal.entries(reference.run_id))
    ref_runs = sum(e.kind == "sandbox" for e in journal.entries(reference.run_id))
    answer, seen = script(), []

    def dies_in_solve(request):  # the provider goes away at the third solver call, for good
        if request.messages[0]["role"] == "system":
            seen.append(1)
            if len(seen) >= 3:
                raise RuntimeError("provider gone")
        return answer(request)
    with pytest.raises(RuntimeError, match="provider gone"):
        await runner.run(agentgen.build(ScriptedModel(dies_in_solve, name="agentgen-script"), limit=2, seed=1,
                                        concurrency=1), "agentgen", journal=journal)
    [broken] = [r for r in journal.list_runs() if r.run_id != reference.run_id]
    for _ in range(200):  # items of the stage still running when the first one failed end, failing too
        if len(asyncio.all_tasks()) == 1:
            break
        await asyncio.sleep(0.05)
    recorded = sum(e.kind == "model" and e.status == "ok" for e in journal.entries(broken.run_id))
    runs = sum(e.kind == "sandbox" for e in journal.entries(broken.run_id))
    assert 0 < runs < ref_runs
    again = world()
    resumed = await runner.resume(agentgen.build(again, limit=2, seed=1, concurrency=1), broken.run_id,
                                  journal=journal)
    assert resumed.ok, resumed.error
    assert len(again.requests) == ref_calls - recorded  # nothing that answered is asked twice
    assert sum(e.kind == "sandbox" for e in journal.entries(broken.run_id)) == ref_runs  # none run twice
    assert final_items(journal, broken.run_id) == final_items(journal, reference.run_id)
