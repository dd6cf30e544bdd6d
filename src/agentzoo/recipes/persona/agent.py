"""The persona agent: answers an HPD session as its character, or chats as (or, individualized, for) a persona.

Scopes, in program order: a session is one call in `reply`; a chat's turn `i` is `turn#i/reply`, and for an
individualized persona `turn#i/profile` first (memory writes and reads, the profile update call).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ...agents.personas import LATEST, Persona, PersonaLibrary, PersonaView, ProfileKeeper, ProfileUpdate, RelationView
from ...errors import ConfigError
from ...memory import MemoryStream
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import AgentResult, ModelRequest
from .session import Session, read_task

PROMPTS = Path(__file__).parent / "prompts"
View = Literal["at", "latest"]


@dataclass(frozen=True)
class Participant:
    """One of P: a person present, their persona at the session's point (None when there is no persona file
    for them: HPD too has speakers without annotations), and their relation towards the character."""

    name: str
    view: PersonaView | None
    towards_me: RelationView | None


@dataclass
class Chat:
    """What one run of the agent did, for inspection: the persona it ended with (an individualized one with
    the updates learnt from the turns), the memory of the user's turns, and the replies."""

    persona: Persona
    memory: MemoryStream | None = None
    updates: list[ProfileUpdate] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


class PersonaAgent:
    name = "persona"

    def __init__(self, model: Model, *, persona: str | None = None, at: float | str | None = None,
                 persona_dir: str | None = None, view: View = "at", retrieve: int = 3,
                 system: str | None = None, sampling: dict[str, Any] | None = None) -> None:
        if view not in ("at", "latest"):
            raise ConfigError(f"persona: view must be 'at' or 'latest', got {view!r}")
        self.model = model
        self.library = PersonaLibrary([persona_dir] if persona_dir else [])
        self.persona = self.library.get(persona) if persona is not None else None  # a bad name fails at build
        if self.persona is not None:
            self.persona.point(at)  # so does a point the persona does not know
        self.at = at
        self.view = view
        self.retrieve = retrieve
        self.extra = system
        self.sampling = dict(sampling or {})
        self.last_chat: Chat | None = None
        """The latest run's `Chat` in this process (concurrent runs of one agent each make their own)."""

    async def run(self, task: str, ctx: Context) -> AgentResult:
        read = read_task(task)
        if isinstance(read, Session):
            return await self.answer(read, ctx)
        return await self.chat(read, ctx)

    # --- an HPD session ---------------------------------------------------------------------------

    async def answer(self, session: Session, ctx: Context) -> AgentResult:
        """The character's next line given H, S and P at the session's point (one model call)."""
        me = self._character(session.character)
        k = me.point(session.at)
        seen = LATEST if self.view == "latest" else k  # `latest`: the HPD failure mode, for ablation
        view = me.at(seen)
        present = [self._participant(name, me, seen) for name in session.participants
                   if name.casefold() not in (me.name.casefold(), me.id)]
        system = render(PROMPTS / "play.j2", me=view, position=session.position, scene=session.scene,
                        participants=present, extra=self.extra)
        user = render(PROMPTS / "session.j2", history=session.history, name=me.name)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        reply = await self._reply(ctx.child("reply"), messages, me.name)
        self.last_chat = Chat(me, replies=[reply])
        return AgentResult(reply, [*messages, {"role": "assistant", "content": reply}], 1)

    def _character(self, name: str) -> Persona:
        if self.persona is not None:
            if name.casefold() not in (self.persona.name.casefold(), self.persona.id):
                raise ConfigError(f"persona: this agent plays {self.persona.name!r} (option persona), but the session "
                                  f"asks for {name!r}")
            me = self.persona
        else:
            me = self.library.get(name)
        if not me.static:
            raise ConfigError(f"persona {me.id!r} is individualized: it is a user the agent serves, not a character "
                              "it can answer a session as")
        return me

    def _participant(self, name: str, me: Persona, seen: float) -> Participant:
        persona = self.library.find(name)
        if persona is None:
            return Participant(name, None, None)
        view = persona.at(seen)
        return Participant(persona.name, view, view.relation_to(me.name))

    # --- chat -------------------------------------------------------------------------------------

    async def chat(self, turns: list[str], ctx: Context) -> AgentResult:
        """Reply to each user turn in order; an individualized persona learns from each turn before the reply."""
        if self.persona is None:
            raise ConfigError("persona: a chat needs a persona to play or serve: --agent-opt persona=NAME "
                              f"(shipped: {', '.join(self.library.names())}, or a .yaml/.json file)")
        keeper = None if self.persona.static else ProfileKeeper(self.persona, self.model, sampling=self.sampling,
                                                                retrieve=self.retrieve)
        messages: list[dict[str, Any]] = [{"role": "system", "content": ""}]
        replies = []
        for i, text in enumerate(turns, start=1):
            turn = ctx.child("turn", i)
            if keeper is not None:
                await keeper.observe(turn.child("profile"), text, turn=i)
                messages[0] = {"role": "system", "content": render(PROMPTS / "assistant.j2",
                                                                   user=keeper.persona.at(i), extra=self.extra)}
            else:
                messages[0] = {"role": "system", "content": render(PROMPTS / "play.j2", me=self.persona.at(self.at),
                                                                   position=None, scene=None, participants=[],
                                                                   extra=self.extra)}
            messages.append({"role": "user", "content": text})
            reply = await self._reply(turn.child("reply"), messages, self.persona.name if keeper is None else None)
            messages.append({"role": "assistant", "content": reply})
            replies.append(reply)
        self.last_chat = Chat(keeper.persona if keeper else self.persona, keeper.memory if keeper else None,
                              list(keeper.updates) if keeper else [], replies)
        return AgentResult(replies[-1], messages, len(replies))

    async def _reply(self, ctx: Context, messages: list[dict[str, Any]], speaker: str | None) -> str:
        ctx.step()
        response = await ctx.model(self.model, ModelRequest(messages=list(messages), **self.sampling))
        return clean_reply(response.text or "", speaker)


def clean_reply(text: str, speaker: str | None) -> str:
    """The reply without a leading `Name:` (a model continuing the transcript writes one) or wrapping quotes."""
    text = text.strip()
    if speaker:
        text = re.sub(rf"^\**{re.escape(speaker)}\**\s*:\s*", "", text, flags=re.I)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text.count(text[0]) == 2:
        text = text[1:-1].strip()
    return text
