"""Performing an action's items: tool calls on the host, code in the run's sandbox.

Both go through the gateway (a `tool` effect; a `sandbox/exec` effect whose tool calls are
`tool` effects in its own `…/code#N` scope), so replay and resume perform nothing again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _json
from ..runtime.context import Context
from ..tools import ApprovalPolicy, ToolSet
from ..tools.calling import call_tool
from ..tools.toolset import truncate
from ..types import ToolCall
from .formats import Code, Observed

if TYPE_CHECKING:
    from ..sandbox import Limits, Sandbox
    from ..sandbox.bridge import CodeExecutor
    from ..sandbox.result import ExecResult

OUTPUT_CHARS = 2000
"""Cap on each part of a code observation; M3ToolEval cuts a tool result and the REPL output at 2,000 characters."""
NO_OUTPUT = "(no output: the code printed nothing; print() the values you want to see)"
STATE_LOST = "the interpreter was restarted, so variables and imports from earlier actions are gone"


class SandboxOptions:
    """How to get a sandbox for a run's code: the one given (shared, left open), or a new one per
    run made with these settings and closed at the run's end. Nothing starts before the first
    action performed live, so a replay starts none."""

    def __init__(self, sandbox: Sandbox | None = None, *, tier: str = "auto", limits: Limits | None = None,
                 allow_unsafe: bool = False) -> None:
        self.sandbox, self.tier, self.limits, self.allow_unsafe = sandbox, tier, limits, allow_unsafe

    def check(self, tools: ToolSet) -> None:
        """Each tool is a Python function in the sandbox: its name must be an identifier, and a given
        sandbox must serve it."""
        bad = [name for name in tools.names if not name.isidentifier()]
        if bad:
            raise ValueError(f"in code mode tools are Python functions, so their names must be identifiers: {bad}")
        if self.sandbox is not None:
            missing = sorted(set(tools.names) - {spec["name"] for spec in self.sandbox.tools})
            if missing:
                raise ValueError(f"the sandbox given does not serve the tools {missing}; make it with "
                                 "Sandbox(tools=<the same tools>)")

    def executor(self, tools: ToolSet, policy: ApprovalPolicy | None) -> CodeExecutor:
        from ..sandbox import Limits, Sandbox
        from ..sandbox.bridge import CodeExecutor

        sandbox = self.sandbox or Sandbox(tier=self.tier, limits=self.limits or Limits(), tools=tools,
                                          allow_unsafe=self.allow_unsafe)
        return CodeExecutor(sandbox, tools, policy)


class Actor:
    """Performs one run's items; used as `async with`, it closes the executor when `owned`."""

    def __init__(self, ctx: Context, tools: ToolSet, policy: ApprovalPolicy | None,
                 executor: CodeExecutor | None = None, *, owned: bool = True) -> None:
        self.ctx, self.tools, self.policy, self.executor, self.owned = ctx, tools, policy, executor, owned

    async def __aenter__(self) -> Actor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.executor is not None and self.owned:
            await self.executor.close()

    async def __call__(self, item: ToolCall | Code) -> Observed:
        if isinstance(item, Code):
            if self.executor is None:
                raise RuntimeError("this action format runs code, but the agent has no sandbox")
            result = await self.executor.execute(self.ctx, item.source)
            return Observed(observation(result), not result.ok, answer_text(result.answer) if result.answered else None)
        outcome = await call_tool(self.ctx, self.tools, item, self.policy)
        return Observed(outcome.content, outcome.is_error)


def observation(result: ExecResult) -> str:
    """A sandbox result as the text the model reads next: what the code printed, then its stderr,
    then the error's traceback, then what the sandbox noticed (a restart, lost state), each cut
    to `OUTPUT_CHARS`."""
    parts = []
    for label, text, dropped in (("", result.stdout, result.stdout_dropped), ("stderr:\n", result.stderr,
                                                                                result.stderr_dropped)):
        if text or dropped:
            shown = truncate(text.rstrip("\n"), OUTPUT_CHARS)
            if dropped:
                shown += f"\n[… {dropped:,} more bytes were not captured]"
            parts.append(label + shown)
    if result.error:
        error = result.error
        trace = (error.get("traceback") or "").strip()
        parts.append(truncate(trace or f"{error.get('type', 'Error')}: {error.get('message', '')}", OUTPUT_CHARS))
    notes = list(result.notes)
    if result.state_lost and not any("lost" in text for text in notes + parts):
        notes.append(STATE_LOST)
    parts.extend(truncate(f"Note: {note}", OUTPUT_CHARS) for note in notes)
    return "\n".join(parts) or NO_OUTPUT


def answer_text(value: Any) -> str:
    """The answer given to `final_answer`: a string as it is, a number as `str()`, anything else
    (a list, a dict, a bool, None) as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _json.dumps_str(value)
