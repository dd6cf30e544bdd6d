"""MetaGPT (#39) on the pipeline: the SOP's message order, its validated documents, the QA loop
with tests run in the sandbox, the harness, replay and crash resume. Scripted models only.

A `Company` plays every role (by the persona in the system prompt and the prompt's `Action:`
line); tests override what one role says. The tests QA writes really run in the sandbox
(`tier="auto"`, never unsafe), so a RunCode verdict is read from a real test run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import agentzoo
from agentzoo import ScriptedModel
from agentzoo.envs.code import HumanEval
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.report import load_rows, summarize
from agentzoo.recipes import build_recipe
from agentzoo.recipes.metagpt import PRD, SystemDesign, TaskList
from agentzoo.teams.pipeline import ALL

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import metagpt_script  # noqa: E402

PM, ARCH, PJM, ENG, QA = "product_manager", "architect", "project_manager", "engineer", "qa_engineer"
TASK = "Write a Python function add(a, b) that returns the sum of two numbers."
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BUGGY = "```python\ndef add(a, b):\n    return a - b\n```"
TESTS = ("```python\nimport unittest\nfrom main import add\n\nclass TestAdd(unittest.TestCase):\n"
         "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n```")


class Company:
    """Plays every role with metagpt_script; `say[action]` lists replies that go first."""

    def __init__(self, **say):
        self.say = {action: list(replies) for action, replies in say.items()}
        self.asked: list[tuple[str, str]] = []

    def __call__(self, request):
        prompt = request.messages[1]["content"]
        action = re.search(r"^Action: (.+)$", prompt, re.M).group(1).strip()
        persona = re.search(r"You are (\w+)", request.messages[0]["content"]).group(1)
        self.asked.append((persona, action))
        if self.say.get(action):
            return self.say[action].pop(0)
        return metagpt_script.ACTIONS[action](prompt)


class Keep:
    """Runs the agent and keeps its whole outcome (the pipeline's history), for the asserts."""

    def __init__(self, agent):
        self.agent, self.name = agent, agent.name

    async def run(self, task, ctx):
        self.outcome = await self.agent.run(task, ctx)
        return self.outcome


async def run(company, journal, task=TASK, **options):
    model = ScriptedModel(company)
    kept = Keep(build_recipe("metagpt", model, **options))
    result = await agentzoo.run(kept, task, journal=journal)
    assert result.ok, result.error
    return result, kept.outcome, model


def trace(outcome):
    return [(m.sent_from, m.cause_by, m.send_to) for m in outcome.history]


def effects(journal, result):
    return [(e.scope, e.kind) for e in journal.entries(result.run_id)]


# The SOP up to the QA engineer's first test run (rounds 1-7).
HANDOVER = [
    ("user", "UserRequirement", (ALL,)),
    (PM, "WritePRD", (ALL,)),            # PM watches UserRequirement
    (ARCH, "WriteDesign", (ALL,)),       # the architect wakes only on WritePRD
    (PJM, "WriteTasks", (ALL,)),         # the project manager on WriteDesign
    (ENG, "WriteCode", (ENG,)),          # the engineer on WriteTasks; its code goes to itself …
    (ENG, "SummarizeCode", (QA,)),       # … then to QA (max_auto_summarize_code=0: no model call)
    (QA, "WriteTest", (QA,)),
    (QA, "WriteTest", ()),               # "Round 1 of tests done", to nobody
]


# --- the protocol --------------------------------------------------------------------------------


async def test_the_sop_hands_validated_documents_down_the_line_in_order(journal):
    company = Company(WriteCode=[GOOD], WriteTest=[TESTS])
    result, outcome, model = await run(company, journal)
    assert trace(outcome) == HANDOVER + [(QA, "RunCode", ()), (QA, "WriteTest", ())]  # PASS: sent to NoOne
    assert (outcome.rounds, outcome.idle) == (7, True)
    assert company.asked == [("Alice", "WritePRD"), ("Bob", "WriteDesign"), ("Eve", "WriteTasks"),
                             ("Alex", "WriteCode"), ("Edward", "WriteTest"), ("Edward", "RunCode")]
    # Each role's effects in its own scope; the tests ran once in the sandbox, in QA's scope.
    assert effects(journal, result) == [(PM, "model"), (ARCH, "model"), (PJM, "model"), (ENG, "model"),
                                        (QA, "model"), (QA, "sandbox"), (QA, "model")]
    prd, design, tasks = (m.document for m in outcome.history[1:4])
    # The documents carry upstream's ActionNode keys (write_prd_an, design_api_an, project_management_an).
    assert list(prd) == ["Language", "Programming Language", "Original Requirements", "Project Name", "Product Goals",
                         "User Stories", "Competitive Analysis", "Competitive Quadrant Chart", "Requirement Analysis",
                         "Requirement Pool", "UI Design draft", "Anything UNCLEAR"]
    assert list(design) == ["Implementation approach", "File list", "Data structures and interfaces",
                            "Program call flow", "Anything UNCLEAR"]
    assert list(tasks) == ["Required packages", "Required Other language third-party packages", "Logic Analysis",
                           "Task list", "Full API spec", "Shared Knowledge", "Anything UNCLEAR"]
    assert PRD.model_validate(prd) and SystemDesign.model_validate(design) and TaskList.model_validate(tasks)
    # Each stage is asked with the document before it.
    asked = [r.messages[1]["content"] for r in model.requests]
    assert TASK in asked[0] and json.dumps(prd, indent=2) in asked[1] and json.dumps(design, indent=2) in asked[2]
    assert json.dumps(tasks, indent=2) in asked[3] and TASK in asked[3]
    report = outcome.history[8].document
    assert (report["Status"], report["Send To"], report["passed"]) == ("PASS", "NoOne", True)
    assert "Ran 1 test" in report["stderr"] and report["stderr"].rstrip().endswith("OK")
    assert result.answer == GOOD  # the engineer's code


async def test_an_invalid_prd_is_sent_back_with_the_validation_error_and_the_corrected_one_goes_on(journal):
    broken = {"Language": "en", "Programming Language": "Python", "Original Requirements": TASK,
              "Project Name": "adder", "User Stories": "as a user I add",  # no Product Goals; stories not a list
              "Competitive Analysis": [], "Competitive Quadrant Chart": "", "Requirement Analysis": "",
              "Requirement Pool": [], "UI Design draft": "", "Anything UNCLEAR": ""}
    company = Company(WritePRD=[f"[CONTENT]{json.dumps(broken)}[/CONTENT]"], WriteCode=[GOOD], WriteTest=[TESTS])
    result, outcome, model = await run(company, journal)
    assert company.asked[:3] == [("Alice", "WritePRD"), ("Alice", "WritePRD"), ("Bob", "WriteDesign")]
    retry = model.requests[1].messages
    assert retry[2] == {"role": "assistant", "content": f"[CONTENT]{json.dumps(broken)}[/CONTENT]"}
    assert "Product Goals: Field required" in retry[3]["content"]
    assert "User Stories: Input should be a valid list" in retry[3]["content"]
    # One PRD was published, the corrected one, and it is what the architect was given.
    prds = [m for m in outcome.history if m.cause_by == "WritePRD"]
    assert len(prds) == 1 and prds[0].document["Product Goals"] == ["Solve the task exactly as stated"]
    assert json.dumps(prds[0].document, indent=2) in model.requests[2].messages[1]["content"]
    assert trace(outcome)[:len(HANDOVER)] == HANDOVER
    assert [e.scope for e in journal.entries(result.run_id) if e.kind == "model"][:3] == [PM, PM, ARCH]


async def test_failing_tests_go_back_to_the_engineer_who_fixes_the_code_from_the_logs(journal):
    company = Company(WriteCode=[BUGGY, GOOD], WriteTest=[TESTS, TESTS])
    result, outcome, model = await run(company, journal)
    assert trace(outcome) == HANDOVER + [
        (QA, "RunCode", (ENG,)), (QA, "WriteTest", ()),          # FAIL, the code is wrong: to the engineer
        (ENG, "WriteCode", (ENG,)), (ENG, "SummarizeCode", (QA,)),
        (QA, "WriteTest", (QA,)), (QA, "WriteTest", ()),
        (QA, "RunCode", ()), (QA, "WriteTest", ()),              # PASS
    ]
    failed = outcome.history[8].document
    assert (failed["Status"], failed["passed"]) == ("FAIL", False) and "AssertionError: -1 != 5" in failed["stderr"]
    fix_prompt = model.requests[6].messages[1]["content"]
    assert "## Test logs" in fix_prompt and "AssertionError: -1 != 5" in fix_prompt and "return a - b" in fix_prompt
    assert [k for _, k in effects(journal, result)].count("sandbox") == 2
    assert result.answer == GOOD


async def test_qa_stops_after_its_allowed_rounds_of_tests(journal):
    wrong_tests = TESTS.replace("5)", "6)")
    blame_tests = metagpt_script.document({"Instruction": "the test expects 6", "File To Rewrite": "test_main.py",
                                           "Status": "FAIL", "Send To": "QaEngineer"})
    company = Company(WriteCode=[GOOD], WriteTest=[wrong_tests], DebugError=[wrong_tests] * 9,
                      RunCode=[blame_tests] * 9)
    result, outcome, model = await run(company, journal)
    qa = [(m.cause_by, m.send_to, m.content) for m in outcome.history if m.sent_from == QA]
    assert [c for c, _, _ in qa] == ["WriteTest", "WriteTest", "RunCode", "WriteTest", "DebugError", "WriteTest",
                                     "RunCode", "WriteTest", "DebugError", "WriteTest", "RunCode", "WriteTest",
                                     "WriteTest"]
    assert qa[-2][2] == "Round 6 of tests done"
    assert qa[-1] == ("WriteTest", (), "Exceeding 5 rounds of tests, stop.")  # qa_engineer.py, test_round_allowed=5
    assert (outcome.rounds, outcome.idle) == (12, True)
    assert [k for _, k in effects(journal, result)].count("sandbox") == 3


async def test_the_engineer_debugs_at_most_three_times(journal):
    company = Company(WriteCode=[BUGGY] * 9, WriteTest=[TESTS] * 9)
    result, outcome, model = await run(company, journal, test_round_allowed=10)
    code_versions = [m for m in outcome.history if m.sent_from == ENG and m.cause_by == "WriteCode"]
    assert len(code_versions) == 4  # the first version and three fixes (paper: up to 3 retries)
    assert trace(outcome)[-2:] == [(QA, "RunCode", (ENG,)), (QA, "WriteTest", ())]  # the 4th failure is not acted on
    assert (outcome.rounds, outcome.idle) == (20, True)
    assert result.answer == BUGGY


async def test_code_review_rewrites_on_lbtm_until_lgtm(journal):
    lbtm = metagpt_script.document({"Code Review": ["add subtracts"], "Code Review Result": "LBTM"})
    company = Company(WriteCode=[BUGGY], WriteCodeReview=[lbtm], **{"WriteCodeReview (rewrite)": [GOOD]})
    result, outcome, model = await run(company, journal, use_code_review=True, run_tests=False)
    assert [action for _, action in company.asked[3:]] == [  # k=2 reviews at most: LBTM, then LGTM
        "WriteCode", "WriteCodeReview", "WriteCodeReview (rewrite)", "WriteCodeReview"]
    assert trace(outcome)[4:] == [(ENG, "WriteCodeReview", (ENG,)), (ENG, "SummarizeCode", (QA,))]
    assert "add subtracts" in model.requests[5].messages[1]["content"]
    assert result.answer == GOOD


def test_the_constants_are_the_defaults():
    agent = build_recipe("metagpt", ScriptedModel([]))
    assert (agent.n_round, agent.max_attempts, agent.test_round_allowed, agent.max_debug_retries) == (20, 6, 5, 3)
    assert (agent.use_code_review, agent.code_validate_k_times) == (False, 2)
    assert (agent.test_timeout, agent.run_tests) == (10.0, True)
    team = agent.team()
    assert [(r.name, sorted(r.watch)) for r in team.roles] == [
        (PM, ["UserRequirement"]), (ARCH, ["WritePRD"]), (PJM, ["WriteDesign"]),
        (ENG, ["WriteCode", "WriteCodeReview", "WriteTasks"]),
        (QA, ["DebugError", "RunCode", "SummarizeCode", "WriteTest"])]


# --- the harness, replay, resume -------------------------------------------------------------------


async def test_it_solves_humaneval_in_the_harness_with_cost_per_role(tmp_path):
    # The harness runs a recipe only where its answer kinds (ANSWER_KINDS: code) meet the
    # environment's; the GSM8K answer (code, then `#### n`) is shown by the replay test below.
    envs = {"humaneval": HumanEval()}
    model = f"scripted:{HERE / 'metagpt_script.py'}:play"
    progress = await run_eval(expand(envs, ["metagpt"], [model], 1, limit=2), envs, EvalConfig(out=tmp_path))
    rows, _ = load_rows(tmp_path)
    assert progress.done == len(rows) == 2
    assert all(r["success"] and r["status"] == "finished" for r in rows), [(r["task"], r["error"]) for r in rows]
    for row in rows:
        assert set(row["scopes"]) == {PM, ARCH, PJM, ENG, QA}
        assert {s: u["model_calls"] for s, u in row["scopes"].items()} == {PM: 1, ARCH: 1, PJM: 1, ENG: 1, QA: 2}
        assert row["scopes"][QA]["other_effects"] == 1 and row["model_calls"] == 6  # one test run in the sandbox
    for group in summarize(rows)["groups"]:
        assert group["success"]["rate"] == 1.0 and set(group["roles"]) == {PM, ARCH, PJM, ENG, QA}
        assert all(r["input_tokens"] > 0 and r["model_calls"] > 0 for r in group["roles"].values())


async def test_replay_makes_no_model_call_and_runs_no_test(journal):
    task = GSM8K().tasks()[1]
    company = Company()
    result, outcome, _ = await run(company, journal, task=task.prompt)
    assert result.answer.endswith(f"#### {task.gold}")
    silent = ScriptedModel([])
    again = await agentzoo.replay(build_recipe("metagpt", silent, tier="unsafe"), result.run_id, journal=journal)
    # tier="unsafe" without allow_unsafe would refuse to start a sandbox: none is needed.
    assert (again.answer, again.messages, silent.calls, again.live_effects) == (result.answer, result.messages, 0, 0)


@pytest.mark.parametrize("kill_after", [3, 6])
def test_resume_after_a_kill_repeats_no_completed_call(tmp_path, kill_after):
    """SIGKILL once the journal holds `kill_after` model calls (3: the design; 6: QA's first call,
    so the sandbox run is next); the resumed process makes only the calls that were left."""
    task = tmp_path / "task.txt"
    task.write_text(HumanEval().tasks()[3].prompt)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parents[1] / "src"), os.environ.get("PYTHONPATH", "")]))

    def helper(*args):
        return subprocess.run([sys.executable, HERE / "crash_metagpt.py", *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=120)

    ref = helper("run", "metagpt", tmp_path / "ref.db", task)
    assert ref.returncode == 0, ref.stderr
    reference = json.loads(ref.stdout)
    assert reference["status"] == "finished" and reference["model_calls"] == 6

    assert helper("run", "metagpt", tmp_path / "j.db", task, kill_after).returncode == -signal.SIGKILL
    resumed = helper("resume", "metagpt", tmp_path / "j.db")
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["model_calls"] == reference["model_calls"] - kill_after
    assert (out["status"], out["answer"]) == ("finished", reference["answer"])
    with agentzoo.Journal(tmp_path / "j.db") as j:
        entries = list(j.entries(j.get_run("latest").run_id))
        assert len({e.key for e in entries}) == len(entries) and all(e.status == "ok" for e in entries)
        assert Counter(e.kind for e in entries) == {"model": 6, "sandbox": 1}
