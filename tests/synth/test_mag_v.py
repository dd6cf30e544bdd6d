"""MAG-V (#44): investigator → assistant (tool calls on tau-bench retail) → reverse engineer → alternate
trajectories → a verifier over deterministic features. PAPERS.md's protocol test: for a base trajectory [A,B,C]
and alternates [A,B,C], [A,C], the features give EM=0.5 and edit distances 0 and 1; a trajectory whose
alternates all diverge is scored "likely incorrect"."""

import json

import pytest

from agentzoo.envs.tau import load_domain
from agentzoo.envs.tau_env import TauAirline, TauRetail
from agentzoo.errors import ConfigError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.rows import validate_row

magv = get_pipeline("mag-v")
F = magv.F

EMAIL = "noah.brown7922@example.com"
GOOD = [("find_user_id_by_email", {"email": EMAIL}), ("get_user_details", {"user_id": "noah_brown_6181"}),
        ("get_order_details", {"order_id": "#W7678072"})]
BAD = [("find_user_id_by_name_zip", {"first_name": "Ivan", "last_name": "Santos", "zip": "10264"}),
       ("get_user_details", {"user_id": "ivan_santos_7021"}), ("get_order_details", {"order_id": "#W5801125"})]
PLANS = {"Q-good": GOOD, "ALT-SAME": GOOD, "ALT-SHORT": [GOOD[0], GOOD[2]], "Q-bad": BAD,
         "ALT-X": [("list_all_product_types", {})], "ALT-Y": [("list_all_product_types", {})]}


@pytest.fixture(scope="module")
def retail():
    return TauRetail()


def reply(request):
    """Investigator: one question, good or bad by the example it was shown. Reverse engineer: alternates that
    agree with a good reply, diverging ones otherwise. Assistant: a fixed plan of tool calls per question."""
    first = request.messages[0]["content"]
    if first.startswith("You write realistic customer messages"):
        tag = "Q-good" if f"Message: Hi, my email is {EMAIL}" in first else "Q-bad"
        return json.dumps({"questions": [f"{tag}: where is my order? ({EMAIL})"]})
    if first.startswith("A customer service assistant sent the reply"):
        if "GOOD" in first:
            return json.dumps({"questions": [f"ALT-SAME: status of #W7678072? {EMAIL}", f"ALT-SHORT: {EMAIL}"]})
        return json.dumps({"questions": ["ALT-X: anything?", "ALT-Y: something?"]})
    assert first.startswith("You are a customer service agent of a retail company")
    question = request.messages[1]["content"]
    plan = PLANS[question.split(":", 1)[0]]
    done = sum(m["role"] == "assistant" for m in request.messages)
    if done < len(plan):
        name, arguments = plan[done]
        return {"tool_calls": [{"name": name, "arguments": arguments}]}
    return ("GOOD: order #W7678072 was delivered." if plan[0] == GOOD[0] else "Your order is on its way.")


def model():
    return ScriptedModel(reply, name="mag-v-script")


def test_protocol_features_em_half_edit_0_and_1_and_all_divergent_is_likely_incorrect():
    f = F.features(["A", "B", "C"], [["A", "B", "C"], ["A", "C"]], [1.0, 0.5])
    assert f["exact_match"] == 0.5 and f["edit_distance"] == [0, 1]
    assert f["graph_edit_distance"] == [0, 4]  # node B, edges A→B and B→C out, edge A→C in
    assert F.rule_verdict(f, agree_distance=0.34, agree_fraction=0.5)
    diverged = F.features(["A", "B", "C"], [["D"], ["E", "F"], None], [0.0, 0.1, 0.0])
    assert diverged["exact_match"] == 0.0 and diverged["edit_distance"] == [3, 3, 3]
    assert not F.rule_verdict(diverged, agree_distance=0.34, agree_fraction=0.5)


def test_edit_and_graph_distances_and_text_similarity():
    assert F.edit_distance([], ["A"]) == 1 and F.edit_distance(["A", "B"], ["B", "A"]) == 2
    assert F.graph_edit_distance(["A", "B"], ["A", "B"]) == 0
    assert F.graph_edit_distance(["A", "B", "A"], ["A", "B"]) == 1  # the edge B→A
    assert F.text_similarity("Order delivered", "order DELIVERED") == pytest.approx(1.0)
    assert F.text_similarity("yes", "no") == 0.0


async def test_protocol_on_tau_retail_agreeing_alternates_kept_divergent_dropped(journal, retail):
    m = model()
    result = await runner.run(magv.build(m, retail, limit=2, questions=1, alternates=2), "mag-v", journal=journal)
    assert result.ok, result.error
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert [(s, records[s].items_in, records[s].items_out) for s in records] == [
        ("investigate", 2, 2), ("dedup", 2, 2), ("answer", 2, 2), ("reverse", 2, 2), ("alternate", 2, 2),
        ("verify", 2, 1)]
    assert records["verify"].dropped == {"verifier: likely incorrect": 1}
    [kept] = final_items(journal, result.run_id)
    assert kept["question"].startswith("Q-good") and kept["seed_id"] == "retail-1"
    f = kept["verdict"]["features"]
    assert kept["base"]["trajectory"] == [n for n, _ in GOOD]
    assert f["exact_match"] == 0.5 and f["edit_distance"] == [0, 1] and kept["verdict"]["likely_correct"]
    # the reverse engineer read the reply, and the question's ids, not the question
    reverse_prompts = [r.messages[0]["content"] for r in m.requests if r.messages[0]["content"].startswith("A cust")]
    assert all("where is my order" not in p for p in reverse_prompts)
    assert any(EMAIL in p and "GOOD: order #W7678072" in p for p in reverse_prompts)
    asked = [r for r in m.requests if not r.messages[0]["content"].startswith("You are a customer service agent")]
    assert len(asked) == 4 and all(r.response_format["type"] == "json_schema" for r in asked)  # lists, by schema
    # every assistant ran on its own fresh data: the observations are the real tools'
    tool_results = [msg["content"] for msg in kept["base"]["messages"] if msg["role"] == "tool"]
    assert tool_results[0] == "noah_brown_6181" and '"order_id": "#W7678072"' in tool_results[2]


async def test_rows_carry_tools_messages_and_provenance_whose_scopes_hold_the_calls(journal, retail):
    result = await runner.run(magv.build(model(), retail, limit=2, questions=1, alternates=2), "x", journal=journal)
    items = final_items(journal, result.run_id)
    [row] = magv.rows(items, result.run_id)
    validate_row(row, 0)
    assert {t["function"]["name"] for t in row["tools"]} >= {"get_order_details", "find_user_id_by_email"}
    p = row["provenance"]
    assert p["stages"] == ["investigate", "answer", "reverse", "alternate", "verify"]
    assert p["scores"]["verify"]["verifier"]["likely_correct"] is True
    assert p["alternate_trajectories"] == [[n for n, _ in GOOD], [GOOD[0][0], GOOD[2][0]]]
    scopes = dict(zip(p["stages"], p["scopes"]))
    entries = list(journal.entries(result.run_id))
    base_calls = [e for e in entries if e.scope == scopes["answer"] + "/assistant"]
    assert [e.kind for e in base_calls].count("model") == 4  # three tool-call steps and the reply
    assert base_calls[-1].result["message"]["content"] == row["messages"][-1]["content"]
    tools = [e for e in base_calls if e.kind == "tool"]
    assert [e.name for e in tools] == [n for n, _ in GOOD]
    alt_scopes = {e.scope for e in entries if e.scope.startswith(scopes["alternate"] + "/assistant#")}
    assert alt_scopes == {scopes["alternate"] + "/assistant#0", scopes["alternate"] + "/assistant#1"}


async def test_a_replay_makes_no_model_call_and_gives_the_same_items(journal, retail):
    first = await runner.run(magv.build(model(), retail, limit=2, questions=1, alternates=2), "x", journal=journal)
    again_model = model()
    again = magv.build(again_model, retail, limit=2, questions=1, alternates=2)
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again_model.requests == []
    assert again.records[-1].items == final_items(journal, first.run_id)


async def test_a_knn_verifier_trained_on_labels_decides_instead_of_the_rule(journal, retail, tmp_path):
    wrong_way = [  # labels that call agreement wrong and divergence right: the kNN must follow them
        {"features": F.features(["A", "B"], [["A", "B"], ["A", "B"]], [1.0, 1.0]), "correct": False},
        {"features": F.features(["A", "B"], [["A", "B"], ["A"]], [1.0, 0.5]), "correct": False},
        {"features": F.features(["A", "B", "C"], [["D"], ["E"]], [0.0, 0.0]), "correct": True}]
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(r) for r in wrong_way) + "\n")
    pipeline = magv.build(model(), retail, limit=2, questions=1, alternates=2, verifier="knn", labels=str(labels),
                          k=1)
    result = await runner.run(pipeline, "x", journal=journal)
    [kept] = final_items(journal, result.run_id)
    assert kept["question"].startswith("Q-bad") and kept["verdict"]["verifier"] == "knn"


def test_the_shipped_seeds_run_on_the_shipped_data_without_an_error():
    for name in ("retail", "airline"):
        domain = load_domain(name)
        seeds = magv.load_seeds("", name)
        assert len(seeds) >= 9
        data = domain.fresh_data()
        for seed in seeds:
            for call in seed["trajectory"]:
                observation = domain.call(data, call["name"], call["arguments"])
                assert not observation.startswith(("Error", "Unknown")), (seed["id"], call, observation)
    assert len(magv.load_seeds()) == 19  # as the paper's 19 seed pairs


def test_identifiers_questions_and_options():
    q = "I'm noah_brown_6181 (noah.brown7922@example.com): order #W7678072 and reservation NO6JO3, zip 80279."
    assert magv.identifiers(q) == ["noah_brown_6181", "noah.brown7922@example.com", "#W7678072", "NO6JO3"]
    assert magv.parse_questions('{"questions": ["a?", "A?", "b?"]}', 5) == ["a?", "b?"]
    assert magv.parse_questions("1. first?\n- second?\n\n", 1) == ["first?"]
    m = model()
    with pytest.raises(ConfigError, match="unknown option.*color"):
        magv.build(m, TauAirline(), color=1)
    with pytest.raises(ConfigError, match="needs labels=FILE"):
        magv.build(m, TauAirline(), verifier="knn")
    with pytest.raises(ConfigError, match="runs on a tau-bench domain"):
        magv.build(m, None)
    with pytest.raises(ConfigError, match="agree_fraction must be a number from 0 to 1"):
        magv.build(m, TauAirline(), agree_fraction=2)
    with pytest.raises(ConfigError, match="option tools names fly"):
        magv.build(m, TauAirline(), tools="get_user_details,fly")
    assert {s["example"]["domain"] for s in magv.build(m, TauAirline(), limit=3).seeds} == {"airline"}


async def test_the_shipped_local_model_drives_every_role_once(tmp_path, retail):
    """SmolLM2-135M plays investigator, assistant (JSON tool mode) and reverse engineer on one seed, one
    question, one alternate, with two tools and without the policy (a short prompt). A 135M model rarely makes a
    verified trajectory: what is checked is that a real model drives every stage and all of it is journaled."""
    pytest.importorskip("xllamacpp")
    from agentzoo import Journal
    from agentzoo.models.local import model_file
    from agentzoo.models.registry import parse_model

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    local = parse_model("local:smollm2-135m?ctx=4096&max_tokens=96")
    try:
        with Journal(tmp_path / "j.db") as journal:
            pipeline = magv.build(local, retail, limit=1, questions=1, alternates=1, max_steps=2, policy=False,
                                  tools="find_user_id_by_email,get_order_details")
            result = await runner.run(pipeline, "x", journal=journal)
            assert result.ok, result.error
            records = stage_records(journal, result.run_id)
            assert [r.stage for r in records] == ["investigate", "dedup", "answer", "reverse", "alternate", "verify"]
            assert records[0].items_in == 1 and sum(e.kind == "model" for e in journal.entries(result.run_id)) >= 1
            for row in magv.rows(final_items(journal, result.run_id), result.run_id):
                validate_row(row, 0)
    finally:
        close = getattr(local, "aclose", None)
        if close is not None:
            await close()


def test_seed_ids_exist_in_questions_of_the_shipped_seeds():
    for seed in magv.load_seeds():
        ids = magv.identifiers(seed["question"])
        args = json.dumps([c["arguments"] for c in seed["trajectory"]])
        people_and_orders = [i for i in ids if "@" in i or "_" in i or i.startswith("#")]  # not flight numbers
        assert all(i in args for i in people_and_orders), seed["id"]
    assert magv.identifiers(magv.load_seeds()[0]["question"]) == [EMAIL]


@pytest.mark.parametrize("kill_after", [2, 9])
async def test_killed_mid_stage_it_resumes_without_asking_a_finished_call_again(tmp_path, kill_after):
    """Killed in the investigator's stage (2) or inside an assistant's tool-calling run, two tool calls in (9):
    the resumed run asks only the calls the journal does not hold and makes the items of an uninterrupted run."""
    import sys
    from pathlib import Path

    from agentzoo import Journal

    demo = Path(__file__).parent / "mag_v_kill_demo.py"
    sys.path.insert(0, str(demo.parent))
    from mag_v_kill_demo import pipeline
    from synth_crash import killed_run, reference_then_killed

    ref, killed = reference_then_killed(demo, tmp_path, kill_after, timeout=300)
    with Journal(killed) as journal:
        run, recorded = killed_run(journal)
        assert recorded >= kill_after
        m = model()
        resumed = await runner.resume(pipeline(m), run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert len(m.requests) == ref.model_calls - recorded
        assert final_items(journal, run.run_id) == ref.items and len(ref.items) == 1


async def test_the_dataset_loads_with_datasets_and_keeps_tools_and_provenance(journal, retail, tmp_path):
    datasets = pytest.importorskip("datasets")
    from agentzoo.synth.formats import write_dataset

    result = await runner.run(magv.build(model(), retail, limit=2, questions=1, alternates=2), "x", journal=journal)
    rows = magv.rows(final_items(journal, result.run_id), result.run_id)
    files = write_dataset(rows, tmp_path, ["jsonl", "openai"])
    loaded = datasets.load_dataset("json", data_files=str(files["jsonl"]), split="train")
    assert loaded.num_rows == 1 and loaded[0]["provenance"]["run_id"] == result.run_id
    assert loaded[0]["provenance"]["verdict"]["likely_correct"] is True
    openai_row = json.loads(files["openai"].read_text().splitlines()[0])
    assert [m["role"] for m in openai_row["messages"]][:3] == ["system", "user", "assistant"] and openai_row["tools"]
