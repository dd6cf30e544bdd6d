"""How runs look on the terminal: one line per effect as it happens, then a summary.

The same renderer draws a live run, a replay and `show`, so a replay prints exactly what the
run printed (timings and usage come from the journal entries, not from the clock).
"""

from __future__ import annotations

import re

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import _json
from ..runtime.entry import Entry, RunInfo

MAX_SHOWN = 300


def _clip(text: str, width: int = MAX_SHOWN) -> str:
    text = text.replace("\n", "⏎ ")
    return text if len(text) <= width else text[: width - 1] + f"… (+{len(text) - width + 1} chars)"


def cost_text(cost: float | None) -> str:
    return "$?" if cost is None else f"${cost:.6f}"


class EntryPrinter:
    """A gateway listener that prints each effect; `mark_served` tags effects served from the journal."""

    def __init__(self, console: Console, *, mark_served: bool = False, streaming: bool = False) -> None:
        self.console, self.mark_served, self.streaming = console, mark_served, streaming
        self._step = 0
        self._streamed = False

    def on_delta(self, text: str) -> None:
        if not self._streamed:
            self.console.print(f"[bold]step {self._step + 1}[/] [dim]streaming:[/]", end=" ")
            self._streamed = True
        self.console.print(escape(text), end="", soft_wrap=True, highlight=False)

    def __call__(self, entry: Entry, served: bool) -> None:
        if self._streamed:
            self.console.print()
            self._streamed = False
        tag = " [cyan](from journal)[/]" if served and self.mark_served else ""
        where = f"[magenta]{escape(entry.scope)}[/] " if entry.scope else ""
        if entry.kind == "model":
            self._step += 1
            u = entry.usage
            self.console.print(f"[bold]step {self._step}[/] {where}[blue]model {escape(entry.name)}[/] "
                               f"{u.input_tokens}→{u.output_tokens} tok · {cost_text(entry.cost_usd)} · "
                               f"{entry.duration_s:.2f}s{tag}", highlight=False)
            if entry.status != "ok":
                self._error(entry)
                return
            message = entry.result["message"]
            if message.get("content") and not (self.streaming and not served):
                self.console.print(f"   [dim]{escape(_clip(message['content']))}[/]", highlight=False)
            for call in message.get("tool_calls") or ():
                fn = call["function"]
                self.console.print(f"   [yellow]→ {escape(fn['name'])}[/]({escape(_clip(fn['arguments'], 200))})",
                                   highlight=False)
        elif entry.kind == "tool":
            if entry.status != "ok":
                self._error(entry)
                return
            result = entry.result or {}
            style = "red" if result.get("is_error") else "green"
            self.console.print(f"   [{style}]← {escape(entry.name)}[/] {escape(_clip(str(result.get('content', ''))))}"
                               f" [dim]{entry.duration_s * 1000:.1f}ms{tag}[/]", highlight=False)
        else:
            self.console.print(f"   {where}{_effect_text(entry)}{tag}", highlight=False)

    def _error(self, entry: Entry) -> None:
        err = entry.error or {}
        self.console.print(f"   [red]✗ {escape(err.get('type', entry.status))}: {escape(_clip(err.get('message', '')))}[/]",
                           highlight=False)


def _effect_text(entry: Entry) -> str:
    """`sandbox exec ok`, or for code that raised (the effect itself is ok: the error is its
    result) `sandbox exec raised NameError: name 'x' is not defined`, escaped: shown as written."""
    error = (entry.result or {}).get("error") if entry.kind == "sandbox" and entry.status == "ok" else None
    if isinstance(error, dict):
        raised = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        return f"{entry.kind} {escape(entry.name)} [red]raised {escape(_clip(raised))}[/]"
    return f"{entry.kind} {escape(entry.name)} {entry.status}"


def print_summary(console: Console, result: Any) -> None:
    """After a run: the answer, then one line of totals and the run id."""
    if result.answer is not None:
        console.print(f"[bold green]answer:[/] {escape(result.answer)}", highlight=False)
    if result.error:
        console.print(f"[bold red]failed:[/] {escape(result.error['type'])}: {escape(result.error['message'])}",
                      highlight=False)
    u = result.usage
    unpriced = f" (+{result.unpriced_calls} calls at unknown price)" if result.unpriced_calls else ""
    console.print(f"run [bold]{result.run_id}[/] · {result.status} · {result.model_calls} model calls · "
                  f"{result.tool_calls} tool calls · {u.input_tokens}→{u.output_tokens} tok · "
                  f"${result.cost_usd:.6f}{unpriced}", highlight=False)


def runs_table(runs: list[RunInfo]) -> Table:
    table = Table(box=None, header_style="bold")
    for col in ("run", "status", "created (UTC)", "model", "task", "answer", "parent"):
        table.add_column(col, overflow="fold")
    import time

    for r in runs:
        table.add_row(r.run_id, r.status, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.created_at)),
                      _short_model(str(r.config.get("model", ""))), _clip(r.task or "", 40), _clip(r.answer or "", 30),
                      r.parent_id or "")
    return table


def _short_model(spec: str) -> str:
    """`scripted:/long/path/x.json` → `scripted:x.json`; `openai-compatible:m@http://h:1/v1` → `m@h:1`."""
    kind, _, rest = spec.partition(":")
    if kind == "scripted":
        return "scripted:" + rest.rsplit("/", 1)[-1]
    if kind == "openai-compatible":
        name, _, url = rest.rpartition("@")
        return f"{name}@{url.split('://', 1)[-1].split('/', 1)[0]}"
    return spec


def scope_table(usage: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="per scope", box=None, header_style="bold")
    for col in ("scope", "model calls", "tool calls", "tokens in", "tokens out", "cost"):
        table.add_column(col, justify="right" if col != "scope" else "left")
    for scope, row in sorted(usage.items(), key=lambda item: _natural(item[0])):
        table.add_row(scope or "<root>", str(row["model_calls"]), str(row["tool_calls"]), str(row["input_tokens"]),
                      str(row["output_tokens"]), f"${row['cost_usd']:.6f}")
    return table


def run_header(console: Console, info: RunInfo) -> None:
    console.print(f"[bold]run {info.run_id}[/] · {info.status} · config {info.config_hash}"
                  + (f" · forked from {info.parent_id}" if info.parent_id else ""), highlight=False)
    console.print(f"task: {escape(info.task or '')}", highlight=False)
    if info.fork_point:
        console.print(f"diverged from parent at scope {info.fork_point['scope'] or '<root>'!r} seq "
                      f"{info.fork_point['seq']}: {escape('; '.join(info.fork_point['differences'][:3]))}",
                      highlight=False)
    if info.error:
        console.print(f"[red]error: {escape(_json.dumps_str(info.error))}[/]", highlight=False)


def _natural(scope: str) -> list[object]:
    """Sort key that puts `path#9` before `path#10` (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", scope)]
