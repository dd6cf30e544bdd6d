"""Cogni-CISMeF (`cogni-cismef`, PAPERS.md #7): the query-refinement dialogue over catalogue-search.

The protocol test of PAPERS.md: when the user's query returns no result, the agent proposes a reformulation or
choices (or help with examples), never an empty answer. Then the tracker's state after a scripted dialogue with a
refused relaxation, the rules alone finding the targets with no model call, the model option (readings played by
the oracle player, an unreadable reading repaired), replay with no model call, resume after SIGKILL repeating no
call, the harness (rules preset and oracle), and one reading by the shipped local model.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import cogni_cismef_crash as crash

from agentzoo import Journal
from agentzoo.envs import stepping
from agentzoo.envs.base import ScoringContext
from agentzoo.envs.catalogue_search import CatalogueSearch
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.cogni_cismef import build, parse_reading, read_rules
from agentzoo.runtime import runner

HERE = Path(__file__).parent
ENV = CatalogueSearch()
TASKS = {t.id: t for t in ENV.tasks()}
NO_MODEL = ScriptedModel([])  # the rules never ask it


async def run_rules(env, task, **options):
    episode = env.episode(task)
    agent = build(NO_MODEL, episode=episode, understanding="rules", **options)
    result = await runner.run(agent, episode.prompt)
    assert result.ok, result.error
    return agent, await env.score(episode, result.answer, ScoringContext())


def rows(out) -> list[dict]:
    store = ResultStore(out / "results.db")
    try:
        return sorted(store.rows(), key=lambda r: (r["agent"], r["task"]))
    finally:
        store.close()


# --- the protocol test ------------------------------------------------------------------------------------------


def acts_after_empty_results(acts: list[dict]) -> list[str]:
    """The agent's dialogue act after each query the user's words stood for that found nothing (the relaxations
    the agent tries before proposing one are not the user's query)."""
    after, last_count, first_search = [], None, True
    for act in acts:
        if act["by"] == "user":
            first_search = True
        elif act["act"] == "search":
            if first_search:
                last_count, first_search = act["count"], False
        elif act["act"] != "search":
            if last_count == 0:
                after.append(act["act"])
            last_count = None
    return after


async def test_a_query_with_no_result_gets_a_reformulation_or_choices_never_an_empty_answer():
    answered = []
    for task in TASKS.values():
        _, score = await run_rules(ENV, task)
        after = acts_after_empty_results(score.details["acts"])
        answered += after
        assert set(after) <= {"reformulate", "propose", "help"}, (task.id, after)
        assert score.details["empty_answers"] == 0
    # the over-specific needs get relaxations, the unknown words get help with examples
    assert answered.count("reformulate") == 4 and answered.count("help") == 3


async def test_with_nothing_to_relax_and_no_broader_term_the_agent_still_asks_rather_than_answers_empty(tmp_path):
    """A need with a year nothing in the catalogue reaches: the agent proposes to relax the year; refused (the
    user insists), and no broader term giving anything, it asks; never shows nothing."""
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [{
        "id": "top/recent", "kind": "over-specific", "target": ["R067"],
        "need": {"topic": "osteoporosis", "since": "2030"}, "stated": ["since"],
        "opening": "Something on bones and joints from 2030 on."}]}))
    env = CatalogueSearch(tasks, max_turns=3)
    _, score = await run_rules(env, env.tasks()[0])
    agent_acts = [a["act"] for a in score.details["acts"] if a["by"] == "agent" and a["act"] != "search"]
    assert agent_acts == ["reformulate", "ask", "ask"] and score.details["empty_answers"] == 0
    assert not score.success and score.details["acts"][-1]["text"].endswith("I will stop here.")


# --- the tracker --------------------------------------------------------------------------------------------------


async def test_the_tracker_after_a_refused_relaxation_then_an_accepted_one(tmp_path):
    """The user said prevention (which no French patient resource has), French and patients; the agent relaxes
    the latest said that gives results (French: refused, the user needs French), then prevention (accepted)."""
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [{
        "id": "refuse/relax", "kind": "over-specific", "target": ["R001"],
        "need": {"topic": "hypertension", "audience": "patient", "language": "fr"},
        "stated": ["language", "audience"], "soft": {"subheading": "prevention"},
        "opening": "Prevention of high blood pressure, in French, for patients."}]}))
    env = CatalogueSearch(tasks)
    agent, score = await run_rules(env, env.tasks()[0])
    assert score.success and score.details["turns"] == 3
    assert agent.acts == ["reformulate [high blood pressure; subheading=prevention; audience=patient]",
                          "reformulate [high blood pressure; audience=patient; language=fr]",
                          "show [R001]"]
    assert agent.state.to_json() == {
        "topic": "high blood pressure",
        "constraints": {"audience": "patient", "language": "fr"},
        "kept": ["language"],
        "indifferent": [],
        "refused": [],
        "history": [
            "keyword(hypertension) AND subheading(prevention) AND language(fr) AND audience(patient)",
            "keyword(hypertension) AND subheading(prevention) AND language(fr)",
            "keyword(hypertension) AND subheading(prevention) AND audience(patient)",
            "keyword(hypertension) AND subheading(prevention) AND audience(patient) AND language(fr)",
            "keyword(hypertension) AND subheading(prevention) AND language(fr)",
            "keyword(hypertension) AND audience(patient) AND language(fr)",
            "keyword(hypertension) AND audience(patient) AND language(fr)"],
        "intention": "accept",
        "intentions": ["verbalise", "refuse", "accept"],
        "pending": {"act": "show", "ids": ["R001"]}}


def test_the_rules_read_the_intentions_and_the_constraints_of_free_text():
    assert read_rules("A patient leaflet about treatment of insomnia for patients.").to_json() == {
        "intention": "verbalise", "topic": "insomnia",
        "constraints": [["type", "patient leaflet"], ["subheading", "therapy"], ["audience", "patient"]]}
    assert read_rules("I don't mind. I would like a video.").to_json() == {
        "intention": "indifferent", "topic": "", "constraints": [["type", "video"]]}
    assert read_rules("It is about asthma.", {"act": "propose"}).intention == "choose"
    assert read_rules("No, I do need something in French.").constraints == (("language", "fr"),)
    assert read_rules("Yes, R004 is what I was looking for. Thank you!").intention == "close"
    assert read_rules("hmm").intention == "verbalise" and read_rules("...").intention == "unknown"
    # a model's reading: values outside the catalogue's fields are dropped, an unknown intention is refused
    got = parse_reading({"intention": "precise", "topic": "", "constraints": {"audience": "kids", "type": "video"}})
    assert got.constraints == (("type", "video"),)
    with pytest.raises(Exception, match="intention must be one of"):
        parse_reading({"intention": "dance"})


# --- rules alone, and the model option ---------------------------------------------------------------------------


async def test_the_rules_alone_find_the_target_for_every_need_with_no_model_call(tmp_path):
    script = tmp_path / "empty.json"
    script.write_text("[]")  # the rules ask no model: an empty script would fail at the first request
    samples = [Sample(ENV.name, t, "cogni-cismef@rules", f"scripted:{script}", 0) for t in TASKS.values()]
    await run_eval(samples, {ENV.name: ENV}, EvalConfig(out=tmp_path / "out", concurrency=4))
    got = rows(tmp_path / "out")
    assert len(got) == 12 and sum(r["success"] for r in got) == 12  # a majority was asked; all 12 succeed
    assert all(r["model_calls"] == 0 for r in got)
    turns = {r["task"]: r["score"]["turns"] for r in got}
    assert max(turns.values()) <= 4 and turns["vague/flu"] == 2


async def test_the_model_reads_the_user_through_the_harness_with_the_oracle(tmp_path):
    samples = [Sample(ENV.name, t, "cogni-cismef", "oracle", 0) for t in TASKS.values()]
    await run_eval(samples, {ENV.name: ENV}, EvalConfig(out=tmp_path, concurrency=4))
    got = rows(tmp_path)
    assert len(got) == 12 and all(r["success"] for r in got)
    # one reading per user utterance before the satisfied one: one per dialogue act the agent took
    assert all(r["model_calls"] == r["score"]["turns"] for r in got)


async def test_an_unreadable_reading_is_repaired_by_asking_the_user_again():
    task = TASKS["vague/flu"]
    episode = ENV.episode(task)
    model = ScriptedModel(["I think they want flu stuff",
                           json.dumps({"intention": "precise", "topic": "flu",
                                       "constraints": {"audience": "professional"}}),
                           json.dumps({"intention": "precise", "topic": "",
                                       "constraints": {"subheading": "epidemiology"}})])
    agent = build(model, episode=episode)
    result = await runner.run(agent, episode.prompt)
    assert result.ok, result.error
    assert agent.acts[0].startswith("ask [Sorry, I did not understand.") and agent.repairs == 1
    assert agent.acts[1] == "show [R042, R045]" and stepping.progress_of(episode).reward == 1.0
    assert len(model.requests) == 2 and all(r.temperature == 0.0 for r in model.requests)
    assert model.requests[0].response_format["json_schema"]["schema"]["required"] == ["intention", "topic",
                                                                                     "constraints"]


def test_bad_options_and_an_episode_that_does_not_step_are_config_errors():
    with pytest.raises(ConfigError, match="understanding must be one of model, rules"):
        build(NO_MODEL, understanding="lexicon")
    gsm = GSM8K()
    with pytest.raises(ConfigError, match="needs an episode of catalogue-search"):
        build_recipe("cogni-cismef", NO_MODEL, episode=gsm.episode(gsm.tasks()[0]))


# --- replay and resume --------------------------------------------------------------------------------------------


async def test_a_run_replays_from_the_journal_with_no_model_and_no_environment(tmp_path):
    journal = Journal(tmp_path / "j.db")
    episode = crash.ENV.episode(crash.TASK)
    live = await runner.run(crash.agent(episode, crash.reader()), episode.prompt, journal=journal)
    assert live.ok, live.error
    replayed = await runner.replay(build(ScriptedModel([])), live.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    assert replayed.answer == live.answer and json.dumps(replayed.messages) == json.dumps(live.messages)
    journal.close()


@pytest.mark.parametrize("kill_after", [1, 3])
def test_a_run_killed_mid_way_resumes_without_repeating_a_finished_call_or_step(tmp_path, kill_after):
    killed = subprocess.run([sys.executable, HERE / "cogni_cismef_crash.py", tmp_path / "j.db", str(kill_after)],
                            check=False, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        before = [e.key for e in journal.entries(run.run_id) if e.kind in ("model", "env")]
        assert sum(1 for e in journal.entries(run.run_id) if e.kind == "model") == kill_after
        episode = crash.ENV.episode(crash.TASK)
        model = crash.reader()
        resumed = asyncio.run(runner.resume(crash.agent(episode, model), run.run_id, journal=journal))
        assert resumed.ok and stepping.progress_of(episode).reward == 1.0
        assert len(model.requests) == crash.CALLS - kill_after  # what the journal lacked, nothing again
        after = [e.key for e in journal.entries(run.run_id) if e.kind in ("model", "env")]
        assert after[:len(before)] == before and len(after) == len(set(after))


# --- the shipped local model --------------------------------------------------------------------------------------


async def test_the_shipped_local_model_reads_the_opening_once(tmp_path):
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.local import model_file
    from agentzoo.models.registry import parse_model

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    task = TASKS["vague/flu"]
    episode = ENV.episode(task)
    agent = build(parse_model("local:smollm2-135m?ctx=2048&max_tokens=60"), episode=episode, max_acts=1)
    result = await runner.run(agent, episode.prompt)
    assert result.ok, result.error
    assert len(agent.readings) == 1 and len(agent.acts) == 1  # one reading, then one act (whatever it read)
    assert stepping.progress_of(episode).steps >= 1
