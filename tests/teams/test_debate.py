"""Discussions: who is sent what under each topology, the tallies on crafted votes, and the
decision rules ending (or not ending) a discussion."""

from __future__ import annotations

import asyncio

import pytest

import agentzoo
from agentzoo import ScriptedModel, ToolCallingAgent
from agentzoo.teams.debate import (HYBRID, MAJORITY, SUPERMAJORITY, UNANIMITY, AgentMember, AllToAll, Consensus,
                                   Debate, Discussion, Hub, Judge, MajorityAnswer, Post, Reply, RoundRobin, Slot, Vote,
                                   approval, consensus, cumulative, plurality, ranked)
from agentzoo.types import ModelRequest


class Scripted:
    """A member that replies from a list per turn: each entry is `(solution, agrees)`; it records
    what it was given, and answers ballots from `ballots` (a list, one per vote it is asked)."""

    def __init__(self, name, replies=(), ballots=(), model=None):
        self.name, self.replies, self.ballots, self.floors = name, list(replies), list(ballots), []
        self.model = model

    async def speak(self, floor, ctx):
        self.floors.append(floor)
        solution, agrees = self.replies[min(len(self.floors), len(self.replies)) - 1] if self.replies else (None, None)
        if self.model is not None:  # a journaled call, to check scopes
            await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": self.name}]))
        return Reply(f"{self.name} says {solution or 'agreed'} (turn {floor.turn})", solution, agrees)

    async def finalize(self, task, solution, ctx):
        return f"final {solution}"

    async def vote(self, ballot, ctx):
        return self.ballots.pop(0)

    async def judge(self, task, candidates, ctx):
        return "judged: " + " | ".join(candidates)


def post(i, speaker, solution=None, agrees=None):
    return Post(i, 1, speaker, f"m{speaker}", "text", solution, agrees, solution)


# --- the tallies, on crafted votes ---------------------------------------------------------------


def test_plurality_needs_a_unique_winner():
    assert plurality([0, 1, 1]) == 1
    assert plurality([0, 1]) is None and plurality([]) is None
    assert plurality([2, 2, 0, 0, 1]) is None


def test_approval_counts_each_approval_once_per_ballot():
    assert approval([[0, 1], [1], [2, 1]]) == 1
    assert approval([[0, 0, 0], [1]]) is None  # a ballot approving 0 three times approves it once
    assert approval([[0], [1]]) is None


def test_ranked_gives_min_5_n_minus_rank_points():
    # 3 voters: 3, 2, 1 points. 0: 3+2+1 = 6; 1: 2+3+3 = 8; 2: 1+1+2 = 4.
    assert ranked([[0, 1, 2], [1, 0, 2], [1, 2, 0]], voters=3) == 1
    # 7 voters: the first place is worth 5 (MALLM caps at 5): 0 gets 5, 1 gets 4+4 = 8 > 5.
    assert ranked([[0, 1], [2, 1]], voters=7) == 1
    assert ranked([[0, 1], [1, 0]], voters=3) is None


def test_cumulative_sums_points():
    assert cumulative([{0: 6, 1: 4}, {1: 10}, {0: 5, 2: 5}]) == 1  # 11 / 14 / 5
    assert cumulative([{0: 5, 1: 5}]) is None


def test_consensus_counts_the_newest_proposal_and_the_agreements_after_it():
    assert consensus([post(0, 0, "S"), post(1, 1, None, True), post(2, 2, None, True)]) == ("S", 3)
    assert consensus([post(0, 0, "S"), post(1, 1, "T", False), post(2, 2, None, True)]) == ("T", 2)
    assert consensus([post(0, 0, "S"), post(1, 1, None, True), post(2, 2, "U", False)]) == ("U", 1)
    assert consensus([post(0, 0, None, True)]) == (None, 0)


def test_consensus_thresholds_and_the_hybrid_rule():
    assert (MAJORITY.threshold, SUPERMAJORITY.threshold, UNANIMITY.threshold) == (0.5, 0.66, 1.0)
    assert HYBRID.needed(members=3, turn=9) == 1.0  # at most 3 members: unanimity
    assert HYBRID.needed(members=4, turn=4) == 1.0  # before turn 5: unanimity
    assert HYBRID.needed(members=4, turn=5) == 0.75


# --- topologies: who receives what -------------------------------------------------------------


def test_schedules():
    assert AllToAll().schedule(3, 1) == [Slot(0, (0, 1, 2)), Slot(1, (0, 1, 2)), Slot(2, (0, 1, 2))]
    assert RoundRobin().schedule(3, 1) == [Slot(0, (0, 1)), Slot(1, (1, 2)), Slot(2, (2, 0))]
    assert Hub().schedule(3, 1) == [Slot(0, (0, 1, 2), draft=True), Slot(1, (0, 1)), Slot(2, (0, 2))]
    assert Debate(rounds=2).schedule(4, 1) == [
        Slot(0, (0, 1, 2, 3), draft=True),
        Slot(1, (1, 2)), Slot(2, (2, 3)), Slot(3, (3, 1)),            # round 1: a ring of debaters
        Slot(1, (1, 2, 0)), Slot(2, (2, 3, 0)), Slot(3, (3, 1, 0)),  # round 2 also reaches the moderator
    ]


def disagreeing(n, turns=2):
    return [Scripted(f"m{i}", [(f"s{i}.{t}", False) for t in range(1, turns + 1)]) for i in range(n)]


@pytest.mark.parametrize("topology,seen", [
    # post ids: turn 1 is 0, 1, 2 (members 0, 1, 2); turn 2 is 3, 4, 5
    (AllToAll(), [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]),
    (RoundRobin(), [[0, 2, 3, 5], [0, 1, 3, 4], [1, 2, 4, 5]]),
    (Hub(), [[0, 1, 2, 3, 4, 5], [0, 1, 3, 4], [0, 2, 3, 5]]),
])
async def test_each_member_is_sent_what_its_topology_says(topology, seen):
    members = disagreeing(3)
    got = await Discussion(members, topology=topology, decision=UNANIMITY, max_turns=2).run("task", _ctx())
    assert got.seen == seen and not got.decided and got.turns == 2
    # when a member speaks it is shown exactly what reached it before its slot
    for i, member in enumerate(members):
        for floor in member.floors:
            slot = [p.id for p in got.posts if p.turn == floor.turn and p.speaker == i][0]
            assert [p.id for p in floor.seen] == [k for k in seen[i] if k < slot]


def _ctx():
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    return Context(Gateway(run_id="test"))


async def test_the_debate_topology_rings_the_debaters_and_reports_the_last_round():
    members = [Scripted("mod", [("draft", None)])] + [Scripted(f"d{i}", [(f"x{i}", False)]) for i in (1, 2)]
    got = await Discussion(members, topology=Debate(rounds=2), decision=UNANIMITY, max_turns=1).run("task", _ctx())
    # posts: 0 moderator draft; 1 d1, 2 d2 (round 1); 3 d1, 4 d2 (round 2)
    assert got.seen == [[0, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    assert [p.id for p in members[2].floors[0].seen] == [0, 1]  # d2's first floor: the draft and d1's round 1
    assert members[0].floors[0].draft and not members[1].floors[0].draft


# --- decision rules end the discussion, or not -------------------------------------------------


def agreeing(n):
    return [Scripted("m0", [("S", None)])] + [Scripted(f"m{i}", [(None, True)]) for i in range(1, n)]


async def test_unanimity_does_not_stop_when_two_of_three_agree_but_majority_does():
    members = [Scripted("m0", [("S", None)]), Scripted("m1", [(None, True)]), Scripted("m2", [("T", False)] * 3)]
    got = await Discussion(members, decision=UNANIMITY, max_turns=3).run("task", _ctx())
    assert not got.decided and len(got.posts) == 9
    members = [Scripted("m0", [("S", None)]), Scripted("m1", [(None, True)]), Scripted("m2", [("T", False)])]
    got = await Discussion(members, decision=MAJORITY, max_turns=3).run("task", _ctx())
    assert got.decided and got.answer == "S" and len(got.posts) == 2  # 2 of 3 ≥ 0.5, right after m1
    assert members[2].floors == []


async def test_unanimity_stops_on_the_message_that_completes_it():
    members = agreeing(3)
    got = await Discussion(members, decision=UNANIMITY, max_turns=5).run("task", _ctx())
    assert got.decided and got.answer == "S" and len(got.posts) == 3 and got.turns == 1


async def test_the_first_message_cannot_agree():
    members = [Scripted("m0", [("S", True)]), Scripted("m1", [(None, True)])]
    got = await Discussion(members, decision=UNANIMITY, max_turns=1).run("task", _ctx())
    assert got.posts[0].agrees is False and got.posts[0].solution == "S" and got.answer == "S"


async def test_hybrid_needs_unanimity_before_turn_five_then_three_of_four():
    def four():
        return [Scripted("m0", [("S", False)] * 10), Scripted("m1", [(None, True)] * 10),
                Scripted("m2", [(None, True)] * 10), Scripted("m3", [("T", False)] * 10)]
    # each turn: m0 proposes S, m1 and m2 agree (3 of 4), m3 proposes T
    got = await Discussion(four(), decision=HYBRID, max_turns=10).run("task", _ctx())
    assert got.decided and got.answer == "S" and got.turns == 5 and len(got.posts) == 4 * 4 + 3
    got = await Discussion(four(), decision=Consensus(0.75), max_turns=10).run("task", _ctx())
    assert got.decided and got.turns == 1 and len(got.posts) == 3
    got = await Discussion(four()[:3], decision=HYBRID, max_turns=10).run("task", _ctx())
    assert got.decided and got.turns == 1  # three members: unanimity, which m0, m1, m2 reach at once


async def test_a_tied_vote_goes_on_and_a_later_vote_decides():
    members = [Scripted(f"m{i}", [(f"s{i}", False)] * 3, ballots=b) for i, b in
               enumerate([[0, 1], [1, 1], [2, 2]])]
    got = await Discussion(members, decision=Vote("single", after_turn=1), max_turns=3).run("task", _ctx())
    # turn 1: ballots 0, 1, 2 — a tie; turn 2: 1, 1, 2 — solution 1 (m1's, as finalized) wins
    assert got.decided and got.turns == 2 and got.answer == "final s1"
    assert got.verdict.details["ballots"] == [1, 1, 2]


async def test_votes_start_at_the_vote_turn_and_invalid_ballots_are_asked_again():
    members = [Scripted(f"m{i}", [(f"s{i}", False)] * 3, ballots=b) for i, b in
               enumerate([[7, "x", 2], [2], [0]])]
    got = await Discussion(members, decision=Vote("single", after_turn=3, finalize=False), max_turns=3).run(
        "task", _ctx())
    # no ballot was asked before turn 3 (each list would have been used up); m0's third try is valid
    assert got.decided and got.turns == 3 and got.answer == "s2"
    assert got.verdict.details["ballots"] == [2, 2, 0]
    members = [Scripted(f"m{i}", [(f"s{i}", False)], ballots=b) for i, b in enumerate([[9, 9], [1], [1]])]
    got = await Discussion(members, decision=Vote("single", after_turn=1, finalize=False, retries=2),
                           max_turns=1).run("task", _ctx())
    assert got.decided and got.verdict.details["ballots"] == [1, 1]  # m0 gave up after 2 tries: dropped


@pytest.mark.parametrize("kind,ballots,winner", [
    ("approval", [[0, 1], [1], [1, 2]], 1),
    ("ranked", [[2, 0, 1], [2, 1, 0], [0, 2, 1]], 2),
    ("cumulative", [{0: 10}, {1: 6, 0: 4}, {1: 10}], 1),
])
async def test_voting_variants_pick_the_documented_winner(kind, ballots, winner):
    members = [Scripted(f"m{i}", [(f"s{i}", False)], ballots=[b]) for i, b in enumerate(ballots)]
    got = await Discussion(members, decision=Vote(kind, after_turn=1, finalize=False), max_turns=1).run("t", _ctx())
    assert got.decided and got.answer == f"s{winner}"


async def test_a_judge_writes_the_answer_at_the_vote_turn():
    members = [Scripted(f"m{i}", [(f"s{i}", False)] * 2) for i in range(3)]
    got = await Discussion(members, decision=Judge(members[0], after_turn=2), max_turns=5).run("t", _ctx())
    assert got.decided and got.turns == 2 and got.answer == "judged: s0 | s1 | s2"


async def test_without_a_decision_the_newest_proposal_is_the_answer():
    got = await Discussion(disagreeing(3), decision=UNANIMITY, max_turns=2).run("t", _ctx())
    assert not got.decided and got.answer == "s2.2"


# --- simultaneous rounds, scopes, nesting ---------------------------------------------------------


async def test_simultaneous_rounds_run_concurrently_see_only_earlier_turns_and_replay(journal):
    running, peak = 0, 0

    async def slow(request):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return "ok"

    def team(model):
        members = [Scripted(f"m{i}", [(f"a{i % 2}", False), ("a1", False)], model=model) for i in range(3)]
        return members, Discussion(members, decision=MajorityAnswer(), max_turns=2, simultaneous=True)

    members, discussion = team(ScriptedModel(slow))
    result = await agentzoo.run(discussion, "task", journal=journal)
    assert result.ok and result.answer == "a1" and peak == 3
    assert [len(f.seen) for f in members[1].floors] == [0, 3]  # turn 2 sees turn 1 only, not its peers' turn 2
    scopes = sorted({e.scope for e in journal.entries(result.run_id)})
    assert scopes == ["member#0", "member#1", "member#2"]
    replayer = ScriptedModel([])
    again = await agentzoo.replay(team(replayer)[1], result.run_id, journal=journal)
    assert again.answer == "a1" and replayer.calls == 0


async def test_majority_answer_waits_for_the_last_turn_unless_early():
    members = [Scripted(f"m{i}", [("x", False)] * 3) for i in range(3)]
    got = await Discussion(members, decision=MajorityAnswer(), max_turns=3, simultaneous=True).run("t", _ctx())
    assert got.turns == 3 and got.answer == "x"
    got = await Discussion(members, decision=MajorityAnswer(early=True), max_turns=3, simultaneous=True).run(
        "t", _ctx())
    assert got.turns == 1


async def test_a_team_is_a_member_of_another_team(journal):
    """Teams nest: an inner discussion (itself an agent) speaks as one member of the outer one."""
    model = ScriptedModel(lambda request: "42")
    inner = Discussion([AgentMember(ToolCallingAgent(model), render=lambda f: f.task) for _ in range(2)],
                       decision=UNANIMITY, max_turns=1, scope="inner")
    outer = Discussion([AgentMember(inner, name="panel", render=lambda f: f.task),
                        AgentMember(ToolCallingAgent(model), render=lambda f: f.task)],
                       decision=UNANIMITY, max_turns=2)
    result = await agentzoo.run(outer, "what is six times seven?", journal=journal)
    assert result.ok and result.answer == "42"
    scopes = sorted({e.scope for e in journal.entries(result.run_id)})
    assert scopes == ["member#0/inner#0", "member#0/inner#1", "member#1"]


def test_a_discussion_needs_members():
    with pytest.raises(ValueError):
        Discussion([])


async def test_a_failing_concurrent_member_fails_the_run_with_its_own_error():
    """Concurrent speakers run in a task group; the run sees the member's error, not a group."""
    from agentzoo.errors import ServerError

    class Broken(Scripted):
        async def speak(self, floor, ctx):
            await asyncio.sleep(0)
            raise ServerError("upstream 503")

    members = [Scripted("m0", [("a", False)]), Broken("m1"), Scripted("m2", [("a", False)])]
    result = await agentzoo.run(Discussion(members, decision=MajorityAnswer(), max_turns=1, simultaneous=True), "t")
    assert result.status == "failed" and result.error["type"] == "ServerError"
