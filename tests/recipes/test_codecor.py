"""CodeCoR: the code passing the most generated tests wins, every agent prunes its weak outputs, repair
advice reaches the coding agent; asserted on what each agent was sent and what the journal holds; then
end to end in the harness, replayed with a model that cannot answer, and resumed after a SIGKILL in
the middle of a parallel stage."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.envs.code import MBPP, HumanEval
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.report import summarize
from agentzoo.eval.store import ResultStore
from agentzoo.recipes import build_recipe
from agentzoo.runtime import pricing
from agentzoo.recipes.codecor import parse_scores

from codecor_script import play

HERE = Path(__file__).parent
TASK = "Write the function `sq`: the square of an integer x. Reply with it in one ```python code block."


def role(request):
    system, user = request.messages[0]["content"], request.messages[-1]["content"]
    name = re.search(r"You are the (\w+) agent", system).group(1)
    return f"{name}/review" if "Judge your own work" in user else name


def user_of(request):
    return request.messages[-1]["content"]


def sq(limit, mark):
    """A candidate that is right for x < limit."""
    return f"```python\ndef sq(x):\n    return x * x if x < {limit} else -1  # {mark}\n```"


def by_role(model, name):
    return [user_of(r) for r in model.requests if role(r) == name]


# --- the protocol ----------------------------------------------------------------------------------


async def test_the_code_passing_most_generated_tests_wins_and_repair_advice_reaches_the_coding_agent(journal):
    # Six generated tests, sq(0)..sq(5); the three candidates pass 2, 5 and 4 of them, and every rewrite
    # does worse, so after the three repair rounds the answer is still candidate 2's first code.
    first = {1: 2, 2: 5, 3: 4}

    def answer(request):
        user, k = user_of(request), request.seed
        match role(request):
            case "prompt":
                return f"GUIDE-{k + 1}: square it."
            case "test":
                a, b = 2 * k, 2 * k + 1
                return f"```python\nassert sq({a}) == {a * a}\nassert sq({b}) == {b * b}\n```"
            case "coding":
                n = int(re.search(r"GUIDE-(\d)", user).group(1))
                rewrites = user.count("The repair agent's advice")
                if not rewrites:
                    return sq(first[n], f"candidate {n} v1")
                version = int(re.search(r"# candidate \d v(\d)", user).group(1)) + 1
                return sq(first[n] - version, f"candidate {n} v{version}")
            case "repair":
                mark = re.search(r"# (candidate \d v\d)", user).group(1)
                return f"ADVICE {k % 3 + 1} for {mark}"
            case "repair/review":
                return "#1: 9\n#2: 2\n#3: 6"  # the second advice is pruned
            case _:
                return "\n".join(f"#{n}: 8" for n in re.findall(r"^#(\d+)$", user, re.M))

    model = ScriptedModel(answer)
    result = await agentzoo.run(build_recipe("codecor", model, sampling={"seed": 0}), TASK, journal=journal)
    assert result.ok and "# candidate 2 v1" in result.answer  # 5 of 6, not the first candidate (2 of 6)
    executions = [e for e in journal.entries(result.run_id) if e.kind == "sandbox"]
    assert len(executions) == 3 * (1 + 3) and {e.scope for e in executions} == {"test_executor"}
    passed = [e.result["stdout"].count('"error": null') for e in executions]
    assert passed[:3] == [2, 5, 4] and max(passed[3:]) < 5

    rewrite = next(p for p in by_role(model, "coding") if "GUIDE-2" in p and "The repair agent's advice" in p)
    assert "# candidate 2 v1" in rewrite and "It failed 1 of the test agent's 6 tests." in rewrite
    assert "```python\nassert sq(5) == 25\n```\nAssertionError (the left-hand side evaluated to -1)" in rewrite
    # The kept advice, best first; the pruned one never reaches the coding agent.
    assert rewrite.index("ADVICE 1 for candidate 2 v1") < rewrite.index("ADVICE 3 for candidate 2 v1")
    assert "ADVICE 2" not in rewrite
    repair = next(p for p in by_role(model, "repair") if "# candidate 2 v1" in p)
    assert "assert sq(5) == 25" in repair and "evaluated to -1" in repair
    assert len(by_role(model, "coding")) == 3 * (1 + 3)  # three candidates, each rewritten three times


async def test_every_agent_prunes_its_low_quality_outputs(journal):
    def answer(request):
        user, k = user_of(request), request.seed
        match role(request):
            case "prompt":
                return f"GUIDE-{k + 1}: square it."
            case "prompt/review":
                return "#1: 6\n#2: 2\n#3: 9"  # guide 2 goes; guide 3 is the best
            case "test":
                return ["```python\nassert sq(2) == 4\nassert sq(3) == 9\n```",
                        "```python\nassert True\nprint(sq(2))\n```",  # no assert on sq: pruned by rule
                        "```python\nassert sq(4) == 17\n```"][k]
            case "test/review":
                return "#1: 8\n#2: 1"  # the wrong set goes
            case "coding":
                return ["```python\ndef sq(x) return x\n```",  # does not parse: pruned by rule
                        sq(0, "lazy"), sq(100, "good")][k]
            case "coding/review":
                return "#1: 3\n#2: 9"
        raise AssertionError(user)

    model = ScriptedModel(answer)
    result = await agentzoo.run(build_recipe("codecor", model, sampling={"seed": 0}), TASK, journal=journal)
    assert result.ok and "# good" in result.answer
    guided = by_role(model, "test") + by_role(model, "coding")
    assert all("GUIDE-2" not in p for p in guided)
    assert ["GUIDE-3" in p for p in by_role(model, "test")] == [True] * 3  # the best guide
    assert [re.search(r"GUIDE-\d", p).group(0) for p in by_role(model, "coding")] == ["GUIDE-3", "GUIDE-1", "GUIDE-3"]
    # Reviews saw only what passed the rule checks: two test sets, two functions.
    assert re.findall(r"^#\d$", by_role(model, "test/review")[0], re.M) == ["#1", "#2"]
    assert "def sq(x) return x" not in by_role(model, "coding/review")[0]
    # One execution, of the one kept function, on the one kept test set; it passes: no repair.
    executions = [e for e in journal.entries(result.run_id) if e.kind == "sandbox"]
    assert len(executions) == 1
    program = executions[0].request["code"]
    assert "# good" in program and "# lazy" not in program
    assert "assert sq(3) == 9" in program and "sq(4) == 17" not in program
    assert by_role(model, "repair") == []


async def test_the_parallel_drafts_of_each_stage_run_at_the_same_time(journal):
    in_flight, most = 0, []  # calls in flight as each call starts

    async def answer(request):
        nonlocal in_flight
        in_flight += 1
        most.append(in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return play(request)

    result = await agentzoo.run(build_recipe("codecor", ScriptedModel(answer)), HumanEval().tasks()[4].prompt,
                                journal=journal)
    peaks: list[int] = []  # calls in flight at most, per stage (a stage starts when the count is back at 1)
    for n in most:
        if n == 1:
            peaks.append(1)
        else:
            peaks[-1] = n
    # 3 guides | their review | 3 test sets with 3 candidates | the two reviews | 3 x 3 pieces of advice |
    # one review per candidate | 3 rewrites
    assert result.ok and peaks == [3, 1, 6, 2, 9, 1, 1, 1, 3]


def test_scores_are_read_leniently_and_missing_ones_are_none():
    assert parse_scores("#1: 8\n#2 - 3/10\n**#3**: 7.5\n#1: 2\n#9: 10", 4) == [8.0, 3.0, 7.5, None]


async def test_a_task_that_asks_for_no_function_is_answered_directly(journal):
    model = ScriptedModel(["Half of 8 is 4.\n#### 4"])
    result = await agentzoo.run(build_recipe("codecor", model), "What is half of 8?", journal=journal)
    assert result.answer == "Half of 8 is 4.\n#### 4"
    assert [(e.scope, e.kind) for e in journal.entries(result.run_id)] == [("direct", "model")]


def test_defaults_and_tools():
    agent = build_recipe("codecor", ScriptedModel([]))
    assert (agent.n_prompts, agent.n_test_sets, agent.n_codes, agent.n_advice, agent.max_rounds, agent.min_score) == \
        (3, 3, 3, 3, 3, 5.0)
    with pytest.raises(ConfigError, match="calls no tools"):
        build_recipe("codecor", ScriptedModel([]), [print])


# --- in the harness, replayed, resumed --------------------------------------------------------------

CALLS = {"prompt_agent": 4, "test_agent": 4, "coding_agent": 7, "repair_agent": 12}  # a code task, by role


async def test_it_succeeds_in_the_harness_with_cost_tokens_and_calls_per_role(tmp_path, monkeypatch):
    monkeypatch.setattr(pricing, "_default", pricing.Pricing({"play": (1.0, 2.0)}, use_env=False))  # priced
    # Only code environments: the harness refuses GSM8K for a recipe whose answers are code
    # (ANSWER_KINDS); the plain answer to a task that asks for no function is tested above.
    envs = {"humaneval": HumanEval(), "mbpp": MBPP()}
    samples = expand(envs, ["codecor"], [f"scripted:{HERE / 'codecor_script.py'}:play"], 1, limit=2)
    progress = await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=3))
    store = ResultStore(tmp_path / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert progress.done == len(rows) == 4 and progress.succeeded == 4
    summary = summarize(rows)
    for group in summary["groups"]:
        assert group["success"]["rate"] == 1.0
        roles = {name: r["model_calls"] // group["scored"] for name, r in group["roles"].items()}
        assert roles == {**CALLS, "test_executor": 0}
        assert group["roles"]["test_executor"]["other_effects"] == 6 * group["scored"]  # 3 candidates, twice
        assert all(r["input_tokens"] > 0 and r["cost_usd"] > 0 for name, r in group["roles"].items()
                   if name != "test_executor")
        assert group["cost"]["complete"] and group["cost"]["usd"] > 0


async def test_replay_makes_no_model_call_runs_no_code_and_gives_the_same_answer(journal):
    task = MBPP().tasks()[2].prompt
    live = await agentzoo.run(build_recipe("codecor", ScriptedModel(play)), task, journal=journal)
    assert live.ok and live.model_calls == sum(CALLS.values())
    silent = ScriptedModel([])  # raises if it is ever called
    again = await agentzoo.replay(build_recipe("codecor", silent), live.run_id, journal=journal)
    assert (again.answer, again.model_calls, again.live_effects, silent.calls) == (live.answer, live.model_calls, 0, 0)


@pytest.mark.parametrize("kill_after,stage", [
    (2, "prompt_agent"),    # 2 of the 3 parallel guides recorded
    (16, "repair_agent"),   # 4 of the 9 parallel pieces of advice recorded, after 3 sandbox runs
])
async def test_a_run_killed_in_a_parallel_stage_resumes_without_repeating_a_finished_call(tmp_path, kill_after, stage):
    task = HumanEval().tasks()[3].prompt
    reference = await agentzoo.run(build_recipe("codecor", ScriptedModel(play)), task)
    total = sum(CALLS.values())
    assert reference.model_calls == total
    (tmp_path / "task.txt").write_text(task)
    journal_path = tmp_path / "j.db"
    child = subprocess.run([sys.executable, HERE / "crash_code.py", "codecor", journal_path, tmp_path / "task.txt",
                            str(kill_after)], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with Journal(journal_path) as journal:
        run = journal.get_run("latest")
        recorded = [e for e in journal.entries(run.run_id) if e.kind == "model"]
        # At least the calls before the kill; branches that end in the same loop turn share a commit.
        assert run.status == "running" and len(recorded) >= kill_after
        assert recorded[kill_after - 1].scope.startswith(stage + "#")
        model = ScriptedModel(play)
        resumed = await agentzoo.resume(build_recipe("codecor", model), run.run_id, journal=journal)
        assert resumed.ok and resumed.answer == reference.answer
        assert model.calls == total - len(recorded)  # only the calls that were not recorded are made
        entries = list(journal.entries(run.run_id))
        assert len({e.key for e in entries}) == len(entries) == total + 6  # and 6 sandbox runs
        assert journal.get_run(run.run_id).status == "finished"
