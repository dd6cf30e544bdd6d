"""Concordia (`concordia`): entity–component players under a game master that turns their attempts into events.

Vezhnevets et al. 2023, "Generative agent-based modeling with actions grounded in physical, social, or digital
space using Concordia" (arXiv:2312.03664); checked against google-deepmind/concordia v1 (3b1eed8de4):
`environment/game_master.py`, `thought_chains/thought_chains.py`, `associative_memory/associative_memory.py`
and `components/agent/` (PAPERS.md #58).

The task's text is a scenario (`agentzoo.envs.concordia_scenario`): the name of a shipped one (`locked-door`,
`market-haggle`, `lighthouse-night`) or a JSON object of the same shape. Each player is an entity
(`agent.ComponentAgent`) with an associative memory (`MemoryStream`, Concordia v1 scoring: cosine +
0.99^minutes + importance) seeded with the scenario's memories, and components (`components`: identity,
plan, memory summary, observation) whose blocks make its act prompt. The game master
(`agentzoo.teams.game_master`) runs the scenes: each player says what it attempts; the thought chain
(plausibility → result → who/what/where) makes it one event, stored in the GM's memory and delivered to
the actor and the players present; the clock ticks each round.

The answer is the closing record, JSON this code writes: `simulated_hours`, the event log, and whether the
scenario's goal event is in it; `concordia-scenes` scores it (`ACTS_IN`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError
from ...protocols import Model
from ...teams.game_master import EVENT_IMPORTANCE, MEMORIES_RETRIEVED
from ...teams.thought_chain import CONCORDIA_V1_CHAIN, DEFAULT_CHAIN
from ..cot import request_fields
from .components import DEFAULT_COMPONENTS, PLAN_HORIZON
from .simulation import ConcordiaSimulation, closing_record, scenes_of

__all__ = ["ACTS_IN", "ANSWER_KINDS", "ConcordiaSimulation", "build", "closing_record", "scenes_of"]

ANSWER_KINDS = ("simulation",)
"""It runs the simulation and hands in its closing record."""
ACTS_IN = ("concordia-scenes",)
TEMPERATURE = 0.5                  # concordia v1 language_model.DEFAULT_TEMPERATURE = 0.5
EMBEDDER = "hashing"               # ours: no download; Concordia's examples bring a sentence embedder

PRESETS: dict[str, dict[str, Any]] = {
    "checked": {"chain": DEFAULT_CHAIN},     # PAPERS.md #58: the GM checks plausibility first
    "v1": {"chain": CONCORDIA_V1_CHAIN},     # concordia v1 game_master.DEFAULT_THOUGHTS
}
DEFAULT_PRESET = "checked"
OPTION_SOURCES: dict[str, str] = {
    "chain": "concordia v1 game_master.DEFAULT_THOUGHTS = [attempt_to_result, result_to_who_what_where]; PAPERS.md "
             "#58 has the GM check plausibility, a step of ours in front (preset v1 drops it)",
    "components": "concordia v1 components/agent: identity (SimIdentity), plan (SimPlan), summary "
                  "(ObservationSummary), observation (Observation)",
    "temperature": "concordia v1 language_model.DEFAULT_TEMPERATURE = 0.5",
    "max_tokens": "None: each call's own cap — concordia v1 attempt_to_result 1200, result_to_who_what_where 1500, "
                  "SimPlan 1200, ObservationSummary 1200; ours for the plausibility verdict (200), a yes/no (16) "
                  "and an attempt (200)",
    "memories_retrieved": "concordia v1 SimPlan num_memories_to_retrieve=5 (also the GM's recalled memories: ours)",
    "plan_horizon": "concordia v1 SimPlan horizon='the rest of the day'; a scene is our day's stretch",
    "importance": "concordia v1 AssociativeMemory: ConstantImportanceModel gives 1.0 on [0, 1] = 10 on the "
                  "memory's 1..10 scale",
    "embedder": "ours: the hashing embedder (no download); Concordia's examples use a sentence embedder",
    "interventions": "ours: narrations the GM states at a round of a scene, for what-if forks",
    "player_observes_event": "concordia v1 GameMaster(player_observes_event=True)",
    "max_rounds": "None: every round the scenario gives each scene; a number caps them (concordia v1 "
                  "run_episode(max_steps=20) caps an episode's steps), for small runs",
}
DEVIATIONS: list[str] = [
    "the GM checks plausibility first (PAPERS.md #58): a step that can accept, amend or reject an attempt; a "
    "rejected attempt becomes an event only the actor observes. Concordia v1's default chain has no such step "
    "(preset v1)",
    "who witnesses an event is said by the who/what/where step's `Present:` line; Concordia v1 sends the event to "
    "the actor and leaves the others to externality components (e.g. direct_effect)",
    "the GM's context is the scenario's world facts, the time and its most relevant memories; Concordia v1 builds "
    "it from GM components (player status, relevant events, time display …), with an update before each event",
    "the identity component shows the scenario's description of the player; v1 SimIdentity asks the model for "
    "three characteristics from memory",
    "the memory summary sums up the memories most relevant to what was just observed and the goal; v1 "
    "ObservationSummary sums up the observations of a time window",
    "components update one after another (v1 uses threads), and the plan's yes/no question is answered as text "
    "(anything but a yes keeps the plan), where Concordia scores the two choices",
    "chat models: each question is one user message holding the whole context, not a document continued by a "
    "completion model",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, chain: tuple[str, ...] = DEFAULT_CHAIN,
          components: tuple[str, ...] = DEFAULT_COMPONENTS, temperature: float | None = TEMPERATURE,
          max_tokens: int | None = None, memories_retrieved: int = MEMORIES_RETRIEVED,
          plan_horizon: str = PLAN_HORIZON, importance: float = EVENT_IMPORTANCE, embedder: str = EMBEDDER,
          interventions: tuple[dict[str, Any], ...] = (), player_observes_event: bool = True,
          max_rounds: int | None = None) -> ConcordiaSimulation:
    """A Concordia simulation of the scenario its task names. `tools` and `system` do not apply (the players act
    by their replies; each prompt is made by a component or a chain step)."""
    if tools:
        raise ConfigError("concordia takes no tools: players act by saying what they attempt")
    if system is not None:
        raise ConfigError("concordia takes no system prompt: each prompt is a component's or a chain step's")
    if max_tokens is not None and max_tokens < 1:
        raise ConfigError(f"concordia: max_tokens must be at least 1 (or None), got {max_tokens}")
    if max_rounds is not None and max_rounds < 1:
        raise ConfigError(f"concordia: max_rounds must be at least 1 (or None), got {max_rounds}")
    if memories_retrieved < 0:
        raise ConfigError(f"concordia: memories_retrieved must be ≥ 0, got {memories_retrieved}")
    from ...teams.thought_chain import chain_of

    chain_of(chain)  # an unknown step is refused now
    fields = request_fields(sampling, temperature=temperature)
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    return ConcordiaSimulation(model, chain=chain, components=components, importance=importance,
                               memories_retrieved=memories_retrieved, plan_horizon=plan_horizon, embedder=embedder,
                               interventions=interventions, player_observes_event=player_observes_event,
                               sampling=fields, max_rounds=max_rounds)
