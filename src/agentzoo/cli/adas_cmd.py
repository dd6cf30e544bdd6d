"""`agentzoo adas search | show | replay`: ADAS's search over agent designs, its archive, its replay.

    agentzoo adas search --archive archive.json --env gsm8k --model M [--meta-model M2] --generations 30 \\
        --valid-size 128 --seed 0
    agentzoo adas show --archive archive.json
    agentzoo adas replay --archive archive.json          # the whole search again from the journal: no model call
    agentzoo eval --agent adas:archive.json#7 --env gsm8k --model M    # entry #7, as any agent

The search is one run in the journal (`--journal`, as for `agentzoo run`), its id kept in the archive:
the same command again resumes it (recorded calls are served, finished evaluations are not run
again) and goes on to `--generations`. Without that run (another journal, a copied archive), the
archive file alone is the starting point, as in ADAS: unevaluated entries first, then the next
generation. Each candidate's samples are an eval in `--work` (default: beside the archive,
`ARCHIVE.adas/candidates/<hash>/`), resumable on its own.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._files import check_file_path
from ..errors import ConfigError, RunNotFoundError
from ..runtime.event_loop import run_loop
from ..runtime.journal import Journal, default_journal, journal_location, new_run_id
from ..runtime.secrets import mask_text

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="ADAS: search over agent designs written as code, and the archive it grows.")
console = Console(highlight=False, soft_wrap=True)

ArchiveOpt = typer.Option(..., "--archive", help="the archive file (JSON): created, or resumed when it exists")
JournalOpt = typer.Option(None, "--journal", parser=journal_location, metavar="FILE|URL",
                          help="journal file, or a postgresql:// URL [default: $AGENTZOO_JOURNAL or .agentzoo/journal.db]")
KEPT = ("env", "tasks_file", "model", "meta_model", "seed", "valid_size", "debug_max", "options", "max_tokens",
        "meta_max_tokens", "json_schema")
"""The settings a search keeps for its whole life: a resumed search must be given the same."""
KEPT_DEFAULTS = {"json_schema": False}
"""What a setting added after an archive was written means for that archive."""


@app.command("search")
def search_cmd(archive: Path = ArchiveOpt,
               env: str = typer.Option("gsm8k", "--env", help="a question-answer environment [default: gsm8k]"),
               tasks_file: Optional[Path] = typer.Option(None, "--tasks", help="the environment's tasks from this file"),
               model: Optional[str] = typer.Option(None, "--model", "-m", help="the model the agents use [default: $AGENTZOO_MODEL]"),
               meta_model: Optional[str] = typer.Option(None, "--meta-model", help="the meta agent's model [default: --model]"),
               generations: int = typer.Option(30, "--generations", min=0, help="generations to reach (ADAS: 30)"),
               valid_size: int = typer.Option(128, "--valid-size", min=1, help="validation tasks per evaluation (ADAS: 128)"),
               seed: int = typer.Option(0, "--seed", help="shuffles the tasks for the validation slice; the meta agent's sampling seed"),
               debug_max: int = typer.Option(3, "--debug-max", min=0, help="repairs of a failing candidate before it is dropped (ADAS: 3)"),
               concurrency: int = typer.Option(4, "--concurrency", min=1, help="validation tasks run at once"),
               max_model_calls: Optional[int] = typer.Option(None, "--max-model-calls", min=1, help="LLM calls one agent may make on one task [default: 100]"),
               task_seconds: Optional[float] = typer.Option(None, "--task-seconds", min=1, help="wall-clock seconds one agent may take on one task [default: 1800]"),
               max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="cap on each agent call's reply [default: the model's]"),
               meta_max_tokens: int = typer.Option(4096, "--meta-max-tokens", min=1, help="cap on each meta-agent reply (ADAS: 4096)"),
               json_schema: bool = typer.Option(False, "--json-schema", help="ask every model call for its keys with a JSON schema, not any JSON object (ADAS's): for small local models"),
               work: Optional[Path] = typer.Option(None, "--work", help="where candidates' evals go [default: ARCHIVE.adas/ beside the archive]"),
               tier: Optional[str] = typer.Option(None, "--tier", help="sandbox tier for the agents' code: auto | bwrap | landlock"),
               model_opt: Optional[list[str]] = typer.Option(None, "--model-opt", help="a setting of the models' "
                                                             "client KEY=VALUE, as for `agentzoo run`; for the agents' "
                                                             "model and the meta agent's (repeatable)"),
               journal_path: Optional[Path] = JournalOpt) -> None:
    """Grow an archive of agent designs: the meta agent proposes, the harness evaluates in the sandbox."""
    from ..models.registry import default_model_string
    from .specs import check_model_options, parse_pairs

    model = model or default_model_string()
    if not model:
        raise ConfigError("no model: give --model (or set AGENTZOO_MODEL)")
    model_options = dict(parse_pairs(model_opt, "--model-opt"))
    check_model_options(model_options, [model, meta_model or model])
    if tier == "unsafe":
        raise ConfigError("--tier unsafe: generated agents run only in an isolating sandbox tier")
    options = {k: v for k, v in (("max_model_calls", max_model_calls), ("task_seconds", task_seconds),
                                 ("schema_replies", json_schema or None)) if v is not None}
    kept = {"env": env, "tasks_file": str(tasks_file) if tasks_file else None, "model": mask_text(model),
            "meta_model": mask_text(meta_model or model), "seed": seed, "valid_size": valid_size,
            "debug_max": debug_max, "options": options, "max_tokens": max_tokens, "meta_max_tokens": meta_max_tokens,
            "json_schema": json_schema}
    with Journal(journal_path or default_journal()) as journal:
        result, search = _search(archive, kept, model, meta_model or model, generations, concurrency,
                                 work or archive.with_suffix(".adas"), tier, journal, model_options)
    print_archive(search.archive)
    _print_cost(result, search.archive)
    if not result.ok:
        error = result.error or {}
        console.print(Text.assemble(("failed: ", "bold red"), f"{error.get('type')}: {error.get('message')}"))
        console.print(f"the archive holds what finished; run the same command to resume run {result.run_id}")
        raise typer.Exit(1)


def _search(path: Path, kept: dict[str, Any], model: str, meta_model: str, generations: int, concurrency: int,
            work: Path, tier: str | None, journal: Journal,
            model_options: dict[str, Any] | None = None) -> tuple[Any, Any]:
    from ..builder import load_env
    from ..envs.base import ANSWER_KINDS
    from ..eval.adas import HarnessEvaluator
    from ..models.registry import model_options as options_for, parse_model
    from ..runtime import runner
    from ..runtime.spec import SandboxSpec
    from ..search.adas import AdasSearch, Archive, Brief, MetaAgent, Settings, read, seed_entries, write
    from ..search.adas.agent import API_SOURCE

    existing = read(path) if check_file_path(path, "ADAS archive") else None
    if existing is not None and existing.search:
        changed = [k for k in KEPT if existing.search.get(k, KEPT_DEFAULTS.get(k)) != kept[k]]
        if changed:
            was = ", ".join(f"{k}={existing.search.get(k)!r}" for k in changed)
            now = ", ".join(f"{k}={kept[k]!r}" for k in changed)
            raise ConfigError(f"{path} is a search with {was}; this command asks for {now}. Give the same settings "
                              "to resume it, or name a new --archive")
    if existing is not None and generations < existing.generations_done:
        raise ConfigError(f"{path} has {existing.generations_done} generations already; --generations "
                          f"{generations} would end the search before them: give at least {existing.generations_done}")
    environment = load_env(kept["env"], kept["tasks_file"])
    every = list(environment.tasks())
    random.Random(kept["seed"]).shuffle(every)  # ADAS: random.seed(shuffle_seed); random.shuffle(examples)
    tasks, rest = every[:kept["valid_size"]], every[kept["valid_size"]:]
    if not tasks:
        raise ConfigError(f"environment {kept['env']!r} has no tasks")
    example = (rest or tasks)[0]  # shown to the meta agent: outside the validation slice when there is one
    sandbox = SandboxSpec(tier=tier) if tier else SandboxSpec()
    evaluator = HarnessEvaluator(kept["env"], environment, tasks, model, work, concurrency=concurrency, sandbox=sandbox,
                                 agent_options=kept["options"], max_tokens=kept["max_tokens"],
                                 env_source={"name": kept["env"], "tasks_file": kept["tasks_file"], "options": {}},
                                 model_options=model_options)
    run_id = existing.search.get("run_id") if existing is not None else None
    info = _run_in(journal, run_id)

    def save(archive: Archive) -> None:
        archive.search = {**kept, "run_id": run_id, "generations": generations, "work": str(work)}
        write(path, archive)

    def note(text: str) -> None:
        console.print(Text(text))

    meta_llm = parse_model(meta_model, **options_for(meta_model, model_options or {}))
    meta = MetaAgent(meta_llm, seed=kept["seed"], max_tokens=kept["meta_max_tokens"], schema=kept["json_schema"])
    settings = Settings(generations=generations, debug_max=kept["debug_max"])

    async def go() -> Any:
        try:
            if info is not None:  # the same search, resumed: served from its journal, then live
                config = info.config
                search = AdasSearch(meta, evaluator, Brief(**config["brief"]), Archive.from_json(config["start"], "run config"),
                                    settings=settings, evaluation=config["evaluation"], api_source=API_SOURCE,
                                    on_change=save, on_event=note)
                console.print(Text(f"resuming ADAS search run {run_id} from {journal.path}", style="dim"))
                return await runner.resume(search, run_id, journal=journal), search
            start = existing if existing is not None else Archive(seed_entries())
            brief = Brief(kept["env"], ANSWER_KINDS.get(getattr(environment, "answer_kind", None) or "", "text answers"),
                          example.prompt, str(example.gold))
            search = AdasSearch(meta, evaluator, brief, start, settings=settings, api_source=API_SOURCE,
                                on_change=save, on_event=note)
            config = {"kind": "adas-search", "settings": kept, "brief": asdict(brief),
                      "evaluation": search.evaluation, "start": Archive(start.entries, start.generations_done,
                                                                         start.dropped).to_json()}
            console.print(Text(f"ADAS search run {run_id} · {len(tasks)} validation tasks of {kept['env']} · "
                               f"journal {journal.path} · evals in {work}", style="dim"))
            task = f"ADAS search on {kept['env']} with {kept['model']} (meta agent: {kept['meta_model']})"
            return await runner.run(search, task, journal=journal, config=config, run_id=run_id), search
        finally:
            close = getattr(meta.model, "aclose", None)
            if close is not None:
                await close()

    if info is None:
        run_id = new_run_id()
    return run_loop(go())


def _run_in(journal: Journal, run_id: str | None) -> Any:
    """The search run `run_id` in `journal`, or None when it has none (a new run starts from the archive)."""
    if not run_id:
        return None
    try:
        info = journal.get_run(run_id)
    except RunNotFoundError:
        console.print(Text(f"run {run_id} is not in {journal.path}: starting a new run from the archive file",
                           style="yellow"))
        return None
    if not isinstance(info.config, dict) or info.config.get("kind") != "adas-search":
        raise ConfigError(f"run {run_id} in {journal.path} is not an ADAS search")
    return info


@app.command("show")
def show_cmd(archive: Path = ArchiveOpt) -> None:
    """Print the archive: each agent's generation and fitness, and the generations that added none."""
    from ..search.adas import read

    print_archive(read(archive))


@app.command("replay")
def replay_cmd(archive: Path = ArchiveOpt, journal_path: Optional[Path] = JournalOpt) -> None:
    """Run the archive's search again from its journal, with no model call and no evaluation; check that it
    makes the same archive."""
    from ..models.registry import RecordedOnlyModel, model_name_of
    from ..runtime import runner
    from ..search.adas import AdasSearch, Archive, Brief, MetaAgent, Settings, read
    from ..search.adas.agent import API_SOURCE

    recorded = read(archive)
    run_id = recorded.search.get("run_id")
    if not run_id:
        raise ConfigError(f"{archive} names no search run: it was not made by `agentzoo adas search`")
    with Journal(journal_path or default_journal()) as journal:
        info = journal.get_run(run_id)
        config = info.config
        if not isinstance(config, dict) or config.get("kind") != "adas-search":
            raise ConfigError(f"run {run_id} in {journal.path} is not an ADAS search")
        kept = config["settings"]
        meta = MetaAgent(RecordedOnlyModel(model_name_of(kept["meta_model"])), seed=kept["seed"],
                         max_tokens=kept["meta_max_tokens"], schema=kept.get("json_schema", False))
        # As far as the file goes: a search cut in the middle of a generation replays up to its last whole one.
        search = AdasSearch(meta, None, Brief(**config["brief"]), Archive.from_json(config["start"], "run config"),
                            settings=Settings(recorded.generations_done, kept["debug_max"]),
                            evaluation=config["evaluation"], api_source=API_SOURCE)
        result = run_loop(runner.replay(search, run_id, journal=journal))
    if not result.ok:
        error = result.error or {}
        raise ConfigError(f"the replay of run {run_id} failed: {error.get('type')}: {error.get('message')}")
    same = search.archive.state() == recorded.state()
    console.print(f"replayed run {run_id}: {result.model_calls} model calls served from the journal, "
                  f"{result.live_effects} effects performed; the archive it makes is "
                  + ("the same as the file's" if same else "NOT the same as the file's"))
    if not same:
        raise typer.Exit(1)


def print_archive(archive: Any) -> None:
    table = Table(title=f"ADAS archive · {archive.generations_done} generations", title_justify="left")
    # gen: the generation that found it; tries: its evaluations (1 + repairs); calls, tokens: its evaluation's
    for column, justify in (("#", "right"), ("name", "left"), ("gen", "right"), ("median", "right"),
                            ("95% CI", "right"), ("tries", "right"), ("calls", "right"), ("tokens", "right")):
        table.add_column(column, justify=justify, no_wrap=column != "name")  # type: ignore[arg-type]
    for index, entry in enumerate(archive.entries):
        cost = (entry.evaluation or {}).get("cost") or {}
        fit = entry.fitness
        tokens = (cost.get("input_tokens") or 0) + (cost.get("output_tokens") or 0)
        table.add_row(str(index), Text(entry.name), entry.generation_text,
                      f"{fit.median * 100:.1f}%" if fit else "—",
                      f"{fit.low * 100:.1f}–{fit.high * 100:.1f}%" if fit else _why_none(entry),
                      str(entry.attempts), str(cost.get("model_calls", "")), str(tokens) if cost else "")
    console.print(table)
    for dropped in archive.dropped:
        console.print(Text(f"generation {dropped.generation}: dropped {dropped.name or '(no proposal)'} after "
                           f"{dropped.attempts} evaluation(s): {dropped.reason.splitlines()[0][:200]}", style="dim"))


def _why_none(entry: Any) -> str:
    error = (entry.evaluation or {}).get("error")
    return "failed" if error else "not evaluated"


def _print_cost(result: Any, archive: Any) -> None:
    calls = sum(((e.evaluation or {}).get("cost") or {}).get("model_calls", 0) for e in archive.entries)
    tokens = sum(sum(((e.evaluation or {}).get("cost") or {}).get(k, 0) for k in ("input_tokens", "output_tokens"))
                 for e in archive.entries)
    u = result.usage
    console.print(f"run {result.run_id} · {result.status} · meta agent: {result.model_calls} model calls, "
                  f"{u.input_tokens}→{u.output_tokens} tokens · the archive's evaluations: {calls} model calls, "
                  f"{tokens} tokens")
