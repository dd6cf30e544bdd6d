"""Time: a wall-clock budget ends a model call to an endpoint that hangs forever, and a tool call
that never returns, with a `BudgetExceeded` saying which budget, where and how much was used; what
the run finished before stays in the journal. `call_timeout` bounds one model call by itself.

No timing thresholds: `asyncio.wait_for(..., 30)` only keeps a broken build from hanging the suite.
"""

from __future__ import annotations

import asyncio

import pytest

from agentzoo import Budget, Journal, OpenAICompatible, ScriptedModel, ToolCallingAgent, resume, run
from agentzoo.errors import InterruptedEffectError, ProviderTimeout
from agentzoo.models.retry import RetryPolicy
from agentzoo.runtime.context import Context
from agentzoo.testing.fake_openai import FakeOpenAIServer
from agentzoo.tools import tool
from agentzoo.types import ModelRequest

GUARD = 30.0
HANG = {"hang": True}


class ClockThenModel:
    """Reads the clock (an effect finished before the hang), then asks the model."""

    def __init__(self, model):
        self.model = model

    async def run(self, task: str, ctx: Context) -> str:
        await ctx.now()
        response = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": task}]))
        return response.text


async def test_a_wall_budget_cuts_a_model_call_to_a_server_that_hangs(tmp_path):
    journal = Journal(tmp_path / "j.db")
    async with FakeOpenAIServer(HANG) as srv:
        async with OpenAICompatible("hung-model", base_url=srv.base_url) as model:  # default timeouts: minutes
            result = await asyncio.wait_for(run(ClockThenModel(model), "hi", journal=journal,
                                                budgets=Budget(wall_seconds=1)), GUARD)
    assert srv.count == 1
    assert not result.ok and result.error["type"] == "BudgetExceeded"
    message = result.error["message"]
    assert message.startswith("budget 'wall_seconds' of the run ran out: used ")
    assert message.endswith("of 1 (cut off the model call 'hung-model' in scope '<root>' in flight)")
    entries = list(journal.entries(result.run_id))
    assert [(e.kind, e.status) for e in entries] == [("clock", "ok"), ("model", "error")]
    assert entries[1].error["type"] == "BudgetExceeded"
    info = journal.get_run(result.run_id)
    assert info.status == "failed" and info.error["message"] == message


@tool
async def wait_forever() -> str:
    """Wait for something that never happens."""
    await asyncio.Event().wait()
    return "never"


@tool(touches={"write"})
async def write_forever() -> str:
    """Write somewhere that never answers."""
    await asyncio.Event().wait()
    return "never"


@pytest.mark.parametrize("stuck, status", [(wait_forever, "error"), (write_forever, "started")],
                         ids=["pure", "side-effecting"])
async def test_a_wall_budget_cuts_a_tool_call_in_flight(tmp_path, stuck, status):
    journal = Journal(tmp_path / "j.db")
    script = [{"tool_calls": [{"name": "add_one", "arguments": {"x": 1}}]},
              {"tool_calls": [{"name": stuck.name, "arguments": {}}]}]

    @tool
    def add_one(x: int) -> int:
        """Add one."""
        return x + 1

    def agent():
        return ToolCallingAgent(ScriptedModel(script), [add_one, stuck])

    result = await asyncio.wait_for(run(agent(), "t", journal=journal, budgets=Budget(wall_seconds=1)), GUARD)
    assert not result.ok and result.error["type"] == "BudgetExceeded"
    assert f"(cut off the tool call '{stuck.name}' in scope '<root>' in flight)" in result.error["message"]
    entries = list(journal.entries(result.run_id))
    assert [(e.kind, e.name, e.status) for e in entries] == [
        ("model", "scripted", "ok"), ("tool", "add_one", "ok"), ("model", "scripted", "ok"),
        ("tool", stuck.name, status)]
    assert journal.get_run(result.run_id).status == "failed"
    if status == "started":
        # Cut mid-way, a tool that writes may or may not have written: resume asks, as after a crash.
        resumed = await asyncio.wait_for(resume(agent(), result.run_id, journal=journal), GUARD)
        assert resumed.error["type"] == InterruptedEffectError.__name__ and "write_forever" in resumed.error["message"]


async def test_call_timeout_bounds_one_model_call():
    async with FakeOpenAIServer(HANG) as srv:
        async with OpenAICompatible("m", base_url=srv.base_url, call_timeout=0.5,
                                    retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as model:
            assert model.deadline == 0.5
            with pytest.raises(ProviderTimeout, match="0.5 s deadline passed during attempt 1"):
                await asyncio.wait_for(model.complete(ModelRequest(messages=[{"role": "user", "content": "hi"}])),
                                       GUARD)
    assert srv.count == 1
