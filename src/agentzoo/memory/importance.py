"""Importance of a memory, 1..10, asked of a model through the gateway (Generative Agents §4.1,
"poignancy"). A reply that is not a whole number in range gets one retry that shows the model its
reply; a second miss is `UnexpectedModelBehavior` naming both replies (no silent default: a wrong
importance would quietly skew retrieval and the reflection trigger)."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UnexpectedModelBehavior
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
IMPORTANCE_RANGE = (1, 10)
"""Paper §4.1: "on a scale of 1 to 10, where 1 is purely mundane … and 10 is extremely poignant"."""
_NUMBER = re.compile(r"\s*(?:\w+\s*[:=]\s*)?(\d{1,2})(?:\s*/\s*10)?\s*\.?\s*", re.IGNORECASE)


def parse_importance(reply: str) -> int | None:
    """The rating in a reply such as `7`, `7.`, `7/10` or `Rating: 7`; None for anything else."""
    match = _NUMBER.fullmatch(reply or "")
    if match is None:
        return None
    value = int(match.group(1))
    low, high = IMPORTANCE_RANGE
    return value if low <= value <= high else None


async def score_importance(ctx: Context, model: Model, text: str, *, agent: str = "the agent") -> int:
    messages = [{"role": "user", "content": render(PROMPTS / "importance.j2", agent=agent, text=text)}]
    first = (await ctx.model(model, ModelRequest(messages=messages))).text or ""
    value = parse_importance(first)
    if value is not None:
        return value
    messages += [{"role": "assistant", "content": first},
                 {"role": "user", "content": render(PROMPTS / "importance_retry.j2", reply=first)}]
    second = (await ctx.model(model, ModelRequest(messages=messages))).text or ""
    value = parse_importance(second)
    if value is None:
        raise UnexpectedModelBehavior(f"importance of memory {text[:60]!r}: the model replied {first[:40]!r}, then "
                                      f"{second[:40]!r}; neither is a whole number from 1 to 10")
    return value
