"""The town: shipped scenarios as data, checked with errors that name the file and the field; what a resident
perceives; the paper's information-diffusion score read from a simulation's closing record."""

from __future__ import annotations

import json

import pytest
import yaml

from agentzoo.envs.base import ScoringContext
from agentzoo.envs.registry import get_env
from agentzoo.envs.town import Doing, Town, World, load_scenario, mentions, resolve, shipped
from agentzoo.envs.town.scenario import SCENARIOS, read_file
from agentzoo.errors import ConfigError


def test_the_shipped_scenarios_are_tasks_of_answer_kind_simulation():
    env = get_env("town")
    assert env.answer_kind == "simulation" and shipped()[:1] == ["tiny-party"] and "valentine-party" in shipped()
    tasks = {t.id: t for t in env.tasks()}
    assert tasks["tiny-party"].prompt == "tiny-party" and resolve(tasks["tiny-party"].prompt).name == "tiny-party"
    valentine = load_scenario("valentine-party")
    assert 5 <= len(valentine.residents) <= 25 and valentine.event.host == "Isabella Rodriguez"
    assert valentine.event.place == "Hobbs Cafe" and valentine.event.start == "2023-02-14T17:00"
    assert valentine.hours == 12.0 and len(load_scenario("tiny-party").residents) == 3
    for scenario in (valentine, load_scenario("tiny-party")):  # only the host starts out knowing
        knowing = [r.name for r in scenario.residents if any(mentions(m.text, scenario.event) for m in r.memories)]
        assert knowing == [scenario.event.host]


def test_a_scenario_file_of_the_same_shape_is_the_task_list(tmp_path):
    data = load_scenario("tiny-party").to_json()
    data["name"] = "my-town"
    path = tmp_path / "my-town.json"
    path.write_text(json.dumps(data))
    [task] = Town(tasks_file=path).tasks()
    assert task.id == "my-town" and json.loads(task.prompt)["name"] == "my-town"  # not shipped: its JSON travels


def _broken(tmp_path, change) -> str:
    data = yaml.safe_load((SCENARIOS / "tiny-party.yaml").read_text())
    change(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as error:
        read_file(path)
    message = str(error.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize("change, field, says", [
    (lambda d: d["residents"][1].update(home="Nowhere:room"), "residents[1].home", "not an address"),
    (lambda d: d["residents"][2]["routine"][0].update(time="3pm"), "residents[2].routine[0].time", "HH:MM"),
    (lambda d: d["residents"][2]["routine"][0].update(location="Isabella's apartment:main room"),
     "residents[2].routine[0].location", "not an address Klaus Mueller knows"),
    (lambda d: d["residents"][0].update(mood="happy"), "residents[0].mood", "Extra inputs"),
    (lambda d: d["event"].update(host="Nobody"), "event.host", "not a resident"),
    (lambda d: d["event"].update(place="Isabella's apartment"), "event.place", "private"),
    (lambda d: d.update(end="2023-02-15T10:00"), "end", "same date"),
    (lambda d: d["residents"][0]["memories"][0].update(importance=11), "residents[0].memories[0].importance",
     "less than or equal to 10"),
    (lambda d: d.update(residents=d["residents"][:1]), "residents", "at least 2"),
])
def test_a_bad_scenario_is_refused_naming_the_file_and_the_field(tmp_path, change, field, says):
    message = _broken(tmp_path, change)
    assert f"{field}:" in message and says in message


def test_a_scenario_in_the_task_text_is_json_and_an_unknown_name_lists_the_shipped_ones():
    assert resolve(json.dumps(load_scenario("tiny-party").to_json())).name == "tiny-party"
    with pytest.raises(ConfigError, match="task text: not valid JSON"):
        resolve("{not json")
    with pytest.raises(ConfigError, match="tiny-party"):
        resolve("atlantis")


def test_scaling_keeps_the_host_and_the_first_others():
    valentine = load_scenario("valentine-party")
    assert [r.name for r in valentine.scaled(3).residents] == ["Isabella Rodriguez", "Maria Lopez", "Klaus Mueller"]
    with pytest.raises(ConfigError, match="at least 2"):
        valentine.scaled(1)


def test_a_resident_perceives_the_others_in_its_area_then_objects_up_to_its_bandwidth():
    scenario = load_scenario("tiny-party")
    world = World(scenario)
    world.set("Maria Lopez", Doing("ordering a latte", "Hobbs Cafe:cafe", "counter"))
    seen = world.perceive("Isabella Rodriguez", 3)
    assert [(p.text, p.resident, p.idle) for p in seen] == [
        ("Maria Lopez is ordering a latte", "Maria Lopez", False),
        ("counter is being used by Maria Lopez, who is ordering a latte", None, False),
        ("customer seating is idle", None, True)]
    assert world.perceive("Klaus Mueller", 3) == [p for p in world.perceive("Klaus Mueller", 3) if p.resident is None]
    assert world.residents_in_place("Hobbs Cafe") == ["Isabella Rodriguez", "Maria Lopez"]


def test_a_keyword_is_a_word_start_not_any_substring():
    event = load_scenario("tiny-party").event
    assert mentions("Come to the Party tonight!", event) and mentions("partygoers welcome", event)
    assert not mentions("the counterparty signed", event) and not mentions(None, event)


def closing(**changes) -> str:
    record = {"simulated_hours": 4.0, "residents": ["Isabella Rodriguez", "Maria Lopez", "Klaus Mueller"],
              "knew": ["Maria Lopez"], "told": {"Maria Lopez": {}}, "attended": None, "conversations": 2}
    record.update(changes)
    return json.dumps(record)


@pytest.mark.parametrize("answer, reward, success", [
    (closing(), 0.5, True), (closing(knew=[]), 0.0, False), (closing(knew=["Maria Lopez", "Klaus Mueller"]), 1.0, True),
    (closing(knew=["Isabella Rodriguez"]), 0.0, False),  # the host does not count
])
async def test_the_score_is_the_share_of_the_other_residents_who_knew(answer, reward, success):
    env = Town()
    task = env.tasks()[0]
    score = await env.score(env.episode(task), answer, ScoringContext())
    assert (score.reward, score.success) == (reward, success)
    assert score.details["simulated_hours"] == 4.0 and score.details["diffusion"] == reward


@pytest.mark.parametrize("answer, problem", [
    (None, "no answer"), ("the party spread", "not JSON"), ("[1, 2]", "not an object"),
    (closing(knew=["Someone Else"]), "was not simulated"), (closing(residents=["Maria Lopez"]), "includes the host"),
    (closing(knew="Maria Lopez"), "not a list of names"),
])
async def test_an_unusable_closing_record_scores_zero_saying_why(answer, problem):
    env = Town()
    task = env.tasks()[0]
    score = await env.score(env.episode(task), answer, ScoringContext())
    assert score.reward == 0.0 and not score.success and problem in score.details["error"]
    assert "simulated_hours" in score.details  # the report divides by it
