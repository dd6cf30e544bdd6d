"""The oracle player of cogni-cismef: it reads the user's words as the recipe's own rules do.

The recipe's one model role reads a user utterance into a JSON reading (intention, topic, constraints). The
simulated user of `catalogue-search` speaks from a fixed set of sentence frames that the rules read exactly, so
the gold reading of an utterance is the rules' reading; the dialogue manager then finds the target as the
`rules` preset does. (With no model role asked, the `rules` preset never calls this player.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..cogni_cismef.reading import PROMPTS, read_rules
from .gold import Gold, Marker, OracleError, last_user, not_recognised, system_of

Player = Callable[[ModelRequest], Any]
_SAYS = re.compile(r'^The user says: "(?P<said>.*)"\s*$', re.MULTILINE)
_LAST = re.compile(r"^The assistant's last act: (?P<verb>[a-z]+)", re.MULTILINE)


def cogni_cismef(gold: Gold) -> Player:
    role = Marker.of(PROMPTS / "understand_system.j2")

    def play(request: ModelRequest) -> str:
        if not role.found_in(system_of(request)):
            raise not_recognised("cogni-cismef", request)
        asked = last_user(request)
        said = _SAYS.search(asked)
        if said is None:
            raise OracleError(f"cogni-cismef: no user utterance in the reading request {asked[:200]!r}")
        last = _LAST.search(asked)
        pending = {"act": last.group("verb")} if last else None
        reading = read_rules(said.group("said"), pending)
        return json.dumps({"intention": reading.intention, "topic": reading.topic,
                           "constraints": dict(reading.constraints)})

    return play
