"""A tool call chosen by the model becomes one journaled effect.

Approval (for tools that write, use the network or spend money) happens inside the effect,
so the decision is recorded with the outcome and replay serves it without asking again.
Tools with side effects are marked so that resume never re-runs one that was interrupted.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..runtime.context import Context
from ..types import ToolCall
from .policy import ApprovalPolicy
from .toolset import ToolOutcome, ToolSet

SIDE_EFFECTS = frozenset({"write", "network", "money"})


async def call_tool(ctx: Context, toolset: ToolSet, call: ToolCall, policy: ApprovalPolicy | None = None,
                    *, keep_value: bool = False) -> ToolOutcome:
    """Run the call as one journaled effect; `keep_value` keeps the result as JSON too (for code)."""
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
        return (await toolset.execute(call, keep_value=keep_value)).to_json()

    result = await ctx.effect("tool", call.name, {"name": call.name, "arguments": call.arguments}, perform,
                              side_effects=side_effects, local=local)
    outcome = ToolOutcome.from_json(result)
    ctx.gateway.note_tool_outcome(outcome.is_error)
    return outcome
