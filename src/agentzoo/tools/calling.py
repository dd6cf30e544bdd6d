"""A tool call chosen by the model becomes one journaled effect.

Approval (for tools that write, use the network or spend money) happens inside the effect,
so the decision is recorded with the outcome and replay serves it without asking again.
Tools with side effects are marked so that resume never re-runs one that was interrupted.

Sizes are bounded before anything reaches the journal. Arguments longer than the toolset's
`max_argument_chars` are refused without being run or stored: the entry records their length
instead of them. A result is cut for the model, head and tail around a marker (the toolset's
`max_result_chars`); a result kept as a JSON value for code (`keep_value`) cannot be cut without
becoming wrong data, so one over `max_value_bytes` is refused as an error the code can catch.

A tool that spends on the run's behalf elsewhere (a remote agent's tokens and dollars, `net.a2a_client.A2ATool`)
says so while it runs with `report_spent(usage, cost_usd)`: the spending goes in the call's entry (its result's
`usage` and `cost_usd`, and the entry's usage and cost), so it counts per agent, in the run's totals and budgets,
and a replay counts it again from the journal.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import orjson

from .. import _json
from ..errors import ToolArgumentsError
from ..runtime.context import Context
from ..runtime.gateway import NOTHING_SPENT
from ..types import ToolCall, Usage
from .policy import ApprovalPolicy
from .toolset import ToolOutcome, ToolSet

SIDE_EFFECTS = frozenset({"write", "network", "money"})
MAX_VALUE_BYTES = 1 << 20
"""1 MiB of JSON: what one tool call may hand back to code (a page of data, not a data set)."""
_SPENT: ContextVar[list[tuple[Usage, float | None]] | None] = ContextVar("agentzoo_tool_spent", default=None)
"""What the tool call running in this task reported spending (`report_spent`); None outside a journaled call."""


def report_spent(usage: Usage, cost_usd: float | None = None) -> None:
    """Called by a tool while it runs: it spent `usage` (and `cost_usd`) elsewhere on this run's behalf. Outside
    a call made through `call_tool` (a tool invoked directly) there is no entry to put it in, and it is dropped."""
    spent = _SPENT.get()
    if spent is not None and (usage.total_tokens or cost_usd):
        spent.append((usage, cost_usd))


async def call_tool(ctx: Context, toolset: ToolSet, call: ToolCall, policy: ApprovalPolicy | None = None,
                    *, keep_value: bool = False, max_value_bytes: int = MAX_VALUE_BYTES) -> ToolOutcome:
    """Run the call as one journaled effect; `keep_value` keeps the result as JSON too (for code)."""
    if len(call.arguments) > toolset.max_argument_chars:
        return await _refuse_long_arguments(ctx, toolset, call)
    tool = toolset.get(call.name) if call.name in toolset else None
    side_effects = tool is not None and bool(tool.touches & SIDE_EFFECTS)
    # A pure tool (touches nothing, so no policy asks a human about it) or a made-up name
    # (nothing runs) is local: its entry may be committed in a batch.
    local = tool is None or getattr(tool, "local", False)

    async def perform() -> dict[str, Any]:
        if tool is not None and policy is not None and policy.needs_approval(tool):
            try:
                arguments = orjson.loads(call.arguments or "{}")
            except orjson.JSONDecodeError:
                arguments = None  # execute() reports the bad JSON to the model
            if isinstance(arguments, dict):
                allowed, reason = await policy.check(tool, arguments)
                if not allowed:
                    return ToolOutcome(content=reason or "denied", is_error=True, error_type="ApprovalDenied").to_json()
        spent: list[tuple[Usage, float | None]] = []
        reporting = _SPENT.set(spent)
        try:
            outcome = await toolset.execute(call, keep_value=keep_value)
        finally:
            _SPENT.reset(reporting)
        size = 0 if outcome.value is None else len(_json.dumps(outcome.value))
        if size > max_value_bytes:
            outcome = ToolOutcome(f"the result of {call.name} is {size:,} bytes of JSON, over the limit of "
                                  f"{max_value_bytes:,} for a call from code; ask for less (a page, a filter, "
                                  f"a summary)", is_error=True, error_type="ToolResultTooLarge")
        return {**outcome.to_json(), **_spent_json(spent)}

    result = await ctx.gateway.effect(ctx.scope, "tool", call.name, {"name": call.name, "arguments": call.arguments},
                                      perform, side_effects=side_effects, local=local, account=_account)
    outcome = ToolOutcome.from_json(result)
    ctx.gateway.note_tool_outcome(outcome.is_error)
    return outcome


def _spent_json(spent: list[tuple[Usage, float | None]]) -> dict[str, Any]:
    """What a call reported spending, as its result's `usage` and `cost_usd` (nothing when it reported none)."""
    if not spent:
        return {}
    costs = [c for _, c in spent if c is not None]
    return {"usage": {"input_tokens": sum(u.input_tokens for u, _ in spent),
                      "output_tokens": sum(u.output_tokens for u, _ in spent)},
            "cost_usd": sum(costs) if costs else None}


def _account(result: Any) -> tuple[Usage, float | None]:
    """A tool entry's usage and cost: what the call reported spending (`report_spent`), else none."""
    usage = result.get("usage") if isinstance(result, dict) else None
    if not isinstance(usage, dict):
        return NOTHING_SPENT
    return Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)), result.get("cost_usd")


async def _refuse_long_arguments(ctx: Context, toolset: ToolSet, call: ToolCall) -> ToolOutcome:
    """The call as an effect that runs nothing and stores the arguments' length, not the arguments
    (the model's reply already holds them once; code's calls would fill the journal)."""
    try:
        toolset.parse_arguments(call.arguments)  # its length check comes first: raises without parsing
    except ToolArgumentsError as exc:
        refusal = ToolOutcome(str(exc), is_error=True, error_type=type(exc).__name__).to_json()
    else:
        raise AssertionError("ToolSet.parse_arguments accepted arguments over max_argument_chars")

    async def perform() -> dict[str, Any]:
        return refusal

    request = {"name": call.name, "arguments_refused": {"chars": len(call.arguments),
                                                        "limit": toolset.max_argument_chars}}
    result = await ctx.effect("tool", call.name, request, perform, local=True)
    outcome = ToolOutcome.from_json(result)
    ctx.gateway.note_tool_outcome(outcome.is_error)
    return outcome
