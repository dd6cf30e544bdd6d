"""The one row shape every synthesis pipeline produces: a plain JSON dict, checked here.

SFT row — a conversation to learn from:

    {"kind": "sft",
     "messages": [...],        # OpenAI chat messages: system / user / assistant (content and/or tool_calls) / tool
     "tools": [...],           # optional: OpenAI tool schemas ({"type": "function", "function": {...}})
     "loss": [true, false],    # optional: one flag per assistant message, in order; default all true
     "provenance": {...}}

Preference row — a prompt and a better and a worse continuation of it:

    {"kind": "preference",
     "prompt": [...],          # messages up to the point of choice
     "chosen": [...],          # the preferred continuation: assistant message(s), with tool results between
     "rejected": [...],        # the dispreferred one, same shape
     "tools": [...],           # optional, as above
     "provenance": {...}}

Provenance says where a row comes from, so that every example traces back to the journal: at least
`pipeline`, `stage`, `run_id` and `scope` (the journal scope whose model call made the row; "" is the
root agent), optionally `scores` (judge scores by name) and anything else a pipeline wants to keep.

`validate_row(row, index)` raises a `ConfigError` naming the row index and the field, e.g.
`row 3: messages[2].role: 'robot' is not one of assistant, system, tool, user`.
The writers (`formats`), `dedup` and `decontam` read rows of this shape only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import ConfigError

KINDS = ("sft", "preference")
ROLES = ("system", "user", "assistant", "tool")
PROVENANCE_KEYS = ("pipeline", "stage", "run_id", "scope")

# Top-level keys per kind: required, then optional. Anything else is refused, so that a typo
# ("provenence") is an error rather than a field that silently vanishes from every export.
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sft": (("kind", "messages", "provenance"), ("tools", "loss")),
    "preference": (("kind", "prompt", "chosen", "rejected", "provenance"), ("tools",)),
}


def validate_row(row: Any, index: int) -> dict[str, Any]:
    """`row` if it is a well-formed SFT or preference row; a `ConfigError` naming `index` and the field if not."""
    if not isinstance(row, dict):
        raise _bad(index, "", f"a row is a JSON object, not {type(row).__name__}")
    kind = row.get("kind")
    if kind not in KINDS:
        raise _bad(index, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    required, optional = _KEYS[kind]
    for key in required:
        if key not in row:
            raise _bad(index, key, "missing")
    unknown = sorted(set(row) - set(required) - set(optional))
    if unknown:
        raise _bad(index, unknown[0], f"not a field of a {kind} row (put extra data under provenance)")
    if kind == "sft":
        _messages(row["messages"], index, "messages")
        if not any(m["role"] == "assistant" for m in row["messages"]):
            raise _bad(index, "messages", "no assistant message: nothing to learn")
        if "loss" in row:
            _loss(row["loss"], sum(m["role"] == "assistant" for m in row["messages"]), index)
    else:
        _messages(row["prompt"], index, "prompt")
        for side in ("chosen", "rejected"):
            _messages(row[side], index, side, roles=("assistant", "tool"))
            if row[side][0]["role"] != "assistant":
                raise _bad(index, f"{side}[0].role", "a continuation starts with an assistant message")
    if "tools" in row:
        _tools(row["tools"], index)
    _provenance(row["provenance"], index)
    return row


def validate_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Every row validated, as a list (the writers and filters read rows more than once)."""
    return [validate_row(row, i) for i, row in enumerate(rows)]


def assistant_flags(row: dict[str, Any]) -> list[bool]:
    """The loss flag of each assistant message of an SFT row, in order (all true when the row says none)."""
    count = sum(m["role"] == "assistant" for m in row["messages"])
    return [bool(f) for f in row["loss"]] if "loss" in row else [True] * count


def conversation(row: dict[str, Any]) -> list[dict[str, Any]]:
    """All messages of a row in reading order: an SFT row's messages; a preference row's prompt, then
    its chosen continuation, then its rejected one (the text dedup and decontamination read)."""
    if row["kind"] == "sft":
        return list(row["messages"])
    return [*row["prompt"], *row["chosen"], *row["rejected"]]


def message_text(message: dict[str, Any]) -> str:
    """The words of one message: its text content (string or text parts) and the name and arguments of
    each tool call it makes."""
    content = message.get("content")
    parts = [content] if isinstance(content, str) else [
        p.get("text") or "" for p in content or () if isinstance(p, dict) and p.get("type") == "text"]
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        parts += [str(fn.get("name") or ""), str(fn.get("arguments") or "")]
    return "\n".join(p for p in parts if p)


def row_text(row: dict[str, Any], roles: tuple[str, ...] = ROLES) -> str:
    """The text of a row's messages whose role is in `roles`, one message a line, each after its role."""
    return "\n".join(f"{m['role']}: {message_text(m)}" for m in conversation(row) if m["role"] in roles)


# --- checks ---------------------------------------------------------------------------------------


def _bad(index: int, field: str, problem: str) -> ConfigError:
    return ConfigError(f"row {index}: {field}: {problem}" if field else f"row {index}: {problem}")


def _messages(value: Any, index: int, field: str, roles: tuple[str, ...] = ROLES) -> None:
    if not isinstance(value, list) or not value:
        raise _bad(index, field, "a non-empty list of chat messages")
    for i, m in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(m, dict):
            raise _bad(index, where, f"a message is a JSON object, not {type(m).__name__}")
        if m.get("role") not in roles:
            raise _bad(index, f"{where}.role", f"{m.get('role')!r} is not one of {', '.join(sorted(roles))}")
        content = m.get("content")
        if not (content is None or isinstance(content, (str, list))):
            raise _bad(index, f"{where}.content", f"text, a list of content parts or null, not {type(content).__name__}")
        calls = m.get("tool_calls")
        if calls is not None:
            if m["role"] != "assistant":
                raise _bad(index, f"{where}.tool_calls", "only an assistant message makes tool calls")
            _tool_calls(calls, index, f"{where}.tool_calls")
        if m["role"] == "assistant" and not calls and content in (None, "", []):
            raise _bad(index, where, "an assistant message with neither content nor tool calls")
        if m["role"] == "tool" and not isinstance(m.get("tool_call_id"), str):
            raise _bad(index, f"{where}.tool_call_id", "a tool message names the call it answers")


def _tool_calls(calls: Any, index: int, field: str) -> None:
    if not isinstance(calls, list):
        raise _bad(index, field, "a list of tool calls")
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise _bad(index, f"{field}[{j}].function.name", "missing: a tool call names its function")
        if not isinstance(fn.get("arguments"), str):
            raise _bad(index, f"{field}[{j}].function.arguments", "the arguments as a JSON text (OpenAI's shape)")


def _loss(value: Any, assistants: int, index: int) -> None:
    if not isinstance(value, list) or not all(isinstance(f, bool) for f in value):
        raise _bad(index, "loss", "a list of true/false, one per assistant message")
    if len(value) != assistants:
        raise _bad(index, "loss", f"{len(value)} flags for {assistants} assistant messages")


def _tools(value: Any, index: int) -> None:
    if not isinstance(value, list):
        raise _bad(index, "tools", "a list of OpenAI tool schemas")
    for i, tool in enumerate(value):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise _bad(index, f"tools[{i}]", 'an OpenAI tool schema: {"type": "function", "function": {"name", ...}}')


def _provenance(value: Any, index: int) -> None:
    if not isinstance(value, dict):
        raise _bad(index, "provenance", "a JSON object")
    for key in PROVENANCE_KEYS:
        if not isinstance(value.get(key), str):
            raise _bad(index, f"provenance.{key}", "missing" if key not in value else "must be text")
    if value.get("scores") is not None and not isinstance(value["scores"], dict):
        raise _bad(index, "provenance.scores", "judge scores by name, a JSON object")
