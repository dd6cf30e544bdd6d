"""Deep Agent (`deep-agent`, PAPERS.md #17): the hierarchical task DAG through the recipe.

The protocol test of PAPERS.md, driven by a scripted model: a node never runs before all its parents are done,
and a failed node has only its subtree planned again. Then the executor's replies (result, split, give up), the
prompt-version store, the planner's view of the tools, replay with no model call, resume after SIGKILL, whole
runs in the harness with scripted roles and with the oracle, and a short run of the shipped local model.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import deep_agent_crash as crash  # noqa: E402
import deep_agent_script as script  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.builder import build as build_spec  # noqa: E402
from agentzoo.envs.gsm8k import GSM8K  # noqa: E402
from agentzoo.envs.m3tooleval.env import M3ToolEval  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.eval.harness import EvalConfig, run_eval  # noqa: E402
from agentzoo.eval.matrix import Sample  # noqa: E402
from agentzoo.eval.report import write_reports  # noqa: E402
from agentzoo.eval.store import ResultStore  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.recipes.deep_agent import build, read_outcome  # noqa: E402
from agentzoo.recipes.deep_agent.versions import PromptStore, tweaks  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.runtime.spec import AgentSpec  # noqa: E402
from agentzoo.teams.task_dag import Done, Expand, Failed, Subtask, TaskDAGError  # noqa: E402

HERE = Path(__file__).parent
CRASH = HERE / "deep_agent_crash.py"
SCRIPT = HERE / "deep_agent_script.py"
NODE = re.compile(r"Your sub-task \(([^)]*)\): (.*)")


def user(request) -> str:
    return next(m["content"] for m in request.messages if m["role"] == "user")


def plan(*steps) -> str:
    return json.dumps({"subtasks": [{"key": k, "goal": g, "after": list(a)} for k, g, *rest in steps
                                    for a in [rest[0] if rest else ()]]})


class Script:
    """A scripted model for every role: plans and re-plans from lists, node replies by goal (a reply, or a list
    played in turn); logs every node call, and checks at each node's first call that its parents are done."""

    def __init__(self, plans, nodes, finish="#### 12"):
        self.plans, self.nodes, self.finish = list(plans), dict(nodes), finish
        self.log: list[tuple[str, str]] = []       # (node id, goal) per executor call, in call order
        self.done: set[str] = set()                 # nodes whose executor gave its final reply
        self.replans: list[str] = []
        self.model = ScriptedModel(self.reply)

    def reply(self, request):
        first = user(request)
        if "You plan the work above" in first or "could not be done, so it" in first:
            if "could not be done" in first:
                self.replans.append(first)
            return self.plans.pop(0)
        if "The work above was split" in first:
            return self.finish
        node, goal = NODE.search(first).groups()
        parents = re.findall(r"^- ([\w.]+): ", first.split("builds on:")[1], re.M) if "builds on:" in first else []
        assert set(parents) <= self.done, (node, parents, self.done)  # the parents' results are in, all of them
        self.log.append((node, goal))
        reply = self.nodes.get(goal, goal.upper())
        if isinstance(reply, list):
            reply = reply.pop(0) if len(reply) > 1 else reply[0]
        if not (isinstance(reply, dict) and reply.get("tool_calls")):
            self.done.add(node)
        return reply


DIAMOND = [("a", "root"), ("b", "left", ["a"]), ("c", "right", ["a"]), ("d", "join", ["b", "c"]), ("e", "apart")]


# --- the protocol: parents first; a failure re-plans its subtree only ------------------------------------------


async def test_a_node_never_runs_before_all_its_parents_are_done(journal):
    roles = Script([plan(*DIAMOND)], {})
    agent = build(roles.model)
    result = await runner.run(agent, "the goal", journal=journal)
    assert result.ok and result.answer == "#### 12"
    order = [node for node, _ in roles.log]
    assert set(order) == {"0", "1", "2", "3", "4"}
    for node, parents in {"1": ["0"], "2": ["0"], "3": ["1", "2"]}.items():
        assert all(order.index(p) < order.index(node) for p in parents)
    # The join got both parents' results; the journal's model calls are in the nodes' own scopes.
    join = next(r for r in roles.model.requests if "Your sub-task (3)" in user(r))
    assert "- 1: LEFT\n- 2: RIGHT" in user(join)
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "model"]
    assert scopes[0] == "plan" and scopes[-1] == "finish"
    assert sorted(scopes[1:-1]) == [f"node:{i}/executor" for i in range(5)]
    # A wave's nodes ran together: the checkpoints are {0, 4}, {1, 2}, {3}.
    waves = [e.request["nodes"] for e in journal.entries(result.run_id) if e.kind == "dag"]
    assert [[n["id"] for n in w if n["status"] == "done"] for w in waves] == [["0", "4"], ["0", "1", "2", "4"],
                                                                              ["0", "1", "2", "3", "4"]]


async def test_when_a_node_fails_only_its_subtree_is_planned_again():
    replan = plan(("x", "left again", ["0"]), ("y", "join again", ["x", "2"]))
    roles = Script([plan(*DIAMOND), replan], {"left": json.dumps({"failed": "the left side is gone"})})
    agent = build(roles.model)
    result = await runner.run(agent, "the goal")
    assert result.ok
    # b failed: b and d (which waits for it) are dropped and planned again; a, c and e, done, are kept, not rerun.
    [asked] = roles.replans
    assert "Failed: 1: left\nWhy: the executor gave up: the left side is gone" in asked
    assert "Dropped with it:\n- 3: join\n" in asked
    assert "- 0: root -> ROOT\n- 2: right -> RIGHT\n- 4: apart -> APART\n" in asked
    goals = [goal for _, goal in roles.log]
    assert goals.count("root") == goals.count("right") == goals.count("apart") == 1 and "join" not in goals
    states = {n.id: n.status for n in agent.last.nodes.values()}
    assert states == {"0": "done", "1": "replaced", "2": "done", "3": "replaced", "4": "done",
                      "1.r1.0": "done", "1.r1.1": "done"}
    assert agent.last.nodes["1.r1.1"].deps == ("1.r1.0", "2")


async def test_a_subtree_that_keeps_failing_stops_after_max_replans_naming_the_node():
    again = plan(("a", "flaky"))
    roles = Script([plan(("a", "flaky")), again, again], {"flaky": json.dumps({"failed": "timed out"})})
    result = await runner.run(build(roles.model, max_replans=2), "the goal")
    assert not result.ok and result.error["type"] == "TaskDAGError"
    assert "node 0.r2.0 ('flaky') failed after 2 re-plan(s)" in result.error["message"]
    assert len(roles.replans) == 2


async def test_the_executor_splits_its_node_and_the_dependents_wait_for_the_whole_split():
    split = plan(("1", "part one"), ("2", "part two", ["1"]))
    roles = Script([plan(("a", "big"), ("b", "after big", ["a"]))], {"big": split})
    agent = build(roles.model)
    result = await runner.run(agent, "the goal")
    assert result.ok and [g for _, g in roles.log] == ["big", "part one", "part two", "after big"]
    nodes = agent.last.nodes
    assert nodes["0"].status == "done" and nodes["0"].result == "PART ONE\nPART TWO"
    assert nodes["0.1"].deps == ("0.0",) and nodes["0.0"].parent == "0"
    after = next(r for r in roles.model.requests if "(1): after big" in user(r))
    assert "- 0: PART ONE\nPART TWO" in user(after)
    # At the deepest level the executor is not offered a split, and a split it makes anyway fails its node.
    flat = Script([plan(("a", "big")), plan(("a", "small"))], {"big": split})
    flat_agent = build(flat.model, max_depth=0)
    assert (await runner.run(flat_agent, "the goal")).ok
    first = next(r for r in flat.model.requests if "(0): big" in user(r))
    assert '"subtasks"' not in user(first)
    assert "below the deepest level" in flat_agent.last.nodes["0"].error


@pytest.mark.parametrize("reply, outcome", [
    ("42", Done("42")),
    ('  the answer is {"x": 1}  ', Done('the answer is {"x": 1}')),
    ('{"x": 1}', Done('{"x": 1}')),
    ('{"subtasks": [{"key": "a", "goal": "g", "after": []}]}', Expand((Subtask("a", "g"),))),
    ('```json\n{"failed": "no data"}\n```', Failed("the executor gave up: no data")),
    ("", Failed("the executor gave no result")),
    ('{"subtasks": "all of it"}', Failed('its split into sub-tasks could not be read: the plan needs "subtasks": a '
                                        'list of {"key", "goal", "after"}')),
])
def test_the_executors_reply_is_a_result_a_split_or_giving_up(reply, outcome):
    assert read_outcome(reply, 8) == outcome


async def test_an_executor_that_runs_out_of_steps_fails_its_node_and_the_tools_reach_the_planner():
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    call = {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}
    roles = Script([plan(("a", "loop")), plan(("a", "sum"))], {"loop": [call, {"tool_calls": [
        {"name": "add", "arguments": {"a": 2, "b": 2}}]}], "sum": [call, "3"]})
    agent = build(roles.model, [add], node_steps=2)
    result = await runner.run(agent, "the goal")
    assert result.ok and agent.last.nodes["0"].error.startswith("StepLimitExceeded: executor took 2 steps")
    first = roles.model.requests[0].messages[0]["content"]
    assert "Whoever does a sub-task can call these tools:\n- add: Add two numbers." in first
    second = [r for r in roles.model.requests if "(0.r1.0): sum" in user(r)][1]
    assert second.messages[-1]["role"] == "tool" and second.messages[-1]["content"] == "3"  # the tool ran


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="max_depth must be a whole number ≥ 0"):
        build(ScriptedModel([]), max_depth=-1)
    with pytest.raises(ConfigError, match="prompt_store .* needs prompt_learning"):
        build(ScriptedModel([]), prompt_learning=False, prompt_store="x.jsonl")


# --- the prompt-version store ----------------------------------------------------------------------------------


def test_the_store_prefers_the_tweak_with_the_best_smoothed_success_trying_each_first(tmp_path):
    store = PromptStore()
    assert tweaks("execute") == ("base", "check") and store.choose("execute") == "base"
    store.add({"role": "execute", "tweak": "base", "ok": True})
    assert store.choose("execute") == "base"      # 2/3 beats 1/2
    store.add({"role": "execute", "tweak": "base", "ok": False})
    assert store.choose("execute") == "check"     # 1/2 each: the one used less
    store.add({"role": "execute", "tweak": "check", "ok": False})
    assert store.choose("execute") == "base" and store.stats("execute") == {"base": (2, 1), "check": (1, 0)}
    bad = tmp_path / "store.jsonl"
    bad.write_text('{"role": "plan", "tweak": "base", "ok": true}\nnot json\n')
    with pytest.raises(ConfigError, match=r"store.jsonl:2: expected"):
        PromptStore(bad).choose("plan")


async def test_nodes_that_fail_move_the_executor_to_another_prompt_version_and_a_file_keeps_it(tmp_path, journal):
    path = tmp_path / "prompts.jsonl"
    steps = [("a", "one"), ("b", "two", ["a"]), ("c", "three", ["b"])]
    gave_up = json.dumps({"failed": "no"})
    roles = Script([plan(*steps), plan(("x", "one more"))], {"one": gave_up, "two": gave_up})
    first = await runner.run(build(roles.model, prompt_store=str(path)), "the goal", journal=journal)
    assert first.ok
    # node 0 (base) failed, so its re-plan's node used the other tweak; the plan needed a re-plan: it did not hold.
    check = "look again at what the sub-task asks for"
    asked = {user(r).split("\n")[3]: check in user(r)
             for r in roles.model.requests if user(r).startswith("You do one")}
    assert asked == {"Your sub-task (0): one": False, "Your sub-task (0.r1.0): one more": True}
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"role": "execute", "tweak": "base", "ok": False}, {"role": "execute", "tweak": "check", "ok": True},
        {"role": "plan", "tweak": "base", "ok": False}]
    kinds = [(e.scope, e.name) for e in journal.entries(first.run_id) if e.kind == "prompts"]
    assert kinds[0] == ("", "choose") and kinds[-1] == ("", "outcome") and ("node:0", "outcome") in kinds
    # The next run reads the file: its planner starts with the other plan tweak.
    again = Script([plan(("a", "one"))], {})
    await runner.run(build(again.model, prompt_store=str(path)), "the goal")
    assert "Keep every sub-task small" in again.model.requests[0].messages[0]["content"]
    # A replay shows the same tweaks with no store and no file.
    silent = ScriptedModel([])
    replayed = await runner.replay(build(silent), first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and silent.requests == []


# --- replay, resume ------------------------------------------------------------------------------------------------


async def test_a_run_replays_with_no_model_call(journal):
    live = await runner.run(crash.agent(ScriptedModel(crash.reply_to)), crash.TASK, journal=journal)
    assert live.ok and live.answer == "#### 12" and live.model_calls == crash.CALLS
    silent = ScriptedModel([])
    replayed = await runner.replay(crash.agent(silent), live.run_id, journal=journal)
    assert replayed.ok and replayed.answer == "#### 12" and silent.requests == [] and replayed.live_effects == 0


@pytest.mark.parametrize("kill_after", [2, 5])
def test_a_run_killed_mid_way_resumes_without_repeating_a_finished_call(tmp_path, kill_after):
    killed = subprocess.run([sys.executable, CRASH, tmp_path / "j.db", str(kill_after)], capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        before = [(e.scope, e.seq) for e in journal.entries(run.run_id) if e.kind == "model"]
        assert kill_after <= len(before) <= kill_after + 1  # parallel nodes' calls may commit together
        model = ScriptedModel(crash.reply_to)
        resumed = asyncio.run(runner.resume(crash.agent(model), run.run_id, journal=journal))
        assert resumed.ok and resumed.answer == "#### 12"
        assert len(model.requests) == crash.CALLS - len(before)  # what the journal lacked, nothing again
        keys = [e.key for e in journal.entries(run.run_id)]
        assert len(keys) == len(set(keys))
        after = [(e.scope, e.seq) for e in journal.entries(run.run_id) if e.kind == "model"]
        assert after[:len(before)] == before and len(after) == crash.CALLS


# --- the harness ------------------------------------------------------------------------------------------------


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return sorted(store.rows(), key=lambda r: (r["env"], r["task"]))
    finally:
        store.close()


async def test_scripted_roles_solve_gsm8k_and_m3tooleval_in_the_harness_with_a_replan_and_per_role_cost(tmp_path):
    envs = {"gsm8k": GSM8K(), "m3tooleval": M3ToolEval()}
    roles = {role: f"scripted:{SCRIPT}:{fn}" for role, fn in
             (("plan", "planner"), ("executor", "executor"), ("replan", "replanner"), ("finish", "finisher"))}
    spec = AgentSpec(agent="deep-agent", model="-", models=roles)
    samples = [Sample(name, task, "deep-agent", f"scripted:{SCRIPT}:play", 0)
               for name, env in envs.items() for task in env.tasks()[:2]]
    await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=2, agents={"deep-agent": spec}))
    got = rows(tmp_path)
    assert [(r["env"], r["success"]) for r in got] == [("gsm8k", True)] * 2 + [("m3tooleval", True)] * 2
    for row in got:
        calls = {scope: usage["model_calls"] for scope, usage in row["scopes"].items() if usage["model_calls"]}
        if row["env"] == "gsm8k":
            assert calls == {"plan": 1, "node:0/executor": 1, "node:0/replan": 1, "node:0.r1.0/executor": 1,
                             "node:0.r1.1/executor": 1, "finish": 1}
            assert row["model_calls"] == script.GSM8K_CALLS
        else:
            rounds = sum(1 for s in M3ToolEval().oracle(next(t for t in M3ToolEval().tasks() if t.id == row["task"]),
                                                         "tool-calling") if isinstance(s, dict))
            assert calls == {"plan": 1, "node:0/executor": rounds + 1, "node:1/executor": 1, "finish": 1}
            assert row["scopes"]["node:0/executor"]["tool_calls"] >= rounds
    write_reports(tmp_path)
    assert "| node:0/replan |" in (tmp_path / "summary.md").read_text()
    with Journal(tmp_path / "journal.db") as journal:  # every row replays from its stored spec with no model
        for row in got:
            built = build_spec(AgentSpec.model_validate(journal.get_run(row["run_id"]).config), replay=True)
            again = await runner.replay(built.agent, row["run_id"], journal=journal)
            assert again.ok and again.live_effects == 0 and again.answer == row["answer"]


async def test_the_oracle_scores_every_first_task_through_the_harness(tmp_path):
    env = M3ToolEval()
    tasks = [t for t in env.tasks() if t.id.split("/")[0] in ("trade_calculator", "travel_itinerary_planning")][:2]
    await run_eval([Sample(env.name, t, "deep-agent", "oracle", 0) for t in tasks], {env.name: env},
                   EvalConfig(out=tmp_path, concurrency=2))
    got = rows(tmp_path)
    assert len(got) == 2 and all(r["success"] for r in got), [(r["error"], r["score"]) for r in got]


async def test_the_catalogue_takes_the_presets():
    agent = build_recipe("deep-agent", ScriptedModel([]), max_depth=0, prompt_learning=False)
    assert agent.max_depth == 0 and agent.store is None


# --- the shipped local model, for real -------------------------------------------------------------------------


async def test_the_local_model_plans_and_runs_a_small_dag(tmp_path):
    pytest.importorskip("xllamacpp")
    from agentzoo.models.local import model_file

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    env = GSM8K()
    spec = AgentSpec(agent="deep-agent", preset="flat", model="local:smollm2-135m?max_tokens=96",
                     options={"max_subtasks": 2, "max_replans": 0, "node_steps": 1})
    await run_eval([Sample(env.name, env.tasks()[0], "deep-agent", spec.model, 0)], {env.name: env},
                   EvalConfig(out=tmp_path, concurrency=1, agents={"deep-agent": spec}))
    [row] = rows(tmp_path)
    # A 135M model may not plan usefully; what must hold is that the recipe ran its roles and ended cleanly.
    assert row["status"] == "finished" or row["error"]["type"] == "TaskDAGError", row["error"]
    assert row["scopes"]["plan"]["model_calls"] >= 1
    if row["status"] == "finished":
        assert row["scopes"]["finish"]["model_calls"] == 1 and 1 <= row["model_calls"] <= 2 + 2 + 1
