"""The single-agent loop: observe → model → act → record.

Every model call and tool call goes through the context's gateway, so the loop itself holds
no bookkeeping: tracing, cost, budgets, replay and resume all come from the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FormatError, StepLimitExceeded
from ..protocols import Model
from ..runtime.context import Context
from ..tools import ApprovalPolicy, ToolSet
from ..types import ModelRequest, ToolCall
from ..tools.calling import call_tool
from .formats import FORMATS, Calls, Final


@dataclass
class AgentResult:
    answer: str | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0


class ToolCallingAgent:
    """An LLM that calls tools until it gives a final answer.

    `action_format` is `"tool_calls"` (the provider's native tool calling) or `"react"` (a text
    format for models without it). `repeat_limit`: the same call (name and arguments) made that
    many times in a row is not run again; the model is told instead.
    """

    def __init__(self, model: Model, tools: Sequence[Any] | ToolSet = (), *, system: str | None = None,
                 max_steps: int = 20, action_format: str = "tool_calls", name: str = "agent",
                 repeat_limit: int = 3, policy: ApprovalPolicy | None = None,
                 sampling: dict[str, Any] | None = None) -> None:
        if action_format not in FORMATS:
            raise ValueError(f"action_format must be one of {sorted(FORMATS)}, not {action_format!r}")
        self.model, self.name, self.max_steps, self.repeat_limit = model, name, max_steps, repeat_limit
        self.toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools)  # plain functions become tools
        self.format = FORMATS[action_format]()
        self.system = self.format.system_prompt(system, self.toolset.specs())
        self.policy, self.sampling = policy, dict(sampling or {})

    async def run(self, task: str, ctx: Context) -> AgentResult:
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": task})
        recent: list[tuple[str, str]] = []  # the last calls, to spot a model repeating itself
        for step in range(self.max_steps):
            ctx.step()
            response = await ctx.model(self.model, self._request(messages))
            try:
                action = self.format.parse(response, step)
            except FormatError as error:
                if response.text or response.message.get("tool_calls"):
                    messages.append(response.message)
                messages.append(self.format.format_feedback(error))
                continue
            messages.append(action.message)
            if isinstance(action, Final):
                return AgentResult(action.answer, messages, step + 1)
            assert isinstance(action, Calls)
            for call in action.calls:
                recent = (recent + [(call.name, call.arguments)])[-self.repeat_limit:]
                if len(recent) == self.repeat_limit and len(set(recent)) == 1:
                    content = self._repeat_notice(call)
                else:
                    outcome = await call_tool(ctx, self.toolset, call, self.policy)
                    content = f"Error: {outcome.content}" if outcome.is_error else outcome.content
                messages.append(self.format.observation(call, content))
        raise StepLimitExceeded(f"{self.name} took {self.max_steps} steps without a final answer "
                                f"(scope {ctx.scope.path or '<root>'!r}); raise max_steps or check the model")

    def _request(self, messages: list[dict[str, Any]]) -> ModelRequest:
        native = self.format.uses_native_tools and bool(self.toolset.names)
        return ModelRequest(messages=list(messages), tools=self.toolset.specs() if native else [],
                            stop=self.format.stop, **self.sampling)

    def _repeat_notice(self, call: ToolCall) -> str:
        return (f"Not run: you called {call.name} with these same arguments {self.repeat_limit} times in a row; "
                "the result will not change. Use the results you have, or try something different.")

