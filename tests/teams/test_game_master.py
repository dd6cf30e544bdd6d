"""Game master (Concordia): an attempt becomes exactly one event through the thought chain, stored in the GM's
memory and delivered to the actor and the players present before the next step; turn order, plausibility, scenes
and the clock."""

import re

import pytest

import agentzoo
from agentzoo import ScriptedModel
from agentzoo.envs.clock import SimClock
from agentzoo.errors import ConfigError
from agentzoo.runtime import runner
from agentzoo.teams import GameMaster, Narration, Player, Scene, chain_of
from agentzoo.teams.thought_chain import CONCORDIA_V1_CHAIN, named_players, read_event, read_verdict

START = "2024-03-01T20:00"


class Scripted:
    """A player that attempts from its list and keeps what it observes, noting how much it had seen when it acted."""

    def __init__(self, name, attempts=()):
        self.name, self.attempts = name, list(attempts)
        self.seen, self.turns, self.seen_at_turn = [], [], []

    async def act(self, turn, ctx):
        self.turns.append(turn)
        self.seen_at_turn.append(len(self.seen))
        return self.attempts[len(self.turns) - 1] if len(self.turns) <= len(self.attempts) else f"{self.name} waits."

    async def observe(self, event, ctx):
        self.seen.append(event)


def step_of(request):
    prompt = request.messages[-1]["content"]
    if "Judge whether this attempt" in prompt:
        return "plausibility", prompt
    if "What happens as a result of this attempt?" in prompt:
        return "result", prompt
    if "Rewrite what happened as one sentence" in prompt:
        return "who_what_where", prompt
    raise AssertionError(f"not a GM step: {prompt[:80]!r}")


def attempt_in(prompt):
    return re.search(r"^(\w+) attempts: (.*)$", prompt, re.M)


def gm_model(verdict="PLAUSIBLE", present="", result="It happens."):
    """The GM's model: a verdict, a result, then the event as '<attempt> (resolved).' and a Present line."""

    def reply(request):
        step, prompt = step_of(request)
        if step == "plausibility":
            return verdict(prompt) if callable(verdict) else verdict
        if step == "result":
            return result
        statement = re.search(r"^What happened: (.*)$", prompt, re.M).group(1)
        line = present(prompt) if callable(present) else present
        return f"{statement} (resolved)" + (f"\n{line}" if line else "")

    return ScriptedModel(reply, name="gm")


def model_scopes(journal, run_id):
    return [e.scope for e in journal.entries(run_id) if e.kind == "model"]


# --- the protocol test (PAPERS.md #58) ----------------------------------------------------------------------


async def test_an_attempt_becomes_exactly_one_event_stored_in_gm_memory_and_observed_before_the_next_step(journal):
    mara = Scripted("Mara", ["I try to open the locked door", "Mara knocks on the door."])
    gm = GameMaster(gm_model(result="The lock holds; the door stays shut."), [mara],
                    [Scene("cellar", ("Mara",), rounds=2, step_seconds=600)],
                    world=["The cellar door is locked from the outside."], clock=SimClock.starting(START, 600))
    result = await agentzoo.run(gm, "Mara is shut in a cellar.", journal=journal)
    assert result.ok, result.error

    first = gm.events[0]
    assert [e.actor for e in gm.events] == ["Mara", "Mara"]  # exactly one event per attempt
    assert first.attempt == "I try to open the locked door" and first.verdict == "plausible"
    assert first.text == "I try to open the locked door As a result: The lock holds; the door stays shut. (resolved)"
    # stored in the GM's memory, once each, at the time of its round
    stored = gm.memory.store.get(list(range(len(gm.memory))))
    assert [(r.kind, r.text) for r in stored] == [("observation", e.text) for e in gm.events]
    assert [r.created for r in stored] == [e.time for e in gm.events] == [SimClock.starting(START).seconds + 600 * r
                                                                         for r in (0, 1)]
    # delivered to the player before its next turn: it had seen nothing at its first turn, the first event at its second
    assert mara.seen == gm.events and mara.seen_at_turn == [0, 1] and mara.seen[0] is first
    # each step of the chain a model call in its own scope under the GM's turn
    assert model_scopes(journal, result.run_id) == [
        f"scene#0/round#{r}/gm#0/{step}" for r in (0, 1) for step in ("plausibility", "result", "who_what_where")]
    # the answer is the event log, one statement a line
    assert result.answer == "\n".join(e.text for e in gm.events)


async def test_the_steps_see_the_world_the_time_and_the_gm_memories():
    model = gm_model()
    mara = Scripted("Mara", ["Mara looks for a key.", "Mara tries the key in the lock."])
    gm = GameMaster(model, [mara], [Scene("cellar", ("Mara",), rounds=2)], world=["A key hangs behind the rack."],
                    clock=SimClock.starting(START, 600))
    await agentzoo.run(gm, "A cellar.")
    second_turn = model.requests[3].messages[0]["content"]
    assert "Setting: A cellar." in second_turn and "- A key hangs behind the rack." in second_turn
    assert "Time: Friday March 1, 2024, 20:10" in second_turn
    assert "] Mara looks for a key." in second_turn  # the first event, recalled from the GM's memory
    assert "Mara attempts: Mara tries the key in the lock." in second_turn


# --- delivery -------------------------------------------------------------------------------------------------


def three(attempts=None):
    attempts = attempts or {}
    return [Scripted(n, attempts.get(n, ())) for n in ("Ana", "Ben", "Cy")]


async def test_an_event_goes_to_the_actor_and_the_players_named_present_only():
    players = three({"Ana": ["Ana opens the gate."]})
    present = {"Ana": "Present: Ben", "Ben": "Present: none", "Cy": "Present: everyone"}
    gm = GameMaster(gm_model(present=lambda p: present[attempt_in(p).group(1)]), players,
                    [Scene("yard", ("Ana", "Ben", "Cy"))])
    await agentzoo.run(gm, "A yard.")
    ana, ben, cy = gm.events
    assert ana.observers == ("Ana", "Ben") and ben.observers == ("Ben",) and cy.observers == ("Cy", "Ana", "Ben")
    by_name = {p.name: [e.actor for e in p.seen] for p in players}
    assert by_name == {"Ana": ["Ana", "Cy"], "Ben": ["Ana", "Ben", "Cy"], "Cy": ["Cy"]}


async def test_without_a_present_line_the_players_the_event_names_witness_it():
    players = three({"Ana": ["Ana hands Cy the map."]})
    gm = GameMaster(gm_model(present=""), players, [Scene("yard", ("Ana", "Ben", "Cy"))])
    await agentzoo.run(gm, "A yard.")
    assert gm.events[0].observers == ("Ana", "Cy")
    assert [e.actor for e in players[1].seen] == ["Ben"]


async def test_the_actor_is_not_sent_its_own_event_when_the_gm_is_told_not_to():
    players = three()
    gm = GameMaster(gm_model(present="Present: everyone"), players, [Scene("yard", ("Ana", "Ben"))],
                    player_observes_event=False)
    await agentzoo.run(gm, "A yard.")
    assert [e.actor for e in players[0].seen] == ["Ben"] and [e.actor for e in players[1].seen] == ["Ana"]


async def test_a_sequential_player_sees_earlier_events_of_its_round_and_a_concurrent_one_does_not():
    for concurrent, seen_by_ben in ((False, [0, 1]), (True, [0, 0])):
        players = three()
        gm = GameMaster(gm_model(present="Present: everyone"), players,
                        [Scene("yard", ("Ana", "Ben"), rounds=1, concurrent=concurrent)])
        await agentzoo.run(gm, "A yard.")
        assert players[0].seen_at_turn + players[1].seen_at_turn == seen_by_ben
        assert [e.actor for e in gm.events] == ["Ana", "Ben"]  # resolved in turn order either way


# --- turn order -----------------------------------------------------------------------------------------------


def order_of(players):
    rounds = {}
    for p in players:
        for turn in p.turns:
            rounds.setdefault(turn.round, []).append((turn.time, p.name))
    return rounds


async def test_fixed_order_is_the_participants_order_every_round():
    players = three()
    gm = GameMaster(gm_model(), players, [Scene("yard", ("Cy", "Ana", "Ben"), rounds=3)])
    await agentzoo.run(gm, "A yard.")
    assert [[e.actor for e in gm.events if e.round == r] for r in range(3)] == [["Cy", "Ana", "Ben"]] * 3


async def test_randomised_initiative_is_seeded_in_the_journal_and_replays_identically(journal):
    def fresh():
        players = [Scripted(n) for n in ("Ana", "Ben", "Cy", "Dee")]
        return GameMaster(gm_model(), players, [Scene("yard", ("Ana", "Ben", "Cy", "Dee"), rounds=4,
                                                      order="initiative")]), players

    gm, _ = fresh()
    first = await runner.run(gm, "A yard.", journal=journal)
    orders = [[e.actor for e in gm.events if e.round == r] for r in range(4)]
    assert all(sorted(o) == ["Ana", "Ben", "Cy", "Dee"] for o in orders)
    assert len({tuple(o) for o in orders}) > 1  # shuffled each round (4 rounds of 24 orders each)
    seeds = [e for e in journal.entries(first.run_id) if e.kind == "random"]
    assert [e.scope for e in seeds] == [f"scene#0/round#{r}" for r in range(4)]

    again, players = fresh()
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and replayed.answer == first.answer
    assert [[e.actor for e in again.events if e.round == r] for r in range(4)] == orders


# --- plausibility ---------------------------------------------------------------------------------------------


async def test_an_implausible_attempt_is_rejected_with_one_event_the_actor_alone_observes(journal):
    players = three({"Ana": ["Ana flies over the wall."]})
    verdict = lambda p: "REJECT: people cannot fly." if "flies" in attempt_in(p).group(2) else "PLAUSIBLE"  # noqa: E731
    gm = GameMaster(gm_model(verdict=verdict, present="Present: everyone"), players, [Scene("yard", ("Ana", "Ben"))])
    result = await agentzoo.run(gm, "A yard.", journal=journal)
    rejected, ben = gm.events
    assert rejected.verdict == "rejected" and rejected.observers == ("Ana",)
    assert rejected.text == "Ana tried this, but it could not happen: Ana flies over the wall. (people cannot fly.)"
    assert [e.actor for e in players[1].seen] == ["Ben"]  # Ben never hears of it
    # the chain stopped at the verdict: one call for Ana's turn, three for Ben's
    assert model_scopes(journal, result.run_id) == ["scene#0/round#0/gm#0/plausibility"] + [
        f"scene#0/round#0/gm#1/{s}" for s in ("plausibility", "result", "who_what_where")]
    assert len(gm.memory) == 2


async def test_an_amended_attempt_is_what_the_rest_of_the_chain_resolves():
    model = gm_model(verdict="AMEND: Ana climbs the wall using the vine.", present="Present: none")
    gm = GameMaster(model, three({"Ana": ["Ana flies over the wall."]}), [Scene("yard", ("Ana",))])
    await agentzoo.run(gm, "A yard.")
    [event] = gm.events
    assert event.verdict == "amended" and event.attempt == "Ana flies over the wall."
    assert "Ana attempts: Ana climbs the wall using the vine." in model.requests[1].messages[0]["content"]
    assert event.text.startswith("Ana climbs the wall using the vine. As a result:")


@pytest.mark.parametrize(("reply", "verdict", "text"), [
    ("PLAUSIBLE", "plausible", ""), ("**Plausible.** It can be tried.", "plausible", ""),
    ("IMPLAUSIBLE: no wings", "rejected", "no wings"), ("Reject - the wall is 40 m high", "rejected",
                                                        "the wall is 40 m high"),
    ("AMEND: Ana climbs", "amended", "Ana climbs"), ("AMEND:", "unclear", ""), ("Sure, why not", "unclear", ""),
    ("", "unclear", "")])
def test_verdicts_are_read_from_the_start_of_the_reply(reply, verdict, text):
    assert read_verdict(reply) == (verdict, text)


def test_the_present_line_names_players_by_whole_word():
    names = ("Ana", "Ben", "Cy")
    assert read_event("Ana opens it.\nPresent: Ben and cy", names) == ("Ana opens it.", ("Ben", "Cy"))
    assert read_event("Ana opens it.\n**Present:** all of them", names) == ("Ana opens it.", names)
    assert read_event("Ana opens it.", names) == ("Ana opens it.", None)
    assert named_players("Banana and Cyan", names) == ()


# --- scenes and the clock -------------------------------------------------------------------------------------


async def test_scenes_run_in_sequence_with_their_premise_narrations_and_clock(journal):
    players = three()
    scenes = [Scene("evening", ("Ana", "Ben"), rounds=2, step_seconds=600, premise="Dusk falls on the yard.",
                    narrations=(Narration("A dog barks.", round=1, to=("Ben",)),)),
              Scene("morning", ("Ben", "Cy"), rounds=1, step_seconds=3600, start="2024-03-02T08:00")]
    gm = GameMaster(gm_model(), players, scenes, clock=SimClock.starting(START, 60))
    result = await runner.run(gm, "A yard.", journal=journal)
    assert result.ok, result.error
    ana, ben, cy = players
    assert [t.time_text for t in ana.turns] == ["Friday March 1, 2024, 20:00", "Friday March 1, 2024, 20:10"]
    assert [t.time_text for t in cy.turns] == ["Saturday March 2, 2024, 08:00"]
    assert [e.text for e in ben.seen if e.actor is None] == ["Dusk falls on the yard.", "A dog barks."]
    assert [e.text for e in ana.seen if e.actor is None] == ["Dusk falls on the yard."]
    assert [(e.scene, e.round, e.actor) for e in gm.events] == [
        ("evening", 0, None), ("evening", 0, "Ana"), ("evening", 0, "Ben"), ("evening", 1, None),
        ("evening", 1, "Ana"), ("evening", 1, "Ben"), ("morning", 0, "Ben"), ("morning", 0, "Cy")]
    assert result.answer.count("\n") == len(gm.events) - 1 and len(gm.memory) == len(gm.events)
    # the clock: a tick per round and the jump to the morning, every move journaled
    moves = [(e.scope, e.result["time"]) for e in journal.entries(result.run_id) if e.kind == "clock"]
    assert moves == [("scene#0/round#0", "2024-03-01T20:10:00+00:00"), ("scene#0/round#1", "2024-03-01T20:20:00+00:00"),
                     ("scene#1", "2024-03-02T08:00:00+00:00"), ("scene#1/round#0", "2024-03-02T09:00:00+00:00")]
    assert gm.simulated_seconds == 2 * 600 + 3600 and gm.clock.describe() == "Saturday March 2, 2024, 09:00"


async def test_a_replay_serves_every_call_and_a_fork_with_a_narration_at_round_1_diverges_there(journal):
    def fresh(*narrations):
        model = gm_model()
        return GameMaster(model, three(), [Scene("yard", ("Ana", "Ben"), rounds=2, narrations=narrations)]), model

    gm, _ = fresh()
    first = await runner.run(gm, "A yard.", journal=journal)
    again, model = fresh()
    replay = await runner.replay(again, first.run_id, journal=journal)
    assert replay.answer == first.answer and replay.live_effects == 0 and model.requests == []

    changed, model = fresh(Narration("A bell rings.", round=1))
    forked = await runner.fork(changed, first.run_id, journal=journal)
    assert forked.ok and forked.fork_point["scope"] == "scene#0/round#1/narration#0"
    # round 0 was served from the parent; round 1 (two turns of three steps) went live, the bell in the GM's memory
    assert len(model.requests) == 6 and all("A bell rings." in r.messages[0]["content"] for r in model.requests)
    assert [e.text for e in changed.events[:2]] == [e.text for e in gm.events[:2]]


# --- refusals ---------------------------------------------------------------------------------------------------


def test_bad_scenes_players_and_chains_are_refused_by_name():
    model = gm_model()
    with pytest.raises(ConfigError, match="participants \\['Zed'\\] are not players"):
        GameMaster(model, three(), [Scene("yard", ("Ana", "Zed"))])
    with pytest.raises(ConfigError, match="order must be one of fixed, initiative"):
        Scene("yard", ("Ana",), order="random")
    with pytest.raises(ConfigError, match="rounds must be a whole number"):
        Scene("yard", ("Ana",), rounds=0)
    with pytest.raises(ConfigError, match="more than 0 game seconds"):
        Scene("yard", ("Ana",), step_seconds=0)
    with pytest.raises(ConfigError, match="narration at round 3 is outside its 2 round"):
        Scene("yard", ("Ana",), rounds=2, narrations=(Narration("x", round=3),))
    with pytest.raises(ConfigError, match="not an ISO 8601 time"):
        Scene("yard", ("Ana",), start="tomorrow")
    with pytest.raises(ConfigError, match="unknown thought-chain step 'vibes'"):
        chain_of(["result", "vibes"])
    with pytest.raises(ConfigError, match="two players are called 'Ana'"):
        GameMaster(model, [Scripted("Ana"), Scripted("Ana")], [Scene("yard", ("Ana",))])
    with pytest.raises(ConfigError, match="needs async act"):
        GameMaster(model, [type("P", (), {"name": "Ana"})()], [Scene("yard", ("Ana",))])
    assert isinstance(Scripted("Ana"), Player)
