"""Gateway modes, scopes and budgets, driven by the scripted model and plain effects."""

import asyncio

import pytest

import agentzoo
from agentzoo import Budget, Gateway, Journal, ScriptedModel, Scope, ToolCallingAgent, tool
from agentzoo.errors import BudgetExceeded, DivergenceError, InterruptedEffectError, ReplayMissingError
from agentzoo.runtime.entry import Entry
from agentzoo.types import ModelRequest

calls = {"add": 0}


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    calls["add"] += 1
    return a + b


SCRIPT = [
    {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]},
    {"tool_calls": [{"name": "add", "arguments": {"a": 5, "b": 10}}]},
    "The answer is 15.",
]


def agent(script=SCRIPT, system="Be brief."):
    return ToolCallingAgent(ScriptedModel(list(script)), [add], system=system)


async def test_live_run_records_every_effect_with_stable_keys(journal):
    result = await agentzoo.run(agent(), "2+3+10?", journal=journal)
    assert result.answer == "The answer is 15." and result.ok
    entries = list(journal.entries(result.run_id))
    assert [(e.scope, e.seq, e.kind, e.name) for e in entries] == [
        ("", 0, "model", "scripted"), ("", 1, "tool", "add"), ("", 2, "model", "scripted"),
        ("", 3, "tool", "add"), ("", 4, "model", "scripted")]
    assert entries[1].result == {"content": "5", "is_error": False, "error_type": None}
    assert all(len(e.request_hash) == 64 for e in entries)
    assert (result.model_calls, result.tool_calls) == (3, 2)


async def test_replay_performs_nothing_and_matches(journal):
    first = await agentzoo.run(agent(), "2+3+10?", journal=journal)
    before = calls["add"]
    silent = agent(script=[])  # a model with nothing to say: any live call would fail
    again = await agentzoo.replay(silent, first.run_id, journal=journal)
    assert again.answer == first.answer and again.messages == first.messages
    assert silent.model.calls == 0 and calls["add"] == before and again.live_effects == 0


async def test_replay_divergence_names_scope_seq_and_difference(journal):
    first = await agentzoo.run(agent(), "2+3+10?", journal=journal)
    result = await agentzoo.replay(agent(script=[], system="Be verbose."), first.run_id, journal=journal)
    assert result.status == "failed" and result.error["type"] == "DivergenceError"
    assert "scope '' seq 0 (model)" in result.error["message"]
    assert "$.messages[0].content: recorded \"Be brief.\", now \"Be verbose.\"" in result.error["message"]


async def test_replay_asking_for_more_than_recorded_is_an_error(journal):
    gw_journal = journal
    first = await agentzoo.run(agent(script=["done"]), "x", journal=gw_journal)

    class Twice:
        name = "twice"

        async def run(self, task, ctx):
            m = ScriptedModel(["a", "b"])
            await ctx.model(m, ModelRequest(messages=[{"role": "user", "content": task}]))
            await ctx.model(m, ModelRequest(messages=[{"role": "user", "content": task}]))

    # The recorded model name differs ("scripted" both), the first request differs (no system): divergence.
    result = await agentzoo.replay(Twice(), first.run_id, journal=journal)
    assert result.error["type"] in ("DivergenceError", "ReplayMissingError")
    gw = Gateway(run_id=first.run_id, journal=journal, mode="replay")
    with pytest.raises(ReplayMissingError, match="seq 7"):
        s = Scope()
        for _ in range(7):
            s.next_seq()
        await gw.effect(s, "tool", "x", {}, lambda: asyncio.sleep(0))


async def test_resume_serves_prefix_then_goes_live(journal):
    # A run that failed half way (the script ran out after one tool call)...
    broken = await agentzoo.run(agent(script=SCRIPT[:1]), "2+3+10?", journal=journal)
    assert broken.status == "failed" and broken.error["type"] == "ScriptExhausted"
    before = calls["add"]
    # ...is resumed with a model that can finish: the first model call and tool call are not repeated,
    # and the script goes on from its second step (the first was served from the journal).
    finisher = ScriptedModel(SCRIPT)
    resumed = await agentzoo.resume(ToolCallingAgent(finisher, [add], system="Be brief."), broken.run_id,
                                    journal=journal)
    assert resumed.answer == "The answer is 15." and resumed.run_id == broken.run_id
    assert finisher.calls == 2 and calls["add"] == before + 1
    assert journal.get_run(broken.run_id).status == "finished"
    assert [e.status for e in journal.entries(broken.run_id)] == ["ok"] * 5


async def test_fork_reuses_prefix_and_reports_divergence(journal):
    parent = await agentzoo.run(agent(), "2+3+10?", journal=journal)
    # Same system prompt, different final answer: the first four effects are served.
    model = ScriptedModel(["Fifteen."])
    child = await agentzoo.fork(ToolCallingAgent(model, [add], system="Be brief."), parent.run_id, journal=journal)
    assert child.parent_id == parent.run_id and child.run_id != parent.run_id
    assert child.fork_point is None and model.calls == 0  # identical requests: everything was served
    # A changed system prompt diverges at the very first call.
    model2 = ScriptedModel(SCRIPT)
    child2 = await agentzoo.fork(ToolCallingAgent(model2, [add], system="Be verbose."), parent.run_id, journal=journal)
    assert child2.fork_point["scope"] == "" and child2.fork_point["seq"] == 0
    assert model2.calls == 3
    info = journal.get_run(child2.run_id)
    assert info.parent_id == parent.run_id and info.fork_point["seq"] == 0
    assert len(list(journal.entries(child2.run_id))) == 5


async def test_fork_after_a_shared_prefix_copies_it_into_the_child(journal):
    class Steps:
        """model, tool, model: the last request depends on `last_prompt`."""

        name = "steps"

        def __init__(self, last_prompt, model):
            self.last_prompt, self.model = last_prompt, model

        async def run(self, task, ctx):
            first = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": task}]))
            tool_result = await ctx.effect("tool", "echo", {"text": first.text}, _echo)
            final = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": self.last_prompt}]))
            return f"{tool_result}/{final.text}"

    parent = await agentzoo.run(Steps("summarise", ScriptedModel(["one", "two"])), "go", journal=journal)
    assert parent.answer == "echo:one/two"
    model = ScriptedModel(["one", "THREE"])  # the first step is served from the parent: the script goes past it
    child = await agentzoo.fork(Steps("summarise briefly", model), parent.run_id, journal=journal)
    assert child.answer == "echo:one/THREE" and model.calls == 1
    assert child.fork_point == {"scope": "", "seq": 2, "differences": [
        '$.messages[0].content: recorded "summarise", now "summarise briefly"']}
    entries = list(journal.entries(child.run_id))
    assert [(e.seq, e.kind) for e in entries] == [(0, "model"), (1, "tool"), (2, "model")]
    assert entries[1].result == "echo:one"


async def _echo():
    return "echo:one"


async def test_concurrent_branches_get_deterministic_scopes(journal):
    class Fan:
        name = "fan"

        async def run(self, task, ctx):
            branches = [ctx.child("worker", i) for i in range(3)]

            async def work(c, delay):
                await asyncio.sleep(delay)
                m = ScriptedModel([f"from {c.scope.path}"])
                return (await c.model(m, ModelRequest(messages=[{"role": "user", "content": c.scope.path}]))).text

            answers = await asyncio.gather(*(work(c, d) for c, d in zip(branches, (0.03, 0.0, 0.015))))
            from agentzoo.agents.tool_calling import AgentResult

            return AgentResult(" | ".join(answers))

    first = await agentzoo.run(Fan(), "go", journal=journal)
    assert first.answer == "from worker#0 | from worker#1 | from worker#2"
    assert sorted(e.scope for e in journal.entries(first.run_id)) == ["worker#0", "worker#1", "worker#2"]
    again = await agentzoo.replay(Fan(), first.run_id, journal=journal)
    assert again.answer == first.answer and again.live_effects == 0


def test_child_scope_names():
    root = Scope()
    team = root.child("team")
    assert [team.child("coder").path, team.child("coder").path, team.child("critic", 7).path] == \
        ["team/coder", "team/coder#2", "team/critic#7"]
    with pytest.raises(ValueError):
        root.child("bad name")


async def test_interrupted_side_effect_is_not_rerun_silently(journal):
    from agentzoo.runtime.entry import RunInfo
    import time

    journal.create_run(RunInfo(run_id="r", created_at=time.time(), task="t"))
    digest = agentzoo._json.request_hash({"path": "x"})
    journal.put(Entry("r", "", 0, "tool", "write_file", {"path": "x"}, digest, status="started", side_effects=True))
    performed = []

    async def perform():
        performed.append(1)
        return "ok"

    gw = Gateway(run_id="r", journal=journal, mode="resume")
    with pytest.raises(InterruptedEffectError, match="write_file.*rerun-interrupted"):
        await gw.effect(Scope(), "tool", "write_file", {"path": "x"}, perform, side_effects=True)
    assert performed == []
    gw = Gateway(run_id="r", journal=journal, mode="resume", rerun_interrupted=True)
    assert await gw.effect(Scope(), "tool", "write_file", {"path": "x"}, perform, side_effects=True) == "ok"
    assert journal.get("r", "", 0).status == "ok"


@pytest.mark.parametrize("budget,name", [
    (Budget(model_calls=2), "model_calls"),
    (Budget(tokens=20), "tokens"),
    (Budget(steps=1), "steps"),
])
async def test_budgets_stop_before_the_effect_and_say_which(journal, budget, name):
    model = ScriptedModel(SCRIPT)
    result = await agentzoo.run(ToolCallingAgent(model, [add]), "2+3+10?", journal=journal, budgets=budget)
    assert result.status == "failed" and result.error["type"] == "BudgetExceeded"
    assert f"budget {name!r} of the run ran out" in result.error["message"]


async def test_usd_budget_uses_the_price_table(journal):
    model = ScriptedModel(SCRIPT, name="gpt-4o")
    result = await agentzoo.run(ToolCallingAgent(model, [add]), "2+3+10?", journal=journal,
                                budgets=Budget(usd=1e-6))
    assert result.error["type"] == "BudgetExceeded" and "'usd'" in result.error["message"]
    assert model.calls == 1 and result.cost_usd > 1e-6


async def test_scope_budget_only_counts_its_subtree(journal):
    class Two:
        name = "two"

        async def run(self, task, ctx):
            for name in ("cheap", "dear", "dear"):
                c = ctx.child(name)
                await c.model(ScriptedModel(["ok"]), ModelRequest(messages=[{"role": "user", "content": "x"}]))

    result = await agentzoo.run(Two(), "x", journal=journal, budgets={"dear": Budget(model_calls=1)})
    # "dear" and "dear#2" are different scopes; the budget on "dear" covers only the first.
    assert result.ok
    result = await agentzoo.run(Two(), "x", journal=journal, budgets={"": Budget(model_calls=2)})
    assert result.error["type"] == "BudgetExceeded"
    err = BudgetExceeded(budget="tokens", limit=10, used=12, budget_scope="team/coder", at_scope="team/coder/sub")
    assert str(err) == ("budget 'tokens' of scope 'team/coder' ran out: used 12 of 10 "
                        "(stopped before an effect in scope 'team/coder/sub')")


async def test_wall_clock_budget(journal):
    class Slow:
        name = "slow"

        async def run(self, task, ctx):
            for _ in range(10):
                await asyncio.sleep(0.05)
                await ctx.model(ScriptedModel(["ok"]), ModelRequest(messages=[{"role": "user", "content": "x"}]))

    result = await agentzoo.run(Slow(), "x", journal=journal, budgets=Budget(wall_seconds=0.12))
    assert result.error["type"] == "BudgetExceeded" and "wall_seconds" in result.error["message"]
    assert 1 <= result.model_calls < 10


async def test_fork_with_a_changed_prompt_reuses_the_unchanged_agents(journal):
    """A planner and a solver; forking with the solver's system prompt changed reuses the
    planner's calls and goes live from the solver's first call, which the result reports."""

    class PlanThenSolve:
        name = "plan-solve"

        def __init__(self, solver_prompt, model):
            self.solver_prompt, self.model = solver_prompt, model

        async def run(self, task, ctx):
            planner = ToolCallingAgent(self.model, [add], system="Plan.", name="planner")
            plan = await planner.run(task, ctx.child("planner"))
            solver = ToolCallingAgent(self.model, [add], system=self.solver_prompt, name="solver")
            return await solver.run(f"{task}\nPlan: {plan.answer}", ctx.child("solver"))

    parent_model = ScriptedModel([{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 1}}]},
                                  "add 2 and 3", "5"])
    parent = await agentzoo.run(PlanThenSolve("Solve.", parent_model), "task", journal=journal)
    assert parent.answer == "5"
    before = calls["add"]
    model = ScriptedModel([{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 1}}]}, "add 2 and 3", "five"])
    child = await agentzoo.fork(PlanThenSolve("Solve tersely.", model), parent.run_id, journal=journal)
    assert child.answer == "five" and model.calls == 1 and calls["add"] == before
    assert child.fork_point == {"scope": "solver", "seq": 0, "differences": [
        '$.messages[0].content: recorded "Solve.", now "Solve tersely."']}
    usage = journal.usage_by_scope(child.run_id)
    assert usage["planner"]["model_calls"] == 2 and usage["planner"]["tool_calls"] == 1


async def test_clock_and_random_seed_are_recorded_and_replayed(journal):
    import random

    class Dice:
        name = "dice"

        async def run(self, task, ctx):
            rng = random.Random(await ctx.seed())
            return f"{await ctx.now()}:{rng.random()}"

    first = await agentzoo.run(Dice(), "roll", journal=journal)
    await asyncio.sleep(0.01)
    again = await agentzoo.replay(Dice(), first.run_id, journal=journal)
    assert again.answer == first.answer
    assert [e.kind for e in journal.entries(first.run_id)] == ["random", "clock"]


async def test_a_side_effect_cancelled_mid_call_stays_started_so_resume_asks(journal):
    """Ctrl-C (a cancelled task) while a writing tool runs: it may or may not have taken effect, so its
    entry stays `started` and resume refuses to run it again silently."""
    import asyncio
    import time

    from agentzoo.runtime.entry import RunInfo

    journal.create_run(RunInfo(run_id="c", created_at=time.time(), task="t"))
    entered = asyncio.Event()

    async def slow_write():
        entered.set()
        await asyncio.sleep(60)
        return "written"

    gw = Gateway(run_id="c", journal=journal, mode="live")
    task = asyncio.create_task(gw.effect(Scope(), "tool", "write_file", {"path": "x"}, slow_write, side_effects=True))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert journal.get("c", "", 0).status == "started"
    gw = Gateway(run_id="c", journal=journal, mode="resume")
    with pytest.raises(InterruptedEffectError, match="write_file"):
        await gw.effect(Scope(), "tool", "write_file", {"path": "x"}, slow_write, side_effects=True)


async def test_two_scopes_with_one_path_fail_the_run_naming_it_and_the_first_entry_stays(journal):
    class Twice:
        """A program that makes the same child twice (the same name and index), as a retry loop might."""

        async def run(self, task, ctx):
            model = ScriptedModel(["first", "second"])
            request = ModelRequest(messages=[{"role": "user", "content": task}])
            await ctx.child("retry", 1).model(model, request)
            await ctx.child("retry", 1).model(model, request)
            return "done"

    result = await agentzoo.run(Twice(), "hi", journal=journal)
    assert result.status == "failed" and result.error["type"] == "ScopeReusedError"
    assert "'retry#1' seq 0" in result.error["message"] and "ctx.child(name, index)" in result.error["message"]
    entries = list(journal.entries(result.run_id))
    assert [(e.scope, e.seq, e.result["message"]["content"]) for e in entries] == [("retry#1", 0, "first")]
