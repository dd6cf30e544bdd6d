"""The state graph: typed state, reducers, routers, bounded cycles, a checkpoint per node that replays,
resumes after SIGKILL at the node it was killed in, and forks at a changed node."""

import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).parent))

from graph_crash import graph, reply_to  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.errors import ConfigError, StepLimitExceeded  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.teams.state_graph import END, StateGraph, append, checkpoints, merge_dict  # noqa: E402

CRASH = Path(__file__).parent / "graph_crash.py"


class Counter(BaseModel):
    task: str = ""
    answer: str | None = None
    n: int = 0
    seen: Annotated[list[str], append] = []
    tags: Annotated[dict[str, int], merge_dict] = {}


async def test_the_loop_runs_until_the_router_ends_it_and_checkpoints_every_node(journal):
    model = ScriptedModel(reply_to)
    result = await runner.run(graph(model), "tides", journal=journal)
    assert result.ok and result.answer == "draft 2"
    assert len(model.requests) == 4  # write, review (revise), write, review (approve)
    points = checkpoints(journal, result.run_id)
    assert [(p.step, p.node, p.next) for p in points] == [(0, "write", "review"), (1, "review", "write"),
                                                          (2, "write", "review"), (3, "review", END)]
    assert points[1].state["verdicts"] == ["revise"] and points[3].state["verdicts"] == ["revise", "approve"]
    scopes = {e.scope for e in journal.entries(result.run_id) if e.kind == "model"}
    assert scopes == {"write#0", "review#0", "write#1", "review#1"}  # one scope per visit, cost per node


async def test_reducers_accumulate_and_plain_fields_are_replaced():
    async def tick(state, ctx):
        return {"n": state.n + 1, "seen": [f"tick{state.n}"], "tags": {f"t{state.n}": state.n}}

    g = (StateGraph(Counter).add_node("tick", tick)
         .add_router("tick", lambda s: END if s.n >= 3 else "tick", ["tick", END]))
    final = await g.invoke({"task": "x"}, _ctx())
    assert final.n == 3 and final.seen == ["tick0", "tick1", "tick2"] and final.tags == {"t0": 0, "t1": 1, "t2": 2}


async def test_an_async_router_may_ask_a_model_in_its_own_scope(journal):
    model = ScriptedModel(["stop"])

    async def route(state, ctx):
        from agentzoo.types import ModelRequest
        reply = await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": "go on?"}]))
        return END if reply.message["content"] == "stop" else "noop"

    async def noop(state, ctx):
        return None

    g = StateGraph(Counter).add_node("noop", noop).add_router("noop", route, ["noop", END])
    result = await runner.run(g, "x", journal=journal)
    assert result.ok and [e.scope for e in journal.entries(result.run_id) if e.kind == "model"] == ["noop#0/route"]


@pytest.mark.parametrize("update, message", [
    ({"nope": 1}, "node 'bad' wrote field\\(s\\) 'nope'"),
    ({"n": "many"}, "node 'bad' left an invalid Counter: n"),
    ("text", "node 'bad' returned str"),
])
async def test_a_node_that_writes_what_the_state_does_not_hold_is_named(update, message):
    async def bad(state, ctx):
        return update

    g = StateGraph(Counter).add_node("bad", bad).add_edge("bad", END)
    with pytest.raises(ConfigError, match=message):
        await g.invoke({}, _ctx())


async def test_wiring_mistakes_are_named_before_any_node_runs():
    async def a(state, ctx):
        raise AssertionError("must not run")

    with pytest.raises(ConfigError, match="'a' have no outgoing edge"):
        await StateGraph(Counter).add_node("a", a).invoke({}, _ctx())
    with pytest.raises(ConfigError, match="goes to 'b', which is not a node"):
        await StateGraph(Counter).add_node("a", a).add_edge("a", "b").invoke({}, _ctx())
    with pytest.raises(ConfigError, match="already has its outgoing edge"):
        StateGraph(Counter).add_node("a", a).add_edge("a", END).add_edge("a", END)
    with pytest.raises(ConfigError, match="answer_field 'result' is not a field"):
        StateGraph(Counter, answer_field="result")
    with pytest.raises(ConfigError, match="not a valid Counter: n"):
        await StateGraph(Counter).add_node("a", a).add_edge("a", END).invoke({"n": "x"}, _ctx())


async def test_a_router_choosing_outside_its_targets_and_an_endless_cycle_are_stopped():
    async def noop(state, ctx):
        return {"n": state.n + 1}

    wrong = StateGraph(Counter).add_node("a", noop).add_router("a", lambda s: "elsewhere", ["a", END])
    with pytest.raises(ConfigError, match="chose 'elsewhere', which is not one of its targets"):
        await wrong.invoke({}, _ctx())
    endless = StateGraph(Counter, max_steps=5).add_node("a", noop).add_edge("a", "a")
    with pytest.raises(StepLimitExceeded, match="ran 5 nodes without reaching END .*a → a"):
        await endless.invoke({}, _ctx())


async def test_an_agent_is_a_node_and_a_graph_is_an_agent(journal):
    inner = graph(ScriptedModel(reply_to))

    class Outer(BaseModel):
        task: str
        essay: str | None = None
        answer: str | None = None

    async def shout(state, ctx):
        return {"answer": state.essay.upper()}

    outer = (StateGraph(Outer, name="outer").add_node("essay", inner, prompt=lambda s: s.task, output="essay")
             .add_node("shout", shout).add_edge("essay", "shout").add_edge("shout", END))
    result = await runner.run(outer, "tides", journal=journal)
    assert result.ok and result.answer == "DRAFT 2"
    assert [p.node for p in checkpoints(journal, result.run_id, "essay#0")] == ["write", "review", "write", "review"]


async def test_replay_makes_no_call_and_checks_every_checkpoint(journal):
    result = await runner.run(graph(ScriptedModel(reply_to)), "tides", journal=journal)
    again = ScriptedModel([])
    replayed = await runner.replay(graph(again), result.run_id, journal=journal)
    assert replayed.ok and replayed.answer == result.answer and again.requests == []


async def test_a_function_node_that_now_leaves_another_state_diverges_at_its_checkpoint(journal):
    def counting(step):
        async def tick(state, ctx):
            return {"n": state.n + step}
        return StateGraph(Counter).add_node("tick", tick).add_edge("tick", END)

    result = await runner.run(counting(1), "x", journal=journal)
    replayed = await runner.replay(counting(2), result.run_id, journal=journal)
    assert not replayed.ok and replayed.error["type"] == "DivergenceError"
    assert "(graph)" in replayed.error["message"] and "$.state.n" in replayed.error["message"]


async def test_a_fork_with_a_changed_node_goes_live_at_that_node(journal):
    parent = await runner.run(graph(ScriptedModel(reply_to)), "tides", journal=journal)
    model = ScriptedModel(reply_to)
    child = await runner.fork(graph(model, review_prompt="Review strictly"), parent.run_id, journal=journal)
    assert child.ok and child.answer == "draft 1"
    # The first draft is served from the parent; the changed reviewer's prompt is where the fork goes live.
    assert child.fork_point["scope"] == "review#0" and child.fork_point["seq"] == 0
    assert [r.messages[-1]["content"] for r in model.requests] == ["Review strictly: draft 1"]
    assert [p.next for p in checkpoints(journal, child.run_id)] == ["review", END]


def test_a_run_killed_mid_graph_resumes_at_the_node_it_was_killed_in(tmp_path):
    ref = subprocess.run([sys.executable, CRASH, tmp_path / "ref.db"], capture_output=True, text=True, timeout=120)
    assert ref.returncode == 0, ref.stderr
    killed = subprocess.run([sys.executable, CRASH, tmp_path / "j.db", "3"], capture_output=True, text=True,
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    import asyncio

    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        done = [e.scope for e in journal.entries(run.run_id) if e.kind == "model"]
        assert done == ["write#0", "review#0", "write#1"]  # killed right after the third call was recorded
        model = ScriptedModel(reply_to)
        resumed = asyncio.run(runner.resume(graph(model), run.run_id, journal=journal))
        assert resumed.ok and resumed.answer == "draft 2"
        assert [r.messages[-1]["content"] for r in model.requests] == ["Review: draft 2"]  # only the unfinished node
        assert [p.node for p in checkpoints(journal, run.run_id)] == ["write", "review", "write", "review"]


def _ctx():
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    return Context(Gateway(run_id="t", journal=None, mode="live"))
