"""Reflection (Generative Agents §4.2): questions from the latest memories, then insights that cite the
records they rest on, stored as `reflection` records with those ids as evidence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UnexpectedModelBehavior
from ..prompts import render
from ..runtime.context import Context
from ..types import ModelRequest
from .records import MemoryRecord

if TYPE_CHECKING:
    from .stream import MemoryStream

PROMPTS = Path(__file__).parent / "prompts"
REFLECTION_WINDOW = 100
"""Paper §4.2: the questions are asked of "the 100 most recent records in the agent's memory stream"."""
QUESTIONS = 3
"""Paper §4.2: "the 3 most salient high-level questions"."""
INSIGHTS_PER_QUESTION = 5
"""Paper §4.2: "five high-level insights"; the code's `thought_count = 5`."""
_LEAD = re.compile(r"^\s*(?:\d+\s*[.)]\s*|[-*•]\s*)")
_INSIGHT = re.compile(r"^(?P<text>.+?)\s*[\[(]\s*(?:evidence|because of)\s*:?\s*(?P<ids>[\d,\s]+)[\])]\s*\.?\s*$",
                      re.IGNORECASE)


def parse_questions(reply: str, count: int = QUESTIONS) -> list[str]:
    lines = [_LEAD.sub("", line).strip() for line in (reply or "").splitlines()]
    return [line for line in lines if line][:count]


def parse_insights(reply: str, allowed: set[int], count: int = INSIGHTS_PER_QUESTION) -> list[tuple[str, tuple[int, ...]]]:
    """(insight, evidence ids) per line of the form `text [evidence: 3, 7]`. Ids the model was not shown are
    dropped; a line left with no evidence is not an insight (the paper's reflections always cite)."""
    out = []
    for line in (reply or "").splitlines():
        match = _INSIGHT.match(_LEAD.sub("", line).strip())
        if match is None:
            continue
        ids = tuple(dict.fromkeys(int(x) for x in re.findall(r"\d+", match["ids"]) if int(x) in allowed))
        if ids and match["text"].strip():
            out.append((match["text"].strip(), ids))
    return out[:count]


async def reflect(stream: MemoryStream, ctx: Context, *, now: float) -> list[MemoryRecord]:
    if stream.model is None:
        raise UnexpectedModelBehavior("reflection needs a model")  # unreachable through MemoryStream
    recent = stream.store.latest(REFLECTION_WINDOW)
    if not recent:
        return []
    asked = render(PROMPTS / "reflection_questions.j2", agent=stream.agent, records=recent, count=QUESTIONS)
    reply = (await ctx.model(stream.model, ModelRequest(messages=[{"role": "user", "content": asked}]))).text
    questions = parse_questions(reply or "")
    if not questions:
        raise UnexpectedModelBehavior(f"reflection: the model wrote no question in {(reply or '')[:80]!r}")
    insights: list[tuple[str, tuple[int, ...]]] = []
    for i, question in enumerate(questions):
        qctx = ctx.child("question", i)
        shown = [r.record for r in await stream.retrieve(qctx, question, now=now)]
        prompt = render(PROMPTS / "reflection_insights.j2", agent=stream.agent, question=question, records=shown,
                        count=INSIGHTS_PER_QUESTION)
        answer = (await qctx.model(stream.model, ModelRequest(messages=[{"role": "user", "content": prompt}]))).text
        insights += parse_insights(answer or "", {r.id for r in shown})
    if not insights:
        return []
    return await stream.add_many(ctx, [("reflection", text) for text, _ in insights], time=now,
                                 evidence=[ids for _, ids in insights])
