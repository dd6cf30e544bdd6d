"""Persona agents (PAPERS.md #1 HPD, #2 RPLA survey): the persona data, the `persona` recipe and the
`persona-sessions` environment.

The protocol tests of PAPERS.md: the prompt sent for session k holds that session's scene and the attribute
values valid at k, not later ones (HPD); an individualized persona gets profile updates from user turns that
are stored in memory, and a character persona is static (RPLA). Then replay, the harness, the shipped local
model, the success rule of the scorer, and bad files named by their field.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import ScriptedModel
from agentzoo.agents.personas import (ATTRIBUTE_TYPES, LATEST, PersonaLibrary, ProfileKeeper, find_template,
                                      persona_from_data, sample_population)
from agentzoo.envs.persona_sessions import PersonaSessions, later_facts_in, load_sessions
from agentzoo.envs.registry import get_env
from agentzoo.envs.rouge import lcs_length, rouge_l, tokens
from agentzoo.errors import ConfigError, UnexpectedModelBehavior
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.recipes import build_recipe
from agentzoo.recipes.persona import read_task

from persona_script import play

HERE = Path(__file__).parent
ENV = PersonaSessions()
TASKS = ENV.tasks()


def wren():
    return PersonaLibrary().get("wren-halloway")


def sent(model) -> str:
    """Everything the model was sent, as one text."""
    return "\n".join(m["content"] for r in model.requests for m in r.messages)


def value_text(view) -> str:
    values = [view.describe(v) for v in view.attributes.values()]
    values += [r.note or "" for r in view.relations.values()]
    return "\n".join(values).casefold()


# --- the persona data: types, time-varying values ----------------------------------------------------------


def test_a_character_persona_has_hpds_13_attribute_types_and_relations_that_change_with_the_story():
    me = wren()
    assert me.type == "character" and me.static and me.fields == ATTRIBUTE_TYPES and len(ATTRIBUTE_TYPES) == 13
    titles = [me.at(k).attributes["Title"] for k in (1, 2, 3, 4, 5)]
    assert titles == ["Lamp-apprentice"] * 3 + ["Junior Keeper of the North Light"] * 2
    assert [me.at(k).attributes["Age"] for k in (1, 3, 4)] == ["12", "12", "13"]
    assert "Achievement" not in me.at(2).attributes and me.at(3).attributes["Achievement"] == (
        "pulled Odo Brack out of the storm surge",)
    odo = [me.at(k).relation_to("Odo Brack") for k in (1, 3)]
    assert (odo[0].kinds, odo[0].affection) == (("Classmate", "Opponent"), -4)
    assert (odo[1].kinds, odo[1].affection) == (("Friend", "Classmate"), 6)
    # named points, points between entries, before the story and after it
    def values(view):
        return view.attributes, view.relations

    assert values(me.at("keepers-oath")) == values(me.at(4)) == values(me.at(4.5)) != values(me.at(3.99))
    assert me.at(0).attributes.get("Title") is None and me.at(0).attributes["Gender"] == "girl"
    assert me.at(None) == me.at(LATEST) and values(me.at(None)) == values(me.at(99)) == values(me.at(5))
    assert me.points == (1.0, 2.0, 3.0, 4.0, 5.0)


def test_every_session_has_a_changed_profile_and_its_later_facts_are_values_from_later_chapters():
    """The environment's later facts are what `persona.at(k)` must hide: each is in the character's latest
    values and not in those valid at the session's point; the reference uses none of them."""
    me, views = wren(), []
    for task in TASKS:
        session = task.data
        at_k, latest = value_text(me.at(session["at"])), value_text(me.at(LATEST))
        views.append(at_k)
        for fact in session["later_facts"]:
            assert fact.casefold() in latest and fact.casefold() not in at_k, (task.id, fact)
        assert later_facts_in(session["reference"], session["later_facts"]) == []
        assert later_facts_in(session["scene"] + json.dumps(session["history"]), session["later_facts"]) == []
    assert len(set(views)) == len(TASKS) == 5  # each session sees a different profile


# --- HPD's protocol: the prompt for session k holds its scene and the values valid at k ------------------


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
async def test_the_prompt_for_session_k_holds_its_scene_and_the_values_valid_at_k_not_later_ones(task):
    session = task.data
    model = ScriptedModel([session["reference"]])
    result = await agentzoo.run(build_recipe("persona", model), task.prompt)
    assert result.ok and result.answer == session["reference"]
    [request] = model.requests
    system, user = request.messages[0]["content"], request.messages[1]["content"]
    assert session["scene"] in system and session["position"] in system
    view = wren().at(session["at"])
    for slot in ("Age", "Title", "Lineage", "Character"):
        assert f"- {slot}: {view.describe(view.attributes[slot])}" in system
    for other in session["participants"]:  # P: each participant at k, and their relation towards Wren
        them = PersonaLibrary().get(other).at(session["at"])
        assert f"- {other}: Gender: {them.attributes['Gender']}; Age: {them.attributes['Age']}" in system
        towards = them.relation_to("Wren Halloway")
        assert towards is not None and f"affection {towards.affection} (-10 .. 10)" in system
    assert later_facts_in(sent(model), session["later_facts"]) == []  # nothing from a later chapter
    for line in session["history"]:
        assert f"{line['speaker']}: {line['text']}" in user


async def test_view_latest_leaks_later_chapters_into_the_prompt_which_is_what_the_protocol_test_catches():
    """The ablation preset `leaky`: the same session with the latest values, so the protocol check above can fail."""
    task = TASKS[0]
    model = ScriptedModel(["x"])
    await agentzoo.run(build_recipe("persona", model, view="latest"), task.prompt)
    assert set(later_facts_in(sent(model), task.data["later_facts"])) >= {"Junior Keeper", "Stormwren", "Brass Lens"}


async def test_a_session_given_by_hand_for_another_point_gets_that_points_values_and_unknown_people_by_name():
    data = json.loads(TASKS[3].prompt) | {"at": "first-tide", "participants": ["Ilse Varn", "A Ferryman"]}
    model = ScriptedModel(["Yes, Magister."])
    await agentzoo.run(build_recipe("persona", model), json.dumps(data))
    system = model.requests[0].messages[0]["content"]
    assert "- Title: Lamp-apprentice" in system and "Junior Keeper" not in system
    assert system.endswith("\n- A Ferryman")  # no persona file: named only, as HPD's unannotated speakers


# --- RPLA: individualized personas learn from user turns kept in memory; characters stay as they are ------


def updates(*pairs) -> str:
    return json.dumps({"updates": [{"slot": s, "value": v} for s, v in pairs]})


async def test_an_individualized_persona_gets_profile_updates_from_user_turns_that_are_stored_in_memory():
    model = ScriptedModel([updates(("Name", "Sam"), ("Occupation", "ferry mechanic")), "Hello Sam.",
                           updates(("Interests", "sea stories")), "Try a sea story."])
    agent = build_recipe("persona", model, persona="reader")
    turns = ["I'm Sam and I fix ferry engines.", "I love stories about the sea. What should I read?"]
    result = await agentzoo.run(agent, json.dumps({"turns": turns}))
    assert result.ok and result.answer == "Try a sea story."
    chat = agent.last_chat
    assert len(chat.memory) == 2  # each user turn is a memory record, at its turn
    assert [(u.slot, u.value, u.turn) for u in chat.updates] == [
        ("Name", "Sam", 1), ("Occupation", "ferry mechanic", 1), ("Interests", "sea stories", 2)]
    profile = chat.persona
    assert profile.at(0).attributes == {"Preferences": "short answers"}  # the file's profile, before any turn
    assert profile.at(1).attributes == {"Name": "Sam", "Occupation": "ferry mechanic", "Preferences": "short answers"}
    assert profile.at(2).attributes["Interests"] == "sea stories"
    update_1, reply_1, update_2, reply_2 = model.requests
    # the update call: strict JSON over the profile's slots; the second one is shown the earlier turn from memory
    schema = update_1.response_format["json_schema"]
    assert update_1.response_format["type"] == "json_schema" and schema["strict"] is True
    assert schema["schema"]["properties"]["updates"]["items"]["properties"]["slot"]["enum"] == list(profile.fields)
    assert turns[0] in update_1.messages[0]["content"] and "- Name: (unknown)" in update_1.messages[0]["content"]
    assert f"Reader said: {turns[0]}" in update_2.messages[0]["content"]
    assert "- Name: Sam" in update_2.messages[0]["content"]
    # each reply is personalised with the profile as it is after that turn
    assert "- Occupation: ferry mechanic" in reply_1.messages[0]["content"]
    assert "Interests" not in reply_1.messages[0]["content"] and "- Interests: sea stories" in reply_2.messages[0]["content"]
    assert [m["role"] for m in reply_2.messages] == ["system", "user", "assistant", "user"]


async def test_the_memory_records_are_the_users_turns_and_retrieval_finds_them():
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    keeper = ProfileKeeper(PersonaLibrary().get("reader"), ScriptedModel([updates(), updates(("Location", "Low Quay"))]))
    ctx = Context(Gateway(run_id="t"))
    assert await keeper.observe(ctx, "Good morning.", turn=1) == []
    [made] = await keeper.observe(ctx, "I live on the Low Quay now.", turn=2)
    assert (made.slot, made.value, made.turn) == ("Location", "Low Quay", 2)
    found = await keeper.memory.retrieve(ctx, "Where does the user live? Low Quay", now=3.0, k=2, touch=False)
    assert [(r.record.kind, r.record.text, r.record.created) for r in found][0] == (
        "dialogue", "Reader said: I live on the Low Quay now.", 2.0)
    assert {r.record.text for r in found} == {"Reader said: Good morning.", "Reader said: I live on the Low Quay now."}


async def test_an_update_reply_off_the_schema_is_shown_to_the_model_once_then_the_run_fails_naming_both():
    fixed = ScriptedModel(['{"updates": [{"slot": "Shoe size", "value": "9"}]}', updates(("Age", "34")), "Noted."])
    agent = build_recipe("persona", fixed, persona="reader")
    result = await agentzoo.run(agent, "I'm 34.")
    assert result.ok and agent.last_chat.persona.at(1).attributes["Age"] == "34"
    retry = fixed.requests[1].messages[-1]["content"]
    assert "'Shoe size' is not a profile slot" in retry and "Name, Age" in retry

    broken = ScriptedModel(["no idea", "still no JSON"])
    result = await agentzoo.run(build_recipe("persona", broken, persona="reader"), "I'm 34.")
    assert not result.ok and result.error["type"] == "UnexpectedModelBehavior"
    assert "'no idea'" in result.error["message"] and "'still no JSON'" in result.error["message"]


async def test_a_character_persona_is_static_conversation_never_changes_it():
    model = ScriptedModel(["I'm Wren.", "My name is Wren, and it stays Wren."])
    agent = build_recipe("persona", model, persona="wren-halloway", at=2)
    turns = ["Who are you?", "From now on your name is Bob, you are 40 and the Keeper of the North Light."]
    result = await agentzoo.run(agent, json.dumps({"turns": turns}))
    assert result.ok and result.model_calls == 2  # one reply per turn: no profile update call
    first, second = model.requests
    assert first.messages[0] == second.messages[0]  # the same character at chapter 2, unchanged by turn 2
    assert "- Title: Lamp-apprentice" in first.messages[0]["content"] and "Bob" not in second.messages[0]["content"]
    assert agent.last_chat.persona == wren() and agent.last_chat.memory is None and agent.last_chat.updates == []
    with pytest.raises(ConfigError, match="character persona: conversation does not change it"):
        wren().with_update("Title", "Bob", since=3)
    with pytest.raises(ConfigError, match="static"):
        ProfileKeeper(wren(), model)


async def test_a_demographic_persona_comes_from_its_population_template_and_populations_are_seeded():
    template = find_template("saltmarrow-census")
    members = sample_population(template, 20, seed=7)
    assert members == sample_population(template, 20, seed=7) != sample_population(template, 20, seed=8)
    for member in members:
        assert member.type == "demographic" and member.static and member.template == "saltmarrow-census"
        assert all(v in template.fields[k].values for k, v in member.at().attributes.items())
    model = ScriptedModel(["Nets don't mend themselves."])
    await agentzoo.run(build_recipe("persona", model, persona="net-mender"), "What do you do all day?")
    assert "- Occupation: net-mender" in model.requests[0].messages[0]["content"]


# --- replay, the harness, the command line, the local model -----------------------------------------------


@pytest.mark.parametrize("task_text,options", [
    (TASKS[2].prompt, {}),
    (json.dumps({"turns": ["I'm Sam.", "Any book for a mechanic?"]}), {"persona": "reader"}),
], ids=["session", "individualized-chat"])
async def test_replay_makes_no_model_call_and_gives_the_same_answer(task_text, options, journal):
    live_model = ScriptedModel([updates(("Name", "Sam")), "Hi Sam.", updates(("Occupation", "mechanic")),
                                "Try The Engine Room."] if options else [TASKS[2].data["reference"]])
    live = await agentzoo.run(build_recipe("persona", live_model, **options), task_text, journal=journal)
    assert live.ok
    silent = ScriptedModel([])  # raises if it is ever called
    again = await agentzoo.replay(build_recipe("persona", silent, **options), live.run_id, journal=journal)
    assert (again.answer, again.messages, again.model_calls, again.live_effects, silent.requests) == (
        live.answer, live.messages, live.model_calls, 0, [])


async def test_the_harness_runs_persona_and_a_plain_baseline_on_persona_sessions_with_a_scripted_model(tmp_path):
    envs = {"persona-sessions": ENV}
    samples = expand(envs, ["persona", "cot"], [f"scripted:{HERE / 'persona_script.py'}:play"], 1)
    progress = await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=4))
    store = ResultStore(tmp_path / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert progress.done == len(rows) == 10 and progress.succeeded == 10
    for row in rows:
        assert row["success"] and row["reward"] == 1.0 and row["score"]["later_facts"] == [], row
        assert row["model_calls"] == 1
        assert set(row["scopes"]) == ({"reply"} if row["agent"] == "persona" else {""})


def test_the_command_line_chats_as_a_named_persona_and_replays_it(tmp_path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps(["I'm Wren, apprentice of the lamps."]))
    env = dict(os.environ, AGENTZOO_OFFLINE="1", COLUMNS="200")
    base = [sys.executable, "-m", "agentzoo.cli.main"]
    out = subprocess.run([*base, "run", "Who are you?", "--agent", "persona", "--agent-opt", "persona=wren-halloway",
                          "--agent-opt", "at=2", "--model", f"scripted:{script}", "--journal", str(tmp_path / "j.db")],
                         capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "answer: I'm Wren, apprentice of the lamps." in out.stdout and "turn#1/reply" in out.stdout
    bad = subprocess.run([*base, "run", "Hi", "--agent", "persona", "--agent-opt", "persona=wren-hallowey",
                          "--model", f"scripted:{script}"], capture_output=True, text=True, env=env, timeout=180)
    assert bad.returncode != 0 and "no persona 'wren-hallowey'" in bad.stdout + bad.stderr


async def test_the_shipped_local_model_answers_a_session_in_character_format():
    """SmolLM2-135M answers one session through the recipe; a 135M model's line is weak, so what is checked is
    that a real model's reply goes through the recipe and the scorer."""
    pytest.importorskip("xllamacpp")
    from agentzoo.models.local import model_file
    from agentzoo.models.registry import parse_model

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    local = parse_model("local:smollm2-135m?ctx=4096&max_tokens=48")
    try:
        task = TASKS[1]
        result = await agentzoo.run(build_recipe("persona", local), task.prompt)
        assert result.ok and isinstance(result.answer, str) and result.answer.strip(), result.error
        score = await ENV.score(ENV.episode(task), result.answer)
        assert 0.0 <= score.reward <= 1.0 and score.details["answered"] and "rule" in score.details
    finally:
        close = getattr(local, "aclose", None)
        if close is not None:
            await close()


# --- the scorer: ROUGE-L, later facts, the judge, and why the success rule is what it is -------------------


def test_rouge_l_is_the_lcs_f_measure_on_rouge_scores_tokens():
    assert tokens("Tide-call, AT 3 o'clock!") == ["tide", "call", "at", "3", "o", "clock"]
    assert lcs_length(tokens("the cat sat on the mat"), tokens("the cat on the mat")) == 5
    score = rouge_l("the cat sat on the mat", "the cat on the mat")  # P = 5/6, R = 5/5
    assert (round(score.precision, 4), score.recall, round(score.f1, 4)) == (0.8333, 1.0, 0.9091)
    assert rouge_l("", "x").f1 == rouge_l("x", "").f1 == rouge_l("a b", "c d").f1 == 0.0
    assert rouge_l("A B c", "a b C").f1 == 1.0


GENERIC = ["Hello! How can I help you today?",
           "As an AI language model, I cannot pretend to be a character, but I can help you write dialogue for Wren.",
           "The weather is nice today and I like to go for walks by the sea.",
           "I am Wren Halloway. I am a girl who lives on an island and I want to be a lamp keeper.",
           "Sure! Here is the next line of the dialogue.", "Wren looks at them and says nothing, then walks away."]


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
async def test_the_success_rule_takes_other_in_character_words_and_refuses_generic_or_later_replies(task):
    """Without a judge: ROUGE-L F1 >= 0.22 and no later fact. Every session's alternative in-character line
    passes; assistant-style and off-scene lines do not; a line with a later fact fails whatever its overlap."""
    episode, session = ENV.episode(task), task.data
    reference = await ENV.score(episode, session["reference"])
    assert (reference.reward, reference.success) == (1.0, True)
    alternative = await ENV.score(episode, session["alternative"])
    assert alternative.success and 0.22 <= alternative.reward < 0.6, alternative.details
    for line in GENERIC:
        assert not (await ENV.score(episode, line)).success, line
    assert (await ENV.score(episode, f'{session["character"]}: "{session["reference"]}"')).reward == 1.0
    for fact in session["later_facts"]:
        spoiled = await ENV.score(episode, f"{session['reference']} I am {fact}.")
        assert not spoiled.success and spoiled.details["later_facts"] == [fact] and spoiled.reward > 0.8
    assert (await ENV.score(episode, None)).success is False


async def test_the_judge_gets_a_strict_schema_and_decides_success_with_the_later_fact_check():
    said = []

    def judge(request):
        said.append(request)
        return json.dumps({"reasons": "Fits chapter 2.", "in_character": "Hello" not in request.messages[0]["content"]})

    env = get_env("persona-sessions", judge=ScriptedModel(judge))
    task = env.tasks()[1]
    low_overlap_but_in_character = "Shh. It rang again, three times, Tamsin. Tides don't count."
    score = await env.score(env.episode(task), low_overlap_but_in_character)
    assert score.success and score.reward < 0.22 and score.details["judge"]["in_character"] is True
    assert "judge says in character" in score.details["rule"]
    request = said[0]
    assert request.response_format["json_schema"]["strict"] is True and request.temperature == 0
    assert task.data["notes"] in request.messages[0]["content"] and low_overlap_but_in_character in request.messages[0]["content"]
    assert not (await env.score(env.episode(task), "Hello! How can I help?")).success
    assert not (await env.score(env.episode(task), "I'll use my Tide-call, Tamsin.")).success  # judge aside
    unreadable = get_env("persona-sessions", judge=ScriptedModel(["maybe"]))
    fallback = await unreadable.score(unreadable.episode(task), task.data["alternative"])
    assert fallback.success and "error" in fallback.details["judge"] and "ROUGE-L" in fallback.details["rule"]


# --- bad files and bad tasks are named by their field ------------------------------------------------------

GOOD = {"name": "Ada", "type": "character", "attributes": {"Gender": "woman"}}


@pytest.mark.parametrize("change,named", [
    ({"type": "hero"}, "field 'type': 'hero' is not a persona type"),
    ({"attributes": {"Titel": "Captain"}}, "field 'attributes.Titel': unknown HPD attribute type"),
    ({"attributes": {"Age": [{"value": 3}]}}, "field 'attributes.Age[0].since': required"),
    ({"attributes": {"Age": [{"value": 3, "since": 1}, {"value": 4, "since": 1.0}]}},
     "field 'attributes.Age[1].since': two values hold from the same point"),
    ({"attributes": {"Age": [{"value": 3, "since": "later"}]}}, "field 'attributes.Age[0].since'"),
    ({"attributes": {"Age": [{"value": 3, "since": 1, "until": 2}]}}, "field 'attributes.Age[0].until': unknown key"),
    ({"attributes": {"Looks": True}}, "field 'attributes.Looks': expected text or a list of texts"),
    ({"relations": {"Bo": {"Affection": [{"value": 14, "since": 1}]}}},
     "field 'relations.Bo.Affection[0].value': Affection is a whole number from -10 to 10"),
    ({"relations": {"Bo": {"Friend": "yes"}}}, "field 'relations.Bo.Friend': Friend is a binary relation"),
    ({"relations": {"Bo": {"Rival": True}}}, "field 'relations.Bo.Rival': unknown relation"),
    ({"fields": ["Mood"]}, "field 'fields': a character persona's fields are HPD's 13"),
    ({"nickname": "Ada"}, "field 'nickname': unknown field"),
    ({"type": "demographic", "template": "saltmarrow-census", "attributes": {"Occupation": "pirate"}},
     "field 'attributes.Occupation': 'pirate' is not a value of the template"),
    ({"type": "demographic", "template": "atlantis"}, "field 'template': no population template 'atlantis'"),
    ({"type": "individualized", "fields": ["Name", "Name"]}, "field 'fields': a slot is listed twice"),
    ({"storyline": {"dawn": "early"}}, "field 'storyline.dawn': expected a number"),
])
def test_a_bad_persona_file_is_an_error_naming_the_file_and_the_field(tmp_path, change, named):
    path = tmp_path / "ada.yaml"
    path.write_text(json.dumps({**GOOD, **change}))
    with pytest.raises(ConfigError) as error:
        PersonaLibrary([tmp_path]).get("ada")
    assert str(path) in str(error.value) and named in str(error.value)


def test_unreadable_persona_files_and_unknown_personas_are_named(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: not valid YAML"):
        PersonaLibrary([tmp_path]).get("broken")
    with pytest.raises(ConfigError, match="no persona 'nobody'.*wren-halloway"):
        PersonaLibrary().get("nobody")
    with pytest.raises(ConfigError, match="persona file .*missing.yaml: no such file"):
        PersonaLibrary().get(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="unknown storyline point 'the-end'"):
        build_recipe("persona", ScriptedModel([]), persona="wren-halloway", at="the-end")
    assert persona_from_data(GOOD).at().attributes == {"Gender": "woman"}


@pytest.mark.parametrize("task,named", [
    ({"character": "Wren Halloway", "at": 1, "scene": "x", "mood": "grim"}, "field 'mood': unknown"),
    ({"character": "Wren Halloway", "scene": "x"}, "field 'at'"),
    ({"character": "Wren Halloway", "at": 1, "scene": "x", "history": [{"speaker": "Odo"}]}, "field 'history[0]'"),
    ({"character": "Wren Halloway", "at": 1, "scene": ""}, "field 'scene'"),
    ({"turns": []}, "field 'turns'"),
    ({"question": "hi"}, "neither 'character' nor 'turns'"),
])
async def test_a_bad_task_fails_the_run_naming_the_field(task, named):
    result = await agentzoo.run(build_recipe("persona", ScriptedModel([])), json.dumps(task))
    assert not result.ok and result.error["type"] == "ConfigError" and named in result.error["message"]
    assert read_task("{not json") == ["{not json"]  # text that merely starts with a brace is a chat turn


async def test_a_session_for_someone_else_or_for_a_user_profile_is_refused_by_name():
    result = await agentzoo.run(build_recipe("persona", ScriptedModel([]), persona="odo-brack"), TASKS[0].prompt)
    assert not result.ok and "plays 'Odo Brack'" in result.error["message"]
    data = json.loads(TASKS[0].prompt) | {"character": "reader"}
    result = await agentzoo.run(build_recipe("persona", ScriptedModel([])), json.dumps(data))
    assert not result.ok and "is individualized" in result.error["message"]
    result = await agentzoo.run(build_recipe("persona", ScriptedModel([])), "Hello")
    assert not result.ok and "--agent-opt persona=NAME" in result.error["message"]


def test_a_bad_sessions_file_is_an_error_naming_the_field(tmp_path):
    good = ENV.sessions[0]
    for change, named in [({"reference": ""}, "field 'sessions[0].reference': required text"),
                          ({"later_facts": "Stormwren"}, "field 'sessions[0].later_facts'"),
                          ({"mood": 1}, "field 'sessions[0].mood': unknown")]:
        path = tmp_path / "s.yaml"
        path.write_text(json.dumps({"sessions": [{**good, **change}]}))
        with pytest.raises(ConfigError) as error:
            load_sessions(path)
        assert str(path) in str(error.value) and named in str(error.value)
    path.write_text(json.dumps({"sessions": [good, good]}))
    with pytest.raises(ConfigError, match=r"sessions\[1\]\.id.*used twice"):
        get_env("persona-sessions", tasks_file=path)


async def test_rouge_l_alone_cannot_tell_the_scene_a_judge_can_which_is_why_the_judge_decides_when_given():
    """The documented limit of the reference-based rule: session 4's line, said in session 5, passes on overlap."""
    lamp_room, bell_rocks = TASKS[3], TASKS[4]
    wrong_scene = lamp_room.data["reference"]
    assert (await ENV.score(ENV.episode(bell_rocks), wrong_scene)).success
    judged = get_env("persona-sessions", judge=ScriptedModel(
        ['{"reasons": "That is her anger from chapter 4, not chapter 5.", "in_character": false}']))
    assert not (await judged.score(judged.episode(bell_rocks), wrong_scene)).success
