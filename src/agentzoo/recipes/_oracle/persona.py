"""The oracle player of `persona`: the character (or the assistant of an individualized persona) says the gold
reply; the profile keeper learns nothing (an empty update), so the reply prompt is the one the gold was for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...agents.personas.profile import PROMPTS as PROFILE_PROMPTS
from ...types import ModelRequest
from ..persona.agent import PROMPTS
from .gold import Gold, Marker, not_recognised, system_of, user_texts

Player = Callable[[ModelRequest], Any]


def persona(gold: Gold) -> Player:
    character, assistant = Marker.of(PROMPTS / "play.j2"), Marker.of(PROMPTS / "assistant.j2")
    keeper = Marker.of(PROFILE_PROMPTS / "profile_update.j2")

    def play(request: ModelRequest) -> str:
        system = system_of(request)
        if character.found_in(system) or assistant.found_in(system):
            return gold.reply
        if any(keeper.found_in(text) for text in user_texts(request)):
            return '{"updates": []}'
        raise not_recognised("persona", request)

    return play
