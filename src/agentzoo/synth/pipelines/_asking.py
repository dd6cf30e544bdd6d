"""One model call for a JSON object, with one retry that says what was wrong (as the rubric judge does).

`read(data)` checks the object and returns what the caller keeps, or raises `FormatError` naming what is
wrong; the second bad reply gives `(None, problem)`, so a stage drops the item with a reason instead of
passing on something unread. Nothing a model wrote is run: replies are parsed as JSON only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ...errors import FormatError
from ...prompts import render
from ...protocols import Model
from ...replies import json_format, json_object
from ...runtime.context import Context
from ...types import ModelRequest

T = TypeVar("T")


async def ask_json(model: Model, messages: list[dict[str, Any]], ctx: Context, read: Callable[[dict[str, Any]], T],
                   *, retry: str | Path, schema: dict[str, Any] | None = None,
                   sampling: dict[str, Any] | None = None) -> tuple[T | None, str]:
    """`(read(reply's object), "")`, else `(None, the problem)` after one retry (a second call in `ctx`).
    `schema`: the reply's JSON schema, sent as the response format (servers that constrain decoding, as
    llama.cpp's does, then make even a small model write the keys asked for); else any JSON object."""
    messages = list(messages)
    fields = {"response_format": json_format(schema), **(sampling or {})}
    problem = ""
    for attempt in range(2):
        response = await ctx.model(model, ModelRequest(messages=messages, **fields))
        text = response.text or ""
        try:
            return read(json_object(text)), ""
        except FormatError as exc:
            problem = str(exc)
        if attempt == 0:
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": render(retry, problem=problem)}]
    return None, problem


STRING = {"type": "string", "maxLength": 300}
"""A string field of a reply schema; the length cap keeps a looping small model from filling `max_tokens`."""
SENTENCE = {"type": "string", "minLength": 8, "maxLength": 120}
"""One sentence: a task or an instruction."""


def text_field(data: dict[str, Any], key: str, *, limit: int = 400) -> str:
    """`data[key]` as one line of non-empty text, at most `limit` characters; `FormatError` otherwise."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"`{key}` must be a non-empty string, got {value!r}")
    return " ".join(value.split())[:limit]
