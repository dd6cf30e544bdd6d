"""AgentTuning (#19): an eval's trajectories kept by reward and mixed with general instruction data at ratio η.

The source is a real eval folder: a tool-calling agent on 10 GSM8K tasks (oracle model), wrong on purpose on the
odd ones, so 5 samples have reward 1 and 5 reward 0."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentzoo.agents.tool_calling import ToolCallingAgent
from agentzoo.catalog import REGISTERED as AGENTS, register_agent
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.report import load_rows
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.pipelines.agenttuning import (GENERAL, build, interleave, keep_trajectory, load_general, plan,
                                                  rows)
from agentzoo.synth.rows import validate_rows

TASKS = 10


def right_on_even(model, tools=(), *, system=None, sampling=None, episode=None):
    index = int(episode.task.id.split("/")[1])
    if index % 2:
        model = ScriptedModel([f"So the answer is\n#### {int(episode.task.gold) + 1}"], name="oracle")
    return ToolCallingAgent(model, episode.tools, max_steps=3)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    env = GSM8K()
    register_agent("right-on-even", right_on_even)
    try:
        out = tmp_path_factory.mktemp("eval")
        samples = expand({"gsm8k": env}, ["right-on-even"], ["oracle"], 1, limit=TASKS)
        asyncio.run(run_eval(samples, {"gsm8k": env}, EvalConfig(out=out, retries=0)))
    finally:
        AGENTS.pop("right-on-even")
    rewards = sorted(r["reward"] for r in load_rows(out)[0])
    assert rewards == [0.0] * 5 + [1.0] * 5
    return out


async def run(journal, folder, *, limit=100, seed=0, **options):
    pipeline = build(ScriptedModel(lambda r: pytest.fail("agenttuning calls no model")), GSM8K(), limit=limit,
                     seed=seed, source=str(folder), **options)
    result = await runner.run(pipeline, "agenttuning", journal=journal)
    assert result.ok, result.error
    return result


def test_protocol_the_filter_keeps_a_trajectory_only_at_the_strict_reward():
    """PAPERS.md #19: the exporter keeps a trajectory only when its reward equals the threshold (1.0)."""
    def item(reward):
        return {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                "trajectory": {"env": "gsm8k", "reward": reward}}
    kept = [r for r in (1.0, 0.99, 0.5, 0.0, None, 1.0)
            if isinstance(keep_trajectory(item(r), "gsm8k", 1.0), list)]
    assert kept == [1.0, 1.0]
    assert keep_trajectory(item(1.0), "mbpp", 1.0).reason == "another environment"
    assert keep_trajectory(item(0.5), None, 1.0).reason == "reward below 1"
    empty = {**item(1.0), "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}
    assert keep_trajectory(empty, None, 1.0).reason == "empty assistant turn"


@pytest.mark.parametrize("agent, total, eta", [(10, 50, 0.2), (7, 100, 0.2), (3, 12, 0.25), (5, 5, 1.0)])
def test_protocol_every_batch_holds_about_eta_agent_rows(agent, total, eta):
    """PAPERS.md #19: the mix holds ~η agent samples per batch: k consecutive rows hold ⌊kη'⌋ or ⌈kη'⌉."""
    slots = interleave(agent, total)
    assert sum(slots) == agent and len(slots) == total
    share = agent / total
    for k in (1, 4, 10):
        for start in range(total - k + 1):
            assert int(k * share) <= sum(slots[start:start + k]) <= -(-k * agent // total)


def test_the_plan_keeps_eta_and_never_repeats_a_general_example():
    assert plan(10, 60, 0.2) == (10, 40)
    assert plan(20, 60, 0.2) == (15, 60)  # the corpus is short: fewer trajectories, none repeated
    assert plan(4, 60, 0.5) == (4, 4) and plan(4, 60, 1.0) == (4, 0) and plan(0, 60, 0.2) == (0, 0)


async def test_a_run_keeps_the_successes_mixes_them_at_eta_and_traces_them_to_the_eval(journal, folder):
    result = await run(journal, folder)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert (records["collect"].items_out, records["filter"].items_out) == (TASKS, 5)
    assert records["filter"].dropped == {"reward below 1": 5}
    dataset = rows(final_items(journal, result.run_id), result.run_id)
    assert validate_rows(dataset) == dataset and len(dataset) == 5 + 20
    sources = [r["provenance"]["source"] for r in dataset]
    assert sources.count("agent") == 5 and [sources[i:i + 5].count("agent") for i in range(0, 25, 5)] == [1] * 5
    by_run = {r["run_id"]: r for r in load_rows(folder)[0]}
    from agentzoo import Journal
    with Journal(folder / "journal.db") as eval_journal:
        for row in dataset:
            prov = row["provenance"]
            assert prov["pipeline"] == "agenttuning" and prov["run_id"] == result.run_id
            if prov["source"] == "general":
                assert prov["general_file"] == str(GENERAL) and prov["trajectory"] is None
                continue
            origin = prov["trajectory"]
            assert by_run[origin["run_id"]]["reward"] == 1.0 and origin["key"] == by_run[origin["run_id"]]["key"]
            [last] = [e for e in eval_journal.entries(origin["run_id"]) if e.kind == "model"][-1:]
            assert row["messages"][-1]["content"] == last.result["message"]["content"]
            assert row["loss"] == [True] * sum(m["role"] == "assistant" for m in row["messages"])
            assert prov["stages"] == ["collect", "filter", "mix", "keep"]


async def test_the_mix_is_a_function_of_the_seed(journal, folder):
    first = await run(journal, folder, limit=3, seed=1)
    again = await run(journal, folder, limit=3, seed=1)
    other = await run(journal, folder, limit=3, seed=2)
    ids = [[r["provenance"]["general_id"] or r["provenance"]["trajectory"]["key"]
            for r in rows(final_items(journal, run.run_id), run.run_id)] for run in (first, again, other)]
    assert ids[0] == ids[1] != ids[2] and len(ids[0]) == 3 + 12
    records = {r.stage: r for r in stage_records(journal, first.run_id)}
    assert records["keep"].dropped == {"over the limit": 2}


async def test_a_short_corpus_cuts_trajectories_and_says_why(journal, folder, tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps({"id": f"s{i}", "messages": [
        {"role": "user", "content": f"say {i}"}, {"role": "assistant", "content": str(i)}]}) + "\n" for i in range(8)))
    result = await run(journal, folder, general=str(small))
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["keep"].items_out == 2 + 8 and records["keep"].dropped == {"general corpus too short for eta 0.2": 3}


async def test_a_replay_reads_nothing_again(journal, folder, tmp_path):
    first = await run(journal, folder)
    again = build(ScriptedModel(["x"]), GSM8K(), limit=100, source=str(folder))
    (folder / "results.db").rename(tmp_path / "moved.db")  # the folder is gone: the journal has what was read
    try:
        replayed = await runner.replay(again, first.run_id, journal=journal)
    finally:
        (tmp_path / "moved.db").rename(folder / "results.db")
    assert replayed.ok and replayed.live_effects == 0
    assert again.records[-1].items == final_items(journal, first.run_id)


def test_bad_sources_and_settings_are_refused_by_name(folder, tmp_path):
    m, env = ScriptedModel(["x"]), GSM8K()
    with pytest.raises(ConfigError, match="source=DIR"):
        build(m, env)
    with pytest.raises(ConfigError, match="records no rewards"):
        build(m, env, source=str(folder / "journal.db"))
    with pytest.raises(ConfigError, match="eta"):
        build(m, env, source=str(folder), eta=0)
    with pytest.raises(ConfigError, match="unknown option.*ratio"):
        build(m, env, source=str(folder), ratio=0.2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "messages": [{"role": "user", "content": "hi"}]}\n')
    with pytest.raises(ConfigError, match="bad.jsonl line 1"):
        build(m, env, source=str(folder), general=str(bad))
    assert build(m, env, source=str(folder), eta="0.5").meta["options"]["eta"] == 0.5  # --opt gives text


async def test_another_environment_is_named(journal, folder):
    from agentzoo.envs.code import MBPP
    result = await runner.run(build(ScriptedModel(["x"]), MBPP(), source=str(folder)), "x", journal=journal)
    assert not result.ok and "--env gsm8k" in result.error["message"]


def test_the_shipped_corpus_and_its_source_note():
    corpus = load_general(GENERAL)
    assert len(corpus) >= 50 and len({c["id"] for c in corpus}) == len(corpus)
    note = (GENERAL.parent / "SOURCE.md").read_text()
    assert GENERAL.name in note
    module = get_pipeline("agenttuning")
    assert set(module.OPTIONS) == set(module.OPTION_SOURCES) and module.OPTIONS["eta"] == 0.2


async def test_with_the_shipped_local_model(journal, tmp_path):
    """An eval of SmolLM2-135M on two GSM8K tasks is the source: a 135M model is rarely right, so the filter is
    opened (min_reward 0) to check the mechanics: both trajectories are mixed with 8 general rows."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    env, out = GSM8K(), tmp_path / "eval"
    samples = expand({"gsm8k": env}, ["tool-calling"], ["local:smollm2-135m?max_tokens=32"], 1, limit=2)
    await run_eval(samples, {"gsm8k": env}, EvalConfig(out=out, retries=0, concurrency=1))
    strict = await run(journal, out)
    records = {r.stage: r for r in stage_records(journal, strict.run_id)}
    assert records["collect"].items_out == 2
    assert records["filter"].items_out + records["filter"].dropped.get("reward below 1", 0) == 2
    opened = await run(journal, out, min_reward=0.0)
    dataset = rows(final_items(journal, opened.run_id), opened.run_id)
    assert validate_rows(dataset) == dataset and len(dataset) == 2 + 8
    assert [r["provenance"]["source"] for r in dataset].count("agent") == 2
