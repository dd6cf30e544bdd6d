"""Reports of an eval folder, written from its `results.db` (and rewritten whole on every call).

    samples.jsonl      every row, as recorded
    samples.parquet    the same rows; nested fields (score, error, scopes, model_latencies) as JSON text
    summary.json       per (agent, env, model): success rate and its 95% CI, pass@k, pass^k, flip rate,
                       reward, tokens and cost (per sample and per success), calls, wall time, latency
                       percentiles, infra errors, and the same per role; under `paired`, each agent
                       against the baseline on the same tasks and seeds (`paired`)
    summary.md         the paired comparison with the baseline, then per environment a table of
                       success and one of cost (rows: agent × model), a per-role table when a run had
                       more than the root scope, and the plots
    plot_<env>.png     success rate (95% CI bars) against cost per sample — or tokens per sample when
                       nothing was priced (oracle, scripted models) — one point per agent × model

Counting rules, stated in every summary:
- A sample whose every attempt failed on infrastructure (provider or sandbox: status
  `infra_error`) is not the agent's failure: it is counted under "infra errors" and left out of
  the success rate, pass@k, the reward and every per-sample average (which divide by the scored
  samples: status `finished` or `failed`).
- The success rate's interval is a percentile bootstrap that resamples tasks (see `stats`).
- Costs count priced calls only; a model with no known price (the oracle, scripted models, a
  local server) adds to `unpriced_calls`, and the report says so.

samples.parquet and the plots need the `eval` extra (`pip install 'agentzoo[eval]'`: pyarrow,
matplotlib); without it they are skipped with a note, and the rest is written.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from .. import _json
from .._visible import visible
from ..errors import ConfigError, CorruptResultsError
from .paired import METHOD as PAIRED_METHOD
from .paired import NOT_DISTINGUISHABLE, paired_summary
from .sample import ORACLE, ORACLE_NOTE
from .stats import CONFIDENCE, RESAMPLES, flip_rate, mean_pass_at_k, mean_pass_hat_k, percentiles, success_rate
from .store import ResultStore

ROOT = ""  # the journal scope of the agent itself
INFRA = "infra_error"
METHOD = {
    "success_rate": (f"successes / scored samples; {CONFIDENCE:.0%} percentile bootstrap interval, {RESAMPLES} "
                     "resamples of the tasks (each with all its samples), fixed seed"),
    "pass_at_k": "unbiased estimator of Chen et al. 2021, 1 - C(n-c,k)/C(n,k) per task, averaged over tasks; "
                 "for k up to the fewest scored samples any task has",
    "pass_hat_k": "pass^k of τ-bench (Yao et al. 2024): C(c,k)/C(n,k) per task, the chance that k samples all "
                  "succeed, averaged over tasks; pass^1 = pass@1",
    "flip_rate": "share of the tasks with two or more scored samples whose samples do not all have the same outcome",
    "per_success": "tokens (input + output) and priced cost of all the group's samples divided by its successes: "
                   "what one success costs",
    **PAIRED_METHOD,
    "infra_errors": "samples that failed on infrastructure (provider or sandbox) on every attempt: counted apart, "
                    "left out of success rate, pass@k, reward and per-sample averages",
    "cost": "priced model calls only; calls of a model with no known price are counted as unpriced_calls",
    "roles": "journal scopes summed over the samples, branches of a role together (team/coder#2 counts as "
             "team/coder); '' (shown as (root)) is the agent itself; per-sample figures divide by the scored samples",
}
SKIP_NOTE = "{what} skipped: {module} is not installed (pip install 'agentzoo[eval]')"
# Parquet column types of the known row fields; nested ones are JSON text.
_COLUMNS: dict[str, str] = {
    "key": "string", "env": "string", "task": "string", "agent": "string", "model": "string", "seed": "int64",
    "run_id": "string", "reward": "float64", "success": "bool", "score": "json", "answer": "text",
    "status": "string", "error": "json", "input_tokens": "int64", "output_tokens": "int64", "cost_usd": "float64",
    "unpriced_calls": "int64", "model_calls": "int64", "tool_calls": "int64", "wall_seconds": "float64",
    "model_latencies": "json", "scopes": "json", "attempts": "int64", "model_retries": "int64", "infra_error": "bool",
}
_BRANCH = re.compile(r"#\d+(?=/|$)")
_SEARCH_NODE = re.compile(r"(?:^|/)node#\d+(?=/|$)")
"""A tree search's node scope (`agentzoo.search`: `…/search/node#<id>/policy`): nodes are counted from the scopes."""
_SCOPE_FIELDS = ("model_calls", "tool_calls", "other_effects", "input_tokens", "output_tokens", "cost_usd")


# ---------------------------------------------------------------------------------------- loading

def load_rows(out: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The rows of `out/results.db` (in the order they finished) and the eval's meta."""
    path = Path(out) / "results.db"
    if not path.is_file():
        raise ConfigError(f"{out}: no results.db here; is it the --out folder of an `agentzoo eval`?")
    store = ResultStore(path)
    try:
        problems: list[str] = []
        rows = list(store.rows(problems))
        try:
            meta = store.get_meta("eval")
        except CorruptResultsError as exc:
            meta, problems = None, [*problems, str(exc)]
        if meta is not None and not isinstance(meta, dict):
            meta, problems = None, [*problems, f"results database {path}: its 'eval' meta is not an object"]
    finally:
        store.close()
    if problems:  # a report without them would be wrong without saying so
        shown = "; ".join(problems[:3]) + (f"; … {len(problems) - 3} more" if len(problems) > 3 else "")
        raise CorruptResultsError(f"{len(problems)} unreadable record(s) in {path}: {shown}. The other "
                                  f"{len(rows)} rows are fine: rerun the same `agentzoo eval` command to run "
                                  "the unreadable samples again", rows=rows, problems=problems)
    return rows, meta


def load_sample_rows(folder: Path) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    """A results folder's rows and meta: from results.db, else from samples.jsonl (with the meta of its
    summary.json, when there is one); (None, None) when it has neither."""
    folder = Path(folder)
    if (folder / "results.db").is_file():
        return load_rows(folder)
    path = folder / "samples.jsonl"
    if not path.is_file():
        return None, None
    try:
        rows = [_json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise CorruptResultsError(f"{path}: a line is not JSON ({exc})") from None
    if not all(isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("env", "task", "agent", "model"))
               for r in rows):
        raise CorruptResultsError(f"{path}: a line is not an eval row (env, task, agent and model as text)")
    meta = None
    if (folder / "summary.json").is_file():
        meta = load_summary(folder).get("meta")
    return rows, meta if isinstance(meta, dict) else None


def load_summary(folder: Path) -> dict[str, Any]:
    """The summary of a results folder: computed from its results.db, or read from its summary.json."""
    folder = Path(folder)
    if (folder / "results.db").is_file():
        rows, meta = load_rows(folder)
        return summarize(rows, meta)
    if (folder / "summary.json").is_file():
        try:
            summary = _json.loads((folder / "summary.json").read_bytes())
        except orjson.JSONDecodeError as exc:
            raise CorruptResultsError(f"{folder / 'summary.json'} is not JSON ({exc})") from None
        if not isinstance(summary, dict) or not isinstance(summary.get("groups"), list):
            raise CorruptResultsError(f"{folder / 'summary.json'} is not an agentzoo eval summary (no list of groups)")
        return summary
    raise ConfigError(f"{folder}: neither results.db nor summary.json; is it the --out folder of an `agentzoo eval`?")


# ---------------------------------------------------------------------------------------- summary

def summarize(rows: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything summary.json holds: per (agent, env, model) group, plus how it was counted."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["agent"], row["env"], row["model"]), []).append(row)
    order = _ordering(meta)
    ordered = sorted(groups, key=order)
    summary_groups = [summarize_group(agent, env, model, groups[(agent, env, model)]) for agent, env, model in ordered]
    oracle = any(model == ORACLE for _, _, model in groups)
    notes = [f"the {g['agent']} × {g['model']} rows of {g['env']}: {g['infra_errors']} sample(s) failed on "
             "infrastructure on every attempt and are counted apart" for g in summary_groups if g["infra_errors"]]
    paired = paired_summary(rows, meta, order=order, agents=list(dict.fromkeys(a for a, _, _ in ordered)))
    return {"meta": meta, "samples": len(rows), "oracle_note": ORACLE_NOTE if oracle else None,
            "method": METHOD, "notes": notes, "groups": summary_groups, "paired": paired}


def summarize_group(agent: str, env: str, model: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [r for r in rows if r.get("status") != INFRA]
    n = len(scored)
    by_task: dict[str, list[bool]] = {}
    for r in scored:
        by_task.setdefault(r["task"], []).append(bool(r.get("success")))
    rate = success_rate(by_task)
    per_task = [len(v) for v in by_task.values()]
    counts = [(len(v), sum(v)) for v in by_task.values()]

    def total(field: str) -> float:
        return sum(r.get(field) or 0 for r in rows)

    def per_sample(value: float) -> float | None:
        return value / n if n else None

    def per_success(value: float) -> float | None:
        return value / rate.successes if rate.successes else None

    tokens_in, tokens_out, cost = int(total("input_tokens")), int(total("output_tokens")), float(total("cost_usd"))
    model_calls, tool_calls, unpriced = int(total("model_calls")), int(total("tool_calls")), int(total("unpriced_calls"))
    walls = [r.get("wall_seconds") or 0.0 for r in scored]
    latencies = [x for r in rows for x in (r.get("model_latencies") or ())]
    return {
        "agent": agent, "env": env, "model": model,
        "samples": len(rows), "scored": n, "infra_errors": len(rows) - n, "tasks": len(by_task),
        "samples_per_task": {"min": min(per_task), "max": max(per_task)} if per_task else None,
        "status": dict(sorted(Counter(str(r.get("status")) for r in rows).items())),
        "success": rate.as_dict(),
        "pass_at_k": {str(k): v for k, v in mean_pass_at_k(counts).items()},
        "pass_hat_k": {str(k): v for k, v in mean_pass_hat_k(counts).items()},
        "flip": flip_rate(by_task).as_dict(),
        "reward_mean": per_sample(sum(float(r.get("reward") or 0.0) for r in scored)),
        "tokens": {"input": tokens_in, "output": tokens_out, "input_per_sample": per_sample(tokens_in),
                   "output_per_sample": per_sample(tokens_out), "per_sample": per_sample(tokens_in + tokens_out),
                   "per_success": per_success(tokens_in + tokens_out)},
        "cost": {"usd": cost, "per_sample": per_sample(cost), "per_success": per_success(cost),
                 "unpriced_calls": unpriced, "model_calls": model_calls, "complete": unpriced == 0},
        "calls": {"model": model_calls, "tool": tool_calls, "model_per_sample": per_sample(model_calls),
                  "tool_per_sample": per_sample(tool_calls)},
        "wall_seconds": {"total": sum(walls), "per_sample": per_sample(sum(walls)), **percentiles(walls)},
        "model_latency_seconds": {"calls": len(latencies), **percentiles(latencies)},
        "failure_types": _error_types(r for r in scored if r.get("error")),
        "infra_error_types": _error_types(r for r in rows if r.get("status") == INFRA),
        "roles": _roles(rows, n, rate.successes),
        "flexible": _flexible(scored),
        "search": _search(scored),
        "simulation": _simulation(scored),
        "per_task": _per_task(scored) if len(by_task) <= PER_TASK_MAX else None,
    }


PER_TASK_MAX = 20
"""A group's per-task rows are kept (summary.json) and shown (summary.md) up to this many tasks: long-horizon
evals (research agents, workspaces, simulations) run a handful of tasks, each worth its own line; a benchmark
sweep of hundreds would drown the report."""


def _per_task(scored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task, per scored sample: successes, environment steps (the score's `steps` where the environment
    counts them), model and tool calls, tokens and wall time."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for r in scored:
        by_task.setdefault(r["task"], []).append(r)
    rows = []
    for task, runs in sorted(by_task.items()):
        n = len(runs)
        steps = [r["score"]["steps"] for r in runs if isinstance(r.get("score"), dict)
                 and isinstance(r["score"].get("steps"), (int, float)) and not isinstance(r["score"]["steps"], bool)]

        def mean(field: str, runs: list[dict[str, Any]] = runs, n: int = n) -> float:
            return sum(float(r.get(field) or 0.0) for r in runs) / n

        rows.append({"task": task, "samples": n, "successes": sum(bool(r.get("success")) for r in runs),
                     "steps": sum(steps) / len(steps) if steps else None, "model_calls": mean("model_calls"),
                     "tool_calls": mean("tool_calls"), "input_tokens": mean("input_tokens"),
                     "output_tokens": mean("output_tokens"), "wall_seconds": mean("wall_seconds")})
    return rows


def search_nodes(row: dict[str, Any]) -> int:
    """The tree-search nodes a sample made (each has its own journal scope), 0 for an agent that does not search."""
    nodes = set()
    for scope in row.get("scopes") or {}:
        if (m := _SEARCH_NODE.search(scope)) is not None:
            nodes.add(scope[:m.end()])
    return len(nodes)


def _search(scored: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Search cost beside success, for groups whose agent searches: nodes per sample (and the most in one)."""
    counts = [search_nodes(r) for r in scored]
    if not any(counts):
        return None
    return {"nodes_per_sample": sum(counts) / len(counts), "max_nodes": max(counts)}


def _simulation(scored: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What a simulated hour costs, for groups whose environment scores simulations (their score details carry
    `simulated_hours`): model calls, tokens, cost and wall time over the simulated hours of the scored samples."""
    hours = [float(r["score"]["simulated_hours"]) for r in scored
             if isinstance(r.get("score"), dict) and isinstance(r["score"].get("simulated_hours"), (int, float))]
    simulated = sum(hours)
    if not hours or simulated <= 0:
        return None

    def per_hour(field: str) -> float:
        return sum(float(r.get(field) or 0.0) for r in scored) / simulated

    return {"simulated_hours": simulated, "hours_per_sample": simulated / len(hours),
            "model_calls_per_hour": per_hour("model_calls"),
            "tokens_per_hour": (per_hour("input_tokens") + per_hour("output_tokens")),
            "cost_usd_per_hour": per_hour("cost_usd"), "wall_seconds_per_hour": per_hour("wall_seconds")}


def _flexible(scored: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The flexible-extract score beside the strict one, for environments whose score details carry
    `flexible` (GSM8K): its rate and interval as `success` has them, and how many answers held no
    number; None for other environments."""
    graded = [r for r in scored if isinstance(r.get("score"), dict) and "flexible" in r["score"]]
    if not graded:
        return None
    by_task: dict[str, list[bool]] = {}
    for r in graded:
        by_task.setdefault(r["task"], []).append(bool(r["score"]["flexible"]))
    return {"success": success_rate(by_task).as_dict(), "samples": len(graded),
            "unparsable": sum(bool(r["score"].get("unparsable")) for r in graded)}


def role_of(scope: str) -> str:
    """The role of a journal scope: its path without branch numbers (`team/coder#2` → `team/coder`)."""
    return _BRANCH.sub("", scope)


def _roles(rows: list[dict[str, Any]], n: int, successes: int) -> dict[str, dict[str, Any]]:
    """Per role (journal scope without branch numbers): totals over the rows, per scored sample and per
    success of the group (the role's share of what one success costs)."""
    roles: dict[str, dict[str, Any]] = {}
    for r in rows:
        seen = set()
        for scope, usage in (r.get("scopes") or {}).items():
            name = role_of(scope)
            role = roles.setdefault(name, {"samples": 0, **{f: 0 for f in _SCOPE_FIELDS}, "unpriced_calls": 0})
            if name not in seen:
                seen.add(name)
                role["samples"] += 1
            for f in _SCOPE_FIELDS:
                role[f] += usage.get(f) or 0
            # None: unknown (rows written before the journal counted unpriced calls per scope).
            if role["unpriced_calls"] is not None and (usage.get("model_calls") or "unpriced_calls" in usage):
                known = usage.get("unpriced_calls")
                role["unpriced_calls"] = None if known is None else role["unpriced_calls"] + int(known)
    for role in roles.values():
        role["cost_usd"] = float(role["cost_usd"])
        role["per_sample"] = {f: (role[f] / n if n else None) for f in _SCOPE_FIELDS}
        role["per_success"] = {
            "tokens": (role["input_tokens"] + role["output_tokens"]) / successes if successes else None,
            "cost_usd": role["cost_usd"] / successes if successes else None}
    return dict(sorted(roles.items()))


def _error_types(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(str((r.get("error") or {}).get("type") or "unknown") for r in rows).most_common())


def _ordering(meta: dict[str, Any] | None):
    """Groups in the order the eval named them (env, agent, model), unknown names after, by name."""
    meta = meta or {}

    def rank(names: list[str] | None, name: str) -> tuple[int, str]:
        names = list(names or ())
        return (names.index(name), "") if name in names else (len(names), name)

    return lambda g: (rank(meta.get("envs"), g[1]), rank(meta.get("agents"), g[0]), rank(meta.get("models"), g[2]))


# ---------------------------------------------------------------------------------------- writing

def write_reports(out: Path) -> list[Path]:
    """Write every report of the eval folder `out` from its results.db; the paths written."""
    out = Path(out)
    rows, meta = load_rows(out)
    summary = summarize(rows, meta)
    written = [_write_jsonl(out / "samples.jsonl", rows)]
    try:
        written.append(write_parquet(out / "samples.parquet", rows))
    except ModuleNotFoundError as exc:
        summary["notes"].append(SKIP_NOTE.format(what="samples.parquet", module=exc.name))
    plots: dict[str, str] = {}
    try:
        for env in _envs(summary):
            path = plot_env(summary, env, out / f"plot_{_slug(env)}.png")
            if path is not None:
                plots[env] = path.name
                written.append(path)
    except ModuleNotFoundError as exc:
        summary["notes"].append(SKIP_NOTE.format(what="plots", module=exc.name))
    summary["files"] = [p.name for p in written] + ["summary.json", "summary.md"]
    _write_text(out / "summary.json", orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    _write_text(out / "summary.md", render_markdown(summary, plots))
    return written + [out / "summary.json", out / "summary.md"]


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    _write_text(path, "".join(_json.dumps_str(r) + "\n" for r in rows))
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The rows as a Parquet table: known fields typed, nested ones (and any mixed column) as JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(_COLUMNS) + sorted({k for r in rows for k in r} - set(_COLUMNS))
    columns = {}
    for name in names:
        values = [r.get(name) for r in rows]
        kind = _COLUMNS.get(name) or _infer(values)
        columns[name] = _arrow_column(pa, values, kind)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.table(columns), tmp)
    os.replace(tmp, path)
    return path


def _infer(values: list[Any]) -> str:
    types = {type(v) for v in values if v is not None}
    if types <= {bool}:
        return "bool"
    if types <= {int}:
        return "int64"
    if types <= {int, float}:
        return "float64"
    if types <= {str}:
        return "string"
    return "json"


def _arrow_column(pa: Any, values: list[Any], kind: str) -> Any:
    if kind == "json":
        return pa.array([None if v is None else _json.dumps_str(v) for v in values], type=pa.string())
    if kind == "text":  # a string as is; anything else as its JSON
        return pa.array([v if v is None or isinstance(v, str) else _json.dumps_str(v) for v in values],
                        type=pa.string())
    try:
        return pa.array(values, type={"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(),
                                      "bool": pa.bool_()}[kind])
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return _arrow_column(pa, values, "json")  # an unexpected value: keep it, as JSON text


# ------------------------------------------------------------------------------------------ plots

def plot_env(summary: dict[str, Any], env: str, path: Path) -> Path | None:
    """Success rate (95% CI bars) against cost per sample — tokens per sample when nothing was priced."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg, without touching pyplot's global backend
    from matplotlib.figure import Figure

    groups = [g for g in summary["groups"] if g["env"] == env and g["success"]["rate"] is not None]
    if not groups:
        return None
    by_cost = any((g["cost"]["per_sample"] or 0) > 0 for g in groups)
    several_models = len({g["model"] for g in groups}) > 1
    fig = Figure(figsize=(7.5, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = []
    for g in groups:
        x = (g["cost"]["per_sample"] if by_cost else g["tokens"]["per_sample"]) or 0.0
        s = g["success"]
        y, low, high = 100 * s["rate"], 100 * s["low"], 100 * s["high"]
        ax.errorbar([x], [y], yerr=[[y - low], [high - y]], fmt="o", capsize=4, markersize=7)
        label = f"{g['agent']} · {g['model']}" if several_models else g["agent"]
        if by_cost and g["cost"]["unpriced_calls"] and not g["cost"]["usd"]:
            label += " (unpriced)"
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(7, 5), fontsize=8)
        xs.append(x)
    if by_cost and min(xs) > 0 and max(xs) / min(xs) > 30:
        ax.set_xscale("log")
    unpriced = any(g["cost"]["unpriced_calls"] for g in groups)
    if by_cost:
        ax.set_xlabel("cost per sample (USD)" + (", priced calls only" if unpriced else ""))
    else:
        ax.set_xlabel("tokens per sample (input + output) — no call was priced")
    ax.set_ylabel(f"success rate (%), {CONFIDENCE:.0%} CI")
    ax.set_ylim(-3, 103)
    if len(set(xs)) == 1:  # one x for every point: give the axis some width
        ax.set_xlim(xs[0] - 1 if xs[0] == 0 else xs[0] * 0.5, xs[0] + 1 if xs[0] == 0 else xs[0] * 1.5)
    ax.margins(x=0.15)  # room for the labels
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{env}: success rate vs {'cost' if by_cost else 'tokens'} per sample", fontsize=11)
    if any(g["model"] == ORACLE for g in groups):
        fig.text(0.01, 0.01, "Note: " + ORACLE_NOTE, fontsize=7, color="firebrick", wrap=True)
        fig.subplots_adjust(bottom=0.2)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------- markdown

def render_markdown(summary: dict[str, Any], plots: dict[str, str] | None = None) -> str:
    plots = plots or {}
    meta = summary.get("meta") or {}
    lines = ["# Eval summary", ""]
    if summary.get("oracle_note"):
        lines += [f"> **Note:** {_md_text(summary['oracle_note'])}. Its numbers say the harness and the scorers work; "
                  "they say nothing about any model.", ""]
    if meta:
        shown = {k: meta.get(k) for k in ("envs", "agents", "models", "seeds", "limit", "tasks", "backend")
                 if meta.get(k) not in (None, [], "")}
        lines += ["Eval: " + " · ".join(f"{k} {_md_text(', '.join(map(str, v)) if isinstance(v, list) else v)}"
                                        for k, v in shown.items()), ""]
    lines += [f"{summary['samples']} samples. Success rate: {METHOD['success_rate']}. pass@k: "
              f"{METHOD['pass_at_k']}. pass^k: {METHOD['pass_hat_k']}. Flip: {METHOD['flip_rate']}. "
              f"Infra errors: {METHOD['infra_errors']}.", ""]
    for note in summary.get("notes") or ():
        lines += [f"- {_md_text(note)}"]
    if summary.get("notes"):
        lines.append("")
    if not summary["groups"]:
        lines += ["No samples yet.", ""]
    if summary.get("paired") and summary["groups"]:
        lines += paired_lines(summary["paired"])
    for env in _envs(summary):
        groups = [g for g in summary["groups"] if g["env"] == env]
        lines += [f"## {_md_text(env)}", "", *_env_table(groups), ""]
        flexible = _flexible_lines(groups)
        lines += [*flexible, ""] if flexible else []
        lines += [f"### {_md_text(env)}: tokens, cost and time", "", COST_LEGEND, "", *_cost_table(groups), ""]
        footnotes = _cost_footnotes(groups)
        lines += [*footnotes, ""] if footnotes else []
        if any(g.get("search") for g in groups):
            lines += [f"### {_md_text(env)}: search", "", SEARCH_LEGEND, "", *_search_table(groups), ""]
        if any(g.get("simulation") for g in groups):
            lines += [f"### {_md_text(env)}: simulated time", "", SIMULATION_LEGEND, "", *_simulation_table(groups), ""]
        if any(g.get("per_task") for g in groups):
            lines += [f"### {_md_text(env)}: per task", "", PER_TASK_LEGEND, "", *_per_task_table(groups), ""]
        if any(set(g["roles"]) - {ROOT} for g in groups):
            lines += [f"### {_md_text(env)}: per role", "", ROLE_LEGEND, "", *_role_table(groups), ""]
        if env in plots:
            lines += [f"![{_md_text(env)}: success rate per agent]({plots[env]})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


PAIRED_LEGEND = (f"Δ: agent − baseline success in points over pairs (same task and seed); {CONFIDENCE:.0%} CI: "
                 f"paired bootstrap over tasks, {RESAMPLES} resamples; MDE: the smallest Δ this design detects "
                 "(α 0.05, power 0.8; * assumed variance).")
COST_LEGEND = ("Per scored sample, except per success: everything the group spent divided by its successes. "
               "Tokens are input + output.")
ROLE_LEGEND = "Calls, tokens and cost per scored sample of the group; per success divides by the group's successes."


def paired_lines(paired: dict[str, Any]) -> list[str]:
    """The paired section of summary.md: the baseline and why, a one-line legend, the table, the notes."""
    lines = ["## Paired comparison with the baseline", ""]
    base = paired.get("baseline")
    found = paired.get("comparisons") or []
    if base is None or not found:
        design = paired.get("design") or []
        lines += ["One agent: nothing to compare it with."]
        lines += [f"- {_md_text(d['env'])}: with {d['tasks']} task(s) × {d['seeds']} seed(s), a paired comparison "
                  f"{mde_sentence(d['mde']['value'])} (MDE under the assumed variance; see summary.json)."
                  for d in design]
        return [*lines, ""]
    why = _md_text(paired["note"]) if paired.get("note") else "named by the eval"
    lines += [f"Baseline: **{_md_text(base)}**, {why}.", "", _md_text(PAIRED_LEGEND), ""]
    head = ["env", "agent", "model", "pairs (tasks)", "agent", "baseline", f"Δ ({CONFIDENCE:.0%} CI)", "MDE", "verdict"]
    rows = []
    for c in found:
        rows.append([_md_text(c["env"]), _md_text(c["agent"]), _md_text(c["model"]), f"{c['pairs']} ({c['tasks']})",
                     fmt_pct(c["agent_rate"]), fmt_pct(c["baseline_rate"]), fmt_delta(c),
                     _md_text(fmt_mde(c.get("mde"))), verdict(c)])
    lines += _table(head, rows, right_from=3, right_to=8)
    unpaired = [f"- {_md_text(c['agent'])} × {_md_text(c['model'])} on {_md_text(c['env'])}: "
                f"{c['unpaired_agent']} of its scored samples and {c['unpaired_baseline']} of the baseline's have no "
                "partner (not run, or failed on infrastructure) and are left out."
                for c in found if c["unpaired_agent"] or c["unpaired_baseline"]]
    lines += ["", *unpaired] if unpaired else []
    return [*lines, "", f"MDE: {_md_text(PAIRED_METHOD['mde'])}.", ""]


def verdict(c: dict[str, Any], *, short: bool = False) -> str:
    """'not distinguishable from the baseline' when the interval holds 0; 'higher'/'lower' when it does not
    (`short`: without 'from/than the baseline', for a table whose title names the baseline)."""
    if not c.get("pairs"):
        return "no pairs"
    if not c["distinguishable"]:
        return "not distinguishable" if short else NOT_DISTINGUISHABLE
    word = "higher" if c["difference"] > 0 else "lower"
    return word if short else f"{word} than the baseline"


def _env_table(groups: list[dict[str, Any]]) -> list[str]:
    ks = sorted({int(k) for g in groups for k in g["pass_at_k"]})
    hats = [k for k in sorted({int(k) for g in groups for k in g.get("pass_hat_k", {})}) if k > 1]  # pass^1 = pass@1
    head = (["agent", "model", "samples", "tasks", f"success ({CONFIDENCE:.0%} CI)"] + [f"pass@{k}" for k in ks]
            + [f"pass^{k}" for k in hats] + ["flip", "reward"])
    rows = []
    for g in groups:
        flip = g.get("flip") or {}
        rows.append([_md_text(g["agent"]), _md_text(g["model"]), str(g["scored"]), str(g["tasks"]),
                     fmt_rate(g["success"])]
                    + [fmt_pct(g["pass_at_k"].get(str(k))) for k in ks]
                    + [fmt_pct(g.get("pass_hat_k", {}).get(str(k))) for k in hats]
                    + [fmt_pct(flip.get("rate")), fmt_num(g["reward_mean"], 3)])
    return _table(head, rows, right_from=2)


SEARCH_LEGEND = ("Tree searches: nodes made per scored sample (each a proposal, most with a step and a value; "
                 "duplicates included), beside success and what the search cost.")


def _search_table(groups: list[dict[str, Any]]) -> list[str]:
    head = ["agent", "model", f"success ({CONFIDENCE:.0%} CI)", "nodes / sample", "most nodes", "model calls / sample",
            "tokens / sample", "cost / sample"]
    rows = []
    for g in groups:
        search = g.get("search") or {}
        rows.append([_md_text(g["agent"]), _md_text(g["model"]), fmt_rate(g["success"]),
                     fmt_num(search.get("nodes_per_sample"), 1) if search else "—",
                     str(search.get("max_nodes", "—")), fmt_num(g["calls"]["model_per_sample"], 2),
                     fmt_num(g["tokens"]["per_sample"]), fmt_cost(g["cost"])])
    return _table(head, rows, right_from=2)


SIMULATION_LEGEND = ("Simulations: what one simulated hour costs, everything the group's scored samples spent divided "
                     "by the game hours they simulated (a day of 16 hours divides by 16).")


def _simulation_table(groups: list[dict[str, Any]]) -> list[str]:
    head = ["agent", "model", f"success ({CONFIDENCE:.0%} CI)", "simulated hours / sample", "model calls / hour",
            "tokens / hour", "cost / hour", "wall / hour"]
    rows = []
    for g in groups:
        sim = g.get("simulation") or {}
        if not sim:
            rows.append([_md_text(g["agent"]), _md_text(g["model"]), fmt_rate(g["success"])] + ["—"] * 5)
            continue
        rows.append([_md_text(g["agent"]), _md_text(g["model"]), fmt_rate(g["success"]),
                     fmt_num(sim["hours_per_sample"], 2), fmt_num(sim["model_calls_per_hour"], 1),
                     fmt_num(sim["tokens_per_hour"]), fmt_cost({**g["cost"], "per_hour": sim["cost_usd_per_hour"]}, "per_hour"),
                     fmt_seconds(sim["wall_seconds_per_hour"])])
    return _table(head, rows, right_from=2)


PER_TASK_LEGEND = (f"Per task, per scored sample (groups of at most {PER_TASK_MAX} tasks): successes of samples; "
                   "environment steps where the environment counts them (its score's `steps`); model and tool "
                   "calls; tokens; wall time.")


def _per_task_table(groups: list[dict[str, Any]]) -> list[str]:
    head = ["agent", "model", "task", "successes", "env steps", "calls model / tool", "tokens in / out", "wall"]
    rows = [[_md_text(g["agent"]), _md_text(g["model"]), _md_text(t["task"]), f"{t['successes']}/{t['samples']}",
             fmt_num(t["steps"]), f"{fmt_num(t['model_calls'], 2)} / {fmt_num(t['tool_calls'], 2)}",
             f"{fmt_num(t['input_tokens'])} / {fmt_num(t['output_tokens'])}", fmt_seconds(t["wall_seconds"])]
            for g in groups for t in g.get("per_task") or ()]
    return _table(head, rows, right_from=3)


def _cost_table(groups: list[dict[str, Any]]) -> list[str]:
    head = ["agent", "model", "tokens in / out", "tokens/success", "cost", "cost/success", "calls model / tool",
            "wall", "model latency p50 / p90 / p99", "infra errors"]
    rows = []
    for g in groups:
        lat = g["model_latency_seconds"]
        rows.append([_md_text(g["agent"]), _md_text(g["model"]),
                     f"{fmt_num(g['tokens']['input_per_sample'])} / {fmt_num(g['tokens']['output_per_sample'])}",
                     fmt_num(g["tokens"].get("per_success")), fmt_cost(g["cost"]),
                     fmt_cost(g["cost"], "per_success"),
                     f"{fmt_num(g['calls']['model_per_sample'], 2)} / {fmt_num(g['calls']['tool_per_sample'], 2)}",
                     fmt_seconds(g["wall_seconds"]["per_sample"]),
                     " / ".join(fmt_seconds(lat[p]) for p in ("p50", "p90", "p99")), str(g["infra_errors"])])
    return _table(head, rows, right_from=2)


def _role_table(groups: list[dict[str, Any]]) -> list[str]:
    head = ["agent", "model", "role", "samples", "calls model / tool / other", "tokens in / out", "tokens/success",
            "cost", "cost/success", "share of cost / tokens"]
    rows = []
    for g in groups:
        total_cost = sum(r["cost_usd"] for r in g["roles"].values())
        total_tokens = sum(r["input_tokens"] + r["output_tokens"] for r in g["roles"].values())
        for scope, r in g["roles"].items():
            ps = r["per_sample"]
            per_success = r.get("per_success") or {}
            share_cost = fmt_pct(r["cost_usd"] / total_cost if total_cost and r["cost_usd"] else None)
            share_tokens = fmt_pct((r["input_tokens"] + r["output_tokens"]) / total_tokens if total_tokens else None)
            rows.append([_md_text(g["agent"]), _md_text(g["model"]), _md_text(scope) if scope else "(root)",
                         str(r["samples"]),
                         f"{fmt_num(ps['model_calls'], 2)} / {fmt_num(ps['tool_calls'], 2)} / "
                         f"{fmt_num(ps['other_effects'], 2)}",
                         f"{fmt_num(ps['input_tokens'])} / {fmt_num(ps['output_tokens'])}",
                         fmt_num(per_success.get("tokens")), _role_cost(r, g["cost"]),
                         _role_cost(r, g["cost"], per_success.get("cost_usd"), per_success=True),
                         f"{share_cost} / {share_tokens}"])
    return _table(head, rows, right_from=3)


def _role_cost(role: dict[str, Any], group_cost: dict[str, Any], value: float | None = None, *,
               per_success: bool = False) -> str:
    """A role's cost per sample (or `value`, its cost per success), said the way the main table says it
    (`unpriced`, `$x †`, `—` when there was no success to divide by)."""
    unpriced = role.get("unpriced_calls")
    if unpriced is None:  # not counted per scope: any of its calls may be among the group's unpriced ones
        unpriced = role["model_calls"] if group_cost["unpriced_calls"] else 0
    if unpriced and not role["cost_usd"]:
        return "unpriced"
    shown = fmt_usd(value if per_success else role["per_sample"]["cost_usd"])
    return shown + (" †" if unpriced and shown != "—" else "")


def _cost_footnotes(groups: list[dict[str, Any]]) -> list[str]:
    notes = []
    for g in groups:
        c = g["cost"]
        if c["unpriced_calls"] and c["unpriced_calls"] < c["model_calls"]:
            notes.append(f"† {_md_text(g['agent'])} × {_md_text(g['model'])}: {c['unpriced_calls']} of "
                         f"{c['model_calls']} model calls had no known price; its cost counts the priced calls only.")
        elif c["unpriced_calls"]:
            notes.append(f"{_md_text(g['agent'])} × {_md_text(g['model'])}: no model call had a known price, so no "
                         "cost is shown.")
    return notes


FLEXIBLE_NOTE = ("Success above is the benchmark's strict rule. Flexible extract (beside it, not instead) reads the "
                 "last `\\boxed{}` number, else the number after the last answer marker, else the last number; "
                 "unparsable answers hold no number at all.")


def _flexible_lines(groups: list[dict[str, Any]]) -> list[str]:
    """A line per agent × model with the flexible-extract score and the unparsable answers (GSM8K)."""
    lines = [f"- {_md_text(g['agent'])} × {_md_text(g['model'])}: strict {fmt_rate(g['success'])} · flexible "
             f"{fmt_rate(g['flexible']['success'])} · unparsable {g['flexible']['unparsable']} of "
             f"{g['flexible']['samples']}" for g in groups if g.get("flexible")]
    return [FLEXIBLE_NOTE, "", *lines] if lines else []


def _table(head: list[str], rows: list[list[str]], right_from: int, right_to: int | None = None) -> list[str]:
    """A Markdown table whose columns right_from..right_to (exclusive; default: the last) are right-aligned."""
    right_to = len(head) if right_to is None else right_to
    align = ["---:" if right_from <= i < right_to else "---" for i in range(len(head))]
    return ["| " + " | ".join(cells) + " |" for cells in [head, align, *([_md(c) for c in r] for r in rows)]]


def _md(text: str) -> str:
    return text.replace("|", "\\|")


# What Markdown would read as links, images, HTML, code or emphasis in a name or note: escaped so
# that a label, model string or error written by someone else shows as written (`]` only before
# what makes a link of it, so `agentzoo[eval]` stays copyable). `|` is left to `_md` in tables.
_MD_SPECIAL = re.compile(r"[\\`*~<>&]|\](?=[(\[:])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _md_text(text: object) -> str:
    """Untrusted text for summary.md: one line, no terminal control characters, no Markdown."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(), visible(str(text)).replace("\n", " "))


def _envs(summary: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(g["env"] for g in summary["groups"]))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "env"


# ------------------------------------------------------------------------------------- formatting

def fmt_pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def fmt_rate(s: dict[str, Any]) -> str:
    if s["rate"] is None:
        return "—"
    return f"{100 * s['rate']:.1f}% [{100 * s['low']:.1f}, {100 * s['high']:.1f}]"


def fmt_num(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def fmt_usd(x: float | None) -> str:
    if x is None:
        return "—"
    if x == 0:
        return "$0"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:.{max(2, 2 - math.floor(math.log10(abs(x))))}f}"  # three significant digits, never 1e-05


def fmt_cost(cost: dict[str, Any], per: str = "per_sample") -> str:
    """Cost per sample (or `per="per_success"`); 'unpriced' when no call had a price, a dagger when only
    some had; '—' when there is nothing to divide by (no success)."""
    if cost["unpriced_calls"] and cost["unpriced_calls"] >= cost["model_calls"] and not cost["usd"]:
        return "unpriced"
    shown = fmt_usd(cost.get(per))
    return shown + (" †" if cost["unpriced_calls"] and shown != "—" else "")


def fmt_points(x: float | None, *, sign: bool = True) -> str:
    """A difference of rates in percentage points: +12.5, -3.0."""
    if x is None:
        return "—"
    return f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}"


def fmt_delta(c: dict[str, Any]) -> str:
    """`+5.0 [-8.3, +18.3]`: a paired difference and its interval, in points."""
    if c.get("difference") is None:
        return "—"
    return f"{fmt_points(c['difference'])} [{fmt_points(c['low'])}, {fmt_points(c['high'])}]"


def fmt_mde(m: dict[str, Any] | None) -> str:
    """The minimum detectable difference in points; a star when its variance is assumed, not observed.
    Past 100 points no difference of success rates could be detected at all: said as `>100`."""
    if not m:
        return "—"
    shown = ">100" if m["value"] > 1 else fmt_points(m["value"], sign=False)
    return shown + ("*" if m["source"] == "assumed" else "")


def mde_sentence(value: float) -> str:
    """What a design can detect, in words (past 100 points: nothing)."""
    if value > 1:
        return "could not tell any difference from noise (its minimum detectable difference is over 100 points)"
    return f"could detect differences of about {fmt_points(value, sign=False)} points or more"


def fmt_seconds(x: float | None) -> str:
    if x is None:
        return "—"
    if x < 1:
        return f"{1000 * x:.3g} ms"
    return f"{x:.3g} s" if x < 100 else f"{x:,.0f} s"
