"""Every synthesis pipeline end to end with the shipped local model: calls, time, items per stage, rows, and
whether the dataset loads with `datasets` and traces back to the journal.

    python bench/synth_local.py [--pipelines malt,pae] [--work DIR] [--out bench/results/synth-local]

Each pipeline runs its shipped synthesis file (`experiments/synth-<name>.yaml`: the local model, a small
budget) through the command line, as a user would: `agentzoo synth FILE --out WORK/<name>`, from the
repository's folder. AgentTuning reads an eval's trajectories and calls no model, so its source eval (the
oracle player on 4 gridworld tasks) runs first. A folder that holds a synthesis is kept: the same command
resumes it (no finished call repeated) or rewrites its dataset from the journal; `--fresh` starts over. Then, for each dataset: `datasets.load_dataset`
reads `rows.jsonl`, and every row's provenance is checked against the journal — its run id is the synthesis's
run, and each scope it names holds journaled effects (the calls that made it). The figures are what a 135M
model makes on 2 cores: they show the machinery, not the data a strong model would make.
Times are the seconds spent in model calls (the journal's durations, so a resumed synthesis counts every call
once) and the wall time of the last command. Writes OUT/summary.md, OUT/summary.json and each pipeline's report
as OUT/<name>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AGENTZOO = [str(Path(sys.executable).parent / "agentzoo")]
SOURCE_EVAL = ["eval", "--env", "gridworld", "--agent", "tool-calling", "--model", "oracle", "--limit", "4"]
"""AgentTuning's source: trajectories that reach the goal, as GPT-4's did in the paper (the oracle player's here;
the shipped model's reach none in 4 gridworld tasks, so the reward filter would leave no agent row)."""


def run(args: list[str], log: Path) -> tuple[int, float]:
    start = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run([*AGENTZOO, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, "AGENTZOO_OFFLINE": "1"}).returncode
    return code, time.perf_counter() - start


def model_seconds(folder: Path) -> float:
    from agentzoo import Journal

    run_id = json.loads((folder / "synth.json").read_text())["run_id"]
    with Journal(folder / "journal.db") as journal:
        return round(sum(e.duration_s or 0.0 for e in journal.entries(run_id) if e.kind == "model"), 1)


def traced(folder: Path) -> dict[str, Any]:
    """Load the rows with `datasets`; check that each row names the synthesis run and that what it names holds
    what made it: journaled effects under the scope that made it, or (AgentTuning) the source eval's run in that
    eval's journal, or a line of the general corpus it was copied from."""
    from agentzoo import Journal

    run_id = json.loads((folder / "synth.json").read_text())["run_id"]
    rows_file = folder / "rows.jsonl"
    lines = rows_file.read_text().splitlines() if rows_file.exists() else []
    result: dict[str, Any] = {"rows": len(lines), "loads": None, "traced": None}
    if not lines:
        return result
    from datasets import load_dataset

    loaded = load_dataset("json", data_files=str(rows_file), split="train")
    result["loads"] = loaded.num_rows == len(lines)
    with Journal(folder / "journal.db") as journal:
        scopes = {e.scope for e in journal.entries(run_id) if e.kind != "synth"}
    made = elsewhere = copied = 0
    for row in loaded:
        p = row["provenance"]
        if p["run_id"] != run_id:
            continue
        where = p.get("scope") or ""
        source = p.get("trajectory") if isinstance(p.get("trajectory"), dict) else None
        if any(x == where or x.startswith(where + "/") for x in scopes):
            made += 1
        elif source and source.get("results") and source.get("run_id"):
            with Journal(Path(source["results"]) / "journal.db") as theirs:
                elsewhere += any(r.run_id == source["run_id"] for r in theirs.list_runs())
        elif p.get("general_id"):
            copied += 1
    parts = [f"{n} {what}" for n, what in ((elsewhere, "from the source eval's runs"),
                                             (copied, "copied from the general corpus")) if n]
    result["traced"] = f"{made + elsewhere + copied}/{len(lines)}" + (f" ({', '.join(parts)})" if parts else "")
    return result


def main() -> None:
    from agentzoo.synth.pipelines import PIPELINES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", default=",".join(PIPELINES))
    parser.add_argument("--work", type=Path, default=None, help="where the syntheses go (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "synth-local")
    parser.add_argument("--fresh", action="store_true", help="start every synthesis over (default: resume)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="synth-local-"))
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = args.out / "summary.json"  # a run of some pipelines updates their rows and keeps the others'
    previous = {r["pipeline"]: r for r in json.loads(summary.read_text())["pipelines"]} if summary.exists() else {}
    results = []
    for name in [p.strip() for p in args.pipelines.split(",") if p.strip()]:
        folder = work / name
        if args.fresh:
            shutil.rmtree(folder, ignore_errors=True)
        extra, entry = [], {"pipeline": name}
        if name == "agenttuning":
            source = work / "gridworld-eval"
            if not (source / "summary.json").exists():
                shutil.rmtree(source, ignore_errors=True)
                run([*SOURCE_EVAL, "--out", str(source)], work / "gridworld-eval.log")
            extra = ["--opt", f"source={source}"]
        print(f"{name} ...", flush=True)
        code, seconds = run(["synth", f"experiments/synth-{name}.yaml", "--out", str(folder), *extra],
                            work / f"{name}.log")
        entry.update({"exit": code, "wall_seconds": round(seconds, 1)})
        report_file = folder / "report.json"
        if report_file.exists():
            report = json.loads(report_file.read_text())
            entry["stages"] = [(s["stage"], s["in"], s["out"], s["dropped"]) for s in report["stages"]]
            entry["model_calls"] = sum(s["cost"]["model_calls"] for s in report["stages"])
            entry["model_seconds"] = model_seconds(folder)
            entry.update(traced(folder))
            entry["decontaminated"] = len((report.get("decontamination") or {}).get("caught", []))
            shutil.copy(folder / "report.md", args.out / f"{name}.md")
        else:
            entry["error"] = (work / f"{name}.log").read_text()[-600:]
        print(f"  {json.dumps(entry)}", flush=True)
        results.append(entry)
    ran = {r["pipeline"] for r in results}
    results = sorted([*results, *(r for n, r in previous.items() if n not in ran)],
                     key=lambda r: list(PIPELINES).index(r["pipeline"]) if r["pipeline"] in PIPELINES else 99)
    meta = {"machine": f"{os.cpu_count()} cores", "load_average": os.getloadavg()}
    (args.out / "summary.json").write_text(json.dumps({"meta": meta, "pipelines": results}, indent=2) + "\n")
    (args.out / "summary.md").write_text(markdown(results, meta))
    print(args.out / "summary.md")


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = ["# Synthesis pipelines with the shipped local model (SmolLM2-135M, 2 threads)", "",
             f"`python bench/synth_local.py` · {meta['machine']} · load average "
             f"{', '.join(f'{x:.1f}' for x in meta['load_average'])} (a shared machine: times are indicative)", "",
             "| pipeline | exit | model calls | seconds in model calls | items per stage (in → out) | rows "
             "| loads with `datasets` | rows traced to the journal |", "| --- | ---: | ---: | ---: | --- | ---: | --- | --- |"]
    for r in results:
        stages = " · ".join(f"{s} {i}→{o}" for s, i, o, _ in r.get("stages", [])) or r.get("error", "")[:80]
        seconds = r.get("model_seconds", "—")
        lines.append(f"| {r['pipeline']} | {r['exit']} | {r.get('model_calls', '—')} | {seconds} | {stages} | "
                     f"{r.get('rows', 0)} | {'yes' if r.get('loads') else '—'} | {r.get('traced') or '—'} |")
    lines += ["", "Exit 1 is a run a budget stopped: the dataset holds what finished (`agentzoo synth` says so).",
              "Why items were dropped, stage by stage, is in each pipeline's report beside this file.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
