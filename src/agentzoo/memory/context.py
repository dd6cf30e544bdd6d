"""Short-term context for long runs: keep a window of recent messages, and when a conversation grows past a
token budget, replace its older part by a model-written summary that says which messages it replaced."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
CHARS_PER_TOKEN = 4
"""The usual rough estimate for English (and the scripted model's own): budgets need no tokenizer."""


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(-(-len(str(m.get("content") or "")) // CHARS_PER_TOKEN) for m in messages)


def window(messages: list[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    """The leading system messages and the `last` messages after them."""
    if last < 0:
        raise ConfigError(f"a context window keeps a number of messages ≥ 0, not {last}")
    head = _system_prefix(messages)
    rest = messages[head:]
    return messages[:head] + (rest[-last:] if last else [])


@dataclass(frozen=True)
class Summary:
    """What `summarise_over_budget` did: the positions it replaced (in the list it was given) and the text."""

    replaced: tuple[int, ...]
    text: str


async def summarise_over_budget(ctx: Context, model: Model, messages: list[dict[str, Any]], *, budget: int,
                                keep_last: int = 4) -> tuple[list[dict[str, Any]], Summary | None]:
    """Messages that fit `budget` (estimated tokens), and the summary made to get there (None when they fit).

    The leading system messages and the last `keep_last` stay as they are; everything between becomes one
    user message holding the model's summary, headed by the positions it replaces. One model call, through
    the gateway. If what is kept is over budget by itself, the result is over budget: the caller decides."""
    if budget < 1 or keep_last < 0:
        raise ConfigError(f"summarise_over_budget: budget must be ≥ 1 and keep_last ≥ 0, got {budget}, {keep_last}")
    if estimate_tokens(messages) <= budget:
        return messages, None
    head = _system_prefix(messages)
    end = max(head, len(messages) - keep_last)
    if end - head < 2:  # one message summarised would not shrink anything worth a call
        return messages, None
    old = [{"index": i, "role": m.get("role", "user"), "content": m.get("content") or ""}
           for i, m in enumerate(messages[head:end], start=head)]
    asked = render(PROMPTS / "summarise.j2", messages=old)
    text = (await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": asked}]))).text or ""
    replaced = tuple(range(head, end))
    content = render(PROMPTS / "summary_message.j2", first=head, last=end - 1, summary=text.strip())
    return messages[:head] + [{"role": "user", "content": content}] + messages[end:], Summary(replaced, text.strip())


def _system_prefix(messages: list[dict[str, Any]]) -> int:
    count = 0
    while count < len(messages) and messages[count].get("role") == "system":
        count += 1
    return count
