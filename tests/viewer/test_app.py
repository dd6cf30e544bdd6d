"""The viewer's pages and answers (App.handle, no sockets), its HTTP server (headers, host check,
read-only methods), and `agentzoo view` as a user starts it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agentzoo import Entry, Journal
from agentzoo.runtime.entry import RunInfo
from agentzoo.viewer import app as app_module
from agentzoo.viewer.app import App
from agentzoo.viewer.server import CSP, bind

from .runs import eval_folder, fork_pair, team_run, tool_run

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="


def body(response) -> str:
    assert response.status == 200, response.body[:500]
    return response.body.decode()


def api(app, path, **query):
    response = app.handle(path, {k: str(v) for k, v in query.items()})
    return response.status, json.loads(response.body)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("made")
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        ids = {"tool": asyncio.run(tool_run(journal)), "team": asyncio.run(team_run(journal))}
        ids["parent"], ids["fork"] = asyncio.run(fork_pair(journal))
    app = App(path, [eval_folder(tmp_path / "results")], default_journal=tmp_path / "elsewhere.db")
    yield app, ids, path
    app.close()


def test_the_runs_list_links_each_run_and_its_parent(made):
    app, ids, _ = made
    page = body(app.handle("/runs", {}))
    for run_id in ids.values():
        assert f"/run?j=main&amp;id={run_id}" in page
    assert f"/diff?j=main&amp;a={ids['parent']}&amp;b={ids['fork']}" in page
    assert page.count('class="run-row"') == 4
    assert body(app.handle("/runs", {"q": "sum"})).count('class="run-row"') == 2
    assert app.handle("/", {}).headers["Location"] == "/runs?j=main"


def test_a_run_page_has_its_commands_spec_and_forks(made):
    app, ids, path = made
    page = body(app.handle("/run", {"id": ids["parent"]}))
    assert f"agentzoo replay {ids['parent']} --journal {path}" in page
    assert f"agentzoo fork {ids['parent']}" in page and f"agentzoo otel export {ids['parent']}" in page
    assert f"/diff?j=main&amp;a={ids['parent']}&amp;b={ids['fork']}" in page  # its fork, with a diff link
    assert "scripted:a" in page
    child = body(app.handle("/run", {"id": ids["fork"]}))
    assert "diverged from its parent at scope" in child and "$.messages[0].content" in child
    assert app.handle("/run", {"id": "nope"}).status == 404


def test_the_run_api_has_the_scope_tree_usage_and_budgets(made):
    app, ids, _ = made
    status, run = api(app, "/api/run", id=ids["team"])
    assert status == 200 and run["status"] == "finished" and run["answer"] == "merged answer"
    tree = [(s["scope"], s["depth"]) for s in run["scopes"]]
    assert tree == [("", 0), ("team", 1), ("team/coder#1", 2), ("team/coder#2", 2), ("team/lead", 2)]
    lead = next(s for s in run["scopes"] if s["scope"] == "team/lead")
    assert lead["model_calls"] == 2 and lead["kinds"] == {"model": 2, "sandbox": 1}
    team = next(s for s in run["scopes"] if s["scope"] == "team")
    assert team["subtree"]["effects"] == 5 and team["start"] <= lead["start"] and team["end"] >= lead["end"]
    assert run["totals"]["model_calls"] == 4
    assert run["budgets"] == [{"scope": "team/coder#1", "what": "tokens", "limit": 1000, "used": 10, "fraction": 0.01}]


def test_entries_are_paged_by_cursor_and_model_history_is_not_sent_twice(made):
    app, ids, _ = made
    status, page = api(app, "/api/entries", id=ids["parent"], limit=2)
    assert status == 200 and page["more"] and [e["kind"] for e in page["entries"]] == ["model", "tool"]
    first_call = page["entries"][0]
    assert first_call["skipped_messages"] == 0 and len(first_call["request"]["messages"]) == 2
    _, rest = api(app, "/api/entries", id=ids["parent"], after=page["cursor"])
    assert not rest["more"] and [e["seq"] for e in rest["entries"]] == [2, 3, 4]
    second_call = rest["entries"][0]
    # The second call repeats the first's two messages; only what is new is sent (and counted).
    assert second_call["skipped_messages"] == 2
    assert [m["role"] for m in second_call["request"]["messages"]] == ["assistant", "tool"]
    _, raw = api(app, "/api/entry", id=ids["parent"], scope="", seq=2)
    assert len(raw["request"]["messages"]) == 4  # the raw entry is whole
    _, scoped = api(app, "/api/entries", id=ids["team"], scope="team/coder#2")
    assert [e["scope"] for e in scoped["entries"]] == ["team/coder#2"]


def test_big_values_are_clipped_and_images_picked_out(tmp_path):
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        journal.create_run(RunInfo(run_id="r", created_at=time.time()))
        journal.put(Entry("r", "", 0, "env", "browser", {"action": "click"}, "h",
                          {"observation": "x" * 5_000_000, "screenshot": PNG,
                           "svg": "data:image/svg+xml;base64,PHN2Zz48c2NyaXB0Pjwvc2NyaXB0Pjwvc3ZnPg=="}))
    app = App(path)
    response = app.handle("/api/entries", {"id": "r"})
    assert len(response.body) < 100_000
    entry = json.loads(response.body)["entries"][0]
    assert entry["images"] == [PNG] and entry["result"]["screenshot"] == "[image 1]"
    assert entry["result"]["svg"].startswith("data:image/svg+xml")  # not an image here: shown as text
    assert entry["result"]["observation"].endswith("(4,980,000 more characters not shown: see the raw entry)")
    raw = app.handle("/api/entry", {"id": "r", "scope": "", "seq": "0"})
    assert len(json.loads(raw.body)["result"]["observation"]) == 5_000_000
    app.close()


def test_a_diff_aligns_by_key_and_marks_the_first_divergence(made):
    app, ids, _ = made
    page = body(app.handle("/diff", {"a": ids["parent"], "b": ids["fork"]}))
    assert 'id="divergence"' in page and page.count("first-divergence") == 1
    assert "first divergence at scope <code>(root)</code> seq 0" in page
    assert "$.messages[0].content: recorded &#34;sys&#34;, now &#34;sys changed&#34;" in page
    rows = re.findall(r'<tr class="diff-(\w+)', page)
    assert rows == ["request", "same", "request", "request", "request"]
    # A run alone is compared with its parent.
    assert body(app.handle("/diff", {"a": ids["fork"]})) == page
    same = body(app.handle("/diff", {"a": ids["tool"], "b": ids["tool"]}))
    assert "no divergence" in same


def test_an_eval_page_has_its_tables_plot_filters_and_paired_comparison(made):
    app, ids, _ = made
    page = body(app.handle("/eval", {"e": "0"}))
    assert "<h2>gsm8k</h2>" in page and "75.0% [" in page
    assert '/eval/plot?e=0&amp;name=plot_gsm8k.png' in page
    plot = app.handle("/eval/plot", {"e": "0", "name": "plot_gsm8k.png"})
    assert plot.status == 200 and plot.body.startswith(b"\x89PNG") and plot.content_type == "image/png"
    for name in ("../journal.db", "results.db", "/etc/passwd", "plot_gsm8k.png/../results.db"):
        assert app.handle("/eval/plot", {"e": "0", "name": name}).status == 404
    assert page.count('class="outcome-row"') == 16
    failures = body(app.handle("/eval", {"e": "0", "outcome": "failure", "agent": "codeact"}))
    assert failures.count('class="outcome-row"') == 4
    seed = body(app.handle("/eval", {"e": "0", "seed": "1", "env": "gsm8k"}))
    assert seed.count('class="outcome-row"') == 8
    run_link = re.search(r'href="/run\?j=e0&amp;id=([\w-]+)"', page).group(1)
    assert "add 2 and 3" not in body(app.handle("/run", {"j": "e0", "id": run_link}))  # its own task
    assert "task " in body(app.handle("/run", {"j": "e0", "id": run_link}))
    # codeact against the tool-calling baseline on the same 8 (task, seed) pairs: 3 both, 1 only
    # codeact, 3 only the baseline, 1 neither.
    row = re.search(r"<tr><td>codeact</td><td>gsm8k</td>.*?</tr>", page, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[:5] == ["8", "3", "1", "3", "1"] and cells[5] == "-25.0%"


def test_paired_sign_test():
    from agentzoo.viewer.evals import sign_test

    assert sign_test(0, 0) is None
    assert sign_test(1, 3) == pytest.approx(0.625)
    assert sign_test(10, 0) == pytest.approx(2 / 1024)


def test_unknown_pages_and_missing_journals_say_so(tmp_path):
    app = App(tmp_path / "none.db")
    assert "no runs yet" in body(app.handle("/runs", {}))
    assert app.handle("/nope", {}).status == 404
    assert app.handle("/static/../app.py", {}).status == 404
    assert app.handle("/static/viewer.js", {}).content_type.startswith("text/javascript")
    assert not (tmp_path / "none.db").exists()
    status, answer = api(app, "/api/run", id="x")
    assert status == 400 and "no journal at" in answer["error"]


# --- the HTTP server --------------------------------------------------------------------------

def fetch(url, host=None, method="GET"):
    request = urllib.request.Request(url, method=method, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_the_server_binds_loopback_sends_a_csp_and_answers_only_to_its_own_name(made):
    app, ids, _ = made
    server = bind(app, port=0)
    server.start_in_thread()
    try:
        assert server.server_address[0] == "127.0.0.1"
        status, headers, page = fetch(server.url + f"run?id={ids['team']}")
        assert status == 200 and headers["Content-Security-Policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert fetch(server.url + "runs", host=f"localhost:{server.port}")[0] == 200
        assert fetch(server.url + "runs", host=f"evil.example:{server.port}")[0] == 421  # DNS rebinding
        assert fetch(server.url + "runs", method="POST")[0] == 405
        status, headers, data = fetch(server.url + f"api/run?id={ids['team']}")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
    finally:
        server.shutdown()
        server.server_close()


def test_templates_mark_nothing_safe_and_the_script_writes_only_text():
    here = Path(app_module.__file__).parent
    for template in (here / "templates").glob("*.html"):
        text = template.read_text()
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template  # no inline script
        assert not re.search(r"\son\w+=", text), template  # no inline handlers
        assert "style=" not in text, template  # the CSP allows no inline styles either
    script = (here / "static" / "viewer.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setAttribute(\"on", "javascript:"):
        assert sink not in script, sink
    assert App(None).templates.autoescape is True


def test_the_view_command_serves_until_stopped(tmp_path):
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        run_id = asyncio.run(tool_run(journal))
    proc, url, _ = _serving("--journal", path)
    try:
        status, _, page = fetch(url + f"run?id={run_id}")
        assert status == 200 and run_id in page.decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _serving(*args):
    """`agentzoo view ARGS` started, its first line read: (process, its address, that line)."""
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "agentzoo.cli.main", "view", *map(str, args), "--port", "0",
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = ""
    for _ in range(5):  # what it says before it serves, then its address
        lines += (line := proc.stdout.readline())
        if (found := re.search(r"http://127\.0\.0\.1:\d+/", line)) is not None:
            return proc, found.group(0), lines
    proc.kill()
    raise AssertionError(lines + proc.communicate(timeout=10)[1])


def test_the_view_command_shows_bundles_of_a_run_and_of_an_eval(tmp_path):
    """A bundle (`agentzoo bundle`, the file a run or an eval travels in) is shown as what it holds, named by
    its file; its unpacked copy is gone once the viewer stops."""
    from agentzoo.bundle import write_bundle

    folder = eval_folder(tmp_path / "results")
    with Journal(folder / "journal.db") as journal:
        run_id = journal.list_runs(limit=1)[0].run_id
    write_bundle(str(folder), tmp_path / "eval.azb")
    write_bundle(run_id, tmp_path / "run.azb", journal_path=folder / "journal.db")
    proc, url, line = _serving(tmp_path / "eval.azb")
    try:
        assert f"eval {tmp_path / 'eval.azb'}" in line
        status, _, page = fetch(url + "eval?e=0")
        assert status == 200 and "eval.azb" in page.decode() and "paired" in page.decode().lower()
        status, _, page = fetch(url + f"run?id={run_id}&j=e0")
        assert status == 200 and run_id in page.decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    proc, url, line = _serving(tmp_path / "run.azb")
    try:
        assert f"journal {tmp_path / 'run.azb'}" in line
        status, _, page = fetch(url + f"run?id={run_id}")
        assert status == 200 and run_id in page.decode()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        proc.wait(timeout=10)
    assert not [p for p in Path(tempfile.gettempdir()).glob("agentzoo-bundle-*") if _holds(p, str(tmp_path), run_id)]


def test_the_view_command_merges_the_runs_a_stopped_evals_workers_left(tmp_path):
    """`kill -9` of `eval --workers N` leaves each worker's runs in journal.db.parts/ until the journal is next
    opened for writing; the viewer reads read-only, so it has them merged before it serves."""
    folder = eval_folder(tmp_path / "results")
    parts = tmp_path / "results" / "journal.db.parts"
    parts.mkdir()
    with Journal(parts / "4242-worker.db") as part:
        run_id = asyncio.run(tool_run(part, answer="7", task="left by a worker"))
    proc, url, said = _serving(folder)
    try:
        assert f"merged 1 worker journal(s) of a stopped eval into {folder / 'journal.db'}" in said
        status, _, page = fetch(url + f"run?id={run_id}&j=e0")
        assert status == 200 and "left by a worker" in page.decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not parts.exists()


def _holds(folder: Path, *marks: str) -> bool:
    """Whether an unpacked bundle is one of this test's (its manifest names the test's folder or run)."""
    try:
        manifest = (folder / "bundle.json").read_text()
    except OSError:
        return False
    return any(mark in manifest for mark in marks)


def test_the_view_command_refuses_what_it_cannot_show(tmp_path):
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "view", str(tmp_path / "missing"),
                          "--no-browser"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no such file or folder" in out.stderr
    # a PostgreSQL journal: what to do instead, and never the URL's password
    url = "postgresql://me:hunter2hunter2@db.example/runs"
    for args, env in ((["--journal", url], {}), ([url.replace("postgresql", "postgres")], {}),
                      ([], {"AGENTZOO_JOURNAL": url})):
        out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "view", *args, "--no-browser"],
                             capture_output=True, text=True, timeout=60, env=dict(os.environ, **env))
        assert out.returncode == 2 and "agentzoo bundle" in out.stderr, out.stderr
        assert "hunter2" not in out.stdout + out.stderr
