"""catalogue-search meets the step contract (issue 14's evidence: the oracle scores 1.0 through the CLI, a
perturbed oracle less, a run replays without the environment, a SIGKILLed run resumes without repeating a step,
restore gives the same observations), and its own rules: the catalogue's shape and terminology, every need
singling out its targets, and the simulated user's answers to each dialogue act."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import step_conformance as conformance

from agentzoo.envs.catalogue_search import CatalogueSearch, load, parse_action
from agentzoo.envs.catalogue_search.catalogue import DATA
from agentzoo.errors import ConfigError

ENV = CatalogueSearch()
TASKS = ENV.tasks()
BY_ID = {t.id: t for t in TASKS}
CAT = load(str(DATA))


def test_the_catalogue_is_original_sized_and_indexed_in_its_own_terminology():
    assert 60 <= len(CAT.resources) <= 120 and "Original to agentzoo" in CAT.source and "fictional" in CAT.source
    for r in CAT.resources.values():
        assert r["descriptors"] and all(d in CAT.terms for d in r["descriptors"])
        assert all(r[k] in CAT.fields[k] for k in ("type", "audience", "language", "subheading"))
    # the tree: every descriptor reaches a top one; the thematic index is the top
    assert all(CAT.ancestors(d)[-1] in CAT.narrower(None) for d in CAT.terms)
    assert CAT.ancestors("diabetes mellitus type 2") == ["diabetes mellitus type 2", "diabetes mellitus",
                                                          "endocrine system diseases"]


def test_a_query_maps_lay_words_onto_descriptors_and_explodes_to_narrower_ones():
    query = CAT.parse("high blood pressure; audience=patient")
    assert query.descriptors == ("hypertension",) and query.constraints == (("audience", "patient"),)
    assert query.text() == "keyword(hypertension) AND audience(patient)"
    assert CAT.search(query).ids == ("R001", "R004")
    broad = CAT.search(CAT.parse("diabetes"))  # diabetes mellitus: both types under it
    assert len(broad.ids) == 10 and broad.facets["keyword"] == {"diabetes mellitus type 1": 5,
                                                                 "diabetes mellitus type 2": 5}
    unknown = CAT.parse("my gut hurts")
    assert unknown.descriptors == () and unknown.unknown == ("gut", "hurts") and CAT.search(unknown).ids == ()
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        CAT.parse("asthma; colour=red")
    with pytest.raises(ValueError, match="audience is one of patient, professional, student; got 'kids'"):
        CAT.parse("asthma; audience=kids")


def test_every_need_singles_out_its_targets_and_its_opening_is_what_its_kind_says():
    for task in TASKS:
        need = ENV.need(task)
        full = "; ".join([need["need"]["topic"], *(f"{k}={v}" for k, v in need["need"].items() if k != "topic")])
        assert list(CAT.search(CAT.parse(full)).ids) == task.gold, task.id
        opening = CAT.search(CAT.parse(need["opening"]))
        if need["kind"] == "out-of-vocabulary":
            assert opening.query.descriptors == (), task.id
        elif need["kind"] == "vague":
            assert len(opening.ids) > 3, task.id
    assert len(TASKS) == 12 and {ENV.need(t)["kind"] for t in TASKS} == {"vague", "over-specific",
                                                                          "out-of-vocabulary"}


async def test_the_simulated_user_answers_each_dialogue_act_by_its_need():
    ep = ENV.step_episode(BY_ID["over/hypertension-video"])  # wants a patient video on prevention; said French
    assert (await ep.reset()).text.startswith("User: I would like a video in French")
    said = await ep.step("search [high blood pressure; type=video; language=fr]")
    assert said.observation.data["count"] == 0 and ep.user.state.turns == 0  # a search takes no turn
    refused = await ep.step("reformulate [high blood pressure; language=fr]")  # drops the video it said
    assert refused.observation.text == "User: No, I do need a video."
    accepted = await ep.step("reformulate [high blood pressure; type=video; audience=patient; subheading=prevention]")
    assert accepted.observation.text == "User: Yes, that is fine."
    chose = await ep.step("propose [asthma | hypertension | cardiovascular diseases]")  # the narrowest on its path
    assert chose.observation.text == "User: It is about hypertension."
    waved = await ep.step("propose [language=en | language=fr]")  # not part of its need
    assert waved.observation.text == "User: I don't mind."
    empty = await ep.step("show []")
    assert "Nothing at all?" in empty.observation.text and not empty.done
    found = await ep.step("show [R001, R004]")
    assert found.done and found.reward == 1.0 and "R004 is what I was looking for" in found.observation.text
    acts = [(a["by"], a["act"]) for a in found.info["acts"]]
    assert acts[:4] == [("user", "verbalise"), ("agent", "search"), ("agent", "reformulate"), ("user", "refuse")]
    assert found.info["empty_answers"] == 1 and found.info["turns"] == 6


async def test_help_is_answered_with_the_category_and_the_user_leaves_after_its_turn_budget():
    env = CatalogueSearch(max_turns=2)
    ep = env.step_episode(BY_ID["oov/scabies"])
    await ep.reset()
    helped = await ep.step("help [Topics are named like these: neoplasms, parasitic diseases, virus diseases]")
    assert helped.observation.text == "User: It would come under parasitic diseases."
    asked = await ep.step("ask [What else?]")
    assert asked.done and asked.reward == 0.0 and asked.observation.text.endswith("I will stop here.")
    assert "student" in asked.observation.text  # the next part of its need, then it leaves


async def test_unparsable_actions_are_named_and_take_no_turn():
    ep = ENV.step_episode(TASKS[0])
    await ep.reset()
    bad = await ep.step("tell me more")
    assert "parse_error" in bad.info and "not an action" in bad.observation.text and ep.user.state.turns == 0
    unknown = await ep.step("show [R999]")
    assert "no resource R999" in unknown.observation.text
    assert parse_action("Show [R001, R002]") == ("show", "R001, R002")


def test_a_bad_tasks_file_is_a_config_error(tmp_path):
    bad = tmp_path / "tasks.json"
    bad.write_text(json.dumps({"tasks": [{"id": "x", "target": ["R999"], "need": {"topic": "asthma"},
                                          "opening": "asthma", "kind": "vague"}]}))
    with pytest.raises(ConfigError, match="names what the catalogue lacks"):
        CatalogueSearch(bad)
    with pytest.raises(ConfigError, match="max_turns must be at least 1"):
        CatalogueSearch(max_turns=0)


def test_the_oracle_scores_full_through_the_cli(tmp_path):
    conformance.oracle_scores_full_through_cli("catalogue-search", tmp_path, limit=3)


async def test_a_perturbed_oracle_scores_less():
    await conformance.perturbed_oracle_scores_less(CatalogueSearch(), TASKS[:3])


async def test_a_run_replays_without_the_environment(tmp_path):
    await conformance.replays_without_touching_the_environment(CatalogueSearch(), TASKS[0], tmp_path)


def test_sigkill_then_resume_repeats_no_step(tmp_path):
    conformance.sigkill_then_resume_repeats_no_step("catalogue-search", TASKS[0].id, tmp_path, pause_at=2)


async def test_restore_gives_the_same_observations():
    probe = ["search [diabetes]", "propose [diabetes mellitus type 1 | diabetes mellitus type 2]",
             "propose [audience=patient | audience=student]", "ask [More?]", "show [R021]"]
    await conformance.restore_gives_the_same_observations(CatalogueSearch(), TASKS[0], prefix=["search [diabetes]"],
                                                          probe=probe)
