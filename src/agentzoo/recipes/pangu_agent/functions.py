"""The functions a structure is made of: intrinsic ones act on the memory, the extrinsic one gives the action.

Each is one model call in its own scope (named after the function, so a model per role can serve it and
the report shows what each costs), with the system prompt and one user message: the function's prompt
(`prompts/<name>.j2`) around the memory state as text (`prompts/state.j2`). Its reply is text, kept as it
is in the memory; `tool` also performs the tool calls the model makes (journaled `tool` effects in the same
scope) and keeps their results; `act` returns the action, the one output of a step that reaches the
environment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...agents.stepper import read_action
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...tools import ToolSet
from ...tools.calling import call_tool
from ...types import ModelRequest
from .memory import Memory

PROMPTS = Path(__file__).parent / "prompts"


@dataclass(frozen=True)
class Setting:
    """What every function call of a run shares."""

    model: Model
    system: str
    sampling: dict[str, Any]
    window: int
    """Past steps the state shows."""
    tools: ToolSet
    """The tools `tool` may call (never the environment's own step tools)."""


def state_text(memory: Memory, setting: Setting) -> str:
    shown = memory.history[-setting.window:]
    return render(PROMPTS / "state.j2", memory=memory, shown=shown, hidden=len(memory.history) - len(shown),
                  steps=len(memory.history))


async def ask(setting: Setting, name: str, memory: Memory, ctx: Context, sampling: dict[str, Any],
              tools: list[dict[str, Any]] | None = None) -> Any:
    prompt = render(PROMPTS / f"{name}.j2", state=state_text(memory, setting))
    messages = [{"role": "system", "content": setting.system}, {"role": "user", "content": prompt}]
    return await ctx.model(setting.model, ModelRequest(messages=messages, tools=tools or [], **sampling))


async def think(setting: Setting, memory: Memory, ctx: Context, sampling: dict[str, Any]) -> tuple[Memory, str]:
    text = (await ask(setting, "think", memory, ctx, sampling)).text.strip()
    return memory.with_(thoughts=(*memory.thoughts, text)), text


async def plan(setting: Setting, memory: Memory, ctx: Context, sampling: dict[str, Any]) -> tuple[Memory, str]:
    text = (await ask(setting, "plan", memory, ctx, sampling)).text.strip()
    return memory.with_(plan=text), text


async def reflect(setting: Setting, memory: Memory, ctx: Context, sampling: dict[str, Any]) -> tuple[Memory, str]:
    text = (await ask(setting, "reflect", memory, ctx, sampling)).text.strip()
    return memory.with_(reflections=(*memory.reflections, text)), text


async def communicate(setting: Setting, memory: Memory, ctx: Context,
                      sampling: dict[str, Any]) -> tuple[Memory, str]:
    """A message from a peer: the `communicate` role's model reads the state and advises."""
    text = (await ask(setting, "communicate", memory, ctx, sampling)).text.strip()
    return memory.with_(notes=(*memory.notes, {"kind": "message", "text": text})), text


async def tool(setting: Setting, memory: Memory, ctx: Context, sampling: dict[str, Any]) -> tuple[Memory, str]:
    """The model may call the tools; each call is performed and its result noted. A reply without a call
    notes nothing."""
    reply = await ask(setting, "tool", memory, ctx, sampling, tools=setting.tools.specs())
    notes = list(memory.notes)
    for call in reply.tool_calls:
        outcome = await call_tool(ctx, setting.tools, call)
        notes.append({"kind": "tool", "name": call.name, "arguments": call.arguments, "result": outcome.content})
    said = "; ".join(f"{n['name']}({n['arguments']}) -> {n['result']}" for n in notes[len(memory.notes):])
    return memory.with_(notes=tuple(notes)), said or reply.text.strip()


async def act(setting: Setting, memory: Memory, ctx: Context, sampling: dict[str, Any]) -> str:
    """The extrinsic function: the model's reply, from which the step reads the action (`action_of`)."""
    return (await ask(setting, "act", memory, ctx, sampling)).text


def action_of(reply: str) -> str:
    """The action in `act`'s reply: what follows its last `Action:`, else the reply; its first non-empty line."""
    for line in read_action(reply).splitlines():
        if line.strip():
            return line.strip()
    return ""


Intrinsic = Callable[[Setting, Memory, Context, dict[str, Any]], Awaitable[tuple[Memory, str]]]
"""An intrinsic function: the memory after it, and what it said (for the trajectory)."""
INTRINSIC: dict[str, Intrinsic] = {"think": think, "plan": plan, "reflect": reflect, "tool": tool,
                                   "communicate": communicate}
