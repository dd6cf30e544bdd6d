"""What the viewer sends to the page: journal records made ready to show, as plain JSON.

Nothing here makes markup: values stay text, and the page sets them as `textContent`. What it does:
- clips long strings (a 5 MB tool result shows its first `MAX_TEXT` characters and says how many
  more there are; the raw entry has all of it), and bounds what one entry may send in all;
- picks out images (`data:image/...;base64,` strings, e.g. a web environment's screenshot), which the
  page shows as images, never as text or markup; an SVG is not an image here (it can hold script);
- leaves out of a model request the messages that are the same as in the scope's previous call,
  so a 1,000-step run does not send its history 1,000 times (the count of those left out is sent);
- builds the scope tree, the per-scope usage, the budgets used and the commands for a run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from ..runtime.entry import Entry, RunInfo
from ..runtime.scope import is_within
from .store import DEFAULT_AGENT, ScopeRow

MAX_TEXT = 20_000
"""Characters of one string sent to the page; the rest is counted, and the raw entry has it."""
MAX_ENTRY_TEXT = 400_000
"""Characters of all the strings of one entry sent to the page; past it strings are cut short."""
MAX_IMAGE = 8_000_000
"""Characters of one image's data URL; a larger one is shown as a note."""
_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\r\n]+\Z")
_BRANCH = re.compile(r"#\d+$")


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_ENTRY_TEXT
        self.images: list[str] = []


def clip(value: Any, budget: _Budget | None = None) -> Any:
    """`value` with long strings cut (saying how much was cut) and images moved to `budget.images`."""
    budget = budget or _Budget()
    if isinstance(value, str):
        if value.startswith("data:image/") and len(value) <= MAX_IMAGE and _IMAGE.match(value):
            budget.images.append(value.replace("\r", "").replace("\n", ""))
            return f"[image {len(budget.images)}]"
        limit = max(200, min(MAX_TEXT, budget.left))
        if len(value) <= limit:
            budget.left -= len(value)
            return value
        budget.left -= limit
        return value[:limit] + f"\n… ({len(value) - limit:,} more characters not shown: see the raw entry)"
    if isinstance(value, dict):
        return {str(k): clip(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [clip(v, budget) for v in value]
    return value


def shared_prefix(previous: list[Any], current: list[Any]) -> int:
    """How many leading messages of `current` are the same as in `previous`."""
    n = 0
    for a, b in zip(previous, current):
        if a != b:
            break
        n += 1
    return n


def entry_json(row_id: int, entry: Entry, previous_request: Any = None) -> dict[str, Any]:
    """An entry as the page shows it (see the module docstring)."""
    request, skipped = entry.request, 0
    if entry.kind == "model" and isinstance(request, dict) and isinstance(request.get("messages"), list):
        before = previous_request.get("messages") if isinstance(previous_request, dict) else None
        if isinstance(before, list):
            # Keep at least the last message, so that every call shows what it was asked.
            skipped = min(shared_prefix(before, request["messages"]), max(0, len(request["messages"]) - 1))
        request = {**request, "messages": request["messages"][skipped:]}
    budget = _Budget()
    shown_request, shown_result = clip(request, budget), clip(entry.result, budget)
    return {
        "id": row_id, "scope": entry.scope, "seq": entry.seq, "kind": entry.kind, "name": entry.name,
        "status": entry.status, "error": clip(entry.error), "request": shown_request, "result": shown_result,
        "skipped_messages": skipped, "images": budget.images,
        "usage": {"input_tokens": entry.usage.input_tokens, "output_tokens": entry.usage.output_tokens},
        "cost_usd": entry.cost_usd, "started_at": entry.started_at, "ended_at": entry.ended_at,
        "side_effects": entry.side_effects, "request_hash": entry.request_hash,
    }


# --- the scope tree ----------------------------------------------------------------------------

def scope_tree(rows: list[ScopeRow]) -> list[dict[str, Any]]:
    """Every scope and its ancestors, parents before children (branches in number order), each with
    its own counts and its subtree's time span and totals: the timeline and the per-scope table."""
    own = {r.scope: r for r in rows}
    paths = set(own)
    for path in list(own):
        parts = path.split("/") if path else []
        for i in range(len(parts)):
            paths.add("/".join(parts[:i]))
    paths.add("")
    out = []
    for path in sorted(paths, key=_natural):
        inside = [r for r in rows if is_within(r.scope, path)]
        mine = own.get(path)
        out.append({
            "scope": path, "label": path.rsplit("/", 1)[-1] if path else "(root)", "depth": path.count("/") + bool(path),
            "start": min((r.first_start for r in inside), default=0.0),
            "end": max((r.last_end for r in inside), default=0.0),
            "effects": mine.effects if mine else 0, "model_calls": mine.model_calls if mine else 0,
            "tool_calls": mine.tool_calls if mine else 0, "errors": mine.errors if mine else 0,
            "input_tokens": mine.input_tokens if mine else 0, "output_tokens": mine.output_tokens if mine else 0,
            "cost_usd": mine.cost_usd if mine else 0.0, "unpriced_calls": mine.unpriced_calls if mine else 0,
            "kinds": dict(mine.kinds) if mine else {},
            "subtree": {"effects": sum(r.effects for r in inside),
                        "tokens": sum(r.input_tokens + r.output_tokens for r in inside),
                        "cost_usd": sum(r.cost_usd for r in inside)},
        })
    return out


def _natural(scope: str) -> list[Any]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", scope)]


# --- budgets -----------------------------------------------------------------------------------

def budgets_used(config: dict[str, Any], rows: list[ScopeRow], info: RunInfo) -> list[dict[str, Any]]:
    """Each budget of the run's spec beside what the run used of it (tokens, dollars, model calls, seconds)."""
    budgets: dict[str, dict[str, Any]] = {}
    if isinstance(config.get("budgets"), dict):
        budgets[""] = config["budgets"]
    for scope, limits in (config.get("role_budgets") or {}).items() if isinstance(config.get("role_budgets"), dict) else ():
        if isinstance(limits, dict):
            budgets[str(scope)] = limits
    out = []
    for scope, limits in budgets.items():
        inside = [r for r in rows if is_within(r.scope, scope)]
        if scope == "":
            seconds = max(0.0, info.updated_at - info.created_at)
        else:
            seconds = max((r.last_end for r in inside), default=0.0) - min((r.first_start for r in inside), default=0.0)
        used = {"tokens": sum(r.input_tokens + r.output_tokens for r in inside),
                "usd": sum(r.cost_usd for r in inside), "model_calls": sum(r.model_calls for r in inside),
                "wall_seconds": seconds}
        for what, limit in limits.items():
            if isinstance(limit, (int, float)) and not isinstance(limit, bool) and what in used:
                out.append({"scope": scope, "what": what, "limit": limit, "used": used[what],
                            "fraction": used[what] / limit if limit else None})
    return out


# --- commands ----------------------------------------------------------------------------------

def commands(info: RunInfo, journal: Path, default_journal: Path) -> list[dict[str, str]]:
    """The commands that show, replay, resume, fork and export this run, ready to paste."""
    rid = shlex.quote(info.run_id)
    tail = ""
    if _resolved(journal) != _resolved(default_journal):
        tail = f" --journal {shlex.quote(str(journal))}"
    out = [{"what": "show it in the terminal", "command": f"agentzoo show {rid}{tail}"},
           {"what": "replay it (no model or tool is called)", "command": f"agentzoo replay {rid}{tail}"}]
    if info.status in ("running", "interrupted", "failed"):
        out.append({"what": "resume it (completed calls are not repeated)", "command": f"agentzoo resume {rid}{tail}"})
    out.append({"what": "fork it with a change", "command": f"agentzoo fork {rid} --set sampling.temperature=0.7{tail}"})
    out.append({"what": "export it as OpenTelemetry spans", "command": f"agentzoo otel export {rid}{tail}"})
    return out


def _resolved(path: Path) -> Path:
    try:
        return Path(path).expanduser().resolve()
    except OSError:
        return Path(path)


def agent_label(config: Any) -> str:
    """The agent a run config names, with its preset (`magentic-one@legacy`); a spec leaves out
    fields at their default, so no agent named means the spec's default agent."""
    if not isinstance(config, dict):
        return "?"
    agent = str(config.get("agent") or DEFAULT_AGENT)
    return agent + (f"@{config['preset']}" if config.get("preset") else "")


def role_name(scope: str) -> str:
    """The agent a scope is: its last segment without a branch number (`team/coder#2` → `coder`)."""
    return _BRANCH.sub("", scope.rsplit("/", 1)[-1]) if scope else ""
