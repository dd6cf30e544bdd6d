"""Commands on eval result folders, and where exports go.

- `agentzoo compare DIR [DIR ...] [--baseline LABEL]`: several folders side by side, and every agent
  against a baseline agent on the same tasks and seeds (`paired_across`).
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
    for folder, label in zip(folders, _folder_labels(folders)):
        summary = load_summary(folder)
        oracle_note = oracle_note or summary.get("oracle_note")
        for g in summary["groups"]:
            s = g["success"]
            rows.append({
                "folder": str(folder), "label": label, "agent": g["agent"], "env": g["env"], "model": g["model"],
                "samples": g["scored"], "tasks": g["tasks"], "infra_errors": g["infra_errors"],
                "success_rate": s["rate"], "ci": [s["low"], s["high"]], "pass_at_k": g["pass_at_k"],
                "pass_hat_k": g.get("pass_hat_k", {}), "flip_rate": (g.get("flip") or {}).get("rate"),
                "cost_usd": g["cost"]["usd"], "cost_per_sample": g["cost"]["per_sample"],
                "cost_per_success": g["cost"].get("per_success"), "tokens_per_success": g["tokens"].get("per_success"),
                "unpriced_calls": g["cost"]["unpriced_calls"],
                "model_calls": g["cost"]["model_calls"], "tokens_per_sample": g["tokens"]["per_sample"],
                "model_calls_per_sample": g["calls"]["model_per_sample"],
                "tool_calls_per_sample": g["calls"]["tool_per_sample"],
                "latency_p50_seconds": g["model_latency_seconds"]["p50"],
            })
    return rows, oracle_note


def compare_cmd(folders: list[Path] = typer.Argument(..., help="eval result folders (the --out of `agentzoo eval`)"),
                baseline: Optional[str] = typer.Option(None, "--baseline", help="the agent label the others are "
                                                       "compared with, pair by pair (from the first folder that has "
                                                       "it) [default: the first folder's baseline]"),
                as_json: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
                ) -> None:
    """Compare eval result folders: success ± 95% CI, pass@k, pass^k, cost, tokens, calls and latency per agent
    × env × model, then each agent against the baseline on the same tasks and seeds (a paired difference with
    its 95% CI). On a narrow terminal the least needed columns are left out (and named); --json has all."""
    from .. import _json

    rows, oracle_note = compare_rows(folders)
    paired = paired_across(folders, baseline)
    if as_json:
        sys.stdout.write(_json.dumps_str({"rows": rows, "paired": paired, "oracle_note": oracle_note}) + "\n")
        return
    console.print(compare_table(rows))
    if any(r["unpriced_calls"] for r in rows):
        console.print("cost counts priced model calls only: 'unpriced' = no call had a known price, "
                      "† = some calls had none")
    print_paired(paired, console, folders=len(folders) > 1)
    if oracle_note:
        console.print(Text.assemble(("Note:", "bold yellow"), " ", render.plain(oracle_note)))


def _folder_labels(folders: list[Path]) -> list[str]:
    names = [Path(f).resolve().name or str(f) for f in folders]
    return names if len(set(names)) == len(names) else [str(f) for f in folders]


def paired_across(folders: list[Path], baseline: str | None = None) -> dict[str, Any]:
    """Every (folder, agent) × env × model against the baseline agent, pairs matched by (env, task, model,
    seed). The baseline is the agent labelled `baseline` in the first folder that has it; by default the
    first folder's own baseline (the one its eval named, its anchor, or its first agent). A folder with
    neither results.db nor samples.jsonl takes no part (said in `notes`)."""
    from ..eval.paired import METHOD, choose_baseline, comparisons
    from ..eval.report import load_sample_rows

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    first: tuple[dict[str, Any] | None, list[str]] | None = None  # the first folder with rows: its meta and agents
    rank: dict[Any, int] = {}  # (folder, agent), env and model in the order the folders list them
    for folder, label in zip(folders, _folder_labels(folders)):
        found, meta = load_sample_rows(folder)
        if found is None:
            notes.append(f"{label}: neither results.db nor samples.jsonl, so its agents are not paired")
            continue
        present = list(dict.fromkeys(r["agent"] for r in found))
        listed = [a for a in (meta or {}).get("agents") or () if a in present]
        agents = listed + [a for a in present if a not in listed]
        if first is None and found:
            first = (meta, agents)
        for key in [*((label, a) for a in agents), *(("env", r["env"]) for r in found),
                    *(("model", r["model"]) for r in found)]:
            rank.setdefault(key, len(rank))
        rows += [{**r, "folder": label} for r in found]
    labels = list(dict.fromkeys(r["folder"] for r in rows))
    if baseline is None:
        choice = choose_baseline(*(first or (None, [])))
        name, source, note = choice["label"], choice["source"], choice["note"]
    else:
        name, source, note = baseline, "named", None
    where = next((f for f in labels if any(r["folder"] == f and r["agent"] == name for r in rows)), None)
    if baseline is not None and where is None:
        known = ", ".join(dict.fromkeys(r["agent"] for r in rows)) or "(no samples)"
        raise ConfigError(f"--baseline {baseline!r}: no folder has an agent with that label; labels: {known}")
    found = []
    if where is not None:
        found = comparisons(rows, (where, name), who=lambda r: (r["folder"], r["agent"]),
                            order=lambda g: (rank[("env", g[1])], rank[g[0]], rank[("model", g[2])]))
        for c in found:
            c["folder"], c["agent"] = c["agent"]
            c["baseline"] = {"folder": where, "agent": name}
    return {"baseline": {"folder": where, "agent": name} if where else None, "baseline_source": source,
            "note": note, "method": METHOD, "comparisons": found, "notes": notes}


def print_paired(paired: dict[str, Any], out: Console, *, folders: bool = False) -> None:
    """The paired comparison as a table that fits the terminal, with its baseline and one-line legend."""
    from ..eval.report import PAIRED_LEGEND, fmt_delta, fmt_mde, fmt_pct, verdict

    found = paired.get("comparisons") or []
    for note in paired.get("notes") or ():
        out.print(render.plain(note))
    base = paired.get("baseline")
    if not found or base is None:
        return
    name = base["agent"] if isinstance(base, dict) else base
    where = f" in {base['folder']}" if folders and isinstance(base, dict) else ""

    def column(header: str, cells: Iterable[str], drop_order: int = 0, *, right: bool = False,
               min_width: int = 8, wrap: bool = False) -> render.Column:
        return render.Column(header, [render.plain(c) for c in cells], drop_order=drop_order, wrap=wrap,
                             min_width=min_width, max_width=40, justify="right" if right else "left")

    columns = ([column("folder", (c["folder"] for c in found), 3, wrap=True, min_width=12)] if folders else []) + [
        column("env", (c["env"] for c in found), 0 if len({c["env"] for c in found}) > 1 else 5, wrap=True),
        column("agent", (c["agent"] for c in found), wrap=True, min_width=12),
        column("model", (c["model"] for c in found), 0 if len({c["model"] for c in found}) > 1 else 6, wrap=True),
        column("pairs (tasks)", (f"{c['pairs']} ({c['tasks']})" for c in found), 2, right=True),
        column("agent / baseline", (f"{fmt_pct(c['agent_rate'])} / {fmt_pct(c['baseline_rate'])}" for c in found),
               4, right=True),
        column("Δ (95% CI)", (fmt_delta(c) for c in found), right=True),
        column("verdict", (verdict(c, short=True) for c in found)),
        column("MDE", (fmt_mde(c.get("mde")) for c in found), 1, right=True),
    ]
    out.print(render.FittedTable(columns, title=f"vs baseline {name}{where}", boxed=True))
    out.print(render.plain(PAIRED_LEGEND))
    if paired.get("note"):
        out.print(render.plain(f"baseline {name}: {paired['note']}"))
    unpaired = sum(c["unpaired_agent"] + c["unpaired_baseline"] for c in found)
    if unpaired:
        out.print(render.plain(f"{unpaired} scored sample(s) had no partner on the other side and are left out"))


def print_vs_baseline(summary_path: Path, out: Console) -> None:
    """The closing lines of `agentzoo eval`: the paired table of its summary.json, or, with one agent,
    the difference a paired comparison of this many tasks could detect."""
    from .. import _json
    from ..eval.report import mde_sentence

    try:
        summary = _json.loads(Path(summary_path).read_bytes())
    except (OSError, ValueError):
        return
    paired = summary.get("paired") or {}
    if paired.get("comparisons"):
        print_paired(paired, out)
        return
    for d in paired.get("design") or ():
        out.print(render.plain(f"{d['env']}: one agent, nothing to compare; with {d['tasks']} task(s) × "
                               f"{d['seeds']} seed(s) a paired comparison {mde_sentence(d['mde']['value'])} "
                               "(assumed variance)"))


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

    def cost(r: dict[str, Any]) -> dict[str, Any]:
        return {"usd": r["cost_usd"], "per_sample": r["cost_per_sample"], "per_success": r.get("cost_per_success"),
                "unpriced_calls": r["unpriced_calls"], "model_calls": r["model_calls"]}

    columns = [
        identity("folder", "label"), identity("agent", "agent"), identity("env", "env"), identity("model", "model"),
        column("n", (str(r["samples"]) for r in rows), 2, wrap=False, right=True),
        column("success (95% CI)", (fmt_rate({"rate": r["success_rate"], "low": r["ci"][0], "high": r["ci"][1]})
                                    for r in rows), wrap=False, right=True),
        column("pass@k", (" · ".join(f"@{k} {fmt_pct(v)}" for k, v in r["pass_at_k"].items()) or "—" for r in rows),
               4, wrap=False),
        column("pass^k", (" · ".join(f"^{k} {fmt_pct(v)}" for k, v in r.get("pass_hat_k", {}).items() if k != "1")
                          or "—" for r in rows), 4, wrap=False),
        column("flip", (fmt_pct(r.get("flip_rate")) for r in rows), 4, wrap=False, right=True),
        column("cost/sample", (fmt_cost(cost(r)) for r in rows), 1, wrap=False, right=True),
        column("cost/success", (fmt_cost(cost(r), "per_success") for r in rows), 2, wrap=False, right=True),
        column("tokens/sample", (fmt_num(r["tokens_per_sample"]) for r in rows), 5, wrap=False, right=True),
        column("tokens/success", (fmt_num(r.get("tokens_per_success")) for r in rows), 5, wrap=False, right=True),
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
