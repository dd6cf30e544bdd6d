"""Trajectories for fine-tuning, projected from the journal.

A scope's trajectory is the conversation of its last successful model call (the request's
messages, which already hold every earlier turn and tool result) plus that call's reply.

Formats:
- `openai-jsonl`: one JSON object per line, `{"messages": [...], "tools": [...]}` — the OpenAI
  chat fine-tuning format, with assistant `tool_calls` and `tool` messages as sent.
- `sharegpt`: `{"conversations": [{"from", "value", "loss"}], "system", "tools"}` — the
  ShareGPT layout used by LLaMA-Factory and others (`human`, `gpt`, `function_call`,
  `observation`), with a per-turn `loss` flag: true on the model's own turns only.
"""

from __future__ import annotations

from typing import Any

from . import _json
from .errors import JournalError
from .runtime.entry import Entry
from .runtime.journal import Journal

FORMATS = ("openai-jsonl", "sharegpt")


def trajectory(entries: list[Entry], scope: str = "") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(messages, tools) of `scope` from a run's entries."""
    calls = [e for e in entries if e.kind == "model" and e.scope == scope and e.status == "ok"]
    if not calls:
        raise JournalError(f"no successful model call in scope {scope or '<root>'!r} to export")
    last = calls[-1]
    return list(last.request["messages"]) + [last.result["message"]], list(last.request.get("tools") or [])


def default_scope(entries: list[Entry]) -> str:
    """The scope a run's trajectory is read from when none is named: the root agent's; for a tree search
    (`agentzoo.search`, whose root makes no model call), the policy call of the node the search chose, whose
    conversation is the chosen path."""
    if any(e.kind == "model" and e.scope == "" for e in entries):
        return ""
    for e in entries:
        if e.kind == "search" and e.name == "tree" and e.status == "ok" and isinstance(e.result, dict):
            best = e.result.get("best")
            if isinstance(best, int) and best > 0:
                return f"{e.scope}/node#{best}/policy"
    return ""


def to_openai(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": [_clean(m) for m in messages]}
    if tools:
        out["tools"] = tools
    return out


def to_sharegpt(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    system = ""
    turns: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role")
        if role == "system":
            system = m.get("content") or ""
        elif role == "user":
            turns.append({"from": "human", "value": m.get("content") or "", "loss": False})
        elif role == "tool":
            turns.append({"from": "observation", "value": m.get("content") or "", "loss": False})
        elif role == "assistant":
            if m.get("content"):
                turns.append({"from": "gpt", "value": m["content"], "loss": True})
            for call in m.get("tool_calls") or ():
                fn = call["function"]
                turns.append({"from": "function_call", "loss": True,
                              "value": _json.dumps_str({"name": fn["name"], "arguments": _parsed(fn["arguments"])})})
    out: dict[str, Any] = {"conversations": turns, "system": system}
    if tools:
        out["tools"] = _json.dumps_str([t.get("function", t) for t in tools])
    return out


def export_run(journal: Journal, run_id: str, fmt: str, scope: str = "") -> dict[str, Any]:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    info = journal.get_run(run_id)
    entries = list(journal.entries(info.run_id))
    scope = scope or default_scope(entries)
    messages, tools = trajectory(entries, scope)
    record = to_openai(messages, tools) if fmt == "openai-jsonl" else to_sharegpt(messages, tools)
    record["metadata"] = {"run_id": info.run_id, "scope": scope, "status": info.status}
    return record


def _clean(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if v is not None or k == "content"}


def _parsed(arguments: str) -> Any:
    try:
        return _json.loads(arguments)
    except Exception:  # noqa: BLE001 - a model's broken arguments are exported as the text it wrote
        return arguments
