"""The MechAgents group chat: planner, scientist, engineer, executor and critic on one thread.

The executor is not a model: it runs the latest ```python block the engineer wrote, in the sandbox, as a
journaled effect (`agentzoo.sandbox.bridge.CodeExecutor`, so a replay never runs code), and posts the output
or the traceback. A traceback ends with `HANDOFF: engineer`, so whatever picks speakers, the engineer speaks
next and reads the traceback in the thread its turn prompt shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...sandbox import Limits, Sandbox
from ...sandbox.bridge import CodeExecutor
from ...teams.group_chat import SelectionState
from ...types import AgentResult, ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
ROLES = ("planner", "scientist", "engineer", "executor", "critic")
_ENGINEER_TURN = re.compile(r"^\[engineer\]\n(.*?)(?=^\[(?:planner|scientist|engineer|executor|critic)\]\n|\Z)",
                            re.DOTALL | re.MULTILINE)
_BLOCK = re.compile(r"```python[ \t]*\n(.*?)```", re.DOTALL)


class RoleMember:
    """A model member: its role's system prompt, the group chat's turn prompt as the user message."""

    def __init__(self, model: Model, system: str, sampling: dict[str, Any] | None = None) -> None:
        self.model, self.system, self.sampling = model, system, dict(sampling or {})

    async def run(self, task: str, ctx: Context) -> AgentResult:
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": task}]
        response = await ctx.model(self.model, ModelRequest(messages=messages, **self.sampling))
        return AgentResult(response.text or "", messages + [{"role": "assistant", "content": response.text}], 1)


def latest_code(prompt: str) -> str | None:
    """The last ```python block of the engineer's latest message in the turn prompt's thread."""
    turns = _ENGINEER_TURN.findall(prompt)
    if not turns:
        return None
    blocks = _BLOCK.findall(turns[-1])
    return blocks[-1] if blocks else None


class Executor:
    """Runs the engineer's latest code in one sandbox for the whole chat (variables persist between runs)."""

    def __init__(self, make_sandbox: Callable[[], Sandbox], timeout: float) -> None:
        self.make_sandbox, self.timeout = make_sandbox, timeout
        self.code: CodeExecutor | None = None

    async def run(self, prompt: str, ctx: Context) -> AgentResult:
        code = latest_code(prompt)
        if code is None:
            return AgentResult(render(PROMPTS / "executor_reply.j2", ok=False, missing=True), [], 0)
        if self.code is None:
            self.code = CodeExecutor(self.make_sandbox())  # the sandbox starts on the first live run only
        result = await self.code.execute(ctx, code, timeout=self.timeout)
        traceback = (result.error or {}).get("traceback") or (result.error or {}).get("message") or ""
        reply = render(PROMPTS / "executor_reply.j2", ok=result.ok, missing=False,
                       output=(result.stdout + result.stderr).strip(), traceback=traceback.strip())
        return AgentResult(reply, [], 0)

    async def close(self) -> None:
        if self.code is not None:
            await self.code.close()
            self.code = None


def rule_selector(state: SelectionState) -> str:
    """Planner, scientist, engineer, executor, then the critic; after the critic (no TERMINATE), the engineer.
    The executor's traceback hands over to the engineer by its marker, before this rule is asked."""
    following = {None: "planner", "planner": "scientist", "scientist": "engineer", "engineer": "executor",
                 "executor": "critic", "critic": "engineer"}
    return following[state.last_speaker]


def sandbox_factory(tier: str, limits: Limits | None, allow_unsafe: bool) -> Callable[[], Sandbox]:
    return lambda: Sandbox(tier=tier, limits=limits or Limits(), allow_unsafe=allow_unsafe)
