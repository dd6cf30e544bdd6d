"""What the command line prints is true: text from models, tools, journals and configs is shown as
written (never read as markup, no raw terminal controls), tables stay readable at 80 columns,
JSON is JSON, exports do not append by surprise, costs say `unpriced`, Ctrl-C says how to resume,
and a model call that hangs shows as waiting.

Most commands run in this process through `main()` (fast); Ctrl-C needs a real process."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

import agentzoo
from agentzoo import Journal, ScriptedModel, ToolCallingAgent
from agentzoo.cli import main as cli_main
from agentzoo.cli import render
from agentzoo.cli.compare_cmd import compare_table
from agentzoo.cli.waiting import WaitingLine
from agentzoo.errors import UserError
from agentzoo.eval.report import render_markdown, summarize
from agentzoo.runtime.entry import RunInfo
from agentzoo.testing.fake_openai import FakeOpenAIServer

HOSTILE = ["[/red]", "[bold]x[/bold]", "list[int]", "xs[i]", "[link=file:///etc/passwd]x[/link]", ":smile:",
           "\x1b[31mred\x1b[0m", "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07", "\x1b[2J", "\u202eevil",
           "a\rb", "\x9b31m", "back\\"]
MARKUP = HOSTILE[:6]  # must show exactly as written
TEXT = " ".join(HOSTILE)
# Anything a terminal acts on: C0 but newline/tab, DEL, C1, bidi controls.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TOOLS = '''
def echo(text: str) -> str:
    """Say it back."""
    return text


def boom(text: str) -> str:
    """Fail with it."""
    raise ValueError(text)
'''


def az(capsys, monkeypatch, *args: object, width: int = 200) -> tuple[int, str, str]:
    """Run `agentzoo ARGS` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["agentzoo", *map(str, args)])
    for console in (cli_main.console, cli_main.err_console):
        monkeypatch.setattr(console, "width", width)
    code = 0
    try:
        cli_main.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_shown_as_written(output: str) -> None:
    output = re.sub("\x1b\\[[0-9;]*m", "", output)  # our own colours (on a terminal), not the text's
    for text in MARKUP:
        assert text in output, f"{text!r} is not shown as written"
    assert "😄" not in output
    assert not RAW_CONTROL.search(output), f"a raw control character reached the terminal: {output!r}"
    assert "\\x1b[31mred\\x1b[0m" in output and "\\u202eevil" in output and "\\x9b31m" in output


@pytest.fixture
def hostile_run(tmp_path):
    """A run whose task, reasoning, tool arguments, tool results, tool error and answer are all hostile."""
    (tmp_path / "tools.py").write_text(TOOLS)
    script = [{"content": f"thinking {TEXT}", "tool_calls": [{"name": "echo", "arguments": {"text": TEXT}},
                                                             {"name": "boom", "arguments": {"text": TEXT}}]},
              f"{TEXT} the end"]
    (tmp_path / "script.json").write_text(json.dumps(script))
    tools = f"{tmp_path / 'tools.py'}:echo,{tmp_path / 'tools.py'}:boom"
    return SimpleNamespace(journal=tmp_path / "j.db", args=("run", f"task {TEXT}", "--model",
                                                            f"scripted:{tmp_path / 'script.json'}", "--tools", tools,
                                                            "--journal", tmp_path / "j.db"))


# ------------------------------------------------------------------------------- 1. no markup

def test_run_show_runs_and_replay_print_model_and_tool_text_as_written(capsys, monkeypatch, hostile_run):
    code, live, err = az(capsys, monkeypatch, *hostile_run.args)
    assert code == 0, err
    assert_shown_as_written(live)
    assert "← echo [/red]" in live and "ValueError: [/red]" in live and f"answer: {render.visible(TEXT)}" in live

    code, shown, err = az(capsys, monkeypatch, "show", "latest", "--journal", hostile_run.journal)
    assert code == 0, err  # `[/red]` in an answer used to crash `show`
    assert_shown_as_written(shown)
    assert f"answer: {render.visible(TEXT)} the end" in shown and f"task: task {render.visible(TEXT)}" in shown

    code, listed, err = az(capsys, monkeypatch, "runs", "--journal", hostile_run.journal, width=300)
    assert code == 0, err
    assert "task [/red] [bold]x[/bold] list[int] xs[i]" in listed and not RAW_CONTROL.search(listed)

    code, replayed, err = az(capsys, monkeypatch, "replay", "latest", "--journal", hostile_run.journal)
    assert code == 0, err
    assert replayed.splitlines() == live.splitlines()[1:]  # as the run printed it (less its header line)


def test_streamed_text_is_shown_as_written():
    console = Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=False)
    printer = render.EntryPrinter(console, streaming=True)
    for chunk in HOSTILE:
        printer.on_delta(chunk + " ")
    assert_shown_as_written(console.file.getvalue())


def test_error_messages_are_printed_as_written(capsys, monkeypatch):
    def raises(exc):
        def app():
            raise exc
        return app

    monkeypatch.setattr(cli_main, "app", raises(UserError(f"the model said {TEXT}")))
    code, out, err = az(capsys, monkeypatch)
    assert code == 2 and err.startswith("error: the model said [/red]")
    assert_shown_as_written(err)

    from agentzoo.errors import ToolError
    monkeypatch.setattr(cli_main, "app", raises(ToolError(TEXT)))
    code, out, err = az(capsys, monkeypatch)
    assert code == 1 and err.startswith("error: ToolError: [/red]")
    assert_shown_as_written(err)


def test_a_failed_run_and_its_answer_are_printed_as_written():
    console = Console(file=io.StringIO(), width=200)
    result = SimpleNamespace(answer=TEXT, error={"type": "ModelError", "message": TEXT}, run_id="r1",
                             status="failed", model_calls=1, tool_calls=0, usage=agentzoo.Usage(1, 2),
                             cost_usd=0.0, unpriced_calls=1)
    render.print_summary(console, result)
    shown = console.file.getvalue()
    assert_shown_as_written(shown)
    assert "failed: ModelError: [/red]" in shown


def test_five_megabytes_of_answer_are_clipped_on_the_console_and_whole_in_json(tmp_path, capsys, monkeypatch):
    huge = "[/red] list[int] " + "x" * 5_000_000 + " \x1b[2J the end"
    (tmp_path / "script.json").write_text(json.dumps([huge]))
    journal = tmp_path / "j.db"
    code, live, err = az(capsys, monkeypatch, "run", huge[:1000], "--model", f"scripted:{tmp_path / 'script.json'}",
                         "--journal", journal)
    assert code == 0, err
    assert len(live) < 100_000 and "answer: [/red] list[int] xxx" in live
    assert f"({len(huge) - render.MAX_ANSWER:,} more characters not shown" in live
    code, shown, err = az(capsys, monkeypatch, "show", "latest", "--journal", journal)
    assert code == 0 and len(shown) < 100_000 and "answer: [/red] list[int]" in shown
    code, as_json, err = az(capsys, monkeypatch, "show", "latest", "--json", "--journal", journal)
    assert json.loads(as_json.splitlines()[0])["result"]["message"]["content"] == huge
    code, listed, err = az(capsys, monkeypatch, "runs", "--journal", journal, width=80)
    assert code == 0 and len(listed) < 2_000


def test_compare_and_summary_md_show_hostile_names_as_written(tmp_path, capsys, monkeypatch):
    names = {"agent": "[/red][link=file:///etc/passwd]x[/link]", "env": "list[int]\x1b[2J",
             "model": "xs[i] <script>x</script> [a](javascript:x)"}
    row = {"key": "k", "task": "t", "seed": 0, "status": "finished", "success": True, "reward": 1.0, **names,
           "input_tokens": 1, "output_tokens": 1, "cost_usd": 0.0, "unpriced_calls": 1, "model_calls": 1,
           "tool_calls": 0, "wall_seconds": 0.1, "model_latencies": [0.1], "scopes": {}}
    summary = summarize([row])
    summary["oracle_note"] = TEXT
    folder = tmp_path / "[bold]folder"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(summary))
    code, out, err = az(capsys, monkeypatch, "compare", folder, width=300)
    assert code == 0, err
    for text in [*names.values(), "[bold]folder"]:
        assert render.visible(text) in out
    assert_shown_as_written(out)

    md = render_markdown(summary)
    assert not re.search(r"(?<!\\)(<script|\]\(javascript:)", md) and "\x1b" not in md  # only escaped ones
    assert "\\<script\\>" in md and "list[int]\\\\x1b[2J" in md
    assert not RAW_CONTROL.search(md)


# --------------------------------------------------------------------------- 2. show --json

def test_show_json_prints_one_compact_json_object_per_line(capsys, monkeypatch, hostile_run):
    az(capsys, monkeypatch, *hostile_run.args)
    code, out, err = az(capsys, monkeypatch, "show", "latest", "--json", "--journal", hostile_run.journal)
    assert code == 0, err
    lines = out.splitlines()
    entries = [json.loads(line) for line in lines]
    with Journal(hostile_run.journal) as j:
        assert len(entries) == len(list(j.entries(j.list_runs()[0].run_id))) == 4
    assert [e["kind"] for e in entries] == ["model", "tool", "tool", "model"]
    assert entries[-1]["result"]["message"]["content"] == f"{TEXT} the end"  # exactly as recorded
    assert all(line == json.dumps(e, ensure_ascii=False, separators=(",", ":")) for line, e in zip(lines, entries))


# ---------------------------------------------------------------------- 3. export --out FILE

def test_export_refuses_to_add_to_an_existing_file_unless_asked(capsys, monkeypatch, tmp_path):
    journal, out = tmp_path / "j.db", tmp_path / "train.jsonl"
    (tmp_path / "script.json").write_text(json.dumps(["Done."]))
    az(capsys, monkeypatch, "run", "t", "--model", f"scripted:{tmp_path / 'script.json'}", "--journal", journal)
    code, _, err = az(capsys, monkeypatch, "export", "latest", "--out", out, "--journal", journal)
    assert code == 0, err
    first = out.read_text()
    code, _, err = az(capsys, monkeypatch, "export", "latest", "--out", out, "--journal", journal)
    assert code == 2 and "exists: pass --append to add to it" in err and out.read_text() == first
    code, _, err = az(capsys, monkeypatch, "export", "latest", "--out", out, "--append", "--journal", journal)
    assert code == 0 and out.read_text() == first * 2
    code, _, err = az(capsys, monkeypatch, "export", "latest", "--append", "--journal", journal)
    assert code == 2 and "--append goes with --out" in err
    code, _, err = az(capsys, monkeypatch, "export", "latest", "--out", tmp_path, "--journal", journal)
    assert code == 2 and "is a folder" in err


# ----------------------------------------------------------------------- eval folders (3, 6)

def _team(model, tools=(), *, system=None, sampling=None, episode=None):
    """A team whose root makes no model call: a planner (twice, as branches) then a solver."""
    class Team:
        async def run(self, task, ctx):
            for _ in range(2):
                planner = ScriptedModel(["Plan: read the numbers, then compute."])
                await ToolCallingAgent(planner, episode.tools, max_steps=2).run(task, ctx.child("planner"))
            return await ToolCallingAgent(model, episode.tools, max_steps=3).run(task, ctx.child("solver"))
    return Team()


@pytest.fixture(scope="module")
def team_folder(tmp_path_factory):
    from agentzoo.catalog import REGISTERED, register_agent
    from agentzoo.envs.gsm8k import GSM8K
    from agentzoo.eval.harness import EvalConfig, run_eval
    from agentzoo.eval.matrix import expand
    from agentzoo.eval.report import write_reports

    folder = tmp_path_factory.mktemp("team-eval")
    register_agent("team-for-output-tests", _team)
    try:
        env = GSM8K()
        asyncio.run(run_eval(expand({"gsm8k": env}, ["team-for-output-tests"], ["oracle"], 1, limit=2),
                             {"gsm8k": env}, EvalConfig(out=folder)))
    finally:
        REGISTERED.pop("team-for-output-tests")
    write_reports(folder)
    return folder


def test_an_eval_export_that_would_write_nothing_names_the_scopes_instead(capsys, monkeypatch, team_folder, tmp_path):
    out = tmp_path / "train.jsonl"
    code, _, err = az(capsys, monkeypatch, "export", team_folder, "--out", out, "--min-reward", "0")
    assert code == 2 and not out.exists()
    said = " ".join(err.split())
    assert "none of the 2 sample(s)" in said and "has a model call in that scope" in said
    assert re.search(r"'planner' \(\d+\), 'planner#2' \(\d+\), 'solver' \(\d+\)", said), said
    code, _, err = az(capsys, monkeypatch, "export", team_folder, "--out", out, "--min-reward", "0",
                      "--scope", "solver")
    assert code == 0, err
    assert len(out.read_text().splitlines()) == 2
    code, _, err = az(capsys, monkeypatch, "export", team_folder, "--out", out, "--min-reward", "0",
                      "--scope", "solver")
    assert code == 2 and "--append" in err and len(out.read_text().splitlines()) == 2


def test_a_run_export_without_a_scope_names_the_scopes_with_model_calls(capsys, monkeypatch, tmp_path):
    journal = Journal(tmp_path / "j.db")

    class Team:
        async def run(self, task, ctx):
            await ToolCallingAgent(ScriptedModel(["plan"]), []).run(task, ctx.child("planner"))
            return await ToolCallingAgent(ScriptedModel(["done"]), []).run(task, ctx.child("solver"))

    asyncio.run(agentzoo.run(Team(), "t", journal=journal))
    journal.close()
    code, out, err = az(capsys, monkeypatch, "export", "latest", "--journal", tmp_path / "j.db")
    said = " ".join(err.split())
    assert code == 2 and out == ""
    assert "--scope '<root>'" in said and "'planner' (1), 'solver' (1)" in said and "--scope NAME" in said


# --------------------------------------------------------------------------- 4. 80 columns

def _render(renderable, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_runs_stay_readable_at_80_columns():
    ids = ["20261202-104923-225a5bd08383", "20261202-104921-37445432347a", "20261202-104920-000000000001"]
    runs = [RunInfo(run_id=ids[0], created_at=2e9, status="interrupted", task="What is (17 + 25) * 3? " * 5,
                    config={"model": "openai-compatible:a-rather-long-model-name@http://localhost:8000/v1"},
                    answer="The answer is 126 " * 4, parent_id=ids[1]),
            RunInfo(run_id=ids[1], created_at=0, status="finished", task="short", answer="ok",
                    config={"model": "scripted:/x/demo_script.json"}),
            RunInfo(run_id=ids[2], created_at=0, status="corrupt", task=None, config={})]
    for width in (80, 100, 120):
        shown = _render(render.runs_table(runs), width)
        lines = shown.splitlines()
        assert all(len(line) <= width for line in lines), shown
        for run_id, status in zip(ids, ("interrupted", "finished", "corrupt")):
            (line,) = [line for line in lines if run_id in line]  # whole, on one line
            assert f"{run_id}  {status}" in line
        table = shown.split("(narrow terminal")[0]
        assert len([line for line in table.splitlines() if line.strip()]) == 1 + len(runs)  # one line per run
    narrow = " ".join(_render(render.runs_table(runs), 80).split())
    assert "What is (17" in narrow and "(narrow terminal: model, created (UTC), parent not shown" in narrow


def test_compare_stays_readable_at_80_columns():
    row = {"folder": "f", "samples": 20, "tasks": 20, "infra_errors": 0, "success_rate": 0.5, "ci": [0.3, 0.7],
           "pass_at_k": {"1": 0.5, "2": 0.6}, "cost_usd": 0.0, "cost_per_sample": 0.0, "unpriced_calls": 40,
           "model_calls": 40, "tokens_per_sample": 1234.5, "model_calls_per_sample": 2.0,
           "tool_calls_per_sample": 1.5, "latency_p50_seconds": 0.5, "env": "gsm8k", "model": "oracle"}
    rows = [{**row, "label": "results-a", "agent": "tool-calling"}, {**row, "label": "results-a", "agent": "codeact"},
            {**row, "label": "results-b", "agent": "magentic-one@paper"}]
    shown = _render(compare_table(rows), 80)
    lines = shown.splitlines()
    assert all(len(line) <= 80 for line in lines), shown
    for agent in ("tool-calling", "codeact", "magentic-one@paper"):
        (line,) = [line for line in lines if agent in line]
        assert "50.0% [30.0, 70.0]" in line and "unpriced" in line and "results-" in line
    assert "on every row: env gsm8k, model oracle" in " ".join(shown.split())  # left out, yet said
    wide = _render(compare_table(rows), 250)
    assert "latency p50" in wide and "narrow terminal" not in wide


# ------------------------------------------------------------------------------ 5. --version

def test_version(capsys, monkeypatch):
    code, out, err = az(capsys, monkeypatch, "--version")
    assert code == 0 and out == f"agentzoo {agentzoo.__version__}\n"


# ------------------------------------------------------------------------------- 8. unpriced

def test_costs_say_unpriced_everywhere_when_calls_had_no_price():
    assert render.total_cost_text(0.0, 3) == "unpriced"
    assert render.total_cost_text(0.25, 2) == "$0.250000 + 2 unpriced calls"
    assert render.total_cost_text(0.25, 0) == "$0.250000" and render.cost_text(None) == "unpriced"
    table = _render(render.scope_table({"": {"model_calls": 2, "tool_calls": 0, "input_tokens": 1, "output_tokens": 1,
                                             "cost_usd": 0.0, "unpriced_calls": 2},
                                        "a": {"model_calls": 2, "tool_calls": 0, "input_tokens": 1, "output_tokens": 1,
                                              "cost_usd": 0.5, "unpriced_calls": 1}}), 120)
    assert "$0.000000" not in table and "unpriced" in table and "$0.500000 + 1 unpriced call" in table


@pytest.mark.parametrize("counted", [True, False], ids=["per-scope counts", "rows from before them"])
def test_the_per_role_table_says_unpriced_where_the_main_table_does(counted):
    def scope(calls, cost, unpriced):
        usage = {"model_calls": calls, "tool_calls": 0, "other_effects": 0, "input_tokens": 5, "output_tokens": 5,
                 "cost_usd": cost}
        return {**usage, "unpriced_calls": unpriced} if counted else usage

    base = {"env": "gsm8k", "seed": 0, "status": "finished", "success": True, "reward": 1.0, "input_tokens": 20,
            "output_tokens": 20, "tool_calls": 0, "wall_seconds": 0.1, "model_latencies": [0.1]}
    rows = [{**base, "key": "a", "task": "t1", "agent": "team", "model": "oracle", "cost_usd": 0.0,
             "unpriced_calls": 3, "model_calls": 3, "scopes": {"planner": scope(2, 0.0, 2), "solver": scope(1, 0.0, 1)}},
            {**base, "key": "b", "task": "t1", "agent": "mixed", "model": "m", "cost_usd": 0.02,
             "unpriced_calls": 1, "model_calls": 3, "scopes": {"planner": scope(2, 0.02, 0), "solver": scope(1, 0.0, 1)}}]
    md = render_markdown(summarize(rows))
    role_lines = md.split("per role", 1)[1].splitlines()
    team = [line for line in role_lines if line.startswith("| team |")]
    assert len(team) == 2 and all("| unpriced |" in line for line in team) and not any("$0 " in line for line in team)
    mixed = {line.split(" | ")[2]: line for line in role_lines if line.startswith("| mixed |")}
    assert "| unpriced |" in mixed["solver"] and "$0.02" in mixed["planner"]
    # the main cost table (apart from the success table since the paired report) says it too
    assert any("| unpriced |" in line for line in md.splitlines() if line.startswith("| team | oracle |"))


# ---------------------------------------------------------------------------- 7. Ctrl-C

def _interrupt(args: list[str], srv: FakeOpenAIServer, calls_before: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    # Ctrl-C as a terminal sends it: the child must not inherit an ignored SIGINT (a test run started in
    # the background by a non-interactive shell has SIGINT ignored, and children keep that).
    proc = subprocess.Popen([sys.executable, "-m", "agentzoo.cli.main", *args],
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(6000):  # until the model call is in flight (the server has it), at most 60 s
            if srv.count > calls_before or proc.poll() is not None:
                break
            try:
                proc.wait(0.01)
            except subprocess.TimeoutExpired:
                pass
        assert srv.count > calls_before, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_ctrl_c_prints_the_run_id_and_the_exact_resume_command(tmp_path):
    env = dict(os.environ, COLUMNS="300")
    default = Path(env["AGENTZOO_JOURNAL"])
    other = tmp_path / "my journal.db"
    with FakeOpenAIServer({"hang": True}) as srv:
        model = f"openai-compatible:m@{srv.base_url}"
        done = _interrupt(["run", "hang", "--model", model, "--journal", str(other)], srv, 0, env)
        with Journal(other) as j:
            (info,) = j.list_runs()
        assert done.returncode == 130 and info.status == "interrupted"
        assert f"run {info.run_id} is recorded as interrupted" in done.stderr
        assert f"agentzoo resume {info.run_id} --journal '{other}'" in done.stderr

        # The default journal needs no --journal; a resume interrupted again says the same.
        done = _interrupt(["run", "hang", "--model", model], srv, 1, env)
        with Journal(default) as j:
            (info,) = j.list_runs()
        assert done.stderr.rstrip().endswith(f"agentzoo resume {info.run_id}"), done.stderr
        done = _interrupt(["resume", info.run_id], srv, 2, env)
        assert done.returncode == 130 and done.stderr.rstrip().endswith(f"agentzoo resume {info.run_id}")


def test_ctrl_c_outside_a_run_says_interrupted_once(capsys, monkeypatch):
    import typer

    def as_typer_does(command):  # typer's main: Exit(130) from Ctrl-C, then sys.exit(e.exit_code)
        def app():
            try:
                try:
                    command()
                except KeyboardInterrupt as e:
                    raise typer.Exit(130) from e
            except typer.Exit as e:
                sys.exit(e.exit_code)
        return app

    def interrupted_eval():  # eval prints its own message, then exits 130 `from None`
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    def interrupted_elsewhere():
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "_watched", None)
    for command, said in ((interrupted_eval, ""), (interrupted_elsewhere, "interrupted\n")):
        monkeypatch.setattr(cli_main, "app", as_typer_does(command))
        assert az(capsys, monkeypatch)[::2] == (130, said)


# ------------------------------------------------------------------------- 10. a call in flight

async def test_the_gateway_tells_listeners_of_the_run_and_of_each_live_effect_before_it_happens(tmp_path):
    seen: list[tuple] = []

    class Listener:
        def __call__(self, entry, served):
            seen.append(("done", entry.kind, entry.seq))

        def on_run(self, run_id, mode, journal):
            seen.append(("run", run_id, mode, journal.path))

        def on_start(self, scope, seq, kind, name):
            seen.append(("start", kind, seq, name))

    def reply(request):
        assert seen[-1] == ("start", "model", len(seen) // 2 - 1, "scripted")  # told before the call
        return "done"

    journal = Journal(tmp_path / "j.db")
    result = await agentzoo.run(ToolCallingAgent(ScriptedModel(reply), []), "t", journal=journal, listeners=[Listener()])
    assert seen == [("run", result.run_id, "live", journal.path), ("start", "model", 0, "scripted"),
                    ("done", "model", 0)]
    seen.clear()
    await agentzoo.replay(ToolCallingAgent(ScriptedModel([]), []), result.run_id, journal=journal,
                          listeners=[Listener()])
    assert seen == [("run", result.run_id, "replay", journal.path), ("done", "model", 0)]  # served: never started
    journal.close()


def test_the_waiting_line_counts_the_seconds_of_the_oldest_call():
    now = [100.0]
    out = io.StringIO()
    line = WaitingLine(Console(file=out, width=120, force_terminal=True, color_system=None), clock=lambda: now[0])
    line.start(("", 0), "gpt-x\x1b[2J", "")
    now[0] += 2.0
    line.start(("team/coder", 3), "gpt-y", "team/coder")
    now[0] += 10.4
    assert line.__rich__().plain == "waiting for model gpt-x\\x1b[2J … 12 s · 2 calls in flight"
    line.show()  # the timer's call: the oldest has waited long enough
    assert "waiting for model gpt-x" in out.getvalue()
    line.end(("", 0))
    assert line.__rich__().plain == "waiting for model gpt-y (team/coder) … 10 s"
    line.end(("team/coder", 3))
    assert line._live is None and line.__rich__().plain == ""


def test_the_waiting_line_is_only_for_terminals():
    now = [0.0]
    out = io.StringIO()
    line = WaitingLine(Console(file=out, width=120, force_terminal=False), clock=lambda: now[0])
    line.start(("", 0), "m", "")
    now[0] += 60
    line.show()
    assert out.getvalue() == "" and line._live is None


async def test_a_model_call_in_flight_shows_on_a_terminal_until_it_returns():
    out = io.StringIO()
    printer = render.EntryPrinter(Console(file=out, width=120, force_terminal=True, color_system=None))
    printer.waiting.after = 0.0  # at once: the test waits for the line, not for a time

    async def reply(request):
        for _ in range(10_000):
            if printer.waiting._live is not None:
                break
            await asyncio.sleep(0)
        assert printer.waiting._live is not None
        return "done"

    result = await agentzoo.run(ToolCallingAgent(ScriptedModel(reply), []), "t", listeners=[printer])
    assert result.ok and printer.waiting._live is None
    shown = out.getvalue()
    assert "waiting for model scripted" in shown and "step 1 model scripted" in shown
