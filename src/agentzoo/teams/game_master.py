"""Game master: one agent simulates the world; players say what they attempt, it says what happens.

Concordia (Vezhnevets et al. 2023, "Generative agent-based modeling with actions grounded in
physical, social, or digital space using Concordia"; google-deepmind/concordia v1,
`environment/game_master.py`). Players act in natural language ("Mara tries the cellar door"); the
game master (GM) turns each attempt into an event statement through its thought chain
(`agentzoo.teams.thought_chain`: plausibility → result → who/what/where, each step a model call in
its own scope), stores the event in its memory (`agentzoo.memory.MemoryStream`), and delivers it to
the actor and to the players the chain names as present, before the next player acts.

Scenes and turn order are data (`Scene`): who takes part, how many rounds, how much game time a
round stands for (the clock, `agentzoo.envs.clock.SimClock`, ticks once per round through the
journal, as Concordia's `players_act_simultaneously=True`), and the order of turns: `fixed` (the
participants' order) or `initiative` (shuffled every round with a journaled `ctx.seed()`, so a
replay shuffles identically; Concordia's `randomise_initiative`). A `concurrent` scene has every
player attempt first, on what it knew at the start of the round, and the GM then resolves the
attempts in turn order (Concordia's `concurrent_action`). A scene may open with a premise and
carry scripted narrations for given rounds; both are events the GM states, remembers and delivers.

A player is anything with a `name`, `async act(turn, ctx) -> str` and `async observe(event, ctx)`
(`Player`). Scopes, in program order: `scene#i/round#r/player#p` for player p's acting and
observing in that round, `scene#i/round#r/gm#t/<step>` for the chain of turn t, the initiative seed
and the clock tick in `scene#i/round#r`.

The GM is itself an agent: `run(task, ctx)` plays every scene in sequence (the task is the setting
the GM reads) and answers with the event log, one statement a line; `events` has them as records.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..envs.clock import DEFAULT_STEP_SECONDS, SimClock, parse_time
from ..errors import ConfigError
from ..memory import MemoryStream
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import AgentResult
from .parallel import gather
from .thought_chain import DEFAULT_CHAIN, ChainState, ChainStep, chain_of, run_chain

PROMPTS = Path(__file__).parent / "prompts" / "game_master"
ORDERS = ("fixed", "initiative")
EVENT_IMPORTANCE = 10.0
"""concordia v1 AssociativeMemory: with no importance model, `ConstantImportanceModel` gives every memory 1.0 on
its [0, 1] scale; a `MemoryStream` rates 1..10 and its concordia-v1 scorer reads (i − 1) / 9, so 10."""
MEMORIES_RETRIEVED = 5
"""GM memories shown to each step of the chain. Ours: Concordia's GM reads them through its components; 5 is
concordia v1 `SimPlan`'s `num_memories_to_retrieve`."""


# --- records ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """What a player is given when its turn comes: where and when it is, and what the GM asks."""

    player: str
    scene: str
    round: int
    time: float
    """Simulated POSIX seconds (what memory records are stamped with)."""
    time_text: str
    """The time as a prompt states it (`SimClock.describe`)."""
    step_seconds: float
    """Game seconds one round of this scene stands for."""
    call_to_action: str
    """The GM's question: what does this player attempt now?"""
    participants: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    """One event statement of the GM: the outcome of an attempt, a scene's premise, or a narration."""

    text: str
    scene: str
    round: int
    time: float
    actor: str | None = None
    """Whose attempt it resolves; None for the GM's own narration."""
    attempt: str = ""
    """What the actor said it attempts."""
    verdict: str = "narration"
    """The plausibility verdict (`thought_chain.VERDICTS`), or `narration`."""
    observers: tuple[str, ...] = ()
    """The players it was delivered to (the actor first)."""
    notes: tuple[dict[str, str], ...] = ()
    """Each chain step's reply."""

    def to_json(self) -> dict[str, Any]:
        return {"scene": self.scene, "round": self.round, "time": iso_time(self.time), "actor": self.actor,
                "attempt": self.attempt, "event": self.text, "verdict": self.verdict,
                "observers": list(self.observers), "chain": [dict(n) for n in self.notes]}


def iso_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None).isoformat(timespec="minutes")


@runtime_checkable
class Player(Protocol):
    """A participant of the simulation: says what it attempts, and observes what happens."""

    name: str

    async def act(self, turn: Turn, ctx: Context) -> str:
        """What the player attempts, in natural language."""
        ...

    async def observe(self, event: Event, ctx: Context) -> None:
        """Take in an event the GM delivers (the player's own attempt's outcome, or one it witnessed)."""
        ...


# --- scenes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Narration:
    """A statement the GM makes at the start of a round of a scene (a scripted happening)."""

    text: str
    round: int = 0
    to: tuple[str, ...] | None = None
    """The participants who observe it; None: all of the scene's."""


@dataclass(frozen=True)
class Scene:
    """A stretch of the simulation with its participants, length, clock step and turn order."""

    name: str
    participants: tuple[str, ...]
    rounds: int = 1
    step_seconds: float = DEFAULT_STEP_SECONDS
    """Game seconds one round stands for: the clock ticks once per round."""
    order: str = "fixed"
    """`fixed` (the participants' order) or `initiative` (shuffled each round by a journaled seed)."""
    concurrent: bool = False
    """All attempt first, then the GM resolves in turn order."""
    premise: str = ""
    """Stated to every participant when the scene opens (and remembered by the GM); empty: none."""
    start: str | None = None
    """ISO time the scene starts at (the clock jumps there); None: when the previous scene ended."""
    narrations: tuple[Narration, ...] = ()

    def __post_init__(self) -> None:
        where = f"scene {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"a scene needs a name, got {self.name!r}")
        if isinstance(self.participants, str) or not self.participants \
                or len(set(self.participants)) != len(self.participants):
            raise ConfigError(f"{where}: participants must be a non-empty list of distinct names, "
                              f"got {self.participants!r}")
        object.__setattr__(self, "participants", tuple(self.participants))
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise ConfigError(f"{where}: rounds must be a whole number ≥ 1, got {self.rounds!r}")
        if self.order not in ORDERS:
            raise ConfigError(f"{where}: order must be one of {', '.join(ORDERS)}, got {self.order!r}")
        if self.start is not None:
            parse_time(self.start, what=f"start of {where}")
        if isinstance(self.step_seconds, bool) or not isinstance(self.step_seconds, (int, float)) \
                or not self.step_seconds > 0:
            raise ConfigError(f"{where}: a round must stand for more than 0 game seconds, got {self.step_seconds!r}")
        object.__setattr__(self, "narrations", tuple(self.narrations))
        for narration in self.narrations:
            if not 0 <= narration.round < self.rounds:
                raise ConfigError(f"{where}: a narration at round {narration.round} is outside its "
                                  f"{self.rounds} round(s) (counted from 0)")
            unknown = [n for n in narration.to or () if n not in self.participants]
            if unknown:
                raise ConfigError(f"{where}: a narration is addressed to {unknown}, who are not participants")


# --- the game master -------------------------------------------------------------------------------------


@dataclass
class GameMasterResult(AgentResult):
    events: list[Event] = field(default_factory=list)
    clock: SimClock | None = None
    """The clock when the last scene ended."""
    simulated_seconds: float = 0.0
    """Game time the rounds stood for (jumps between scenes not counted)."""

    @property
    def simulated_hours(self) -> float:
        return self.simulated_seconds / 3600.0


def default_memory() -> MemoryStream:
    """The GM's memory: Concordia v1's associative retrieval (cosine + 0.99^minutes + importance), events only,
    importance given (no model), no reflection."""
    return MemoryStream(reflection_threshold=None, scorer="concordia-v1")


class GameMaster:
    """Runs scenes: asks players what they attempt, turns each attempt into one event, delivers it."""

    def __init__(self, model: Model, players: Sequence[Player], scenes: Sequence[Scene], *,
                 chain: Sequence[str | ChainStep] = DEFAULT_CHAIN, world: Sequence[str] = (),
                 clock: SimClock | None = None, memory: Callable[[], MemoryStream] = default_memory,
                 memories_retrieved: int = MEMORIES_RETRIEVED, sampling: dict[str, Any] | None = None,
                 player_observes_event: bool = True, name: str = "game_master") -> None:
        self.model, self.name = model, name
        self.players = check_players(players)
        self._index = {p.name: i for i, p in enumerate(self.players)}
        self.scenes = list(scenes)
        if not self.scenes:
            raise ConfigError("a game master needs at least one scene")
        for scene in self.scenes:
            unknown = [n for n in scene.participants if n not in self._index]
            if unknown:
                raise ConfigError(f"scene {scene.name!r}: participants {unknown} are not players "
                                  f"({', '.join(self._index)})")
        self.chain = chain_of(chain)
        self.world = [str(fact) for fact in world]
        self.start_clock = clock or SimClock.starting()
        self.new_memory = memory
        if isinstance(memories_retrieved, bool) or not isinstance(memories_retrieved, int) or memories_retrieved < 0:
            raise ConfigError(f"memories_retrieved must be a whole number ≥ 0, got {memories_retrieved!r}")
        self.memories_retrieved = memories_retrieved
        self.sampling = dict(sampling or {})
        self.player_observes_event = player_observes_event
        """Concordia's `player_observes_event`: the actor is sent its own attempt's outcome."""
        self._reset("")

    def _reset(self, setting: str) -> None:
        self.setting = setting
        self.memory = self.new_memory()
        self.events: list[Event] = []
        self.clock = self.start_clock
        self.simulated_seconds = 0.0
        self.turns = 0

    def player(self, name: str) -> Player:
        return self.players[self._index[name]]

    async def run(self, task: str, ctx: Context) -> GameMasterResult:
        """Every scene in order; the task is the setting the GM reads on every turn."""
        self._reset(task)
        for i, scene in enumerate(self.scenes):
            await self.run_scene(scene, ctx.child("scene", i))
        messages = [{"role": "user", "content": task}] + [
            {"role": "assistant", "name": self.name, "content": e.text} for e in self.events]
        return GameMasterResult("\n".join(e.text for e in self.events), messages, self.turns, list(self.events),
                                self.clock, self.simulated_seconds)

    async def run_scene(self, scene: Scene, ctx: Context) -> None:
        if scene.start is not None:
            self.clock = await self.clock.jump_to(ctx, scene.start)
        self.clock = SimClock(self.clock.now, float(scene.step_seconds))  # this scene's step, from now
        if scene.premise:
            opening = ctx.child("premise")
            await self.narrate(scene, 0, Narration(scene.premise), opening,
                               {n: opening.child("player", self._index[n]) for n in scene.participants})
        for r in range(scene.rounds):
            await self.run_round(scene, r, ctx.child("round", r))

    async def run_round(self, scene: Scene, r: int, ctx: Context) -> None:
        contexts = {name: ctx.child("player", self._index[name]) for name in scene.participants}
        for k, narration in enumerate(n for n in scene.narrations if n.round == r):
            await self.narrate(scene, r, narration, ctx.child("narration", k), contexts)
        order = list(scene.participants)
        if scene.order == "initiative":
            random.Random(await ctx.seed()).shuffle(order)
        if scene.concurrent:
            attempts = await gather([self.player(name).act(self.turn(scene, r, name), contexts[name])
                                     for name in order])
            for t, (name, attempt) in enumerate(zip(order, attempts)):
                await self.resolve(name, attempt, scene, r, ctx.child("gm", t), contexts)
        else:
            for t, name in enumerate(order):
                attempt = await self.player(name).act(self.turn(scene, r, name), contexts[name])
                await self.resolve(name, attempt, scene, r, ctx.child("gm", t), contexts)
        self.clock = await self.clock.tick(ctx)
        self.simulated_seconds += self.clock.step_seconds

    def turn(self, scene: Scene, r: int, name: str) -> Turn:
        return Turn(name, scene.name, r, self.clock.seconds, self.clock.describe(), float(scene.step_seconds),
                    render(PROMPTS / "call_to_action.j2", name=name), scene.participants)

    async def resolve(self, actor: str, attempt: str, scene: Scene, r: int, ctx: Context,
                      contexts: dict[str, Context]) -> Event:
        """One attempt → the thought chain → one event, remembered, then delivered (in `contexts`, by player)."""
        ctx.step()
        self.turns += 1
        said = " ".join(str(attempt or "").split()) or render(PROMPTS / "idle_attempt.j2", name=actor)
        context = render(PROMPTS / "context.j2", setting=self.setting, world=self.world, scene=scene.name,
                         time=self.clock.describe(), participants=list(scene.participants),
                         memories=await self.recall(ctx, said))
        state = await run_chain(self.chain, ChainState(actor, said, scene.participants, context), self.model, ctx,
                                self.sampling)
        witnesses = tuple(n for n in state.present or () if n in scene.participants and n != actor)
        event = Event(state.statement, scene.name, r, self.clock.seconds, actor, said, state.verdict,
                      (actor, *witnesses), tuple(state.notes))
        await self.remember(event, ctx)
        recipients = event.observers if self.player_observes_event else witnesses
        for name in recipients:
            await self.player(name).observe(event, contexts[name])
        return event

    async def narrate(self, scene: Scene, r: int, narration: Narration, ctx: Context,
                      contexts: dict[str, Context]) -> Event:
        to = narration.to if narration.to is not None else scene.participants
        event = Event(narration.text, scene.name, r, self.clock.seconds, observers=tuple(to))
        await self.remember(event, ctx)
        for name in to:
            await self.player(name).observe(event, contexts[name])
        return event

    async def remember(self, event: Event, ctx: Context) -> None:
        await self.memory.add(ctx, "observation", event.text, time=event.time, importance=EVENT_IMPORTANCE)
        self.events.append(event)

    async def recall(self, ctx: Context, query: str) -> list[str]:
        """The GM memories most relevant to `query`, oldest first, each with its time."""
        if not self.memories_retrieved or not len(self.memory):
            return []
        found = await self.memory.retrieve(ctx, query, now=self.clock.seconds, k=self.memories_retrieved, touch=False)
        records = sorted((r.record for r in found), key=lambda record: (record.created, record.id))
        return [f"[{iso_time(record.created).replace('T', ' ')}] {record.text}" for record in records]


def check_players(players: Sequence[Any]) -> list[Any]:
    """The players as a list; a `ConfigError` for one that is not a `Player` or a repeated name."""
    found = list(players)
    if not found:
        raise ConfigError("a game master needs at least one player")
    seen: set[str] = set()
    for player in found:
        name = getattr(player, "name", None)
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a player needs a non-empty name, got {player!r}")
        if not callable(getattr(player, "act", None)) or not callable(getattr(player, "observe", None)):
            raise ConfigError(f"player {name!r} needs async act(turn, ctx) and observe(event, ctx)")
        if name in seen:
            raise ConfigError(f"two players are called {name!r}")
        seen.add(name)
    return found
