"""Sandboxed code as journaled effects, with host tools served through the gateway.

Each action is one `sandbox/exec` effect in the agent's scope, so replay and resume serve its
result and never run the code again. The host tools the code calls are `tool` effects in a
child scope of their own (`…/code#N`), so the parent's numbering is the same whether or not
the action is replayed, and a resumed action that is re-run gets its finished tool calls
served from the journal instead of repeating them.

Code can call tools in a loop, so what its calls may put in the journal is bounded twice: per call
(arguments over the toolset's `max_argument_chars` and results over `max_value_bytes` are
refused, see `tools.calling`) and per action (`max_bytes_per_action` of arguments and results in
all). A refused call raises `ToolError` in the code, which can catch it, and stores nothing big.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .._json import dumps, dumps_str
from ..errors import ToolArgumentsError, ToolError
from ..runtime.context import Context
from ..tools import ApprovalPolicy, ToolSet
from ..tools.calling import MAX_VALUE_BYTES, call_tool
from ..types import ToolCall
from .host import Sandbox
from .result import ExecResult

RESUMED_NOTE = ("the run was resumed from its journal: earlier actions were served from the record, not run "
                "again, so the variables they defined do not exist in this interpreter")


class CodeExecutor:
    """Runs one agent's code actions in one sandbox, each as a journaled effect.

    The sandbox is started lazily, on the first action that is performed live: a replay needs
    no sandbox at all. `max_value_bytes` bounds the JSON one tool call hands back to the code,
    `max_bytes_per_action` the arguments and results of all the calls of one action.
    """

    def __init__(self, sandbox: Sandbox, tools: ToolSet | None = None, policy: ApprovalPolicy | None = None, *,
                 max_value_bytes: int = MAX_VALUE_BYTES, max_bytes_per_action: int = 32 << 20) -> None:
        self.sandbox = sandbox
        self.tools = tools if tools is not None else ToolSet()
        self.policy = policy
        self.max_value_bytes, self.max_bytes_per_action = max_value_bytes, max_bytes_per_action
        self.actions = 0
        self._performed_live = False

    async def execute(self, ctx: Context, code: str, *, timeout: float | None = None) -> ExecResult:
        self.actions += 1
        tools_ctx = ctx.child("code", self.actions)
        calls = 0
        journaled = 0  # bytes of arguments and results this action's calls have put in the journal

        async def serve_tool(name: str, arguments: dict[str, Any]) -> Any:
            nonlocal calls, journaled
            text = dumps_str(arguments)
            if journaled + len(text) > self.max_bytes_per_action:
                # Refused before it is an effect: nothing of it is stored, and the refusal repeats
                # exactly when the action is run again, so the numbering of later calls holds.
                error = ToolArgumentsError(
                    f"this action's tool calls passed {journaled:,} bytes already; {len(text):,} more would go "
                    f"over the limit of {self.max_bytes_per_action:,} per action: pass less, or finish this "
                    f"action and continue in the next")
                error.error_type = "ToolArgumentsError"  # type: ignore[attr-defined]
                raise error
            calls += 1
            call = ToolCall(id=f"code{self.actions}-{calls}", name=name, arguments=text)
            outcome = await call_tool(tools_ctx, self.tools, call, self.policy, keep_value=True,
                                      max_value_bytes=self.max_value_bytes)
            journaled += min(len(text), self.tools.max_argument_chars) + len(outcome.content)
            if outcome.value is not None:
                journaled += len(dumps(outcome.value))
            if outcome.is_error:
                error = ToolError(outcome.content)
                error.error_type = outcome.error_type  # type: ignore[attr-defined]  # what the code is told
                raise error
            return outcome.value

        async def perform() -> dict[str, Any]:
            resumed = self.actions > 1 and not self._performed_live
            self._performed_live = True
            result = await self.sandbox.execute(code, call_tool=serve_tool, timeout=timeout)
            if resumed:
                result = dataclasses.replace(result, state_lost=True, notes=[RESUMED_NOTE, *result.notes])
            return result.to_json()

        request: dict[str, Any] = {"code": code}
        if timeout is not None:
            request["timeout"] = timeout
        # Served from the journal, the code does not run, so neither do its tool calls: they are
        # served too, so that a replay counts and shows them as the live run did.
        data = await ctx.gateway.effect(ctx.scope, "sandbox", "exec", request, perform,
                                        on_served=lambda _: ctx.gateway.serve_recorded(tools_ctx.scope))
        return ExecResult.from_json(data)

    async def close(self) -> None:
        await self.sandbox.close()
