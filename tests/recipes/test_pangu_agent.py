"""Pangu-Agent (`pangu-agent`, PAPERS.md #5): reasoning structures as data, acting in step environments.

The protocol test of PAPERS.md, driven by a scripted model: think → plan → act makes exactly three model calls per
environment step, in that order, and only the extrinsic call's output is sent to env.step. Then the composition
language (spec strings, YAML, errors naming the bad part), the memory, the presets (self-consistency votes, the
SwiftSage switch, tools, a peer), replay with no model and no environment, resume after SIGKILL, whole runs in the
harness with scripted roles and with the oracle, and a short run of the shipped local model.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import pangu_agent_crash as crash  # noqa: E402
import pangu_agent_script as script  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.builder import build as build_spec  # noqa: E402
from agentzoo.catalog import get_kind  # noqa: E402
from agentzoo.envs import stepping  # noqa: E402
from agentzoo.envs.base import Episode  # noqa: E402
from agentzoo.envs.gridworld import GridWorld  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.eval.harness import EvalConfig, run_eval  # noqa: E402
from agentzoo.eval.matrix import Sample  # noqa: E402
from agentzoo.eval.report import write_reports  # noqa: E402
from agentzoo.eval.store import ResultStore  # noqa: E402
from agentzoo.models.roles import RoleModels  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.recipes.pangu_agent import PRESETS, StructureError, build, parse, parse_yaml, spec  # noqa: E402
from agentzoo.recipes.pangu_agent.structure import Call, SwiftSage, Vote  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.runtime.spec import AgentSpec  # noqa: E402

HERE = Path(__file__).parent
SCRIPT = HERE / "pangu_agent_script.py"
GRID = GridWorld()
MAZE = GRID.tasks()[0]  # maze-3x3-1: south, south, east, north, east, south
ASKS = {"Give your next action": "act", "Think about the situation": "think", "Make a plan from here": "plan",
        "Reflect on your recent": "reflect", "You are a teammate": "communicate", "Before you act you may": "tool"}


def function_of(request) -> str:
    last = request.messages[-1]["content"].rsplit("\n", 1)[-1]
    return next(name for ask, name in ASKS.items() if last.startswith(ask))


def walk(task=MAZE, env=GRID, play=script.play, **options):
    episode = env.episode(task)
    model = ScriptedModel(play)
    return episode, model, build(model, episode.tools, episode=episode, **options)


# --- the protocol ----------------------------------------------------------------------------------------------


async def test_think_plan_act_is_three_calls_per_step_in_order_and_only_the_action_reaches_the_environment(journal):
    def play(request):  # think and plan answer with moves too (wrong ones): none may reach the maze
        return {"think": "west", "plan": "north"}.get(function_of(request)) or script.play(request)

    episode, model, agent = walk(play=play)
    result = await runner.run(agent, episode.prompt, journal=journal)
    assert result.ok and stepping.progress_of(episode).reward == 1.0
    steps = len(MAZE.gold)
    assert [function_of(r) for r in model.requests] == ["think", "plan", "act"] * steps
    # The journal's order: three calls, each in its function's scope, then the step, at every step.
    entries = [e for e in journal.entries(result.run_id) if e.kind in ("model", "env")]
    assert [(e.kind, e.scope) for e in entries] == [("env", "env")] + [
        ("model", "think"), ("model", "plan"), ("model", "act"), ("env", "env")] * steps
    # What reached env.step is exactly what act said, never what think or plan said.
    sent = [e.request["action"] for e in entries if e.kind == "env" and e.request["op"] == "step"]
    acts = [e.result["message"]["content"].removeprefix("Action: ") for e in entries if e.scope == "act"]
    assert sent == acts == list(MAZE.gold) and "west" not in sent
    assert stepping.progress_of(episode).steps == steps


async def test_the_intrinsic_functions_change_the_memory_the_next_functions_see():
    episode, model, agent = walk()
    await runner.run(agent, episode.prompt)
    think, plan, act = model.requests[3:6]  # the second step
    assert "Your plan:" in think.messages[-1]["content"]              # the plan of step 1, kept
    assert "Your thoughts at this step:\n- The way on is south." in plan.messages[-1]["content"]
    assert "Your plan:\nsouth\neast\nnorth" in act.messages[-1]["content"]  # this step's plan replaced it
    assert "Action: south\nObservation: You are in row 1" in act.messages[-1]["content"]
    assert "Thought:" not in act.messages[-1]["content"]  # without keep_thoughts a thought serves its own step
    _, kept, react = walk(**PRESETS["react"])
    await runner.run(react, "x")
    assert "Thought: The way on is south.\nAction: south" in kept.requests[-1].messages[-1]["content"]


# --- the composition language --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, parsed", [
    ("think -> plan -> act", (Call("think"), Call("plan"), Call("act"))),
    ("think→act", (Call("think"), Call("act"))),
    ("use-tool -> act", (Call("tool"), Call("act"))),
    ("vote(3, think -> act)", (Vote(3, (Call("think"), Call("act"))),)),
    ("reflect -> swiftsage(act | think -> plan -> act)",
     (Call("reflect"), SwiftSage((Call("act"),), (Call("think"), Call("plan"), Call("act"))))),
    ("swiftsage(vote(2, act) | plan -> act)", (SwiftSage((Vote(2, (Call("act"),)),), (Call("plan"), Call("act"))),)),
])
def test_a_spec_string_is_a_structure_and_back(text, parsed):
    assert parse(text) == parsed and parse(spec(parsed)) == parsed


@pytest.mark.parametrize("text, problem", [
    ("", "it is empty"),
    ("think -> plan", "the structure ends with 'plan'; it must end with the extrinsic function 'act'"),
    ("act -> think", "'act' (item 1 of the structure) acts in the environment, so nothing can follow it"),
    ("thnk -> act", "'thnk -> act', character 1: unknown function 'thnk'; the functions are think, plan, reflect"),
    ("think -> vote -> act", "expected '(' after vote"),
    ("vote(1, act)", "vote takes a whole number of samples, at least 2, got 1"),
    ("vote(3 think -> act)", "expected ',', found 'think' at character 8 ('vote(3 ' ⟨here⟩ 'think -> act)')"),
    ("vote(2, think)", "the body of 'vote(2, think)' ends with 'think'"),
    ("swiftsage(act, plan -> act)", "expected '|' between the swift and the sage branch, found ','"),
    ("swiftsage(act | plan)", "the sage branch of swiftsage ends with 'plan'"),
    ("think(deeply) -> act", "'think' takes no arguments at character 6"),
    ("think -> act; plan", "cannot read '; plan' at character 13"),
])
def test_a_bad_spec_is_refused_naming_the_part(text, problem):
    with pytest.raises(StructureError) as error:
        parse(text)
    assert problem in str(error.value)


def test_a_structure_from_yaml_and_its_errors(tmp_path):
    path = tmp_path / "swift.yaml"
    path.write_text("structure:\n  - reflect\n  - swiftsage:\n      swift: [act]\n      sage: [think, plan, act]\n")
    assert parse(str(path)) == parse("reflect -> swiftsage(act | think -> plan -> act)")
    assert parse_yaml("- vote: {n: 3, do: [think, act]}") == parse("vote(3, think -> act)")
    assert parse_yaml("think -> act") == parse("think -> act")
    with pytest.raises(StructureError, match=r"structure\[1\] is \{'vote': \{'n': 3\}\}; an item is a function name"):
        parse_yaml("- think\n- vote: {n: 3}")
    with pytest.raises(StructureError, match=r"structure\[0\]\.vote\.do\[0\].*unknown function 'ponder'"):
        parse_yaml("- vote: {n: 2, do: [ponder, act]}")
    with pytest.raises(StructureError, match="bad.yaml: the structure ends with 'plan'"):
        (tmp_path / "bad.yaml").write_text("[think, plan]")
        parse(str(tmp_path / "bad.yaml"))
    with pytest.raises(StructureError, match="missing.yaml"):
        parse(str(tmp_path / "missing.yaml"))


def test_build_refuses_what_cannot_run():
    episode = GRID.episode(MAZE)
    with pytest.raises(StructureError, match="'tool' needs tools to call"):
        build(ScriptedModel([]), episode.tools, episode=episode, structure="tool -> act")
    with pytest.raises(ConfigError, match="needs an episode of one"):
        build(ScriptedModel([]), episode=Episode(MAZE))
    with pytest.raises(ConfigError, match="window must be at least 1"):
        build(ScriptedModel([]), episode=episode, window=0)


# --- the presets: the paper's composite methods --------------------------------------------------------------


@pytest.mark.parametrize("preset, per_step", [("direct", ["act"]), ("cot", ["think", "act"]),
                                              ("react", ["think", "act"]), ("reflect", ["reflect", "think", "act"]),
                                              ("least-to-most", ["plan", "think", "act"]),
                                              ("cot-sc", ["think", "act"] * 3),
                                              ("think-plan-act", ["think", "plan", "act"])])
async def test_every_preset_walks_the_maze_with_its_calls_per_step(preset, per_step):
    kind = get_kind("pangu-agent")
    episode = GRID.episode(MAZE)
    model = ScriptedModel(script.play)
    agent = build_recipe("pangu-agent", model, episode.tools, episode=episode, **kind.options_for(preset, {}))
    result = await runner.run(agent, episode.prompt)
    assert result.ok and stepping.progress_of(episode).reward == 1.0
    assert [function_of(r) for r in model.requests] == per_step * len(MAZE.gold)


async def test_self_consistency_takes_the_majority_action_and_samples_with_their_own_seeds(journal):
    votes = iter(["west", "south", "south", "north", "east", "west"])  # step 1: south, 2 to 1; step 2: a tie, the first

    def play(request):
        return next(votes) if function_of(request) == "act" else "hm"

    episode, model, agent = walk(play=play, structure="vote(3, act)", max_steps=2)
    result = await runner.run(agent, episode.prompt, journal=journal)
    assert result.ok
    steps = [e for e in journal.entries(result.run_id) if e.kind == "env" and e.request["op"] == "step"]
    sent = [e.request["action"] for e in steps]
    assert sent == ["south", "north"]
    assert [(r.seed, r.temperature) for r in model.requests[:3]] == [(0, 0.7), (1, 0.7), (2, 0.7)]
    scopes = sorted({e.scope for e in journal.entries(result.run_id) if e.kind == "model"})
    assert scopes == ["vote/sample#0/act", "vote/sample#1/act", "vote/sample#2/act"]


async def test_swiftsage_runs_the_slow_branch_at_the_start_and_when_stuck(journal):
    moves = iter(["south", "jump", "south", "east", "east", "east", "north"])

    def play(request):
        return next(moves) if function_of(request) == "act" else "a plan"

    episode, model, agent = walk(play=play, **PRESETS["swiftsage"], max_steps=7, sage_patience=5)
    result = await runner.run(agent, episode.prompt, journal=journal)
    assert result.ok
    used = [e.scope.split("/")[0] for e in journal.entries(result.run_id)
            if e.kind == "model" and e.scope.endswith("act")]
    # 1 sage (the start), 2 swift, 3 sage ('jump' was unreadable), 4-6 swift (the 2nd and 3rd east hit the same wall
    # from the same cell), 7 sage (the same action twice in a row)
    assert used == ["sage", "swift", "sage", "swift", "swift", "swift", "sage"]
    assert [function_of(r) for r in model.requests].count("plan") == 3


async def test_the_tool_function_calls_the_agents_tools_and_a_peer_advises_through_its_own_model(journal):
    def compass(row: int, col: int) -> str:
        """Which way the exit lies from a cell."""
        return "south" if row < 2 else "east"

    episode = GRID.episode(MAZE)
    acting = ScriptedModel(["Action: south"])
    tooling = ScriptedModel([{"tool_calls": [{"name": "compass", "arguments": {"row": 0, "col": 0}}]}])
    peer = ScriptedModel(["Go south."])
    model = RoleModels(acting, {"tool": tooling, "communicate": peer})
    agent = build(model, [*episode.tools, compass], episode=episode, structure="tool -> communicate -> act",
                  max_steps=1)
    result = await runner.run(agent, episode.prompt, journal=journal)
    assert result.ok
    [tool_request] = tooling.requests
    assert [t["function"]["name"] for t in tool_request.tools] == ["compass"]  # never the episode's act/observe
    seen = acting.requests[0].messages[-1]["content"]
    assert 'the tool compass({"row":0,"col":0}) returned: south' in seen and "a teammate says: Go south." in seen
    assert [(e.scope, e.kind) for e in journal.entries(result.run_id) if e.kind in ("model", "tool")] == [
        ("tool", "model"), ("tool", "tool"), ("communicate", "model"), ("act", "model")]


# --- replay, resume ------------------------------------------------------------------------------------------------


async def test_a_run_replays_with_no_model_and_no_environment(journal):
    episode, _, agent = walk(**PRESETS["reflect"])
    live = await runner.run(agent, episode.prompt, journal=journal)
    assert live.ok
    silent = ScriptedModel([])
    again = build(silent, **PRESETS["reflect"])  # no episode: a driver that serves every step
    replayed = await runner.replay(again, live.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and silent.requests == []
    assert replayed.answer == live.answer and replayed.messages == live.messages


@pytest.mark.parametrize("kill_after", [4, 8])
def test_a_run_killed_mid_way_resumes_without_repeating_a_finished_call_or_step(tmp_path, kill_after):
    crashed = HERE / "pangu_agent_crash.py"
    killed = subprocess.run([sys.executable, crashed, tmp_path / "j.db", str(kill_after)], capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        before = [e.key for e in journal.entries(run.run_id) if e.kind in ("model", "env")]
        assert sum(1 for e in journal.entries(run.run_id) if e.kind == "model") == kill_after
        episode = crash.ENV.episode(crash.TASK)
        model = ScriptedModel(script.play)
        resumed = asyncio.run(runner.resume(crash.agent(episode, model), run.run_id, journal=journal))
        assert resumed.ok and stepping.progress_of(episode).reward == 1.0
        assert len(model.requests) == crash.CALLS - kill_after  # what the journal lacked, nothing again
        after = [e.key for e in journal.entries(run.run_id) if e.kind in ("model", "env")]
        assert after[:len(before)] == before and len(after) == len(set(after)) == crash.CALLS + len(crash.TASK.gold) + 1


# --- the harness ------------------------------------------------------------------------------------------------


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return sorted(store.rows(), key=lambda r: (r["env"], r["task"]))
    finally:
        store.close()


async def test_scripted_roles_walk_gridworld_and_textworld_in_the_harness_with_per_role_cost(tmp_path):
    pytest.importorskip("textworld", reason="the textworld environment needs the envs extra: pip install -e '.[envs]'")
    from agentzoo.envs.textworld_env import TextWorld

    envs = {"gridworld": GRID, "textworld": TextWorld()}
    roles = {name: f"scripted:{SCRIPT}:{name}" for name in ("think", "plan", "act")}
    spec_ = AgentSpec(agent="pangu-agent", model="-", models=roles)
    samples = [Sample(name, task, "pangu-agent", f"scripted:{SCRIPT}:play", 0)
               for name, env in envs.items() for task in env.tasks()[:2]]
    await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=2, agents={"pangu-agent": spec_}))
    got = rows(tmp_path)
    assert [r["success"] for r in got] == [True] * 4, [(r["error"], r["score"]) for r in got]
    for row in got:
        calls = {scope: usage["model_calls"] for scope, usage in row["scopes"].items() if usage["model_calls"]}
        assert calls == dict.fromkeys(("think", "plan", "act"), row["score"]["steps"])  # one of each per step
    write_reports(tmp_path)
    assert "| think |" in (tmp_path / "summary.md").read_text()
    with Journal(tmp_path / "journal.db") as journal:  # every row replays from its stored spec with no model
        for row in got:
            built = build_spec(AgentSpec.model_validate(journal.get_run(row["run_id"]).config), replay=True)
            again = await runner.replay(built.agent, row["run_id"], journal=journal)
            assert again.ok and again.live_effects == 0 and again.answer == row["answer"]


@pytest.mark.parametrize("preset", ["swiftsage", "cot-sc"])
async def test_the_oracle_walks_the_mazes_through_the_harness(tmp_path, preset):
    await run_eval([Sample(GRID.name, t, f"pangu-agent@{preset}", "oracle", 0) for t in GRID.tasks()[:3]],
                   {GRID.name: GRID}, EvalConfig(out=tmp_path, concurrency=3))
    got = rows(tmp_path)
    assert len(got) == 3 and all(r["success"] for r in got), [(r["error"], r["score"]) for r in got]


# --- the shipped local model, for real -------------------------------------------------------------------------


async def test_the_local_model_takes_a_few_structured_steps(tmp_path):
    pytest.importorskip("xllamacpp")
    from agentzoo.models.local import model_file

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    spec_ = AgentSpec(agent="pangu-agent", preset="cot", model="local:smollm2-135m?max_tokens=48",
                      options={"max_steps": 2})
    await run_eval([Sample(GRID.name, MAZE, "pangu-agent", spec_.model, 0)], {GRID.name: GRID},
                   EvalConfig(out=tmp_path, concurrency=1, agents={"pangu-agent": spec_}))
    [row] = rows(tmp_path)
    assert row["status"] == "finished", row["error"]
    calls = {scope: usage["model_calls"] for scope, usage in row["scopes"].items() if usage["model_calls"]}
    assert calls == {"think": 2, "act": 2}  # two steps of think -> act, whatever the model wrote
