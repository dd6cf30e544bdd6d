"""A sample's row counts its usage per scope as its run's entries are written (`eval.sample._RunTally`):
the same figures, in the same order, as reading them back from the journal (`Journal.usage_by_scope`)."""

from __future__ import annotations

import asyncio

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.eval.sample import _RunTally
from agentzoo.runtime.budgets import Budget
from agentzoo.runtime.pricing import Pricing
from agentzoo.types import AgentResult, ModelRequest, ModelResponse, Usage, assistant_message


class _Mixed:
    """Model calls in three scopes (one model priced, one not), tools that succeed and fail, a clock."""

    name = "mixed"

    def __init__(self) -> None:
        self.priced = ScriptedModel([ModelResponse(message=assistant_message(f"p{i}"), usage=Usage(10 + i, 3))
                                     for i in range(3)], name="priced-model")
        self.unpriced = ScriptedModel([ModelResponse(message=assistant_message("u"), usage=Usage(7, 2))] * 3,
                                      name="unpriced-model")

    async def run(self, task: str, ctx) -> AgentResult:
        request = ModelRequest(messages=[{"role": "user", "content": task}])
        await ctx.model(self.priced, request)
        worker = ctx.child("worker", 0)
        await worker.model(self.unpriced, request)
        await worker.model(self.priced, request)
        await worker.effect("tool", "ok", {"x": 1}, _ok)
        try:
            await worker.effect("tool", "broken", {"x": 2}, _broken)
        except ValueError:
            pass
        await ctx.child("a-critic", 1).model(self.unpriced, request)
        await ctx.now()
        return AgentResult(answer="done")


async def _ok() -> dict:
    return {"content": "fine"}


async def _broken() -> dict:
    raise ValueError("no")


async def test_the_tally_of_a_run_equals_the_journals_usage_by_scope():
    journal = Journal(":memory:")
    tally = _RunTally()
    pricing = Pricing({"priced-model": (1.5, 4.0)}, use_env=False)
    result = await agentzoo.run(_Mixed(), "go", journal=journal, pricing=pricing, listeners=[tally])
    assert result.ok, result.error
    expected = journal.usage_by_scope(result.run_id)
    got = tally.usage_by_scope(journal, result.run_id)
    assert got == expected and list(got) == list(expected) == ["", "a-critic#1", "worker#0"]
    assert got["worker#0"]["tool_calls"] == 2 and got["worker#0"]["unpriced_calls"] == 1
    assert got[""]["other_effects"] == 1 and got[""]["cost_usd"] > 0
    assert not tally._open


class _CutMidway:
    """An effect with side effects that a wall-clock budget cuts: its `started` entry stays."""

    name = "cut"

    async def run(self, task: str, ctx) -> AgentResult:
        await ctx.effect("tool", "fast", {}, _ok)
        await ctx.effect("tool", "slow", {}, _slow, side_effects=True)
        return AgentResult(answer="never")


async def _slow() -> dict:
    await asyncio.sleep(30)
    return {}


async def test_an_effect_cut_mid_way_is_counted_as_the_journal_holds_it():
    journal = Journal(":memory:")
    tally = _RunTally()
    result = await agentzoo.run(_CutMidway(), "go", journal=journal, budgets=Budget(wall_seconds=0.2),
                                listeners=[tally])
    assert result.status == "failed" and result.error["type"] == "BudgetExceeded"
    assert tally._open  # the slow call started and never ended: its entry is the journal's `started` one
    got = tally.usage_by_scope(journal, result.run_id)
    assert got == journal.usage_by_scope(result.run_id) and got[""]["tool_calls"] == 2
