"""`agentzoo synth PIPELINE --env E --model M --out DIR`: a synthesis pipeline as one journaled run, and the
dataset it made, deduplicated, decontaminated and written in the formats trainers read.

The folder is the synthesis: `journal.db` (the run), `synth.json` (its settings and run id), the dataset files
and `report.md`/`report.json`. The same command again resumes a run that stopped (a `kill -9`, Ctrl-C, a budget)
without repeating a finished call, or, when the run finished, writes the dataset and report again from the
journal with no model call; `--replay` runs the whole pipeline again from the journal (no model call) and checks
that it makes the same items.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from ..errors import ConfigError
from ..synth.pipelines import PIPELINES, TITLES

console = Console(highlight=False, soft_wrap=True)
STATE = "synth.json"
KEPT = ("pipeline", "env", "model", "limit", "seed", "options")
"""The settings a synthesis keeps for its life: the same command resumes it, another one is refused."""
DEFAULT_FORMATS = "jsonl,openai,sharegpt,dpo,parquet"

HELP = ("Run a synthesis pipeline: turn agent interaction into training data with its provenance.\n\n"
        "Pipelines:\n\n" + "\n\n".join(f"{name}: {TITLES[name]}" for name in PIPELINES))


def synth(pipeline: str = typer.Argument(..., help="the pipeline's name (listed above)"),
          env: Optional[str] = typer.Option(None, "--env", help="the environment it works on [default: the pipeline's first]"),
          model: Optional[str] = typer.Option(None, "--model", "-m", help="the model every role uses [default: $AGENTZOO_MODEL]"),
          out: Path = typer.Option(..., "--out", help="the synthesis folder: journal, dataset, report"),
          limit: int = typer.Option(4, "--limit", min=1, help="seeds (tasks, documents, questions) to start from"),
          seed: int = typer.Option(0, "--seed", help="sampling and shuffling seed"),
          opt: Optional[list[str]] = typer.Option(None, "--opt", help="a pipeline option KEY=VALUE (repeatable)"),
          formats: str = typer.Option(DEFAULT_FORMATS, "--format", help="comma-separated: jsonl, openai, sharegpt, dpo, parquet, hf"),
          near: float = typer.Option(0.8, "--near-dup", min=0.0, max=1.0, help="Jaccard similarity from which two rows are near duplicates"),
          no_dedup: bool = typer.Option(False, "--no-dedup", help="keep duplicate rows"),
          no_decontam: bool = typer.Option(False, "--no-decontam", help="keep rows that overlap the shipped benchmarks' test sets"),
          budget_calls: Optional[int] = typer.Option(None, "--budget-calls", min=1, help="model calls for the whole run"),
          budget_usd: Optional[float] = typer.Option(None, "--budget-usd", min=0, help="US dollars for the whole run"),
          budget_seconds: Optional[float] = typer.Option(None, "--budget-seconds", min=1, help="wall-clock seconds for the whole run"),
          replay: bool = typer.Option(False, "--replay", help="run the pipeline again from the journal: no model call")) -> None:
    from ..models.registry import default_model_string
    from ..synth.pipelines import get_pipeline
    from .specs import parse_pairs

    module = get_pipeline(pipeline)
    env = env or module.ENVS[0]
    if env not in module.ENVS:
        raise ConfigError(f"pipeline {pipeline} works on {', '.join(module.ENVS)}, not {env!r}")
    options = dict(parse_pairs(opt, "--opt"))
    unknown = sorted(set(options) - set(module.OPTIONS))
    if unknown:
        raise ConfigError(f"pipeline {pipeline} has no option {', '.join(unknown)}; its options: "
                          f"{', '.join(sorted(module.OPTIONS)) or 'none'}")
    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    from ..synth.formats import FORMATS

    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise ConfigError(f"--format {formats!r}: choose from {', '.join(FORMATS)}")
    model = model or default_model_string()
    if not model:
        raise ConfigError("no model: give --model (or set AGENTZOO_MODEL)")
    from ..runtime.secrets import mask_text

    settings = {"pipeline": pipeline, "env": env, "model": mask_text(model), "limit": limit, "seed": seed,
                "options": options}
    from ..runtime.budgets import Budget

    budget = None
    if any(v is not None for v in (budget_calls, budget_usd, budget_seconds)):
        budget = Budget(model_calls=budget_calls, usd=budget_usd, wall_seconds=budget_seconds)
    run_id, status = _run(module, settings, model, out, budget, replay)
    _write(module, settings, out, run_id, wanted, near, no_dedup, no_decontam)
    if status != "finished":
        console.print(Text(f"the run stopped ({status}); the dataset holds what finished. Run the same command to "
                           f"resume run {run_id}", style="yellow"))
        raise typer.Exit(1)


def _run(module: Any, settings: dict[str, Any], model: str, out: Path, budget: Any, replay: bool) -> tuple[str, str]:
    from ..builder import load_env
    from ..models.registry import RecordedOnlyModel, model_name_of, parse_model
    from ..runtime import runner
    from ..runtime.journal import Journal, new_run_id
    from ..synth.pipeline import final_items

    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE
    state = _state(state_path)
    if state is not None:
        changed = [k for k in KEPT if state.get(k) != settings[k]]
        if changed:
            was = ", ".join(f"{k}={state.get(k)!r}" for k in changed)
            now = ", ".join(f"{k}={settings[k]!r}" for k in changed)
            raise ConfigError(f"{out} holds a synthesis with {was}; this command asks for {now}. Give the same "
                              "settings to resume it, or name a new --out")
    elif replay:
        raise ConfigError(f"--replay: {out} holds no synthesis to replay")
    run_id = state["run_id"] if state is not None else new_run_id()
    if state is None:  # written before the run starts, so a killed process leaves the id to resume by
        state_path.write_text(json.dumps({**settings, "run_id": run_id}, indent=2) + "\n", encoding="utf-8")
    environment = load_env(settings["env"])
    task = f"synth {settings['pipeline']} on {settings['env']}"

    async def go() -> tuple[str, str]:
        with Journal(out / "journal.db") as journal:
            info = journal.get_run(run_id) if state is not None and _has_run(journal, run_id) else None
            if replay:
                if info is None:
                    raise ConfigError(f"--replay: run {run_id} is not in {out / 'journal.db'}")
                recorded = RecordedOnlyModel(model_name_of(settings["model"]))
                pipeline = module.build(recorded, environment, limit=settings["limit"], seed=settings["seed"],
                                        **settings["options"])
                result = await runner.replay(pipeline, run_id, journal=journal)
                same = pipeline.records and pipeline.records[-1].items == final_items(journal, run_id)
                console.print(Text(f"replayed run {run_id}: {result.live_effects} effects performed; the items are "
                                   f"{'the same as' if same else 'NOT the same as'} the journal's", style="dim"))
                if not result.ok or not same:
                    raise typer.Exit(1)
                return run_id, info.status
            if info is not None and info.status == "finished":
                console.print(Text(f"run {run_id} finished before: the dataset is written again from the journal",
                                   style="dim"))
                return run_id, "finished"
            live = parse_model(model)
            try:
                pipeline = module.build(live, environment, limit=settings["limit"], seed=settings["seed"],
                                        **settings["options"])
                if info is not None:
                    console.print(Text(f"resuming run {run_id} from {out / 'journal.db'}", style="dim"))
                    result = await runner.resume(pipeline, run_id, journal=journal, budgets=budget)
                else:
                    result = await runner.run(pipeline, task, journal=journal, run_id=run_id, budgets=budget,
                                              config={"kind": "synth", "settings": settings})
            finally:
                close = getattr(live, "aclose", None)
                if close is not None:
                    await close()
            if not result.ok:
                error = result.error or {}
                console.print(Text.assemble(("failed: ", "bold red"), f"{error.get('type')}: {error.get('message')}"))
            else:
                console.print(Text(str(result.answer)))
            return run_id, "finished" if result.ok else result.status
    return asyncio.run(go())


def _write(module: Any, settings: dict[str, Any], out: Path, run_id: str, wanted: list[str], near: float,
           no_dedup: bool, no_decontam: bool) -> None:
    from collections import Counter

    from ..runtime.journal import Journal
    from ..synth.decontam import decontaminate
    from ..synth.dedup import dedup
    from ..synth.formats import write_dataset
    from ..synth.pipeline import final_items, stage_records
    from ..synth.report import SynthReport
    from ..synth.rows import validate_row

    with Journal(out / "journal.db") as journal:
        if not stage_records(journal, run_id):
            console.print(Text("no stage finished yet: no dataset to write", style="yellow"))
            return
        rows = module.rows(final_items(journal, run_id), run_id)
        for index, row in enumerate(rows):
            validate_row(row, index)
        dedup_report = contamination = None
        if not no_dedup:
            rows, dedup_report = dedup(rows, near=near)
        if not no_decontam:
            rows, contamination = decontaminate(rows)
        files = write_dataset(rows, out, wanted)
        report = SynthReport.of(journal, run_id, settings["pipeline"],
                                {"paper": module.PAPER, **{k: settings[k] for k in ("env", "model", "limit", "seed")}})
    report.rows = {"count": len(rows), "kinds": dict(Counter(r["kind"] for r in rows)),
                   "files": {fmt: str(path) for fmt, path in files.items()}}
    report.dedup, report.decontam = dedup_report, contamination
    (out / "report.md").write_text(report.to_markdown(), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    for r in report.records:
        why = ", ".join(f"{n} {reason}" for reason, n in r.dropped.items())
        console.print(Text(f"  {r.stage}: {r.items_in} → {r.items_out}" + (f" (dropped: {why})" if why else "")))
    console.print(Text(f"{len(rows)} rows · {out / 'report.md'} · " + ", ".join(str(p) for p in files.values())))


def _state(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a synthesis state file ({exc})") from None
    if not isinstance(state, dict) or not isinstance(state.get("run_id"), str):
        raise ConfigError(f"{path}: not a synthesis state file (no run_id)")
    return state


def _has_run(journal: Any, run_id: str) -> bool:
    from ..errors import RunNotFoundError

    try:
        journal.get_run(run_id)
    except RunNotFoundError:
        return False
    return True
