"""Learn-by-interact (#12): self-instruct → attempt → backward construction → committee → dedup, and the
retriever an agent uses at inference."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from lbi_scripted import WALK, model  # noqa: E402

from agentzoo.envs.registry import get_env  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.synth.pipeline import Pipeline, Stage, final_items, stage_records  # noqa: E402
from agentzoo.synth.pipelines import get_pipeline  # noqa: E402
from agentzoo.synth.rows import validate_row  # noqa: E402
from agentzoo.synth.pipelines.learn_by_interact import (Retriever, build, expected_count, read_tasks,  # noqa: E402
                                                        render_demos, rows, spans)

LBI = get_pipeline("learn-by-interact")


def test_the_registry_finds_the_module_and_its_surface():
    assert LBI.NAME == "learn-by-interact" and "gridworld" in LBI.ENVS
    assert set(LBI.OPTIONS) == set(LBI.OPTION_SOURCES) and LBI.DEVIATIONS


def test_spans_are_every_contiguous_stretch_or_those_within_the_window():
    assert spans(3) == [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)]
    for t in range(1, 8):
        assert len(spans(t)) == expected_count(t) == t * (t + 1) // 2
        assert len(spans(t, 2)) == expected_count(t, 2) == (t + max(t - 1, 0))
    with pytest.raises(ConfigError, match="max_window"):
        spans(3, 0)


async def run_pipeline(journal, **options):
    env = get_env("gridworld")
    m = model()
    pipeline = build(m, env, limit=1, seed=0, max_steps=3, committee=3, **options)
    result = await runner.run(pipeline, "synth", journal=journal)
    assert result.ok, result.error
    return env, m, result


async def test_protocol_a_T_step_trajectory_yields_every_sub_trajectory_each_relabelled(journal):
    env, m, result = await run_pipeline(journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert (records["instruct"].items_in, records["instruct"].items_out) == (1, 2)
    trajectories = records["attempt"].items
    assert [[s["action"] for s in t["steps"]] for t in trajectories] == [WALK, WALK]
    relabelled = records["relabel"].items
    assert records["relabel"].items_out == 2 * expected_count(3) == 12  # T(T+1)/2 per trajectory
    for trajectory in trajectories:
        mine = [i for i in relabelled if i["original_instruction"] == trajectory["instruction"]]
        assert sorted(tuple(i["span"]) for i in mine) == sorted(spans(3))
        for item in mine:
            a, b = item["span"]
            actions = [s["action"] for s in item["steps"]]
            assert actions == WALK[a:b]  # the stretch's own steps, from the observation before its first action
            assert item["start"] == (trajectory["start"] if a == 0 else trajectory["steps"][a - 1]["result"])
            # its own instruction, written from what it did (the scripted relabeller names the actions)
            assert item["instruction"].startswith(f"Walk {' then '.join(actions)} from row ")
    # the committee drops the whole walks (its judges score them 1); dedup keeps one of each identical pair
    assert records["filter"].items_out == 12 - 2 and records["filter"].dropped == {"committee: below threshold": 2}
    assert records["dedup"].items_out == 5 and all(len(i["steps"]) < 3 for i in records["dedup"].items)


async def test_windowed_backward_construction(journal):
    _, _, result = await run_pipeline(journal, max_window=1)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["relabel"].items_out == 2 * 3 and all(len(i["steps"]) == 1 for i in records["relabel"].items)


async def test_rows_trace_back_to_the_calls_that_made_them(journal):
    _, _, result = await run_pipeline(journal)
    made = rows(final_items(journal, result.run_id), result.run_id)
    assert len(made) == 5 and [validate_row(r, i) for i, r in enumerate(made)] == made  # extras under provenance
    calls = {}
    for e in journal.entries(result.run_id):
        calls.setdefault(e.scope, []).append(e)
    for row in made:
        p = row["provenance"]
        assert p["pipeline"] == "learn-by-interact" and p["run_id"] == result.run_id
        assert p["stages"] == ["instruct", "attempt", "relabel", "filter"]
        relabel_scope = p["scopes"][2]
        assert p["scores"]["filter"]["committee"]["passed"] and p["scores"]["relabel"]["span"] == p["span"]
        # the relabel item's scope holds the call that wrote this row's instruction
        written = [e.result["message"]["content"] for s, es in calls.items() if s.startswith(relabel_scope + "/")
                   for e in es if e.kind == "model"]
        assert f"Instruction: {row['provenance']['trajectory']['instruction']}" in written
        # the attempt's scope holds the env steps the row's actions were taken in
        steps = [e for s, es in calls.items() if s.startswith(p["scopes"][1] + "/") for e in es if e.kind == "env"]
        assert steps and {s["action"] for s in row["provenance"]["trajectory"]["steps"]} <= {
            e.request.get("action") for e in steps}
        assistant = [msg["content"] for msg in row["messages"] if msg["role"] == "assistant"]
        assert assistant == [f"Action: {s['action']}" for s in row["provenance"]["trajectory"]["steps"]]
        assert row["messages"][0]["role"] == "system" and "Action:" in row["messages"][0]["content"]
        assert row["messages"][1]["content"].startswith(row["provenance"]["trajectory"]["instruction"])
        assert len(row["loss"]) == len(assistant) and row["kind"] == "sft"


async def test_a_replay_makes_no_model_call_and_no_env_step(journal):
    env, _, first = await run_pipeline(journal)
    again_model = model()
    again = build(again_model, env, limit=1, seed=0, max_steps=3, committee=3)
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again_model.requests == []
    assert again.records[-1].items == final_items(journal, first.run_id)


@pytest.mark.parametrize("kill_after", [5, 20])  # in the attempts; in backward construction
async def test_sigkill_mid_stage_then_resume_repeats_no_finished_call_or_step(tmp_path, kill_after):
    from agentzoo import Journal
    from lbi_scripted import pipeline
    from synth_crash import killed_run, reference_then_killed

    ref, killed = reference_then_killed(Path(__file__).parent / "lbi_scripted.py", tmp_path, kill_after)
    with Journal(killed) as journal:
        run, recorded = killed_run(journal)
        m = model()
        resumed = await runner.resume(pipeline(m), run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert len(m.requests) == ref.model_calls - recorded  # nothing asked twice
        assert final_items(journal, run.run_id) == ref.items
        steps = [(e.scope, e.seq) for e in journal.entries(run.run_id) if e.kind == "env"]
        assert len(steps) == len(set(steps)) == 1 + 2 * 4  # the reset to instruct, then a reset and 3 steps each


@pytest.mark.parametrize("name", LBI.ENVS)
async def test_it_runs_on_each_interactive_environment_it_names(journal, name):
    env = get_env(name)
    result = await runner.run(build(model(), env, limit=1, max_steps=2, committee=1), "synth", journal=journal)
    assert result.ok, result.error
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["attempt"].items_out == 2 and records["relabel"].items_out == 2 * 3
    for trajectory in records["attempt"].items:
        assert trajectory["start"] and all(step["result"] for step in trajectory["steps"])
    resets = [e for e in journal.entries(result.run_id) if e.kind == "env" and e.request["op"] == "reset"]
    assert resets[0].result["start"]["actions"] in records["instruct"].items[0]["documentation"]


def test_options_are_checked_by_name():
    env = get_env("gridworld")
    with pytest.raises(ConfigError, match="unknown option.*bogus"):
        build(model(), env, bogus=1)
    with pytest.raises(ConfigError, match="max_steps must be int"):
        build(model(), env, max_steps="many")
    with pytest.raises(ConfigError, match="interactive environment"):
        build(model(), None)
    p = build(model(), env, limit=2, max_window="2", committee="1")
    assert p.meta["options"]["max_window"] == 2 and p.meta["options"]["committee"] == 1 and len(p.seeds) == 2


def test_read_tasks_takes_json_or_lines():
    assert read_tasks('{"tasks": ["Open the door now", "x", "open the door NOW", "Take the key"]}', 5) == [
        "Open the door now", "Take the key"]
    assert read_tasks("1. Walk to the exit\n- Go north twice\n\n", 1) == ["Walk to the exit"]
    # a small model's JSON cut off mid-way is not a task (seen with SmolLM2-135M at 64 tokens)
    assert read_tasks('{"tasks":[{"tasks":[{"tasks":[{"tasks":[', 3) == []
    assert read_tasks('Sure:\n  "tasks": ["Go north"\n2) Go south to the wall', 3) == ["Go south to the wall"]


# --- retrieval ---------------------------------------------------------------------------------------------

EXAMPLES = [
    {"instruction": "Find the exit of the maze by walking east", "start": "row 0 col 0",
     "steps": [{"action": "east", "result": "row 0 col 1"}, {"action": "east", "result": "row 0 col 2"}]},
    {"instruction": "Walk south twice", "start": "row 0 col 0",
     "steps": [{"action": "south", "result": "row 1 col 0"}, {"action": "south", "result": "row 2 col 0"}]},
    {"instruction": "Go north", "start": "row 2  col 0",
     "steps": [{"action": "north", "result": "row 1 col 0"}]},
]


async def test_protocol_an_example_holding_the_current_observation_is_retrieved_first():
    retriever = Retriever(EXAMPLES)
    # the task's words favour example 0, but example 2 and 1 hold the observation: they come first, shortest first
    demos = await retriever.retrieve("row 2 col 0", "exit of the maze walking east", k=3)
    assert [d.instruction for d in demos] == ["Go north", "Walk south twice",
                                              "Find the exit of the maze by walking east"]
    assert retriever.by_observation("row 9 col 9") == [] and retriever.by_query("unrelated words", 3) == []
    assert "Instruction: Go north" in render_demos(demos[:1]) and "Action 1: north" in render_demos(demos[:1])


async def test_model_based_retrieval_fills_the_rest_with_a_journaled_query(journal):
    retriever = Retriever(EXAMPLES)
    m = model()
    got = {}

    async def use(item, ctx):
        got["demos"] = await retriever.retrieve("row 1 col 1", "get out", k=1, model=m, ctx=ctx)
        return [item]
    result = await runner.run(Pipeline("r", [Stage("retrieve", use)]), "x", journal=journal)
    assert result.ok and [d.instruction for d in got["demos"]] == [EXAMPLES[0]["instruction"]]  # "exit maze east"
    [call] = [e for e in journal.entries(result.run_id) if e.kind == "model"]
    assert "get out" in call.request["messages"][0]["content"]
    with pytest.raises(ConfigError, match="context"):
        await retriever.retrieve("row 1 col 1", "get out", k=1, model=m)


async def test_the_retriever_reads_the_pipelines_rows(journal):
    _, _, result = await run_pipeline(journal)
    made = rows(final_items(journal, result.run_id), result.run_id)
    retriever = Retriever.from_rows(made)
    second = made[0]["provenance"]["trajectory"]["steps"][0]["result"]
    demos = await retriever.retrieve(second, "walk", k=2)
    assert demos and second in demos[0].observations and demos[0].source["run_id"] == result.run_id
    with pytest.raises(ConfigError, match="trajectory"):
        Retriever.from_rows([{"kind": "sft"}])


# --- the shipped local model ---------------------------------------------------------------------------------

async def test_the_shipped_local_model_runs_every_stage_and_the_run_replays(tmp_path):
    """SmolLM2-135M writes poor tasks and labels: what is checked is the mechanics (every stage runs and is
    counted, every call is journaled, a replay makes none); the number of rows may be zero."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo import Journal
    from agentzoo.models.local import LocalModel
    from agentzoo.models.registry import RecordedOnlyModel

    env = get_env("gridworld")
    options = dict(tasks_per_doc=1, max_steps=1, max_window=1, committee=1, threshold=1, max_tokens=32)
    async with LocalModel() as m:
        with Journal(tmp_path / "j.db") as journal:
            result = await runner.run(build(m, env, limit=1, **options), "synth", journal=journal)
            assert result.ok, result.error
            records = stage_records(journal, result.run_id)
            assert [r.stage for r in records] == ["instruct", "attempt", "relabel", "filter", "dedup"]
            for before, after in zip(records, records[1:]):
                assert after.items_in == before.items_out
            calls = [e for e in journal.entries(result.run_id) if e.kind == "model"]
            assert calls and result.model_calls == len(calls)
            made = rows(final_items(journal, result.run_id), result.run_id)
            assert all(r["provenance"]["run_id"] == result.run_id for r in made)
            again = build(RecordedOnlyModel(m.name), env, limit=1, **options)
            replayed = await runner.replay(again, result.run_id, journal=journal)
            assert replayed.ok and replayed.live_effects == 0
