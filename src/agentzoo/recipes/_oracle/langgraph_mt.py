"""The oracle player of langgraph-mt: the router names the language of the turn's gold translation and the
text; the translator writes the gold translation.

The gold is the environment's: the replies a tool-calling agent gives, one `act` per turn, holding the
reference translations in order. A request shows which turn it is by the dialogue state the router is given
(one line per answered turn) or, for a translator, by the turns answered so far in the same graph run —
which the player counts from the router requests it has answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..langgraph_mt import PROMPTS
from .gold import Gold, Marker, OracleError, not_recognised

Player = Callable[[ModelRequest], Any]
_KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_FRENCH = re.compile(r"[àâçéèêëîïôûùüÿœ]|\b(?:le|la|les|est|une|de|du|des|à|et)\b", re.I)


def language_of(text: str) -> str:
    """The language of a gold translation, by its script and words: enough for the shipped references."""
    if _KANA_OR_KANJI.search(text):
        return "ja"
    return "fr" if _FRENCH.search(text) else "en"


def langgraph_mt(gold: Gold) -> Player:
    router = Marker.of(PROMPTS / "router.j2")
    translator = Marker.of(PROMPTS / "translator.j2")
    references = [str(call["arguments"]["action"]) for step in gold.steps if isinstance(step, dict)
                  for call in step.get("tool_calls") or [] if call.get("name") == "act"]
    routed: list[int] = []  # the turn each router request was for, in order

    def play(request: ModelRequest) -> str:
        first = request.messages[0].get("content") or ""
        if router.found_in(first):
            turn = first.count("  Text translated: ")  # one line per answered turn of the dialogue state
            if turn >= len(references):
                raise OracleError(f"langgraph-mt: a router request for turn {turn + 1} of a dialogue with "
                                  f"{len(references)}")
            routed.append(turn)
            text = first.rsplit("Latest message:", 1)[-1].splitlines()[0].strip()
            return json.dumps({"target": language_of(references[turn]), "text": text})
        if translator.found_in(first):
            if not routed:
                raise OracleError("langgraph-mt: a translator was asked before any router")
            return references[routed[-1]]
        raise not_recognised("langgraph-mt", request)

    return play
