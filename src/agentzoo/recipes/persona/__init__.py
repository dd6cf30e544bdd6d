"""Persona agent (`persona`): answers as a character at a point of its story, or chats as or for a persona.

Chen et al. 2022, "What would Harry say? Building Dialogue Agents for Characters in a Story" (HPD,
arXiv:2211.06869; PAPERS.md #1): a dialogue agent for a story character is given the dialogue history H, the
scene S and the participants' information P (13 attribute types and the relations between them), all of which
change as the storyline goes on, and writes the character's response. Chen et al. 2024, "From Persona to
Personalization" (the RPLA survey, PAPERS.md #2): personas are demographic, character or individualized.

The personas are data (`agentzoo.agents.personas`: YAML/JSON files, every attribute and relation a timeline);
this recipe is the responder:
- an HPD session (a JSON task, `session.py`) is answered in one model call: the system prompt (`prompts/play.j2`)
  holds the character's attributes and relations *valid at the session's point* (`persona.at(k)`, never values
  from later chapters), the scene, and each participant's attributes and relation towards the character at
  that point; the user message (`prompts/session.j2`) holds the history. `view=latest` sends the latest values
  instead, the failure HPD warns of, for ablation;
- any other task is a chat: `agentzoo run --agent persona --agent-opt persona=wren-halloway --task "Who are
  you?"`. A character or demographic persona is played as it is at `at` (default: the latest point) and never
  changes; an individualized persona is the user, served by an assistant (`prompts/assistant.j2`) whose profile
  of them learns from each user turn: the turn is stored in a `MemoryStream` and reflected into the profile by a
  journaled model call (`agentzoo.agents.personas.profile`).
Every call goes through the context (replay makes none; resume repeats none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...agents.personas.profile import RETRIEVE_K
from ...protocols import Model
from ..cot import text_only
from .agent import PersonaAgent, View, clean_reply
from .session import Session, read_task

ANSWER_KINDS = ("text",)  # the character's line (or the chat reply) is the answer
ACTS_IN = ("persona-sessions",)
"""In an eval it answers HPD sessions (a task of another environment is a chat, which needs `persona=`);
`agentzoo run` chats with it on any text."""

PRESETS: dict[str, dict[str, Any]] = {
    "hpd": {"view": "at"},         # the paper's setting: P and the character's profile as they are at the session
    "leaky": {"view": "latest"},  # ablation: the latest values, i.e. possibly from a later book
}
OPTION_SOURCES: dict[str, str] = {
    "persona": "RPLA survey: a demographic, character or individualized persona (a shipped name or a file); "
               "default: the session's character, found by name",
    "view": "HPD: attributes and relations 'change as the story goes on', so P is taken at the session's point",
    "at": "HPD: the storyline point a chat is set at (sessions carry their own); default the latest",
    "persona_dir": "ours: a folder of persona files searched before the shipped ones",
    "retrieve": "ours: earlier user turns retrieved from memory for each profile update (individualized)",
}
DEVIATIONS: list[str] = [
    "HPD's baselines are fine-tuned or prompted models over the dataset's own JSON; this is a prompted responder "
    "whose prompt templates are ours (the paper's prompts were not inspected)",
    "P is computed by the recipe from time-varying persona files rather than read from a per-session annotation, "
    "so one persona file serves every session of a story",
    "HPD stores relations only towards Harry, in both directions; a persona here holds its own direction towards "
    "anyone, plus a free-text Note",
    "the shipped story (Saltmarrow) is an original setting written for agentzoo, not the Harry Potter novels",
    "individualized personas: each user turn is stored with a fixed importance (5 of 10) instead of a model-scored "
    "one, and the profile update is a strict-JSON model call of ours (the survey prescribes no procedure)",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, persona: str | None = None, at: float | str | None = None,
          view: View = "at", persona_dir: str | None = None, retrieve: int = RETRIEVE_K) -> PersonaAgent:
    """A persona agent; `persona` names who it plays (or, individualized, serves) in a chat, and may pin the
    character of sessions."""
    text_only("persona", tools)
    return PersonaAgent(model, persona=persona, at=at, persona_dir=persona_dir, view=view, retrieve=retrieve,
                        system=system, sampling=sampling)


__all__ = ["ANSWER_KINDS", "PersonaAgent", "Session", "build", "clean_reply", "read_task"]
