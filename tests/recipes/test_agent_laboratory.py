"""Agent Laboratory (#31): the phase machine in the paper's order with per-phase step budgets; the mle-solver
(an EDIT whose code raises is not applied and goes to code repair, a REPLACE is taken only when it runs, the
reward's three tries); the reviewers' "go back" resetting the phases to plan formulation; the human approval
hook; replay, kill -9 resume, the harness with cost per role, the oracle, the shipped local model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "envs"))

from agent_laboratory_script import Lab, fenced, role_and_phase

from agentzoo.envs import stepping
from agentzoo.envs.mlagentbench import MLAgentBench
from agentzoo.errors import ConfigError, FormatError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes.agent_laboratory import (
    PHASES,
    Feedback,
    build,
    commands,
    wants_to_go_back,
)
from agentzoo.recipes.agent_laboratory.work import PROGRAM
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal
from agentzoo.teams.state_graph import checkpoints
from agentzoo.tools import ApprovalPolicy

ENV = MLAgentBench()
IRIS = next(t for t in ENV.tasks() if t.id == "iris")
BASELINE = ENV.workspace(IRIS)[PROGRAM]
SHORT = {"num_papers_lit_review": 2, "mlesolver_max_steps": 1, "papersolver_max_steps": 1}


async def lab_run(tmp_path, player, **options):
    """One live run on iris: (result, score, journal, checkpoints, the episode's driver)."""
    episode = ENV.episode(IRIS)
    agent = build(ScriptedModel(player), episode=episode, **{**SHORT, **options})
    journal = Journal(tmp_path / "j.db")
    result = await runner.run(agent, IRIS.prompt, journal=journal)
    assert result.ok, result.error
    score = await ENV.score(episode, result.answer)
    return result, score, journal, checkpoints(journal, result.run_id), stepping.driver_of(episode)


def asked(player, role, phase):
    return [r for r in player.requests if role_and_phase(r) == (role, phase)]


class Recording(Lab):
    """The scripted lab, keeping every request it answered."""

    def __init__(self, program, **overrides):
        super().__init__(program, **overrides)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        return super().__call__(request)


def user(request) -> str:
    return request.messages[-1]["content"]


# --- the phase machine ---------------------------------------------------------------------------------------


async def test_the_phases_run_in_the_paper_order_and_the_kept_program_is_what_the_workspace_scores(tmp_path):
    player = Recording(IRIS.gold)
    result, score, journal, marks, _ = await lab_run(tmp_path, player)
    assert [m.node for m in marks] == list(PHASES) and marks[-1].next == "__end__"
    final = marks[-1].state
    assert all(final["phase_status"].values()) and final["revisions"] == 0
    assert sorted(final["papers"]) == ["31", "37"]  # the review ended at num_papers_lit_review
    assert final["results_code"] == IRIS.gold.rstrip("\n") and final["score"] == 0.9
    assert score.success and score.details["score"] > IRIS.data["baseline"] * 1.1
    assert result.answer == final["report"] and final["report"].startswith("# k-NN on iris")  # the EDIT 0 0
    # The roles of each phase, in their scopes; three reviewers, each told its own character.
    scopes = {e.scope.split("#")[0] + "/" + e.scope.split("/")[1].split("#")[0]
              for e in journal.entries(result.run_id) if e.kind == "model"}
    assert scopes == {"literature-review/phd", "plan-formulation/postdoc", "data-preparation/ml-engineer",
                      "data-preparation/sw-engineer", "running-experiments/reward", "running-experiments/ml-engineer",
                      "results-interpretation/postdoc", "report-writing/reward", "report-writing/professor",
                      "report-refinement/reviewer", "report-refinement/phd"}
    reviews = asked(player, "reviewer", "review")
    assert len(reviews) == 3 and len({r.messages[0]["content"] for r in reviews}) == 3
    journal.close()


async def test_when_the_reviewers_verdict_is_go_back_the_phase_status_resets_to_plan_formulation(tmp_path):
    player = Recording(IRIS.gold, decision=["y", "n"])
    result, score, journal, marks, _ = await lab_run(tmp_path, player)
    first_review = next(m for m in marks if m.node == "report-refinement")
    assert first_review.next == "plan-formulation"
    assert first_review.state["phase_status"] == {p: p == "literature-review" for p in PHASES}
    assert first_review.state["revisions"] == 1 and first_review.state["go_back"]
    assert [m.node for m in marks] == list(PHASES) + list(PHASES[1:])  # the review is not done again
    assert all(marks[-1].state["phase_status"].values()) and marks[-1].next == "__end__"
    # The second plan is made knowing the first round's reviews, in the scope of the second visit.
    plans = asked(player, "postdoc", "plan formulation")
    assert len(plans) == 2 and "The reviewers said:" not in user(plans[0])
    assert "Sound and clear. Overall: 6/10." in user(plans[1])
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "model" and "plan-formulation" in e.scope]
    assert scopes == ["plan-formulation#0/postdoc#0", "plan-formulation#1/postdoc#0"]
    assert score.success
    journal.close()


async def test_going_back_is_bounded_by_max_revisions(tmp_path):
    player = Recording(IRIS.gold, decision=lambda request: "y")
    _, _, journal, marks, _ = await lab_run(tmp_path, player, max_revisions=1)
    assert [m.node for m in marks].count("plan-formulation") == 2 and marks[-1].next == "__end__"
    assert "(0 more round(s) allowed.)" in user(asked(player, "phd", "decision")[-1])
    journal.close()


async def test_each_phase_has_its_step_budget_and_one_that_runs_out_stops_the_lab(tmp_path):
    # The postdoc never writes a PLAN block: three turns each (max_steps=3), then the lab stops; no later phase.
    player = Recording(IRIS.gold, **{"postdoc/plan formulation": lambda request: "Let us talk more."})
    result, score, journal, marks, driver = await lab_run(tmp_path, player, max_steps=3)
    assert len(asked(player, "postdoc", "plan formulation")) == 3
    assert len(asked(player, "phd", "plan formulation")) == 3
    assert [m.node for m in marks] == ["literature-review", "plan-formulation"] and marks[-1].next == "__end__"
    state = marks[-1].state
    assert state["steps"] == {"literature-review": 2, "plan-formulation": 3}
    assert state["phase_status"]["plan-formulation"] is False and "plan-formulation" in state["stopped"]
    assert "3 steps" in result.answer and driver.progress.done  # the run finishes: Final Answer, nothing to score
    assert not score.success and "submission.csv" in score.details["error"]
    journal.close()


async def test_the_mle_solver_takes_mlesolver_max_steps_commands_and_the_report_papersolver_max_steps(tmp_path):
    player = Recording(IRIS.gold)
    _, _, journal, marks, _ = await lab_run(tmp_path, player, mlesolver_max_steps=3, papersolver_max_steps=2)
    assert len(asked(player, "ml-engineer", "running experiments")) == 3
    assert len(asked(player, "professor", "report writing")) == 2
    assert marks[-1].state["steps"]["running-experiments"] == 3 and marks[-1].state["steps"]["report-writing"] == 2
    journal.close()


@pytest.mark.parametrize(("reply", "back"), [("y", True), ("Yes.", True), ("```DECISION\ngo back\n```", True),
                                             ("n", False), ("No, finish.", False), ("You did well.", False), ("", False)])
def test_the_phd_students_decision(reply, back):
    assert wants_to_go_back(reply) is back


# --- the mle-solver --------------------------------------------------------------------------------------------


def line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if line.startswith(start))


async def test_an_edit_whose_new_code_raises_is_not_applied_and_the_error_goes_to_code_repair(tmp_path):
    n = line_of(BASELINE, "FEATURES = ")
    edit = fenced("EDIT", "FEATURES = undefined_features", f"{n} {n}")
    player = Recording(IRIS.gold, **{"running experiments": [edit, "I have no better idea."],
                                     "code repair": lambda request: "I cannot see the bug."})
    result, score, journal, marks, driver = await lab_run(tmp_path, player, mlesolver_max_steps=2)
    repairs = asked(player, "code-repair", "code repair")
    assert len(repairs) == 2  # GLOBAL_REPAIR_ATTEMPTS
    for request in repairs:
        assert "NameError: name 'undefined_features' is not defined" in user(request)
        assert f"{n} | FEATURES = undefined_features" in user(request)  # the failing version is what is repaired
    # Not applied: the next command is asked about the old program, told why, and the old program is kept.
    second = user(asked(player, "ml-engineer", "running experiments")[1])
    assert f'{n} | FEATURES = ["sepal_length_cm", "sepal_width_cm"]' in second
    assert "the EDIT was not applied" in second and "NameError" in second
    assert marks[-1].state["results_code"] == BASELINE
    live = await driver.live()
    assert live.files[PROGRAM] == BASELINE and not score.success
    # The step's two repairs are two entries of one scope (the second once overwrote the first, at the same key,
    # and a replay then diverged there), and a replay serves both.
    run_id = result.run_id
    kept = [(e.scope, e.seq) for e in journal.entries(run_id) if e.scope.endswith("code-repair#1")]
    assert kept == [("running-experiments#0/code-repair#1", 0), ("running-experiments#0/code-repair#1", 1)]
    replayed = await runner.replay(build(ScriptedModel([]), **{**SHORT, "mlesolver_max_steps": 2}), run_id,
                                   journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    journal.close()


async def test_a_replace_is_taken_only_once_it_runs_and_a_repair_that_runs_is_taken(tmp_path):
    broken = "import csv\nraise RuntimeError('no model yet')"
    player = Recording(IRIS.gold, **{"running experiments": [fenced("REPLACE", broken)],
                                     "code repair": [fenced("REPLACE", broken + "  # still"),
                                                     fenced("REPLACE", IRIS.gold)]})
    _, score, journal, marks, _ = await lab_run(tmp_path, player)
    repairs = asked(player, "code-repair", "code repair")
    assert len(repairs) == 2 and "RuntimeError: no model yet" in user(repairs[0])
    assert "still" in user(repairs[1])  # the second repair works on the first repair's version
    assert marks[-1].state["results_code"] == IRIS.gold.rstrip("\n") and score.success
    journal.close()


async def test_the_reward_model_is_asked_three_times_for_a_score_block_in_0_1_then_scores_0(tmp_path):
    player = Recording(IRIS.gold, **{"reward/scoring": ["Looks fine.", fenced("SCORE", "1.7"), fenced("SCORE", "0.8"),
                                                        "good", "```SCORE\nhigh\n```", "0.9"]})
    _, _, journal, marks, _ = await lab_run(tmp_path, player)
    rewards = [user(r) for r in asked(player, "reward", "scoring")]
    assert "no ```SCORE block" in rewards[1] and "between 0 and 1" in rewards[2]
    first = user(asked(player, "ml-engineer", "running experiments")[0])
    assert "The initial program passed; its score is 0.80." in first  # the third try counted
    # The gold's three replies were unreadable: it scores 0, the baseline (0.8) is kept.
    assert len(rewards) == 3 + 3 + 2 and marks[-1].state["score"] == 0.8
    assert marks[-1].state["results_code"] == BASELINE
    journal.close()


@pytest.mark.parametrize(("reply", "expected"), [
    ("```SCORE\n0.75\n```", 0.75), ("I think\n```score\n1\n```\nthanks", 1.0), ("```SCORE 0.3\n```", 0.3),
    ("```SCORE\n0.5", 0.5), ("0.5", FormatError), ("```SCORE\n-0.1\n```", FormatError),
    ("```SCORE\nnan\n```", FormatError), ("```SCORE\nhigh\n```", FormatError)])
def test_the_score_block_parser(reply, expected):
    if expected is FormatError:
        with pytest.raises(FormatError):
            commands.score(reply)
    else:
        assert commands.score(reply) == expected


@pytest.mark.parametrize(("reply", "lines", "expected"), [
    ("```REPLACE\na\nb\n```", ["x"], ["a", "b"]),
    ("text\n```EDIT 1 2\nB\n```", ["a", "b", "c", "d"], ["a", "B", "d"]),
    ("```EDIT 1 1\n```", ["a", "b", "c"], ["a", "c"]),          # an empty body deletes
    ("```EDIT 3 2\nz\n```", ["a", "b", "c"], ["a", "b", "c", "z"]),  # M = N - 1 inserts
    ("```python\nprint(1)\n```\n```REPLACE\nok", ["x"], ["ok"]),     # the first accepted word; no closing fence
    ("```EDIT 2 1\nz\n```", ["a", "b", "c", "d"], ["a", "b", "z", "c", "d"]),
])
def test_replace_and_edit_n_m(reply, lines, expected):
    assert commands.apply(commands.first(reply, ("REPLACE", "EDIT")), lines) == expected


@pytest.mark.parametrize("reply", ["```EDIT 5 6\nz\n```", "```EDIT 2\nz\n```", "```EDIT a b\nz\n```",
                                   "```EDIT 2 0\nz\n```"])
def test_an_edit_outside_the_program_is_a_format_error(reply):
    with pytest.raises(FormatError):
        commands.apply(commands.first(reply, ("EDIT",)), ["a", "b", "c"])


# --- the human -----------------------------------------------------------------------------------------------


async def test_a_human_refusing_a_phase_sends_it_back_with_notes_and_the_decisions_are_journaled(tmp_path):
    asked_about = []

    def approver(tool, arguments, touches):
        asked_about.append(arguments["phase"])
        return not (arguments["phase"] == "plan-formulation" and asked_about.count("plan-formulation") == 1)

    policy = ApprovalPolicy(require_approval_for=("write",), approver=approver)
    player = Recording(IRIS.gold)
    result, score, journal, marks, _ = await lab_run(
        tmp_path, player, approval=Feedback(policy, notes=lambda phase, text: "Use all four features."))
    assert asked_about == [PHASES[0], PHASES[1], *PHASES[1:]]
    plans = asked(player, "postdoc", "plan formulation")
    assert len(plans) == 2 and "A human gave these notes: Use all four features." in user(plans[1])
    assert "A human gave these notes" not in user(plans[0])
    entries = list(journal.entries(result.run_id))
    decisions = [(e.scope, e.result["allowed"]) for e in entries if (e.kind, e.name) == ("human", "approve_phase")]
    assert decisions[1:3] == [("plan-formulation#0", False), ("plan-formulation#0", True)]
    assert "plan-formulation#0/redo#1/postdoc#0" in {e.scope for e in entries}
    assert marks[1].state["feedback"] == {"plan-formulation": "Use all four features."} and score.success
    # A replay asks nobody: the decisions are served.
    replayed = await runner.replay(build(ScriptedModel([]), **SHORT,
                                         approval=ApprovalPolicy(("write",), approver=lambda *a: 1 / 0)),
                                   result.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and replayed.answer == result.answer
    journal.close()


async def test_approval_phases_limits_the_questions_and_an_unknown_phase_is_refused(tmp_path):
    seen = []
    policy = ApprovalPolicy(("write",), approver=lambda tool, args, touches: seen.append(args["phase"]) is None)
    _, _, journal, _, _ = await lab_run(tmp_path, Recording(IRIS.gold), approval=policy,
                                        approval_phases=["report-writing"])
    assert seen == ["report-writing"]
    journal.close()
    with pytest.raises(ConfigError, match="not phases"):
        build(ScriptedModel([]), approval=policy, approval_phases=["writing"])
    with pytest.raises(ConfigError, match="ApprovalPolicy or a Feedback"):
        build(ScriptedModel([]), approval=lambda *a: True)


# --- replay, resume, the harness --------------------------------------------------------------------------------


async def test_a_run_replays_with_no_model_call_and_no_workspace(tmp_path):
    result, _, journal, _, _ = await lab_run(tmp_path, Recording(IRIS.gold))
    replayed = await runner.replay(build(ScriptedModel([]), **SHORT), result.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    assert replayed.answer == result.answer and json.dumps(replayed.messages) == json.dumps(result.messages)
    journal.close()


def crash(journal, kill_after):
    return subprocess.run([sys.executable, HERE / "agent_laboratory_crash.py", journal, str(kill_after)],
                          check=False, capture_output=True, text=True, timeout=600)


async def test_a_run_killed_in_the_experiments_resumes_repeating_no_model_call_and_no_sandbox_run(tmp_path):
    from agent_laboratory_crash import OPTIONS

    reference = crash(tmp_path / "reference.db", "none")
    assert reference.returncode == 0, reference.stderr
    with Journal(tmp_path / "reference.db") as journal:
        ref = [e for e in journal.entries(journal.get_run("latest").run_id) if e.kind in ("model", "env")]
    kill_after = 8  # 2 papers, the plan, the data preparation's 2 calls, the initial program's score, 1 command, 1 score
    killed = crash(tmp_path / "j.db", kill_after)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        run = journal.get_run("latest")
        assert run.status == "running"
        before = [e for e in journal.entries(run.run_id) if e.kind == "model"]
        assert len(before) == kill_after and before[-1].scope == "running-experiments#0/reward#1"
        env_before = len([e for e in journal.entries(run.run_id) if e.kind == "env"])
        episode = ENV.episode(IRIS)
        player = Recording(IRIS.gold)
        resumed = await runner.resume(build(ScriptedModel(player), episode=episode, **OPTIONS), run.run_id,
                                      journal=journal)
        assert resumed.ok and (await ENV.score(episode, resumed.answer)).success
        after = [e for e in journal.entries(run.run_id) if e.kind in ("model", "env")]
        assert len({e.key for e in after}) == len(after)
        assert [e.scope for e in after] == [e.scope for e in ref] and [e.result for e in after if e.kind == "env"] \
            == [e.result for e in ref if e.kind == "env"]
        assert len(player.requests) == len([e for e in ref if e.kind == "model"]) - kill_after
        driver = stepping.driver_of(episode)
        assert driver.performed == len([e for e in ref if e.kind == "env"]) - env_before  # no step again


async def test_the_harness_runs_it_with_scripted_roles_and_reports_each_roles_cost(tmp_path):
    from agentzoo.eval.harness import EvalConfig, run_eval
    from agentzoo.eval.matrix import expand
    from agentzoo.eval.report import load_rows, summarize
    from agentzoo.runtime.spec import AgentSpec

    envs = {"mlagentbench": ENV}
    model = f"scripted:{HERE / 'agent_laboratory_script.py'}:play"
    spec = AgentSpec(agent="agent-laboratory", model=model, options=SHORT)
    await run_eval(expand(envs, ["agent-laboratory"], [model], 1, limit=2), envs,
                   EvalConfig(out=tmp_path, agents={"agent-laboratory": spec}))
    rows, _ = load_rows(tmp_path)
    assert len(rows) == 2 and all(r["success"] and r["status"] == "finished" for r in rows), \
        [(r["task"], r["error"]) for r in rows]
    [group] = summarize(rows)["groups"]
    calls = {role: r["model_calls"] // 2 for role, r in group["roles"].items() if r["model_calls"]}
    assert calls == {"literature-review/phd": 2, "plan-formulation/postdoc": 1, "data-preparation/ml-engineer": 1,
                     "data-preparation/sw-engineer": 1, "running-experiments/ml-engineer": 1,
                     "running-experiments/reward": 2, "results-interpretation/postdoc": 1,
                     "report-writing/professor": 1, "report-writing/reward": 2, "report-refinement/reviewer": 3,
                     "report-refinement/phd": 1}
    assert all(r["input_tokens"] > 0 for r in group["roles"].values() if r["model_calls"])
    assert group["roles"]["env"]["other_effects"] > 0  # the sandbox runs, as workspace steps


def test_the_oracle_keeps_the_gold_program_on_every_task_through_agentzoo_eval(tmp_path):
    import step_conformance as conformance

    rows = conformance.oracle_scores_full_through_cli("mlagentbench", tmp_path, agents="agent-laboratory")
    assert len(rows) == 4


def test_build_refuses_bad_options_and_an_episode_that_is_not_a_workspace():
    from agentzoo.envs.registry import get_env

    for options in ({"max_steps": 0}, {"repair_attempts": -1}, {"mlesolver_max_steps": True}):
        with pytest.raises(ConfigError, match="agent-laboratory"):
            build(ScriptedModel([]), **options)
    other = get_env("gsm8k")
    with pytest.raises(ConfigError, match="needs an episode of mlagentbench"):
        build(ScriptedModel([]), episode=other.episode(other.tasks()[0]))


async def test_the_shipped_local_model_takes_a_step(tmp_path):
    pytest.importorskip("xllamacpp")
    from agentzoo.eval.harness import EvalConfig, run_eval
    from agentzoo.eval.matrix import Sample
    from agentzoo.eval.store import ResultStore
    from agentzoo.models.local import model_file
    from agentzoo.runtime.spec import AgentSpec

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    spec = AgentSpec(agent="agent-laboratory", model="local:smollm2-135m?max_tokens=16", preset="small",
                     options={"max_steps": 1})
    await run_eval([Sample(ENV.name, IRIS, "agent-laboratory", spec.model, 0)], {ENV.name: ENV},
                   EvalConfig(out=tmp_path, concurrency=1, agents={"agent-laboratory": spec}))
    store = ResultStore(tmp_path / "results.db")
    [row] = list(store.rows())
    store.close()
    assert row["status"] == "finished", row["error"]
    # One literature-review turn; unless the model added a paper in it, the budget of 1 stops the lab there.
    assert row["model_calls"] >= 1 and row["success"] is False
