"""Magentic-One (#34), both presets: the protocol (re-planning after the stall limit, the two
published stall countings, progress-ledger validation), the harness end to end, replay, and
resume after a kill.

The protocol tests use the recipe's own prompts with a scripted orchestrator and stand-in members
(so they show the orchestrator's behaviour, fast); the harness, replay and crash tests use the
default team, whose Coder runs its code in the sandbox.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.envs.code import HumanEval
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.recipes import build_recipe
from agentzoo.runtime.context import Context
from agentzoo.runtime.gateway import Gateway
from agentzoo.teams.group_chat import Participant
from agentzoo.teams.orchestrator import BoundedReplans, DecayingStalls
from agentzoo.tools import ApprovalPolicy

from magentic_one_script import play

HERE = Path(__file__).parent
SCRIPT = HERE / "magentic_one_script.py"
PRESETS = ["magentic-one", "magentic-one-legacy"]


def L(sat=False, progress=True, loop=False, to="Coder", say="please continue"):
    f = lambda answer: {"reason": "as seen", "answer": answer}  # noqa: E731
    return json.dumps({"is_request_satisfied": f(sat), "is_in_loop": f(loop), "is_progress_being_made": f(progress),
                       "next_speaker": f(to), "instruction_or_question": f(say)})


# What each of the recipe's orchestrator prompts says (our wording), to tell them apart.
KINDS = [("cannot be used", "retry"), ("fill in a short survey", "facts"), ("write a short plan", "plan"),
         ("Rewrite the fact sheet", "facts_update"), ("root cause", "plan_update"),
         ("is_request_satisfied", "progress"), ("final answer to the original request", "final")]


class Lead:
    """The orchestrator's model: OLD then NEW fact sheets and plans, the given ledgers, a log."""

    def __init__(self, ledgers, log):
        self.ledgers, self.log = list(ledgers), log

    def __call__(self, request):
        last = request.messages[-1]["content"]
        kind = next(k for marker, k in KINDS if marker in last)
        self.log.append("progress" if kind == "retry" else kind)
        return {"facts": "OLD FACTS", "plan": "OLD PLAN", "facts_update": "NEW FACTS", "plan_update": "NEW PLAN",
                "final": "#### 42"}.get(kind) or self.ledgers.pop(0)


class Member:
    def __init__(self, name, log):
        self.name, self.log, self.prompts, self.resets = name, log, [], 0

    async def run(self, task, ctx):
        self.prompts.append(task)
        self.log.append(f"turn:{self.name}")
        return f"{self.name} tried"

    def reset(self):
        self.resets += 1


def recipe(name, ledgers, **options):
    log = []
    lead = ScriptedModel(Lead(ledgers, log), name="lead")
    members = [Member("Coder", log), Member("Assistant", log)]
    agent = build_recipe(name, lead, participants=[Participant(m.name, m, f"{m.name} things") for m in members],
                         **options)
    return agent, lead, members, log


def test_the_presets_have_the_constants_of_their_sources():
    model = ScriptedModel([])
    current, legacy = build_recipe("magentic-one", model), build_recipe("magentic-one-legacy", model)
    assert current.policy == DecayingStalls(max_stalls=3, max_turns=20)
    assert legacy.policy == BoundedReplans(max_rounds=20, max_stalls_before_replan=3, max_replans=3)
    assert current.max_json_retries == legacy.max_json_retries == 10
    assert (current.retry_feedback, current.thread_starts_with_task) == (False, False)
    assert (legacy.retry_feedback, legacy.thread_starts_with_task) == (True, True)
    assert [p.name for p in current.participants] == ["Coder", "Assistant"]


# --- the protocol -----------------------------------------------------------------------------


async def test_after_three_stalls_it_rewrites_facts_and_plan_resets_the_team_and_broadcasts_the_new_plan():
    agent, lead, members, log = recipe("magentic-one", [L(progress=False), L(loop=True), L(progress=False),
                                                         L(to="Assistant", say="check it"), L(sat=True)])
    result = await agentzoo.run(agent, "What is 6 times 7?")
    assert result.ok and result.answer == "#### 42"
    assert log == ["facts", "plan", "progress", "turn:Coder", "progress", "turn:Coder", "progress",
                   "facts_update", "plan_update", "progress", "turn:Assistant", "progress", "final"]
    facts_update, plan_update, progress = lead.requests[5:8]
    # The facts update sees the whole stalled thread and the old fact sheet, and asks for a new guess.
    assert "OLD PLAN" in facts_update.messages[0]["content"] and len(facts_update.messages) == 6
    assert "OLD FACTS" in facts_update.messages[-1]["content"]
    assert "add or revise at least one" in facts_update.messages[-1]["content"]
    # The plan update follows it in the same conversation and asks for the root cause.
    assert plan_update.messages[:-2] == facts_update.messages
    assert plan_update.messages[-2] == {"role": "assistant", "content": "NEW FACTS"}
    # Then the thread is cleared and the new task ledger is all the team has.
    assert len(progress.messages) == 2 and progress.messages[0]["role"] == "assistant"
    assert "NEW FACTS" in progress.messages[0]["content"] and "NEW PLAN" in progress.messages[0]["content"]
    ledgers = [m["content"] for m in result.messages if m["content"].startswith("The request we are working on")]
    assert len(ledgers) == 2 and "OLD PLAN" in ledgers[0] and "NEW PLAN" in ledgers[1]
    assert [m.resets for m in members] == [2, 2]
    # The member after the re-plan sees the new plan, not the old thread.
    after = members[1].prompts[0]
    assert "NEW PLAN" in after and "OLD PLAN" not in after and "Coder tried" not in after


async def test_the_same_stalls_replan_and_stop_where_each_source_says():
    async def run(name):
        agent, _, _, log = recipe(name, [L(progress=False)] * 30)
        result = await agent.run("t", Context(Gateway(run_id=name)))
        return result, log

    current, log = await run("magentic-one")
    # agentchat: stalls 1, 2 (turns), 3 -> re-plan; the count stays >= 3, so every later round
    # re-plans; rounds stop when 21 > max_turns.
    assert log == ["facts", "plan"] + ["progress", "turn:Coder"] * 2 + ["progress", "facts_update", "plan_update"] * 19 \
        + ["final"]
    assert (current.replans, current.turns, current.steps) == (19, 2, 21)
    assert current.stop_reason == "max_turns: 21 rounds > 20"

    legacy, log = await run("magentic-one-legacy")
    # legacy: stalls 1, 2, 3 (turns), 4 > 3 -> re-plan and count from 0; the 4th re-plan stops.
    one_plan = ["progress", "turn:Coder"] * 3 + ["progress"]
    assert log == ["facts", "plan"] + (one_plan + ["facts_update", "plan_update"]) * 3 + one_plan + ["final"]
    assert (legacy.replans, legacy.turns, legacy.steps) == (3, 12, 16)
    assert legacy.stop_reason.startswith("stopped: 3 re-plans done")


async def test_legacy_progress_does_not_undo_stalls_but_agentchat_progress_does():
    ledgers = [L(progress=False), L(), L(progress=False), L(), L(progress=False), L(), L(progress=False), L(sat=True)]
    counts = {}
    for name in PRESETS:
        agent, _, _, log = recipe(name, ledgers)
        await agentzoo.run(agent, "t")
        counts[name] = log.count("facts_update")
    assert counts == {"magentic-one": 0, "magentic-one-legacy": 1}


@pytest.mark.parametrize("name", PRESETS)
async def test_an_invalid_ledger_and_a_speaker_outside_the_team_are_asked_again_then_accepted(name):
    agent, lead, _, log = recipe(name, ["Let me think about it.", L(to="WebSurfer"), L(to="Assistant"), L(sat=True)])
    result = await agentzoo.run(agent, "t")
    assert result.ok and log == ["facts", "plan", "progress", "progress", "progress", "turn:Assistant", "progress",
                                 "final"]
    first, second, third = (lead.requests[i].messages for i in (2, 3, 4))
    if name == "magentic-one":  # agentchat sends the same request again
        assert first == second == third
    else:  # the legacy package sends each bad reply back with its problem
        assert second[:-2] == first and second[-2] == {"role": "assistant", "content": "Let me think about it."}
        assert "not one JSON object" in second[-1]["content"]
        assert third[:-2] == second and "'WebSurfer' is not on the team" in third[-1]["content"]


# --- the harness, replay and resume ---------------------------------------------------------


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return list(store.rows())
    finally:
        store.close()


async def test_both_presets_solve_humaneval_and_gsm8k_in_the_harness_and_replay_without_model_calls(tmp_path):
    envs = {"humaneval": HumanEval(), "gsm8k": GSM8K()}
    samples = expand(envs, PRESETS, [f"scripted:{SCRIPT}:play"], 1, limit=2)
    progress = await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=2))
    got = rows(tmp_path)
    assert progress.done == len(got) == 8 and progress.succeeded == 8
    for row in got:
        assert row["success"] and row["model_calls"] == 9
        calls = {scope: usage["model_calls"] for scope, usage in row["scopes"].items()}
        assert calls == {"orchestrator": 6, "Coder": 2, "Assistant": 1}  # every role in its own scope
        assert row["scopes"]["Coder"]["other_effects"] == 1  # its code ran once, in the sandbox
        assert all(usage["input_tokens"] > 0 for usage in row["scopes"].values())

    with Journal(tmp_path / "journal.db") as journal:
        for row in got[::3]:  # both presets, both environments
            env = envs[row["env"]]
            episode = env.episode(next(t for t in env.tasks() if t.id == row["task"]))
            silent = ScriptedModel([], name="play")  # raises if asked anything
            agent = build_recipe(row["agent"], silent, episode.tools, system=episode.system,
                                 sampling={"seed": row["seed"]})
            replayed = await agentzoo.replay(agent, row["run_id"], journal=journal)
            assert replayed.ok and replayed.answer == row["answer"]
            assert silent.calls == 0 and replayed.live_effects == 0 and replayed.model_calls == 9


def child(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent.parent / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, HERE / "crash_magentic_one.py", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name,kill_after", [("magentic-one", 5), ("magentic-one-legacy", 4)])
def test_a_run_killed_mid_way_resumes_without_repeating_a_completed_call(tmp_path, name, kill_after):
    task = tmp_path / "task.txt"
    task.write_text(GSM8K().tasks()[0].prompt)
    journal = tmp_path / "j.db"
    killed = child([name, journal, task, "run", kill_after], tmp_path)
    assert killed.returncode == -9, killed.stderr
    resumed = child([name, journal, task, "resume"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["status"] == "finished" and out["answer"].endswith(f"#### {GSM8K().tasks()[0].gold}")
    # 9 model calls in all: the first `kill_after` were served from the journal, none made again.
    assert out["live_model_calls"] == 9 - kill_after
    # Killed after the Coder's action ran (5) its sandbox run is served; killed before it (4) it runs now.
    assert out["live_sandbox_runs"] == (0 if kill_after == 5 else 1)
    with Journal(journal) as j:
        run = j.get_run("latest")
        keys = [e.key for e in j.entries(run.run_id)]
        assert run.status == "finished" and len(keys) == len(set(keys))


# --- approval before code runs ----------------------------------------------------------------


def approving(answer, asked):
    def approver(name, arguments, touches):
        asked.append((name, arguments, touches))
        if isinstance(answer, Exception):
            raise answer
        return answer
    return ApprovalPolicy(approver=approver)


@pytest.mark.parametrize("name", PRESETS)
async def test_a_refused_code_block_never_runs_and_the_refusal_is_what_the_orchestrator_reads_next(name, journal):
    task = GSM8K().tasks()[0]
    asked = []
    model = ScriptedModel(play)
    agent = build_recipe(name, model, approval=approving(False, asked), sampling={"seed": 0})
    result = await agentzoo.run(agent, task.prompt, journal=journal)
    assert result.ok
    entries = list(journal.entries(result.run_id))
    assert not [e for e in entries if e.kind == "sandbox"]  # nothing reached the sandbox
    (decision,) = [e for e in entries if e.kind == "human"]
    assert (decision.scope, decision.name) == ("Coder", "approve_code")
    assert decision.result == {"allowed": False, "reason": "the user denied this call"}
    assert asked == [("run_code", {"code": f"print({task.gold})"}, frozenset({"write"}))]  # asked with the code
    # The refusal ends the Coder's turn; it is the Coder's message in the thread, and the next
    # progress ledger (after facts, plan, ledger, the Coder's one call) is asked with it in view.
    said = [m["content"] for m in result.messages if m["name"] == "Coder"]
    assert len(said) == 1 and "the user did not approve running this code" in said[0]
    assert f"print({task.gold})" in said[0] and "the user denied this call" in said[0]
    coder_calls = [r for r in model.requests if "team's Coder" in r.messages[0]["content"]]
    assert len(coder_calls) == 1
    assert any(said[0] in (m.get("content") or "") for m in model.requests[4].messages)
    assert "is_request_satisfied" in model.requests[4].messages[-1]["content"]


async def test_an_approved_code_block_runs_and_replay_does_not_ask_again(journal):
    task = GSM8K().tasks()[0]
    asked = []
    model = ScriptedModel(play)
    agent = build_recipe("magentic-one", model, approval=approving(True, asked), sampling={"seed": 0})
    result = await agentzoo.run(agent, task.prompt, journal=journal)
    assert result.ok and len(asked) == 1
    coder = [(e.kind, e.name) for e in journal.entries(result.run_id) if e.scope == "Coder"]
    assert coder == [("model", "scripted"), ("human", "approve_code"), ("sandbox", "exec"), ("model", "scripted")]
    second = [r for r in model.requests if "team's Coder" in r.messages[0]["content"]][1]
    assert str(task.gold) in second.messages[-1]["content"]  # the code ran and the Coder saw its output
    # replay serves the decision: an approver that would fail is never asked
    again_asked = []
    replayed = await agentzoo.replay(build_recipe("magentic-one", ScriptedModel([]),
                                                  approval=approving(RuntimeError("asked"), again_asked),
                                                  sampling={"seed": 0}), result.run_id, journal=journal)
    assert replayed.answer == result.answer and again_asked == [] and replayed.live_effects == 0


async def test_a_policy_that_does_not_ask_about_writes_lets_code_run_unasked(journal):
    asked = []
    policy = ApprovalPolicy(require_approval_for={"money"}, approver=approving(False, asked).approver)
    agent = build_recipe("magentic-one", ScriptedModel(play), approval=policy, sampling={"seed": 0})
    result = await agentzoo.run(agent, GSM8K().tasks()[0].prompt, journal=journal)
    kinds = [e.kind for e in journal.entries(result.run_id)]
    assert result.ok and asked == [] and "human" not in kinds and kinds.count("sandbox") == 1
