"""Magentic-One (`magentic-one`, #34): an orchestrator with a task ledger and a progress ledger,
with the stall counting of the current AutoGen code (agentchat).

Fourney et al., "Magentic-One: A Generalist Multi-Agent System for Solving Complex Tasks"
(arXiv:2411.04468). Checked against microsoft/autogen@027ecf0a37:
python/packages/autogen-agentchat/src/autogen_agentchat/teams/_group_chat/_magentic_one/
{_magentic_one_orchestrator,_magentic_one_group_chat,_prompts}.py and
python/packages/autogen-ext/src/autogen_ext/teams/magentic_one.py. The control loop is
`agentzoo.teams.orchestrator.Orchestrator` (read its docstring for the loop and where it departs
from the code); this module gives it the paper's prompts (our own wording, in
`prompts/magentic_one/`), its constants and a team.

Constants (the defaults of `build`), all from the code:
- `max_turns=20`, `max_stalls=3`: `MagenticOneGroupChat.__init__` defaults. The round limit is
  checked as `n_rounds > max_turns` before a round, so up to 21 progress ledgers are asked.
- stall count: +1 when `is_progress_being_made` is false or `is_in_loop` is true, else
  `max(0, n - 1)`; re-plan when `n >= max_stalls`; the count is not reset by a re-plan
  (`_reenter_outer_loop` leaves `_n_stalls` as it is), so after the first re-plan every further
  stalled round re-plans again; no limit on re-plans.
- `max_json_retries=10`: `MagenticOneOrchestrator._max_json_retries`; the same request is sent
  again after an invalid ledger (no feedback).
The paper's text describes a stall threshold too; we did not have its full text here to compare
[unverified], so the code's values are the defaults. The other preset, `magentic-one-legacy`,
has the legacy package's counting.

The team. Magentic-One's is WebSurfer (Chromium, screenshots, a multimodal model), FileSurfer
(local files as markdown), Coder and ComputerTerminal (runs the Coder's code, Docker or local).
Here, without a browser, the default team is:
- `Coder`: a CodeAct agent in code mode, writing Python and running it in our sandbox, so it is
  the Coder and the ComputerTerminal in one;
- `Assistant`: a tool-calling agent with the task's tools.
Pass `participants=[Participant(name, agent, description), ...]` for another team.

Approval. Magentic-One's terminal takes an `approval_func` that is asked, with the code, before
each code block runs; a refusal is the terminal's reply in the thread ("Code execution was not
approved"), and the orchestrator plans around it. Here `approval` (an `ApprovalPolicy`, Python
only; the run's policy) is asked before each of the Coder's code blocks runs, about the pseudo-tool
`run_code` (arguments `{"code": …}`, touches `write`), as a journaled `human` effect, so replay
serves the decision without asking again. A refused block never reaches the sandbox: the Coder's
turn ends with the refusal (`prompts/magentic_one/code_denied.j2`) as its reply, which the
orchestrator reads in its thread. The Assistant's tool calls go to the same policy. Without a
policy, code runs unasked, as without an `approval_func`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agents.codeact import CodeActAgent
from ..agents.tool_calling import ToolCallingAgent
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import ExecResult, Limits
from ..sandbox.bridge import CodeExecutor
from ..teams.group_chat import Participant
from ..teams.orchestrator import JSON_OBJECT, DecayingStalls, LedgerPrompts, Orchestrator
from ..tools import ApprovalPolicy, ToolSet

PROMPTS = Path(__file__).parent / "prompts" / "magentic_one"
# The Coder computes and tests code, the Assistant uses the episode's tools: every kind an environment scores.
ANSWER_KINDS = ("number", "text", "code", "tool-calls", "patch")
MAX_TURNS = 20  # MagenticOneGroupChat(max_turns=20)
MAX_STALLS = 3  # MagenticOneGroupChat(max_stalls=3)
MAX_JSON_RETRIES = 10  # MagenticOneOrchestrator._max_json_retries
CODER_MAX_TURNS = 10  # ours: CodeAct's own default (M3ToolEval's n_turns_limit)
ASSISTANT_MAX_STEPS = 20  # ours: the tool-calling agent's default

OPTION_SOURCES: dict[str, str] = {
    "max_turns": "code: MagenticOneGroupChat(max_turns=20), checked as n_rounds > max_turns before a round",
    "max_stalls": "code: MagenticOneGroupChat(max_stalls=3); +1 per stalled round, -1 (floor 0) otherwise",
    "max_json_retries": "code: MagenticOneOrchestrator._max_json_retries = 10",
    "response_format": "code: the progress ledger is asked with JSON output (json_output) when the client has it",
    "participants": "code: MagenticOne's team is WebSurfer, FileSurfer, Coder, ComputerTerminal; default here: "
                    "Coder (with the terminal) and Assistant",
    "coder_max_turns": "ours: CodeAct's default (M3ToolEval's 10); Magentic-One's Coder has no bound of its own",
    "assistant_max_steps": "ours: the tool-calling agent's default",
    "approval": "code: CodeExecutorAgent(approval_func=None) asks before each code block when given one",
}
DEVIATIONS: list[str] = [
    "the default team has no WebSurfer (a browser and a multimodal model) and no FileSurfer; the Coder runs its own "
    "code in our sandbox (Coder and ComputerTerminal in one) and an Assistant calls the task's tools",
    "a refused code block ends the Coder's turn with the refusal as its reply, where Magentic-One's thread holds the "
    "ComputerTerminal's 'Code execution was not approved' message",
    "a next_speaker outside the team is asked again, counting against the retries (agentchat raises at once)",
    "progress-ledger answers are type-checked (agentchat only checks the keys)",
    "the stall threshold is the code's; the paper's text was not available to compare [unverified]",
]


@dataclass(frozen=True)
class CodeRun:
    """What the approval policy is asked about before a code block runs: a pseudo-tool that is never
    called (the sandbox runs the code), with the code as its one argument."""

    name: str = "run_code"
    description: str = "Run the Coder's Python code block in the sandbox."
    parameters: dict[str, Any] = field(default_factory=lambda: {
        "type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]})
    touches: frozenset[str] = frozenset({"write"})
    """Code may write files (in the sandbox's own folder); the sandbox gives it no network."""

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        raise RuntimeError("run_code is asked about, never called: the sandbox runs the code")


RUN_CODE = CodeRun()


class ApprovedExecutor:
    """Wraps a `CodeExecutor` so that each code block is put to an approval policy first
    (Magentic-One's `approval_func`). The decision is a journaled `human/approve_code` effect in
    the agent's scope; a refused block is never sent to the sandbox and comes back as an answer,
    the refusal's text, which ends the Coder's turn."""

    def __init__(self, inner: CodeExecutor, approval: ApprovalPolicy) -> None:
        self.inner, self.approval = inner, approval

    async def execute(self, ctx: Context, code: str, *, timeout: float | None = None) -> ExecResult:
        if self.approval.needs_approval(RUN_CODE):
            async def ask() -> dict[str, Any]:
                allowed, reason = await self.approval.check(RUN_CODE, {"code": code})
                return {"allowed": allowed, "reason": reason}

            decision = await ctx.effect("human", "approve_code", {"tool": RUN_CODE.name, "code": code}, ask)
            if not decision["allowed"]:
                refusal = render(PROMPTS / "code_denied.j2", code=code.strip("\n"), reason=decision["reason"] or "")
                return ExecResult(ok=False, stdout="", stderr="", error=None, tier="none", duration_s=0.0, limits={},
                                  answered=True, answer=refusal.strip())
        return await self.inner.execute(ctx, code, timeout=timeout)

    async def close(self) -> None:
        await self.inner.close()


class Coder(CodeActAgent):
    """Magentic-One's Coder and ComputerTerminal in one: CodeAct in code mode, whose code blocks go
    to `approval` (when given) before they run."""

    def __init__(self, model: Model, *, approval: ApprovalPolicy | None = None, **options: Any) -> None:
        super().__init__(model, (), action_mode="code", **options)
        self.approval = approval

    def _executor(self) -> CodeExecutor | None:
        executor = super()._executor()
        if executor is None or self.approval is None:
            return executor
        return ApprovedExecutor(executor, self.approval)  # type: ignore[return-value]  # executes and closes alike


def default_team(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
                 sampling: dict[str, Any] | None = None, coder_max_turns: int = CODER_MAX_TURNS,
                 assistant_max_steps: int = ASSISTANT_MAX_STEPS, approval: ApprovalPolicy | None = None,
                 tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False) -> list[Participant]:
    """The Coder (CodeAct in the sandbox) and the Assistant (tool calling with the task's tools).
    `coder_max_turns` is CodeAct's own default (M3ToolEval's 10), `assistant_max_steps` the
    tool-calling agent's (20); Magentic-One's Coder has no such bound of its own. `approval` is
    asked before each code block, and before each tool call that needs it."""
    toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools)
    coder = Coder(model, approval=approval, max_turns=coder_max_turns,
                  system=render(PROMPTS / "coder.j2", system=system), tier=tier, limits=limits,
                  allow_unsafe=allow_unsafe, name="Coder", sampling=sampling)
    assistant = ToolCallingAgent(model, toolset, system=render(PROMPTS / "assistant.j2", system=system),
                                 max_steps=assistant_max_steps, name="Assistant", sampling=sampling, policy=approval)
    return [Participant("Coder", coder, render(PROMPTS / "coder_description.j2")),
            Participant("Assistant", assistant, render(PROMPTS / "assistant_description.j2",
                                                       tools=list(toolset.names)))]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, max_turns: int | None = MAX_TURNS, max_stalls: int = MAX_STALLS,
          max_json_retries: int = MAX_JSON_RETRIES, participants: Sequence[Participant] | None = None,
          response_format: dict[str, Any] | None = JSON_OBJECT, coder_max_turns: int = CODER_MAX_TURNS,
          assistant_max_steps: int = ASSISTANT_MAX_STEPS, approval: ApprovalPolicy | None = None,
          tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False) -> Orchestrator:
    """Magentic-One with agentchat's stall counting. The team options (`coder_max_turns`,
    `assistant_max_steps`, `approval` and the sandbox's) make the default team; `participants` replaces it."""
    members = list(participants) if participants is not None else default_team(
        model, tools, system=system, sampling=sampling, coder_max_turns=coder_max_turns,
        assistant_max_steps=assistant_max_steps, approval=approval, tier=tier, limits=limits,
        allow_unsafe=allow_unsafe)
    return Orchestrator(model, members, LedgerPrompts.from_dir(PROMPTS),
                        policy=DecayingStalls(max_stalls=max_stalls, max_turns=max_turns),
                        max_json_retries=max_json_retries, retry_feedback=False, thread_starts_with_task=False,
                        system=system, sampling=sampling, response_format=response_format)
