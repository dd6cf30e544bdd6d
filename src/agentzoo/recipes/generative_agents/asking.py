"""Asking the model for one JSON object of a strict schema, and what happens when it cannot give one.

Every question the simulation asks (a day plan, an hour's actions, whether to talk, the next line of a
conversation, an interview answer, a memory's importance) wants a small JSON object. It is asked with
`response_format` of that schema (strict), so a provider that supports structured output (OpenAI,
llama.cpp's grammar) can only write a valid one; the reply is still parsed and checked against the schema
here. A reply that does not fit is sent back with the problem (`prompts/retry.j2`), up to `attempts`
requests in all, as the released code retries each prompt (`ChatGPT_safe_generate_response`, 3 tries).
Then, as that code falls back to a fixed fail-safe value, the caller takes its own fallback, and the
`Tally` counts it by kind, so the closing record says how often the simulation ran on fallbacks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...prompts import render
from ...protocols import Model
from ...replies import json_format, json_object, object_schema
from ...runtime.context import Context
from ...types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"


def prompt(name: str, /, **variables: Any) -> str:
    """`prompts/<name>.j2` rendered (a missing variable raises)."""
    return render(PROMPTS / f"{name}.j2", **variables)


def text(min_length: int = 1, max_length: int = 200) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def integer(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


BOOLEAN: dict[str, Any] = {"type": "boolean"}


@dataclass
class Tally:
    """Fallbacks taken, by kind (`plan`, `talk`, `utterance`, `importance`, `interview`, `reflection`)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str) -> None:
        self.counts[kind] += 1

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


@dataclass(frozen=True)
class Asker:
    """How this simulation asks: the model, the request fields (the spec's sampling, the recipe's
    temperature), a system message if any, and how many requests a question may take."""

    model: Model
    fields: dict[str, Any]
    system: str | None
    attempts: int

    async def ask(self, ctx: Context, content: str, name: str, properties: dict[str, Any]) -> dict[str, Any] | None:
        """The reply to `content` as an object of `properties` (all required), or None after `attempts`
        unusable replies."""
        schema = object_schema(properties)
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": content})
        for _ in range(self.attempts):
            request = ModelRequest(messages=list(messages), response_format=json_format(schema, name), **self.fields)
            reply = (await ctx.model(self.model, request)).text or ""
            try:
                return check(reply, schema)
            except FormatError as exc:
                problem = exc.message_for_model
            messages += [{"role": "assistant", "content": reply},
                         {"role": "user", "content": prompt("retry", problem=problem)}]
        return None


def check(reply: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The reply's JSON object if it fits `schema`; a `FormatError` saying what is wrong otherwise."""
    value = json_object(reply)
    problems = schema_problems(schema, value)
    if problems:
        raise FormatError("; ".join(problems))
    return value


def schema_problems(schema: dict[str, Any], value: Any, limit: int = 3) -> list[str]:
    from jsonschema import validators  # imported on first use

    validator = validators.validator_for(schema)(schema)
    out = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:limit]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        out.append(f"at {where or 'the top'}: {error.message}")
    return out
