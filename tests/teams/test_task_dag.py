"""The task DAG: parents before children, ready nodes together, a failure re-plans only its subtree,
expansions, bounded re-plans, a model planner that is shown its bad plan once, replay and resume."""

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dag_crash import dag, reply_to  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.errors import ConfigError, FormatError  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.teams.task_dag import (  # noqa: E402
    Done, Expand, Failed, ModelPlanner, Subtask, TaskDAG, TaskDAGError, check_plan,
)

CRASH = Path(__file__).parent / "dag_crash.py"


class Planner:
    """Plans from a table; re-plans from a list (one plan per re-plan); records what it was asked."""

    def __init__(self, plan, replans=()):
        self.first, self.replans, self.asked = plan, list(replans), []

    async def plan(self, goal, ctx):
        return self.first

    async def replan(self, goal, failed, subtree, done, ctx):
        self.asked.append((failed.id, [n.id for n in subtree], [n.id for n in done]))
        return self.replans.pop(0)


class Executor:
    """Outcomes by goal (a callable or an Outcome; default Done(goal.upper())); logs start and end per node."""

    def __init__(self, outcomes=None):
        self.outcomes, self.log, self.runs = outcomes or {}, [], []

    async def execute(self, node, inputs, ctx):
        self.log.append(("start", node.id))
        self.runs.append(node.goal)
        await asyncio.sleep(0.001 * (3 - len(node.id) % 3))  # finish in another order than started
        outcome = self.outcomes.get(node.goal, Done(node.goal.upper() + "".join(f"<{v}>" for v in inputs.values())))
        self.log.append(("end", node.id))
        return outcome() if callable(outcome) else outcome


DIAMOND = [Subtask("a", "root"), Subtask("b", "left", ("a",)), Subtask("c", "right", ("a",)),
           Subtask("d", "join", ("b", "c"))]


async def test_a_node_runs_only_after_all_its_parents_and_ready_nodes_run_together(journal):
    executor = Executor()
    agent = TaskDAG(Planner(DIAMOND), executor)
    result = await runner.run(agent, "goal", journal=journal)
    assert result.ok and result.answer == "JOIN<LEFT<ROOT>><RIGHT<ROOT>>"
    when = {(kind, node): i for i, (kind, node) in enumerate(executor.log)}
    deps = {"1": ["0"], "2": ["0"], "3": ["1", "2"]}
    for node, parents in deps.items():
        assert all(when[("end", p)] < when[("start", node)] for p in parents)
    assert when[("start", "2")] < when[("end", "1")]  # left and right in the same wave
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "dag"]
    assert scopes == ["", "", ""]  # one checkpoint per wave: {a}, {b, c}, {d}


async def test_a_failure_replans_only_its_subtree():
    plan = [*DIAMOND, Subtask("e", "elsewhere")]
    planner = Planner(plan, replans=[[Subtask("x", "left again", ("0",)), Subtask("y", "join again", ("x", "2"))]])
    executor = Executor({"left": Failed("no left")})
    dag_agent = TaskDAG(planner, executor)
    result = await dag_agent.run("goal", _ctx())
    # b failed: b and d (which waits for it) are re-planned; a, c and e, done, are kept and not run again
    assert planner.asked == [("1", ["1", "3"], ["0", "2", "4"])]
    assert executor.runs.count("root") == 1 and executor.runs.count("right") == 1 and executor.runs.count("elsewhere") == 1
    assert "join" not in executor.runs
    states = {n.id: n.status for n in dag_agent.last.nodes.values()}
    assert states == {"0": "done", "1": "replaced", "2": "done", "3": "replaced", "4": "done",
                      "1.r1.0": "done", "1.r1.1": "done"}
    assert dag_agent.last.nodes["1.r1.0"].deps == ("0",)
    assert result.answer == "ELSEWHERE\nJOIN AGAIN<LEFT AGAIN<ROOT>><RIGHT<ROOT>>"


async def test_a_subtree_that_keeps_failing_stops_after_max_replans_naming_the_node():
    planner = Planner([Subtask("a", "flaky")], replans=[[Subtask("a", "flaky")], [Subtask("a", "flaky")]])
    agent = TaskDAG(planner, Executor({"flaky": Failed("timed out")}), max_replans=2)
    with pytest.raises(TaskDAGError, match=r"node 0.r2.0 \('flaky'\) failed after 2 re-plan\(s\).*timed out"):
        await agent.run("goal", _ctx())
    assert len(planner.asked) == 2


async def test_a_node_expands_into_a_sub_dag_and_its_dependents_wait_for_all_of_it():
    plan = [Subtask("a", "big"), Subtask("b", "after big", ("a",))]
    executor = Executor({"big": Expand((Subtask("1", "part one"), Subtask("2", "part two", ("1",))))})
    agent = TaskDAG(Planner(plan), executor)
    result = await agent.run("goal", _ctx())
    assert executor.runs == ["big", "part one", "part two", "after big"]
    nodes = agent.last.nodes
    assert nodes["0"].status == "done" and nodes["0"].result == "PART ONE\nPART TWO<PART ONE>"
    assert nodes["0.0"].parent == "0" and nodes["0.1"].deps == ("0.0",)
    assert result.answer == "AFTER BIG<PART ONE\nPART TWO<PART ONE>>"


async def test_expanding_below_max_depth_counts_as_a_failure_of_that_node():
    planner = Planner([Subtask("a", "deep")], replans=[[Subtask("a", "shallow")]])
    executor = Executor({"deep": Expand((Subtask("1", "deeper"),)), "deeper": Expand((Subtask("1", "deepest"),))})
    agent = TaskDAG(planner, executor, max_depth=1)
    result = await agent.run("goal", _ctx())
    assert planner.asked == [("0.0", ["0.0"], [])] and result.answer == "SHALLOW"
    assert "expanded below the deepest level" in agent.last.nodes["0.0"].error


@pytest.mark.parametrize("plan, problem", [
    ([], "no sub-task"),
    ([Subtask("a", "x"), Subtask("a", "y")], "repeats the key"),
    ([Subtask("a", "x", ("z",))], "waits for 'z'"),
    ([Subtask("a", "x", ("b",)), Subtask("b", "y", ("a",))], "cycle"),
])
def test_a_plan_that_cannot_hold_is_named(plan, problem):
    with pytest.raises(FormatError, match=problem):
        check_plan(plan)


def test_bad_limits_are_config_errors():
    with pytest.raises(ConfigError, match="max_nodes"):
        TaskDAG(Planner([]), Executor(), max_nodes=0)


async def test_the_model_planner_is_shown_its_bad_plan_once(journal):
    cyclic = {"subtasks": [{"key": "a", "goal": "x", "after": ["b"]}, {"key": "b", "goal": "y", "after": ["a"]}]}
    good = {"subtasks": [{"key": "a", "goal": "x", "after": []}]}
    model = ScriptedModel([json.dumps(cyclic), json.dumps(good)])
    result = await runner.run(TaskDAG(ModelPlanner(model), Executor()), "goal", journal=journal)
    assert result.ok and result.answer == "X"
    retry = model.requests[1].messages[-1]["content"]
    assert "cycle" in retry and model.requests[0].response_format["type"] == "json_schema"
    hopeless = ScriptedModel(["not json", "still not"])
    failed = await runner.run(TaskDAG(ModelPlanner(hopeless), Executor()), "goal", journal=journal)
    assert not failed.ok and "could not be used" in failed.error["message"]


async def test_replay_makes_no_call(journal):
    result = await runner.run(dag(ScriptedModel(reply_to)), "the area", journal=journal)
    assert result.ok and result.answer == "area 12"
    again = ScriptedModel([])
    replayed = await runner.replay(dag(again), result.run_id, journal=journal)
    assert replayed.ok and replayed.answer == "area 12" and again.requests == []
    scopes = sorted({e.scope for e in journal.entries(result.run_id) if e.kind == "model"})
    assert scopes == ["node:0", "node:1", "node:2", "plan"]


def test_a_dag_killed_mid_wave_resumes_without_repeating_a_finished_call(tmp_path):
    ref = subprocess.run([sys.executable, CRASH, tmp_path / "ref.db"], capture_output=True, text=True, timeout=120)
    assert ref.returncode == 0, ref.stderr
    killed = subprocess.run([sys.executable, CRASH, tmp_path / "j.db", "2"], capture_output=True, text=True,
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        done = [e.scope for e in journal.entries(run.run_id) if e.kind == "model"]
        # killed after the 2nd call; the two parallel nodes' calls may have committed together (group commit)
        assert done[0] == "plan" and len(done) in (2, 3)
        model = ScriptedModel(reply_to)
        resumed = asyncio.run(runner.resume(dag(model), run.run_id, journal=journal))
        assert resumed.ok and resumed.answer == "area 12"
        asked = [r.messages[-1]["content"].splitlines()[0] for r in model.requests]
        assert len(asked) == 4 - len(done) and asked[-1] == "multiply them"  # what the journal lacked, nothing again


def _ctx():
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    return Context(Gateway(run_id="t", journal=None, mode="live"))


async def test_the_model_planner_renders_a_recipes_own_prompts_with_its_variables(tmp_path):
    (tmp_path / "plan.j2").write_text("Plan {{ goal }} with {{ tools }} in at most {{ max_subtasks }}.")
    (tmp_path / "replan.j2").write_text("Replace {{ failed.id }} using {{ tools }}.")
    (tmp_path / "retry.j2").write_text("Again: {{ problem }}")
    plans = [{"subtasks": [{"key": "a", "goal": "flaky", "after": []}]},
             {"subtasks": [{"key": "a", "goal": "steady", "after": []}]}]
    model = ScriptedModel([json.dumps(p) for p in plans])
    planner = ModelPlanner(model, prompts=tmp_path, max_subtasks=3, variables={"tools": "add, mul", "goal": "x"})
    result = await TaskDAG(planner, Executor({"flaky": Failed("no")})).run("the sum", _ctx())
    assert result.answer == "STEADY"
    asked = [r.messages[0]["content"] for r in model.requests]
    assert asked == ["Plan the sum with add, mul in at most 3.", "Replace 0 using add, mul."]  # its goal wins
