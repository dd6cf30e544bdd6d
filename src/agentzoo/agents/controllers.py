"""Controllers: what steers the single-agent loop step by step without forking it.

A controller is asked at four points of `ToolCallingAgent`'s loop (`controller=`):

- `tools(ctx, messages)` before a model call: the names of the tools to show this step (None: all);
- `note(ctx)` before a model call: a line for this request only (the stage, the allowed actions), or None;
- `check(ctx, item)` before an action is performed: a reason to refuse it, which the model reads as the
  action's result (nothing is performed), or None;
- `after(ctx, item, observed)` once it was performed (or refused): the feedback that moves the controller.

Everything a controller decides comes from journaled results (tool outputs, embeddings), so a replay makes
the same decisions; each change of state is a journaled `controller/…` effect, so a trace shows it and a
replay checks it.

- `ActionFSM` — a finite-state machine over the agent's actions (AEGIS #9): the allowed tools per state,
  transitions on execution feedback (a tool's success or failure, or a test over its output), a refused
  action returned with the allowed set.
- `StageController` — switches the reasoning stage (PoAct's policy controller, #47: plan / think / code):
  a stage's instruction and tools, and a rule that picks the next stage from what happened.
- `ToolRetriever` — narrows the tools shown to the top k by embedding similarity with the current goal
  (PoAct's action controller, RAG tool selection).
- `Controllers` — several at once: tools shown are the intersection, the first refusal wins, all observe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError
from ..runtime.context import Context
from ..tools import ToolSet
from ..types import ToolCall
from .formats import Code, Observed

if TYPE_CHECKING:  # imported by the retriever when it ranks: every tool-calling agent imports this module
    import numpy as np

CODE = "code"
"""The action name a code action (CodeAct) goes by in an FSM's allowed sets."""


class Controller(Protocol):
    async def tools(self, ctx: Context, messages: list[dict[str, Any]]) -> Sequence[str] | None: ...

    async def note(self, ctx: Context) -> str | None: ...

    async def check(self, ctx: Context, item: ToolCall | Code) -> str | None: ...

    async def after(self, ctx: Context, item: ToolCall | Code, observed: Observed) -> None: ...


def action_name(item: ToolCall | Code) -> str:
    return CODE if isinstance(item, Code) else item.name


async def _record(ctx: Context, name: str, request: dict[str, Any]) -> None:
    """A controller's change of state as a journaled, local effect: visible in a trace, checked by a replay."""
    async def perform() -> None:
        return None

    await ctx.effect("controller", name, request, perform, local=True)


# --- the finite-state machine --------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """From state `source`, after action `action` (a tool name, `code`, or `*` for any), when `when` holds,
    go to `target`. `when`: "ok" (the action succeeded), "error" (it failed), "any", or a test over what
    it returned."""

    source: str
    action: str
    target: str
    when: str | Callable[[Observed], bool] = "ok"

    def fires(self, state: str, item: ToolCall | Code, observed: Observed) -> bool:
        if self.source != state or self.action not in ("*", action_name(item)):
            return False
        if callable(self.when):
            return bool(self.when(observed))
        return {"ok": not observed.is_error, "error": observed.is_error, "any": True}[self.when]


class ActionFSM:
    """Allowed actions per state; transitions on execution feedback; refused actions named with the allowed set."""

    def __init__(self, states: dict[str, Sequence[str]], initial: str, transitions: Sequence[Transition], *,
                 final: Sequence[str] = (), name: str = "fsm") -> None:
        if initial not in states:
            raise ConfigError(f"{name}: the initial state {initial!r} is not one of its states ({', '.join(states)})")
        for t in transitions:
            for end in (t.source, t.target):
                if end not in states:
                    raise ConfigError(f"{name}: a transition names state {end!r}, which is not one of its states "
                                      f"({', '.join(states)})")
            if isinstance(t.when, str) and t.when not in ("ok", "error", "any"):
                raise ConfigError(f"{name}: transition when={t.when!r}; use 'ok', 'error', 'any' or a function")
            if t.action != "*" and t.action not in states[t.source]:
                raise ConfigError(f"{name}: a transition leaves {t.source!r} on {t.action!r}, which that state does "
                                  f"not allow ({', '.join(states[t.source])})")
        self.states = {s: tuple(a) for s, a in states.items()}
        self.initial, self.transitions, self.final, self.name = initial, tuple(transitions), tuple(final), name
        self.state = initial
        self.history: list[tuple[str, str, str]] = []
        """(from, action, to) for every transition taken."""

    def reset(self) -> None:
        self.state, self.history = self.initial, []

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.states[self.state]

    async def tools(self, ctx: Context, messages: list[dict[str, Any]]) -> Sequence[str] | None:
        return [a for a in self.allowed if a != CODE]

    async def note(self, ctx: Context) -> str | None:
        return f"State: {self.state}. Allowed actions now: {', '.join(self.allowed) or 'none'}."

    async def check(self, ctx: Context, item: ToolCall | Code) -> str | None:
        action = action_name(item)
        if action in self.allowed:
            return None
        return (f"Action {action!r} is not allowed in state {self.state!r}; it was not performed. "
                f"Allowed now: {', '.join(self.allowed) or 'none'}.")

    async def after(self, ctx: Context, item: ToolCall | Code, observed: Observed) -> None:
        if await self.check(ctx, item) is not None:
            return  # a refused action moves nothing
        for t in self.transitions:
            if t.fires(self.state, item, observed):
                before, self.state = self.state, t.target
                self.history.append((before, action_name(item), t.target))
                await _record(ctx, "transition", {"machine": self.name, "from": before, "action": action_name(item),
                                                  "to": t.target})
                return

    @property
    def finished(self) -> bool:
        return self.state in self.final


# --- the policy controller --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A reasoning stage: what the model is told while in it, and the tools it may use (None: all)."""

    instruction: str
    tools: tuple[str, ...] | None = None


class StageController:
    """Switches the reasoning stage after each action: `next_stage(stage, item, observed)` names the next one."""

    def __init__(self, stages: dict[str, Stage], initial: str,
                 next_stage: Callable[[str, ToolCall | Code, Observed], str], *, name: str = "stages") -> None:
        if initial not in stages:
            raise ConfigError(f"{name}: the initial stage {initial!r} is not one of its stages ({', '.join(stages)})")
        self.stages, self.initial, self.next_stage, self.name = dict(stages), initial, next_stage, name
        self.stage = initial

    async def tools(self, ctx: Context, messages: list[dict[str, Any]]) -> Sequence[str] | None:
        return self.stages[self.stage].tools

    async def note(self, ctx: Context) -> str | None:
        return self.stages[self.stage].instruction

    async def check(self, ctx: Context, item: ToolCall | Code) -> str | None:
        allowed = self.stages[self.stage].tools
        if allowed is None or action_name(item) in allowed:
            return None
        return (f"Action {action_name(item)!r} does not belong to the {self.stage} stage; it was not performed. "
                f"Use: {', '.join(allowed) or 'no tool (reply in text)'}.")

    async def after(self, ctx: Context, item: ToolCall | Code, observed: Observed) -> None:
        chosen = self.next_stage(self.stage, item, observed)
        if chosen not in self.stages:
            raise ConfigError(f"{self.name}: next_stage chose {chosen!r}, which is not a stage "
                              f"({', '.join(self.stages)})")
        if chosen != self.stage:
            await _record(ctx, "stage", {"controller": self.name, "from": self.stage, "to": chosen})
            self.stage = chosen


# --- the action controller: tools by retrieval -------------------------------------------------------------


@dataclass
class ToolRetriever:
    """Shows only the `k` tools whose descriptions are most similar to the current goal (the last user message,
    or `goal(messages)`), by the cosine of `embedder`'s vectors (journaled: a replay ranks the same)."""

    toolset: ToolSet
    embedder: Any
    k: int = 5
    goal: Callable[[list[dict[str, Any]]], str] | None = None
    always: tuple[str, ...] = ()
    """Tools shown whatever the ranking (e.g. `final_answer`)."""
    _vectors: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ConfigError(f"ToolRetriever k must be a whole number ≥ 1, got {self.k!r}")
        unknown = [t for t in self.always if t not in self.toolset]
        if unknown:
            raise ConfigError(f"ToolRetriever always shows {', '.join(unknown)}, which the tool set does not have")

    async def tools(self, ctx: Context, messages: list[dict[str, Any]]) -> Sequence[str] | None:
        names = [n for n in self.toolset.names if n not in self.always]
        if len(names) <= self.k:
            return None
        import numpy as np

        if self._vectors is None:
            texts = [f"{t.name}: {t.description}" for t in self.toolset if t.name in names]
            self._vectors = _unit(np.asarray(await ctx.embed(self.embedder, texts), dtype=np.float32))
        query = self.goal(messages) if self.goal else _last_user(messages)
        [q] = await ctx.embed(self.embedder, [query or ""])
        scores = self._vectors @ _unit(np.asarray([q], dtype=np.float32))[0]
        best = sorted(range(len(names)), key=lambda i: (-float(scores[i]), i))[: self.k]
        return [*self.always, *(names[i] for i in sorted(best))]

    async def note(self, ctx: Context) -> str | None:
        return None

    async def check(self, ctx: Context, item: ToolCall | Code) -> str | None:
        return None  # a tool not shown may still be called: retrieval narrows the view, it does not forbid

    async def after(self, ctx: Context, item: ToolCall | Code, observed: Observed) -> None:
        return None


def _unit(rows: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1, norms)


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


# --- several at once --------------------------------------------------------------------------------------


class Controllers:
    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    async def tools(self, ctx: Context, messages: list[dict[str, Any]]) -> Sequence[str] | None:
        shown: list[str] | None = None
        for part in self.parts:
            names = await part.tools(ctx, messages)
            if names is not None:
                shown = list(names) if shown is None else [n for n in shown if n in names]
        return shown

    async def note(self, ctx: Context) -> str | None:
        notes = [n for part in self.parts if (n := await part.note(ctx))]
        return "\n".join(notes) or None

    async def check(self, ctx: Context, item: ToolCall | Code) -> str | None:
        for part in self.parts:
            reason = await part.check(ctx, item)
            if reason is not None:
                return reason
        return None

    async def after(self, ctx: Context, item: ToolCall | Code, observed: Observed) -> None:
        for part in self.parts:
            await part.after(ctx, item, observed)
