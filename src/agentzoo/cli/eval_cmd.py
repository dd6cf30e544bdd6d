"""`agentzoo eval`: run agents × environments × models × seeds and report them side by side.

The matrix comes from flags or from an experiment file (`agentzoo eval experiment.yaml`); both make
the same `Experiment`. Everything that can be checked is checked before any model call: flags and
values, each agent's options on each environment (a trial build of every pair), the model strings,
and that a resumed results folder was made with the same specs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..errors import ConfigError
from ..runtime.event_loop import run_loop

console = Console(highlight=False, soft_wrap=True)


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _env_help() -> str:
    from ..envs.registry import ENVIRONMENTS

    return "comma-separated: " + ", ".join(ENVIRONMENTS) + ", or module:Class for your own"


def eval_cmd(experiment_file: Optional[Path] = typer.Argument(None, metavar="[EXPERIMENT]",
                                                              help="an experiment file (YAML): agents, envs, models, seeds, ..."),
             env: Optional[str] = typer.Option(None, "--env", help=_env_help()),
             agent: Optional[str] = typer.Option(None, "--agent", help="comma-separated agents, recipes[@preset] or module:build [default: tool-calling]"),
             agent_opt: Optional[list[str]] = typer.Option(None, "--agent-opt", help="KEY=VALUE, or AGENT.KEY=VALUE for one of several agents (repeatable)"),
             model: Optional[str] = typer.Option(None, "--model", "-m", help="comma-separated model strings, or 'oracle'"),
             seeds: Optional[int] = typer.Option(None, "--seeds", help="samples per task, agent and model [default: 1]"),
             out: Optional[Path] = typer.Option(None, "--out", help="results folder (resumable) [default: results]"),
             tasks: Optional[Path] = typer.Option(None, "--tasks", help="another tasks file of the environment's format (one --env)"),
             limit: Optional[int] = typer.Option(None, "--limit", help="only the first N tasks of each environment"),
             concurrency: Optional[int] = typer.Option(None, "--concurrency", help="samples running at once [default: 4]"),
             workers: Optional[int] = typer.Option(None, "--workers", help="processes of this machine that run the samples, "
                                                   "each its share of --concurrency [default: the number of cores]"),
             retries: Optional[int] = typer.Option(None, "--retries", help="retries of a sample after a provider or sandbox failure [default: 2]"),
             max_infra_errors: Optional[int] = typer.Option(None, "--max-infra-errors", help="stop the eval after this many [default: 20]"),
             max_steps: Optional[int] = typer.Option(None, "--max-steps", help="agent step (turn) limit; for a recipe, its own round or turn limit"),
             temperature: Optional[float] = typer.Option(None, "--temperature"),
             max_tokens: Optional[int] = typer.Option(None, "--max-tokens"),
             tool_mode: Optional[str] = typer.Option(None, "--tool-mode", help="native, json or react: how tool calls travel to and from the model"),
             model_opt: Optional[list[str]] = typer.Option(None, "--model-opt", help="a setting of the models' "
                                                           "clients KEY=VALUE, e.g. stream=false (read each "
                                                           "reply whole: less CPU per call), max_concurrency=256 "
                                                           "(repeatable)"),
             mcp: Optional[list[str]] = typer.Option(None, "--mcp", metavar="COMMAND|URL", help="an MCP server whose tools every agent gets: a command line or an http(s):// URL; each sample starts its own (repeatable)"),
             tier: Optional[str] = typer.Option(None, "--tier", help="sandbox tier for code and tests: auto | bwrap | landlock | unsafe"),
             unsafe: bool = typer.Option(False, "--unsafe", help="allow running code without isolation"),
             backend: Optional[str] = typer.Option(None, "--backend", help="local or ray"),
             journal: Optional[str] = typer.Option(None, "--journal", metavar="FILE|URL",
                                                   help="where the runs go: a journal file or a postgresql:// URL "
                                                   "that every worker and Ray node writes to [default: OUT/journal.db]"),
             user_model: Optional[str] = typer.Option(None, "--user-model", help="tau-*: a model string for the simulated customer [default: the scripted customer]"),
             baseline: Optional[str] = typer.Option(None, "--baseline", help="the agent label the others are compared with"),
             otel: bool = typer.Option(False, "--otel", help="send the eval's runs as OpenTelemetry spans when it ends "
                                       "(also AGENTZOO_OTEL=1; endpoint: OTEL_EXPORTER_OTLP_ENDPOINT)"),
             no_anchor: bool = typer.Option(False, "--no-anchor", help="do not add the matched single-agent anchor to an eval of multi-agent recipes only"),
             budget_usd: Optional[float] = typer.Option(None, "--budget-usd", help="per sample"),
             budget_tokens: Optional[int] = typer.Option(None, "--budget-tokens", help="per sample"),
             budget_calls: Optional[int] = typer.Option(None, "--budget-calls", help="per sample"),
             budget_seconds: Optional[float] = typer.Option(None, "--budget-seconds", help="per sample"),
             ) -> None:
    """Run a matrix of samples, resumably; write per-sample rows and a summary to --out."""
    from ..eval.experiment import load_experiment
    from ..runtime.journal import journal_location

    if experiment_file is not None:
        given = [flag for flag, value in (("--env", env), ("--agent", agent), ("--agent-opt", agent_opt),
                                          ("--tasks", tasks), ("--limit", limit),
                                          ("--user-model", user_model), ("--max-steps", max_steps),
                                          ("--temperature", temperature), ("--max-tokens", max_tokens),
                                          ("--tool-mode", tool_mode), ("--mcp", mcp), ("--model-opt", model_opt))
                 if value]
        if given:
            raise ConfigError(f"{', '.join(given)}: the experiment file {experiment_file} says what to run; "
                              "change it there (flags may only set --model, --out, --seeds, --concurrency, --workers, --retries, "
                              "--max-infra-errors, --backend, --tier, --unsafe, --baseline, --no-anchor, --budget-*)")
        the_plan = load_experiment(experiment_file, anchor=False if no_anchor else None)
        overrides = {"models": _names(model) or None, "seeds": seeds, "concurrency": concurrency, "workers": workers,
                     "retries": retries, "max_infra_errors": max_infra_errors, "backend": backend, "baseline": baseline}
        _override(the_plan, overrides, tier, unsafe, (budget_tokens, budget_usd, budget_calls, budget_seconds))
    else:
        if not env or not model:
            raise ConfigError("say what to run: --env and --model (and --agent), or an experiment file")
        the_plan = _plan_from_flags(env, agent or "tool-calling", agent_opt, model, seeds, tasks, limit, concurrency,
                                    retries, max_infra_errors, max_steps, temperature, max_tokens, tool_mode, tier, unsafe,
                                    backend, user_model, baseline,
                                    (budget_tokens, budget_usd, budget_calls, budget_seconds), anchor=not no_anchor,
                                    workers=workers, mcp=mcp, model_opt=model_opt)
    exp = the_plan.experiment
    folder = out or Path(exp.out or "results")
    run_plan(the_plan, folder, journal_location(journal) if journal else None)
    _export_spans(folder, otel, journal)


def _export_spans(folder: Path, flag: bool, journal: str | None = None) -> None:
    """`--otel`: the eval's runs as spans, from its journal (each sample's run, with its recorded times)."""
    from ..viewer.otel import enabled

    if enabled(flag):
        from ..runtime.journal import journal_location
        from .otel_cmd import export_cmd

        export_cmd(str(folder), endpoint=None, journal_path=journal_location(journal) if journal else None)


def _plan_from_flags(env, agent, agent_opt, model, seeds, tasks, limit, concurrency, retries, max_infra_errors,
                     max_steps, temperature, max_tokens, tool_mode, tier, unsafe, backend, user_model, baseline, budgets,
                     anchor=True, workers=None, mcp=None, model_opt=None):
    from pydantic import ValidationError

    from ..eval.experiment import Experiment, default_label, plan
    from ..runtime.spec import describe_errors
    from .specs import agent_options

    env_names, agent_texts, models = _names(env), _names(agent), _names(model)
    if tasks is not None and len(env_names) != 1:
        raise ConfigError("--tasks FILE goes with exactly one --env")
    if tasks is not None and not tasks.exists():
        raise ConfigError(f"--tasks {tasks}: no such file")
    options = agent_options(agent_opt, agent_texts)
    agents: list[Any] = []
    for text in agent_texts:
        entry: dict[str, Any] = {"agent": text, "label": default_label(text, options[text] or None)}
        if options[text]:
            entry["options"] = options[text]
        if max_steps is not None:
            entry["max_steps"] = max_steps
        if tool_mode is not None:
            entry["tool_mode"] = tool_mode
        sampling = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
        if sampling:
            entry["sampling"] = sampling
        agents.append(entry)
    envs = []
    for name in env_names:
        entry = {"name": name, "tasks_file": str(tasks) if tasks else None, "limit": limit}
        if user_model and name.startswith("tau-"):
            entry["options"] = {"user_model": user_model}
        envs.append({k: v for k, v in entry.items() if v is not None})
    data: dict[str, Any] = {"agents": agents, "envs": envs, "models": models, "anchor": anchor}
    for key, value in (("seeds", seeds), ("concurrency", concurrency), ("workers", workers), ("retries", retries),
                       ("max_infra_errors", max_infra_errors), ("backend", backend), ("baseline", baseline)):
        if value is not None:
            data[key] = value
    budget = _budget(budgets)
    if budget:
        data["budgets"] = budget
    if mcp:
        from .specs import mcp_servers

        data["mcp"] = mcp_servers(mcp)
    if model_opt:
        from .specs import parse_pairs

        data["model_options"] = dict(parse_pairs(model_opt, "--model-opt"))
    scoring = {k: v for k, v in (("tier", tier), ("allow_unsafe", unsafe or None)) if v is not None}
    if scoring:
        data["scoring"] = scoring
    if user_model and not any(n.startswith("tau-") for n in env_names):
        raise ConfigError("--user-model goes with a tau-* environment (the simulated customer)")
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_flag_names(describe_errors(exc))) from None
    try:
        the_plan = plan(experiment, where="the command line")
    except ConfigError as exc:
        raise ConfigError(_flag_names(str(exc))) from None
    _apply_sandbox(the_plan, tier, unsafe)
    return the_plan


def _apply_sandbox(the_plan: Any, tier: str | None, unsafe: bool) -> None:
    """`--tier`/`--unsafe` go to the scorers' sandbox and to every agent that runs code."""
    from ..catalog import get_kind
    from ..runtime.spec import SandboxSpec

    if tier is None and not unsafe:
        return
    for label, spec in the_plan.agents.items():
        if ":" in spec.agent or not get_kind(spec.agent).runs_code:
            continue
        sandbox = SandboxSpec.model_validate({**spec.sandbox.model_dump(), **({"tier": tier} if tier else {}),
                                             **({"allow_unsafe": True} if unsafe else {})})
        the_plan.agents[label] = spec.model_copy(update={"sandbox": sandbox})


def _flag_names(message: str) -> str:
    from .specs import flag_names

    return flag_names(message)


def _budget(values) -> dict[str, Any]:
    tokens, usd, calls, seconds = values
    return {k: v for k, v in (("tokens", tokens), ("usd", usd), ("model_calls", calls), ("wall_seconds", seconds))
            if v is not None}


def _override(the_plan, overrides, tier, unsafe, budgets) -> None:
    from pydantic import ValidationError

    from ..eval.experiment import Experiment
    from ..runtime.spec import BudgetSpec, describe_errors

    data = the_plan.experiment.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    if tier is not None or unsafe:
        data["scoring"] = {**data["scoring"], **({"tier": tier} if tier else {}), **({"allow_unsafe": True} if unsafe else {})}
    budget = _budget(budgets)
    _apply_sandbox(the_plan, tier, unsafe)
    try:
        the_plan.experiment = Experiment.model_validate(data)
        if budget:
            spec_budget = BudgetSpec(**budget)
            the_plan.agents = {label: spec.model_copy(update={"budgets": spec_budget})
                               for label, spec in the_plan.agents.items()}
    except ValidationError as exc:
        raise ConfigError(_flag_names(describe_errors(exc))) from None
    if the_plan.experiment.baseline and the_plan.experiment.baseline not in the_plan.agents:
        raise ConfigError(f"--baseline {the_plan.experiment.baseline!r} is not one of the agents' labels "
                          f"({', '.join(the_plan.agents)})")


def run_plan(the_plan: Any, out: Path, journal: str | Path | None = None) -> None:
    """Check everything up front, run the samples with a live display, write the reports."""
    from ..envs.base import ScoringContext
    from ..eval.harness import EvalConfig, run_eval
    from ..eval.matrix import expand_tasks
    from ..eval.report import write_reports
    from ..eval.store import journal_record
    from ..eval.workers import default_workers

    exp = the_plan.experiment
    if exp.backend == "ray" and exp.workers is not None:
        raise ConfigError("--workers runs samples in processes of this machine; with --backend ray, Ray places "
                          "them (one per CPU of the cluster): leave --workers (workers:) out")
    envs, env_sources, tasks_by_env = _open_envs(the_plan)
    _preflight(the_plan, envs, tasks_by_env, exp.models)
    samples = expand_tasks(tasks_by_env, the_plan.labels, exp.models, exp.seeds)
    if not samples:
        raise ConfigError("the task filters leave no task to run")
    scoring = ScoringContext(tier=exp.scoring.tier, allow_unsafe=exp.scoring.allow_unsafe)
    config = EvalConfig(out=out, concurrency=exp.concurrency, retries=exp.retries,
                        max_infra_errors=exp.max_infra_errors, agents=dict(the_plan.agents), scoring=scoring,
                        env_sources=env_sources, workers=exp.workers or default_workers(), journal=journal)
    meta = {"name": exp.name, "envs": list(envs), "agents": the_plan.labels, "models": exp.models, "seeds": exp.seeds,
            "limit": next((e.limit for e in the_plan.env_entries), None), "backend": exp.backend,
            "baseline": exp.baseline, "specs": {label: spec.to_config() for label, spec in the_plan.agents.items()},
            "spec_hashes": {label: spec.hash() for label, spec in the_plan.agents.items()},
            "env_sources": env_sources, "anchor": the_plan.anchor, "journal": journal_record(journal)}
    if journal is not None:
        _check_journal(journal)
    _check_resume(out, meta)
    if exp.backend == "ray":
        from ..eval.ray_backend import run_eval_ray as runner
    else:
        runner = run_eval
    show = _Display(len(samples))
    try:
        with show:
            progress = run_loop(runner(samples, envs, config, show.update, meta=meta))
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: finished samples are kept in {escape(str(out))}; run the same "
                      "command to finish the rest")
        raise typer.Exit(130) from None
    paths = write_reports(out)
    console.print(f"{progress.done} samples run, {progress.skipped} already done · reports: "
                  + escape(", ".join(str(p) for p in paths)))
    from .compare_cmd import print_vs_baseline

    print_vs_baseline(out / "summary.json", console)


def _open_envs(the_plan: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, list[Any]]]:
    from ..builder import load_env

    envs: dict[str, Any] = {}
    sources: dict[str, dict[str, Any]] = {}
    tasks: dict[str, list[Any]] = {}
    for entry in the_plan.env_entries:
        if entry.name in envs:
            raise ConfigError(f"environment {entry.name!r} is named twice; give one entry with its task filters")
        if entry.tasks_file is not None and not Path(entry.tasks_file).exists():
            raise ConfigError(f"environment {entry.name!r}: tasks file {entry.tasks_file} does not exist")
        envs[entry.name] = load_env(entry.name, entry.tasks_file, entry.options)
        sources[entry.name] = {"name": entry.name, "tasks_file": entry.tasks_file, "options": entry.options}
        tasks[entry.name] = entry.select(envs[entry.name].tasks())
    return envs, sources, tasks


def _preflight(the_plan: Any, envs: dict[str, Any], tasks_by_env: dict[str, list[Any]], models: list[str]) -> None:
    """Build every agent on every environment once (no model call), and parse every model string."""
    from ..models.registry import model_options, parse_model
    from ..runtime.spec import EnvRef

    from .specs import check_model_options

    parsed: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()
    for label, spec in the_plan.agents.items():
        # Each agent's model options fit every model it runs: the matrix's and its roles' (or it has none).
        every = [*models, *spec.models.values()]
        try:
            check_model_options(spec.model_options, models, spec.models)
        except ConfigError as exc:
            raise ConfigError(f"agent {label}: {exc}") from None
        for text in every:
            key = (text, tuple(sorted(spec.model_options.items())))
            if text == "oracle" or text.startswith("scripted:") or key in parsed:
                continue
            parsed.add(key)
            made = parse_model(text, **model_options(text, spec.model_options))  # the values the client checks itself
            close = getattr(made, "aclose", None)
            if close is not None:
                run_loop(close())
    checker = _pair_checker()
    with_mcp: list[tuple[Any, ...]] = []
    for name, env in envs.items():
        tasks = tasks_by_env[name]
        if not tasks:
            continue
        for label, spec in the_plan.agents.items():
            if checker is not None:
                checker(spec.agent, env)
            episode = env.episode(tasks[0])
            trial = spec.model_copy(update={"model": models[0], "env": EnvRef(name=name, task=tasks[0].id)})
            if trial.mcp:
                with_mcp.append((label, name, trial, episode, env))
                continue
            _trial_build(label, name, trial, episode, env)
    if with_mcp:
        run_loop(_trial_builds_with_mcp(with_mcp))


def _trial_build(label: str, name: str, trial: Any, episode: Any, env: Any, mcp: Any = None) -> None:
    from ..builder import build
    from ..models.registry import RecordedOnlyModel

    try:
        build(trial, episode=episode, env=env, model=RecordedOnlyModel(trial.model), mcp=mcp)
    except ConfigError as exc:
        raise ConfigError(f"agent {label!r} on environment {name!r}: {exc}") from None


async def _trial_builds_with_mcp(trials: list[tuple[Any, ...]]) -> None:
    """Start each set of MCP servers the agents name once, and build those agents with their tools: a server
    that does not start fails the eval now, not in every sample (each sample starts its own when it runs)."""
    from .._json import dumps_str
    from ..net.mcp_client import McpServers

    groups: dict[str, list[tuple[Any, ...]]] = {}
    for trial in trials:
        groups.setdefault(dumps_str([s.model_dump() for s in trial[2].mcp]), []).append(trial)
    for group in groups.values():
        async with McpServers(group[0][2].mcp) as servers:
            for label, name, trial, episode, env in group:
                _trial_build(label, name, trial, episode, env, servers)


def _pair_checker() -> Any:
    """The check that an agent's answers are of the kind an environment scores, where it exists."""
    from ..eval import agents as eval_agents

    return getattr(eval_agents, "check_pair", None)


def _check_journal(journal: str | Path) -> None:
    """Open `--journal` once before the results folder is made: a server that refuses the connection, or
    a file that is no journal, stops the eval with nothing written (the default journal is made in it)."""
    from ..runtime.journal import Journal

    Journal(journal).close()


def _check_resume(out: Path, meta: dict[str, Any]) -> None:
    """A results folder holds one experiment: an agent label must not change its spec between runs."""
    if not (out / "results.db").exists():
        return
    from ..eval.store import ResultStore

    store = ResultStore(out / "results.db")
    try:
        before = store.get_meta("eval") or {}
    finally:
        store.close()
    old = before.get("spec_hashes") or {}
    changed = [label for label, digest in meta["spec_hashes"].items() if label in old and old[label] != digest]
    if changed:
        raise ConfigError(f"{out} holds results of agent(s) {', '.join(changed)} made with a different spec; "
                          "use another --out, or give the changed agent another label")
    if "journal" in before and before["journal"] != meta["journal"]:  # its runs would be split between two
        where = before["journal"] or f"{out / 'journal.db'} (the default)"
        raise ConfigError(f"{out} holds results whose runs are in {where}: run it again with that --journal, or "
                          "use another --out")


class _Display:
    """A progress bar on a terminal; a line every few seconds (and at the end) when output is a file."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.tty = console.is_terminal
        self.bar: Progress | None = None
        self.last = 0.0

    def __enter__(self) -> _Display:
        if self.tty:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=console, transient=False)
            self.bar.__enter__()
            self.job = self.bar.add_task("starting", total=self.total)
        else:
            print(f"eval: {self.total} samples", flush=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def update(self, progress: Any, row: Any) -> None:
        # The whole eval's figures, as the count beside them: a rerun's samples and those it skipped.
        rate = progress.eval_success_rate
        shown = "—" if rate is None else f"{rate:.1%}"
        text = f"success {shown} · cost ${progress.eval_cost_usd:.4f} · infra errors {progress.infra_errors}"
        done = progress.skipped + progress.done
        if self.bar is not None:
            self.bar.update(self.job, completed=done, description=text)
        elif time.monotonic() - self.last >= 5 or done == self.total:
            self.last = time.monotonic()
            print(f"{done}/{self.total} · {text}", file=sys.stdout, flush=True)
