"""The components of a Concordia player: each turns the player's memory and observations into one text block.

Concordia's entities are built from components (v1 `components/agent/`: `SimIdentity`, `Observation`,
`ObservationSummary`, `SimPlan`, …); the agent's act prompt puts their blocks together. Ours, one class each:

- `Identity`: the scenario's description of the player. No model call (v1 `SimIdentity` asks the model three
  characteristics from memory: see the recipe's DEVIATIONS).
- `Observation`: what the player observed within the last clock step, with times (v1 `Observation`, whose
  timeframe is the clock's step). No model call.
- `MemorySummary`: the memories most relevant to what it just saw and its goal, retrieved from its associative
  memory, summed up in one sentence by the model (v1 `ObservationSummary`'s "one sentence about" the agent,
  over retrieved memories instead of a time window).
- `Plan`: v1 `SimPlan` — updated once per clock time: the first time it writes a plan; later it asks whether
  the plan should change and rewrites it only on a yes.

A component's model calls and retrievals happen in its own scope (`…/player#0/plan`), in the order the agent
lists its components, so a run replays and resumes call for call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ...errors import ConfigError
from ...prompts import render
from ...runtime.context import Context
from ...teams.game_master import Turn, iso_time

if TYPE_CHECKING:
    from .agent import ComponentAgent

PROMPTS = Path(__file__).parent / "prompts"
MEMORIES_RETRIEVED = 5
"""concordia v1 SimPlan `num_memories_to_retrieve=5`."""
PLAN_HORIZON = "the rest of the scene"
"""concordia v1 SimPlan `horizon='the rest of the day'`; a scene is our unit of a day's stretch."""
PLAN_MAX_TOKENS = 1200
"""concordia v1 SimPlan: the plan's `open_question(..., max_tokens=1200)`."""
SUMMARY_MAX_TOKENS = 1200
"""concordia v1 ObservationSummary: `open_question(..., max_tokens=1200)`."""
YES_NO_MAX_TOKENS = 16
"""Ours: room for "Yes" or "No" (Concordia's yes/no questions score two choices instead of sampling text)."""
_YES = re.compile(r"^[\W_]*yes\b", re.I)


class Component(Protocol):
    name: str
    """Its scope name."""
    label: str
    """What the act prompt calls its block (`Mara's plan:`)."""

    async def update(self, agent: ComponentAgent, turn: Turn, ctx: Context) -> str:
        """The block's text for this turn ('' for nothing to say)."""
        ...


def stamp(seconds: float, text: str) -> str:
    return f"[{iso_time(seconds).replace('T', ' ')}] {text}"


@dataclass
class Identity:
    name: str = "identity"
    label: str = "identity"

    async def update(self, agent: ComponentAgent, turn: Turn, ctx: Context) -> str:
        return agent.identity


@dataclass
class Observation:
    name: str = "observation"
    label: str = "current observations"

    async def update(self, agent: ComponentAgent, turn: Turn, ctx: Context) -> str:
        return "\n".join(stamp(e.time, e.text) for e in agent.recent(turn))


@dataclass
class MemorySummary:
    name: str = "summary"
    label: str = "summary of relevant memories"
    k: int = MEMORIES_RETRIEVED
    max_tokens: int = SUMMARY_MAX_TOKENS

    async def update(self, agent: ComponentAgent, turn: Turn, ctx: Context) -> str:
        query = " ".join(e.text for e in agent.recent(turn)) or agent.goal
        memories = await agent.recall(ctx, query, turn, self.k)
        if not memories:
            return ""
        return await agent.ask(ctx, render(PROMPTS / "summary.j2", name=agent.name, memories=memories),
                               self.max_tokens)


@dataclass
class Plan:
    name: str = "plan"
    label: str = "plan"
    horizon: str = PLAN_HORIZON
    k: int = MEMORIES_RETRIEVED
    max_tokens: int = PLAN_MAX_TOKENS
    current: str = field(default="", init=False)
    planned_at: float | None = field(default=None, init=False)

    async def update(self, agent: ComponentAgent, turn: Turn, ctx: Context) -> str:
        if self.current and self.planned_at == turn.time:  # v1 SimPlan: once per clock time
            return self.current
        self.planned_at = turn.time
        observations = "\n".join(stamp(e.time, e.text) for e in agent.recent(turn))
        view = {"name": agent.name, "identity": agent.identity, "goal": agent.goal, "plan": self.current,
                "observations": observations, "time": turn.time_text}
        if self.current:
            answer = await agent.ask(ctx, render(PROMPTS / "replan.j2", **view), YES_NO_MAX_TOKENS)
            if not _YES.match(answer):  # anything but a yes keeps the plan
                return self.current
        memories = await agent.recall(ctx, f"{observations} {agent.goal}".strip(), turn, self.k)
        written = await agent.ask(ctx, render(PROMPTS / "plan.j2", **view, memories=memories, horizon=self.horizon),
                                  self.max_tokens)
        self.current = written or self.current
        return self.current


COMPONENTS = {"identity": Identity, "plan": Plan, "summary": MemorySummary, "observation": Observation}
"""Components by the name a recipe option lists them under."""
DEFAULT_COMPONENTS = ("identity", "plan", "summary", "observation")


def make_components(names: tuple[str, ...] | list[str], *, horizon: str = PLAN_HORIZON,
                    k: int = MEMORIES_RETRIEVED) -> list[Component]:
    """Fresh components (they hold a player's state) from their names."""
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown or len(set(names)) != len(names):
        raise ConfigError(f"concordia components must be distinct names of {', '.join(COMPONENTS)}; got {list(names)}")
    made: list[Component] = []
    for name in names:
        if name == "plan":
            made.append(Plan(horizon=horizon, k=k))
        elif name == "summary":
            made.append(MemorySummary(k=k))
        else:
            made.append(COMPONENTS[name]())
    return made
