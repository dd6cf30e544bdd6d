"""The tree search engine (`agentzoo.search`): selection, feedback, stops, budgets, replay, resume, determinism.

The searches run on a real step environment (the mazes of `gridworld`) with scripted models that are functions
of the request, so a tree depends only on what the models were asked.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from search_models import hashed_policy, hashed_value, models

from agentzoo import Journal
from agentzoo.envs.gridworld import GridWorld
from agentzoo.envs.step import Observation, StepOutcome
from agentzoo.envs.stepping import Progress, Record, driver_of, progress_of
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.runtime.budgets import Budget
from agentzoo.search import (UCT, Beam, BestFirst, Debate, EnvReward, Limits, MeanReward, Reward, TextPolicy, Tree,
                             TreeSearch, ValueAgent)
from agentzoo.search.agent import SearchAgent
from agentzoo.search.values import parse_reward
from agentzoo.types import ModelResponse, Usage

HERE = Path(__file__).parent
ENV = GridWorld()
TASK = ENV.tasks()[4]  # a 5×5 maze, 14 moves to the exit


def search_agent(policy, value, *, selector=None, limits=None, budget=None, episode=True, discriminator=None):
    search = TreeSearch(TextPolicy(policy), value if not hasattr(value, "complete") else ValueAgent(value),
                        selector or UCT.swe_search(), discriminator,
                        limits or Limits(max_iterations=12, max_expansions=3, max_depth=10), budget)
    return SearchAgent(search, driver_of(ENV.episode(TASK)) if episode else None)


def tree_entry(journal: Journal, run_id: str) -> dict:
    [entry] = [e for e in journal.entries(run_id) if e.kind == "search" and e.name == "tree"]
    return entry.result


# --- selection ------------------------------------------------------------------------------------


def _judged(tree: Tree, parent, value: float, visits: int, action: str):
    node = tree.add(parent, action=action)
    node.record = Record(StepOutcome(Observation(action)), {}, Progress(steps=node.depth))
    node.reward, node.visits, node.value_sum = Reward(value), visits, value * visits
    return node


def test_uct_reselects_the_node_with_the_higher_mean_unless_exploration_dominates():
    tree = Tree()
    tree.root.record = Record(StepOutcome(Observation("start")), {}, Progress())
    tree.root.visits = 12
    good = _judged(tree, tree.root, 60, 10, "east")
    poor = _judged(tree, tree.root, 20, 1, "west")
    for node in (good, poor):  # both have a child, so neither is a leaf with a bonus
        _judged(tree, node, node.reward.value, 1, "north")
    full = Limits().max_expansions
    assert UCT.swe_search().select(tree, [good, poor], full) == [good]
    # Exploration dominates once its weight outgrows the gap in means: √(ln 12 / 1) ≈ 1.58 for the poor node.
    assert UCT(exploration_weight=100.0).select(tree, [good, poor], full) == [poor]
    score = UCT.swe_search().score(good)
    assert score.parts["exploitation"] == 60 and score.parts["depth_penalty"] == pytest.approx(-0.8)
    assert score.total == pytest.approx(sum(score.parts.values()))


def test_uct_classic_descends_from_the_root_to_an_expandable_node():
    tree = Tree()
    tree.root.record = Record(StepOutcome(Observation("start")), {}, Progress())
    tree.root.visits = 3
    a = _judged(tree, tree.root, 1.0, 2, "a")
    b = _judged(tree, tree.root, 0.0, 1, "b")
    a1 = _judged(tree, a, 1.0, 1, "a1")
    # The root and `a` are full (max 2 children here); the descent goes root → a (higher mean) → a1.
    _judged(tree, a, 1.0, 1, "a2")
    expandable = [n for n in tree.nodes if len(n.children) < 2 and n is not tree.root and n is not a]
    assert UCT.classic(0.25).select(tree, expandable, 2) == [a1]
    assert b in expandable


def test_beam_expands_the_best_of_the_deepest_level_max_expansions_times():
    tree = Tree()
    tree.root.record = Record(StepOutcome(Observation("start")), {}, Progress())
    kids = [_judged(tree, tree.root, v, 1, f"k{v}") for v in (10, 30, 20)]
    assert Beam(width=2).select(tree, kids, 2) == [kids[1], kids[1], kids[2], kids[2]]
    assert BestFirst().select(tree, kids, 2) == [kids[1]]


# --- a search on a maze ----------------------------------------------------------------------------


async def test_feedback_on_the_siblings_reaches_the_second_and_third_expansions(journal):
    feedbacks = iter(["F-one", "F-two", "F-three"] + ["F-more"] * 20)
    moves = iter(["east", "south", "west"] + ["north"] * 20)
    policy = ScriptedModel(lambda r: f"Action: {next(moves)}", name="policy")
    value = ScriptedModel(lambda r: json.dumps({"explanation": "e", "feedback": next(feedbacks), "value": 10}),
                          name="value")
    agent = search_agent(policy, value, limits=Limits(max_iterations=3, max_expansions=3, max_depth=5))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert result.ok, result.error
    tree = agent.last.tree
    assert [c.action for c in tree.root.children] == ["east", "south", "west"]  # the root's depth bonus
    first, second, third = (r.messages[-1]["content"] for r in policy.requests)
    assert "Actions already tried" not in first
    assert "`east` (value 10): F-one" in second and "F-two" not in second
    assert "`east` (value 10): F-one" in third and "`south` (value 10): F-two" in third
    assert tree.root.children[1].feedback is not None and tree.root.children[0].feedback is None


async def test_the_policy_is_told_the_environments_task_not_the_tool_agents_prompt(journal):
    policy = ScriptedModel(lambda r: "Action: south", name="policy")
    value = ScriptedModel(lambda r: json.dumps({"explanation": "e", "feedback": "f", "value": 1}), name="value")
    agent = search_agent(policy, value, limits=Limits(max_iterations=1, max_expansions=1, max_depth=2))
    harness_prompt = TASK.prompt + "\n\nYou act with the tool `act`: pass it one action."
    result = await runner.run(agent, harness_prompt, journal=journal)
    assert result.ok, result.error
    first = policy.requests[0].messages[1]["content"]
    assert first.startswith(TASK.prompt) and "`act`" not in first
    again = search_agent(policy, value, limits=Limits(max_iterations=1, max_expansions=1, max_depth=2), episode=False)
    replayed = await runner.replay(again, result.run_id, journal=journal)  # no episode: the stated task is journaled
    assert replayed.ok and replayed.live_effects == 0 and replayed.answer == result.answer
    assert again.last.tree.to_json() == tree_entry(journal, result.run_id)["nodes"]


async def test_the_search_stops_at_max_iterations_and_records_its_tree(journal):
    policy, value = models()
    agent = search_agent(policy, value, limits=Limits(max_iterations=7, max_expansions=3, max_depth=10))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert agent.last.stopped == "max iterations" and agent.last.iterations == 7
    assert len(policy.requests) == 7  # one proposal per iteration
    summary = tree_entry(journal, result.run_id)
    assert summary["iterations"] == 7 and len(summary["nodes"]) == 8
    scopes = {e.scope for e in journal.entries(result.run_id)}
    assert {"search/node#1/policy", "search/node#1/env", "search/node#1/value"} <= scopes


async def test_a_duplicate_action_is_not_stepped_and_is_penalised(journal):
    policy = ScriptedModel(lambda r: "Action: east", name="policy")
    value = ScriptedModel(lambda r: json.dumps({"explanation": "", "feedback": "", "value": 50}), name="value")
    agent = search_agent(policy, value, limits=Limits(max_iterations=3, max_expansions=3, max_depth=5))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    root = agent.last.tree.root
    assert [c.duplicate for c in root.children] == [False, True, True]
    env_steps = [e for e in journal.entries(result.run_id) if e.kind == "env"]
    assert len(env_steps) == 2  # the reset and the first east
    assert UCT.swe_search().score(root).parts["duplicate_child_penalty"] == -20


async def test_a_replay_makes_no_model_call_and_rebuilds_the_same_tree(journal):
    policy, value = models()
    first = await runner.run(search_agent(policy, value), TASK.prompt, journal=journal)
    replayed_policy, replayed_value = models()
    agent = search_agent(replayed_policy, replayed_value, episode=False)  # no environment either
    again = await runner.replay(agent, first.run_id, journal=journal)
    assert again.ok and again.live_effects == 0
    assert replayed_policy.requests == [] and replayed_value.requests == []
    assert agent.last.tree.to_json() == tree_entry(journal, first.run_id)["nodes"]
    assert again.answer == first.answer


async def test_the_same_models_give_the_same_tree(tmp_path):
    trees = []
    for i in range(2):
        with Journal(tmp_path / f"j{i}.db") as journal:
            run = await runner.run(search_agent(*models()), TASK.prompt, journal=journal)
            trees.append(tree_entry(journal, run.run_id))
    assert trees[0] == trees[1]


class Jittery:
    """A model that answers after a random delay, so concurrent expansions finish in any order."""

    def __init__(self, fn, name: str, rng: random.Random) -> None:
        self.fn, self.name, self.rng = fn, name, rng

    async def complete(self, request, *, on_delta=None):
        await asyncio.sleep(self.rng.random() * 0.02)
        return ModelResponse({"role": "assistant", "content": self.fn(request)}, "stop", Usage(10, 5), self.name)


@pytest.mark.parametrize("seed", [1, 2])
async def test_concurrent_expansions_number_nodes_the_same_whatever_the_order(tmp_path, seed):
    limits = Limits(max_iterations=3, max_expansions=2, max_depth=6, concurrency=4)
    trees = []
    for i, concurrency in enumerate((4, 1)):
        rng = random.Random(seed * 10 + i)
        with Journal(tmp_path / f"j{i}.db") as journal:
            agent = search_agent(Jittery(hashed_policy, "policy", rng), Jittery(hashed_value, "value", rng),
                                 selector=Beam(width=2), limits=Limits(**{**limits.__dict__, "concurrency": concurrency}))
            run = await runner.run(agent, TASK.prompt, journal=journal)
            assert run.ok, run.error
            trees.append(tree_entry(journal, run.run_id)["nodes"])
            replayed = await runner.replay(search_agent(*models(), selector=Beam(width=2), limits=limits,
                                                        episode=False), run.run_id, journal=journal)
            assert replayed.ok and replayed.live_effects == 0
    assert trees[0] == trees[1]
    assert len(trees[0]) >= 1 + 2 + 2  # the root's two children, then at least one beam node's two


async def test_a_model_call_budget_stops_the_search_cleanly_and_keeps_the_best(journal):
    policy, value = models()
    agent = search_agent(policy, value, budget=Budget(model_calls=9),
                         limits=Limits(max_iterations=50, max_expansions=3, max_depth=10))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert result.ok, result.error  # the run finishes; the search just stops
    assert agent.last.stopped.startswith("budget")
    assert len(policy.requests) + len(value.requests) <= 9
    best = agent.last.best
    assert best.reward is not None and best.reward.value == max(n.reward.value for n in agent.last.tree.nodes
                                                                 if n.reward is not None)
    assert progress_of(agent_episode(agent)).history == best.record.progress.history  # the scorer sees it


def agent_episode(agent):
    class _E:  # progress_of reads the driver from an episode's state
        state = {"driver": agent.driver}
    return _E()


async def test_a_wall_time_budget_is_read_from_the_journaled_clock(journal):
    policy, value = models()
    agent = search_agent(policy, value, budget=Budget(wall_seconds=0.0))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert agent.last.stopped.startswith("budget: wall time") and agent.last.iterations == 0
    assert [e.kind for e in journal.entries(result.run_id)].count("clock") == 2
    replay_agent = search_agent(*models(), budget=Budget(wall_seconds=0.0), episode=False)
    again = await runner.replay(replay_agent, result.run_id, journal=journal)
    assert again.ok and replay_agent.last.stopped == agent.last.stopped


async def test_rollouts_reach_the_end_and_back_up_the_environment_reward(journal):
    gold = [r.removeprefix("Action: ") for r in ENV.oracle(TASK, "stepper") if isinstance(r, str)]
    policy = ScriptedModel(lambda r: f"Action: {gold[sum(m['role'] == 'assistant' for m in r.messages)]}",
                           name="policy")
    agent = search_agent(policy, EnvReward(), selector=UCT.classic(0.25),
                         limits=Limits(max_iterations=1, max_expansions=1, max_depth=30, rollout=True))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    tree = agent.last.tree
    assert len(tree) == len(gold) + 1 and tree.nodes[-1].finished
    assert tree.nodes[-1].reward.value == 1.0 and tree.root.mean == 1.0  # only the end is judged, backed up
    assert all(n.reward is None for n in tree.nodes[1:-1])
    assert result.answer is not None


# --- values and discriminators ----------------------------------------------------------------------


def test_parse_reward_clamps_and_reads_strings():
    assert parse_reward('{"explanation": "x", "feedback": "f", "value": 250}') == Reward(100.0, "x", "f")
    assert parse_reward('Here: {"value": "-30", "explanation": "bad"}').value == -30.0
    with pytest.raises(Exception, match="value"):
        parse_reward('{"value": "high"}')


async def test_an_unreadable_value_is_asked_again_once_then_taken_as_zero(journal):
    policy = ScriptedModel(lambda r: "Action: east", name="policy")
    value = ScriptedModel(["I think it is fine.", "still no json"] * 3, name="value")
    agent = search_agent(policy, value, limits=Limits(max_iterations=1, max_expansions=1, max_depth=3))
    await runner.run(agent, TASK.prompt, journal=journal)
    reward = agent.last.tree.nodes[1].reward
    assert reward.value == 0 and "could not be read" in reward.explanation
    assert len(value.requests) == 2 and "could not be read" in value.requests[1].messages[-1]["content"]


def _finished_tree(means: list[float]) -> Tree:
    tree = Tree()
    tree.root.record = Record(StepOutcome(Observation("start")), {}, Progress())
    for i, mean in enumerate(means):
        node = tree.add(tree.root, action=f"finish {i}")
        node.record = Record(StepOutcome(Observation("end"), done=True, info={"answer": f"answer {i}"}), {},
                             Progress(steps=1, done=True))
        node.reward = Reward(mean)
    return tree


async def test_mean_reward_and_the_debate_choose_among_finished_trajectories(journal):
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    tree = _finished_tree([10, 80, 40])
    ctx = Context(Gateway(run_id="r"))
    assert (await MeanReward().choose(tree, "t", ctx)).id == 2
    # Five reviewers, three rounds: the last round's plurality wins (node 3 over the best mean, node 2).
    votes = iter([2, 2, 2, 2, 2] + [3, 3, 2, 2, 3] + [3, 3, 3, 2, 2])
    model = ScriptedModel(lambda r: json.dumps({"explanation": "because", "choice": next(votes)}), name="judge")
    chosen = await Debate(model).choose(tree, "t", ctx)
    assert chosen.id == 3 and len(model.requests) == 15
    last_round = model.requests[-1].messages[-1]["content"]
    assert "Reviewer 0 chose attempt 3" in last_round and "=== Attempt 2" in last_round
    # A tie goes to the higher mean value.
    votes = iter([1, 1, 3, 3, 9] * 3)
    model = ScriptedModel(lambda r: json.dumps({"choice": next(votes)}), name="judge")
    again = Context(Gateway(run_id="r2"))  # another search's choice: its reviewers' scopes are its own
    assert (await Debate(model).choose(tree, "t", again)).id == 3


# --- a crash --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kill_after", [3, 8])
async def test_sigkill_mid_search_then_resume_repeats_no_finished_model_call(tmp_path, kill_after):
    reference = tmp_path / "ref.db"
    out = subprocess.run([sys.executable, HERE / "search_crash.py", reference], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    ref_run = out.stdout.split()[0]
    with Journal(reference) as journal:
        ref_tree = tree_entry(journal, ref_run)
        ref_calls = sum(e.kind == "model" for e in journal.entries(ref_run))
    crashed = tmp_path / "j.db"
    out = subprocess.run([sys.executable, HERE / "search_crash.py", crashed, str(kill_after)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == -signal.SIGKILL, out.stderr
    with Journal(crashed) as journal:
        [run] = journal.list_runs()
        assert sum(e.kind == "model" for e in journal.entries(run.run_id)) == kill_after
        policy, value = models()
        sys.path.insert(0, str(HERE))
        from search_crash import agent, maze  # the same agent, in this process

        env, task = maze()
        resumed = await runner.resume(agent(env.episode(task), policy, value), run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert len(policy.requests) + len(value.requests) == ref_calls - kill_after  # nothing asked twice
        assert tree_entry(journal, resumed.run_id) == ref_tree


async def test_export_of_a_search_run_is_the_chosen_path(journal):
    from agentzoo.export import export_run

    policy, value = models()
    agent = search_agent(policy, value)
    result = await runner.run(agent, TASK.prompt, journal=journal)
    record = export_run(journal, result.run_id, "sharegpt")
    best = agent.last.best
    assert record["metadata"]["scope"] == f"search/node#{best.id}/policy"
    gpt = [t["value"] for t in record["conversations"] if t["from"] == "gpt"]
    assert gpt == [n.reply for n in best.path()[1:]]  # the chosen path's replies, in order
