"""`agentzoo view`: the local web viewer over a journal and eval result folders."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from ..errors import ConfigError
from . import render

console = Console(highlight=False, soft_wrap=True)


def view_cmd(sources: Optional[list[Path]] = typer.Argument(None, help="eval results folders (the --out of `agentzoo "
                                                            "eval`) and/or one journal file [default: the journal]"),
             journal_path: Optional[Path] = typer.Option(None, "--journal", help="journal file [default: "
                                                         "$AGENTZOO_JOURNAL or .agentzoo/journal.db]"),
             host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; anything but loopback lets "
                                      "others on the network read your runs"),
             port: int = typer.Option(8765, "--port", help="port (a free one is taken if it is busy; 0: any)"),
             no_browser: bool = typer.Option(False, "--no-browser", help="do not open a browser"),
             verbose: bool = typer.Option(False, "--verbose", help="log every request")) -> None:
    """Look at runs in your browser: the runs list, each run's scopes and effects (live while it runs), diffs of
    forks, eval summaries. Local only: nothing is fetched from the internet and nothing runs from the journal."""
    from ..runtime.journal import default_journal_path
    from ..viewer.app import App
    from ..viewer.server import bind, open_browser

    journals, evals = [], []
    for source in sources or ():
        if source.is_dir():
            evals.append(source)
        elif source.is_file():
            journals.append(source)
        else:
            raise ConfigError(f"{source}: no such file or folder (give eval results folders or a journal file)")
    if journal_path is not None:
        journals.append(journal_path)
    if len(journals) > 1:
        raise ConfigError("give one journal (as an argument or --journal); eval folders bring their own")
    journal = journals[0] if journals else (default_journal_path() if not evals or default_journal_path().is_file()
                                            else None)
    app = App(journal, evals)
    server = bind(app, host, port, quiet=not verbose)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(Text(f"warning: listening on {host}: anyone who can reach it can read these runs", style="yellow"))
    what = ", ".join([*(f"journal {j}" for j in [journal] if j is not None), *(f"eval {e}" for e in evals)])
    console.print(Text.assemble("agentzoo view: ", (server.url, "bold"), render.plain(f" ({what}) · Ctrl-C to stop")))
    if not no_browser and not open_browser(server.url):
        console.print(render.plain("(no browser to open here: open the address above yourself)"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()
