"""The layered network: early stop exactly at the agreement threshold, importance that sums to 1
per round, selection of the ranked agents, concurrency of the first batch, deterministic replay."""

from __future__ import annotations

import asyncio
import math

import pytest

import agentzoo
from agentzoo import ScriptedModel
from agentzoo.teams.layered import Activation, LayeredNetwork, edge_weights, importance, most_frequent, Node
from agentzoo.types import ModelRequest


class Voter:
    """An agent whose answers come from `plan[round]` (a value, or a list to pop from); it rates
    the replies it is shown with `ratings(shown)`. Each activation is a journaled model call."""

    def __init__(self, name, plan, model, ratings=None):
        self.name, self.plan, self.model, self.ratings = name, plan, model, ratings
        self.shown: list[list[int]] = []

    async def activate(self, task, shown, round, ctx):
        self.shown.append([n.agent for n in shown])
        reply = (await ctx.model(self.model, ModelRequest(messages=[{"role": "user",
                                                                       "content": f"{self.name} r{round}"}]))).text
        answer = self.plan[min(round, len(self.plan) - 1)]
        return Activation(f"{reply}: {answer}", answer, self.ratings(shown) if self.ratings and shown else ())


class PickFirst:
    def __init__(self, positions):
        self.positions, self.calls = positions, []

    async def select(self, task, shown, k, ctx):
        self.calls.append([n.agent for n in shown])
        return self.positions


def network(plans, *, model=None, ratings=None, selector=None, **kw):
    model = model or ScriptedModel(lambda request: "said")
    agents = [Voter(f"a{i}", plan, model, ratings) for i, plan in enumerate(plans)]
    return agents, LayeredNetwork(agents, selector=selector, shuffle=False, seed=0, **kw)


def calls(agents):
    return [len(a.shown) for a in agents]


# --- pure parts -------------------------------------------------------------------------------------


def test_edge_weights():
    assert edge_weights([5, 1], 2) == pytest.approx([5 / 6, 1 / 6])
    assert edge_weights([0, 0, 0], 3) == pytest.approx([1 / 3] * 3)          # all zero: uniform
    assert edge_weights([5, 1], 3) == pytest.approx([1 / 3] * 3)             # wrong count: uniform
    assert edge_weights([9, 5, -2], 3) == pytest.approx([0.5, 0.5, 0.0])     # above 5 counts 1, below 1 counts 0


def test_most_frequent_takes_the_first_of_a_tie_and_ignores_missing_answers():
    eq = lambda a, b: a == b  # noqa: E731
    assert most_frequent(["B", "A", "A", "B"], eq) == (0, 2)
    assert most_frequent([None, None, "C"], eq) == (2, 1)
    assert most_frequent([None], eq) == (None, 0)


# --- early stop: exactly at the threshold ------------------------------------------------------------


async def test_four_agents_answering_a_a_a_b_stop_after_the_third():
    agents, net = network([["A"], ["A"], ["A"], ["B"]])
    result = await net.run("q", _ctx())
    # floor(2/3 · 4) = 2: 3 agreeing answers exceed it
    assert calls(agents) == [1, 1, 1, 0] and result.value == "A" and result.consensus_round == 0
    assert [n.agent for n in result.layers[0]] == [0, 1, 2] and result.layers[1] == []


async def test_no_stop_before_the_threshold_is_exceeded():
    agents, net = network([["A", "C"], ["A", "C"], ["B", "C"], ["A", "D"]])
    result = await net.run("q", _ctx())
    # round 1: after 3 answers only 2 agree (not > 2), so the 4th is asked: 3 agree → stop
    assert calls(agents) == [1, 1, 1, 1] and result.value == "A" and result.consensus_round == 0
    agents, net = network([["A", "C"], ["B", "C"], ["C", "D"], ["D", "C"]])
    result = await net.run("q", _ctx())
    # round 1 never agrees; round 2: C, C, D (2 agree, not enough), then C: 3 agree
    assert calls(agents) == [2, 2, 2, 2] and result.value == "C" and result.consensus_round == 1


async def test_three_agents_need_all_three():
    agents, net = network([["A"], ["A"], ["B"]], rounds=2)
    result = await net.run("q", _ctx())
    # floor(2/3 · 3) = 2: the check starts after the 3rd answer and needs 3 alike; 2 rounds, no stop
    assert calls(agents) == [2, 2, 2] and not result.stopped_early and result.value == "A"


# --- ratings and importance --------------------------------------------------------------------------


def first_best(shown):
    return [5] + [1] * (len(shown) - 1)


async def test_importance_sums_to_one_per_round_and_follows_the_ratings():
    plans = [["A", "A", "A"], ["B", "A", "B"], ["C", "B", "A"], ["D", "C", "C"]]
    selector = PickFirst([0, 1])
    agents, net = network(plans, ratings=first_best, selector=selector)
    result = await net.run("q", _ctx())
    # rounds 1 and 2 never agree; the selector keeps agents 0 and 1, who answer A and B in round 3
    assert calls(agents) == [3, 3, 2, 2] and selector.calls == [[0, 1, 2, 3]] and result.selections == [[0, 1]]
    assert result.value == "A" and not result.stopped_early
    assert [n.shown for n in result.layers[0]] == [()] * 4  # round 1 sees nothing
    assert all(n.shown == (0, 1, 2, 3) for n in result.layers[1] + result.layers[2])  # the whole round before
    # round 3's answer is A, held by agent 0's node only → 1. Every node rates the first reply it
    # is shown 5 and the others 1: weights 5/8, 1/8, 1/8, 1/8 on its incoming edges.
    expected_r2 = [5 / 8, 1 / 8, 1 / 8, 1 / 8]   # through agent 0's round-3 node only
    expected_r1 = [5 / 8, 1 / 8, 1 / 8, 1 / 8]   # each round-2 node passes on its share by the same weights
    assert result.importance[2] == pytest.approx([1, 0, 0, 0])
    assert result.importance[1] == pytest.approx(expected_r2)
    assert result.importance[0] == pytest.approx(expected_r1)
    assert result.importance[0][0] > result.importance[0][1]  # the predecessor rated 5 outranks the one rated 1
    for row in result.importance:
        assert math.isclose(sum(row), 1.0)
    assert sum(result.agent_importance) == pytest.approx(3)  # one per round run
    assert result.agent_importance == pytest.approx([sum(r[a] for r in result.importance) for a in range(4)])


async def test_importance_of_a_network_stopped_early_sums_over_the_rounds_run():
    agents, net = network([["A", "B"], ["B", "B"], ["C", "B"], ["D", "X"]], ratings=first_best)
    result = await net.run("q", _ctx())
    assert result.consensus_round == 1 and calls(agents) == [2, 2, 2, 1]
    # round 2's three B nodes share 1; round 1 gets it through the edges
    assert result.importance[1] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0])
    assert [sum(r) for r in result.importance] == pytest.approx([1, 1, 0])
    assert result.importance[0][0] == pytest.approx(5 / 8) and result.importance[0][3] == pytest.approx(1 / 8)


def test_importance_with_an_external_reference_and_with_no_correct_node():
    layers = [[Node(0, 0, "r", "A"), Node(1, 0, "r", "B")],
              [Node(0, 1, "r", "A", (0, 1), (5, 5), ((0, 0.5), (1, 0.5))),
               Node(1, 1, "r", "B", (0, 1), (1, 4), ((0, 0.2), (1, 0.8)))]]
    eq = lambda a, b: a == b  # noqa: E731
    first, last = importance(layers, 2, "B", eq)
    assert last == [0, 1] and first == pytest.approx([0.2, 0.8])
    assert importance(layers, 2, "Z", eq) == [[0, 0], [0, 0]]


# --- judges between rounds (DyLAN's code-generation network) ----------------------------------------


class Judge:
    """A judge that rates the replies it is shown with `ratings(shown)` and asks no model."""

    def __init__(self, name, ratings):
        self.name, self.ratings, self.shown = name, ratings, []

    async def activate(self, task, shown, round, ctx):
        self.shown.append([n.agent for n in shown])
        return Activation(f"{self.name} judged", {"round": round}, self.ratings(shown))


async def test_judges_sit_between_rounds_and_importance_flows_back_through_them():
    agents, _ = network([["A", "A"], ["B", "A"]])
    judges = [Judge("j0", lambda shown: [5, 1]), Judge("j1", lambda shown: [1, 5])]
    for agent in agents:
        agent.ratings = first_best
    net = LayeredNetwork(agents, judges=judges, rounds=3, shuffle=False, seed=0)
    result = await net.run("q", _ctx())
    assert result.kinds == ["agents", "judges", "agents", "judges", "agents"]
    # round 1: A, B; the judges see both and rate them; round 2: each agent sees the judges (members 2
    # and 3), rates them 5 and 1, and both answer A: 2 > floor(2/3 · 2) = 1 → stop
    assert [j.shown for j in judges] == [[[0, 1]], [[0, 1]]] and agents[0].shown == [[], [2, 3]]
    assert [n.agent for n in result.layers[1]] == [2, 3] and result.layers[1][0].answer == {"round": 1}
    assert result.consensus_round == 2 and result.value == "A" and result.layers[3:] == [[], []]
    assert result.importance[2] == pytest.approx([0.5, 0.5, 0, 0])
    assert result.importance[1] == pytest.approx([0, 0, 5 / 6, 1 / 6])         # the judges' share
    assert result.importance[0] == pytest.approx([26 / 36, 10 / 36, 0, 0])    # j0 liked a0, j1 liked a1
    assert result.agent_importance == pytest.approx([0.5 + 26 / 36, 0.5 + 10 / 36, 5 / 6, 1 / 6])


async def test_consensus_from_skips_the_check_and_decide_picks_the_final_node():
    picked = []

    async def decide(task, nodes, layers, ctx):
        picked.append([n.agent for n in nodes])
        return nodes[-1]

    agents, net = network([["A", "B"], ["A", "C"], ["A", "C"]], rounds=2, consensus_from=1, decide=decide)
    result = await net.run("q", _ctx())
    # round 1 agrees (A ×3) but is not checked; round 2: B, C, C → C agrees twice, not > 2, ends
    assert calls(agents) == [2, 2, 2] and result.consensus_round is None
    assert picked == [[0, 1, 2]] and result.value == "C" and result.answer.endswith(": C")  # decide's node


# --- selection, order, concurrency, replay -------------------------------------------------------------


async def test_the_selected_agents_are_the_ones_activated():
    """Upstream activates the *positions* the ranker names in a freshly shuffled order (random
    agents); the paper, and this network, activate the agents whose replies were chosen."""
    plans = [["A", "B", "X"], ["B", "C", "X"], ["C", "D", "Y"], ["D", "E", "Y"]]
    agents, net = network(plans, selector=PickFirst([3, 2]))
    result = await net.run("q", _ctx())
    assert result.selections == [[3, 2]] and calls(agents) == [2, 2, 3, 3]
    assert [n.agent for n in result.layers[2]] == [3, 2]
    assert agents[3].shown[2] == [0, 1, 2, 3]  # a selected node is shown all of the previous round


async def test_the_first_batch_of_a_round_runs_concurrently_and_the_rest_one_by_one():
    running, peak, log = 0, 0, []

    async def slow(request):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        log.append(("start", request.messages[0]["content"]))
        await asyncio.sleep(0.02)
        running -= 1
        log.append(("end", request.messages[0]["content"]))
        return "said"

    agents, net = network([["A"], ["B"], ["C"], ["A"], ["A"], ["A"]], model=ScriptedModel(slow), rounds=1)
    result = await net.run("q", _ctx())
    # 6 agents: floor(2/3 · 6) + 1 = 5 answers are needed before any check, so they run at once;
    # then the 6th alone (A then has 4, not more than 4: no consensus)
    assert peak == 5 and calls(agents) == [1] * 6 and not result.stopped_early
    assert [kind for kind, _ in log] == ["start"] * 5 + ["end"] * 5 + ["start", "end"]
    assert log[10] == ("start", "a5 r0")


async def test_shuffled_runs_replay_with_the_recorded_seed(journal):
    plans = [["A", "B", "C"], ["B", "B", "C"], ["C", "A", "C"], ["D", "B", "C"]]

    def build(model):
        agents = [Voter(f"a{i}", plan, model, first_best) for i, plan in enumerate(plans)]
        return LayeredNetwork(agents, selector=PickFirst([0, 1]))  # shuffled, seed drawn as an effect

    result = await agentzoo.run(build(ScriptedModel(lambda r: "said")), "q", journal=journal)
    assert result.ok
    kinds = [e.kind for e in journal.entries(result.run_id)]
    assert kinds[0] == "random" and kinds.count("model") == result.model_calls
    replayer = ScriptedModel([])
    again = await agentzoo.replay(build(replayer), result.run_id, journal=journal)
    assert again.answer == result.answer and replayer.calls == 0


def _ctx():
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    return Context(Gateway(run_id="test"))
