"""Generative Agents (`generative-agents`, #32): residents of a small town who observe, remember, reflect,
plan their day and talk to each other, one simulated day at a time.

Park et al., "Generative Agents: Interactive Simulacra of Human Behavior" (UIST 2023, arXiv:2304.03442);
facts checked against joonspk-research/generative_agents (reverie/backend_server/persona: perceive.py,
plan.py, converse.py, reflect.py, retrieve.py, memory_structures/scratch.py, prompt_template/run_gpt_prompt.py).

It acts in the `town` environment: the task is a scenario's name (`valentine-party`, `tiny-party`) or a
JSON scenario, which the recipe loads itself, so `agentzoo run --agent generative-agents --task
valentine-party`, replay, resume and fork need no harness. Per resident and step (`simulation`):
observe where it stands (`mind`: new events become memories, importance rated by the model) → retrieve
(`MemoryStream.retrieve`: recency, importance, relevance) → plan (`planning`: day plan at wake-up, the
hour, its 5–15-minute actions, each made when reached) → react (`dialogue`: on seeing another resident,
talk or carry on; a conversation is turn by turn, each line conditioned on memories about the other, and
both re-plan the rest of the hour) → reflect (the memory stream, at summed importance 150). Movement
follows each action's location in the town's world state. At the end, the residents are interviewed
(`interview`) and the answer is a JSON closing record: who was told (dialogue log), who knew (interview
and told), the diffusion share, who attended, `simulated_hours`. The prompts are ours, in `prompts/`.

Fork interventions: `withhold={"resident": NAME, "from_step": K}` — that resident never hears of the event
from step K on (its seed memories about it are withheld when K is 0; lines that mention it do not reach it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...memory import scoring
from ...memory.stream import REFLECTION_THRESHOLD
from ...protocols import Model
from ..cot import request_fields
from .settings import Settings, Withhold
from .simulation import GenerativeAgents

__all__ = ["ACTS_IN", "ANSWER_KINDS", "DEFAULT_PRESET", "DEVIATIONS", "GenerativeAgents", "OPTION_SOURCES",
           "PRESETS", "build"]

ANSWER_KINDS = ("simulation",)
ACTS_IN = ("town",)

STEPS_PER_HOUR = 6                 # ours: 10 game minutes a step, the middle of the paper's 5-15-minute actions
RECENCY_DECAY = scoring.RECENCY_DECAY_PER_HOUR  # paper §4.1: 0.995 per game hour since last retrieval
TOP_K = scoring.DEFAULT_TOP_K      # code: new_retrieve n_count=30
DIALOGUE_MEMORIES = 15             # code: agent_chat_v2 retrieves 15 memories for each line
ATTENTION_BANDWIDTH = 3            # code: scratch.att_bandwidth = 3
RETENTION = 5                      # code: scratch.retention = 5
DAY_PLAN_ITEMS = (5, 8)            # paper §4.3: the day "in broad strokes", 5 to 8 chunks
ACTION_MINUTES = (5, 15)           # paper §4.3: actions of 5-15 minutes
MAX_DIALOGUE_ROUNDS = 8            # code: agent_chat_v2 `for i in range(8)`, a line from each resident per round
CHAT_COOLDOWN_MINUTES = 133        # code: chatting_with_buffer = 800 steps of 10 game seconds before talking again
PLAN_IMPORTANCE = 5                # code: _long_term_planning stores the day plan as a thought of poignancy 5
IMPORTANCE_FALLBACK = 4            # code: run_gpt_prompt_event_poignancy's fail-safe 4
REPLY_ATTEMPTS = 3                 # code: ChatGPT_safe_generate_response(..., 3, fail_safe, ...)
EMBEDDER = "hashing"               # ours: offline and deterministic; the paper used OpenAI embeddings

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"steps_per_hour": STEPS_PER_HOUR, "top_k": TOP_K, "max_dialogue_rounds": MAX_DIALOGUE_ROUNDS},
    # ours: three residents for 3 game hours in hour-long steps, a day plan of 3-5 chunks and actions of 10-30
    # minutes (fewer tokens to write), 5 memories per prompt, one-round talks and no retry: what the shipped 135M
    # model gets through on two loaded cores (experiments/generative-agents-local.yaml)
    "small": {"residents": 3, "hours": 3.0, "steps_per_hour": 1, "top_k": 5, "dialogue_memories": 3,
              "max_dialogue_rounds": 1, "reply_attempts": 1, "day_plan_items": (3, 5), "action_minutes": (10, 30)},
}
DEFAULT_PRESET = "paper"
OPTION_SOURCES: dict[str, str] = {
    "residents": "ours: the first N residents of the scenario (the host always among them), to scale down; "
                 "None: all (the paper's Smallville has 25)",
    "hours": "ours: simulate at most this many game hours from the scenario's start; None: its whole day "
             "(the paper's diffusion run lasts two game days)",
    "steps_per_hour": "ours: 6 steps of 10 game minutes, the middle of the paper's 5-15-minute actions (§4.3); "
                      "the released code steps 10 game seconds",
    "reflection_threshold": "paper §4.2 and code: reflect when the summed importance of new events reaches 150 "
                            "(importance_trigger_max)",
    "recency_decay": "paper §4.1: exponential decay 0.995 per game hour since the memory was last retrieved",
    "top_k": "code: new_retrieve(..., n_count=30)",
    "dialogue_memories": "code: agent_chat_v2 retrieves 15 memories for each line of a conversation",
    "attention_bandwidth": "code: scratch.att_bandwidth = 3 events perceived per step",
    "retention": "code: scratch.retention = 5; an event among the last 5 perceived is not perceived again",
    "day_plan_items": "paper §4.3: the day plan in broad strokes, 5 to 8 chunks",
    "action_minutes": "paper §4.3: hour-long chunks are decomposed into 5-15-minute actions",
    "max_dialogue_rounds": "code: agent_chat_v2 runs at most 8 rounds, one line from each resident per round",
    "chat_cooldown_minutes": "code: chatting_with_buffer = 800 steps (of 10 game seconds) before the same two talk "
                             "again",
    "plan_importance": "code: _long_term_planning stores the day plan as a thought with poignancy 5",
    "importance_fallback": "code: the poignancy prompts' fail-safe value 4",
    "reply_attempts": "code: ChatGPT_safe_generate_response retries a prompt 3 times, then uses a fail-safe",
    "embedder": "ours: the hashing embedder (offline, deterministic); the paper used OpenAI's embeddings; any "
                "embedder string (local, openai:...) works",
    "withhold": "ours: the fork intervention 'this resident never heard of the event' from a step on",
    "temperature": "ours: the provider's default (greedy for the local model); the code sets 0 to 1 per prompt",
}
DEVIATIONS: list[str] = [
    "a text town instead of a tile map: residents are in a place's area and perceive that area (the code perceives "
    "tiles within a vision radius); they move to an action's location at once, with no path finding",
    "one simulated day per scenario, from its start time (residents are awake from then; no wake-up-hour prompt); "
    "the paper's diffusion run covers two game days with 25 agents",
    "every question is one JSON object of a strict schema (`response_format`) checked on receipt, retried with the "
    "problem up to reply_attempts times, then a fail-safe: the scenario's routine for plans, 'no' for talking, the "
    "end of the conversation for a line, importance 4 (the code, too, falls back to fixed fail-safes); the closing "
    "record counts each fallback",
    "an action's place is chosen in the decomposition from the places the resident knows (the code asks for "
    "sector, arena and object in three more prompts); objects are used by name and show as in use, with no "
    "object-state prompt",
    "hour-long chunks are asked one hour at a time when the hour is reached, with the memories retrieved for that "
    "hour, so that news heard today can change this afternoon's plan (the code writes the whole day's hourly "
    "schedule at wake-up without retrieval, and its agents act on news in later days' plans)",
    "seed memories are stored as reflections without evidence (the code's thoughts), not counted by the reflection "
    "trigger",
    "each line of a conversation retrieves with one query (the other's name and doing, and the last lines) instead "
    "of several focal points, and there is no relationship-summary prompt per line",
    "a conversation is remembered as one dialogue record per participant, and its place in the plan is 'having a "
    "conversation with X' (the code asks the model to summarise it)",
    "no 'wait' reaction: on seeing another resident the choice is to talk or carry on; the resident considers the "
    "first newly seen resident it may talk to, in scenario order (the code picks one of the perceived at random)",
    "residents observe, plan and decide concurrently on the world as the last step left it, then conversations run "
    "in resident order and everyone moves (the code loops over personas one by one)",
    "the interview asks one open question about upcoming events and counts a yes only when it names the event and "
    "the dialogue log shows the resident was told (the paper interviews agents and checks their memory)",
    "retrieval follows the paper (recency per game hour, weights 1), as agentzoo.memory does, not the code's "
    "rank-based recency and weights [0.5, 3, 2]",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, residents: int | None = None, hours: float | None = None,
          steps_per_hour: int = STEPS_PER_HOUR, reflection_threshold: int = REFLECTION_THRESHOLD,
          recency_decay: float = RECENCY_DECAY, top_k: int = TOP_K, dialogue_memories: int = DIALOGUE_MEMORIES,
          attention_bandwidth: int = ATTENTION_BANDWIDTH, retention: int = RETENTION,
          day_plan_items: tuple[int, int] = DAY_PLAN_ITEMS, action_minutes: tuple[int, int] = ACTION_MINUTES,
          max_dialogue_rounds: int = MAX_DIALOGUE_ROUNDS, chat_cooldown_minutes: int = CHAT_COOLDOWN_MINUTES,
          plan_importance: int = PLAN_IMPORTANCE, importance_fallback: int = IMPORTANCE_FALLBACK,
          reply_attempts: int = REPLY_ATTEMPTS, embedder: str = EMBEDDER,
          withhold: dict[str, Any] | None = None, temperature: float | None = None) -> GenerativeAgents:
    """A Generative Agents simulation; `tools` are not used (residents act through their plans). `system`, if
    given, is sent as the system message of every request."""
    settings = Settings(residents=residents, hours=hours, steps_per_hour=steps_per_hour,
                        reflection_threshold=reflection_threshold, recency_decay=recency_decay, top_k=top_k,
                        dialogue_memories=dialogue_memories, attention_bandwidth=attention_bandwidth,
                        retention=retention, day_plan_items=tuple(day_plan_items),
                        action_minutes=tuple(action_minutes), max_dialogue_rounds=max_dialogue_rounds,
                        chat_cooldown_minutes=chat_cooldown_minutes, plan_importance=plan_importance,
                        importance_fallback=importance_fallback, reply_attempts=reply_attempts, embedder=embedder,
                        withhold=Withhold.of(withhold))
    return GenerativeAgents(model, settings, request_fields(sampling, temperature=temperature), system)
