"""Judges of a proposal: the stream's labels (scripted, the default) or a model with a strict JSON verdict.

ProactiveBench judges each proposal with a reward model trained on human accept/reject labels (0.918 F1
against humans, per its README); we have no such model, so by default the labels written with each event
decide: silence is right when the event needs no help, and a proposal is accepted when the event needs help
and the proposal names one of the event's `accept` words. A model judge (`ModelJudge`) is asked the event,
the recent history and the proposal, and must answer one JSON object `{"accept": true|false, "reason": ...}`;
anything else is a `JudgeError` naming what came back. Silence is never sent to a model: its verdict is
whether the event needed help, from the labels (the reward model judges proposals only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from ...errors import UnexpectedModelBehavior
from ...prompts import render
from ...types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"


class JudgeError(UnexpectedModelBehavior):
    """The judge model's reply is not the one JSON verdict it was asked for."""


class Judge(Protocol):
    name: str

    async def accepts(self, proposal: str, event: dict[str, Any], history: list[dict[str, Any]]) -> bool: ...


def silence_right(event: dict[str, Any]) -> bool:
    return event.get("help") is None


class LabelJudge:
    """The labels as a scripted judge."""

    name = "labels"

    async def accepts(self, proposal: str, event: dict[str, Any], history: list[dict[str, Any]]) -> bool:
        help_ = event.get("help")
        if help_ is None:
            return False
        text = proposal.lower()
        return any(word.lower() in text for word in help_["accept"])


class ModelJudge:
    """A model asked for a strict JSON verdict on each proposal."""

    name = "model"

    def __init__(self, model: Any) -> None:
        self.model = model

    async def accepts(self, proposal: str, event: dict[str, Any], history: list[dict[str, Any]]) -> bool:
        prompt = render(PROMPTS / "judge.j2", event=event, history=history, proposal=proposal)
        response = await self.model.complete(ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                          temperature=0.0))
        return parse_verdict(response.text)


def parse_verdict(text: str | None) -> bool:
    """`{"accept": true|false, ...}` and nothing else (a ```json fence around it is taken off)."""
    body = (text or "").strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        raise JudgeError(f"the judge must reply one JSON object {{\"accept\": true|false, \"reason\": ...}}; "
                         f"got {body[:200]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("accept"), bool):
        raise JudgeError(f"the judge's JSON needs a boolean \"accept\"; got {body[:200]!r}")
    return data["accept"]
