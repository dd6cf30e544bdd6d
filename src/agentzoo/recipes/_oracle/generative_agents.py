"""The oracle player of generative-agents, on the town: every resident ends the day knowing of the event.

The gold (`town.oracle`) is the event as one sentence (with its keywords) and an address at its place. Every
resident plans the whole day there, each action under a new description so that the others keep noticing
them; whoever has not heard the event yet talks to whom they see (those who have leave the others free);
every line of every conversation is the event's sentence, and so is every interview answer. The recipe's
questions are told apart by their schema's name; the memory stream's own prompts (an insight's importance,
reflection questions and insights) by their templates' lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...memory.reflection import PROMPTS as MEMORY_PROMPTS
from ...types import ModelRequest
from .gold import Gold, Marker, not_recognised

Player = Callable[[ModelRequest], Any]
IMPORTANCE = 2  # low: reflections stay rare, and the simulation short


def generative_agents(gold: Gold) -> Player:
    try:  # another environment's gold is not the town's: the player is made, then refused with the pair
        event = json.loads(gold.reply) if gold.kind == "simulation" and gold.reply else {}
    except ValueError:
        event = {}
    says, where = event.get("event", ""), event.get("address", "")  # what everyone says; where everyone goes
    rate, ask, insight = (Marker.of(MEMORY_PROMPTS / f"{name}.j2")
                          for name in ("importance", "reflection_questions", "reflection_insights"))

    def play(request: ModelRequest) -> Any:
        text = next((m.get("content") or "" for m in request.messages if m.get("role") == "user"), "")
        name = ((request.response_format or {}).get("json_schema") or {}).get("name")
        if name is None:
            if rate.found_in(text):
                return str(IMPORTANCE)
            if ask.found_in(text):
                return "What is happening in town?"
            if insight.found_in(text):
                ids = re.findall(r"^\[(\d+)\]", text, re.M)[:1]
                return f"{says} [evidence: {', '.join(ids)}]" if ids else says
            raise not_recognised("generative-agents", request)
        if name == "importance":
            return json.dumps({"importance": IMPORTANCE})
        if name == "day_plan":
            wake = int(re.search(r"starts the day at (\d\d):", text).group(1))
            plan = [{"time": f"{min(wake + i, 23):02d}:00", "activity": "getting ready"} for i in range(5)]
            return json.dumps({"plan": plan})
        if name == "hour":
            return json.dumps({"activity": "going to the event"})
        if name == "actions":
            start = re.search(r"(?:From|from) (\d\d:\d\d) to", text).group(1)
            return json.dumps({"actions": [{"description": f"waiting at the event ({start}, part {i + 1})",
                                            "minutes": 15, "location": where, "object": ""} for i in range(4)]})
        if name == "talk":  # who has not yet heard it starts a conversation (who has, leaves others free for them)
            return json.dumps({"reasoning": "Everyone should hear of the event.", "talk": says not in text})
        if name == "utterance":
            return json.dumps({"utterance": says, "end": "The conversation so far" in text})
        if name == "interview":
            return json.dumps({"knows_of_event": True, "event": says, "where": where,
                               "when": event.get("when", "")})
        raise not_recognised("generative-agents", request)

    return play
