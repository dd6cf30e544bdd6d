"""CodeAct: the model acts by writing code (or, to compare, text or JSON tool calls).

Wang et al., "Executable Code Actions Elicit Better LLM Agents" (ICML 2024). The loop is
M3ToolEval's (xingyaoww/code-act `scripts/eval/m3tooleval/main.py`, `run_task`): the model's
reply is parsed into an action or an answer; an action's result goes back as a user message;
`Answer:` ends the task; at most `n_turns_limit = 10` replies. The action syntaxes are in
`action_modes`. In code mode, actions run in an isolated, persistent sandbox, each one a
journaled `sandbox/exec` effect, so replay and resume never run code again.

Two differences from upstream, on purpose: upstream ends an episode at the limit quietly
(`end_reason="limit"`), here the run fails with `StepLimitExceeded` as `ToolCallingAgent`
does; and upstream's harness checks every answer and asks again after a wrong one, while here
the first answer ends the run and checking it is the harness's job (`answers_match`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import FormatError, StepLimitExceeded
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import Limits, Sandbox
from ..sandbox.bridge import CodeExecutor
from ..tools import ApprovalPolicy, ToolSet
from ..types import ModelRequest
from .action_modes import MODES, Answer
from .tool_calling import AgentResult

TEMPLATE = Path(__file__).parent / "prompts" / "codeact_system.j2"


class CodeActAgent:
    """An LLM that acts in M3ToolEval's `text`, `json` or `code` action mode until it answers.

    Code mode runs each action in a `Sandbox` (a new one per run, closed at its end, unless
    `sandbox` is given: then it is shared and left open) where the tools are functions; a call
    to `final_answer(value)` ends the task with `value` (a string as it is, a number as
    `str()`, anything else as JSON text). `tier`, `limits` and `allow_unsafe` configure the
    sandbox the agent makes; a `sandbox` given must serve the same tools. The sandbox starts
    on the first action run live, so a replay starts none.
    """

    def __init__(self, model: Model, tools: Sequence[Any] | ToolSet = (), *, action_mode: str = "code",
                 max_turns: int = 10, system: str | None = None, sandbox: Sandbox | None = None,
                 tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False,
                 policy: ApprovalPolicy | None = None, name: str = "codeact",
                 sampling: dict[str, Any] | None = None) -> None:
        if action_mode not in MODES:
            raise ValueError(f"action_mode must be one of {sorted(MODES)}, not {action_mode!r}")
        self.model, self.name, self.max_turns = model, name, max_turns
        self.toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools)
        self.mode = MODES[action_mode](self.toolset, policy)
        if action_mode == "code":
            _check_code_tools(self.toolset, sandbox)
        self.system = render(TEMPLATE, system=system, mode=action_mode, tools=self.mode.describe_tools(),
                             max_turns=max_turns)
        self.sandbox, self.tier, self.limits, self.allow_unsafe = sandbox, tier, limits, allow_unsafe
        self.policy, self.sampling = policy, dict(sampling or {})

    async def run(self, task: str, ctx: Context) -> AgentResult:
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system},
                                          {"role": "user", "content": task}]
        executor = self._executor()
        try:
            for turn in range(self.max_turns):
                ctx.step()
                response = await ctx.model(self.model, ModelRequest(messages=list(messages), **self.sampling))
                messages.append({"role": "assistant", "content": response.text})
                try:
                    reply = self.mode.parse(response.text)
                except FormatError as error:
                    messages.append({"role": "user", "content": error.message_for_model})
                    continue
                if isinstance(reply, Answer):
                    return AgentResult(reply.text, messages, turn + 1)
                outcome = await self.mode.perform(ctx, reply, executor)
                if outcome.observation:
                    messages.append({"role": "user", "content": outcome.observation})
                if outcome.answer is not None:
                    return AgentResult(outcome.answer, messages, turn + 1)
        finally:
            if executor is not None and self.sandbox is None:
                await executor.close()
        raise StepLimitExceeded(f"{self.name} took {self.max_turns} turns without an answer "
                                f"(scope {ctx.scope.path or '<root>'!r}); raise max_turns or check the model")

    def _executor(self) -> CodeExecutor | None:
        """The code mode's executor for one run (None in the other modes); nothing starts yet."""
        if self.mode.name != "code":
            return None
        sandbox = self.sandbox or Sandbox(tier=self.tier, limits=self.limits or Limits(), tools=self.toolset,
                                          allow_unsafe=self.allow_unsafe)
        return CodeExecutor(sandbox, self.toolset, self.policy)


def _check_code_tools(tools: ToolSet, sandbox: Sandbox | None) -> None:
    """In code mode each tool is a Python function: its name must be an identifier, and a given
    sandbox must define it."""
    bad = [name for name in tools.names if not name.isidentifier()]
    if bad:
        raise ValueError(f"in code mode tools are Python functions, so their names must be identifiers: {bad}")
    if sandbox is not None:
        missing = sorted(set(tools.names) - {spec["name"] for spec in sandbox.tools})
        if missing:
            raise ValueError(f"the sandbox given does not serve the tools {missing}; make it with "
                             "Sandbox(tools=<the same tools>)")
