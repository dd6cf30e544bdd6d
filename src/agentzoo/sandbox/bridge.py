"""Sandboxed code as journaled effects, with host tools served through the gateway.

Each action is one `sandbox/exec` effect in the agent's scope, so replay and resume serve its
result and never run the code again. The host tools the code calls are `tool` effects in a
child scope of their own (`…/code#N`), so the parent's numbering is the same whether or not
the action is replayed, and a resumed action that is re-run gets its finished tool calls
served from the journal instead of repeating them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .._json import dumps_str
from ..errors import ToolError
from ..runtime.context import Context
from ..tools import ApprovalPolicy, ToolSet
from ..tools.calling import call_tool
from ..types import ToolCall
from .host import Sandbox
from .result import ExecResult

RESUMED_NOTE = ("the run was resumed from its journal: earlier actions were served from the record, not run "
                "again, so the variables they defined do not exist in this interpreter")


class CodeExecutor:
    """Runs one agent's code actions in one sandbox, each as a journaled effect.

    The sandbox is started lazily, on the first action that is performed live: a replay needs
    no sandbox at all.
    """

    def __init__(self, sandbox: Sandbox, tools: ToolSet | None = None, policy: ApprovalPolicy | None = None) -> None:
        self.sandbox = sandbox
        self.tools = tools if tools is not None else ToolSet()
        self.policy = policy
        self.actions = 0
        self._performed_live = False

    async def execute(self, ctx: Context, code: str, *, timeout: float | None = None) -> ExecResult:
        self.actions += 1
        tools_ctx = ctx.child("code", self.actions)
        calls = 0

        async def serve_tool(name: str, arguments: dict[str, Any]) -> Any:
            nonlocal calls
            calls += 1

            call = ToolCall(id=f"code{self.actions}-{calls}", name=name, arguments=dumps_str(arguments))
            outcome = await call_tool(tools_ctx, self.tools, call, self.policy, keep_value=True)
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
        data = await ctx.effect("sandbox", "exec", request, perform)
        return ExecResult.from_json(data)

    async def close(self) -> None:
        await self.sandbox.close()
