"""How runs look on the terminal: one line per effect as it happens, then a summary.

The same renderer draws a live run, a replay and `show`, so a replay prints exactly what the
run printed (timings and usage come from the journal entries, not from the clock).

Everything a model, a tool, a journal or a config wrote is printed as rich `Text`, never as
markup: `list[int]` stays `list[int]`, `[/red]` is shown, not parsed, `:smile:` is not an emoji.
Terminal control characters in it (escape sequences, carriage returns, bidi overrides) are
shown as escapes (`\\x1b[31m`) instead of reaching the terminal (`agentzoo._visible`).
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .. import _json
from .._visible import visible
from ..runtime.entry import Entry, RunInfo
from .waiting import WaitingLine

MAX_SHOWN = 300
"""Characters of a message or tool result shown on its one line."""
MAX_ANSWER = 20_000
"""Characters of an answer or error shown whole; the journal keeps all of it."""


def plain(text: Any, style: str = "") -> Text:
    """Untrusted text as a rich `Text`: printed as written, with control characters visible."""
    return Text(visible(str(text)), style=style)


def _clip(text: str, width: int = MAX_SHOWN) -> str:
    """One line of at most about `width` characters: newlines as ⏎, control characters visible."""
    total = len(text)
    shown = visible(text[: width * 2]).replace("\n", "⏎ ")
    if len(shown) <= width and total <= width * 2:
        return shown
    rest = total - (width - 1)  # of the original characters (escapes and ⏎ make the shown ones longer)
    return shown[: width - 1] + (f"… (+{rest} chars)" if rest > 0 else "…")


def clip_long(text: str, limit: int = MAX_ANSWER, where: str = "") -> str:
    """Up to `limit` characters of a multi-line text (an answer, an error), saying what was left out."""
    if len(text) <= limit:
        return visible(text)
    return visible(text[:limit]) + f"\n… ({len(text) - limit:,} more characters not shown{where})"


def cost_text(cost: float | None) -> str:
    """The cost of one model call: `unpriced` when its model has no known price."""
    return "unpriced" if cost is None else f"${cost:.6f}"


def total_cost_text(usd: float, unpriced_calls: int) -> str:
    """A sum over calls: `$x`, `unpriced` when no call had a price, `$x + N unpriced calls` when some had none."""
    if not unpriced_calls:
        return f"${usd:.6f}"
    if not usd:
        return "unpriced"
    return f"${usd:.6f} + {unpriced_calls} unpriced call{'s' if unpriced_calls != 1 else ''}"


# ------------------------------------------------------------------------------- the live lines

@dataclass
class RunBeingWatched:
    """The run the CLI is performing, as the gateway announced it (for the Ctrl-C message)."""

    run_id: str
    mode: str
    journal_path: Path | str | None
    """The journal's file, or its URL with the password masked."""


_watched: RunBeingWatched | None = None  # the CLI performs one run at a time
_waiting: WaitingLine | None = None


class EntryPrinter:
    """A gateway listener that prints each effect; `mark_served` tags effects served from the journal.

    On a terminal it also shows, under the lines, how long a model call has been in flight
    (`waiting.WaitingLine`), so a hung endpoint looks hung, not finished.
    """

    def __init__(self, console: Console, *, mark_served: bool = False, streaming: bool = False) -> None:
        self.console, self.mark_served, self.streaming = console, mark_served, streaming
        self._step = 0
        self._streamed = False
        self.waiting = WaitingLine(console)

    # Gateway hooks (optional listener methods, see runtime.gateway.Listener).
    def on_run(self, run_id: str, mode: str, journal: Any) -> None:
        global _watched, _waiting
        path = getattr(journal, "path", None)
        _watched = RunBeingWatched(run_id, mode, Path(path) if path is not None and not isinstance(path, str) else path)
        _waiting = self.waiting

    def on_start(self, scope: str, seq: int, kind: str, name: str) -> None:
        if kind == "model":
            self.waiting.start((scope, seq), name, scope)

    def on_delta(self, text: str) -> None:
        self.waiting.saw_output()  # tokens are arriving: not hung, and the line would break the stream
        if not self._streamed:
            self.console.print(Text.assemble((f"step {self._step + 1}", "bold"), " ", ("streaming:", "dim")), end=" ")
            self._streamed = True
        self.console.print(plain(text), end="", soft_wrap=True)

    def __call__(self, entry: Entry, served: bool) -> None:
        self.waiting.end((entry.scope, entry.seq))
        if self._streamed:
            self.console.print()
            self._streamed = False
        tag = Text(" (from journal)", style="cyan") if served and self.mark_served else Text("")
        where = Text.assemble(plain(entry.scope, "magenta"), " ") if entry.scope else Text("")
        if entry.kind == "model":
            self._step += 1
            u = entry.usage
            self._print(Text.assemble((f"step {self._step}", "bold"), " ", where,
                                      plain(f"model {entry.name}", "blue"),
                                      f" {u.input_tokens}→{u.output_tokens} tok · {cost_text(entry.cost_usd)}"
                                      f" · {entry.duration_s:.2f}s{model_timing(entry)}", tag))
            if entry.status != "ok":
                self._error(entry)
                return
            message = (entry.result or {}).get("message") or {}
            content = message.get("content")
            if content and not (self.streaming and not served):
                self._line(Text(_clip(str(content)), style="dim"))
            for call in message.get("tool_calls") or ():
                fn = (call.get("function") or {}) if isinstance(call, dict) else {}
                self._line(Text.assemble(plain(f"→ {fn.get('name')}", "yellow"),
                                         f"({_clip(str(fn.get('arguments', '')), 200)})"))
        elif entry.kind == "tool":
            if entry.status != "ok":
                self._error(entry)
                return
            result = entry.result or {}
            style = "red" if result.get("is_error") else "green"
            self._line(Text.assemble(plain(f"← {entry.name}", style), " ", _clip(str(result.get("content", ""))),
                                     (f" {entry.duration_s * 1000:.1f}ms", "dim"), tag))
        else:
            # _effect_text escapes what it interpolates; read as markup only for its own styles.
            self._line(Text.assemble(where, Text.from_markup(_effect_text(entry), emoji=False), tag))

    def _line(self, text: Text) -> None:
        self._print(Text.assemble("   ", text))

    def _print(self, text: Text) -> None:
        """One line. To a terminal through rich (styles, wrapping); to a file or a pipe as the plain
        line, unwrapped, which is what rich would write there less the wrapping, at a tenth of its
        cost (a 1,000-step `show` or `replay` spent most of its time in rich)."""
        if self.console.is_terminal or self.console.record:
            self.console.print(text)
        else:
            self.console.file.write(text.plain + "\n")

    def _error(self, entry: Entry) -> None:
        err = entry.error or {}
        self._line(Text(f"✗ {_clip(str(err.get('type', entry.status)), 80)}: {_clip(str(err.get('message', '')))}",
                        style="red"))


def model_timing(entry: Entry) -> str:
    """Where a model call's time went, when its entry says (`ModelResponse.latency`, `.attempts`):
    ` (queue 0.40s · first token 0.52s · 3 attempts)`, or nothing."""
    holder = entry.result if entry.status == "ok" else entry.error
    holder = holder if isinstance(holder, dict) else {}
    latency = holder.get("latency") if isinstance(holder.get("latency"), dict) else {}
    parts = [f"{label} {value:.2f}s" for label, key in (("queue", "queue_s"), ("first token", "first_token_s"))
             if isinstance(value := latency.get(key), (int, float)) and not isinstance(value, bool)]
    attempts = holder.get("attempts")
    if isinstance(attempts, list) and len(attempts) > 1:
        parts.append(f"{len(attempts)} attempts")
    return f" ({' · '.join(parts)})" if parts else ""


def _effect_text(entry: Entry) -> str:
    """`sandbox exec ok`, or for code that raised (the effect itself is ok: the error is its
    result) `sandbox exec raised NameError: name 'x' is not defined`, escaped: shown as written."""
    error = (entry.result or {}).get("error") if entry.kind == "sandbox" and entry.status == "ok" else None
    if isinstance(error, dict):
        raised = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        return f"{entry.kind} {escape(entry.name)} [red]raised {escape(_clip(raised))}[/]"
    return f"{entry.kind} {escape(entry.name)} {entry.status}"


def stop_waiting() -> None:
    """Take the waiting line off the terminal (the run ended, or was interrupted)."""
    if _waiting is not None:
        _waiting.stop()


def interrupted_message(default_journal: Path | str) -> Text:
    """What Ctrl-C during `run`/`resume`/`fork` prints: the run id and the exact command to finish it."""
    stop_waiting()
    watched = _watched
    if watched is None:
        return Text("interrupted", style="yellow")  # no run had started
    if watched.mode == "replay":
        return Text.assemble(("interrupted", "yellow"), plain(f": the replay of run {watched.run_id} stopped "
                                                              "(a replay records nothing)"))
    command = f"agentzoo resume {shlex.quote(watched.run_id)}"
    if watched.journal_path is not None and _resolved(watched.journal_path) != _resolved(default_journal):
        command += f" --journal {shlex.quote(str(watched.journal_path))}"
    return Text.assemble(("interrupted", "yellow"), plain(f": run {watched.run_id} is recorded as interrupted; "
                                                          "to finish it without repeating a completed call:\n  "),
                         plain(command, "bold"))


def _resolved(path: Path | str) -> Path | str:
    if isinstance(path, str):  # a URL: compared as shown, password masked
        from ..runtime.stores import masked_url

        return masked_url(path)
    try:
        return path.expanduser().resolve()
    except OSError:
        return path


def print_summary(console: Console, result: Any) -> None:
    """After a run: the answer, then one line of totals and the run id."""
    global _watched
    stop_waiting()
    _watched = None  # that run is over: a later Ctrl-C has nothing of it to resume
    where = f": `agentzoo show {result.run_id} --json` has all of it"
    if result.answer is not None:
        console.print(Text.assemble(("answer:", "bold green"), " ", clip_long(str(result.answer), where=where)))
    if result.error:
        console.print(Text.assemble(("failed:", "bold red"), " ",
                                    clip_long(f"{result.error.get('type')}: {result.error.get('message')}",
                                              where=where)))
    u = result.usage
    console.print(Text.assemble("run ", plain(result.run_id, "bold"),
                                plain(f" · {result.status} · {result.model_calls} model calls · {result.tool_calls} "
                                      f"tool calls · {u.input_tokens}→{u.output_tokens} tok · "
                                      f"{total_cost_text(result.cost_usd, result.unpriced_calls)}")))


def run_header(console: Console, info: RunInfo) -> None:
    console.print(Text.assemble(plain(f"run {info.run_id}", "bold"),
                                plain(f" · {info.status} · config {info.config_hash}"
                                      + (f" · forked from {info.parent_id}" if info.parent_id else ""))))
    config = info.config if isinstance(info.config, dict) else {}
    if config.get("model"):
        agent = f" · agent: {config['agent']}" if config.get("agent") else ""
        console.print(plain(f"model: {config['model']}{agent}"))
    console.print(Text.assemble("task: ", clip_long(info.task or "")))
    fp = info.fork_point
    if isinstance(fp, dict):
        differences = "; ".join(str(d) for d in (fp.get("differences") or [])[:3])
        console.print(plain(f"diverged from parent at scope {fp.get('scope') or '<root>'!r} seq {fp.get('seq')}: "
                            f"{_clip(differences, 1000)}"))
    if info.error:
        console.print(Text(f"error: {clip_long(_json.dumps_str(info.error), 4000)}", style="red"))


def print_answer(console: Console, info: RunInfo) -> None:
    """`show`: the recorded answer, clipped like a live run's."""
    if info.answer is not None:
        console.print(Text.assemble(("answer:", "bold green"), " ",
                                    clip_long(str(info.answer), where=f": `agentzoo show {info.run_id} --json`")))


# ------------------------------------------------------------------------- tables that fit

@dataclass
class Column:
    """A column of a `FittedTable`."""

    header: str
    cells: list[Text] = field(default_factory=list)
    drop_order: int = 0
    """0: always shown; when the terminal is too narrow, the highest goes first."""
    wrap: bool = True
    """False for ids, statuses and numbers: never wrapped, never cut (the table drops columns instead)."""
    min_width: int = 10
    """A flexible column narrower than this is useless (shorter content is as wide as it is)."""
    max_width: int = 60
    """A flexible column is never made wider than this."""
    justify: str = "left"

    def natural(self) -> int:
        widest = max([cell_len(self.header)] + [max(map(cell_len, c.plain.split("\n")), default=0)
                                                 for c in self.cells])
        return widest if not self.wrap else min(widest, self.max_width)

    def need(self) -> int:
        return self.natural() if not self.wrap else min(self.natural(), self.min_width)


class FittedTable:
    """A table that, on a narrow terminal, leaves out its least important columns (and says which)
    rather than cutting ids and statuses to an ellipsis. Flexible columns share the room that is
    left; `one_line` cuts their cells with an ellipsis (one line per row) instead of wrapping them."""

    def __init__(self, columns: list[Column], *, title: str | None = None, boxed: bool = False,
                 one_line: bool = False, hint: str = "") -> None:
        self.columns, self.title, self.boxed, self.one_line, self.hint = columns, title, boxed, one_line, hint
        self._per_column, self._edge = (3, 1) if boxed else (2, 0)  # padding (and a border) per column

    def fit(self, width: int) -> tuple[list[Column], list[Column]]:
        """The columns shown at `width` and the ones left out."""
        shown = list(self.columns)
        while sum(c.need() + self._per_column for c in shown) + self._edge > width:
            droppable = [c for c in shown if c.drop_order > 0]
            if not droppable:
                break
            shown.remove(max(droppable, key=lambda c: (c.drop_order, shown.index(c))))
        return shown, [c for c in self.columns if c not in shown]

    def widths(self, shown: list[Column], width: int) -> dict[int, int]:
        """Widths of the flexible columns: the room the fixed ones leave, shared fairly (the narrow
        content keeps its width, the others split the rest evenly)."""
        room = width - self._edge - sum(self._per_column + (0 if c.wrap else c.natural()) for c in shown)
        flexible = sorted((c for c in shown if c.wrap), key=Column.natural)
        out: dict[int, int] = {}
        for i, c in enumerate(flexible):
            out[id(c)] = max(1, min(c.natural(), room // (len(flexible) - i)))
            room -= out[id(c)]
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        shown, dropped = self.fit(options.max_width)
        widths = self.widths(shown, options.max_width)
        table = Table(title=self.title, header_style="bold") if self.boxed else \
            Table(title=self.title, box=None, header_style="bold")
        for c in shown:
            if c.wrap:
                table.add_column(c.header, justify=c.justify,  # type: ignore[arg-type]
                                 width=widths[id(c)], no_wrap=self.one_line,
                                 overflow="ellipsis" if self.one_line else "fold")
            else:
                table.add_column(c.header, justify=c.justify,  # type: ignore[arg-type]
                                 no_wrap=True, min_width=c.natural())
        for i in range(max((len(c.cells) for c in self.columns), default=0)):
            table.add_row(*(c.cells[i] if i < len(c.cells) else Text("") for c in shown))
        yield table
        if dropped:
            # A left-out column with one value on every row is said in full: nothing is lost.
            same = {c.header: c.cells[0] for c in dropped if c.cells and len({t.plain for t in c.cells}) == 1}
            others = [c.header for c in dropped if c.header not in same]
            parts = [f"{', '.join(others)} not shown{self.hint}"] if others else []
            if same:
                rows = max(len(c.cells) for c in self.columns)
                said = ", ".join(f"{h} {t.plain}" for h, t in same.items())
                parts.append(("on every row: " if rows > 1 else "") + said)
            yield Text(f"(narrow terminal: {'; '.join(parts)})", style="dim")


def one_line(text: str, limit: int = 400) -> str:
    """A table cell's text: its first `limit` characters on one line, control characters visible."""
    return visible(text[:limit]).replace("\n", "⏎ ")


def runs_table(runs: list[RunInfo]) -> FittedTable:
    status_style = {"finished": "green", "failed": "red", "interrupted": "yellow", "corrupt": "red"}
    columns = [
        Column("run", [plain(r.run_id) for r in runs], wrap=False),
        Column("status", [plain(r.status, status_style.get(r.status, "")) for r in runs], wrap=False),
        Column("task", [Text(one_line(r.task or "")) for r in runs], drop_order=1, min_width=14, max_width=50),
        Column("answer", [Text(one_line(r.answer or "")) for r in runs], drop_order=2, min_width=12, max_width=40),
        Column("model", [Text(one_line(_short_model(str(r.config.get("model", ""))))) for r in runs],
               drop_order=3, min_width=16, max_width=40),
        Column("created (UTC)", [Text(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.created_at)))
                                 for r in runs], drop_order=4, wrap=False),
    ]
    if any(r.parent_id for r in runs):
        columns.append(Column("parent", [plain(r.parent_id or "") for r in runs], drop_order=5, wrap=False))
    return FittedTable(columns, one_line=True, hint="; `agentzoo show RUN` has them")


def _short_model(spec: str) -> str:
    """`scripted:/long/path/x.json` → `scripted:x.json`; `openai-compatible:m@http://h:1/v1` → `m@h:1`."""
    kind, _, rest = spec.partition(":")
    if kind == "scripted":
        return "scripted:" + rest.rsplit("/", 1)[-1]
    if kind == "openai-compatible":
        name, _, url = rest.partition("@")  # the first @: the URL's own (user:pass@host) comes after
        return f"{name}@{url.split('://', 1)[-1].split('/', 1)[0]}"
    return spec


def scope_table(usage: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="per scope", box=None, header_style="bold")
    for col in ("scope", "model calls", "tool calls", "tokens in", "tokens out", "cost"):
        table.add_column(col, justify="right" if col != "scope" else "left", overflow="fold")
    for scope, row in sorted(usage.items(), key=lambda item: natural_order(item[0])):
        table.add_row(plain(scope or "<root>"), str(row["model_calls"]), str(row["tool_calls"]),
                      str(row["input_tokens"]), str(row["output_tokens"]),
                      total_cost_text(row["cost_usd"], row.get("unpriced_calls") or 0))
    return table


def natural_order(scope: str) -> list[object]:
    """Sort key that puts `path#9` before `path#10` (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", scope)]
