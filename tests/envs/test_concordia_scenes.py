"""concordia-scenes: the shipped scenarios load, their goals read the event log as written, and the score reads
the closing record (with `simulated_hours`) by the task's own scenario."""

import json

import pytest

from agentzoo.envs.base import ScoringContext
from agentzoo.envs.concordia_scenario import SCENARIOS, goal_event, load_scenario, parse_scenario, shipped
from agentzoo.envs.concordia_scenes import ConcordiaScenes, score_record
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError


def test_the_shipped_scenarios_are_tasks_named_by_their_scenario():
    env = get_env("concordia-scenes")
    assert env.answer_kind == "simulation" and shipped() == ["lighthouse-night", "locked-door", "market-haggle"]
    tasks = env.tasks()
    assert [(t.id, t.prompt) for t in tasks] == [(n, n) for n in shipped()]
    for task in tasks:
        scenario = load_scenario(task.prompt)
        assert task.data["scenario"] == scenario.data and task.gold == scenario.gold
        # the oracle's gold reaches each goal
        for player, gold in scenario.gold.items():
            assert goal_event(scenario.goal, [{"actor": player, "event": gold["event"]}]) == 0, (task.id, player)
        assert json.loads(env.oracle(task, "concordia")[0]) == scenario.gold


def log(*events):
    return [{"actor": actor, "event": text, "verdict": verdict} for actor, text, verdict in events]


@pytest.mark.parametrize(("scenario", "text", "met"), [
    ("locked-door", "Tomas unlocked the cellar door and it swung open.", True),
    ("locked-door", "Mara forced the door with her shoulder; the door gave way.", True),
    ("locked-door", "The cellar door is open now.", True),
    ("locked-door", "Mara tried to open the door, but it stayed locked.", False),
    ("locked-door", "Mara could not open the cellar door.", False),
    ("locked-door", "Tomas found a key behind the wine rack.", False),
    ("market-haggle", "Bram paid Ilse 13 coins for the wool.", True),
    ("market-haggle", "Ilse sold Bram the bale for 12 coins.", True),
    ("market-haggle", "Bram offered Ilse 10 coins for the wool.", False),
    ("market-haggle", "Ilse refused to sell the wool for 9 coins.", False),
    ("lighthouse-night", "Odile lit the lamp and it shines over the bay.", True),
    ("lighthouse-night", "The lamp is burning again in the lamp room.", True),
    ("lighthouse-night", "Pieter tried to light the lamp but the wick would not catch.", False),
    ("lighthouse-night", "Odile carried the oil can up the stairs.", False)])
def test_each_goal_reads_an_event_statement_as_written(scenario, text, met):
    goal = load_scenario(scenario).goal
    assert (goal_event(goal, log(("Odile", text, "plausible"))) is not None) is met


def test_only_players_attempts_that_happened_count():
    goal = load_scenario("locked-door").goal
    opened = "Tomas unlocked the cellar door."
    assert goal_event(goal, log((None, opened, "narration"))) is None  # the GM's narration is not a player's doing
    assert goal_event(goal, log(("Tomas", opened, "rejected"))) is None
    assert goal_event(goal, log(("Mara", "Mara waited.", "plausible"), ("Tomas", opened, "amended"))) == 1


async def test_the_score_reads_the_record_by_the_tasks_own_scenario():
    env = ConcordiaScenes()
    task = next(t for t in env.tasks() if t.id == "locked-door")
    episode = env.episode(task)
    events = log((None, "The door slams.", "narration"), ("Mara", "Mara tried the door.", "plausible"),
                 ("Tomas", "Tomas unlocked the cellar door.", "plausible"))
    record = {"simulated_hours": 0.25, "events": events, "goal": {"met": False}}  # the record's own claim is not read
    score = await env.score(episode, json.dumps(record), ScoringContext())
    assert score.success and score.reward == 1.0
    assert score.details == {"scenario": "locked-door", "goal": "someone gets the cellar door open",
                             "simulated_hours": 0.25, "goal_met": True, "goal_event": "Tomas unlocked the cellar door.",
                             "events": 3, "attempts": 2, "rejected": 0}
    missed = await env.score(episode, json.dumps({"simulated_hours": 0.25, "events": events[:2]}), ScoringContext())
    assert not missed.success and missed.details["goal_met"] is False and missed.details["simulated_hours"] == 0.25


@pytest.mark.parametrize(("answer", "problem"), [
    (None, "no answer"), ("The door opened.", "not the JSON closing record"), ("[1]", "not a JSON object"),
    ('{"events": []}', "no simulated_hours"), ('{"simulated_hours": 1, "events": "x"}', "no event log")])
def test_an_answer_that_is_no_closing_record_scores_zero_saying_why(answer, problem):
    score = score_record(load_scenario("locked-door"), answer)
    assert not score.success and problem in score.details["error"] and "simulated_hours" in score.details


def minimal(**changes):
    data = json.loads((SCENARIOS / "locked-door.json").read_text())
    data.update(changes)
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "Locked Door"}, "name must be lower-case letters"),
    ({"colour": "red"}, "has unknown field(s) colour"),
    ({"players": []}, "players must be a non-empty list"),
    ({"start": "after dinner"}, "start must be an ISO 8601 time"),
    ({"scenes": [{"name": "x", "participants": ["Mara"], "order": "random"}]}, "scenes[0].order must be one of"),
    ({"scenes": [{"name": "x", "participants": ["Mara"], "rounds": 0}]}, "scenes[0].rounds must be a whole number"),
    ({"scenes": [{"name": "x", "participants": ["Mara"], "step_minutes": 0}]}, "scenes[0].step_minutes must be"),
    ({"scenes": [{"name": "x", "participants": ["Mara"], "narrations": [{"text": "t", "round": 2}]}]},
     "scenes[0].narrations[0].round must be a round of the scene, 0 to 0"),
    ({"goal": {"description": "d", "pattern": "("}}, "goal.pattern is not a valid regular expression"),
    ({"goal": {"description": "d", "pattern": "x", "actor": "Zed"}}, "goal.actor must be a player"),
    ({"gold": {"Mara": {"attempt": "a"}}}, "gold must map player names")])
def test_a_bad_scenario_is_refused_naming_where_and_the_field(changes, message):
    with pytest.raises(ConfigError) as refused:
        parse_scenario(minimal(**changes), "cellar.json")
    assert str(refused.value).startswith("scenario cellar.json: ") and message in str(refused.value)


def test_other_scenarios_come_from_a_tasks_file(tmp_path):
    one, two = minimal(name="cellar-a"), minimal(name="cellar-b")
    path = tmp_path / "scenes.json"
    path.write_text(json.dumps([one, two]))
    tasks = get_env("concordia-scenes", path).tasks()
    assert [t.id for t in tasks] == ["cellar-a", "cellar-b"] and json.loads(tasks[1].prompt) == two
    path.write_text(json.dumps([one, one]))
    with pytest.raises(ConfigError, match="two scenarios share a name"):
        get_env("concordia-scenes", path).tasks()
    with pytest.raises(ConfigError, match="unknown concordia scenario 'nowhere'; shipped: lighthouse-night"):
        load_scenario("nowhere")
    with pytest.raises(ConfigError, match="the task's JSON scenario is not valid JSON"):
        load_scenario("{not json")
