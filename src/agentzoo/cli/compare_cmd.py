"""Commands on eval result folders.

- `agentzoo compare DIR [DIR ...]`: several folders side by side.
- `agentzoo export DIR --min-reward R`: the results-folder half of `export` (`export_eval_cmd`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)


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
    """Compare eval result folders: success ± 95% CI, pass@k, cost, tokens, calls and latency per agent × env × model."""
    from .. import _json
    from ..eval.report import fmt_cost, fmt_num, fmt_pct, fmt_rate, fmt_seconds

    rows, oracle_note = compare_rows(folders)
    if as_json:
        sys.stdout.write(_json.dumps_str({"rows": rows, "oracle_note": oracle_note}) + "\n")
        return
    table = Table(title="eval comparison", show_lines=False)
    for name in ("folder", "agent", "env", "model", "n", "success (95% CI)", "pass@k", "cost/sample",
                 "tokens/sample", "calls/sample model / tool", "latency p50", "infra errors"):
        table.add_column(name, justify="left" if name in ("folder", "agent", "env", "model", "pass@k") else "right",
                         overflow="fold")
    for r in rows:
        passk = " · ".join(f"@{k} {fmt_pct(v)}" for k, v in r["pass_at_k"].items()) or "—"
        cost = fmt_cost({"usd": r["cost_usd"], "per_sample": r["cost_per_sample"],
                         "unpriced_calls": r["unpriced_calls"], "model_calls": r["model_calls"]})
        table.add_row(r["label"], r["agent"], r["env"], r["model"], str(r["samples"]),
                      fmt_rate({"rate": r["success_rate"], "low": r["ci"][0], "high": r["ci"][1]}), passk, cost,
                      fmt_num(r["tokens_per_sample"]),
                      f"{fmt_num(r['model_calls_per_sample'], 2)} / {fmt_num(r['tool_calls_per_sample'], 2)}",
                      fmt_seconds(r["latency_p50_seconds"]), str(r["infra_errors"]))
    console.print(table)
    if any(r["unpriced_calls"] for r in rows):
        console.print("cost counts priced model calls only: 'unpriced' = no call had a known price, "
                      "† = some calls had none")
    if oracle_note:
        console.print(f"[bold yellow]Note:[/] {oracle_note}")


def export_eval_cmd(folder: Path, fmt: str, out: Optional[Path], scope: str, min_reward: float,
                    journal_path: Optional[Path]) -> None:
    """Write one JSON line per sample of `folder` with reward ≥ min_reward (to `out`, appended, or stdout)."""
    from .. import _json
    from ..eval.export import ExportCounts, export_eval

    counts = ExportCounts()
    records = export_eval(folder, fmt, min_reward, scope, journal_path, counts)
    if out is None:
        for record in records:
            sys.stdout.write(_json.dumps_str(record) + "\n")
        report = Console(stderr=True, highlight=False, soft_wrap=True)
    else:
        with out.open("a", encoding="utf-8") as f:
            for record in records:
                f.write(_json.dumps_str(record) + "\n")
        report = console
    skipped = [f"{counts.below_min_reward} below reward {min_reward:g}"]
    if counts.infra_errors:
        skipped.append(f"{counts.infra_errors} infra errors")
    if counts.no_trajectory:
        skipped.append(f"{len(counts.no_trajectory)} with no model call in scope {scope or '<root>'!r}")
    report.print(f"wrote {counts.exported} trajectories{f' to {out}' if out else ''} from {folder} "
                 f"(skipped: {', '.join(skipped)})")
