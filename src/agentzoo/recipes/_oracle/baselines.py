"""Oracle players for the baselines: chain of thought, self-consistency, debate, Self-Refine, Reflexion.

Every answering role writes the gold answer; Self-Refine's feedback says STOP, Reflexion's judge
says PASS and its test writer gives asserts the gold passes, so each loop ends after one round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from .. import cot as _cot
from .. import llm_debate as _debate
from .. import reflexion as _reflexion
from .. import self_refine as _refine
from .gold import Gold, Marker, not_recognised, system_of

Player = Callable[[ModelRequest], Any]


def chain_of_thought(gold: Gold, recipe: str = "cot") -> Player:
    """`cot`, and every path of `cot-sc`."""
    reasoner = Marker.of(_cot.PROMPTS / "system.j2")

    def play(request: ModelRequest) -> str:
        if reasoner.found_in(system_of(request)):
            return gold.reply
        raise not_recognised(recipe, request)

    return play


def debate(gold: Gold) -> Player:
    """`llm-debate`: every debater, every round."""
    debater = Marker.of(_debate.PROMPTS / "system.j2")

    def play(request: ModelRequest) -> str:
        if debater.found_in(system_of(request)):
            return gold.reply
        raise not_recognised("llm-debate", request)

    return play


def self_refine(gold: Gold) -> Player:
    generator, reviewer, refiner = (Marker.of(_refine.PROMPTS / f"{role}.j2")
                                    for role in ("generate", "feedback", "refine"))

    def play(request: ModelRequest) -> str:
        system = system_of(request)
        if reviewer.found_in(system):
            return "Every step checks out and the answer is in the form the task asks for.\nVERDICT: STOP"
        if generator.found_in(system) or refiner.found_in(system):
            return gold.reply
        raise not_recognised("self-refine", request)

    return play


def reflexion(gold: Gold) -> Player:
    actor, judge, reflector = (Marker.of(_reflexion.PROMPTS / f"{role}.j2") for role in ("actor", "judge", "reflect"))
    test_writer = Marker.of(_reflexion.PROMPTS / "tests.j2")

    def play(request: ModelRequest) -> str:
        system = system_of(request)
        if judge.found_in(system):
            return "The answer solves the task and has the form it asks for.\nVERDICT: PASS"
        if test_writer.found_in(system):
            return gold.tests_reply()
        if reflector.found_in(system):
            return "The attempt was right; give it again unchanged."
        if actor.found_in(system):
            return gold.reply
        raise not_recognised("reflexion", request)

    return play
