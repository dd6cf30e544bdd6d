"""Two runs side by side, aligned by the stable key of their entries, `(scope, seq)`.

Rows keep the first run's order; an entry only the second run has goes right after the entry that
came before it in the second run, so a fork's extra effects sit where they happened. Each row says
whether the two effects asked the same (equal request hashes), and whether they got the same
result; the first row where they part is the divergence (for a fork, where it went live).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .. import _json
from .store import DiffKey

State = Literal["same", "result", "request", "left", "right"]
"""`same`: same request and result; `result`: same request, another result; `request`: another
request; `left` / `right`: only the first / only the second run has this key."""


@dataclass
class DiffRow:
    scope: str
    seq: int
    left: DiffKey | None
    right: DiffKey | None
    state: State
    left_text: str = ""
    right_text: str = ""


def align(a: list[DiffKey], b: list[DiffKey]) -> list[DiffRow]:
    left = {(k.scope, k.seq): k for k in a}
    right = {(k.scope, k.seq): k for k in b}
    leading: list[tuple[str, int]] = []
    after: dict[tuple[str, int], list[tuple[str, int]]] = {}
    last: tuple[str, int] | None = None
    for k in b:
        key = (k.scope, k.seq)
        if key in left:
            last = key
        elif last is None:
            leading.append(key)
        else:
            after.setdefault(last, []).append(key)
    order = list(leading)
    for k in a:
        key = (k.scope, k.seq)
        order.append(key)
        order += after.get(key, ())
    return [_row(key, left.get(key), right.get(key)) for key in order]


def _row(key: tuple[str, int], l: DiffKey | None, r: DiffKey | None) -> DiffRow:
    if l is None:
        state: State = "right"
    elif r is None:
        state = "left"
    elif l.request_hash != r.request_hash:
        state = "request"
    elif l.result_text != r.result_text or l.status != r.status:
        state = "result"
    else:
        state = "same"
    return DiffRow(key[0], key[1], l, r, state, preview(l), preview(r))


def first_divergence(rows: list[DiffRow]) -> int | None:
    return next((i for i, row in enumerate(rows) if row.state != "same"), None)


def preview(k: DiffKey | None, width: int = 160) -> str:
    """One line saying what an effect gave back (a reply's text or tool calls, a tool's result, code's error)."""
    if k is None:
        return ""
    if k.status != "ok" or k.result_text is None:
        return k.status
    try:
        result = _json.loads(k.result_text)
    except ValueError:
        return "(unreadable result)"
    text = _summary(k.kind, result)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary(kind: str, result: Any) -> str:
    if not isinstance(result, dict):
        return _json.dumps_str(result)
    if kind == "model":
        message = result.get("message") or {}
        calls = [((c.get("function") or {}).get("name") or "?") for c in message.get("tool_calls") or ()
                 if isinstance(c, dict)]
        content = message.get("content") if isinstance(message, dict) else None
        return (f"→ {', '.join(map(str, calls))} " if calls else "") + (str(content) if content else "")
    if kind == "tool":
        return ("error: " if result.get("is_error") else "") + str(result.get("content", ""))
    if kind == "sandbox":
        error = result.get("error")
        if isinstance(error, dict):
            return f"raised {error.get('type')}: {error.get('message')}"
        return str(result.get("stdout") or "") or "ok"
    return _json.dumps_str(result)
