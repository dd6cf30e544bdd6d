"""LangGraph-MT (#56): a router over a state graph routes each turn to one translator; the dialogue state carries
the previous turns; the dialogue environment scores replies with chrF; oracle, replay and the local model."""

import json

import pytest

from agentzoo.envs.mt_dialogues import MTDialogues, chrf, load_dialogues
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.runtime import runner
from agentzoo.teams.state_graph import checkpoints

ENV = MTDialogues()
MEETING = next(t for t in ENV.tasks() if t.id == "mt-dialogues/meeting")


def test_chrf_is_the_f2_of_averaged_character_ngram_precision_and_recall():
    assert chrf("La réunion", "La réunion") == 100.0
    # "ab" vs "abc": orders 1 and 2 only (no 3-gram in "ab"); P = 1, R = (2/3 + 1/2) / 2; F2 = 5PR / (4P + R)
    assert chrf("ab", "abc") == pytest.approx(100 * 35 / 55)
    assert chrf("a b", "ab") == 100.0  # whitespace is removed, as sacreBLEU does
    assert chrf("xyz", "abc") == 0.0
    assert chrf("The meeting moved", "La réunion a été déplacée à jeudi matin.") < 20


def test_bad_dialogue_files_are_named(tmp_path):
    bad = tmp_path / "d.json"
    bad.write_text(json.dumps({"dialogues": [{"id": "x", "turns": [{"user": "hi", "target": "de",
                                                                     "reference": "hallo"}]}]}))
    with pytest.raises(ConfigError, match="dialogue x, turn 0: target 'de' is not one of en, fr, ja"):
        load_dialogues(bad)
    assert len(load_dialogues()) == 5


def scripted_roles():
    """Routes by the words of the latest message; refers back to the previous text when asked 'the same'."""
    def reply(request):
        first = request.messages[0]["content"]
        if first.startswith("You route"):
            latest = first.rsplit("Latest message:", 1)[1].splitlines()[0]
            target = "ja" if "Japanese" in latest or "japonais" in latest else "fr" if "French" in latest else "en"
            if ":" in latest:
                text = latest.split(":", 1)[1].strip()
            else:  # "And the same sentence in Japanese?": the text comes from the dialogue state
                text = first.split("Text translated: ")[-1].split(" → ")[0]
            return json.dumps({"target": target, "text": text})
        return f"<{first.split('translator into ')[1].split('.')[0]}> {request.messages[-1]['content']}"
    return ScriptedModel(reply)


async def test_each_turn_goes_to_the_translator_of_its_target_only_and_the_state_carries_the_previous_turn(journal):
    model = scripted_roles()
    episode = ENV.episode(MEETING)
    agent = build_recipe("langgraph-mt", model, episode=episode)
    result = await runner.run(agent, MEETING.prompt, journal=journal)
    assert result.ok, result.error
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "model"]
    assert scopes == ["turn#0/router#0", "turn#0/translate_fr#0", "turn#1/router#0", "turn#1/translate_ja#0",
                      "turn#2/router#0", "turn#2/translate_en#0"]
    second_router = model.requests[2].messages[0]["content"]
    assert "The meeting has moved to Thursday morning. → (fr) <French>" in second_router  # the previous turn
    assert model.requests[3].messages[-1]["content"] == "The meeting has moved to Thursday morning."
    turn_two = checkpoints(journal, result.run_id, "turn#1")
    assert [p.node for p in turn_two] == ["router", "translate_ja"] and len(turn_two[-1].state["history"]) == 2


async def test_a_message_without_a_translation_request_gets_a_clarifying_question_and_no_translator(journal):
    model = ScriptedModel(['{"target": "none", "text": ""}'])
    g = build_recipe("langgraph-mt", model, episode=ENV.episode(MEETING), max_turns=1)
    result = await runner.run(g, "x", journal=journal)
    assert result.ok and "Which language" in result.answer and len(model.requests) == 1


async def test_an_unreadable_route_is_shown_back_once_then_clarified(journal):
    model = ScriptedModel(['{"target": "de", "text": "x"}', "no json at all"])
    result = await runner.run(build_recipe("langgraph-mt", model, episode=ENV.episode(MEETING), max_turns=1), "x",
                              journal=journal)
    assert result.ok and "Which language" in result.answer
    assert "target must be one of en, fr, ja, none, got 'de'" in model.requests[1].messages[-1]["content"]


async def test_replay_makes_no_model_call_and_no_environment_step(journal):
    result = await runner.run(build_recipe("langgraph-mt", scripted_roles(), episode=ENV.episode(MEETING)),
                              MEETING.prompt, journal=journal)
    again = ScriptedModel([])
    replayed = await runner.replay(build_recipe("langgraph-mt", again), result.run_id, journal=journal)
    assert replayed.ok and replayed.answer == result.answer and again.requests == [] and replayed.live_effects == 0


async def test_the_harness_scores_every_turn_with_chrf_and_the_oracle_solves_every_dialogue(tmp_path):
    samples = [Sample("mt-dialogues", t, "langgraph-mt", "oracle", 0) for t in ENV.tasks()]
    await run_eval(samples, {"mt-dialogues": ENV}, EvalConfig(out=tmp_path / "oracle"))
    rows = list(ResultStore(tmp_path / "oracle" / "results.db").rows())
    assert len(rows) == 5 and all(r["success"] and r["reward"] == 1.0 for r in rows), rows
    assert rows[0]["score"]["chrf"] == [100.0, 100.0, 100.0]


def test_bad_options_are_named():
    with pytest.raises(ConfigError, match="languages must be some of en, fr, ja"):
        build_recipe("langgraph-mt", ScriptedModel([]), languages=["de"])


async def test_the_shipped_local_model_answers_a_dialogue(journal):
    """SmolLM2-135M as router and translators, one turn: the mechanics (a 135M model translates poorly)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=2048&max_tokens=48")
    result = await runner.run(build_recipe("langgraph-mt", model, episode=ENV.episode(MEETING), max_turns=1),
                              MEETING.prompt, journal=journal)
    assert result.ok, result.error
    nodes = [p.node for p in checkpoints(journal, result.run_id, "turn#0")]
    assert nodes[0] == "router" and len(nodes) == 2
