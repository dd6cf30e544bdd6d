"""Asking one archetype: its prompt as a JSON-schema request, its reply read as one probability, a bad reply
sent back once per retry with what was wrong, then a typed error naming the reply.

AgentTorch reads `float(reply)` and takes 0.0 for a reply that is not a number (`Behavior.sample`), so a
model that rambles silently becomes a population that never isolates. Here the reply must be the JSON
object the request's schema asks for (`{"stay_home_probability": 0.4}`); servers that constrain decoding
(llama.cpp's) make even a small model write it; anything else is a `FormatError` the model is shown, and
after the last retry an `UnexpectedModelBehavior` that names the step, the group and the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import FormatError, UnexpectedModelBehavior
from ...prompts import render
from ...protocols import Model
from ...replies import json_format, json_object, object_schema
from ...runtime.context import Context
from ...types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
SHOWN = 300
"""Characters of a bad reply quoted back to the model and in the error."""


def reply_format(key: str) -> dict[str, Any]:
    """The request's response format: an object with exactly one number, `key`."""
    return json_format(object_schema({key: {"type": "number"}}), name="archetype_decision")


def read_probability(text: str | None, key: str) -> float:
    """The probability in a reply that is the JSON object `{key: p}` (alone or in a ```json block), p in [0, 1];
    `FormatError` saying what is wrong otherwise."""
    data = json_object(text, in_prose=False)
    if set(data) != {key}:
        raise FormatError(f"the object must hold exactly one field, {key!r}; it held {sorted(data) or 'none'}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"{key!r} must be a number from 0 to 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise FormatError(f"{key!r} must be a number from 0 to 1, got {value!r}")
    return float(value)


def shorten(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


@dataclass
class Asker:
    """How every archetype of a run is asked: one model, one system message, the same request fields."""

    model: Model
    key: str
    system: str
    fields: dict[str, Any] = field(default_factory=dict)
    """`ModelRequest` fields besides messages and seed: response format, temperature, max_tokens."""
    retries: int = 1

    async def ask(self, ctx: Context, history: list[dict[str, Any]], prompt: str, *, seed: int | None,
                  where: str) -> tuple[float, str, int]:
        """(probability, the reply it was read from, calls made) for `prompt` after `history`, in `ctx`."""
        messages = [{"role": "system", "content": self.system}, *history, {"role": "user", "content": prompt}]
        text, problem = "", ""
        for attempt in range(self.retries + 1):
            response = await ctx.model(self.model, ModelRequest(messages=list(messages), seed=seed, **self.fields))
            text = response.text
            try:
                return read_probability(text, self.key), text, attempt + 1
            except FormatError as exc:
                problem = exc.message_for_model
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": render(PROMPTS / "retry.j2", problem=problem,
                                                            reply=shorten(text), key=self.key)}]
        raise UnexpectedModelBehavior(f"agenttorch: {where}: no usable reply in {self.retries + 1} attempts; "
                                      f"the last reply {shorten(text)!r}: {problem}")
