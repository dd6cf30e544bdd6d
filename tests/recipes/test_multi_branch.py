"""multi-branch (#16): a decomposer, k concurrent branches per sub-task picked by vote or a selector, each pick
carried forward to the next sub-task; replay, a harness run on gsm8k with scripted roles, the local model."""

import json
import re

import pytest

from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.multi_branch import parse_subtasks
from agentzoo.runtime import runner


def roles(first=("12", "12", "7"), second=None, choice="Choice: 3"):
    """Two sub-tasks; the first sub-task's branches answer `first` in branch order, the second's echo what they
    were shown (so the test sees what was carried forward)."""
    def reply(request):
        system = request.messages[0]["content"] if request.messages[0]["role"] == "system" else ""
        last = request.messages[-1]["content"]
        if system.startswith("You split a task"):
            return "Here is the plan:\n1. Count the apples.\n2. Double the count."
        if last.startswith("Several attempts"):
            return choice
        if "The step to solve now: Count the apples." in last:
            return f"Counting.\n{first[branch_of(request)]}"
        carried = re.search(r"Answer: Counting\.\n(\d+)", last).group(1)
        return second or f"Doubling {carried}.\n#### {2 * int(carried)}"
    return ScriptedModel(reply)


def branch_of(request):
    return request.seed - 100 if request.seed is not None else 0


async def test_k_branches_are_sampled_per_subtask_the_vote_picks_and_subtasks_run_in_order_carrying_the_pick(journal):
    model = roles()
    agent = build_recipe("multi-branch", model, k=3, sampling={"seed": 100})
    result = await runner.run(agent, "Ann has some apples; how many after doubling?", journal=journal)
    assert result.ok, result.error
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "model"]
    assert scopes[0] == "decompose"
    assert sorted(scopes[1:4]) == ["subtask#1/branch#1", "subtask#1/branch#2", "subtask#1/branch#3"]
    assert sorted(scopes[4:]) == ["subtask#2/branch#1", "subtask#2/branch#2", "subtask#2/branch#3"]
    assert len(model.requests) == 1 + 2 * 3
    first = agent.steps[0]
    assert first.candidates == ("Counting.\n12", "Counting.\n12", "Counting.\n7") and first.chosen == 0  # 12 wins 2:1
    # Every branch of sub-task 2 was shown sub-task 1's pick, and the run's answer is sub-task 2's pick.
    later = [r.messages[-1]["content"] for r in model.requests if "Double the count." in r.messages[-1]["content"]
             and "The step to solve now: Double" in r.messages[-1]["content"]]
    assert len(later) == 3 and all("1. Count the apples.\nAnswer: Counting.\n12" in p for p in later)
    assert all("This is the last step" in p for p in later)
    assert result.answer == "Doubling 12.\n#### 24"


async def test_the_selector_picks_a_minority_answer_and_it_is_carried_forward(journal):
    model = roles(choice="Attempt 3 is right.\nChoice: 3")
    agent = build_recipe("multi-branch", model, k=3, selection="selector", sampling={"seed": 100})
    result = await runner.run(agent, "task", journal=journal)
    assert result.ok, result.error
    assert agent.steps[0].chosen == 2 and result.answer == "Doubling 7.\n#### 14"
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "model"]
    assert scopes.count("subtask#1/select") == 1 and len(model.requests) == 1 + 2 * 4
    ask = next(r for r in model.requests if r.messages[-1]["content"].startswith("Several attempts"))
    assert "Attempt 1:\nCounting.\n12" in ask.messages[-1]["content"]


async def test_an_unreadable_selector_reply_is_named(journal):
    result = await runner.run(build_recipe("multi-branch", roles(choice="the third"), k=2, selection="selector"),
                              "task", journal=journal)
    assert not result.ok and "Choice: <1..2>" in str(result.error)


def test_plans_and_options():
    assert parse_subtasks("Plan:\n1. a\n2) b\nnote\n3. c", 2) == ["a", "b"]
    assert parse_subtasks("no list", 4) == []
    with pytest.raises(ConfigError, match="k .* at least 1"):
        build_recipe("multi-branch", ScriptedModel([]), k=0)
    with pytest.raises(ConfigError, match="selection must be one of vote, selector"):
        build_recipe("multi-branch", ScriptedModel([]), selection="best")


async def test_a_plan_without_numbered_lines_makes_the_task_the_one_subtask(journal):
    model = ScriptedModel(["I would just solve it.", "#### 3", "#### 3"])
    agent = build_recipe("multi-branch", model, k=2)
    result = await runner.run(agent, "What is 1 + 2?", journal=journal)
    assert result.ok and result.answer == "#### 3" and agent.steps[0].subtask == "What is 1 + 2?"


async def test_replay_makes_no_model_call(journal):
    result = await runner.run(build_recipe("multi-branch", roles(), sampling={"seed": 100}), "task", journal=journal)
    again = ScriptedModel([])
    replayed = await runner.replay(build_recipe("multi-branch", again, sampling={"seed": 100}), result.run_id,
                                   journal=journal)
    assert replayed.ok and replayed.answer == result.answer and again.requests == [] and replayed.live_effects == 0


async def test_a_harness_run_on_gsm8k_with_scripted_roles_is_scored_by_the_benchmark(tmp_path):
    env = GSM8K()
    task = env.tasks()[0]  # Janet's ducks: 18
    script = tmp_path / "roles.json"
    script.write_text(json.dumps(["1. Eggs left to sell.\n2. Dollars made.", "16 - 3 - 4 = 9", "9", "9",
                                  "9 * 2 = 18\n#### 18", "#### 18", "#### 18"]))
    await run_eval([Sample("gsm8k", task, "multi-branch", f"scripted:{script}", 0)], {"gsm8k": env},
                   EvalConfig(out=tmp_path / "out"))
    store = ResultStore(tmp_path / "out" / "results.db")
    try:
        [row] = list(store.rows())
    finally:
        store.close()
    assert row["success"] and row["model_calls"] == 7, row


async def test_the_shipped_local_model_runs_the_recipe(journal):
    """SmolLM2-135M as decomposer and one branch: the mechanics (2 short calls)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=2048&max_tokens=32")
    result = await runner.run(build_recipe("multi-branch", model, k=1, max_subtasks=1), "What is 2 + 3?",
                              journal=journal)
    assert result.ok, result.error
    assert [e.scope for e in journal.entries(result.run_id) if e.kind == "model"] == ["decompose",
                                                                                      "subtask#1/branch#1"]
