"""MALT (#52): generator → verifier → refiner trees, leaves graded by GSM8K's scorer, value iteration, SFT and
preference rows per role. The scripted model answers each node by its place in the tree (read from the request's
seed), so a test decides every leaf's grade."""

from __future__ import annotations

import json

import pytest

from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.models.roles import RoleModels
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.runtime.budgets import Budget
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.rows import validate_rows
from agentzoo.synth.pipelines.malt import _request_seed, build, rows, tree

# Leaf grades per (generation, critique): g0's critiques score [1,0,0], [1,1,0], [0,0,0]; g1 all right; g2 all wrong.
GRADES = {(0, 0): [1, 0, 0], (0, 1): [1, 1, 0], (0, 2): [0, 0, 0]}
GRADES.update({(1, j): [1, 1, 1] for j in range(3)})
GRADES.update({(2, j): [0, 0, 0] for j in range(3)})


def node_ids(n=3, m=3, l=3):
    for i in range(n):
        yield f"g{i}"
        for j in range(m):
            yield f"g{i}.v{j}"
            for k in range(l):
                yield f"g{i}.v{j}.r{k}"


def tree_model(gold: dict[str, str], seed: int = 0, name: str = "scripted") -> ScriptedModel:
    return ScriptedModel(tree_reply(gold, seed), name=name)


def tree_reply(gold: dict[str, str], seed: int = 0):
    """Replies named after the node; a refinement ends in the gold number or a wrong one as GRADES says."""
    by_seed = {_request_seed(seed, node): node for node in node_ids()}

    def reply(request):
        node = by_seed[request.seed]
        if ".r" not in node:
            return f"reply of {node}"
        i, j, k = (int(p[1:]) for p in node.split("."))
        task = next(t for t in gold if t in request.messages[0]["content"])
        return f"refined {node}\n#### {gold[task] if GRADES[(i, j)][k] else '-1'}"
    return reply


def golds(env, pipeline):
    by_id = {t.id: t for t in env.tasks()}
    return {by_id[s["task_id"]].prompt: by_id[s["task_id"]].gold for s in pipeline.seeds}


async def run_one(journal, limit=1, **options):
    env = GSM8K()
    probe = build(ScriptedModel(["x"]), env, limit=limit, **options)
    model = tree_model(golds(env, probe))
    result = await runner.run(build(model, env, limit=limit, **options), "malt", journal=journal)
    assert result.ok, result.error
    return result, model


def test_value_iteration_on_papers_protocol_example():
    """PAPERS.md #52: leaf grades [1,0,0] under a critique give it 0.33 (< 0.5: negative); it is paired with a
    sibling critique scoring ≥ 0.5."""
    nodes = [{"id": "g0", "parent": None, "role": "generator"}]
    for j, grades in enumerate([[1, 0, 0], [1, 1, 0], [0, 0, 0]]):
        nodes.append({"id": f"g0.v{j}", "parent": "g0", "role": "verifier"})
        nodes += [{"id": f"g0.v{j}.r{k}", "parent": f"g0.v{j}", "role": "refiner", "grade": g}
                  for k, g in enumerate(grades)]
    valued = {n["id"]: n for n in tree.assign_values(nodes, 0.5)}
    assert valued["g0.v0"]["value"] == pytest.approx(1 / 3) and valued["g0.v0"]["positive"] is False
    assert valued["g0.v1"]["value"] == pytest.approx(2 / 3) and valued["g0.v1"]["positive"] is True
    assert valued["g0"]["value"] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    pairs = {(c["id"], r["id"]) for c, r in tree.pairs(list(valued.values()))}
    assert ("g0.v1", "g0.v0") in pairs and ("g0.v1", "g0.v2") in pairs
    assert all(valued[c]["value"] >= 0.5 > valued[r]["value"] for c, r in pairs)


async def test_a_full_tree_grades_27_leaves_and_makes_the_protocols_rows(journal):
    result, model = await run_one(journal)
    assert len(model.requests) == 3 + 9 + 27
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    [expanded] = records["expand"].items
    assert len([n for n in expanded["nodes"] if "grade" in n]) == 27
    assert sum(n["grade"] for n in expanded["nodes"] if "grade" in n) == 1 + 2 + 9
    grades = [e for e in journal.entries(result.run_id) if e.kind == "synth" and e.name == "grade"]
    assert len(grades) == 27 and all(e.scope.rsplit("/", 1)[1].startswith("refiner#") for e in grades)

    dataset = rows(final_items(journal, result.run_id), result.run_id)
    assert validate_rows(dataset) == dataset
    pref = {(r["provenance"]["role"], r["provenance"]["chosen_node"], r["provenance"]["rejected_node"]): r
            for r in dataset if r["kind"] == "preference"}
    critique = pref[("verifier", "g0.v1", "g0.v0")]["provenance"]  # the protocol's 0.33 critique and its 0.67 sibling
    assert critique["rejected_value"] == pytest.approx(1 / 3) and critique["chosen_value"] == pytest.approx(2 / 3)
    critique = pref[("verifier", "g0.v1", "g0.v0")]
    assert critique["chosen"] == [{"role": "assistant", "content": "reply of g0.v1"}]
    assert ("generator", "g1", "g0") in pref and ("generator", "g1", "g2") in pref
    assert ("refiner", "g0.v0.r0", "g0.v0.r1") in pref and not any(k[1].startswith("g2") for k in pref)
    sft = {(r["provenance"]["role"], r["provenance"]["node"]) for r in dataset if r["kind"] == "sft"}
    assert ("verifier", "g0.v1") in sft and ("verifier", "g0.v0") not in sft and ("generator", "g1") in sft
    assert {role for role, _ in sft} == {"generator", "verifier", "refiner"}
    # positives: g1; g0.v1 and g1's 3 critiques; 1 + 2 + 9 right refinements
    assert len(sft) == 1 + 4 + 12


async def test_every_row_points_at_the_model_call_that_wrote_it(journal):
    result, _ = await run_one(journal)
    calls = {e.scope: e for e in journal.entries(result.run_id) if e.kind == "model"}
    for row in rows(final_items(journal, result.run_id), result.run_id):
        prov = row["provenance"]
        assert prov["pipeline"] == "malt" and prov["run_id"] == result.run_id
        assert prov["stages"] == ["expand", "credit", "examples"]
        if row["kind"] == "sft":
            scopes = [(prov["scope"], row["messages"][-1]["content"])]
            assert calls[prov["scope"]].request["messages"][-1] == row["messages"][0]
        else:
            scopes = [(prov["scope"], row["chosen"][0]["content"]),
                      (prov["rejected_scope"], row["rejected"][0]["content"])]
        for scope, text in scopes:
            assert scope.startswith(prov["scopes"][0] + "/")  # under the question's expand scope
            assert scope.rsplit("/", 1)[1].partition("#")[0] == prov["role"]
            assert calls[scope].result["message"]["content"] == text


async def test_a_replay_asks_no_model_and_grades_nothing_again(journal):
    first, _ = await run_one(journal)
    env = GSM8K()
    silent = ScriptedModel(lambda r: pytest.fail("a replay called the model"))
    again = build(silent, env, limit=1)
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and silent.requests == []
    assert again.records[-1].items == final_items(journal, first.run_id)


async def test_each_role_is_served_by_its_own_model_in_a_spec(journal):
    env = GSM8K()
    gold = golds(env, build(ScriptedModel(["x"]), env, limit=1))
    models = {r: tree_model(gold, name=r) for r in ("generator", "verifier", "refiner")}
    role_models = RoleModels(ScriptedModel(lambda r: pytest.fail("the default model was asked")), models)
    result = await runner.run(build(role_models, env, limit=1), "malt", journal=journal)
    assert result.ok, result.error
    assert [len(models[r].requests) for r in ("generator", "verifier", "refiner")] == [3, 9, 27]
    assert all("# Critique" in q.messages[0]["content"] for q in models["refiner"].requests)


async def test_a_question_with_every_leaf_wrong_makes_no_row_and_says_why(journal):
    env = GSM8K()
    model = ScriptedModel(lambda r: "#### -123456")
    result = await runner.run(build(model, env, limit=2, generations=2, critiques=1, refinements=2), "malt",
                              journal=journal)
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["expand"].items_out == 2 and len(model.requests) == 2 * (2 + 2 + 4)
    assert records["examples"].items_out == 0 and records["examples"].dropped == {"no positive node": 2}


async def test_a_budget_cut_question_is_dropped_and_the_run_still_ends(journal):
    env = GSM8K()
    result = await runner.run(build(ScriptedModel(lambda r: "#### 1"), env, limit=2, concurrency=1), "malt",
                              journal=journal, budgets=Budget(model_calls=50))
    assert result.ok, result.error
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["expand"].items_out == 1 and records["expand"].dropped == {"budget": 1}
    assert [r.stage for r in stage_records(journal, result.run_id)] == ["expand", "credit", "examples"]


def test_bad_settings_are_refused_by_name():
    env = GSM8K()
    with pytest.raises(ConfigError, match="unknown option.*depth"):
        build(ScriptedModel(["x"]), env, depth=2)
    with pytest.raises(ConfigError, match="critiques"):
        build(ScriptedModel(["x"]), env, critiques=0)
    assert build(ScriptedModel(["x"]), env, critiques="2").meta["options"]["critiques"] == 2  # --opt text
    with pytest.raises(ConfigError, match="threshold"):
        build(ScriptedModel(["x"]), env, threshold=2)
    with pytest.raises(ConfigError, match="gsm8k, mbpp, humaneval"):
        build(ScriptedModel(["x"]), None)


def test_the_registry_serves_it_with_its_sources():
    module = get_pipeline("malt")
    assert set(module.OPTIONS) == set(module.OPTION_SOURCES) and module.DEVIATIONS
    assert module.OPTIONS["generations"] * module.OPTIONS["critiques"] * module.OPTIONS["refinements"] == 27


async def test_with_the_shipped_local_model(journal):
    """The mechanics with SmolLM2-135M: a small tree is expanded, graded and valued; a 135M model is rarely right,
    so rows may be none."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model
    model = parse_model("local:smollm2-135m?max_tokens=32")
    try:
        pipeline = build(model, GSM8K(), limit=1, generations=1, critiques=1, refinements=2, max_tokens=32)
        result = await runner.run(pipeline, "malt", journal=journal)
    finally:
        await model.aclose()
    assert result.ok, result.error
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["expand"].items_out == 1 and len(records["expand"].items[0]["nodes"]) == 1 + 1 + 2
    assert sum(e.kind == "model" for e in journal.entries(result.run_id)) == 4
    assert records["examples"].items_in == 1
    made = rows(final_items(journal, result.run_id), result.run_id)
    assert validate_rows(made) == made and all(r["provenance"]["run_id"] == result.run_id for r in made)


async def test_code_leaves_are_graded_by_running_the_benchmarks_tests(journal):
    from agentzoo.envs.code import MBPP
    env = MBPP()
    task = {t.id: t for t in env.tasks()}[build(ScriptedModel(["x"]), env, limit=1).seeds[0]["task_id"]]
    model = ScriptedModel(lambda r: f"```python\n{task.gold}\n```" if "# Critique" in r.messages[0]["content"]
                          else "```python\ndef nothing():\n    pass\n```")
    result = await runner.run(build(model, env, limit=1, generations=1, critiques=1, refinements=2), "malt",
                              journal=journal)
    assert result.ok, result.error
    [graded] = stage_records(journal, result.run_id)[1].items
    assert [n["grade"] for n in graded["nodes"] if "grade" in n] == [1, 1]
    assert {n["id"]: n["positive"] for n in graded["nodes"]} == {"g0": True, "g0.v0": True, "g0.v0.r0": True,
                                                                 "g0.v0.r1": True}


async def test_the_rows_load_as_datasets_and_gsm8k_test_questions_are_caught(journal, tmp_path):
    """The rows are trainer files (`datasets` loads them); and since the shipped GSM8K tasks are its test set, the
    decontamination of `agentzoo synth` catches every row made from them (use a train split for real data)."""
    datasets = pytest.importorskip("datasets")
    from agentzoo.synth.decontam import decontaminate
    from agentzoo.synth.formats import write_dataset
    result, _ = await run_one(journal)
    dataset = rows(final_items(journal, result.run_id), result.run_id)
    files = write_dataset(dataset, tmp_path, ["jsonl", "dpo", "hf"])
    loaded = datasets.load_dataset("json", data_files=str(files["jsonl"]), split="train")
    assert len(loaded) == len(dataset)
    pairs = datasets.load_dataset("json", data_files=str(files["dpo"]), split="train")
    assert len(pairs) == sum(r["kind"] == "preference" for r in dataset)
    kept, report = decontaminate(dataset, benchmarks=["gsm8k"])
    assert kept == []


async def test_a_run_that_died_mid_tree_resumes_without_asking_a_finished_call_again(journal):
    env = GSM8K()
    gold = golds(env, build(ScriptedModel(["x"]), env, limit=2))
    whole = tree_reply(gold)
    asked = 0

    class Died(BaseException):
        """The process stops here, as under a kill: nothing catches it."""

    def dies_after_50(request):
        nonlocal asked
        asked += 1
        if asked > 50:
            raise Died()
        return whole(request)
    broken = ScriptedModel(dies_after_50)
    with pytest.raises(Died):
        await runner.run(build(broken, env, limit=2, concurrency=1), "malt", journal=journal)
    [info] = journal.list_runs()
    recorded = sum(e.kind == "model" and e.status == "ok" for e in journal.entries(info.run_id))
    assert recorded == 50
    fresh = tree_model(gold)
    resumed = await runner.resume(build(fresh, env, limit=2, concurrency=1), info.run_id, journal=journal)
    assert resumed.ok, resumed.error
    assert len(fresh.requests) == 2 * 39 - 50
    assert len(rows(final_items(journal, info.run_id), info.run_id)) > 0


async def test_a_tasks_file_of_our_own_makes_rows_decontamination_keeps(journal, tmp_path):
    from agentzoo.synth.decontam import decontaminate
    own = tmp_path / "train.jsonl"
    own.write_text(json.dumps({"question": "A jar holds 7 red marbles and twice as many blue ones. How many marbles "
                                           "are in the jar?", "answer": "7 + 14 = 21\n#### 21"}) + "\n")
    model = ScriptedModel(lambda r: "7 red and 14 blue make 21.\n#### 21")
    result = await runner.run(build(model, GSM8K(), limit=3, generations=2, critiques=1, refinements=1,
                                    tasks=str(own)), "malt", journal=journal)
    dataset = rows(final_items(journal, result.run_id), result.run_id)
    assert len(model.requests) == 2 * 3 and len(dataset) == 2 * 3  # one question; every node right
    assert {r["provenance"]["task_id"] for r in dataset} == {"gsm8k/0"}
    kept, _ = decontaminate(dataset, benchmarks=["gsm8k"])
    assert kept == dataset
