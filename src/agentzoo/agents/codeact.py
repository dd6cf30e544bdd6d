"""CodeAct: the model acts by writing code (or, to compare, text or JSON tool calls).

Wang et al., "Executable Code Actions Elicit Better LLM Agents" (ICML 2024). The loop is
M3ToolEval's (xingyaoww/code-act `scripts/eval/m3tooleval/main.py`, `run_task`): the model's
reply is parsed into an action or an answer; an action's result goes back as a user message;
`Answer:` ends the task; at most `n_turns_limit = 10` replies. That is the one agent loop
(`ToolCallingAgent`) with an M3ToolEval action format (`action_modes`: the syntaxes, what code
mode accepts, the observations) and CodeAct's system prompt. In code mode, actions run in an
isolated, persistent sandbox, each one a journaled `sandbox/exec` effect, so replay and resume
never run code again.

Differences from upstream, on purpose: upstream ends an episode at the limit quietly
(`end_reason="limit"`), here the run fails with `StepLimitExceeded`; upstream's harness checks
every answer and asks again after a wrong one, while here the first answer ends the run and
checking it is the harness's job (`answers_match`); and, as for every format of the loop, the
same action sent `repeat_limit` times in a row is not run again (the model is told).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..protocols import Model
from ..tools import ApprovalPolicy, ToolSet
from .action_modes import MODES
from .tool_calling import AgentResult, ToolCallingAgent

if TYPE_CHECKING:
    from ..sandbox import Limits, Sandbox

__all__ = ["AgentResult", "CodeActAgent"]


class CodeActAgent(ToolCallingAgent):
    """An LLM that acts in M3ToolEval's `text`, `json` or `code` action mode until it answers.

    Code mode runs each action in a `Sandbox` (a new one per run, closed at its end, unless
    `sandbox` is given: then it is shared and left open) where the tools are functions; a call
    to `final_answer(value)` ends the task with `value` (a string as it is, a number as
    `str()`, anything else as JSON text). `tier`, `limits` and `allow_unsafe` configure the
    sandbox the agent makes; a `sandbox` given must serve the same tools. The sandbox starts
    on the first action run live, so a replay starts none.
    """

    step_words = ("turns", "max_turns")

    def __init__(self, model: Model, tools: Sequence[Any] | ToolSet = (), *, action_mode: str = "code",
                 max_turns: int = 10, system: str | None = None, sandbox: Sandbox | None = None,
                 tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False,
                 policy: ApprovalPolicy | None = None, name: str = "codeact",
                 sampling: dict[str, Any] | None = None, repeat_limit: int = 3) -> None:
        if action_mode not in MODES:
            raise ValueError(f"action_mode must be one of {sorted(MODES)}, not {action_mode!r}")
        super().__init__(model, tools, system=system, max_steps=max_turns, action_format=action_mode, name=name,
                         repeat_limit=repeat_limit, policy=policy, sampling=sampling, sandbox=sandbox, tier=tier,
                         limits=limits, allow_unsafe=allow_unsafe)

    @property
    def mode(self) -> Any:
        """The action mode (`action_modes.TextMode`, `JsonMode` or `CodeMode`)."""
        return self.format

    @property
    def max_turns(self) -> int:
        return self.max_steps

    @property
    def tier(self) -> str:
        return self.sandbox_options.tier

    @property
    def allow_unsafe(self) -> bool:
        return self.sandbox_options.allow_unsafe
