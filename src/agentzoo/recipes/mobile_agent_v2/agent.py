"""Mobile-Agent-v2's loop: decision, memory, action, reflection, planning, one round per operation.

Each round (Mobile-Agent-v2's run.py, in order): the decision agent reads the instruction, the screen, the
history operations, the completed contents, the memory and the last operation (with an error hint when the
error flag is set) and writes Thought / Action / Operation; the memory unit notes the screen's "focus content"
the task needs later (or None); the action is performed; the reflection agent compares the screens before and
after and answers A (as expected), B (a wrong page: the agent goes `back`) or C (no change). Only after an A is
the operation added to the history and the planning agent asked to update the completed contents; B and C set
the error flag, which the next decision prompt shows as a hint, and leave history and progress as they were.
A `stop` action ends the task (no reflection).

The phone is the step core's: the reset and every action (the decision's and reflection's `back`) are journaled
`env` effects in the child scope `env`, every role's reply a model call in the role's own child scope
(`decision`, `memory`, `reflection`, `planning`, named once in that order), so a run replays with no phone and no
model, a report counts each role's calls and tokens apart, and a per-role model (`models.roles`) can play one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...envs.stepping import StepDriver
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import AgentResult, ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
BACK = "back"       # the screens action the reflection's B answer takes (run.py: ADB back on B)
VERDICTS = ("A", "B", "C")
ROLES = ("decision", "memory", "reflection", "planning")   # the model roles' scopes, in run.py's order
_SECTION = re.compile(r"^\s*#+\s*(?P<name>[A-Za-z ]+?)\s*#+\s*$", re.MULTILINE)


def sections(reply: str | None) -> dict[str, str]:
    """`### Name ###` headed sections of a reply, by lower-cased name (the last one of a name wins)."""
    text = reply or ""
    found = list(_SECTION.finditer(text))
    out: dict[str, str] = {}
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        out[match.group("name").strip().lower()] = text[match.end():end].strip()
    return out


@dataclass(frozen=True)
class Decision:
    thought: str
    action: str
    operation: str


def read_decision(reply: str | None) -> Decision:
    """The decision's sections; the action is the first non-empty line of `### Action ###` without backticks
    (empty when there is none: the phone then says it could not read it)."""
    parts = sections(reply)
    lines = [line.strip().strip("`").strip() for line in parts.get("action", "").splitlines()]
    action = next((line for line in lines if line), "")
    return Decision(parts.get("thought", ""), action, parts.get("operation", "") or action)


def read_verdict(reply: str | None) -> str:
    """A, B or C: the `### Answer ###` section's first letter of those, else the reply's; C when none is found
    (no evidence of progress, so the error flag is set and nothing is recorded as done)."""
    parts = sections(reply)
    for text in (parts.get("answer"), reply or ""):
        found = re.search(r"\b([ABC])\b", text or "")
        if found:
            return found.group(1)
    return "C"


def read_memory(reply: str | None) -> str | None:
    """The focus content the memory unit noted, or None."""
    parts = sections(reply)
    text = (parts.get("important content") if parts else reply) or ""
    text = text.strip()
    return None if text.lower().rstrip(".") in ("none", "") else text


def read_completed(reply: str | None, previous: str) -> str:
    """The planning agent's `### Completed contents ###`; the previous ones when it wrote none."""
    return sections(reply).get("completed contents") or previous


class MobileAgentV2:
    """Mobile-Agent-v2 on one phone episode (its `driver`)."""

    def __init__(self, model: Model, driver: StepDriver, *, reflection: bool, memory: bool, max_rounds: int,
                 hint: str, actions: str | None, sampling: dict[str, Any], name: str = "mobile-agent-v2") -> None:
        self.model, self.driver, self.name = model, driver, name
        self.reflection, self.memory_switch, self.max_rounds = reflection, memory, max_rounds
        self.hint, self.actions, self.sampling = hint, actions, sampling
        self.history: list[dict[str, str]] = []
        self.completed = ""
        self.memory: list[str] = []
        self.error_flag = False
        self.verdicts: list[str] = []

    async def _ask(self, ctx: Context, template: str, **variables: Any) -> str:
        prompt = render(PROMPTS / template, **variables)
        response = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                            **self.sampling))
        return response.text or ""

    async def run(self, task: str, ctx: Context) -> AgentResult:
        env_ctx = ctx.child("env")
        roles = {name: ctx.child(name) for name in ROLES}   # named once, in a fixed order, before any call
        screen = (await self.driver.reset(env_ctx)).text
        actions = self.actions if self.actions is not None else (self.driver.start or {}).get("actions") or ""
        transcript: list[dict[str, Any]] = []
        last: dict[str, str] | None = None
        rounds = 0
        while not self.driver.progress.done and rounds < self.max_rounds:
            rounds += 1
            ctx.step()
            reply = await self._ask(roles["decision"], "decision.j2", instruction=task, screen=screen,
                                    hint=self.hint, history=self.history, completed=self.completed,
                                    memory=self.memory, last=last, error=self.error_flag, actions=actions)
            decision = read_decision(reply)
            transcript.append({"role": "assistant", "name": "decision", "content": reply})
            if self.memory_switch:
                noted = read_memory(await self._ask(roles["memory"], "memory.j2", instruction=task,
                                                    screen=screen))
                if noted is not None:
                    self.memory.append(noted)
            before = screen
            outcome = await self.driver.step(decision.action, env_ctx)
            screen = outcome.observation.text
            last = {"operation": decision.operation, "action": decision.action}
            if self.driver.progress.done:
                break
            verdict = "A"
            if self.reflection:
                verdict = read_verdict(await self._ask(roles["reflection"], "reflection.j2", instruction=task,
                                                       before=before, after=screen,
                                                       operation=decision.operation, action=decision.action))
            self.verdicts.append(verdict)
            transcript.append({"role": "assistant", "name": "reflection", "content": verdict})
            if verdict == "A":
                self.history.append(last)
                self.completed = read_completed(
                    await self._ask(roles["planning"], "planning.j2", instruction=task,
                                    completed=self.completed, history=self.history), self.completed)
                self.error_flag = False
            else:
                self.error_flag = True
                if verdict == "B":
                    screen = (await self.driver.step(BACK, env_ctx)).observation.text
        return AgentResult(screen, transcript, rounds)
