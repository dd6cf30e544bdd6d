"""The `agentzoo` command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from .. import _json
from ..errors import AgentzooError, ConfigError, UserError
from ..models.registry import HOW_TO_CONFIGURE, default_model_string
from ..runtime.budgets import Budget
from ..runtime.journal import Journal, default_journal_path
from . import render
from .build import build_agent, split_tools
from .compare_cmd import compare_cmd
from .eval_cmd import eval_cmd
from .sandbox_cmd import app as sandbox_app

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Build, run, replay and compare LLM agents. Every run is recorded in a journal.")
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

app.add_typer(sandbox_app, name="sandbox")
app.command("eval")(eval_cmd)
app.command("compare")(compare_cmd)

JournalOpt = typer.Option(None, "--journal", help="journal file [default: $AGENTZOO_JOURNAL or .agentzoo/journal.db]")


def _journal(path: Optional[Path]) -> Journal:
    return Journal(path or default_journal_path())


def _budgets(tokens: Optional[int], usd: Optional[float], calls: Optional[int], seconds: Optional[float]) -> Budget | None:
    if tokens is None and usd is None and calls is None and seconds is None:
        return None
    return Budget(tokens=tokens, usd=usd, model_calls=calls, wall_seconds=seconds)


def _execute(coro_factory, journal: Journal, agent: Any = None) -> None:
    """Run a coroutine, print the summary, exit 1 if the run failed."""

    async def main():
        try:
            return await coro_factory()
        finally:
            close = getattr(getattr(agent, "model", None), "aclose", None)
            if close is not None:
                await close()  # the HTTP session belongs to this event loop

    result = asyncio.run(main())
    render.print_summary(console, result)
    journal.close()
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def run(task: str = typer.Argument(..., help="what the agent should do"),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="openai:<name> | openai-compatible:<name>@<base_url> | scripted:<file> [default: $AGENTZOO_MODEL]"),
        tools: Optional[str] = typer.Option(None, "--tools", help="comma-separated module:function or file.py:function"),
        system: Optional[str] = typer.Option(None, "--system", help="system prompt"),
        max_steps: Optional[int] = typer.Option(None, "--max-steps", help="step (turn) limit [default: 20; codeact 10]"),
        action_format: str = typer.Option("tool_calls", "--format", help="tool_calls (native) or react (text)"),
        agent_kind: str = typer.Option("tool-calling", "--agent", help="tool-calling, codeact, or a recipe name (see README)"),
        action_mode: str = typer.Option("code", "--action-mode", help="codeact: code, json or text actions"),
        tier: str = typer.Option("auto", "--tier", help="codeact: sandbox tier auto | bwrap | landlock | unsafe"),
        unsafe: bool = typer.Option(False, "--unsafe", help="codeact: allow running code without isolation"),
        stream: bool = typer.Option(False, "--stream", help="stream tokens as the model writes them"),
        budget_tokens: Optional[int] = typer.Option(None, "--budget-tokens"),
        budget_usd: Optional[float] = typer.Option(None, "--budget-usd"),
        budget_calls: Optional[int] = typer.Option(None, "--budget-calls"),
        budget_seconds: Optional[float] = typer.Option(None, "--budget-seconds"),
        journal_path: Optional[Path] = JournalOpt) -> None:
    """Run an agent on TASK (tool-calling by default, or codeact), showing each step as it happens."""
    model = model or default_model_string()
    if not model:
        err_console.print(HOW_TO_CONFIGURE, soft_wrap=True)
        raise typer.Exit(2)
    config: dict[str, Any] = {"agent": agent_kind, "model": model, "tools": split_tools(tools), "system": system,
                              "stream": stream}
    if agent_kind == "codeact":
        config.update(action_mode=action_mode, max_turns=max_steps or 10, tier=tier, allow_unsafe=unsafe)
    else:
        config.update(max_steps=max_steps or 20, action_format=action_format)
    _run_config(task, config, _budgets(budget_tokens, budget_usd, budget_calls, budget_seconds), journal_path)


def _run_config(task: str, config: dict[str, Any], budgets: Budget | None, journal_path: Optional[Path]) -> None:
    from ..runtime import runner

    agent = build_agent(config)
    journal = _journal(journal_path)
    printer = render.EntryPrinter(console, streaming=bool(config.get("stream")))
    console.print(f"[dim]model {config['model']} · journal {journal.path}[/]")
    _execute(lambda: runner.run(agent, task, journal=journal, config=config, budgets=budgets, listeners=[printer],
                                on_delta=printer.on_delta if config.get("stream") else None), journal, agent)


@app.command()
def demo(journal_path: Optional[Path] = JournalOpt) -> None:
    """Run the shipped example: with a configured model if there is one, else with a scripted model."""
    from ..examples import demo as example

    model = default_model_string()
    if model is None:
        console.print("[yellow]No model configured: running the shipped example with a scripted model.[/]\n")
        model = f"scripted:{example.SCRIPT}"
    config = {"agent": "tool-calling", "model": model, "tools": split_tools(example.TOOLS), "system": example.SYSTEM,
              "max_steps": 10, "action_format": "tool_calls", "stream": False}
    try:
        _run_config(example.TASK, config, None, journal_path)
    finally:
        if model.startswith("scripted:"):
            console.print("\nNext: [bold]agentzoo show latest[/], [bold]agentzoo replay latest[/], "
                          "[bold]agentzoo export latest --format sharegpt[/].\n"
                          "Then: [bold]agentzoo sandbox probe[/] (isolation for model-written code), "
                          "[bold]agentzoo eval --env gsm8k,humaneval --agent tool-calling,codeact --model oracle "
                          "--limit 20 --out results/[/] (the harness, checked on gold answers).\n")
            console.print(HOW_TO_CONFIGURE, soft_wrap=True)


@app.command("runs")
def runs_cmd(limit: int = typer.Option(30, "--limit", "-n"), journal_path: Optional[Path] = JournalOpt) -> None:
    """List recent runs."""
    with _journal(journal_path) as journal:
        runs = journal.list_runs(limit)
        if not runs:
            console.print(f"no runs in {journal.path} yet; try `agentzoo demo`")
            return
        console.print(render.runs_table(runs))


@app.command()
def show(run_id: str = typer.Argument(..., help="run id, a unique prefix of one, or 'latest'"),
         as_json: bool = typer.Option(False, "--json", help="print entries as JSON lines"),
         journal_path: Optional[Path] = JournalOpt) -> None:
    """Print a run's steps, answer and cost per scope."""
    with _journal(journal_path) as journal:
        info = journal.get_run(run_id)
        entries = list(journal.entries(info.run_id))
        if as_json:
            for e in entries:
                console.print_json(_json.dumps_str({
                    "scope": e.scope, "seq": e.seq, "kind": e.kind, "name": e.name, "status": e.status,
                    "request_hash": e.request_hash, "result": e.result, "error": e.error,
                    "usage": {"input_tokens": e.usage.input_tokens, "output_tokens": e.usage.output_tokens},
                    "cost_usd": e.cost_usd, "started_at": e.started_at, "ended_at": e.ended_at}))
            return
        render.run_header(console, info)
        printer = render.EntryPrinter(console)
        for e in entries:
            printer(e, False)
        if info.answer is not None:
            console.print(f"[bold green]answer:[/] {info.answer}")
        console.print(render.scope_table(journal.usage_by_scope(info.run_id)))


@app.command()
def replay(run_id: str = typer.Argument(..., help="run id, prefix or 'latest'"),
           journal_path: Optional[Path] = JournalOpt) -> None:
    """Re-run a recorded run from its journal: no model or tool is called; a divergence is an error."""
    from ..runtime import runner

    journal = _journal(journal_path)
    info = journal.get_run(run_id)
    agent = build_agent(info.config, replay=True)
    printer = render.EntryPrinter(console)
    _execute(lambda: runner.replay(agent, info.run_id, journal=journal, listeners=[printer]), journal)


@app.command()
def resume(run_id: str = typer.Argument(..., help="run id, prefix or 'latest'"),
           rerun_interrupted: bool = typer.Option(False, "--rerun-interrupted",
                                                  help="run again a side-effecting tool call that was cut off"),
           journal_path: Optional[Path] = JournalOpt) -> None:
    """Finish a run that crashed or was stopped, without repeating any completed call."""
    from ..runtime import runner

    journal = _journal(journal_path)
    info = journal.get_run(run_id)
    agent = build_agent(info.config)
    printer = render.EntryPrinter(console, mark_served=True)
    console.print(f"[dim]resuming {info.run_id} ({info.status})[/]")
    _execute(lambda: runner.resume(agent, info.run_id, journal=journal, listeners=[printer],
                                   rerun_interrupted=rerun_interrupted), journal, agent)


@app.command()
def fork(run_id: str = typer.Argument(..., help="the parent run: id, prefix or 'latest'"),
         model: Optional[str] = typer.Option(None, "--model", "-m", help="a different model"),
         system: Optional[str] = typer.Option(None, "--system", help="a different system prompt"),
         max_steps: Optional[int] = typer.Option(None, "--max-steps"),
         task: Optional[str] = typer.Option(None, "--task", help="a different task"),
         journal_path: Optional[Path] = JournalOpt) -> None:
    """Re-run a run with changes: reuse its calls up to the first divergence, then go live as a new run."""
    from ..runtime import runner

    journal = _journal(journal_path)
    parent = journal.get_run(run_id)
    config = dict(parent.config)
    limit_key = "max_turns" if config.get("agent") == "codeact" else "max_steps"
    for key, value in (("model", model), ("system", system), (limit_key, max_steps)):
        if value is not None:
            config[key] = value
    agent = build_agent(config)
    printer = render.EntryPrinter(console, mark_served=True)

    async def go():
        result = await runner.fork(agent, parent.run_id, journal=journal, task=task, config=config, listeners=[printer])
        fp = result.fork_point
        if fp is None:
            console.print("[cyan]no divergence: every effect was served from the parent[/]")
        else:
            console.print(f"[cyan]diverged from {parent.run_id} at scope {fp['scope'] or '<root>'!r} seq {fp['seq']}: "
                          f"{'; '.join(fp['differences'][:3])}[/]")
        return result

    _execute(go, journal, agent)


@app.command()
def export(run_id: str = typer.Argument(..., help="run id, prefix or 'latest'; or an eval results folder"),
           fmt: str = typer.Option("openai-jsonl", "--format", help="openai-jsonl or sharegpt"),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="append to this file [default: stdout]"),
           scope: str = typer.Option("", "--scope", help="the agent scope to export [default: the root agent]"),
           min_reward: Optional[float] = typer.Option(None, "--min-reward", help="results folder: only samples with at least this reward [default: 1.0]"),
           journal_path: Optional[Path] = JournalOpt) -> None:
    """Write a run's trajectory as fine-tuning data (one JSON line); of an eval folder, every good-enough sample's."""
    from ..eval.export import is_results_dir
    from ..export import FORMATS, export_run

    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if is_results_dir(run_id):
        from .compare_cmd import export_eval_cmd

        return export_eval_cmd(Path(run_id), fmt, out, scope, 1.0 if min_reward is None else min_reward, journal_path)
    if min_reward is not None:
        raise ConfigError("--min-reward goes with an eval results folder, not a run id")
    with _journal(journal_path) as journal:
        line = _json.dumps_str(export_run(journal, run_id, fmt, scope))
    if out is None:
        sys.stdout.write(line + "\n")
    else:
        with out.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        console.print(f"wrote 1 trajectory to {out}")


def main() -> None:
    try:
        app()
    except UserError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    except AgentzooError as exc:
        err_console.print(f"[red]error:[/] {type(exc).__name__}: {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: `agentzoo resume latest` finishes the run")
        sys.exit(130)


if __name__ == "__main__":
    main()
