"""`agentzoo synth PIPELINE --env E --model M --out DIR`: a synthesis pipeline as one journaled run, and the
dataset it made, deduplicated, decontaminated and written in the formats trainers read.

The folder is the synthesis: `journal.db` (the run), `synth.json` (its settings and run id), the dataset files
and `report.md`/`report.json`. The same command again resumes a run that stopped (a `kill -9`, Ctrl-C, a budget)
without repeating a finished call, or, when the run finished, writes the dataset and report again from the
journal with no model call; `--replay` runs the whole pipeline again from the journal (no model call) and checks
that it makes the same items.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from pydantic import ValidationError

from ..errors import ConfigError
from ..synth.pipelines import PIPELINES, TITLES
from ..synth.settings import DEFAULT_FORMATS
from ..runtime.event_loop import run_loop

console = Console(highlight=False, soft_wrap=True)
STATE = "synth.json"

HELP = ("Run a synthesis pipeline: turn agent interaction into training data with its provenance. PIPELINE is a "
        "pipeline's name or a synthesis file (YAML: the flags' names as keys; flags given override it).\n\n"
        "Pipelines:\n\n" + "\n\n".join(f"{name}: {TITLES[name]}" for name in PIPELINES))


def synth(pipeline: str = typer.Argument(..., help="a pipeline's name (listed above) or a synthesis file"),
          env: Optional[str] = typer.Option(None, "--env", help="the environment it works on [default: the pipeline's first]"),
          model: Optional[str] = typer.Option(None, "--model", "-m", help="the model every role uses [default: $AGENTZOO_MODEL]"),
          role_model: Optional[list[str]] = typer.Option(None, "--role-model", help="ROLE=MODEL: a model for one role (a scope name of the pipeline, e.g. teacher, judge; repeatable)"),
          model_opt: Optional[list[str]] = typer.Option(None, "--model-opt", help="a setting of the models' client "
                                                        "KEY=VALUE, as for `agentzoo run` (repeatable)"),
          out: Optional[Path] = typer.Option(None, "--out", help="the synthesis folder: journal, dataset, report"),
          limit: Optional[int] = typer.Option(None, "--limit", min=1, help="seeds (tasks, documents, questions) to start from [default: 4]"),
          seed: Optional[int] = typer.Option(None, "--seed", help="sampling and shuffling seed [default: 0]"),
          opt: Optional[list[str]] = typer.Option(None, "--opt", help="a pipeline option KEY=VALUE (repeatable)"),
          formats: Optional[str] = typer.Option(None, "--format", help=f"comma-separated: jsonl, openai, sharegpt, dpo, parquet, hf [default: {','.join(DEFAULT_FORMATS)}]"),
          near: Optional[float] = typer.Option(None, "--near-dup", min=0.0, max=1.0, help="Jaccard similarity from which two rows are near duplicates [default: 0.8]"),
          no_dedup: bool = typer.Option(False, "--no-dedup", help="keep duplicate rows"),
          no_decontam: bool = typer.Option(False, "--no-decontam", help="keep rows that overlap the shipped benchmarks' test sets"),
          budget_calls: Optional[int] = typer.Option(None, "--budget-calls", min=1, help="model calls for the whole run"),
          budget_usd: Optional[float] = typer.Option(None, "--budget-usd", min=0, help="US dollars for the whole run"),
          budget_seconds: Optional[float] = typer.Option(None, "--budget-seconds", min=1, help="wall-clock seconds for the whole run"),
          replay: bool = typer.Option(False, "--replay", help="run the pipeline again from the journal: no model call"),
          info: bool = typer.Option(False, "--info", help="show the pipeline's paper, environments, options (defaults and their sources) and deviations, and stop")) -> None:
    from ..models.registry import default_model_string
    from ..synth.pipelines import get_pipeline
    from ..synth.settings import SynthSettings, load_settings
    from .specs import check_model_options, parse_pairs

    is_file = pipeline not in PIPELINES and _is_file_name(pipeline)
    base = load_settings(Path(pipeline)) if is_file else SynthSettings(pipeline=pipeline)
    if info:
        _show(get_pipeline(base.pipeline))
        return
    budgets = base.budgets.model_dump() if base.budgets is not None else {}
    for key, value in (("model_calls", budget_calls), ("usd", budget_usd), ("wall_seconds", budget_seconds)):
        if value is not None:
            budgets[key] = value
    given = {"env": env, "model": model, "limit": limit, "seed": seed, "near_dup": near,
             "formats": [f.strip() for f in formats.split(",") if f.strip()] if formats is not None else None,
             "options": {**base.options, **dict(parse_pairs(opt, "--opt"))} if opt else None,
             "models": {**base.models, **dict(parse_pairs(role_model, "--role-model"))} if role_model else None,
             "model_options": ({**base.model_options, **dict(parse_pairs(model_opt, "--model-opt"))}
                               if model_opt else None),
             "dedup": False if no_dedup else None, "decontam": False if no_decontam else None,
             "budgets": budgets or None, "out": str(out) if out is not None else None}
    try:
        settings = SynthSettings.model_validate({**base.model_dump(), **{k: v for k, v in given.items()
                                                                          if v is not None}})
    except ValidationError as exc:
        from ..runtime.spec import describe_errors

        raise ConfigError(f"agentzoo synth: {describe_errors(exc)}") from None
    module = get_pipeline(settings.pipeline)
    settings = settings.check(module)
    if settings.out is None:
        raise ConfigError("no synthesis folder: give --out DIR (or `out:` in the synthesis file)")
    settings = settings.model_copy(update={"model": settings.model or default_model_string()})
    if not settings.model:
        raise ConfigError("no model: give --model (or set AGENTZOO_MODEL)")
    check_model_options(settings.model_options, [settings.model], settings.models)
    folder = Path(settings.out)
    run_id, status, stopped_in = _run(module, settings, folder, replay)
    if stopped_in is None:
        _write(module, settings, folder, run_id)
    else:  # the items of a stage in the middle are not rows yet
        console.print(Text(f"no dataset: the run stopped in stage {stopped_in}", style="yellow"))
    if status != "finished":
        console.print(Text(f"the run stopped ({status}); the dataset holds what finished. Run the same command to "
                           f"resume run {run_id}", style="yellow"))
        raise typer.Exit(1)


def _show(module: Any) -> None:
    """A pipeline described from its module: what `--opt` takes and where each default comes from."""
    console.print(Text(f"{module.NAME}: {module.PAPER}", style="bold"))
    console.print(Text(module.SUMMARY))
    console.print(Text(f"environments: {', '.join(module.ENVS) or 'none (it makes or reads its own)'}"))
    console.print(Text("options (--opt KEY=VALUE):", style="bold"))
    for key, default in module.OPTIONS.items():
        console.print(Text(f"  {key} = {default!r}  ({module.OPTION_SOURCES.get(key, 'ours')})"))
    if module.DEVIATIONS:
        console.print(Text("where it departs from the paper:", style="bold"))
        for line in module.DEVIATIONS:
            console.print(Text(f"  - {line}"))


def _is_file_name(text: str) -> bool:
    return text.endswith((".yaml", ".yml", ".json")) or Path(text).is_file()


def _run(module: Any, settings: Any, out: Path, replay: bool) -> tuple[str, str, str | None]:
    """Run (or resume, or replay) the synthesis: its run id, its status, and the stage it stopped in when it did
    not get through them all (None when the last stage finished)."""
    from ..builder import load_env, make_model
    from ..runtime import runner
    from ..runtime.spec import AgentSpec
    from ..runtime.journal import Journal, new_run_id
    from ..synth.pipeline import final_items, stage_records

    kept = settings.kept()
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE
    state = _state(state_path)
    if state is not None:
        changed = [k for k in kept if state.get(k) != kept[k]]
        if changed:
            was = ", ".join(f"{k}={state.get(k)!r}" for k in changed)
            now = ", ".join(f"{k}={kept[k]!r}" for k in changed)
            raise ConfigError(f"{out} holds a synthesis with {was}; this command asks for {now}. Give the same "
                              "settings to resume it, or name a new --out")
    elif replay:
        raise ConfigError(f"--replay: {out} holds no synthesis to replay")
    run_id = state["run_id"] if state is not None else new_run_id()
    environment = load_env(settings.env) if settings.env is not None else None
    task = f"synth {settings.pipeline}" + (f" on {settings.env}" if settings.env else "")
    budget = settings.budgets.to_budget() if settings.budgets is not None else None

    def build(model: Any) -> Any:
        return module.build(model, environment, limit=settings.limit, seed=settings.seed, **settings.options)

    # the builder makes the models (and their models per role) as for any agent: consent for a model script,
    # credentials never taken from a journal, the same tool mode live and in a replay
    spec = AgentSpec(agent=f"synth:{settings.pipeline}", model=settings.model, models=settings.models,
                     model_options=settings.model_options)

    async def go() -> tuple[str, str, str | None]:
        with Journal(out / "journal.db") as journal:
            info = journal.get_run(run_id) if state is not None and _has_run(journal, run_id) else None
            if replay:
                if info is None:
                    raise ConfigError(f"--replay: run {run_id} is not in {out / 'journal.db'}")
                pipeline = build(make_model(spec, replay=True))
                result = await runner.replay(pipeline, run_id, journal=journal)
                same = pipeline.records and pipeline.records[-1].items == final_items(journal, run_id)
                console.print(Text(f"replayed run {run_id}: {result.live_effects} effects performed; the items are "
                                   f"{'the same as' if same else 'NOT the same as'} the journal's", style="dim"))
                if not result.ok or not same:
                    raise typer.Exit(1)
                return run_id, info.status, None
            if info is not None and info.status == "finished":
                console.print(Text(f"run {run_id} finished before: the dataset is written again from the journal",
                                   style="dim"))
                return run_id, "finished", None
            made: list[Any] = []
            try:
                pipeline = build(make_model(spec, models=made))
                if info is not None:
                    console.print(Text(f"resuming run {run_id} from {out / 'journal.db'}", style="dim"))
                    result = await runner.resume(pipeline, run_id, journal=journal, budgets=budget)
                else:
                    if state is None:  # once its models are made (a bad model string leaves no synthesis behind),
                        # and before the run starts, so a killed process leaves the id to resume by
                        state_path.write_text(json.dumps({**kept, "run_id": run_id}, indent=2) + "\n",
                                              encoding="utf-8")
                    result = await runner.run(pipeline, task, journal=journal, run_id=run_id, budgets=budget,
                                              config={"kind": "synth", "settings": kept})
            finally:
                for one in made:
                    close = getattr(one, "aclose", None)
                    if close is not None:
                        await close()
            if result.ok:
                console.print(Text(str(result.answer)))
                return run_id, "finished", None
            error = result.error or {}
            console.print(Text.assemble(("failed: ", "bold red"), f"{error.get('type')}: {error.get('message')}"))
            done = [r.stage for r in stage_records(journal, run_id)]
            last = pipeline.stages[-1].name
            stopped_in = None if done and done[-1] == last else next(
                (st.name for st in pipeline.stages if st.name not in done), last)
            return run_id, result.status, stopped_in
    return run_loop(go())


def _write(module: Any, settings: Any, out: Path, run_id: str) -> None:
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
        if settings.dedup:
            rows, dedup_report = dedup(rows, near=settings.near_dup)
        if settings.decontam:
            rows, contamination = decontaminate(rows)
        files = write_dataset(rows, out, settings.formats)
        kept = settings.kept()
        report = SynthReport.of(journal, run_id, settings.pipeline,
                                {"paper": module.PAPER, **{k: kept[k] for k in ("env", "model", "models", "limit",
                                                                                 "seed") if kept[k] not in (None, {})}})
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
