"""`agentzoo lint-agents PATH...`: Agentable's structural defect checks (PAPERS.md #29) over agent code.

Prints one line per finding, `file:line  type  evidence`, as plain text (a file's content is never read as
markup), or `--json`. Exit status: 0 no finding, 1 findings, 2 a file could not be analysed (its error is
printed; the other files are still checked). The model checks need a model and a journal: run the `agentable`
recipe on a file (`agentzoo run --agent agentable "$(cat agent.py)"`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from .. import _json
from ..errors import ConfigError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def lint_agents_cmd(paths: Optional[list[Path]] = typer.Argument(None, help="Python files or folders (searched for *.py)"),
                    as_json: bool = typer.Option(False, "--json", help="print the findings as JSON"),
                    types: Optional[list[str]] = typer.Option(None, "--type", help="only this defect type "
                                                              "(repeatable); `--list-types` names them"),
                    list_types: bool = typer.Option(False, "--list-types", help="list the eight defect types")
                    ) -> None:
    """Find Agentable's defect types in agent code with AST checks (no model call)."""
    from ..analysis import DEFECT_TYPES, TYPE_IDS, AgentSourceError, lint_paths

    if list_types:
        for t in DEFECT_TYPES:
            console.print(Text(f"{t.id:16} {t.name}: {t.description}"))
        return
    if not paths:
        raise ConfigError("lint-agents needs at least one Python file or folder (or --list-types)")
    unknown = sorted(set(types or ()) - set(TYPE_IDS))
    if unknown:
        raise ConfigError(f"--type {', '.join(unknown)}: unknown defect type; known: {', '.join(TYPE_IDS)}")
    try:
        findings, errors = lint_paths(paths)
    except AgentSourceError as exc:  # a path that does not exist
        raise ConfigError(str(exc)) from None
    if types:
        findings = [f for f in findings if f.defect in types]
    if as_json:
        sys.stdout.write(_json.dumps_str({"findings": [f.to_json() for f in findings],
                                      "errors": [str(e) for e in errors]}) + "\n")
    else:
        for f in findings:
            console.print(Text(f"{f.location()}  {f.defect}  {f.evidence}"))
        for e in errors:
            err_console.print(Text(f"error: {e}"))
        console.print(Text(f"{len(findings)} finding(s) in {len({f.file for f in findings})} file(s)"
                           + (f"; {len(errors)} file(s) not analysed" if errors else "")))
    raise typer.Exit(2 if errors else 1 if findings else 0)
