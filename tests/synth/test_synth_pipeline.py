"""Synthesis pipelines: stages journaled, counted, resumable and replayable; judges and committees."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth_crash import killed_run, reference_then_killed  # noqa: E402
from synth_pipeline_demo import SEEDS, model, pipeline  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.runtime.budgets import Budget  # noqa: E402
from agentzoo.synth.judges import Committee, RubricJudge, parse_score  # noqa: E402
from agentzoo.synth.pipeline import Pipeline, Stage, final_items, stage_records  # noqa: E402

HERE = Path(__file__).parent


async def test_each_stage_counts_what_came_in_went_out_and_why_items_were_dropped(journal):
    m = model()
    result = await runner.run(pipeline(m), "demo", journal=journal)
    assert result.ok, result.error
    records = stage_records(journal, result.run_id)
    assert [(r.stage, r.items_in, r.items_out) for r in records][:3] == [
        ("write", 6, 5), ("answer", 5, 5), ("dedup", 5, 4)]  # maps dropped; tides and clocks answer alike
    assert records[0].dropped == {"off topic": 1} and records[2].dropped == {"filtered": 1}
    judged = records[3]
    assert judged.items_in == 4 and judged.items_in == judged.items_out + sum(judged.dropped.values())
    for item in judged.items:
        assert item["judge"]["passed"] and len(item["judge"]["votes"]) == 3
        assert sum(v["passed"] for v in item["judge"]["votes"]) >= 2  # the majority
    items = final_items(journal, result.run_id)
    assert items == judged.items


async def test_every_item_traces_back_to_the_scopes_whose_calls_made_it(journal):
    result = await runner.run(pipeline(model()), "demo", journal=journal)
    item = stage_records(journal, result.run_id)[1].items[0]
    assert [p["stage"] for p in item["provenance"]] == ["write", "answer"]
    write_scope, answer_scope = (p["scope"] for p in item["provenance"])
    assert write_scope == "write/item#0" and answer_scope == "answer/item#0"
    calls = {e.scope: e for e in journal.entries(result.run_id) if e.kind == "model"}
    assert calls[write_scope].result["message"]["content"] == item["question"]
    assert calls[answer_scope].result["message"]["content"] == item["answer"]


async def test_a_replay_makes_no_model_call_and_gives_the_same_dataset(journal):
    first = await runner.run(pipeline(model()), "demo", journal=journal)
    again_model = model()
    again = pipeline(again_model)
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again_model.requests == []
    assert again.records[-1].items == final_items(journal, first.run_id)


@pytest.mark.parametrize("kill_after", [3, 9])
async def test_sigkill_mid_stage_then_resume_repeats_no_finished_call(tmp_path, kill_after):
    ref, killed = reference_then_killed(HERE / "synth_pipeline_demo.py", tmp_path, kill_after)
    with Journal(killed) as journal:
        run, recorded = killed_run(journal)
        assert recorded >= kill_after  # calls that finished together commit together
        m = model()
        resumed = await runner.resume(pipeline(m), run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert len(m.requests) == ref.model_calls - recorded  # nothing asked twice
        assert final_items(journal, run.run_id) == ref.items


async def test_a_budget_stops_a_stage_cleanly_and_the_pipeline_still_ends_with_a_dataset(journal):
    result = await runner.run(pipeline(model()), "demo", journal=journal, budgets=Budget(model_calls=7))
    assert result.ok, result.error
    records = stage_records(journal, result.run_id)
    assert records[0].items_out == 5 and records[1].dropped.get("budget", 0) >= 3
    assert len(records) == 4 and final_items(journal, result.run_id) == records[3].items


def test_bad_pipelines_and_stages_are_refused_by_name():
    async def fn(item, ctx):
        return [item]
    with pytest.raises(ConfigError, match="unique"):
        Pipeline("p", [Stage("a", fn), Stage("a", fn)])
    with pytest.raises(ConfigError, match="'a/b'"):
        Stage("a/b", fn)
    with pytest.raises(ConfigError, match="concurrency"):
        Stage("a", fn, concurrency=0)


async def test_a_stage_that_returns_something_else_is_an_error_naming_it(journal):
    async def bad(item, ctx):
        return "not a list"
    result = await runner.run(Pipeline("p", [Stage("oops", bad)]), "x", journal=journal)
    assert not result.ok and result.error["type"] == "ConfigError"
    assert "stage oops" in result.error["message"] and "got str" in result.error["message"]


async def test_an_item_that_fails_stops_its_siblings_before_they_spend_anything(journal):
    import asyncio

    started, cancelled = asyncio.Event(), []
    m = ScriptedModel(lambda request: "reply", name="m")

    async def fn(item, ctx):
        if item["n"] == 0:
            await started.wait()  # the sibling is under way
            raise ValueError("item 0 cannot be made")
        started.set()
        try:
            await asyncio.Event().wait()  # would call the model after a long wait
        except asyncio.CancelledError:
            cancelled.append(item["n"])
            raise
        from agentzoo.types import ModelRequest
        await ctx.model(m, ModelRequest(messages=[{"role": "user", "content": "x"}]))
        return [item]

    with pytest.raises(ValueError, match="item 0"):  # a bug, not a run outcome: the runner raises it
        await runner.run(Pipeline("p", [Stage("make", fn, concurrency=2)], seeds=[{"n": 0}, {"n": 1}]), "x",
                         journal=journal)
    assert cancelled == [1]
    (run,) = journal.list_runs()
    assert run.status == "failed" and not [e for e in journal.entries(run.run_id) if e.kind == "model"]


def test_parse_score_reads_whole_numbers_in_range_and_names_what_is_wrong():
    assert parse_score('{"reasons": "ok", "score": 4}', 1, 5) == (4, "ok")
    assert parse_score('Sure: {"score": "3"}', 1, 5) == (3, "")
    for bad, why in [('{"score": 9}', "from 1 to 5"), ('{"score": 2.5}', "2.5"), ('{"reasons": "x"}', "None")]:
        with pytest.raises(Exception, match=why):
            parse_score(bad, 1, 5)


async def test_an_unreadable_judge_is_asked_once_more_then_fails_the_item(journal):
    replies = iter(["no json here", "still none"])
    m = ScriptedModel(lambda r: next(replies), name="judge")
    judge = RubricJudge(m, "Be good.", scale=(1, 5), threshold=3)
    from agentzoo.runtime.context import Context  # noqa: F401

    async def stage(item, ctx):
        verdict = await judge.judge("x", ctx)
        return [{"verdict": verdict.to_json()}]
    result = await runner.run(Pipeline("p", [Stage("j", stage)]), "x", journal=journal)
    [item] = final_items(journal, result.run_id)
    assert item["verdict"]["score"] is None and not item["verdict"]["passed"]
    assert "could not be read" in item["verdict"]["reasons"] and len(m.requests) == 2
    assert "could not be read" in m.requests[1].messages[-1]["content"]


@pytest.mark.parametrize("rule, scores, passed", [
    ("majority", [5, 1, 4], True), ("majority", [5, 1, 1], False), ("all", [5, 4, 2], False),
    ("any", [1, 1, 3], True), ("mean", [5, 1, 3], True), ("mean", [1, 1, 4], False)])
async def test_a_committee_votes_by_its_rule(journal, rule, scores, passed):
    replies = iter(json.dumps({"reasons": "r", "score": s}) for s in scores)
    m = ScriptedModel(lambda r: next(replies), name="judge")
    committee = Committee.of(RubricJudge(m, "Be good.", threshold=3), 3, rule)
    got = {}

    async def stage(item, ctx):
        got["v"] = await committee.judge("x", ctx)
        return [item]
    await runner.run(Pipeline("p", [Stage("j", stage, concurrency=1)]), "x", journal=journal)
    assert got["v"].passed is passed and len(got["v"].votes) == 3


def test_judges_refuse_bad_settings():
    m = ScriptedModel(["x"])
    with pytest.raises(ConfigError, match="scale"):
        RubricJudge(m, "r", scale=(5, 1))
    with pytest.raises(ConfigError, match="outside"):
        RubricJudge(m, "r", threshold=9)
    with pytest.raises(ConfigError, match="rule"):
        Committee([RubricJudge(m, "r")], "most")  # type: ignore[arg-type]


async def test_a_stage_that_gets_no_items_records_zero_and_the_pipeline_ends(journal):
    from agentzoo.synth.pipeline import Drop

    async def none(item, ctx):
        return Drop("nothing")

    async def never(item, ctx):
        raise AssertionError("no item reaches this stage")

    result = await runner.run(Pipeline("p", [Stage("first", none), Stage("second", never)], seeds=[{}, {}]), "x",
                              journal=journal)
    assert result.ok
    assert [(r.stage, r.items_in, r.items_out) for r in stage_records(journal, result.run_id)] == \
        [("first", 2, 0), ("second", 0, 0)]


async def test_an_item_that_outgrows_the_context_is_dropped_with_that_reason_and_replays(journal):
    from agentzoo.errors import ContextLengthError
    from agentzoo.models.registry import RecordedOnlyModel
    from agentzoo.types import ModelRequest

    def reply(request):
        if "long" in request.messages[-1]["content"]:
            raise ContextLengthError("request (5000 tokens) exceeds the context (4096)")
        return "fine"

    def made(m):
        async def fn(item, ctx):
            r = await ctx.model(m, ModelRequest(messages=[{"role": "user", "content": item["text"]}]))
            return [{**item, "reply": r.text}]
        return Pipeline("p", [Stage("ask", fn)], seeds=[{"text": "short"}, {"text": "long"}, {"text": "short too"}])

    result = await runner.run(made(ScriptedModel(reply, name="m")), "x", journal=journal)
    assert result.ok
    [record] = stage_records(journal, result.run_id)
    assert (record.items_in, record.items_out, record.dropped) == (3, 2, {"context too long": 1})
    replayed = await runner.replay(made(RecordedOnlyModel("m")), result.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
