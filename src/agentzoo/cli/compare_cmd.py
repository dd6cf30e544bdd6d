"""Commands on eval result folders, and where exports go.

- `agentzoo compare DIR [DIR ...]`: several folders side by side.
- `agentzoo export DIR --min-reward R`: the results-folder half of `export` (`export_eval_cmd`);
  `check_out`/`open_out` and `export_one_run` serve the run half in `main` too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from ..errors import ConfigError, JournalError
from . import render

console = Console(highlight=False, soft_wrap=True)
MAX_SCOPES_LISTED = 8


def compare_rows(folders: list[Path]) -> tuple[list[dict[str, Any]], str | None]:
    """One row per (folder, agent, env, model), and the oracle note when any folder used the oracle.

    A row's `label` is its folder's name when the names tell the folders apart, else the path as given.
    """
    from ..eval.report import load_summary

    rows, oracle_note = [], None
    names = [Path(f).resolve().name or str(f) for f in folders]
    labels = names if len(set(names)) == len(names) else [str(f) for f in folders]
    for folder, label in zip(folders, labels):
        summary = load_summary(folder)
        oracle_note = oracle_note or summary.get("oracle_note")
        for g in summary["groups"]:
            s = g["success"]
            rows.append({
                "folder": str(folder), "label": label, "agent": g["agent"], "env": g["env"], "model": g["model"],
                "samples": g["scored"], "tasks": g["tasks"], "infra_errors": g["infra_errors"],
                "success_rate": s["rate"], "ci": [s["low"], s["high"]], "pass_at_k": g["pass_at_k"],
                "cost_usd": g["cost"]["usd"], "cost_per_sample": g["cost"]["per_sample"],
                "unpriced_calls": g["cost"]["unpriced_calls"],
                "model_calls": g["cost"]["model_calls"], "tokens_per_sample": g["tokens"]["per_sample"],
                "model_calls_per_sample": g["calls"]["model_per_sample"],
                "tool_calls_per_sample": g["calls"]["tool_per_sample"],
                "latency_p50_seconds": g["model_latency_seconds"]["p50"],
            })
    return rows, oracle_note


def compare_cmd(folders: list[Path] = typer.Argument(..., help="eval result folders (the --out of `agentzoo eval`)"),
                as_json: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
                ) -> None:
    """Compare eval result folders: success ± 95% CI, pass@k, cost, tokens, calls and latency per agent × env ×
    model. On a narrow terminal the least needed columns are left out (and named); --json has all."""
    from .. import _json

    rows, oracle_note = compare_rows(folders)
    if as_json:
        sys.stdout.write(_json.dumps_str({"rows": rows, "oracle_note": oracle_note}) + "\n")
        return
    console.print(compare_table(rows))
    if any(r["unpriced_calls"] for r in rows):
        console.print("cost counts priced model calls only: 'unpriced' = no call had a known price, "
                      "† = some calls had none")
    if oracle_note:
        console.print(Text.assemble(("Note:", "bold yellow"), " ", render.plain(oracle_note)))


def compare_table(rows: list[dict[str, Any]]) -> render.FittedTable:
    """The comparison as a table that fits the terminal: on a narrow one the figures that matter least
    (latency, calls, tokens, pass@k) go first; what tells rows apart, success and cost stay."""
    from ..eval.report import fmt_cost, fmt_num, fmt_pct, fmt_rate, fmt_seconds

    def column(header: str, cells: Iterable[str], drop_order: int = 0, *, wrap: bool = True, min_width: int = 8,
               max_width: int = 40, right: bool = False, escape: bool = False) -> render.Column:
        texts = [render.plain(c) if escape else Text(c) for c in cells]
        return render.Column(header, texts, drop_order=drop_order, wrap=wrap, min_width=min_width,
                             max_width=max_width, justify="right" if right else "left")

    def identity(header: str, key: str) -> render.Column:
        # A column whose value is the same on every row says nothing a row needs: it goes early.
        varies = len({r[key] for r in rows}) > 1
        return column(header, (str(r[key]) for r in rows), 0 if varies else 6, min_width=24, max_width=60,
                      escape=True)

    columns = [
        identity("folder", "label"), identity("agent", "agent"), identity("env", "env"), identity("model", "model"),
        column("n", (str(r["samples"]) for r in rows), 2, wrap=False, right=True),
        column("success (95% CI)", (fmt_rate({"rate": r["success_rate"], "low": r["ci"][0], "high": r["ci"][1]})
                                    for r in rows), wrap=False, right=True),
        column("pass@k", (" · ".join(f"@{k} {fmt_pct(v)}" for k, v in r["pass_at_k"].items()) or "—" for r in rows),
               4, min_width=10),
        column("cost/sample", (fmt_cost({"usd": r["cost_usd"], "per_sample": r["cost_per_sample"],
                                         "unpriced_calls": r["unpriced_calls"], "model_calls": r["model_calls"]})
                               for r in rows), 1, wrap=False, right=True),
        column("tokens/sample", (fmt_num(r["tokens_per_sample"]) for r in rows), 5, wrap=False, right=True),
        column("calls/sample model / tool", (f"{fmt_num(r['model_calls_per_sample'], 2)} / "
                                             f"{fmt_num(r['tool_calls_per_sample'], 2)}" for r in rows),
               7, min_width=11, right=True),
        column("latency p50", (fmt_seconds(r["latency_p50_seconds"]) for r in rows), 8, wrap=False, right=True),
        column("infra errors", (str(r["infra_errors"]) for r in rows), 3, wrap=False, right=True),
    ]
    return render.FittedTable(columns, title="eval comparison", boxed=True, hint="; `--json` has everything")


# ------------------------------------------------------------------------------------ exports

def check_out(out: Path, append: bool) -> None:
    """Refuse an --out that exists unless --append was given: exporting twice into one training file
    would silently double its samples. A folder or a device is an error naming it."""
    from .._files import check_file_path

    if check_file_path(out, "--out file") and not append:
        raise ConfigError(f"--out {out} exists: pass --append to add to it, or name a new file")


def open_out(out: Path, append: bool) -> IO[str]:
    """The --out file to write (created 0600), checked as `check_out` does."""
    from .._files import open_private

    check_out(out, append)
    return open_private(out, "--out file", "a")


def export_one_run(journal: Any, run_id: str, fmt: str, scope: str) -> dict[str, Any]:
    """`export_run`, but a scope with nothing to export is a ConfigError listing the scopes that have."""
    from ..export import export_run

    try:
        return export_run(journal, run_id, fmt, scope)
    except JournalError as exc:
        if type(exc) is not JournalError:  # a missing run, a corrupt journal: not about the scope
            raise
        info = journal.get_run(run_id)
        counts = {s: u["model_calls"] for s, u in journal.usage_by_scope(info.run_id).items()}
        raise ConfigError(f"--scope {scope or '<root>'!r}: run {info.run_id} has no successful model call in "
                          f"that scope, so there is nothing to export. {_scope_list(counts)}") from None


def _scope_list(model_calls: dict[str, int]) -> str:
    """`Its scopes with model calls: 'planner' (2), 'solver' (1); export one with --scope NAME.`"""
    found = sorted(((s, n) for s, n in model_calls.items() if n), key=lambda item: render.natural_order(item[0]))
    if not found:
        return "No scope has a model call: there is nothing to export."
    listed = ", ".join(f"{s or '<root>'!r} ({n})" for s, n in found[:MAX_SCOPES_LISTED])
    more = f" and {len(found) - MAX_SCOPES_LISTED} more" if len(found) > MAX_SCOPES_LISTED else ""
    return f"Scopes with model calls (count): {listed}{more}; export one with --scope NAME."


def export_eval_cmd(folder: Path, fmt: str, out: Optional[Path], scope: str, min_reward: float,
                    journal_path: Optional[Path], *, append: bool = False) -> None:
    """Write one JSON line per sample of `folder` with reward ≥ min_reward (to `out`, or stdout).

    When no sample has a model call in `scope` (a team's root makes none), nothing is written and the
    error lists the scopes the samples do have; `out` is only created once there is a line for it."""
    from .. import _json
    from ..eval.export import ExportCounts, export_eval
    from ..eval.report import load_rows

    if out is not None:
        check_out(out, append)
    counts = ExportCounts()
    records = export_eval(folder, fmt, min_reward, scope, journal_path, counts)
    f: IO[str] | None = None
    try:
        for record in records:
            line = _json.dumps_str(record) + "\n"
            if out is None:
                sys.stdout.write(line)
                continue
            if f is None:
                f = open_out(out, append)
            f.write(line)
    finally:
        if f is not None:
            f.close()
    report = console if out is not None else Console(stderr=True, highlight=False, soft_wrap=True)
    scopes = ""
    if counts.no_trajectory:
        missing = set(counts.no_trajectory)
        totals: dict[str, int] = {}
        for row in load_rows(folder)[0]:
            if row["key"] in missing:
                for name, usage in (row.get("scopes") or {}).items():
                    totals[name] = totals.get(name, 0) + int(usage.get("model_calls") or 0)
        scopes = _scope_list(totals)
        if not counts.exported:
            raise ConfigError(f"--scope {scope or '<root>'!r}: none of the {len(missing)} sample(s) of {folder} "
                              f"with reward ≥ {min_reward:g} has a model call in that scope, so nothing was "
                              f"written. {scopes}")
    skipped = [f"{counts.below_min_reward} below reward {min_reward:g}"]
    if counts.infra_errors:
        skipped.append(f"{counts.infra_errors} infra errors")
    if counts.no_trajectory:
        skipped.append(f"{len(counts.no_trajectory)} with no model call in scope {scope or '<root>'!r}")
    report.print(render.plain(f"wrote {counts.exported} trajectories{f' to {out}' if out else ''} from {folder} "
                              f"(skipped: {', '.join(skipped)})" + (f". {scopes}" if scopes else "")))
