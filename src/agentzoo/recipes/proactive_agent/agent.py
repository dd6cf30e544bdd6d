"""The proactive agent loop: one reply per event, a proposed task or None (silence).

It steps the episode itself through the step core's driver (`envs.stepping.StepDriver`), as react-textgame
does: the reset and every step are journaled `env` effects in the child scope `env`, every reply a model call
in the agent's scope. The conversation is the whole stream so far (each event a user message, each decision
an assistant message), so the agent sees what it proposed before and how the user took it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...envs.stepping import StepDriver
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import AgentResult, ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
_TASK = re.compile(r"^\s*\**task\**\s*:\s*(?P<task>.*)$", re.IGNORECASE | re.MULTILINE)
SILENCE = ("none", "null", "no", "nothing", "")


def read_task(reply: str | None) -> str | None:
    """The reply's last `Task:` line: the proposed task, or None for silence (`None`, `null`, empty). A reply
    with no `Task:` line is silence too: the agent offered nothing the user could accept."""
    found = _TASK.findall(reply or "")
    if not found:
        return None
    task = found[-1].strip().strip("`").strip()
    return None if task.lower().rstrip(".") in SILENCE else task


def action_for(task: str | None) -> str:
    """The environment's action for a decision (`proactive-events`' grammar)."""
    return "none" if task is None else f"propose [{task}]"


class ProactiveAgent:
    """The proactive agent on one event stream (its `driver`)."""

    def __init__(self, model: Model, driver: StepDriver, *, max_events: int, system: str | None,
                 sampling: dict[str, Any], name: str = "proactive-agent") -> None:
        self.model, self.driver, self.name = model, driver, name
        self.max_events = max_events
        self.system = system if system is not None else render(PROMPTS / "system.j2")
        self.sampling = sampling
        self.decisions: list[str | None] = []

    async def run(self, task: str, ctx: Context) -> AgentResult:
        env_ctx = ctx.child("env")
        seen = (await self.driver.reset(env_ctx)).text
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        first = True
        while not self.driver.progress.done and len(self.decisions) < self.max_events:
            messages.append({"role": "user", "content": render(PROMPTS / "event.j2", first=first, task=task,
                                                               observation=seen)})
            first = False
            ctx.step()
            response = await ctx.model(self.model, ModelRequest(messages=list(messages), **self.sampling))
            decision = read_task(response.text)
            self.decisions.append(decision)
            messages.append({"role": "assistant", "content": response.text or ""})
            seen = (await self.driver.step(action_for(decision), env_ctx)).observation.text
        proposed = [d for d in self.decisions if d is not None]
        return AgentResult(f"{len(proposed)} task(s) proposed over {len(self.decisions)} event(s).", messages,
                           len(self.decisions))
