"""Reacting to another resident and talking with them (paper §4.3.1–4.3.2; the code's `_should_react` and
`agent_chat_v2`).

Deciding: on a newly perceived resident, the resident retrieves what it remembers about them and asks
whether to start a conversation or carry on (a JSON yes/no). Talking: turn by turn, each speaker retrieves
memories about the other and the last lines, and says one line, which may close the conversation; after
`max_rounds` rounds (a line from each) it ends anyway. A line that mentions the event and is addressed to a
resident under the `withhold` intervention does not reach them: it is left out of what they see and
remember, and logged as withheld. The conversation lasts, in game minutes, the code's
ceil(characters / 8 / 30).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...envs.town import Doing, mentions
from ...envs.town.scenario import Event
from ...runtime.context import Context
from .asking import BOOLEAN, prompt, text
from .mind import Mind
from .settings import Withhold

CHARS_PER_MINUTE = 8 * 30  # the code's generate_convo: convo_length = ceil(len(text) / 8 / 30) minutes


@dataclass
class Line:
    speaker: str
    text: str
    withheld_from: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "text": self.text,
                **({"withheld_from": self.withheld_from} if self.withheld_from else {})}


@dataclass
class Conversation:
    step: int
    time: datetime
    place: str
    between: tuple[str, str]
    lines: list[Line] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        chars = sum(len(f"{line.speaker}: {line.text}\n") for line in self.lines)
        return max(1, math.ceil(chars / CHARS_PER_MINUTE))

    def heard_by(self, name: str) -> list[Line]:
        """The lines `name` said or heard."""
        return [line for line in self.lines if name not in line.withheld_from]

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "time": f"{self.time:%H:%M}", "place": self.place, "between": list(self.between),
                "minutes": self.minutes, "lines": [line.to_json() for line in self.lines]}


async def decide_to_talk(ctx: Context, mind: Mind, other: str, own: Doing, theirs: Doing, moment: datetime,
                         now: float) -> bool:
    memories = await mind.recall_texts(ctx, prompt("about_query", other=other, doing=theirs.description), now)
    asked = prompt("decide", identity=mind.identity, first=mind.first_name, other=other, time=f"{moment:%H:%M}",
                   own=own.description, theirs=theirs.description, place=own.address, memories=memories)
    reply = await mind.asker.ask(ctx, asked, "talk", {"reasoning": text(1, 300), "talk": BOOLEAN})
    if reply is None:
        mind.tally.add("talk")  # the code's fail-safe for deciding to talk: no
        return False
    return bool(reply["talk"])


async def converse(ctx: Context, step: int, moment: datetime, now: float, a: Mind, b: Mind, doing: dict[str, Doing],
                   event: Event, withhold: Withhold | None, max_rounds: int) -> Conversation:
    """A conversation `a` starts with `b`, line by line (see the module doc)."""
    talk = Conversation(step, moment, doing[a.name].address, (a.name, b.name))
    speakers = (a, b)
    for turn in range(2 * max_rounds):
        speaker, listener = speakers[turn % 2], speakers[(turn + 1) % 2]
        tctx = ctx.child("turn", turn)
        seen = talk.heard_by(speaker.name)
        last = " ".join(line.text for line in seen[-4:])
        memories = await speaker.recall_texts(tctx,
                                              prompt("about_query", other=listener.name,
                                                     doing=doing[listener.name].description) + " " + last,
                                              now, k=speaker.settings.dialogue_memories)
        asked = prompt("utterance", identity=speaker.identity, first=speaker.first_name, other=listener.name,
                       time=f"{moment:%H:%M}", place=talk.place, own=doing[speaker.name].description,
                       theirs=doing[listener.name].description, starter=a.name, memories=memories,
                       lines=[(line.speaker, line.text) for line in seen])
        reply = await speaker.asker.ask(tctx, asked, "utterance",
                                        {"utterance": text(1, 400), "end": BOOLEAN})
        if reply is None:
            speaker.tally.add("utterance")  # nothing usable to say: the conversation ends here
            break
        line = Line(speaker.name, " ".join(reply["utterance"].split()))
        if withhold is not None and withhold.applies(listener.name, step) and mentions(line.text, event):
            line.withheld_from.append(listener.name)
        talk.lines.append(line)
        if reply["end"]:
            break
    return talk
