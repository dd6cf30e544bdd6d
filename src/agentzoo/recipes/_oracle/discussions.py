"""Oracle players for the discussion recipes: MALLM and DyLAN.

MALLM: the persona generator invents numbered experts; the first speaker proposes the gold answer
after "Final Solution:", later speakers agree and restate it; a final solution or a judge's answer
is the gold; a ballot goes to solution 0 (every standing solution is the gold). DyLAN: every agent (every
coder, in the code network) answers with the gold and rates 5 whatever it is asked to rate; the
test writer writes asserts the gold passes, a reviewer approves every implementation, the ranker
picks the first `k`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from .. import dylan as _dylan
from .. import mallm as _mallm
from .gold import Gold, Marker, last_user, not_recognised, system_of, user_texts

Player = Callable[[ModelRequest], Any]
BALLOTS = {"single": "0", "approval": "0", "ranked": "0", "cumulative": "0: 10"}  # all for solution 0
_RATINGS = re.compile(r"\[\[([^\[\]]*)\]\]")
_RANKING = re.compile(r"\[\s*\d+(?:\s*,\s*\d+)*\s*\]")


def mallm(gold: Gold) -> Player:
    prompts = _mallm.PROMPTS
    persona, panelist = Marker.of(prompts / "persona_system.j2"), Marker.of(prompts / "discuss_system.j2")
    improve = Marker.of(prompts / "improve.j2")
    final, judge = Marker.of(prompts / "final.j2"), Marker.of(prompts / "judge.j2")
    ballots = {kind: Marker.rendered(prompts / "vote.j2", kind=kind, task="", candidates=[]) for kind in BALLOTS}

    def play(request: ModelRequest) -> str:
        system, last = system_of(request), last_user(request)
        if persona.found_in(system):
            n = last.count('{"role": ') + 1  # the participants chosen so far are listed as JSON
            return json.dumps({"role": f"Expert {n}", "description": f"expert number {n} on this task"})
        if panelist.found_in(system):
            if any(improve.found_in(text) for text in user_texts(request)[-2:]):  # then maybe "think step by step"
                return f"[AGREE] The current solution is right.\n\nFinal Solution:\n{gold.reply}"
            return f"Here is my solution.\n\nFinal Solution:\n{gold.reply}"  # a proposal or a revision
        if final.found_in(last) or judge.found_in(last):
            return gold.reply
        for kind, ballot in ballots.items():
            if ballot.found_in(last):
                return BALLOTS[kind]
        raise not_recognised("mallm", request)

    return play


def dylan(gold: Gold) -> Player:
    """Both of DyLAN's networks: the general one (agents and the listwise ranker) and the code one
    (coders, and judges between their rounds: a test writer, reviewers and the ranker)."""
    prompts = _dylan.PROMPTS
    agent, rank = Marker.of(prompts / "system.j2"), Marker.of(prompts / "rank.j2")
    coder, tester, reviewer = (Marker.of(prompts / name) for name in ("code_system.j2", "judge_tests.j2",
                                                                      "judge_review.j2"))

    def play(request: ModelRequest) -> str:
        system, last = system_of(request), last_user(request)
        if rank.found_in(last):  # the prompt's example lists the first k answers: choose those
            examples = _RANKING.findall(last)
            return f"The first answers are as good as any.\n{examples[-1] if examples else '[1]'}"
        if tester.found_in(last):
            return gold.tests_reply()
        if reviewer.found_in(last):
            shown = _example_count(last)
            reviews = "".join(f"[review {n}]\nIt does what the task asks.\n\n" for n in range(1, shown + 1))
            return f"{reviews}{_ratings(shown)}"
        if agent.found_in(system) or coder.found_in(system):
            shown = _example_count(last)  # rating the answers (or the judges) shown, when asked to
            return f"{gold.reply}\n\nRatings: {_ratings(shown)}" if shown else gold.reply
        raise not_recognised("dylan", request)

    return play


def _example_count(prompt: str) -> int:
    """How many ratings a prompt asks for: its example `[[...]]` lists one per item to rate."""
    found = _RATINGS.findall(prompt)
    return len(found[-1].split(",")) if found else 0


def _ratings(count: int) -> str:
    return f"[[{', '.join(['5'] * count)}]]"
