"""`agentzoo eval`: run agents × environments × models × seeds and report them side by side."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..errors import ConfigError

console = Console(highlight=False, soft_wrap=True)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def eval_cmd(env: str = typer.Option(..., "--env", help="comma-separated: humaneval, mbpp, gsm8k, bfcl, tau-retail, tau-airline"),
             agent: str = typer.Option("tool-calling", "--agent", help="comma-separated agent kinds or recipes"),
             model: str = typer.Option(..., "--model", "-m", help="comma-separated model strings, or 'oracle'"),
             seeds: int = typer.Option(1, "--seeds", help="samples per task, agent and model"),
             out: Path = typer.Option(Path("results"), "--out", help="results folder (resumable)"),
             tasks: Optional[Path] = typer.Option(None, "--tasks", help="another tasks file of the environment's format (one --env)"),
             limit: Optional[int] = typer.Option(None, "--limit", help="only the first N tasks of each environment"),
             concurrency: int = typer.Option(4, "--concurrency", help="samples running at once"),
             retries: int = typer.Option(2, "--retries", help="retries of a sample after a provider or sandbox failure"),
             max_infra_errors: int = typer.Option(20, "--max-infra-errors", help="stop the eval after this many"),
             max_steps: Optional[int] = typer.Option(None, "--max-steps", help="agent step (turn) limit"),
             tier: str = typer.Option("auto", "--tier", help="sandbox tier for code and tests"),
             unsafe: bool = typer.Option(False, "--unsafe", help="allow running code without isolation"),
             backend: str = typer.Option("local", "--backend", help="local or ray"),
             user_model: Optional[str] = typer.Option(None, "--user-model", help="tau-*: a model string for the simulated customer [default: the scripted customer]"),
             ) -> None:
    """Run a matrix of samples, resumably; write per-sample rows and a summary to --out."""
    from ..envs.base import ScoringContext
    from ..envs.registry import get_env
    from ..eval.agents import AgentOptions
    from ..eval.harness import EvalConfig, run_eval
    from ..eval.matrix import expand
    from ..eval.report import write_reports

    env_names, agents, models = _names(env), _names(agent), _names(model)
    if tasks is not None and len(env_names) != 1:
        raise ConfigError("--tasks FILE goes with exactly one --env")
    if seeds < 1 or concurrency < 1:
        raise ConfigError("--seeds and --concurrency must be at least 1")
    envs = {name: get_env(name, tasks, **({"user_model": user_model} if name.startswith("tau-") and user_model else {}))
            for name in env_names}
    samples = expand(envs, agents, models, seeds, limit)
    config = EvalConfig(out=out, concurrency=concurrency, retries=retries, max_infra_errors=max_infra_errors,
                        options=AgentOptions(tier=tier, allow_unsafe=unsafe, max_steps=max_steps),
                        scoring=ScoringContext(tier=tier, allow_unsafe=unsafe))
    meta = {"envs": env_names, "agents": agents, "models": models, "seeds": seeds, "limit": limit,
            "tasks": str(tasks) if tasks else None, "backend": backend, "user_model": user_model}
    if backend == "ray":
        from ..eval.ray_backend import run_eval_ray as runner
    elif backend == "local":
        runner = run_eval
    else:
        raise ConfigError(f"--backend {backend!r}: expected local or ray")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        job = bar.add_task("starting", total=len(samples))

        def on_progress(progress: Any, row: Any) -> None:
            rate = progress.success_rate
            shown = "—" if rate is None else f"{rate:.1%}"
            bar.update(job, completed=progress.skipped + progress.done,
                       description=f"success {shown} · cost ${progress.cost_usd:.4f} · infra errors {progress.infra_errors}")

        try:
            progress = asyncio.run(runner(samples, envs, config, on_progress, meta=meta))
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted[/]: finished samples are kept in {out}; run the same command to "
                          "finish the rest")
            raise typer.Exit(130) from None
    paths = write_reports(out)
    console.print(f"{progress.done} samples run, {progress.skipped} already done · reports: "
                  + ", ".join(str(p) for p in paths))
