"""The kitchen (`agentzoo.envs.kitchen`): Overcooked's rules cut down to onion soup (pots cook by themselves,
a delivery is worth 20, collisions undo both moves), the motion planner's shortest paths, the shipped tasks
(the oracle reaches every goal, the teammate alone none), and issue 14's step-protocol evidence: the oracle
through `agentzoo eval`, a perturbed oracle, replay without the environment, SIGKILL then resume, restore."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import replace

import pytest

from agentzoo.envs.kitchen import (Game, Kitchen, KitchenTask, Layout, State, advance, goal_poses, next_move,
                                   oracle_actions, shortest_path, skill_targets, teammate_alone)
from agentzoo.envs.kitchen.policies import draw, greedy_skill, onions_skill
from agentzoo.envs.kitchen.world import Pot
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError

import step_conformance as conformance

ENV = Kitchen()
TASKS = {t.id: t for t in ENV.tasks()}
GALLEY = TASKS["galley-onions-0"]
SPLIT = TASKS["split-greedy-0"]

# A bare kitchen for the rules: the agent at (1, 1) beside the onions (left), the pot at (0, 2); the teammate at
# (2, 3) beside the dishes (right) and above the serving counter (down).
BARE = Layout.parse("bare", ["XXPXX",
                             "O1  X",
                             "X  2D",
                             "XXXSX"])


def fresh(facing0: str = "up", facing1: str = "up") -> State:
    state = State.start(BARE)
    state.cooks[0].facing, state.cooks[1].facing = facing0, facing1
    return state


# --- the rules ---------------------------------------------------------------------------------------


def test_a_pot_starts_cooking_at_its_third_onion_and_is_ready_cook_time_steps_later():
    state = fresh()
    state.cooks[0].pos = (1, 2)  # under the pot, facing up
    for n in range(1, 4):
        state.cooks[0].holding = "onion"
        advance(BARE, state, ("interact", "stay"), cook_time=4)
        assert state.pots[0].onions == n and state.cooks[0].holding is None
        assert state.events == [{"cook": 0, "did": "put_onion_in_pot", "at": "pot 0"}]
    assert state.pots[0].left == 4 and state.pots[0].cooking  # filled this step: counts from the next
    state.cooks[0].holding = "onion"
    advance(BARE, state, ("interact", "stay"), cook_time=4)  # a cooking pot takes no onion
    assert state.cooks[0].holding == "onion" and state.pots[0].onions == 3 and state.events == []
    state.cooks[0].holding = "dish"
    for left in (2, 1):
        advance(BARE, state, ("interact", "stay"), cook_time=4)  # a dish cannot take an unready soup
        assert state.pots[0].left == left and state.cooks[0].holding == "dish"
    advance(BARE, state, ("stay", "stay"), cook_time=4)
    assert state.pots[0].ready and state.t == 7
    advance(BARE, state, ("interact", "stay"), cook_time=4)
    assert state.cooks[0].holding == "soup" and state.pots[0] == Pot()
    assert state.events == [{"cook": 0, "did": "fill_dish_with_soup", "at": "pot 0"}]


def test_a_soup_delivered_at_the_serving_counter_scores_20_and_only_a_soup_does():
    state = fresh(facing1="down")  # the other cook faces the serving counter
    state.cooks[1].holding = "dish"
    assert advance(BARE, state, ("stay", "interact")) == 0 and state.cooks[1].holding == "dish"
    state.cooks[1].holding = "soup"
    assert advance(BARE, state, ("stay", "interact")) == 1
    assert state.soups == 1 and state.cooks[1].holding is None
    assert state.events == [{"cook": 1, "did": "deliver_soup", "at": "serving counter"}]


async def test_the_episode_rewards_20_per_soup_and_ends_at_the_goal():
    episode = ENV.step_episode(GALLEY)
    await episode.reset()
    outcomes = [await episode.step(a) for a in GALLEY.gold]
    assert [o.reward for o in outcomes] == [0.0] * (len(outcomes) - 1) + [20.0]
    assert [o.done for o in outcomes] == [False] * (len(outcomes) - 1) + [True]
    assert "Soups delivered: 1 of 1." in outcomes[-1].observation.text
    assert "you delivered a soup" in outcomes[-1].observation.text


async def test_the_episode_ends_at_the_horizon():
    env = Kitchen(horizon=3)
    task = env.tasks()[0]
    episode = env.step_episode(task)
    await episode.reset()
    assert [(await episode.step("stay")).done for _ in range(3)] == [False, False, True]


def test_two_cooks_that_would_share_a_cell_or_swap_stay_where_they_were():
    state = fresh()
    state.cooks[1].pos = (1, 3)
    advance(BARE, state, ("right", "left"))  # both into (1, 2)
    assert [c.pos for c in state.cooks] == [(1, 1), (1, 3)]
    assert [c.facing for c in state.cooks] == ["right", "left"]  # they turned all the same
    state.cooks[1].pos = (1, 2)
    advance(BARE, state, ("right", "left"))  # a swap
    assert [c.pos for c in state.cooks] == [(1, 1), (1, 2)]
    assert state.blocked == 2  # the teammate's move was undone twice in a row
    advance(BARE, state, ("right", "down"))  # into the cell the other leaves: allowed
    assert [c.pos for c in state.cooks] == [(1, 2), (2, 2)] and state.blocked == 0


def test_a_move_into_a_counter_only_turns_the_cook():
    state = fresh()
    advance(BARE, state, ("up", "stay"))
    assert state.cooks[0].pos == (1, 1) and state.cooks[0].facing == "up"


def test_counters_take_one_item_and_give_it_back():
    state = fresh()
    state.cooks[0].pos, state.cooks[0].facing = (2, 1), "down"  # facing the counter (3, 1)
    state.cooks[0].holding = "onion"
    advance(BARE, state, ("interact", "stay"))
    assert state.counters == {(3, 1): "onion"} and state.cooks[0].holding is None
    assert state.events[0]["did"] == "place_obj_on_counter"
    state.cooks[0].holding = "dish"
    advance(BARE, state, ("interact", "stay"))  # one item per counter
    assert state.counters == {(3, 1): "onion"} and state.cooks[0].holding == "dish"
    state.cooks[0].holding = None
    advance(BARE, state, ("interact", "stay"))
    assert state.counters == {} and state.cooks[0].holding == "onion"
    assert state.events[0]["did"] == "pickup(onion)"


def test_interactions_resolve_in_cook_order():
    race = Layout.parse("race", ["XXXXX", "X1X2X", "XXXXX"])  # one counter between the cooks
    state = State.start(race)
    state.cooks[0].facing, state.cooks[1].facing = "right", "left"
    state.counters[(1, 2)] = "onion"
    advance(race, state, ("interact", "interact"))
    assert [c.holding for c in state.cooks] == ["onion", None]
    assert state.events == [{"cook": 0, "did": "pickup(onion)", "at": "counter"}]


async def test_a_word_that_is_no_action_is_a_parse_error_the_cook_stays_and_the_clock_moves():
    episode = ENV.step_episode(GALLEY)
    await episode.reset()
    outcome = await episode.step("fly north")
    assert outcome.info["parse_error"] == "unknown action"
    assert outcome.observation.text.startswith("'fly north' is not an action here, so you stayed")
    assert episode.snapshot()["t"] == 1 and episode.snapshot()["cooks"][0]["pos"] == [1, 1]
    first = await episode.step("Interact.")  # case and a trailing full stop are forgiven
    second = await episode.step("interact")
    assert "parse_error" not in first.info and first.info["action"] != second.info["action"]


def test_layouts_that_cannot_be_played_are_refused_with_what_is_wrong():
    with pytest.raises(ConfigError, match="unknown tile 'Q' at row 1, column 2"):
        Layout.parse("bad", ["XXXX", "X1Q2", "XXXX"])
    with pytest.raises(ConfigError, match="needs the starts 1 and 2"):
        Layout.parse("bad", ["XXXX", "X1 X", "XXXX"])
    with pytest.raises(ConfigError, match="floor on the edge"):
        Layout.parse("bad", ["XX XX", "X1 2X", "XXXXX"])
    with pytest.raises(ConfigError, match="rows of equal length"):
        Layout.parse("bad", ["XXXX", "X12X", "XXX"])


def test_options_and_task_files_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="kitchen takes the options horizon and cook_time, got speed"):
        get_env("kitchen", speed=2)
    with pytest.raises(ConfigError, match="horizon must be a positive whole number"):
        Kitchen(horizon=0)
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("layouts:\n  tiny: ['XPXX', 'O12D', 'XSXX']\n"
                     "tasks:\n  - {layout: tiny, teammate: onions, seed: 3, goal: 1, horizon: 30, cook_time: 2}\n")
    env = get_env("kitchen", tasks_file=tasks)
    assert [t.id for t in env.tasks()] == ["tiny-onions-3"]
    tasks.write_text("tasks:\n  - {layout: galley, teammate: chef, seed: 0, goal: 1, horizon: 9}\n")
    with pytest.raises(ConfigError, match="no teammate 'chef'; known: greedy, onions"):
        Kitchen(tasks)
    tasks.write_text("tasks:\n  - {layout: galley, teammate: onions, seed: 0, goal: 1, horizon: 9, speed: 1}\n")
    with pytest.raises(ConfigError, match="task 1: unknown key"):
        Kitchen(tasks)


# --- motion planning ------------------------------------------------------------------------------


def test_the_shortest_path_counts_turns_and_goes_around_the_other_cook():
    start = ((1, 1), "up")
    goals = goal_poses(BARE, [(2, 4)])  # the dish dispenser: from (2, 3) facing right
    assert goals == {((2, 3), "right")}
    path = shortest_path(BARE, start, goals)
    assert len(path) == 3 and path[-1] == "right"  # two cells and the last move walks in facing the dispenser
    around = shortest_path(BARE, start, goals, blocked=frozenset({(1, 2)}))
    assert around == ["down", "right", "right"]  # the other way, same length
    assert shortest_path(BARE, start, goals, blocked=frozenset({(2, 3)})) is None
    assert shortest_path(BARE, ((2, 3), "right"), goals) == []
    turn = shortest_path(BARE, ((1, 2), "down"), goal_poses(BARE, [(0, 2)]))
    assert turn == ["up"]  # facing the pot is a turn, one action


def test_next_move_interacts_when_facing_a_target_and_pushes_through_when_there_is_no_way_round():
    state = fresh()
    state.cooks[0].facing = "left"
    assert next_move(BARE, state, 0, [(1, 0)]) == "interact"  # facing the onions
    state.cooks[0].pos = (2, 2)
    # The dishes' only goal cell is where the other cook stands: the path through it (a collision), or, for a
    # cook that gives way, a step away from the other cook.
    assert next_move(BARE, state, 0, [(2, 4)]) == "right"
    assert next_move(BARE, state, 0, [(2, 4)], give_way=True) == "up"
    assert next_move(BARE, state, 0, []) == "stay"


def test_skill_targets_pick_the_fullest_pot_and_a_ready_soup_first():
    layout = Layout.parse("two", ["XPXPX", "O1 2D", "XXSXX"])
    state = State.start(layout)
    state.pots[0].onions, state.pots[1].onions = 1, 2
    assert skill_targets(layout, state, "put_onion_in_pot") == [(0, 3)]
    state.pots[0].left = 3                     # cooking (as if full)
    state.pots[1].onions, state.pots[1].left = 3, 0  # ready
    assert skill_targets(layout, state, "fill_dish_with_soup") == [(0, 3)]
    state.pots[1] = Pot()
    assert skill_targets(layout, state, "fill_dish_with_soup") == [(0, 1)]
    state.counters[(2, 0)] = "onion"
    assert skill_targets(layout, state, "pickup(onion)") == [(1, 0), (2, 0)]
    assert (2, 0) not in skill_targets(layout, state, "place_obj_on_counter")
    assert skill_targets(layout, state, "wait(3)") == []


# --- the scripted cooks ------------------------------------------------------------------------------


def test_the_greedy_rule_delivers_then_fills_then_fetches_what_the_pots_need():
    empty, cooking, two = Pot(), Pot(3, 5), Pot(2)
    assert greedy_skill("soup", None, [empty]) == "deliver_soup"
    assert greedy_skill("dish", None, [cooking]) == "fill_dish_with_soup"
    assert greedy_skill("dish", None, [two]) == "wait(1)"
    assert greedy_skill("onion", None, [cooking]) == "place_obj_on_counter"
    assert greedy_skill(None, None, [cooking]) == "pickup(dish)"
    assert greedy_skill(None, "dish", [cooking]) == "wait(1)"  # the other cook already fetched the dish
    assert greedy_skill(None, "onion", [two]) == "wait(1)"  # the other cook brings the last onion
    assert greedy_skill(None, None, [two]) == "pickup(onion)"
    assert onions_skill(None, None, [cooking]) == "wait(1)" and onions_skill("dish", None, [two]) == "wait(1)"


def test_pauses_are_drawn_from_the_seed_and_the_step_alone():
    assert draw(0, 5, "pause") == draw(0, 5, "pause") != draw(1, 5, "pause")
    share = sum(draw(0, t, "pause") < 0.1 for t in range(2000)) / 2000
    assert 0.07 < share < 0.13


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_the_oracle_reaches_every_goal_and_the_teammate_alone_does_not(task_id):
    task = TASKS[task_id]
    spec, layout = ENV.spec(task), ENV.layout(task)
    game = Game(layout, spec)
    for action in task.gold:
        game.step(action)
    assert game.state.soups == spec.goal and len(task.gold) <= spec.horizon
    assert teammate_alone(layout, spec) < spec.goal
    assert oracle_actions(layout, spec) == task.gold  # deterministic


def test_the_teammates_pauses_change_with_the_seed():
    spec = ENV.spec(SPLIT)
    layout = ENV.layout(SPLIT)
    assert oracle_actions(layout, replace(spec, seed=7)) != oracle_actions(layout, spec)


async def test_the_observation_shows_the_map_both_cooks_the_pots_and_what_happened():
    episode = ENV.step_episode(GALLEY)
    first = await episode.reset()
    lines = first.text.splitlines()
    assert lines[0] == "Step 0 of 40. Soups delivered: 0 of 1." and lines[1].startswith("Map (row 0 at the top")
    assert lines[2:6] == ["XXPXXX", "O0...D", "X...1X", "XXSXOX"]
    assert "You (player 0): row 1, column 1, facing up, holding nothing; in front of you: counter." in first.text
    assert "Pot 0 (row 0, column 2): empty." in first.text and "Counters: nothing on them." in first.text
    assert first.data["layout"] == {"name": "galley", "rows": ["XXPXXX", "O    D", "X    X", "XXSXOX"],
                                    "starts": [[1, 1], [2, 4]]}
    assert Layout.from_json(first.data["layout"]) == ENV.layout(GALLEY)
    assert State.from_json(first.data["state"]).to_json() == first.data["state"]
    outcome = None
    for action in GALLEY.gold[:5]:
        outcome = await episode.step(action)
    assert "Pot 0 (row 0, column 2): 1 onion, needs 2 more." in outcome.observation.text
    assert "Last step: you put an onion in pot 0." in outcome.observation.text
    json.dumps(outcome.observation.data)


# --- issue 14's evidence, through the conformance helpers ----------------------------------------------


def test_the_oracle_scores_full_through_agentzoo_eval(tmp_path):
    # The conformance helper's command, with room for a whole horizon of `act` calls (tool-calling stops at 20).
    out = tmp_path / "oracle"
    done = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "eval", "--env", "kitchen", "--agent",
                           "tool-calling,codeact", "--model", "oracle", "--max-steps", "120", "--out", str(out),
                           "--limit", "3", "--workers", "1"], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, env=dict(os.environ, COLUMNS="200"))
    assert done.returncode == 0, done.stdout + done.stderr
    with closing(sqlite3.connect(out / "results.db")) as db:
        rows = [json.loads(r) for (r,) in db.execute("SELECT row FROM samples")]
    assert len(rows) == 6 and all(r["reward"] == 1.0 and r["success"] for r in rows), rows
    assert all(r["score"]["soups"] == r["score"]["goal"] > r["score"]["teammate_alone"] for r in rows)


async def test_a_perturbed_oracle_scores_less():
    mean = await conformance.perturbed_oracle_scores_less(Kitchen(), [GALLEY, TASKS["ring-onions-0"]])
    assert mean == 0.0  # the last action is the delivery


async def test_a_run_replays_byte_for_byte_without_the_environment(tmp_path):
    live = await conformance.replays_without_touching_the_environment(Kitchen(), GALLEY, tmp_path)
    assert "you delivered a soup" in live.messages[-2]["content"]


def test_sigkill_mid_episode_then_resume_repeats_no_step(tmp_path):
    conformance.sigkill_then_resume_repeats_no_step("kitchen", GALLEY.id, tmp_path, pause_at=6)


async def test_snapshot_five_steps_restore_gives_the_same_observations():
    await conformance.restore_gives_the_same_observations(Kitchen(), SPLIT, prefix=SPLIT.gold[:10],
                                                          probe=SPLIT.gold[10:16] + ["jump"])


async def test_the_scorer_reads_soups_over_the_goal(tmp_path):
    from agentzoo.envs.base import ScoringContext
    from agentzoo.envs.stepping import driver_of

    episode = ENV.episode(SPLIT)
    driver = driver_of(episode)
    for action in SPLIT.gold:
        outcome = await driver.step(action)
        if outcome.reward:
            break  # the first soup of two
    score = await ENV.score(episode, None, ScoringContext())
    assert (score.reward, score.success, score.details["soups"], score.details["goal"]) == (0.5, False, 1, 2)
    assert score.details["teammate_alone"] == 1 and score.details["teammate"] == "greedy"
    assert isinstance(KitchenTask(**SPLIT.data).id, str)
