"""AgentTorch LLM archetypes (#54): one prompt per attribute group per step, broadcast to every member; replay,
resume after SIGKILL, fork at an intervention; the heuristic population beside it; the `populations` scorer;
the harness; the shipped local model."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agentzoo import Journal, ScriptedModel
from agentzoo.envs.populations import Populations, load_scenario, parse_scenario, score_answer
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError, UnexpectedModelBehavior
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.report import load_rows, summarize
from agentzoo.recipes import build_recipe
from agentzoo.recipes.agenttorch import grouping
from agentzoo.recipes.agenttorch.grouping import group_by
from agentzoo.recipes.agenttorch.population import Population, synthesize
from agentzoo.runtime import runner
from agentzoo.runtime.spec import AgentSpec

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from agenttorch_script import AGES, GENDERS, SCENARIO, TASK, decide, expected, fixed, traits  # noqa: E402

sys.path.remove(str(HERE))


def archetypes():
    return ScriptedModel(decide, name="archetypes")


def user_prompts(model, step=None):
    """The last user message of each request the model was asked (of one step: its `week N` line)."""
    prompts = [r.messages[-1]["content"] for r in model.requests]
    return prompts if step is None else [p for p in prompts if f"(week {step + 1})" in p]


def model_entries(journal, run_id):
    return [e for e in journal.entries(run_id) if e.kind == "model"]


# --- the protocol test of PAPERS.md --------------------------------------------------------------------


async def test_1000_agents_in_6_groups_get_6_prompts_a_step_and_each_member_its_groups_value(journal):
    model = archetypes()
    agent = build_recipe("agenttorch", model, n_arch=3)
    result = await runner.run(agent, TASK, journal=journal)
    assert result.ok, result.error
    answer = json.loads(result.answer)
    assert answer["population"] == 1000 and answer["groups"] == 6 and answer["steps"] == 4
    assert len(model.requests) == 4 * 6 * 3  # steps × groups × replicates, nothing else
    for step in range(4):
        prompts = user_prompts(model, step)
        assert len(prompts) == 18 and len(set(prompts)) == 6  # each group's prompt sent once per replicate
        assert {traits(p) for p in prompts} == {(a, g) for a in AGES for g in GENDERS}
    # replicates of a group differ by their request seed (0, 1, 2), so averaging them is observable
    assert sorted({r.seed for r in model.requests}) == [0, 1, 2]
    # every member of a group carries its group's value: computed here from each agent's own attributes
    trace = agent.trace
    population = trace.population
    for step in range(4):
        mean = {(a, g): np.mean([expected(a, g, r, False) for r in range(3)]) for a in AGES for g in GENDERS}
        want = np.array([mean[(population.value_of("age", i), population.value_of("gender", i))]
                         for i in range(population.size)])
        assert np.allclose(trace.values[trace.groups.inverse, step], want)
    assert np.array_equal(trace.behaviour, trace.values[trace.groups.inverse, 3])
    assert np.array_equal(np.bincount(trace.groups.inverse), trace.groups.counts) and trace.groups.counts.sum() == 1000
    listed = {(g["group"]["age"], g["group"]["gender"]): g for g in answer["group_values"]}
    assert listed[("old", "man")]["values"][0] == pytest.approx(0.1 + 0.4 + 0.05 + 0.01)
    # each group's calls live in their own scope: step#k/group#g/arch#r
    scopes = {e.scope for e in model_entries(journal, result.run_id)}
    assert scopes == {f"step#{k}/group#{g}/arch#{r}" for k in range(4) for g in range(6) for r in range(3)}


async def test_prompts_carry_the_groups_traits_the_news_of_its_ward_or_city_and_the_json_contract():
    model = archetypes()
    await runner.run(build_recipe("agenttorch", model, n_arch=1, steps=2), TASK)
    first = model.requests[0]
    assert first.response_format["json_schema"]["schema"]["required"] == ["stay_home_probability"]
    assert "Testville" in first.messages[0]["content"] and "stay_home_probability" in first.messages[0]["content"]
    week1 = user_prompts(model, 0)
    assert all("News for Testville:" in p and "new cases per 100,000" in p for p in week1)
    assert all("week before" not in p for p in week1)  # no change to report before the first week
    assert all("week before" in p for p in user_prompts(model, 1))
    # with the ward in the template, a group hears its own ward's figures
    model = ScriptedModel(fixed)
    await runner.run(build_recipe("agenttorch", model, n_arch=1, steps=1, template="age,ward"), TASK)
    assert sorted({p.split("News for ")[1].split(":")[0] for p in user_prompts(model)}) == [
        "North, Testville", "South, Testville"]
    assert len(model.requests) == 6


async def test_with_history_each_group_and_replicate_sees_its_own_last_exchanges():
    model = archetypes()
    await runner.run(build_recipe("agenttorch", model, n_arch=2, history=1, steps=3, concurrency=1), TASK)
    by_step = [[r for r in model.requests if f"(week {k + 1})" in r.messages[-1]["content"]] for k in range(3)]
    assert [len(r.messages) for r in by_step[0]] == [2] * 12
    for earlier, later in ((by_step[0], by_step[1]), (by_step[1], by_step[2])):
        for before, after in zip(earlier, later, strict=True):  # same group and replicate, in program order
            assert after.messages[1:3] == [before.messages[-1], {"role": "assistant", "content": decide(before)}]
            assert len(after.messages) == 4 and after.seed == before.seed


def test_grouping_counts_densely_or_by_sorting_and_broadcasts_by_index(monkeypatch):
    scenario = parse_scenario(SCENARIO, "test")
    population = synthesize(scenario, 5000, np.random.default_rng(3))
    dense = group_by(population, ("gender", "age", "ward"))
    monkeypatch.setattr(grouping, "DENSE_KEYS", 0)
    sorted_ = group_by(population, ("gender", "age", "ward"))
    assert len(dense) == 12 and np.array_equal(dense.inverse, sorted_.inverse)
    assert np.array_equal(dense.codes, sorted_.codes) and np.array_equal(dense.counts, sorted_.counts)
    values = np.arange(12) / 10
    spread = dense.broadcast(values)
    for i in (0, 17, 4999):
        row = dense.codes[dense.inverse[i]]
        assert [population.codes[name][i] for name in dense.template] == list(row)
        assert spread[i] == values[dense.inverse[i]]
    # only the combinations present are groups
    one = Population.of(population.attributes, {**population.codes, "age": np.zeros(5000, dtype=np.int8)})
    assert len(group_by(one, ("age", "gender"))) == 2
    with pytest.raises(ConfigError, match="distinct attributes"):
        group_by(population, ("age", "age"))


# --- replay, resume, fork --------------------------------------------------------------------------------


@pytest.mark.parametrize("heuristic", [False, True], ids=["llm", "heuristic"])
async def test_replay_gives_the_same_answer_byte_for_byte_with_no_model_call(journal, heuristic):
    result = await runner.run(build_recipe("agenttorch", archetypes(), n_arch=2, heuristic=heuristic), TASK,
                              journal=journal)
    assert result.ok
    again_model = ScriptedModel([], name="archetypes")
    again = await runner.replay(build_recipe("agenttorch", again_model, n_arch=2, heuristic=heuristic),
                                result.run_id, journal=journal)
    assert again.answer == result.answer and again_model.calls == 0 and again.live_effects == 0
    kinds = {e.kind for e in journal.entries(result.run_id)}
    assert kinds == ({"random", "env", "clock"} | (set() if heuristic else {"model"}))
    # a run is its seed: another run draws another population
    other = await runner.run(build_recipe("agenttorch", archetypes(), n_arch=2, heuristic=heuristic), TASK)
    assert json.loads(other.answer)["curves"] != json.loads(result.answer)["curves"]


@pytest.mark.parametrize("kill_after", [5, 30])
async def test_a_run_killed_mid_simulation_resumes_repeating_no_finished_call(tmp_path, kill_after):
    journal_path = tmp_path / "j.db"
    out = subprocess.run([sys.executable, HERE / "agenttorch_crash.py", journal_path, str(kill_after)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == -signal.SIGKILL, out.stderr
    sys.path.insert(0, str(HERE))
    try:
        from agenttorch_crash import agent
    finally:
        sys.path.remove(str(HERE))
    with Journal(journal_path) as journal:
        [run] = journal.list_runs()
        done = [e for e in model_entries(journal, run.run_id) if e.status == "ok"]
        assert kill_after <= len(done) < 48
        # the killed run's own continuation, for reference: a fork that changes nothing serves the recorded prefix
        # (its seed too) up to the first call the killed run had not finished, and makes the rest
        whole = ScriptedModel(decide, name="archetypes")
        reference = await runner.fork(agent(whole), run.run_id, journal=journal)
        assert reference.ok and reference.fork_point["differences"] == ["the parent has no entry here"]
        resumer = ScriptedModel(decide, name="archetypes")
        resumed = await runner.resume(agent(resumer), run.run_id, journal=journal)
        assert resumed.ok and resumed.answer == reference.answer
        assert resumer.calls == 48 - len(done)  # every finished call served, the rest made once
        entries = model_entries(journal, run.run_id)
        assert len(entries) == 48 and {(e.scope, e.seq) for e in done} <= {(e.scope, e.seq) for e in entries}


async def test_a_fork_with_a_lockdown_at_step_2_serves_steps_0_and_1_and_diverges_at_step_2(journal):
    parent = await runner.run(build_recipe("agenttorch", archetypes(), n_arch=2), TASK, journal=journal)
    forker = archetypes()
    fork = await runner.fork(build_recipe("agenttorch", forker, n_arch=2, intervention="lockdown@2"), parent.run_id,
                             journal=journal)
    assert fork.ok and fork.fork_point["scope"].startswith("step#2/group#") and fork.fork_point["seq"] == 0
    assert all("(week 3)" in p or "(week 4)" in p for p in user_prompts(forker))  # only steps 2 and 3 asked
    assert len(forker.requests) == 2 * 6 * 2 and all("Everyone must stay home." in p for p in user_prompts(forker))
    before, after = json.loads(parent.answer), json.loads(fork.answer)
    assert after["intervention"] == {"name": "lockdown", "step": 2}
    for curve in ("cases_per_100k", "behaviour_mean"):
        assert after["curves"][curve][:2] == before["curves"][curve][:2]
    assert after["curves"]["behaviour_mean"][2] == pytest.approx(before["curves"]["behaviour_mean"][2] + 0.3)
    # a heuristic population has no prompt to change: its fork diverges at step 2's record
    parent = await runner.run(build_recipe("agenttorch", archetypes(), heuristic=True), TASK, journal=journal)
    fork = await runner.fork(build_recipe("agenttorch", archetypes(), heuristic=True, intervention="lockdown@2"),
                             parent.run_id, journal=journal)
    assert (fork.fork_point["scope"], fork.fork_point["seq"]) == ("step#2", 0)  # the record, before the clock
    assert '$.intervention: recorded null, now "lockdown"' in fork.fork_point["differences"]
    assert json.loads(fork.answer)["curves"]["behaviour_mean"][2] > json.loads(parent.answer)["curves"][
        "behaviour_mean"][2]


# --- heuristic against LLM archetypes ----------------------------------------------------------------------


async def test_heuristic_and_llm_runs_give_records_of_one_shape_scored_alike(journal):
    llm = await runner.run(build_recipe("agenttorch", archetypes(), n_arch=2), TASK, journal=journal)
    rule = await runner.run(build_recipe("agenttorch", archetypes(), heuristic=True), TASK, journal=journal)
    a, b = json.loads(llm.answer), json.loads(rule.answer)
    assert set(a) == set(b) and set(a["curves"]) == set(b["curves"]) and a["steps"] == b["steps"] == 4
    assert (a["mode"], a["model_calls"], b["mode"], b["model_calls"]) == ("llm-archetypes", 48, "heuristic", 0)
    assert not model_entries(journal, rule.run_id)
    # the heuristic is the scenario's fixed rule per group, the same every step before an intervention
    rule_values = {(g["group"]["age"], g["group"]["gender"]): g["values"] for g in b["group_values"]}
    assert rule_values[("old", "woman")] == [pytest.approx(0.65)] * 4
    assert rule_values[("young", "man")] == [pytest.approx(0.2)] * 4
    scenario = load_scenario(TASK)
    for record in (llm.answer, rule.answer):
        score = score_answer(scenario, record)
        assert score.details["simulated_hours"] == 4 * 7 * 24 and score.details["compared_steps"] == 4
        assert score.details["curve"] == json.loads(record)["curves"]["cases_per_100k"]
        assert 0 < score.reward <= 1 and "peak" in score.details["summary"]["cases_per_100k"]


async def test_the_labour_market_runs_on_willingness_and_reports_unemployment():
    def willing(request):
        return json.dumps({"work_probability": 0.3 if "65 and over" in request.messages[-1]["content"] else 0.8})

    model = ScriptedModel(willing)
    result = await runner.run(build_recipe("agenttorch", model, n_arch=1, population=3000, steps=5,
                                           template="age_group"), "riverton-labour")
    answer = json.loads(result.answer)
    assert result.ok and answer["dynamics"] == "labour" and answer["groups"] == 4 and len(model.requests) == 20
    assert "last month" in model.requests[-1].messages[-1]["content"]
    rates = answer["curves"]["unemployment_rate"]
    # the scenario's fourth month cuts the jobs: about 2.1x the third month's rate at this size, 1.87 the lowest of 20
    # seeds (the run's seed is fresh each time), so 1.5 separates the cut from sampling noise
    assert rates[3] > 1.5 * rates[2]
    assert answer["simulated_hours"] == 5 * 28 * 24
    # more willingness than jobs is unemployment: everyone wanting work raises the rate
    keen = await runner.run(build_recipe("agenttorch", ScriptedModel(lambda r: '{"work_probability": 1}'), n_arch=1,
                                         population=3000, steps=5, template="age_group"), "riverton-labour")
    assert json.loads(keen.answer)["curves"]["unemployment_rate"][2] > rates[2] + 10


# --- replies, options, scenarios ----------------------------------------------------------------------------


async def test_a_bad_reply_is_shown_back_then_a_second_one_is_a_typed_error_naming_it():
    seen = []

    def prose_once(request):
        seen.append(request)
        if len(request.messages) == 2 and len(seen) == 1:
            return "I would say about 40 percent."
        return decide(request)

    model = ScriptedModel(prose_once)
    result = await runner.run(build_recipe("agenttorch", model, n_arch=1, steps=1, concurrency=1), TASK)
    assert result.ok and len(model.requests) == 7
    retry = model.requests[1].messages
    assert retry[-2] == {"role": "assistant", "content": "I would say about 40 percent."}
    assert "I would say about 40 percent." in retry[-1]["content"] and "stay_home_probability" in retry[-1]["content"]
    bad = ScriptedModel(lambda r: '{"stay_home_probability": 1.7}')
    failed = await runner.run(build_recipe("agenttorch", bad, n_arch=1, steps=1, retries=1), TASK)
    assert not failed.ok and failed.error["type"] == "UnexpectedModelBehavior"
    assert "step 0, group 0 (young, woman), archetype 0" in failed.error["message"]
    assert "1.7" in failed.error["message"] and len(bad.requests) >= 2


@pytest.mark.parametrize("options, message", [
    ({"intervention": "curfew"}, "intervention 'curfew' is not one of scenario 'test-town'"),
    ({"intervention": "lockdown@9"}, "step after '@' must be a whole number from 0 to 3"),
    ({"template": "age,shoe_size"}, "'shoe_size', not an attribute"),
    ({"dynamics": "labour"}, "is a epidemic scenario"),
])
async def test_options_that_do_not_fit_the_scenario_are_named(options, message):
    result = await runner.run(build_recipe("agenttorch", archetypes(), **options), TASK)
    assert not result.ok and result.error["type"] == "ConfigError" and message in result.error["message"]


def test_build_refuses_bad_numbers():
    for options, message in (({"n_arch": 0}, "n_arch must be at least 1"), ({"population": 0}, "population"),
                             ({"template": "age,age"}, "distinct")):
        with pytest.raises(ConfigError, match=message):
            build_recipe("agenttorch", archetypes(), **options)


def broken(**changes):
    data = json.loads(TASK)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return data


@pytest.mark.parametrize("data, message", [
    (broken(dynamics="weather"), "dynamics must be one of epidemic, labour"),
    (broken(attributes__age__shares=[0.5, 0.5, 0.5]), "attributes.age.shares must sum to 1"),
    (broken(template=["age", "height"]), "template names 'height'"),
    (broken(parameters__r0=-1), "parameters.r0 must be a number in (0, 20]"),
    (broken(heuristic__shift={"age": {"ancient": 0.1}}), "heuristic.shift.age.ancient is not one of age's values"),
    (broken(reference__series=[1, 2]), "reference.series must be 4 numbers"),
    (broken(reference__measure="unemployment_rate"), "is scored on 'cases_per_100k'"),
    (broken(interventions__lockdown__step=4), "interventions.lockdown.step must be before"),
    (broken(colour="blue"), "colour is not a known field"),
])
def test_a_bad_scenario_is_a_config_error_naming_the_field(data, message):
    with pytest.raises(ConfigError) as error:
        parse_scenario(data, "towns.json")
    assert str(error.value).startswith("scenario towns.json: ") and message in str(error.value)


def test_a_bad_scenario_file_is_named_and_the_shipped_ones_load(tmp_path):
    path = tmp_path / "towns.json"
    path.write_text(json.dumps([SCENARIO, broken(steps=0)]))
    with pytest.raises(ConfigError, match=r"towns.json\[1\]: steps must be a whole number ≥ 1"):
        Populations(path).tasks()
    path.write_text(json.dumps([SCENARIO]))
    [task] = Populations(path).tasks()
    assert task.id == "populations/test-town" and load_scenario(task.prompt).name == "test-town"
    env = get_env("populations")
    assert env.answer_kind == "simulation"
    assert [t.prompt for t in env.tasks()] == ["riverton-epidemic", "riverton-labour"]
    for task in env.tasks():
        scenario = load_scenario(task.prompt)
        assert len(scenario.reference.series) == scenario.steps
    with pytest.raises(ConfigError, match="unknown population scenario 'atlantis'"):
        load_scenario("atlantis")


def test_the_measure_is_the_normalised_rms_error_against_the_reference():
    scenario = load_scenario(TASK)
    on = json.dumps({"scenario": "test-town", "simulated_hours": 672.0,
                     "curves": {"cases_per_100k": [1000, 1500, 1500, 1000]}})
    twice = json.dumps({"scenario": "test-town", "simulated_hours": 672.0,
                        "curves": {"cases_per_100k": [2000, 3000, 3000, 2000]}})
    assert (score_answer(scenario, on).reward, score_answer(scenario, on).success) == (1.0, True)
    doubled = score_answer(scenario, twice)  # off by the reference itself: its RMS over its mean
    assert doubled.details["nrmse"] == pytest.approx(np.sqrt((1000**2 + 2 * 1500**2 + 1000**2) / 4) / 1250, abs=1e-6)
    assert doubled.reward == pytest.approx(0.5 / doubled.details["nrmse"]) and not doubled.success  # tolerance 0.5
    near = json.dumps({"scenario": "test-town", "simulated_hours": 672.0,
                       "curves": {"cases_per_100k": [1400, 1500, 1500, 1000]}})
    assert (score_answer(scenario, near).reward, score_answer(scenario, near).success) == (1.0, True)  # within
    for answer, problem in ((None, "no answer"), ("the wave peaked", "not JSON"),
                            ('{"scenario": "elsewhere"}', "not 'test-town'")):
        score = score_answer(scenario, answer)
        assert score.reward == 0 and problem in score.details["error"] and score.details["simulated_hours"] == 0.0


# --- the harness and the local model --------------------------------------------------------------------


async def test_the_harness_scores_llm_archetypes_beside_a_heuristic_population_per_simulated_hour(tmp_path):
    env = Populations()
    task = next(t for t in env.tasks() if t.prompt == "riverton-epidemic")
    small = {"population": 2000, "steps": 3, "template": ["age_group"]}
    model = f"scripted:{HERE / 'agenttorch_script.py'}:fixed"
    agents = {"archetypes": AgentSpec(agent="agenttorch", model=model, options={**small, "n_arch": 2}),
              "heuristic": AgentSpec(agent="agenttorch", model=model, options={**small, "heuristic": True})}
    samples = [Sample("populations", task, label, model, 0) for label in agents]
    progress = await run_eval(samples, {"populations": env}, EvalConfig(out=tmp_path, concurrency=2, agents=agents))
    rows, meta = load_rows(tmp_path)
    assert progress.done == 2 and all(r["status"] == "finished" for r in rows), [r["error"] for r in rows]
    by = {r["agent"]: r for r in rows}
    assert by["archetypes"]["model_calls"] == 4 * 2 * 3 and by["heuristic"]["model_calls"] == 0
    for row in rows:
        assert row["score"]["simulated_hours"] == 3 * 7 * 24 and row["score"]["compared_steps"] == 3
    summary = summarize(rows, meta)
    group = next(g for g in summary["groups"] if g["agent"] == "archetypes")
    assert group["simulation"]["model_calls_per_hour"] == pytest.approx(24 / (3 * 7 * 24))
    # the harness's runs replay from its journal with no model call
    with Journal(tmp_path / "journal.db") as journal:
        replayer = ScriptedModel([], name=by["archetypes"]["model"].split(":")[-1])
        again = await runner.replay(build_recipe("agenttorch", replayer, sampling={"seed": 0}, n_arch=2, **small),
                                    by["archetypes"]["run_id"], journal=journal)
        assert again.answer == by["archetypes"]["answer"] and replayer.calls == 0


async def test_the_shipped_local_model_decides_for_two_groups(journal):
    """SmolLM2-135M behind llama.cpp, its reply held to the JSON schema: 2 groups × 2 steps."""
    pytest.importorskip("xllamacpp")
    from agentzoo.models.local import model_file
    from agentzoo.models.registry import parse_model

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    local = parse_model("local:smollm2-135m?ctx=2048")
    try:
        result = await runner.run(build_recipe("agenttorch", local, n_arch=1, population=500, steps=2,
                                               template="gender", concurrency=1), "riverton-epidemic",
                                  journal=journal)
    finally:
        await local.aclose()
    assert result.ok, result.error
    answer = json.loads(result.answer)
    assert answer["model_calls"] >= 4 and len(model_entries(journal, result.run_id)) == answer["model_calls"]
    values = [v for g in answer["group_values"] for v in g["values"]]
    assert len(values) == 4 and all(0 <= v <= 1 for v in values)


def test_unknown_replies_never_reach_the_world():
    """The reply reader is strict: the one field, a number, from 0 to 1 (no prose, no other keys)."""
    from agentzoo.errors import FormatError
    from agentzoo.recipes.agenttorch.asking import read_probability

    assert read_probability('{"p": 0.25}', "p") == 0.25
    assert read_probability('```json\n{"p": 1}\n```', "p") == 1.0
    for reply, problem in (('{"p": "0.3"}', "must be a number"), ('{"p": 0.3, "why": "x"}', "exactly one field"),
                           ('{"p": -0.1}', "from 0 to 1"), ("p = 0.3", "no JSON object"),
                           ('I think {"p": 0.3}', "no JSON object"), ('{"p": true}', "must be a number")):
        with pytest.raises(FormatError, match=problem):
            read_probability(reply, "p")
    assert issubclass(FormatError, UnexpectedModelBehavior)
