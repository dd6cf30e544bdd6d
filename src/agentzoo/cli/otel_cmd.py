"""`agentzoo otel export RUN`: a recorded run (or every run of an eval folder) as OpenTelemetry spans."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..errors import ConfigError, UserError
from ..runtime.journal import journal_location as _journal_location
from . import render

console = Console(highlight=False, soft_wrap=True)
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="OpenTelemetry GenAI spans of runs (`agentzoo run --otel` exports them live).")


@app.command("export")
def export_cmd(source: str = typer.Argument(..., help="run id, prefix or 'latest'; or an eval results folder (all its runs)"),
               endpoint: Optional[str] = typer.Option(None, "--endpoint", help="OTLP/HTTP base URL [default: "
                                                      "$OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318]"),
               journal_path: Optional[Path] = typer.Option(None, "--journal", parser=_journal_location, metavar="FILE|URL",
                                                           help="journal file or postgresql:// URL [default: "
                                                           "$AGENTZOO_JOURNAL or .agentzoo/journal.db]")) -> None:
    """Send a recorded run as spans (GenAI conventions) with the times it was recorded at."""
    from ..runtime.journal import Journal, existing_journal
    from ..viewer.otel import counted, export_run, otlp_exporter, tracer_provider, traces_endpoint

    folder = Path(source)
    if folder.is_dir() and (folder / "results.db").is_file():  # an eval: its rows' runs, wherever they went
        from ..eval.store import ResultStore, journal_in

        store = ResultStore(folder / "results.db")
        try:
            run_ids = [row["run_id"] for row in store.rows() if row.get("run_id")]
            meta = store.get_meta("eval")
        finally:
            store.close()
        journal = existing_journal(journal_in(folder, meta, journal_path))
    elif folder.is_dir():
        if not (folder / "journal.db").is_file():
            raise ConfigError(f"{folder}: no journal.db here; is it the --out folder of an `agentzoo eval`?")
        journal = Journal(folder / "journal.db")
        run_ids = [r.run_id for r in journal.list_runs(limit=1_000_000) if r.status != "corrupt"]
    else:
        journal = existing_journal(journal_path)
        run_ids = [journal.get_run(source).run_id]
    target = traces_endpoint(endpoint) or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or \
        traces_endpoint(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")) or "http://localhost:4318/v1/traces"
    exporter = counted(otlp_exporter(endpoint))
    provider = tracer_provider(exporter)
    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)  # its retries; the outcome is said below
    spans = 0
    try:
        for run_id in run_ids:
            problems: list = []
            spans += export_run(provider, journal.get_run(run_id), journal.entries(run_id, problems=problems))
            for problem in problems:
                console.print(render.plain(f"skipped an unreadable entry: {problem}", "yellow"))
        provider.force_flush()
    finally:
        provider.shutdown()
        journal.close()
    if exporter.failed:  # type: ignore[attr-defined]
        raise UserError(f"could not send {exporter.failed} of {spans} spans to {target}: is an OTLP/HTTP "  # type: ignore[attr-defined]
                        "collector listening there? (--endpoint, or OTEL_EXPORTER_OTLP_ENDPOINT, names another)")
    console.print(render.plain(f"exported {spans} spans of {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} "
                               f"to {target}"))
