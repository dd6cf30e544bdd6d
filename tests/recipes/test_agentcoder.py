"""AgentCoder: the paper's feedback loop and the released code's best-of-n, asserted on what each role
was sent and what the journal holds; the test executor's own behaviour in the real sandbox; then end
to end in the harness, replayed with a model that cannot answer, and resumed after a SIGKILL in the
middle of the parallel programmer/test-designer stage."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.envs.code import MBPP, HumanEval
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.report import render_markdown, summarize
from agentzoo.eval.store import ResultStore
from agentzoo.recipes import build_recipe
from agentzoo.runtime import pricing
from agentzoo.recipes._code_tests import Suite, TestExecutor, parse_tests, read_task
from agentzoo.recipes.agentcoder import PRESETS

from agentcoder_script import play

HERE = Path(__file__).parent

TASK = ("Write the Python function `add` below: complete its body so that it does what its docstring says. "
        "Reply with the complete function in one ```python code block.\n\n"
        '```python\ndef add(a: int, b: int) -> int:\n    """The sum of a and b."""\n```')
TESTS = ("Basic and edge cases:\n```python\nassert add(1, 2) == 3\nassert add(-1, 1) == 0, \"negatives\"\n"
         "print('done')\n```")


def role(request):
    system = request.messages[0]["content"]
    return "programmer" if "You are the programmer" in system else "test_designer"


def user_of(request):
    return request.messages[-1]["content"]


def code(body):
    return f"Step by step: ...\n```python\ndef add(a: int, b: int) -> int:\n    {body}\n```"


def scripted(programmer_replies):
    """The programmer says each of `programmer_replies` in turn (the last one again after that); the
    test designer gives TESTS."""
    said = []

    def answer(request):
        if role(request) == "test_designer":
            return TESTS
        said.append(request)
        return programmer_replies[min(len(said), len(programmer_replies)) - 1]
    return ScriptedModel(answer)


def effects(journal, run_id):
    return [(e.scope, e.seq, e.kind) for e in journal.entries(run_id)]


# --- the paper's loop -------------------------------------------------------------------------------


async def test_a_failing_test_goes_back_to_the_programmer_and_the_loop_stops_when_all_pass(journal):
    model = scripted([code("return abs(a) + b"), code("return a + b")])
    result = await agentzoo.run(build_recipe("agentcoder", model), TASK, journal=journal)
    assert result.ok
    assert result.answer == "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"
    assert [role(r) for r in model.requests] == ["programmer", "test_designer", "programmer"]
    first, designer, second = (user_of(r) for r in model.requests)
    assert "Do not solve it" in designer and "abs(a)" not in designer  # the designer never sees code
    # The second programmer prompt: the task, the last code, the failing assert, its error and value.
    assert TASK in second and "return abs(a) + b" in second and "1 of 2 failed" in second
    assert '```python\nassert add(-1, 1) == 0, "negatives"\n```\nAssertionError: negatives (the left-hand side ' \
           "evaluated to 2)" in second
    assert "assert add(1, 2) == 3" not in second  # it passed
    # The programmer and the designer ran concurrently in their own scopes; tests ran in the sandbox.
    assert effects(journal, result.run_id) == [
        ("programmer", 0, "model"), ("test_designer", 0, "model"), ("test_executor", 0, "sandbox"),
        ("programmer", 1, "model"), ("test_executor", 1, "sandbox")]
    executions = [e for e in journal.entries(result.run_id) if e.kind == "sandbox"]
    assert all(e.request["fresh"] and e.result["tier"] in ("bwrap", "landlock") for e in executions)
    assert result.messages[-1]["content"] == code("return a + b")


async def test_the_loop_stops_after_five_rounds_of_feedback(journal):
    versions = [code(f"return a - b  # version {i}") for i in range(1, 8)]
    model = scripted(versions)
    result = await agentzoo.run(build_recipe("agentcoder", model), TASK, journal=journal)
    prompts = [user_of(r) for r in model.requests if role(r) == "programmer"]
    assert len(prompts) == 6 and sum(role(r) == "test_designer" for r in model.requests) == 1
    for i, prompt in enumerate(prompts[1:], start=1):  # each feedback shows the version before it
        assert f"# version {i}\n" in prompt and f"# version {i + 1}" not in prompt and "2 of 2 failed" in prompt
    assert "# version 6" in result.answer  # the last code
    assert [e.scope for e in journal.entries(result.run_id) if e.kind == "sandbox"] == ["test_executor"] * 6


async def test_the_released_code_keeps_the_completion_passing_most_test_sets_and_stops_at_three():
    # Test set j checks square(j); completion k of a round is right below its limit and wrong above.
    limits = {1: [2, 1, 2, 0, 1], 2: [1, 3, 4, 4, 0]}
    rounds: list[str] = []

    def answer(request):
        k = request.seed - 100
        if role(request) == "test_designer":
            return f"```python\nassert square({k}) == {k * k}\n```"
        if k == 0:
            rounds.append(user_of(request))
        limit = limits[len(rounds)][k]
        mark = f"round {len(rounds)} sample {k}"
        return f"```python\ndef square(x):\n    return x * x if x < {limit} else -1  # {mark}\n```"

    model = ScriptedModel(answer)
    task = "Write the function `square`: the square of x. Reply in one ```python code block."
    agent = build_recipe("agentcoder", model, sampling={"seed": 100}, **PRESETS["code"])
    result = await agentzoo.run(agent, task)
    assert rounds[0] == rounds[1]  # the second round samples the same prompt again: no error text
    assert sum(role(r) == "test_designer" for r in model.requests) == 10  # new test sets every round
    assert "# round 2 sample 2" in result.answer  # 4 of 5 sets, the first of the best; >= 3: stop


async def test_the_programmer_and_the_test_designer_run_at_the_same_time(journal):
    in_flight, most = 0, 0

    async def answer(request):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return play(request)

    result = await agentzoo.run(build_recipe("agentcoder", ScriptedModel(answer)), HumanEval().tasks()[4].prompt,
                                journal=journal)
    assert result.ok and most == 2


async def test_a_task_that_asks_for_no_function_is_answered_directly(journal):
    model = ScriptedModel(["Half of 8 is 4.\n#### 4"])
    result = await agentzoo.run(build_recipe("agentcoder", model), "What is half of 8?", journal=journal)
    assert result.answer == "Half of 8 is 4.\n#### 4"
    assert effects(journal, result.run_id) == [("direct", 0, "model")]


def test_presets_carry_the_constants_and_tools_are_refused():
    paper = build_recipe("agentcoder", ScriptedModel([]))
    code_ = build_recipe("agentcoder", ScriptedModel([]), **PRESETS["code"])
    assert (paper.iterations, paper.samples, paper.test_sets, paper.pass_bar, paper.feedback) == (5, 1, 1, None, True)
    assert (code_.iterations, code_.samples, code_.test_sets, code_.pass_bar, code_.feedback) == (5, 5, 5, 3, False)
    with pytest.raises(ConfigError, match="calls no tools"):
        build_recipe("agentcoder", ScriptedModel([]), [print])


# --- reading tasks and tests; the executor in the sandbox ------------------------------------------------


def test_the_function_and_its_stub_are_read_from_humaneval_and_mbpp_prompts():
    human = HumanEval().tasks()[0]
    task = read_task(human.prompt)
    assert task.entry_point == "has_close_elements" and task.stub.strip() == human.data["prompt"].strip()
    mbpp = read_task(MBPP().tasks()[1].prompt)
    assert (mbpp.entry_point, mbpp.stub) == ("similar_elements", "")
    assert read_task(GSM8K().tasks()[0].prompt) is None


def test_only_asserts_on_the_function_are_tests_and_a_designers_own_version_is_dropped():
    reply = ("```python\nimport math\ndef f(x):\n    return 0\nLIMIT = 10\nassert f(1) == 1\nassert math.pi > 3\n"
             "print(f(2))\ndef test_more():\n    assert f(2) == 4\nassert f(1) == 1\n```")
    assert parse_tests(reply, "f") == Suite("import math\nLIMIT = 10", ("assert f(1) == 1", "assert f(2) == 4"))


async def test_each_test_has_its_own_time_limit_and_a_hang_hides_no_other_result(journal):
    executor = TestExecutor(test_timeout=0.5)
    program = "def f(x):\n    while x == 2:\n        pass\n    return x + 1\n"
    suite = Suite("", ("assert f(1) == 2", "assert f(2) == 3", "assert f(3) == 5"))

    runs = []

    class Agent:
        name = "executor"

        async def run(self, task, ctx):
            try:
                runs.append(await executor.run(ctx, program, [suite]))
            finally:
                await executor.close()
            return "done"

    result = await agentzoo.run(Agent(), "run", journal=journal)
    assert result.ok and [e.kind for e in journal.entries(result.run_id)] == ["sandbox"]
    outcomes = runs[0].outcomes
    assert [(o.passed, o.error and o.error["type"], o.got) for o in outcomes] == [
        (True, None, None), (False, "TimeoutError", None), (False, "AssertionError", "4")]


# --- in the harness, replayed, resumed --------------------------------------------------------------


async def test_it_succeeds_in_the_harness_with_cost_tokens_and_calls_per_role(tmp_path, monkeypatch):
    monkeypatch.setattr(pricing, "_default", pricing.Pricing({"play": (1.0, 2.0)}, use_env=False))  # priced
    # Only code environments: the harness refuses GSM8K for a recipe whose answers are code
    # (ANSWER_KINDS); the plain answer to a task that asks for no function is tested above.
    envs = {"humaneval": HumanEval(), "mbpp": MBPP()}
    samples = expand(envs, ["agentcoder"], [f"scripted:{HERE / 'agentcoder_script.py'}:play"], 1, limit=2)
    progress = await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=3))
    store = ResultStore(tmp_path / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert progress.done == len(rows) == 4 and progress.succeeded == 4
    for row in rows:
        calls = {scope: (u["model_calls"], u["other_effects"]) for scope, u in row["scopes"].items()}
        # wrong first, then right after the failing tests came back
        assert calls == {"programmer": (2, 0), "test_designer": (1, 0), "test_executor": (0, 2)}, row["task"]
        assert all(u["input_tokens"] > 0 and u["cost_usd"] > 0
                   for scope, u in row["scopes"].items() if scope != "test_executor")
    summary = summarize(rows)
    code = next(g for g in summary["groups"] if g["env"] == "humaneval")
    assert code["success"]["rate"] == 1.0 and code["calls"]["model"] == 6 and code["cost"]["complete"]
    assert set(code["roles"]) == {"programmer", "test_designer", "test_executor"}
    assert "| agentcoder | " in render_markdown(summary) and "test_designer" in render_markdown(summary)


@pytest.mark.parametrize("env", [HumanEval(), GSM8K()], ids=["humaneval", "gsm8k"])
async def test_replay_makes_no_model_call_runs_no_code_and_gives_the_same_answer(journal, env):
    task = env.tasks()[1].prompt
    live = await agentzoo.run(build_recipe("agentcoder", ScriptedModel(play)), task, journal=journal)
    assert live.ok
    silent = ScriptedModel([])  # raises if it is ever called
    again = await agentzoo.replay(build_recipe("agentcoder", silent), live.run_id, journal=journal)
    assert (again.answer, again.model_calls, again.live_effects, silent.calls) == (live.answer, live.model_calls, 0, 0)


async def test_a_run_killed_between_the_programmer_and_the_test_designer_resumes_without_repeating_it(tmp_path):
    task = HumanEval().tasks()[2].prompt
    reference = await agentzoo.run(build_recipe("agentcoder", ScriptedModel(play)), task)
    assert reference.model_calls == 3
    (tmp_path / "task.txt").write_text(task)
    journal_path = tmp_path / "j.db"
    child = subprocess.run([sys.executable, HERE / "crash_code.py", "agentcoder", journal_path, tmp_path / "task.txt",
                            "1"], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with Journal(journal_path) as journal:
        run = journal.get_run("latest")
        recorded = [e for e in journal.entries(run.run_id)]
        # The programmer's call, and the test designer's if it ended in the same loop turn (one group commit).
        scopes = [(e.scope, e.kind) for e in recorded]
        assert run.status == "running" and scopes in ([("programmer", "model")],
                                                      [("programmer", "model"), ("test_designer", "model")])
        model = ScriptedModel(play)
        resumed = await agentzoo.resume(build_recipe("agentcoder", model), run.run_id, journal=journal)
        assert resumed.ok and resumed.answer == reference.answer
        # Only the calls that were not recorded are made: the designer's (unless recorded), then the
        # programmer's second.
        assert [role(r) for r in model.requests] == ["test_designer", "programmer"][len(scopes) - 1:]
        assert "Your last version" in user_of(model.requests[-1])
        keys = [e.key for e in journal.entries(run.run_id)]
        assert len(keys) == len(set(keys)) == 5 and journal.get_run(run.run_id).status == "finished"


def test_the_crash_helper_runs_to_the_end_without_a_kill(tmp_path):
    (tmp_path / "task.txt").write_text(MBPP().tasks()[0].prompt)
    child = subprocess.run([sys.executable, HERE / "crash_code.py", "agentcoder", tmp_path / "j.db",
                            tmp_path / "task.txt"], capture_output=True, text=True, timeout=120)
    out = json.loads(child.stdout)
    assert (out["status"], out["calls"]) == ("finished", 3) and out["answer"].startswith("```python")
