"""AgentInstruct (#35): content transformation → seed instruction generation → suggester→editor refinement over
the shipped seed corpus. PAPERS.md's protocol test: one seed doc → k transformed texts → m instructions each →
every instruction passes through ≥1 suggester→editor round, and the output keeps its lineage (seed id, flow,
taxonomy type)."""

import json

import pytest

from agentzoo.errors import ConfigError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.rows import validate_row

ai = get_pipeline("agentinstruct")
SPEC = ai.flows()


def reply(request) -> str:
    """Each role answers from what its prompt holds, so every output names where it came from."""
    prompt = request.messages[-1]["content"]
    if prompt.startswith("Rewrite the source text below as"):
        brief = prompt.split(" as ", 1)[1].split(".\n", 1)[0]
        flow = next(name for name, b in SPEC["transformations"].items() if b == brief)
        title = prompt.split('Source text ("', 1)[1].split('")', 1)[0]
        return f"[{flow} text about {title}]"
    if prompt.startswith("Here is a text:"):
        description = prompt.split("The question must be ", 1)[1].split(".\n", 1)[0]
        kind = next(name for name, d in SPEC["taxonomy"].items() if d == description)
        return f'"What is the {kind} point?"'
    if prompt.startswith("A question was written"):
        question = prompt.rsplit("Question:\n", 1)[1].strip()
        return f"- add a distractor to: {question}"
    if prompt.startswith("Rewrite the question below"):
        question = prompt.split("Question:\n", 1)[1].split("\n", 1)[0]
        return f"Harder: {question}"
    return "An answer drawn from the text."


def model() -> ScriptedModel:
    return ScriptedModel(reply, name="agentinstruct-script")


async def test_protocol_one_seed_k_texts_m_instructions_each_refined_with_lineage(journal):
    m = model()
    pipeline = ai.build(m, None, limit=1, seed=3, transformations=2, instructions=3, refine_rounds=1)
    [seed] = pipeline.seeds
    result = await runner.run(pipeline, "agentinstruct", journal=journal)
    assert result.ok, result.error
    counts = [(r.stage, r.items_in, r.items_out) for r in stage_records(journal, result.run_id)]
    assert counts == [("transform", 1, 2), ("generate", 2, 6), ("refine", 6, 6), ("respond", 6, 6),
                      ("dedup", 6, 6)]
    items = final_items(journal, result.run_id)
    assert {i["seed_id"] for i in items} == {seed["seed_id"]}
    flows = {i["flow"] for i in items}
    assert len(flows) == 2 and flows <= set(SPEC["transformations"])
    for flow in flows:  # m distinct taxonomy types per transformed text
        kinds = [i["taxonomy"] for i in items if i["flow"] == flow]
        assert len(kinds) == len(set(kinds)) == 3 and set(kinds) <= set(SPEC["taxonomy"])
    for item in items:
        assert item["text"] == f"[{item['flow']} text about {seed['title']}]"  # made from its own seed by its flow
        assert item["question"] == f"What is the {item['taxonomy']} point?"
        [round1] = item["refinements"]
        assert round1["suggestions"] == f"- add a distractor to: {item['question']}"
        assert item["instruction"] == round1["instruction"] == f"Harder: {item['question']}"
    edits = [r for r in m.requests if r.messages[-1]["content"].startswith("Rewrite the question below")]
    suggestions = [r for r in m.requests if r.messages[-1]["content"].startswith("A question was written")]
    assert len(edits) == len(suggestions) == 6
    assert all("Suggested changes:\n- add a distractor" in r.messages[-1]["content"] for r in edits)
    for row in ai.rows(items, result.run_id):
        validate_row(row, 0)
        p = row["provenance"]
        assert p["stages"] == ["transform", "generate", "refine", "respond"] and p["pipeline"] == "agentinstruct"
        assert (p["seed_id"], p["skill"]) == (seed["seed_id"], "reading_comprehension")
        assert p["flow"] in flows and p["taxonomy"] in SPEC["taxonomy"] and len(p["refinements"]) == 1
        assert row["messages"][0]["content"].startswith(f"[{p['flow']} text")
        assert row["messages"][0]["content"].endswith(f"Harder: What is the {p['taxonomy']} point?")


async def test_two_refinement_rounds_chain_suggester_and_editor(journal):
    m = model()
    result = await runner.run(ai.build(m, None, limit=1, transformations=1, instructions=1, refine_rounds=2),
                              "x", journal=journal)
    [item] = final_items(journal, result.run_id)
    first, second = item["refinements"]
    assert second["instruction"] == f"Harder: {first['instruction']}" == item["instruction"]
    scopes = sorted(e.scope.rsplit("/", 1)[-1] for e in journal.entries(result.run_id)
                    if e.kind == "model" and e.scope.startswith("refine/"))
    assert scopes == ["editor#0", "editor#1", "suggester#0", "suggester#1"]


async def test_rows_trace_back_to_the_calls_that_made_them_and_a_replay_makes_none(journal):
    result = await runner.run(ai.build(model(), None, limit=2), "x", journal=journal)
    items = final_items(journal, result.run_id)
    assert len(items) == 2 * 2 * 2
    calls = {e.scope: e.result["message"]["content"] for e in journal.entries(result.run_id) if e.kind == "model"}
    for item, row in zip(items, ai.rows(items, result.run_id)):
        p = row["provenance"]
        scope = dict(zip(p["stages"], p["scopes"]))
        assert calls[scope["respond"] + "/responder"] == row["messages"][1]["content"]
        assert calls[scope["refine"] + "/editor#0"] == item["instruction"]
        assert calls[scope["transform"] + f"/transformer#{_index(scope['transform'], item, calls)}"] == item["text"]
    again_model = model()
    again = ai.build(again_model, None, limit=2)
    replayed = await runner.replay(again, result.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again_model.requests == []
    assert again.records[-1].items == items


def _index(scope, item, calls) -> int:
    return next(j for j in range(5) if calls.get(f"{scope}/transformer#{j}") == item["text"])


async def test_identical_instructions_are_kept_once_and_empty_replies_dropped_with_a_reason(journal):
    def dull(request):  # every flow and every type gives the same text and question
        prompt = request.messages[-1]["content"]
        return "Same text." if prompt.startswith("Rewrite the source text") else "Same?"
    result = await runner.run(ai.build(ScriptedModel(dull), None, limit=1), "x", journal=journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["respond"].items_out == 4 and records["dedup"].items_out == 1
    assert records["dedup"].dropped == {"filtered": 3}

    def silent(request):
        return "" if request.messages[-1]["content"].startswith("Here is a text") else "x"
    result = await runner.run(ai.build(ScriptedModel(silent), None, limit=1), "x", journal=journal)
    assert stage_records(journal, result.run_id)[1].dropped == {"empty question": 2}


def test_the_shipped_corpus_and_options_are_checked(tmp_path):
    docs = ai.load_corpus()
    assert len(docs) >= 20 and len({d["id"] for d in docs}) == len(docs)
    assert all(len(d["text"].split()) >= 60 for d in docs)
    m = model()
    with pytest.raises(ConfigError, match="unknown option.*colour"):
        ai.build(m, None, colour=1)
    with pytest.raises(ConfigError, match="instructions must be a whole number"):
        ai.build(m, None, instructions=0)
    with pytest.raises(ConfigError, match="more than the 6 transformations"):
        ai.build(m, None, transformations=7)
    bad = tmp_path / "c.jsonl"
    bad.write_text('{"id": "a"}\n')
    with pytest.raises(ConfigError, match="line 1: needs text fields"):
        ai.build(m, None, corpus=str(bad))
    mine = tmp_path / "mine.jsonl"
    mine.write_text(json.dumps({"id": "x1", "text": "Owls hunt at night."}) + "\n")
    assert [s["seed_id"] for s in ai.build(m, None, limit=4, corpus=str(mine)).seeds] == ["x1"]
    assert ai.build(m, None, seed=1).seeds != ai.build(m, None, seed=2).seeds  # the seed picks the documents


async def test_the_shipped_local_model_runs_every_flow_once(tmp_path):
    """SmolLM2-135M plays every role on one document (k=1, m=1, one round). A 135M model writes weak
    questions; what is checked is that a real model drives the whole flow and each stage is journaled."""
    pytest.importorskip("xllamacpp")
    from agentzoo import Journal
    from agentzoo.models.local import model_file
    from agentzoo.models.registry import parse_model

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    local = parse_model("local:smollm2-135m?ctx=4096&max_tokens=64")
    try:
        with Journal(tmp_path / "j.db") as journal:
            result = await runner.run(ai.build(local, None, limit=1, transformations=1, instructions=1, words=80),
                                      "x", journal=journal)
            assert result.ok, result.error
            records = stage_records(journal, result.run_id)
            assert [r.stage for r in records] == ["transform", "generate", "refine", "respond", "dedup"]
            calls = sum(e.kind == "model" for e in journal.entries(result.run_id))
            assert 1 <= calls <= 5  # at most: transform, generate, suggest, edit, respond
            for row in ai.rows(final_items(journal, result.run_id), result.run_id):
                validate_row(row, 0)
    finally:
        close = getattr(local, "aclose", None)
        if close is not None:
            await close()


async def test_the_dataset_loads_with_datasets_with_its_lineage(journal, tmp_path):
    datasets = pytest.importorskip("datasets")
    from agentzoo.synth.formats import write_dataset

    result = await runner.run(ai.build(model(), None, limit=2), "x", journal=journal)
    rows = ai.rows(final_items(journal, result.run_id), result.run_id)
    files = write_dataset(rows, tmp_path, ["jsonl", "sharegpt"])
    loaded = datasets.load_dataset("json", data_files=str(files["jsonl"]), split="train")
    assert loaded.num_rows == 8
    assert {r["provenance"]["seed_id"] for r in loaded} == {r["provenance"]["seed_id"] for r in rows}
    assert all(r["provenance"]["run_id"] == result.run_id and r["provenance"]["flow"] for r in loaded)
