"""What a model or tool wrote is shown as text on every page: `<script>`, HTML, rich markup,
template syntax and a 5 MB string (the browser's view of the same is in test_browser)."""

from __future__ import annotations

import asyncio
import json

from markupsafe import escape

from agentzoo import Journal
from agentzoo.viewer.app import App

from .runs import HOSTILE, hostile_run


def test_hostile_text_is_escaped_on_every_page(tmp_path):
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        run_id = asyncio.run(hostile_run(journal, big=5_000_000))
        other = asyncio.run(hostile_run(journal))
    app = App(path)
    escaped = str(escape(HOSTILE))
    pages = {"runs": app.handle("/runs", {}), "search": app.handle("/runs", {"q": HOSTILE}),
             "run": app.handle("/run", {"id": run_id}), "diff": app.handle("/diff", {"a": run_id, "b": other}),
             "error": app.handle("/run", {"id": HOSTILE})}
    for name, response in pages.items():
        page = response.body.decode()
        assert "<script>window" not in page and "onerror=" not in page.replace("onerror=&#34;", ""), name
        assert "<b>bold</b>" not in page, name
    assert escaped in pages["run"].body.decode()  # the task, the agent and the answer, as text
    assert str(escape("[red]rich[/red] **markdown** {{ jinja }} ${template}")) in pages["run"].body.decode()
    assert str(escape(HOSTILE[:60])) in pages["runs"].body.decode()
    assert str(escape(HOSTILE[:40])) in pages["error"].body.decode() and pages["error"].status == 404
    # The page's data is JSON, which the script writes as text; 5 MB of it is clipped to a page's worth.
    entries = app.handle("/api/entries", {"id": run_id})
    assert entries.content_type.startswith("application/json") and len(entries.body) < 200_000
    big = json.loads(entries.body)["entries"][-1]["result"]["content"]
    assert big.startswith(HOSTILE) and "more characters not shown" in big
    app.close()
