"""Individualized personas learn from the user: every user turn goes into memory and into the profile.

The RPLA survey's individualized persona (PAPERS.md #2) is built from one user's own data and kept up to
date by the conversation. `ProfileKeeper.observe(ctx, text, turn=t)`:

1. retrieves the earlier turns of this user that bear on the new one (`MemoryStream.retrieve`, Generative
   Agents' recency + importance + relevance), before the new turn is stored, so it is never its own context;
2. stores the turn in the `agentzoo.memory.MemoryStream` as a `dialogue` record at time `t`;
3. asks the model, in one journaled call with a strict JSON schema, which profile slots the turn tells
   something new about (prompt: `prompts/profile_update.j2`); a reply that does not fit the schema is shown
   to the model once with what was wrong (`profile_update_retry.j2`), a second miss is
   `UnexpectedModelBehavior` naming both replies (no silent "no update": a lost fact would go unnoticed);
4. sets each update on the persona as a value holding from turn `t` (`Persona.with_update`), so
   `keeper.persona.at(t)` is the profile after turn `t` and the profile's history stays inspectable.

The values are the model's text kept as data: they go into later prompts, never into code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import replies
from ...errors import ConfigError, FormatError, UnexpectedModelBehavior
from ...memory import MemoryStream
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import ModelRequest
from .persona import Persona

PROMPTS = Path(__file__).parent / "prompts"
USER_TURN_IMPORTANCE = 5
"""Ours: every user turn is stored with the middle of Generative Agents' 1-10 scale instead of a model-scored
one; importance only weights retrieval here (nothing reflects), so a call per turn would buy little."""
RETRIEVE_K = 3
"""Ours: earlier turns shown with each update call."""


@dataclass(frozen=True)
class ProfileUpdate:
    slot: str
    value: str
    turn: int
    """The user turn it was learnt from: the value holds from this storyline point on."""


def update_schema(slots: tuple[str, ...]) -> dict[str, Any]:
    item = replies.object_schema(slot={"type": "string", "enum": list(slots)}, value={"type": "string"})
    return replies.object_schema(updates={"type": "array", "items": item})


def parse_updates(text: str | None, slots: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (slot, value) pairs of an update reply; `FormatError` saying what is wrong otherwise."""
    data = replies.json_object(text)
    updates = data.get("updates")
    if not isinstance(updates, list):
        raise FormatError("the object needs a list 'updates'")
    found: dict[str, str] = {}
    for i, item in enumerate(updates):
        if not isinstance(item, dict) or not isinstance(item.get("slot"), str) or not isinstance(item.get("value"), str):
            raise FormatError(f"updates[{i}] must be an object with text 'slot' and 'value'")
        slot, value = item["slot"].strip(), item["value"].strip()
        if slot not in slots:
            raise FormatError(f"updates[{i}]: {slot!r} is not a profile slot")
        if not value:
            raise FormatError(f"updates[{i}]: the value of {slot!r} is empty")
        if slot in found:
            raise FormatError(f"updates[{i}]: slot {slot!r} is updated twice")
        found[slot] = value
    return list(found.items())


class ProfileKeeper:
    """One individualized persona, the memory of its user's turns, and the updates learnt from them."""

    def __init__(self, persona: Persona, model: Model, *, memory: MemoryStream | None = None,
                 sampling: dict[str, Any] | None = None, retrieve: int = RETRIEVE_K) -> None:
        if persona.static:
            raise ConfigError(f"persona {persona.id!r} is a {persona.type} persona: it is static, so it keeps no "
                              "profile from the conversation (only individualized personas do)")
        if retrieve < 0:
            raise ConfigError(f"retrieve must be 0 or more, got {retrieve}")
        self.persona = persona
        self.model = model
        self.memory = memory if memory is not None else MemoryStream(agent=persona.name, reflection_threshold=None)
        self.sampling = dict(sampling or {})
        self.retrieve = retrieve
        self.updates: list[ProfileUpdate] = []

    async def observe(self, ctx: Context, text: str, *, turn: int) -> list[ProfileUpdate]:
        """Remember user turn `turn` and learn from it (see the module); the updates it made."""
        earlier = []
        if self.retrieve and len(self.memory):
            found = await self.memory.retrieve(ctx, text, now=float(turn), k=self.retrieve, kinds=("dialogue",))
            earlier = [r.record.text for r in found]
        await self.memory.add(ctx, "dialogue", f"{self.persona.name} said: {text}", time=float(turn),
                              importance=USER_TURN_IMPORTANCE)
        profile = self.persona.at(turn - 1)
        slots = self.persona.fields
        prompt = render(PROMPTS / "profile_update.j2", user=self.persona.name, slots=slots, earlier=earlier, turn=text,
                        profile={k: profile.describe(v) for k, v in profile.attributes.items()})
        pairs = await self._ask(ctx, [{"role": "user", "content": prompt}], slots)
        made = [ProfileUpdate(slot, value, turn) for slot, value in pairs]
        for update in made:
            self.persona = self.persona.with_update(update.slot, update.value, since=turn)
        self.updates += made
        return made

    async def _ask(self, ctx: Context, messages: list[dict[str, Any]], slots: tuple[str, ...]) -> list[tuple[str, str]]:
        fields = {**self.sampling, "response_format": replies.json_format(update_schema(slots), "profile_update")}
        first = (await ctx.model(self.model, ModelRequest(messages=list(messages), **fields))).text
        try:
            return parse_updates(first, slots)
        except FormatError as exc:
            problem = str(exc)
        messages = [*messages, {"role": "assistant", "content": first or ""},
                    {"role": "user", "content": render(PROMPTS / "profile_update_retry.j2", problem=problem, slots=slots)}]
        second = (await ctx.model(self.model, ModelRequest(messages=messages, **fields))).text
        try:
            return parse_updates(second, slots)
        except FormatError as exc:
            raise UnexpectedModelBehavior(f"profile update of {self.persona.name!r}: the model replied "
                                          f"{(first or '')[:80]!r} ({problem}), then {(second or '')[:80]!r} ({exc})"
                                          ) from None
