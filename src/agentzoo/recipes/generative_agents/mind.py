"""One resident's mind: who they are, their memory stream, and what they noticed lately.

Observation (paper §4.1, the code's `perceive`): of what the world shows where the resident stands (at most
the attention bandwidth), only events that are not among the last `retention` ones it perceived become
memories; each is rated for importance by the model (an idle object is 1 without asking, as in the code).
Seed memories go in as the code's thoughts (here `reflection` records without evidence), which the
reflection trigger does not count. Retrieval is `MemoryStream.retrieve` (recency, importance, relevance);
reflection is the stream's own, when the importance of new observations and conversations reaches its
threshold. A reflection the model cannot write (the stream raises) is counted, and the day goes on.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ...envs.town import Percept
from ...envs.town.scenario import Resident
from ...errors import UnexpectedModelBehavior
from ...memory import MemoryRecord, MemoryStream, Retrieved
from ...runtime.context import Context
from .asking import Asker, Tally, integer, prompt
from .settings import Settings

IDLE_IMPORTANCE = 1  # the code's generate_poig_score: an "is idle" event is 1, no model call


class Mind:
    def __init__(self, resident: Resident, index: int, stream: MemoryStream, asker: Asker, settings: Settings,
                 tally: Tally) -> None:
        self.resident, self.index, self.stream = resident, index, stream
        self.asker, self.settings, self.tally = asker, settings, tally
        self.recent: deque[str] = deque(maxlen=settings.retention)
        """The last perceived event texts (the code's retention window)."""
        self.reflections = 0
        self.identity = prompt("identity", r=resident)

    @property
    def name(self) -> str:
        return self.resident.name

    @property
    def first_name(self) -> str:
        return self.resident.name.split()[0]

    # --- writing ----------------------------------------------------------------------------------

    async def seed(self, ctx: Context, texts: list[tuple[str, int | None]], now: float) -> None:
        """Seed memories as thoughts: importance as the scenario gives it, else asked."""
        if not texts:
            return
        importances = [given if given is not None else await self.importance(ctx, text, "thought")
                       for text, given in texts]
        await self.stream.add_many(ctx, [("reflection", text) for text, _ in texts], time=now, importances=importances)

    async def observe(self, ctx: Context, seen: list[Percept], now: float) -> list[Percept]:
        """Remember what is new in `seen`; returns the new percepts (what the resident may react to)."""
        new = [p for p in seen if p.text not in self.recent]
        self.recent.extend(p.text for p in new)
        if new:
            await self.remember(ctx, "observation", [p.text for p in new], now,
                                [IDLE_IMPORTANCE if p.idle else None for p in new])
        return new

    async def remember(self, ctx: Context, kind: str, texts: list[str], now: float,
                       given: list[int | None] | None = None) -> list[MemoryRecord]:
        """Add records rated by the model (unless given); the stream may reflect on the way."""
        given = given or [None] * len(texts)
        importances = [g if g is not None else await self.importance(ctx, text, kind) for text, g in zip(texts, given)]
        counted = kind in ("observation", "dialogue") and sum(importances) > 0
        try:
            records = await self.stream.add_many(ctx, [(kind, t) for t in texts], time=now, importances=importances)
        except UnexpectedModelBehavior:  # the stream's reflection: its model wrote nothing usable
            self.tally.add("reflection")
            return []
        if counted and self.stream.importance_since_reflection == 0:  # it reflected and reset its count
            self.reflections += 1
        return records

    async def importance(self, ctx: Context, text: str, kind: str) -> int:
        asked = prompt("importance", identity=self.identity, name=self.name, kind=kind, text=text)
        reply = await self.asker.ask(ctx, asked, "importance", {"importance": integer(1, 10)})
        if reply is None:
            self.tally.add("importance")
            return self.settings.importance_fallback
        return int(reply["importance"])

    # --- reading ----------------------------------------------------------------------------------

    async def recall(self, ctx: Context, query: str, now: float, k: int | None = None) -> list[Retrieved]:
        """The records that best fit `query` now, best first (they count as accessed now)."""
        return await self.stream.retrieve(ctx, query, now=now, k=k)

    async def recall_texts(self, ctx: Context, query: str, now: float, k: int | None = None) -> list[str]:
        return [r.record.text for r in await self.recall(ctx, query, now, k)]

    def state(self) -> dict[str, Any]:
        return {"memories": len(self.stream), "reflections": self.reflections,
                "importance_since_reflection": self.stream.importance_since_reflection}
