"""The single-agent loop: observe → model → act → record.

One loop for every action format (`formats`, `action_modes`): native tool calls, ReAct text,
and CodeAct's text, JSON and code actions. Every model call, tool call and code action goes
through the context's gateway, so the loop itself holds no bookkeeping: tracing, cost,
budgets, replay and resume all come from the journal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import FormatError, StepLimitExceeded
from ..protocols import Model
from ..runtime.context import Context
from ..tools import ApprovalPolicy, ToolSet
from ..types import AgentResult, ModelRequest, ToolCall
from .acting import Actor, SandboxOptions
from .action_modes import MODES
from .controllers import Controller
from .formats import ActionFormat, Code, Final, NativeToolCalls, Observed, ReActText, feedback

if TYPE_CHECKING:
    from ..sandbox import Limits, Sandbox
    from ..sandbox.bridge import CodeExecutor

__all__ = ["FORMATS", "AgentResult", "ToolCallingAgent"]

FORMATS: dict[str, Callable[[ToolSet], ActionFormat]] = {"tool_calls": NativeToolCalls, "react": ReActText, **MODES}
"""The action formats by name, each made from the agent's tools."""


class ToolCallingAgent:
    """An LLM that acts (calls tools, or writes code) until it gives a final answer.

    `action_format` is a name in `FORMATS` (`"tool_calls"`: the provider's native tool calling;
    `"react"`: a text format for models without it; `"text"`, `"json"`, `"code"`: M3ToolEval's
    action modes, see `CodeActAgent`) or an `ActionFormat`. A format that runs code uses
    `sandbox`, or a new sandbox per run made with `tier`, `limits` and `allow_unsafe`.
    `repeat_limit`: the same action (a tool call's name and arguments, or the same code) made
    that many times in a row is not performed again; the model is told instead.
    `controller` (`agents.controllers`: a state machine over the actions, a stage switcher, a tool
    retriever) narrows the tools shown per step, adds a line to each request, refuses actions and
    moves on the results.
    """

    step_words = ("steps", "max_steps")  # a step, and the step limit, as the error message names them

    def __init__(self, model: Model, tools: Sequence[Any] | ToolSet = (), *, system: str | None = None,
                 max_steps: int = 20, action_format: str | ActionFormat = "tool_calls", name: str = "agent",
                 repeat_limit: int = 3, policy: ApprovalPolicy | None = None,
                 sampling: dict[str, Any] | None = None, sandbox: Sandbox | None = None, tier: str = "auto",
                 limits: Limits | None = None, allow_unsafe: bool = False, controller: Controller | None = None) -> None:
        if isinstance(action_format, str) and action_format not in FORMATS:
            raise ValueError(f"action_format must be one of {sorted(FORMATS)}, not {action_format!r}")
        self.model, self.name, self.max_steps, self.repeat_limit = model, name, max_steps, repeat_limit
        self.toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools)  # plain functions become tools
        self.format = FORMATS[action_format](self.toolset) if isinstance(action_format, str) else action_format
        self.sandbox_options = SandboxOptions(sandbox, tier=tier, limits=limits, allow_unsafe=allow_unsafe)
        if self.format.runs_code:
            self.sandbox_options.check(self.toolset)
        self.system = self.format.system_prompt(system, max_steps)
        self.policy, self.sampling = policy, dict(sampling or {})
        self.controller = controller

    async def run(self, task: str, ctx: Context) -> AgentResult:
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": task})
        recent: list[Any] = []  # the last actions, to spot a model repeating itself
        owned = self.sandbox_options.sandbox is None  # a sandbox given is shared: left open
        control = self.controller
        if control is not None and hasattr(control, "reset"):
            control.reset()
        async with Actor(ctx, self.toolset, self.policy, self._executor(), owned=owned) as act:
            for step in range(self.max_steps):
                ctx.step()
                request = self._request(messages) if control is None else await self._steered(ctx, messages)
                response = await ctx.model(self.model, request)
                try:
                    action = self.format.parse(response, step)
                except FormatError as error:
                    messages += self.format.rejected(response, error)
                    continue
                messages.append(action.message)
                if isinstance(action, Final):
                    return AgentResult(self._handed_over(action.answer, messages), messages, step + 1)
                for item in action.items:
                    recent = (recent + [_key(item)])[-self.repeat_limit:]
                    refused = None if control is None else await control.check(ctx, item)
                    if refused is not None:
                        seen = Observed(refused, is_error=True)
                    elif len(recent) == self.repeat_limit and len(set(recent)) == 1:
                        seen = Observed(self._repeat_notice(item))
                    else:
                        seen = await act(item)
                    if control is not None:
                        await control.after(ctx, item, seen)
                    messages += self.format.observation(item, seen, action.note)
                    if seen.answer is not None:
                        return AgentResult(self._handed_over(seen.answer, messages), messages, step + 1)
        steps, limit = self.step_words
        raise StepLimitExceeded(f"{self.name} took {self.max_steps} {steps} without a final answer (scope "
                                f"{ctx.scope.path or '<root>'!r}); raise {limit} or check the model")

    def _handed_over(self, answer: str, messages: list[dict[str, Any]]) -> str:
        """The answer as the format hands it over (code mode: a function the answer names, as its code);
        a format without `hand_over` hands it over as it is."""
        hand_over = getattr(self.format, "hand_over", None)
        return answer if hand_over is None else hand_over(answer, messages)

    def _executor(self) -> CodeExecutor | None:
        """The code executor for one run (None if the format runs no code); nothing starts yet."""
        return self.sandbox_options.executor(self.toolset, self.policy) if self.format.runs_code else None

    def _request(self, messages: list[dict[str, Any]]) -> ModelRequest:
        native = self.format.uses_native_tools and bool(self.toolset.names)
        return ModelRequest(**{"messages": list(messages), "tools": self.toolset.specs() if native else [],
                               "stop": self.format.stop, **self.sampling})

    async def _steered(self, ctx: Context, messages: list[dict[str, Any]]) -> ModelRequest:
        """This step's request as the controller shapes it: the tools it shows, and its note as a last user
        message of this request only (the conversation itself is not changed)."""
        assert self.controller is not None
        request = self._request(messages)
        shown = await self.controller.tools(ctx, messages)
        note = await self.controller.note(ctx)
        fields: dict[str, Any] = {}
        if shown is not None and request.tools:
            keep = set(shown)
            fields["tools"] = [spec for spec in request.tools if spec["function"]["name"] in keep]
        if note:
            fields["messages"] = [*request.messages, {"role": "user", "content": note}]
        return dataclasses.replace(request, **fields) if fields else request

    def _repeat_notice(self, item: ToolCall | Code) -> str:
        return feedback("repeated", tool=None if isinstance(item, Code) else item.name, times=self.repeat_limit)


def _key(item: ToolCall | Code) -> tuple[str | None, str]:
    """What makes two actions the same: the tool and its arguments, or the code."""
    return (None, item.source) if isinstance(item, Code) else (item.name, item.arguments)
