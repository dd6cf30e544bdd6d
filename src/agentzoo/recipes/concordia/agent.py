"""A Concordia player: an entity whose components mediate between its associative memory and the model.

`act` updates each component in its own scope, puts their blocks together with the game master's question
into one prompt, and answers with what the player attempts (the reply's first paragraph). `observe` stores
the event in the player's memory (`MemoryStream`, Concordia v1 scoring) and keeps it for the observation
component. It is a `agentzoo.teams.game_master.Player`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...memory import MemoryStream
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...teams.game_master import Event, Turn
from ...types import ModelRequest
from .components import Component, stamp

PROMPTS = Path(__file__).parent / "prompts"
ACT_MAX_TOKENS = 200
"""Ours: an attempt is one or two sentences (concordia v1's free action spec leaves the cap to its model's
default)."""


class ComponentAgent:
    def __init__(self, name: str, model: Model, memory: MemoryStream, components: Sequence[Component], *,
                 identity: str, goal: str, importance: float, sampling: dict[str, Any] | None = None) -> None:
        self.name, self.model, self.memory = name, model, memory
        self.components = list(components)
        self.identity, self.goal, self.importance = identity, goal, importance
        self.sampling = dict(sampling or {})
        self.observations: list[Event] = []
        """Every event observed, in order (the observation component reads the latest)."""

    async def act(self, turn: Turn, ctx: Context) -> str:
        blocks = []
        for component in self.components:
            text = await component.update(self, turn, ctx.child(component.name))
            if text:
                blocks.append({"label": component.label, "text": text})
        prompt = render(PROMPTS / "act.j2", name=self.name, blocks=blocks, time=turn.time_text,
                        call_to_action=turn.call_to_action)
        return first_paragraph(await self.ask(ctx.child("act"), prompt, ACT_MAX_TOKENS))

    async def observe(self, event: Event, ctx: Context) -> None:
        await self.memory.add(ctx, "observation", event.text, time=event.time, importance=self.importance)
        self.observations.append(event)

    def recent(self, turn: Turn) -> list[Event]:
        """What it observed within the last clock step (v1 `Observation`'s timeframe)."""
        return [e for e in self.observations if e.time >= turn.time - turn.step_seconds]

    async def recall(self, ctx: Context, query: str, turn: Turn, k: int) -> list[str]:
        """The `k` memories most relevant to `query`, oldest first, each with its time."""
        if not k or not len(self.memory) or not query.strip():
            return []
        found = await self.memory.retrieve(ctx, query, now=turn.time, k=k, touch=False)
        return [stamp(r.created, r.text) for r in sorted((f.record for f in found), key=lambda r: (r.created, r.id))]

    async def ask(self, ctx: Context, prompt: str, max_tokens: int) -> str:
        """One model call in `ctx`; the recipe's sampling (its `max_tokens` too, when set) wins over the cap."""
        fields = {"max_tokens": max_tokens, **self.sampling}
        response = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": prompt}], **fields))
        return (response.text or "").strip()


def first_paragraph(text: str) -> str:
    """The reply up to its first blank line, whitespace collapsed."""
    for paragraph in (text or "").split("\n\n"):
        if paragraph.strip():
            return " ".join(paragraph.split())
    return ""
