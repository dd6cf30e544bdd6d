"""The end-of-day interview (paper §7.1: the agents are interviewed to measure information diffusion) and
who, by the dialogue log, was actually told.

Each resident but the host is asked one open question about upcoming events, with what it remembers
about that question; it answers in a strict JSON object. The answer names the event when it says it knows
of one and its words carry the event's keywords. The paper counts an agent as knowing only when its memory
shows it heard of the event; here that is the ground truth of the dialogue log (a line that mentions the
event reached it) or a seed memory that mentions it. `knew` is both: the interview names the event and
the resident was told; `hallucinated` is a yes without having been told.
"""

from __future__ import annotations

from typing import Any

from ...envs.town import mentions
from ...envs.town.scenario import Event
from ...runtime.context import Context
from .asking import BOOLEAN, prompt, text
from .dialogue import Conversation
from .mind import Mind


async def interview(ctx: Context, mind: Mind, event: Event, now: float) -> dict[str, Any]:
    question = prompt("interview_question")
    memories = await mind.recall_texts(ctx, question, now)
    asked = prompt("interview", identity=mind.identity, first=mind.first_name, question=question, memories=memories)
    reply = await mind.asker.ask(ctx, asked, "interview",
                                 {"knows_of_event": BOOLEAN, "event": text(0, 200), "where": text(0, 100),
                                  "when": text(0, 100)})
    if reply is None:
        mind.tally.add("interview")
        return {"answered": False, "knows_of_event": False, "names_event": False}
    said = " ".join(str(reply[k]) for k in ("event", "where", "when"))
    return {"answered": True, **reply, "names_event": bool(reply["knows_of_event"]) and mentions(said, event)}


def told(conversations: list[Conversation], event: Event, seeded: dict[str, bool]) -> dict[str, dict[str, Any]]:
    """Who heard of the event, and first how: a seed memory, or a line of a conversation (step, by whom)."""
    out: dict[str, dict[str, Any]] = {name: {"how": "seed memory", "step": 0} for name, yes in seeded.items() if yes}
    for talk in conversations:
        for line in talk.lines:
            if not mentions(line.text, event):
                continue
            for name in talk.between:
                if name != line.speaker and name not in line.withheld_from and name not in out:
                    out[name] = {"how": "conversation", "step": talk.step, "by": line.speaker,
                                 "time": f"{talk.time:%H:%M}"}
    return out
