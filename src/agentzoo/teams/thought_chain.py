"""The game master's thought chain: one player's attempt becomes one event statement.

Concordia (Vezhnevets et al. 2023; google-deepmind/concordia v1, `environment/game_master.py`
`update_from_player` and `thought_chains/thought_chains.py`) runs a list of "thoughts" over the
attempt, each a question to the model whose answer the next one reads; its default list is
`attempt_to_result` ("what happens as a result?") then `result_to_who_what_where` (rewrite as one
sentence: who did what, where, with what result). Here the chain is data too: a list of steps, each
a small object with a name (its journal scope under the GM's turn: `…/gm#2/result`), a prompt
template and a token cap, so a recipe changes the chain by passing another list (`chain_of`).

Steps (`STEPS`, by name):
- `plausibility` (ours; PAPERS.md #58 asks the GM to check plausibility): the model judges the
  attempt. `PLAUSIBLE` lets it through; `AMEND: <attempt>` replaces it with what can really be tried
  (the rest of the chain works on the amended attempt); `REJECT: <reason>` ends the chain with an
  event saying the attempt could not happen, seen by the actor only. A reply that names no verdict
  counts as plausible (recorded as `unclear`): the result step can still make the attempt fail,
  as Concordia's own chain would.
- `result` (Concordia's `attempt_to_result`): what happens because of the attempt.
- `who_what_where` (Concordia's `result_to_who_what_where`): the event as one sentence naming who
  did what where, and a line `Present: <names>` saying which players witness it. The GM delivers
  the event to the actor and to those players. With no `Present:` line, the players the sentence
  names are the ones present; `everyone` names all the scene's participants.

A step whose reply is empty leaves the statement as it was, so the event is never empty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts" / "game_master"

RESULT_MAX_TOKENS = 1200
"""concordia v1 thought_chains.attempt_to_result: `open_question(..., max_tokens=1200)`."""
EVENT_MAX_TOKENS = 1500
"""concordia v1 thought_chains.result_to_who_what_where: `open_question(..., max_tokens=1500)`."""
PLAUSIBILITY_MAX_TOKENS = 200
"""Ours: a verdict and one sentence (Concordia has no plausibility step in its default chain)."""

VERDICTS = ("plausible", "amended", "rejected", "unclear")
_VERDICT = re.compile(r"^[\W_]*(plausible|implausible|amend(?:ed)?|reject(?:ed)?)\b[\W_]*(.*)$", re.I | re.S)
_PRESENT = re.compile(r"^[ \t*_]*present[ \t*_]*:(.*)$", re.I | re.M)
_EVERYONE = re.compile(r"\b(everyone|everybody|all)\b", re.I)


@dataclass
class ChainState:
    """What the chain knows about one attempt while it runs; each step reads it and moves it on."""

    actor: str
    attempt: str
    """What the player said it attempts (after a plausibility step: what it may really attempt)."""
    participants: tuple[str, ...]
    """The players in the scene: the names `Present:` may use."""
    context: str
    """The GM's view of the world for this turn, rendered once (world facts, time, relevant memories)."""
    statement: str = ""
    """The event statement so far; starts as the attempt."""
    result: str = ""
    """What the result step said happens."""
    verdict: str = "plausible"
    """One of `VERDICTS`."""
    present: tuple[str, ...] | None = None
    """Players who witness the event besides the actor; None until a step says."""
    notes: list[dict[str, str]] = field(default_factory=list)
    """Each step's reply, in order: the chain's record (`{"step", "reply"}`)."""
    done: bool = False
    """A step ended the chain (a rejection): later steps do not run."""

    def __post_init__(self) -> None:
        self.statement = self.statement or self.attempt


class ChainStep(Protocol):
    """One thought of the chain: a model call in scope `ctx` that moves `state` on."""

    name: str

    async def __call__(self, state: ChainState, model: Model, ctx: Context, sampling: dict[str, Any]) -> None: ...


async def ask(model: Model, ctx: Context, prompt: str, max_tokens: int, sampling: dict[str, Any]) -> str:
    """One model call on one user message; the caller's `sampling` (its `max_tokens` too) wins over the step's cap."""
    fields = {"max_tokens": max_tokens, **sampling}
    response = await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": prompt}], **fields))
    return (response.text or "").strip()


def _view(state: ChainState) -> dict[str, Any]:
    return {"context": state.context, "actor": state.actor, "attempt": state.attempt, "statement": state.statement,
            "result": state.result, "participants": list(state.participants), "notes": state.notes}


@dataclass(frozen=True)
class Plausibility:
    """Accept, amend or reject the attempt (see the module doc)."""

    name: str = "plausibility"
    template: Path = PROMPTS / "plausibility.j2"
    max_tokens: int = PLAUSIBILITY_MAX_TOKENS

    async def __call__(self, state: ChainState, model: Model, ctx: Context, sampling: dict[str, Any]) -> None:
        reply = await ask(model, ctx, render(self.template, **_view(state)), self.max_tokens, sampling)
        state.notes.append({"step": self.name, "reply": reply})
        verdict, text = read_verdict(reply)
        state.verdict = verdict
        if verdict == "amended":
            state.attempt = state.statement = text
        elif verdict == "rejected":
            state.statement = render(PROMPTS / "rejected_event.j2", actor=state.actor, attempt=state.attempt,
                                     reason=text)
            state.present = ()
            state.done = True


def read_verdict(reply: str) -> tuple[str, str]:
    """(verdict, text): `PLAUSIBLE`, `AMEND: new attempt`, `REJECT: reason` / `IMPLAUSIBLE: reason`;
    anything else is `unclear`, as is an amendment with no new attempt."""
    match = _VERDICT.match(reply or "")
    if match is None:
        return "unclear", ""
    word, text = match.group(1).lower(), " ".join(match.group(2).split())
    if word == "plausible":
        return "plausible", ""
    if word.startswith("amend"):
        return ("amended", text) if text else ("unclear", "")
    return "rejected", text


@dataclass(frozen=True)
class AttemptToResult:
    """What happens as a result of the attempt (Concordia's `attempt_to_result`)."""

    name: str = "result"
    template: Path = PROMPTS / "result.j2"
    max_tokens: int = RESULT_MAX_TOKENS

    async def __call__(self, state: ChainState, model: Model, ctx: Context, sampling: dict[str, Any]) -> None:
        reply = await ask(model, ctx, render(self.template, **_view(state)), self.max_tokens, sampling)
        state.notes.append({"step": self.name, "reply": reply})
        result = " ".join(reply.split())
        if result:
            state.result = result
            state.statement = render(PROMPTS / "outcome_statement.j2", statement=state.statement, result=result)


@dataclass(frozen=True)
class WhoWhatWhere:
    """The event as one sentence, and who witnesses it (Concordia's `result_to_who_what_where`)."""

    name: str = "who_what_where"
    template: Path = PROMPTS / "who_what_where.j2"
    max_tokens: int = EVENT_MAX_TOKENS

    async def __call__(self, state: ChainState, model: Model, ctx: Context, sampling: dict[str, Any]) -> None:
        reply = await ask(model, ctx, render(self.template, **_view(state)), self.max_tokens, sampling)
        state.notes.append({"step": self.name, "reply": reply})
        event, present = read_event(reply, state.participants)
        if event:
            state.statement = event
        if present is None:
            present = named_players(state.statement, state.participants)
        state.present = tuple(name for name in present if name != state.actor)


def read_event(reply: str, participants: Sequence[str]) -> tuple[str, tuple[str, ...] | None]:
    """The event sentence (the reply without its `Present:` line, whitespace collapsed) and the players the
    `Present:` line names (None when there is no such line)."""
    lines = _PRESENT.findall(reply or "")
    event = " ".join(_PRESENT.sub("", reply or "").split())
    if not lines:
        return event, None
    named = lines[-1]
    if _EVERYONE.search(named):
        return event, tuple(participants)
    return event, named_players(named, participants)


def named_players(text: str, participants: Sequence[str]) -> tuple[str, ...]:
    """The participants `text` names (whole words, any case), in the scene's order."""
    return tuple(name for name in participants
                 if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text or "", re.I))


STEPS: dict[str, ChainStep] = {"plausibility": Plausibility(), "result": AttemptToResult(),
                               "who_what_where": WhoWhatWhere()}
"""The steps a chain may name."""
CONCORDIA_V1_CHAIN = ("result", "who_what_where")
"""concordia v1 game_master.DEFAULT_THOUGHTS: attempt_to_result, result_to_who_what_where."""
DEFAULT_CHAIN = ("plausibility", *CONCORDIA_V1_CHAIN)
"""PAPERS.md #58: the GM checks plausibility, then Concordia's two thoughts."""


def chain_of(steps: Sequence[str | ChainStep]) -> list[ChainStep]:
    """A chain from step names (`STEPS`) or step objects; a `ConfigError` names an unknown step."""
    if isinstance(steps, str):
        raise ConfigError(f"a thought chain is a list of steps, not the string {steps!r}")
    chain: list[ChainStep] = []
    for step in steps:
        if isinstance(step, str):
            if step not in STEPS:
                raise ConfigError(f"unknown thought-chain step {step!r}; steps: {', '.join(STEPS)}")
            step = STEPS[step]
        elif not callable(step) or not isinstance(getattr(step, "name", None), str):
            raise ConfigError(f"a thought-chain step needs a name and to be callable, got {step!r}")
        chain.append(step)
    if not chain:
        raise ConfigError("a thought chain needs at least one step")
    return chain


async def run_chain(chain: Sequence[ChainStep], state: ChainState, model: Model, ctx: Context,
                    sampling: dict[str, Any] | None = None) -> ChainState:
    """Run the steps in order, each in its own child scope of `ctx`, until one ends the chain."""
    for step in chain:
        if state.done:
            break
        await step(state, model, ctx.child(step.name), dict(sampling or {}))
    return state
