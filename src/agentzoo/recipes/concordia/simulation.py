"""The `concordia` agent: load the task's scenario, make its players, run its scenes under a game master, and
answer with the closing record (JSON this code writes).

Scopes, in program order: `setup/player#i` (the player's starting memories), then the game master's
(`scene#s/premise`, `scene#s/round#r/player#i/<component>|act`, `scene#s/round#r/gm#t/<chain step>`, the
initiative seed and the clock in `scene#s/round#r`). Everything is made fresh on each `run`, so a replay,
a resumed run and a fork rebuild the same world from the task's text and the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import _json
from ...envs.clock import SimClock
from ...envs.concordia_scenario import Scenario, goal_event, load_scenario
from ...errors import ConfigError
from ...memory import MemoryStream
from ...protocols import Model
from ...runtime.context import Context
from ...teams.game_master import GameMaster, GameMasterResult, Narration, Scene, iso_time
from ...types import AgentResult
from .agent import ComponentAgent
from .components import make_components

MEMORY_SCORER = "concordia-v1"
"""concordia v1 AssociativeMemory `_get_top_k_similar_rows`: cosine + 0.99^minutes + importance (`MemoryStream`)."""
_INTERVENTION_FIELDS = {"scene", "round", "to", "text"}


class ConcordiaSimulation:
    name = "concordia"

    def __init__(self, model: Model, *, chain: Sequence[str], components: Sequence[str], importance: float,
                 memories_retrieved: int, plan_horizon: str, embedder: str, interventions: Sequence[dict[str, Any]],
                 player_observes_event: bool, sampling: dict[str, Any], max_rounds: int | None = None) -> None:
        self.model, self.chain, self.components = model, tuple(chain), tuple(components)
        make_components(self.components)  # names checked now, not at the first turn
        self.importance, self.memories_retrieved, self.plan_horizon = importance, memories_retrieved, plan_horizon
        self.embedder, self.interventions = embedder, [dict(i) for i in interventions]
        self.player_observes_event, self.sampling = player_observes_event, dict(sampling)
        self.max_rounds = max_rounds
        self.gm: GameMaster | None = None
        """The game master of the latest run (its events, memory and clock), for reading after a run."""

    def memory(self) -> MemoryStream:
        return MemoryStream(embedder=self.embedder, reflection_threshold=None, scorer=MEMORY_SCORER)

    async def run(self, task: str, ctx: Context) -> AgentResult:
        scenario = load_scenario(task)
        scenes = scenes_of(scenario, self.interventions, self.max_rounds)
        clock = SimClock.starting(scenario.start, scenes[0].step_seconds)
        players = [ComponentAgent(p.name, self.model, self.memory(),
                                  make_components(self.components, horizon=self.plan_horizon, k=self.memories_retrieved),
                                  identity=p.identity, goal=p.goal, importance=self.importance, sampling=self.sampling)
                   for p in scenario.players]
        setup = ctx.child("setup")
        for i, (spec, player) in enumerate(zip(scenario.players, players)):
            if spec.memories:
                await player.memory.add_many(setup.child("player", i), [("observation", m) for m in spec.memories],
                                             time=clock.seconds, importances=[self.importance] * len(spec.memories))
        gm = GameMaster(self.model, players, scenes, chain=self.chain, world=scenario.world, clock=clock,
                        memory=self.memory, memories_retrieved=self.memories_retrieved, sampling=self.sampling,
                        player_observes_event=self.player_observes_event)
        self.gm = gm
        result = await gm.run(scenario.setting, ctx)
        record = closing_record(scenario, result, clock)
        return AgentResult(_json.dumps_str(record), result.messages, result.steps)


def closing_record(scenario: Scenario, result: GameMasterResult, start: SimClock) -> dict[str, Any]:
    """What a run hands in: simulated time, the event log, and whether the goal's event is in it."""
    events = [{k: v for k, v in e.to_json().items() if k != "chain"} for e in result.events]
    found = goal_event(scenario.goal, events)
    end = result.clock or start
    return {"scenario": scenario.name, "simulated_hours": round(result.simulated_hours, 6),
            "start": iso_time(start.seconds), "end": iso_time(end.seconds),
            "players": [p.name for p in scenario.players],
            "goal": {"description": scenario.goal.description, "met": found is not None,
                     "event": None if found is None else events[found]["event"]},
            "events": events}


def scenes_of(scenario: Scenario, interventions: Sequence[dict[str, Any]] = (),
              max_rounds: int | None = None) -> list[Scene]:
    """The scenario's scenes as the game master runs them: at most `max_rounds` rounds each (the narrations of
    later rounds dropped with them), the interventions added as narrations."""
    def rounds(spec: Any) -> int:
        return spec.rounds if max_rounds is None else min(spec.rounds, max_rounds)

    extra: dict[int, list[Narration]] = {}
    for i, item in enumerate(interventions):
        index, narration = _intervention(item, i, scenario, rounds)
        extra.setdefault(index, []).append(narration)
    scenes = []
    for index, s in enumerate(scenario.scenes):
        narrations = tuple(Narration(n.text, n.round, n.to) for n in s.narrations if n.round < rounds(s))
        scenes.append(Scene(s.name, s.participants, rounds(s), s.step_minutes * 60.0, s.order, s.concurrent,
                            s.premise, s.start, narrations + tuple(extra.get(index, ()))))
    return scenes


def _intervention(item: Any, i: int, scenario: Scenario, rounds: Any) -> tuple[int, Narration]:
    where = f"concordia option interventions[{i}]"
    if not isinstance(item, dict) or not {"text"} <= set(item) <= _INTERVENTION_FIELDS:
        raise ConfigError(f"{where} must be an object with text and optionally scene, round, to; got {item!r}")
    names = [s.name for s in scenario.scenes]
    scene = item.get("scene", 0)
    index = names.index(scene) if scene in names else scene
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(names):
        raise ConfigError(f"{where}: scene {scene!r} is not a scene of {scenario.name!r} (0 to {len(names) - 1} or "
                          f"one of {names})")
    spec = scenario.scenes[index]
    r = item.get("round", 0)
    if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < rounds(spec):
        raise ConfigError(f"{where}: round {r!r} is not a round of scene {spec.name!r} (0 to {rounds(spec) - 1})")
    to = item.get("to")
    if to is not None and (not isinstance(to, list) or any(n not in spec.participants for n in to)):
        raise ConfigError(f"{where}: to must list participants of scene {spec.name!r} "
                          f"({', '.join(spec.participants)}), got {to!r}")
    text = item["text"]
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: text must be non-empty")
    return index, Narration(text.strip(), r, None if to is None else tuple(to))

