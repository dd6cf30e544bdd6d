"""proagent (#20) on the kitchen: PAPERS.md's protocol test (a skill whose condition fails calls the explainer,
and the next planner prompt holds the explanation), belief correction in the next prompt, the K = 10 dialogue
window, the BFS controller's paths, the skill library's reading and checks, the oracle through the harness,
replay with no model and no kitchen, resume after SIGKILL repeating no finished step, and the shipped local
model on a short horizon."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentzoo.envs import stepping
from agentzoo.envs.base import Episode, ScoringContext
from agentzoo.envs.gridworld import GridWorld
from agentzoo.envs.kitchen import Kitchen, State, advance, goal_poses, shortest_path
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes._oracle.gold import Gold, last_user, system_of
from agentzoo.recipes._oracle.proagent import proagent as oracle_player
from agentzoo.recipes.proagent import (BFSController, Beliefs, Call, Dialogue, build, failed_condition, finished,
                                       read_call)
from agentzoo.recipes.proagent.agent import PROMPTS
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "envs"))  # the step core's conformance helpers
import step_conformance as conformance  # noqa: E402

ENV = Kitchen()
TASKS = {t.id: t for t in ENV.tasks()}
GALLEY = TASKS["galley-onions-0"]  # one pot, an onion-fetching teammate, 1 soup in 40 steps
EXPLAINER_SAYS = "Condition 1: Player 0 holds an onion. Not satisfied, because Player 0 holds nothing."


def reply(plan: str, intention: str = "pickup(onion)") -> str:
    return f'Analysis: a scene.\nIntention for Player 1: "{intention}"\nPlan for Player 0: "{plan}"'


def is_planner(request) -> bool:
    return system_of(request).startswith("You plan for Player 0")


def is_explainer(request) -> bool:
    return system_of(request).startswith("You find out why a skill cannot be done")


def scripted(task=GALLEY, first: dict[int, str] | None = None):
    """The oracle's planner (the kitchen's greedy rule) with the first planner reply of some calls replaced:
    `first[n]` answers the n-th planner request; the explainer says `EXPLAINER_SAYS`."""
    oracle = oracle_player(Gold.of(ENV, task))
    planned = []

    def play(request):
        if is_explainer(request):
            return EXPLAINER_SAYS
        planned.append(request)
        return (first or {}).get(len(planned) - 1) or oracle(request)

    return ScriptedModel(play, name="planner")


async def play_task(model, task=GALLEY, journal=None, **options):
    episode = ENV.episode(task)
    agent = build(model, episode=episode, **options)
    result = await runner.run(agent, task.prompt, journal=journal)
    assert result.ok, result.error
    score = await ENV.score(episode, result.answer, ScoringContext())
    return agent, result, score


# --- PAPERS.md's protocol test ----------------------------------------------------------------------


async def test_a_skill_whose_condition_fails_calls_the_explainer_and_the_next_planner_prompt_holds_its_answer(tmp_path):
    journal = Journal(tmp_path / "j.db")
    model = scripted(first={0: reply("put_onion_in_pot()")})  # Player 0 starts with empty hands
    agent, result, score = await play_task(model, journal=journal)
    first, explain, again = model.requests[:3]
    assert is_planner(first) and is_explainer(explain) and is_planner(again)
    # The explainer is asked about the scene and the failed skill, with the library's conditions in its prompt.
    assert last_user(explain).startswith("Scene 0: Player 0 holds nothing.")
    assert last_user(explain).endswith("Player 0 failed at put_onion_in_pot(). Why did Player 0 fail?")
    assert "put_onion_in_pot(): (1) Player 0 holds an onion; (2) a pot Player 0 can reach" in system_of(explain)
    # The planner is asked again: its dialogue holds the explanation, and it is told to plan again from it.
    history = [m["content"] for m in again.messages[1:-1]]
    assert history == [last_user(first), reply("put_onion_in_pot()"), EXPLAINER_SAYS]
    assert last_user(again).endswith("Your last skill for Player 0 cannot be done; the explanation is above. Based "
                                     "on it and the scene, analyse and plan again.")
    assert agent.trace.calls[:3] == [
        {"t": 0, "role": "planner", "skill": "put_onion_in_pot()", "replan": False},
        {"t": 0, "role": "explainer", "skill": "put_onion_in_pot()", "failed": "Player 0 holds an onion"},
        {"t": 0, "role": "planner", "skill": "pickup(onion)", "replan": True}]
    # Each model call in its own scope, numbered in program order within its time step.
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "model"]
    assert scopes[:4] == ["step#0/planner#0", "step#0/explainer#0", "step#0/planner#1", "step#2/planner#0"]
    assert score.success  # the replanned skill holds, and the team still delivers in time
    journal.close()


async def test_after_three_failed_retries_player_0_waits_a_step():
    always_wrong = ScriptedModel(lambda r: EXPLAINER_SAYS if is_explainer(r) else reply("deliver_soup()"))
    agent = build(always_wrong, episode=ENV.episode(GALLEY))
    await runner.run(agent, GALLEY.prompt)
    step0 = [c for c in agent.trace.calls if c["t"] == 0]
    assert [c["role"] for c in step0] == ["planner"] + ["explainer", "planner"] * 4  # 1 plan, 4 replans
    # the fourth replan is overridden by wait(1), so the next step plans afresh (and fails again)
    assert [c for c in agent.trace.calls if c["t"] == 1][0] == {"t": 1, "role": "planner", "skill": "deliver_soup()",
                                                               "replan": False}


# --- belief correction --------------------------------------------------------------------------------


async def test_the_next_planner_prompt_corrects_a_wrong_expectation_of_the_teammate_and_confirms_a_right_one():
    model = scripted(first={0: reply("pickup(onion)", intention="pickup(dish)")})
    agent, _, _ = await play_task(model)
    planners = [r for r in model.requests if is_planner(r)]
    assert last_user(planners[0]).startswith("What you expected Player 1 to do, by scene: nothing yet.\n"
                                             "What Player 1 actually did, by scene: nothing yet.\nScene 0:")
    second = last_user(planners[1])
    # The onion-fetching teammate took an onion in step 1, not a dish.
    assert second.startswith("What you expected Player 1 to do, by scene: scene 0: pickup(dish).\n"
                             "What Player 1 actually did, by scene: scene 1: pickup(onion).\n"
                             "Your last expectation was wrong: at scene 0 you expected pickup(dish), but Player 1 did "
                             "pickup(onion) at scene 1. Correct your belief about Player 1's strategy before you plan.")
    # Until the teammate finishes something after the last expectation, there is nothing to correct; then the
    # oracle's expectation (the greedy rule) proves right.
    assert "Your last expectation" not in last_user(planners[2])
    later = next(last_user(r) for r in planners[2:] if "Your last expectation" in last_user(r))
    assert "Your last expectation was right: at scene 15 you expected put_onion_in_pot, and Player 1 did " \
           "put_onion_in_pot at scene 15." in later  # it had held that onion since scene 1, waiting for the pot
    assert later.index("Your last expectation") < later.index("Scene ")  # beliefs come before the scene


async def test_without_belief_revision_there_is_no_belief_section_and_l2_asks_for_no_intention():
    model = scripted()
    await play_task(model, belief_revision=False)
    assert not any("What you expected" in last_user(r) for r in model.requests)
    assert "Intention for Player 1" in system_of(model.requests[0])
    model = scripted()
    await play_task(model, prompt_level="l2-ap", belief_revision=False)
    assert "Intention for Player 1" not in system_of(model.requests[0])
    assert "Analysis: <one or two sentences" in system_of(model.requests[0])


def test_a_correction_compares_the_last_expectation_with_the_first_thing_done_after_it():
    beliefs = Beliefs()
    assert beliefs.correction() is None
    beliefs.infer(3, "pickup(onion)")
    beliefs.saw(2, "pickup(dish)")  # before the expectation: not its answer
    assert beliefs.correction() is None
    beliefs.saw(6, "put_onion_in_pot")
    beliefs.saw(4, "pickup(onion)")
    assert beliefs.correction() == {"at": 3, "expected": "pickup(onion)", "when": 4, "did": "pickup(onion)",
                                    "right": True}
    beliefs.infer(5, "pickup(dish)")
    assert beliefs.correction()["did"] == "put_onion_in_pot" and not beliefs.correction()["right"]
    assert beliefs.recent(1) == {"inferred": [(5, "pickup(dish)")], "done": [(6, "put_onion_in_pot")]}


# --- memory: the recent K dialogue messages --------------------------------------------------------------


@pytest.mark.parametrize("k", [10, 3])
async def test_each_planner_prompt_shows_the_last_k_messages_of_the_dialogue(k):
    model = scripted(task=TASKS["split-greedy-0"], first={0: reply("put_onion_in_pot()")})
    agent, result, _ = await play_task(model, task=TASKS["split-greedy-0"], k=k)
    dialogue = result.messages[1:]  # the whole planner dialogue, after its system prompt
    assert len(dialogue) > 2 * k
    seen, longest = 0, 0
    for request in (r for r in model.requests if is_planner(r)):
        history = request.messages[1:-1]
        # the newest messages of the dialogue so far, and no more than k of them
        seen = next(j for j in range(seen, len(dialogue) + 1) if dialogue[max(0, j - len(history)):j] == history)
        assert len(history) == min(k, seen)
        longest = max(longest, len(history))
    assert longest == k
    assert any(m["content"] == "Player 0 succeeded at pickup(onion)." for m in dialogue)


def test_a_dialogue_of_k_zero_shows_nothing():
    dialogue = Dialogue(0)
    dialogue.add("user", "x")
    assert dialogue.recent() == [] and Dialogue(2, [{"role": "user", "content": str(i)} for i in range(5)]).recent() \
        == [{"role": "user", "content": "3"}, {"role": "user", "content": "4"}]


# --- the controller -----------------------------------------------------------------------------------


def walk(layout, state, call, teammate_stays=True, limit=30):
    """Player 0 under the controller, the teammate still: the actions until the skill is finished."""
    controller, actions = BFSController(), []
    while not finished(call, state, len(actions)) and len(actions) < limit:
        actions.append(controller.act(layout, state, call))
        advance(layout, state, (actions[-1], "stay"))
        assert state.cooks[0].pos != state.cooks[1].pos
    return actions


def test_the_controller_walks_the_shortest_path_and_interacts():
    layout = ENV.layout(GALLEY)
    state = State.start(layout)  # Player 0 at (1, 1) facing up; the dishes at (1, 5)
    assert walk(layout, state, Call("pickup", "dish")) == ["right", "right", "right", "interact"]
    assert state.cooks[0].holding == "dish"
    state = State.start(layout)
    state.cooks[1].pos = (1, 3)  # the teammate stands in the way: round it by the lower row
    actions = walk(layout, state, Call("pickup", "dish"))
    assert actions == ["down", "right", "right", "right", "up", "right", "interact"]
    assert len(actions) - 1 == len(shortest_path(layout, ((1, 1), "up"), goal_poses(layout, [(1, 5)]),
                                                 frozenset({(1, 3)})))


def test_waiting_steps_off_a_working_cell_and_otherwise_stays():
    layout = ENV.layout(GALLEY)
    state = State.start(layout)  # (1, 1) is beside the onions: a cell the teammate may need
    assert BFSController().act(layout, state, Call("wait", "3")) == "down"  # to (2, 1), beside counters only
    state.cooks[0].pos = (2, 1)
    assert BFSController().act(layout, state, Call("wait", "3")) == "stay"
    assert finished(Call("wait", "3"), state, 3) and not finished(Call("wait", "3"), state, 2)


# --- the skill library -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "player", "call"), [
    (reply("pickup(onion)"), 0, Call("pickup", "onion")),
    (reply("put_onion_in_pot()", "pickup(dish)"), 1, Call("pickup", "dish")),
    ('Plan for Player 0: "fill_dish_with_soup()".', 0, Call("fill_dish_with_soup")),
    ("Plan for Player 0: deliver_soup(), pickup(onion)", 0, Call("deliver_soup")),  # two skills: the first
    ("Plan for Player 0: place the onion on the counter", 0, Call("place_obj_on_counter")),
    ("Plan for Player 0: put onion into the pot", 0, Call("put_onion_in_pot")),
    ('Plan for Player 0: "wait(20)" or "pickup(dish)"', 0, Call("wait", "20")),  # the first (ProAgent: the pickup)
    ("Plan for Player 0: wait", 0, Call("wait", "1")),
    ("Plan for Player 0: wait(5)", 0, Call("wait", "5")),
    ("Plan for Player 0: pickup(tomato)", 0, Call("pickup", "")),  # no such item: its check fails
    ("I will deliver the soup, then pick up an onion.", 0, Call("deliver_soup")),  # no plan line: the first keyword
    ("PLAN FOR PLAYER 0: PICKUP(ONION)", 0, Call("pickup", "onion")),
    ("Analysis: nothing to do.", 0, None),
    ("", 0, None),
])
def test_the_plan_line_is_read_for_a_skill(text, player, call):
    assert read_call(text, player) == call


def test_conditions_are_checked_over_the_state_in_the_librarys_order():
    layout = ENV.layout(GALLEY)
    state = State.start(layout)

    def failed(call):
        condition = failed_condition(call, layout, state)
        return condition.check if condition else None

    assert failed(Call("pickup", "onion")) is None and failed(Call("pickup", "")) == "known_item"
    assert failed(Call("put_onion_in_pot")) == "holds_onion"
    state.cooks[0].holding = "onion"
    assert failed(Call("pickup", "dish")) == "hands_empty" and failed(Call("put_onion_in_pot")) is None
    state.pots[0].onions, state.pots[0].left = 3, 5
    assert failed(Call("put_onion_in_pot")) == "pot_takes_onion"
    state.cooks[0].holding = "dish"
    assert failed(Call("fill_dish_with_soup")) is None  # cooking is enough: it waits at the pot
    state.pots[0].onions, state.pots[0].left = 0, None
    assert failed(Call("fill_dish_with_soup")) == "soup_coming"
    assert failed(Call("deliver_soup")) == "holds_soup" and failed(Call("place_obj_on_counter")) is None
    assert failed(Call("wait", "20")) is None and failed(Call("wait", "21")) == "wait_length"


# --- the harness: oracle, refusal, replay, resume ----------------------------------------------------------


async def test_the_oracle_plays_every_kitchen_task_through_the_harness(tmp_path):
    samples = [Sample(ENV.name, task, "proagent", "oracle", 0) for task in TASKS.values()]
    await run_eval(samples, {ENV.name: ENV}, EvalConfig(out=tmp_path, concurrency=3))
    store = ResultStore(tmp_path / "results.db")
    rows = list(store.rows())
    store.close()
    assert len(rows) == len(TASKS) and all(r["reward"] == 1.0 and r["success"] for r in rows), rows
    # The oracle's skills, turned into moves by the controller, are the kitchen's own gold moves.
    assert all(r["score"]["steps"] == len(TASKS[r["task"]].gold) for r in rows)


async def test_it_refuses_an_episode_that_is_not_a_kitchen():
    with pytest.raises(ConfigError, match="needs an episode of kitchen"):
        build(ScriptedModel([]), episode=Episode(GALLEY))
    maze = GridWorld()
    result = await runner.run(build(ScriptedModel([]), episode=maze.episode(maze.tasks()[0])), "x")
    assert not result.ok and "carry no kitchen state" in result.error["message"]
    with pytest.raises(ConfigError, match="belief_revision needs the teammate's inferred intention"):
        build_recipe("proagent", ScriptedModel([]), episode=ENV.episode(GALLEY), prompt_level="l1-p")


async def test_a_run_replays_with_no_model_and_no_kitchen(tmp_path):
    journal = Journal(tmp_path / "j.db")
    model = scripted(first={0: reply("put_onion_in_pot()")})
    _, live, _ = await play_task(model, journal=journal)
    silent = ScriptedModel([], name="planner")  # the recorded model's name, with no reply to give
    replayed = await runner.replay(build(silent), live.run_id, journal=journal)  # no episode: nothing to step
    assert replayed.ok and replayed.live_effects == 0 and silent.calls == 0
    assert replayed.answer == live.answer and json.dumps(replayed.messages) == json.dumps(live.messages)
    journal.close()


async def test_a_run_killed_mid_episode_resumes_without_repeating_a_finished_step(tmp_path):
    crash, task, kill_after = HERE / "proagent_crash.py", GALLEY, 9
    ref = subprocess.run([sys.executable, crash, task.id, tmp_path / "ref.db"], capture_output=True, text=True,
                         timeout=300)
    assert ref.returncode == 0, ref.stderr
    with Journal(tmp_path / "ref.db") as journal:
        entries = list(journal.entries(ref.stdout.split()[0]))
        ref_calls = [e.scope for e in entries if e.kind == "model"]
        ref_steps = sum(e.kind == "env" for e in entries) - 1  # the reset is not a step
        ref_answer = next(e for e in reversed(entries) if e.kind == "env").result["outcome"]["observation"]["text"]
    killed = subprocess.run([sys.executable, crash, task.id, tmp_path / "j.db", str(kill_after)],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert any("explainer" in scope for scope in ref_calls[:kill_after])  # killed after an explanation

    sys.path.insert(0, str(HERE))
    from proagent_crash import agent, player

    log = tmp_path / "performed.log"
    env = conformance.instrument(Kitchen(), log)
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        before = [e for e in journal.entries(run.run_id)]
        assert sum(e.kind == "model" for e in before) == kill_after
        steps_before = sum(e.kind == "env" for e in before) - 1
        assert 0 < steps_before < ref_steps
        model = ScriptedModel(player(env, task), name="play")
        episode = env.episode(task)
        resumed = await runner.resume(agent(env, task, episode, model), run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        after = list(journal.entries(resumed.run_id))
        keys = [(e.scope, e.seq) for e in after]
        assert len(keys) == len(set(keys))
        assert [e.scope for e in after if e.kind == "model"] == ref_calls
    # Nothing done twice: the model answers only the calls the killed run had not recorded, and the kitchen,
    # restored from the last recorded step's snapshot (no reset), takes only the steps that were not taken.
    assert len(model.requests) == len(ref_calls) - kill_after
    performed = conformance.performed(log)
    assert performed[0]["op"] == "restore" and "reset" not in [p["op"] for p in performed]
    assert sum(p["op"] == "step" for p in performed) == ref_steps - steps_before
    assert resumed.answer == ref_answer
    score = await ENV.score(episode, resumed.answer, ScoringContext())
    assert score.success and stepping.progress_of(episode).steps == ref_steps


# --- the shipped local model -------------------------------------------------------------------------


async def test_the_shipped_local_model_plays_a_short_kitchen_episode(tmp_path):
    pytest.importorskip("xllamacpp")
    from agentzoo.models.local import model_file
    from agentzoo.runtime.spec import AgentSpec

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    env = Kitchen(horizon=2)
    task = env.tasks()[0]
    spec = AgentSpec(agent="proagent", model="local:smollm2-135m?ctx=4096",
                     options={"max_tokens": 32, "max_retries": 0})
    await run_eval([Sample(env.name, task, "proagent", spec.model, 0)], {env.name: env},
                   EvalConfig(out=tmp_path, concurrency=1, agents={"proagent": spec}))
    store = ResultStore(tmp_path / "results.db")
    [row] = list(store.rows())
    store.close()
    assert row["status"] == "finished", row["error"]
    assert row["score"]["steps"] == 2 and row["score"]["soups"] == 0  # no soup is made in 2 steps
    assert 1 <= row["model_calls"] <= 2 * 3  # per step at most a plan, an explanation and a replan
    with Journal(tmp_path / "journal.db") as journal:
        calls = [e for e in journal.entries(row["run_id"]) if e.kind == "model"]
        assert calls and all(e.name == "local:smollm2-135m" and e.request["max_tokens"] == 32 for e in calls)
        assert calls[0].request["stop"] == ["Scene"] and calls[0].request["temperature"] == 0.0


def test_the_prompts_are_template_files():
    assert {p.name for p in PROMPTS.glob("*.j2")} == {"planner.j2", "scene.j2", "belief.j2", "replan.j2",
                                                     "success.j2", "explainer.j2", "failure.j2"}
