"""MALLM (#43): who is sent whose messages under each paradigm, the decision protocols on crafted
votes, persona generation, the harness end to end, replay, and resume after a SIGKILL in the
middle of the concurrent voting stage."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.envs.code import HumanEval
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.recipes import build_recipe
from agentzoo.recipes.mallm import build, extract_agreement, extract_solution, parse_ballot, parse_persona

HERE = Path(__file__).parent


def child_env():
    src = str(HERE.parent.parent / "src")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
PERSONAS = [{"role": f"Agent{i}", "description": f"participant {i}"} for i in (1, 2, 3)]
TASK = "Name a prime number between 10 and 20."


def speaker(request):
    return re.search(r"Your role: (Agent\d)", request.messages[0]["content"]).group(1)


def talkers(decide=None, ballots=None):
    """Each panelist says a message naming itself and its turn, and proposes its own solution
    (so nobody agrees); `decide(role, n)` may instead return a whole reply for its n-th message.
    Ballots: `ballots[role]` pops the next vote text."""
    counts: dict[str, int] = {}

    def play(request):
        last = request.messages[-1]["content"]
        role = speaker(request)
        if "Solutions:" in last:
            return ballots[role].pop(0)
        if "Write down only your final solution" in last:
            return f"final of {role}"
        counts[role] = counts.get(role, 0) + 1
        custom = decide(role, counts[role]) if decide else None
        return custom or f"[DISAGREE] msg {counts[role]} of {role}. Final Solution: {role} says {counts[role] + 10}"
    return play


def sent(model, role):
    """The discussion requests of `role`, each as the text of all the messages it was sent."""
    return ["\n".join(m["content"] for m in r.messages) for r in model.requests
            if speaker(r) == role and "Solutions:" not in r.messages[-1]["content"]]


async def discuss(paradigm, turns=1, decision="unanimity_consensus", play=None, **options):
    model = ScriptedModel(play or talkers())
    agent = build(model, paradigm=paradigm, decision=decision, personas=PERSONAS, max_turns=turns, **options)
    result = await agentzoo.run(agent, TASK)
    assert result.ok, result.error
    return model, result


# --- the paradigms differ in who sees whom ----------------------------------------------------------


async def test_relay_agent_2_sees_agent_1_but_not_agent_3():
    model, _ = await discuss("relay", turns=2)
    a2 = sent(model, "Agent2")
    assert "msg 1 of Agent1" in a2[0] and "of Agent3" not in a2[0]
    a3 = sent(model, "Agent3")
    assert "msg 1 of Agent2" in a3[0] and "of Agent1" not in a3[0]
    # turn 2: agent 1 hears from agent 3 (the ring closes), agent 2 still never hears agent 3
    a1 = sent(model, "Agent1")
    assert "msg 1 of Agent3" in a1[1] and "of Agent2" not in a1[1]
    assert all("of Agent3" not in text for text in a2)


async def test_memory_everyone_sees_everything():
    model, _ = await discuss("memory", turns=2)
    a3 = sent(model, "Agent3")
    assert "msg 1 of Agent1" in a3[0] and "msg 1 of Agent2" in a3[0]
    a1 = sent(model, "Agent1")
    assert "msg 1 of Agent2" in a1[1] and "msg 1 of Agent3" in a1[1]


async def test_report_the_hub_hears_everyone_the_others_hear_only_the_hub():
    model, _ = await discuss("report", turns=2)
    a3 = sent(model, "Agent3")
    assert "msg 1 of Agent1" in a3[0] and "of Agent2" not in a3[0]
    assert "msg 2 of Agent1" in a3[1] and "of Agent2" not in a3[1]
    a1 = sent(model, "Agent1")
    assert "msg 1 of Agent2" in a1[1] and "msg 1 of Agent3" in a1[1]
    assert "re-examine your previous solution" in a1[1]  # the hub drafts: from turn 2 it revises


async def test_debate_the_debaters_ring_and_only_their_last_round_reaches_the_moderator():
    model, _ = await discuss("debate", turns=2, debate_rounds=2)
    a2, a3, a1 = sent(model, "Agent2"), sent(model, "Agent3"), sent(model, "Agent1")
    assert len(a1) == 2 and len(a2) == len(a3) == 4  # per turn: 1 draft, 2 debate rounds × 2 debaters
    assert "msg 1 of Agent1" in a2[0] and "of Agent3" not in a2[0]           # round 1: the draft only
    assert "msg 1 of Agent2" in a3[0]                                       # the ring: 2 → 3
    assert "msg 1 of Agent3" in a2[1] and "msg 2 of Agent2" not in a2[1]    # 3 → 2 closes the ring
    # the moderator, in turn 2, hears the debaters' last round (their 2nd messages), not their first
    assert "msg 2 of Agent2" in a1[1] and "msg 2 of Agent3" in a1[1]
    assert "msg 1 of Agent2" not in a1[1] and "msg 1 of Agent3" not in a1[1]


# --- the decision protocols ---------------------------------------------------------------------------


def agree_after_first(role, n):
    return "[AGREE] fine." if role != "Agent1" else None


def two_of_three(role, n):
    return "[AGREE] fine." if role == "Agent2" else None


async def test_unanimity_does_not_stop_when_two_of_three_agree():
    model, result = await discuss("memory", turns=2, decision="unanimity_consensus", play=talkers(two_of_three))
    assert result.model_calls == 6  # both turns run in full
    model, result = await discuss("memory", turns=2, decision="majority_consensus", play=talkers(two_of_three))
    assert result.model_calls == 2 and result.answer == "Agent1 says 11"  # 2 of 3 ≥ 0.5, right after agent 2


async def test_hybrid_consensus_with_three_agents_is_unanimity():
    _, result = await discuss("memory", turns=3, decision="hybrid_consensus", play=talkers(two_of_three))
    assert result.model_calls == 9
    _, result = await discuss("memory", turns=3, decision="hybrid_consensus", play=talkers(agree_after_first))
    assert result.model_calls == 3 and result.answer == "Agent1 says 11"
    _, result = await discuss("memory", turns=3, decision="supermajority_consensus", play=talkers(two_of_three))
    assert result.model_calls == 2  # 2/3 = 0.67 ≥ 0.66


@pytest.mark.parametrize("decision,ballots,answer", [
    # solutions are numbered from 0 in panelist order: 0 = Agent1's, 1 = Agent2's, 2 = Agent3's
    ("simple_voting", {"Agent1": ["1"], "Agent2": ["1"], "Agent3": ["2"]}, "final of Agent2"),
    ("approval_voting", {"Agent1": ["0, 2"], "Agent2": ["2"], "Agent3": ["1, 2"]}, "final of Agent3"),
    ("ranked_voting", {"Agent1": ["0 1 2"], "Agent2": ["1 0 2"], "Agent3": ["1 2 0"]}, "final of Agent2"),
    ("cumulative_voting", {"Agent1": ["{0: 6, 1: 4}"], "Agent2": ["{1: 10}"], "Agent3": ["{0: 5, 2: 5}"]},
     "final of Agent2"),
])
async def test_voting_protocols_give_the_documented_winner_at_the_vote_turn(decision, ballots, answer):
    model, result = await discuss("memory", turns=5, decision=decision, play=talkers(ballots=ballots))
    assert result.answer == answer
    # the vote comes at the end of turn 3 (vote_turn), after each panelist states its final solution
    assert result.model_calls == 9 + 3 + 3


async def test_a_tied_vote_continues_the_discussion_and_a_bad_ballot_is_asked_again():
    ballots = {"Agent1": ["0", "no idea", "2"], "Agent2": ["1", "2"], "Agent3": ["2", "1"]}
    model, result = await discuss("memory", turns=5, decision="simple_voting", play=talkers(ballots=ballots))
    # turn 3: 0, 1, 2 — a tie; turn 4: agent 1 first answers without a number, then 2; 2, 2, 1 → 2
    assert result.answer == "final of Agent3"
    assert result.model_calls == 9 + 6 + 3 + 7


async def test_the_judge_writes_the_final_answer():
    def play(request):
        if "Write the single final solution" in request.messages[-1]["content"]:
            return "the judged answer"
        return talkers()(request)
    _, result = await discuss("memory", turns=5, decision="judge", play=play)
    # at the vote turn each panelist restates its final solution, then panelist 1 judges
    assert result.answer == "the judged answer" and result.model_calls == 9 + 3 + 1


# --- personas ------------------------------------------------------------------------------------------


async def test_personas_are_generated_one_at_a_time_each_seeing_the_earlier_ones():
    made = []

    def play(request):
        if "Describe one participant" in request.messages[0]["content"]:
            made.append(request.messages[-1]["content"])
            if len(made) == 2:
                return "I cannot decide"  # not JSON: asked again
            return json.dumps({"role": f"Expert{len(made)}", "description": "knows things"})
        return "[AGREE]" if "Nobody has proposed" not in request.messages[0]["content"] else "Final Solution: 13"

    model = ScriptedModel(play)
    result = await agentzoo.run(build(model), TASK)
    assert result.ok and result.answer == "13"
    assert len(made) == 4 and '"Expert1"' in made[1] and '"Expert3"' in made[3] and '"Expert3"' not in made[2]
    roles = [re.search(r"Your role: (\w+)", r.messages[0]["content"]).group(1) for r in model.requests[4:]]
    assert roles == ["Expert1", "Expert3", "Expert4"]
    failing = ScriptedModel(lambda r: "no json" if "Describe" in r.messages[0]["content"]
                            else "[AGREE] Final Solution: 13")
    result = await agentzoo.run(build(failing, num_agents=2), TASK)
    assert result.ok and failing.calls == 2 * 5 + 2 and "Participant 1" in failing.requests[-2].messages[0]["content"]


def test_parsers_and_options():
    assert extract_solution("I think so.\nfinal solution:  42 ") == "42" and extract_solution("just 42") == "just 42"
    assert extract_agreement("[AGREE] yes") and not extract_agreement("[DISAGREE] I agree partly")
    assert parse_persona('Sure: {"role": "Chef", "description": "cooks"}').role == "Chef"
    assert parse_persona('{"role": "Chef"}') is None and parse_persona("nope") is None
    assert parse_ballot("single", "Solution 2 is best") == 2 and parse_ballot("approval", "0, 2") == [0, 2]
    assert parse_ballot("cumulative", "{0: 7, 2: 3}") == {0: 7, 2: 3} and parse_ballot("single", "none") is None
    with pytest.raises(ConfigError, match="paradigm"):
        build(ScriptedModel([]), paradigm="chaos")
    with pytest.raises(ConfigError, match="decision"):
        build(ScriptedModel([]), decision="coin_flip")
    agent = build_recipe("mallm", ScriptedModel([]))
    assert (agent.paradigm, agent.decision, agent.num_agents, agent.max_turns, agent.debate_rounds, agent.vote_turn) \
        == ("memory", "hybrid_consensus", 3, 10, 2, 3)


# --- the harness, replay, resume -------------------------------------------------------------------------


async def test_runs_end_to_end_in_the_harness_with_scopes_per_role(tmp_path):
    envs = {"humaneval": HumanEval(), "gsm8k": GSM8K()}
    samples = expand(envs, ["mallm"], [f"scripted:{HERE / 'mallm_script.py'}:play"], 1, limit=2)
    progress = await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=2))
    store = ResultStore(tmp_path / "results.db")
    rows = list(store.rows())
    store.close()
    assert progress.done == len(rows) == 4 and all(r["success"] for r in rows), [r["error"] for r in rows]
    for row in rows:
        # 3 persona calls, then the first panelist proposes and the other two agree: unanimity
        assert row["model_calls"] == 6
        assert {s: u["model_calls"] for s, u in row["scopes"].items()} == {
            "personas": 3, "panelist#0": 1, "panelist#1": 1, "panelist#2": 1}
    with Journal(tmp_path / "journal.db") as journal:
        row = rows[0]
        replayer = ScriptedModel([], name="play")
        again = await agentzoo.replay(build_recipe("mallm", replayer, sampling={"seed": row["seed"]}), row["run_id"],
                                      journal=journal)
        assert again.answer == row["answer"] and replayer.calls == 0 and again.live_effects == 0


@pytest.mark.parametrize("kill_after", [7, 10])
async def test_a_run_killed_while_voting_resumes_without_repeating_a_completed_call(tmp_path, kill_after):
    sys.path.insert(0, str(HERE))
    try:
        import mallm_script
    finally:
        sys.path.remove(str(HERE))
    task_text = GSM8K().tasks()[0].prompt
    options = {"decision": "simple_voting", "vote_turn": 1}
    reference = ScriptedModel(mallm_script.play)
    ref = await agentzoo.run(build_recipe("mallm", reference, **options), task_text)
    # 3 personas, turn 1 (3 panelists), then 3 final answers together, then 3 votes together
    assert ref.ok and reference.calls == 12
    task = tmp_path / "task.txt"
    task.write_text(task_text)
    journal_path = tmp_path / "j.db"
    # 7: killed while the final answers run together; 10: while the votes do
    out = subprocess.run([sys.executable, HERE / "crash_dylan.py", journal_path, "mallm",
                          f"{HERE / 'mallm_script.py'}:slow_play", task, str(kill_after), json.dumps(options)],
                         capture_output=True, text=True, timeout=60, env=child_env())
    assert out.returncode == -signal.SIGKILL, out.stderr
    with Journal(journal_path) as journal:
        run = journal.list_runs()[0]
        done = [e for e in journal.entries(run.run_id) if e.kind == "model" and e.status == "ok"]
        assert len(done) >= kill_after  # calls that end in the same loop turn share a commit
        resumer = ScriptedModel(mallm_script.play)
        result = await agentzoo.resume(build_recipe("mallm", resumer, **options), run.run_id, journal=journal)
        assert result.ok and result.answer == ref.answer
        assert resumer.calls == 12 - len(done)
