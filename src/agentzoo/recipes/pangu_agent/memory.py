"""The memory state the intrinsic functions act on.

Pangu-Agent's policy reads the observation and a memory; each intrinsic function maps a memory to a new one,
and the extrinsic function maps the last memory to the action [paper]. The memory here is a frozen record:
what persists across steps (the plan, the reflections, the steps taken with what was seen after each) and
what belongs to the current step (its thoughts, and notes from tools and from a peer), cleared when the
environment answers. `keep_thoughts` keeps a step's thoughts with it in the history (ReAct's trajectory of
thoughts, actions and observations); without it a thought serves only its own step (chain of thought).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Step:
    """One step taken: the action, what was seen after it, and (with `keep_thoughts`) the thoughts before it."""

    action: str
    observation: str
    thoughts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Memory:
    goal: str
    """The task, as the run was given it."""
    actions: str
    """The environment's action space, as it describes it."""
    start: str
    """What the agent saw at the reset (a text game states its objective there): kept in view for the whole run."""
    observation: str
    """What the agent sees now."""
    history: tuple[Step, ...] = ()
    plan: str = ""
    """The latest plan (a `plan` replaces it)."""
    reflections: tuple[str, ...] = ()
    thoughts: tuple[str, ...] = ()
    """This step's thoughts."""
    notes: tuple[dict[str, Any], ...] = ()
    """This step's tool results (`{"kind": "tool", "name", "arguments", "result"}`) and peer messages
    (`{"kind": "message", "text"}`)."""

    def with_(self, **changes: Any) -> Memory:
        return replace(self, **changes)

    def stepped(self, action: str, observation: str, *, keep_thoughts: bool) -> Memory:
        """The memory after the environment answered `action`: the step joins the history, the step's own
        thoughts and notes are cleared."""
        step = Step(action, observation, self.thoughts if keep_thoughts else ())
        return replace(self, history=(*self.history, step), observation=observation, thoughts=(), notes=())
