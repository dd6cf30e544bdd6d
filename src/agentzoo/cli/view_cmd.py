"""`agentzoo view`: the local web viewer over a journal and eval result folders."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from ..errors import AgentzooError, ConfigError
from . import render

console = Console(highlight=False, soft_wrap=True)


def view_cmd(sources: Optional[list[Path]] = typer.Argument(None, help="eval results folders (the --out of `agentzoo "
                                                            "eval`), bundles (.azb) and/or one journal file "
                                                            "[default: the journal]"),
             journal_path: Optional[Path] = typer.Option(None, "--journal", metavar="FILE", help="journal file "
                                                         "[default: $AGENTZOO_JOURNAL or .agentzoo/journal.db]"),
             host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; anything but loopback lets "
                                      "others on the network read your runs"),
             port: int = typer.Option(8765, "--port", help="port (a free one is taken if it is busy; 0: any)"),
             no_browser: bool = typer.Option(False, "--no-browser", help="do not open a browser"),
             verbose: bool = typer.Option(False, "--verbose", help="log every request")) -> None:
    """Look at runs in your browser: the runs list, each run's scopes and effects (live while it runs), diffs of
    forks, eval summaries. Local only: nothing is fetched from the internet and nothing runs from the journal."""
    from ..bundle import OpenedBundle, is_bundle
    from ..runtime.journal import default_journal_path
    from ..viewer.app import App

    journals, evals, bundles, names = [], [], [], {}
    try:
        for source in [*(sources or ()), *([journal_path] if journal_path is not None else [])]:
            _refuse_url(source)
            if source.is_dir():
                evals.append(source)
            elif is_bundle(source):  # unpacked for as long as the viewer runs: its journal, and its eval if it has one
                bundles.append(opened := OpenedBundle(source))
                shown = opened.results_folder or opened.journal_path
                (evals if opened.results_folder else journals).append(shown)
                names[shown] = str(source)
            elif source.is_file():
                journals.append(source)
            else:
                raise ConfigError(f"{source}: no such file or folder (give eval results folders, bundles or a "
                                  "journal file)")
        if len(journals) > 1:
            raise ConfigError("give one journal (as an argument or --journal); eval folders bring their own")
        default = default_journal_path()
        if not journals and not evals:
            _refuse_url(default)  # $AGENTZOO_JOURNAL may be a URL
        journal = journals[0] if journals else (default if not evals or default.is_file() else None)
        app = App(journal, evals, names=names)
        _merge_parts([source.path for source in app.sources.values()])
        _serve(app, host, port, no_browser, verbose)
    finally:
        for opened in bundles:
            opened.close()


def _merge_parts(journals: list[Path | None]) -> None:
    """An eval stopped before its end (`kill -9`) leaves its workers' runs in `journal.db.parts/`, which every
    command that opens the journal merges first. The viewer reads read-only, so it asks for that merge before
    it starts (parts a live worker still writes are left to it)."""
    from ..runtime.journal import Journal
    from ..runtime.stores.sqlite_parts import parts_dir

    for path in journals:
        if path is None or not path.is_file() or not parts_dir(path).is_dir():
            continue
        before = len(list(parts_dir(path).glob("*.db")))
        try:
            Journal(path).close()
        except AgentzooError as exc:  # a journal this user may only read: shown as it is
            console.print(render.plain(f"the runs in {parts_dir(path)} are not shown: {exc}"))
            continue
        left = len(list(parts_dir(path).glob("*.db"))) if parts_dir(path).is_dir() else 0
        if before > left:
            console.print(render.plain(f"merged {before - left} worker journal(s) of a stopped eval into {path}"))


def _refuse_url(source: Path) -> None:
    """A PostgreSQL journal: the viewer reads files (SQLite, read-only), so say how to get one, without
    echoing the URL (it may hold a password). A `Path` folds the URL's `//`, so its start is enough."""
    if str(source).lower().startswith(("postgresql:", "postgres:")):
        raise ConfigError("the viewer reads journal files, not a PostgreSQL journal: copy the runs into a bundle "
                          "with `agentzoo bundle RUN_ID|RESULTS_DIR -o runs.azb --journal URL`, then `agentzoo "
                          "view runs.azb`")


def _serve(app: Any, host: str, port: int, no_browser: bool, verbose: bool) -> None:
    from ..viewer.server import bind, open_browser

    server = bind(app, host, port, quiet=not verbose)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(Text(f"warning: listening on {host}: anyone who can reach it can read these runs", style="yellow"))
    what = ", ".join([*(f"journal {s.label}" for s in app.sources.values() if s.key == "main"),
                      *(f"eval {e.name}" for e in app.evals)])
    console.print(Text.assemble("agentzoo view: ", (server.url, "bold"), render.plain(f" ({what}) · Ctrl-C to stop")))
    if not no_browser and not open_browser(server.url):
        console.print(render.plain("(no browser to open here: open the address above yourself)"))
    # Stopped by `kill` as by Ctrl-C: the journals are closed and any unpacked bundle removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()
