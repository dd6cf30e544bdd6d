"""`agentzoo sandbox run FILE` and `agentzoo sandbox probe`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .. import _json
from ..errors import ConfigError
from ..runtime.event_loop import run_loop

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Run code in the isolated sandbox, or see which isolation tiers work here.")


@app.command("run")
def run_file(file: Path = typer.Argument(..., help="a Python file to run in the sandbox"),
             timeout: Optional[float] = typer.Option(None, "--timeout", help="wall-clock seconds [default: 30]"),
             memory: Optional[int] = typer.Option(None, "--memory", help="memory limit in MB [default: 1024]"),
             tier: str = typer.Option("auto", "--tier", help="auto | bwrap | landlock | unsafe"),
             unsafe: bool = typer.Option(False, "--unsafe", help="allow running without isolation if no tier works"),
             ) -> None:
    """Run FILE in a fresh sandbox and print one JSON object: ok, stdout, stderr, error, tier, duration_s, limits."""
    from ..sandbox import Limits, Sandbox

    try:
        code = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from None
    changes = {k: v for k, v in (("wall_seconds", timeout), ("memory_mb", memory)) if v is not None}
    limits = Limits(**changes)

    async def main():
        async with Sandbox(tier=tier, limits=limits, allow_unsafe=unsafe) as sandbox:
            return await sandbox.execute(code)

    result = run_loop(main())
    fields = ("ok", "stdout", "stderr", "error", "tier", "duration_s", "limits")
    shown = {k: getattr(result, k) for k in fields}
    for extra in ("state_lost", "stdout_dropped", "stderr_dropped", "notes", "answer"):
        if getattr(result, extra):
            shown[extra] = getattr(result, extra)
    sys.stdout.write(_json.dumps_str(shown) + "\n")
    if not result.ok:
        raise typer.Exit(1)


@app.command("probe")
def probe_cmd(as_json: bool = typer.Option(False, "--json", help="print the reports as JSON")) -> None:
    """Say which isolation tiers work on this machine, and why the others do not."""
    from ..sandbox import probe

    reports = probe()
    if as_json:
        sys.stdout.write(_json.dumps_str([r.__dict__ for r in reports]) + "\n")
        return
    chosen = next((r.name for r in reports if r.available and r.name != "unsafe"), None)
    for report in reports:
        mark = "yes" if report.available else "no "
        pick = "  <- used by default" if report.name == chosen else ""
        sys.stdout.write(f"{report.name:9} {mark}  {report.reason}{pick}\n")
    if chosen is None:
        sys.stdout.write("No isolation tier works: agentzoo refuses to run model-written code unless you pass "
                         "--unsafe (allow_unsafe=True). Install bubblewrap to fix this.\n")
