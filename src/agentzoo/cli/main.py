"""The `agentzoo` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from .. import _json
from ..errors import AgentzooError, ConfigError, UserError
from ..models.registry import HOW_TO_CONFIGURE, default_model_string
from ..runtime.event_loop import run_loop
from ..runtime.journal import Journal, default_journal, existing_journal, journal_location, journal_missing
from . import render
from .adas_cmd import app as adas_app
from .compare_cmd import compare_cmd
from .eval_cmd import eval_cmd
from .lint_cmd import lint_agents_cmd
from .mcp_cmd import app as mcp_app
from .otel_cmd import app as otel_app
from .recipes_cmd import app as recipes_app
from .sandbox_cmd import app as sandbox_app
from .serve_cmd import serve_cmd
from .synth_cmd import HELP as SYNTH_HELP
from .synth_cmd import synth as synth_cmd
from .view_cmd import view_cmd

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Build, run, replay and compare LLM agents. Every run is recorded in a journal.")
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

app.add_typer(sandbox_app, name="sandbox")
app.add_typer(recipes_app, name="recipes")
app.command("eval")(eval_cmd)
app.command("compare")(compare_cmd)
app.command("lint-agents")(lint_agents_cmd)
app.command("view")(view_cmd)
app.command("serve")(serve_cmd)
app.add_typer(otel_app, name="otel")
app.add_typer(mcp_app, name="mcp")
app.add_typer(adas_app, name="adas")
app.command("synth", help=SYNTH_HELP)(synth_cmd)


def _print_version(value: bool) -> None:
    if value:
        from .._version import __version__

        sys.stdout.write(f"agentzoo {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="print agentzoo's version and exit")) -> None:
    """Build, run, replay and compare LLM agents. Every run is recorded in a journal."""

JournalOpt = typer.Option(None, "--journal", parser=journal_location, metavar="FILE|URL",
                          help="journal file, or a postgresql:// URL [default: $AGENTZOO_JOURNAL or .agentzoo/journal.db]")


def _journal(path: Optional[Path]) -> Journal:
    return Journal(path or default_journal())


def _build(spec: Any, trust: Any = None) -> Any:
    """The agent of `spec`, built now (a bad spec fails before anything starts); one with MCP servers or remote
    A2A agents is built by `_execute` in the run's event loop, which starts them and reads their cards."""
    from ..builder import TRUST_ALL, build

    trust = trust or TRUST_ALL
    return _Deferred(spec, trust) if spec.mcp or spec.a2a else build(spec, trust=trust)


class _Deferred:
    def __init__(self, spec: Any, trust: Any) -> None:
        self.spec, self.trust = spec, trust

    async def start(self) -> Any:
        from ..builder import build_async

        return await build_async(self.spec, trust=self.trust)


def _execute(run_built, journal: Journal, built: Any) -> None:
    """Run `run_built(built)`, print the summary, exit 1 if the run failed."""

    async def main():
        made = await built.start() if isinstance(built, _Deferred) else built
        try:
            return await run_built(made)
        finally:
            await made.aclose()  # the HTTP session belongs to this event loop; the MCP servers stop

    result = run_loop(main())
    render.print_summary(console, result)
    journal.close()
    if not result.ok:
        raise typer.Exit(1)


AgentOptOpt = typer.Option(None, "--agent-opt", help="a recipe option KEY=VALUE (repeatable; see `agentzoo recipes show NAME`)")
ModelOpt = typer.Option(None, "--model-opt", help="a setting of the model's client KEY=VALUE, e.g. stream=false, "
                        "max_concurrency=256, first_byte_timeout=600 (openai-compatible), ctx=8192 (local) "
                        "(repeatable)")
McpOpt = typer.Option(None, "--mcp", metavar="COMMAND|URL", help="an MCP server whose tools the agent gets: a command "
                      "line (quoted: \"python -m mcp_server_time\") or an http(s):// URL, or a JSON object "
                      "{\"server\": ..., \"prefix\": ..., \"timeout\": ...}; started with the run, stopped at its end "
                      "(repeatable)")


@app.command()
def run(task: str = typer.Argument(..., help="what the agent should do"),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="openai:<name> | openai-compatible:<name>@<base_url> | scripted:<file> [default: $AGENTZOO_MODEL]"),
        agent_kind: Optional[str] = typer.Option(None, "--agent", help="tool-calling (default), codeact, a recipe[@preset] (`agentzoo recipes`), or module:build"),
        agent_opt: Optional[list[str]] = AgentOptOpt,
        spec_file: Optional[Path] = typer.Option(None, "--spec", help="an agent spec file (YAML/JSON); flags override its fields"),
        role_model: Optional[list[str]] = typer.Option(None, "--role-model", help="ROLE=MODEL: a model for one role of a team (repeatable)"),
        tools: Optional[str] = typer.Option(None, "--tools", help="comma-separated module:function or file.py:function"),
        mcp: Optional[list[str]] = McpOpt,
        a2a_agent: Optional[list[str]] = typer.Option(None, "--a2a-agent", metavar="URL", help="a remote A2A agent the agent may call as a tool (named and described by its card; repeatable), or a JSON object {\"url\": ..., \"name\": ..., \"api_key_env\": ...}"),
        system: Optional[str] = typer.Option(None, "--system", help="system prompt"),
        max_steps: Optional[int] = typer.Option(None, "--max-steps", help="step (turn) limit [default: 20; codeact 10; a recipe's own]"),
        action_format: Optional[str] = typer.Option(None, "--format", help="tool-calling: tool_calls (native) or react (text); codeact: code, json or text"),
        action_mode: Optional[str] = typer.Option(None, "--action-mode", help="codeact: code, json or text (same as --format)"),
        tool_mode: Optional[str] = typer.Option(None, "--tool-mode", help="how tool calls travel: native (OpenAI tools), json (schema-constrained JSON, for models without tool calling) or react [default: native; json for local models]"),
        temperature: Optional[float] = typer.Option(None, "--temperature"),
        max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="cap on each reply's tokens"),
        top_p: Optional[float] = typer.Option(None, "--top-p"),
        seed: Optional[int] = typer.Option(None, "--seed", help="sampling seed sent to the model"),
        tier: Optional[str] = typer.Option(None, "--tier", help="agents that run code: sandbox tier auto | bwrap | landlock | unsafe"),
        unsafe: bool = typer.Option(False, "--unsafe", help="agents that run code: allow running it without isolation"),
        sandbox_timeout: Optional[float] = typer.Option(None, "--sandbox-timeout", help="seconds one code action may take"),
        sandbox_memory: Optional[int] = typer.Option(None, "--sandbox-memory", help="MB of memory for code"),
        stream: bool = typer.Option(False, "--stream", help="stream tokens as the model writes them"),
        call_timeout: Optional[float] = typer.Option(None, "--call-timeout", help="seconds one model call may take"),
        model_opt: Optional[list[str]] = ModelOpt,
        budget_tokens: Optional[int] = typer.Option(None, "--budget-tokens"),
        budget_usd: Optional[float] = typer.Option(None, "--budget-usd"),
        budget_calls: Optional[int] = typer.Option(None, "--budget-calls"),
        budget_seconds: Optional[float] = typer.Option(None, "--budget-seconds"),
        otel: bool = typer.Option(False, "--otel", help="export the run as OpenTelemetry GenAI spans (or AGENTZOO_OTEL=1) to $OTEL_EXPORTER_OTLP_ENDPOINT [default: http://localhost:4318]"),
        journal_path: Optional[Path] = JournalOpt) -> None:
    """Run an agent or recipe on TASK, showing each step as it happens."""
    from .specs import (agent_options, check_model_options, load_spec_file, mcp_servers, parse_pairs, spec_from_flags,
                        split_list)

    base = load_spec_file(spec_file) if spec_file else {}
    model = model or base.get("model") or default_model_string()
    if not model:
        err_console.print(HOW_TO_CONFIGURE, soft_wrap=True, markup=False)
        raise typer.Exit(2)
    if action_format and action_mode and action_format != action_mode:
        raise ConfigError("--format and --action-mode name the same setting; give one")
    agent_text = agent_kind or (base.get("agent", "tool-calling") + (f"@{base['preset']}" if base.get("preset") else ""))
    spec = spec_from_flags(
        agent_text, model, options=agent_options(agent_opt, [agent_text])[agent_text], base=base,
        models=dict(parse_pairs(role_model, "--role-model")) or None, tools=split_list(tools) or None,
        mcp=mcp_servers(mcp), a2a=mcp_servers(a2a_agent),
        system=system, max_steps=max_steps, action_format=action_format or action_mode, tool_mode=tool_mode,
        sampling={"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p, "seed": seed},
        sandbox={"tier": tier, "allow_unsafe": unsafe or None, "wall_seconds": sandbox_timeout,
                 "memory_mb": sandbox_memory},
        budgets={"tokens": budget_tokens, "usd": budget_usd, "model_calls": budget_calls,
                 "wall_seconds": budget_seconds},
        stream=stream or None, call_timeout=call_timeout, model_options=dict(parse_pairs(model_opt, "--model-opt")))
    check_model_options(spec.model_options, [spec.model], spec.models)
    _run_spec(task, spec, journal_path, otel=otel)


def _run_spec(task: str, spec: Any, journal_path: Optional[Path], otel: bool = False) -> None:
    from ..runtime import runner

    built = _build(spec)
    journal = _journal(journal_path)
    printer = render.EntryPrinter(console, streaming=spec.stream)

    def go(built: Any) -> Any:
        console.print(render.plain(f"model {spec.model} · agent {built.kind.name} · journal {journal.path}", "dim"))
        return runner.run(built.agent, task, journal=journal, config=built.spec.to_config(), budgets=built.budgets,
                          listeners=[printer, *_otel_listeners(otel)], on_delta=printer.on_delta if spec.stream else None)

    _execute(go, journal, built)


def _otel_listeners(flag: bool) -> list[Any]:
    from ..viewer.otel import live_listeners  # OpenTelemetry is imported only when asked for

    return live_listeners(flag)


@app.command()
def demo(model: Optional[str] = typer.Option(None, "--model", "-m", help="a model string, as for `agentzoo run` [default: $AGENTZOO_MODEL, else the shipped local model]"),
         scripted: bool = typer.Option(False, "--scripted", help="play the shipped script instead of a model"),
         model_opt: Optional[list[str]] = ModelOpt,
         journal_path: Optional[Path] = JournalOpt) -> None:
    """Run the shipped example on a real model (the shipped local one if none is configured), then
    replay it from the journal with no model call."""
    from ..builder import build
    from ..examples import demo as example
    from ..runtime import runner
    from ..runtime.spec import AgentSpec
    from .specs import check_model_options, parse_pairs, split_list

    why_scripted = "--scripted" if scripted else None
    model = f"scripted:{example.SCRIPT}" if scripted else model or default_model_string()
    if model is None:
        model, why_scripted = example.default_model()
    options = dict(parse_pairs(model_opt, "--model-opt"))
    if why_scripted and not scripted:  # the shipped script stands in for a local model that cannot run
        options = {}  # and the settings were the local model's
    check_model_options(options, [model])
    local = model.startswith("local:")
    streamed = local and options.get("stream") is not False  # the local model's text shown as it comes
    if why_scripted:
        console.print("[yellow]Running the shipped example with a scripted model[/] (no model is called).")
        if why_scripted != "--scripted":
            console.print(render.plain(f"The shipped local model cannot run: {why_scripted}", "yellow"))
        console.print()
    elif model == example.LOCAL_MODEL:
        console.print("No model configured: running the shipped example on the shipped local model, "
                      "SmolLM2-135M, offline (llama.cpp in this process; cost $0).\n")
    spec = AgentSpec(agent="tool-calling", model=model, tools=split_list(example.TOOLS), system=example.SYSTEM,
                     max_steps=example.MAX_STEPS, stream=streamed, model_options=options,
                     sampling={"max_tokens": example.LOCAL_MAX_TOKENS} if model.startswith(example.LOCAL_MODEL) else {})
    built = build(spec)
    journal = _journal(journal_path)
    printer = render.EntryPrinter(console, streaming=streamed)
    console.print(render.plain(f"model {model} · agent {built.kind.name} · journal {journal.path}", "dim"))

    async def go() -> Any:
        try:
            return await runner.run(built.agent, example.TASK, journal=journal, config=built.spec.to_config(),
                                    listeners=[printer], on_delta=printer.on_delta if streamed else None)
        finally:
            await built.aclose()

    result = run_loop(go())
    render.print_summary(console, result)

    # The journal's promise, shown: the same run again with every effect served from it.
    console.print(f"\n[bold]Replaying run {escape(result.run_id)} from the journal[/] (no model or tool is called):")
    again = build(_stored_spec(journal.get_run(result.run_id), str(journal.path)), replay=True)
    replayed = run_loop(runner.replay(again.agent, result.run_id, journal=journal,
                                      listeners=[render.EntryPrinter(console)]))
    render.print_summary(console, replayed)
    same = replayed.answer == result.answer and replayed.error == result.error and replayed.live_effects == 0
    console.print(f"replay: {'the same outcome' if same else '[red]a different outcome[/]'}, "
                  f"{replayed.live_effects} live effects.\n")
    journal.close()
    if local:
        console.print(render.plain(example.local_note(result.answer, result.tool_calls)))
    console.print("\nNext: [bold]agentzoo show latest[/], [bold]agentzoo fork latest --system '...'[/], "
                  "[bold]agentzoo export latest --format sharegpt[/].\n"
                  "Then: [bold]agentzoo recipes[/] (published systems to run), "
                  "[bold]agentzoo sandbox probe[/] (isolation for model-written code), "
                  "[bold]agentzoo eval --env gsm8k,humaneval --agent tool-calling,codeact --model oracle "
                  "--limit 20 --out results/[/] (the harness, checked on gold answers).\n")
    if not local and model.startswith("scripted:"):
        console.print(HOW_TO_CONFIGURE, soft_wrap=True, markup=False)
    if not same or (result.error or {}).get("infrastructure"):
        raise typer.Exit(1)


TrustOpt = typer.Option(False, "--trust", help="load the code (tools, agent, environment) the journal names; "
                        "without it, only agentzoo's own code and what you name here is loaded")


def _stored_spec(info: Any, source: str) -> Any:
    from ..runtime.spec import AgentSpec

    return AgentSpec.from_config(info.config, source=f"{source}: run {info.run_id}'s config")


@app.command()
def replay(run_id: str = typer.Argument(..., help="run id, prefix or 'latest'; or a bundle file (every run in it)"),
           agent_code: Optional[str] = typer.Option(None, "--agent", help="the run's own agent builder (module:build), if it was user code"),
           only: Optional[str] = typer.Option(None, "--run", help="a bundle: replay only this run"),
           trust: bool = TrustOpt,
           journal_path: Optional[Path] = JournalOpt) -> None:
    """Re-run a recorded run from its journal: no model or tool is called, no code is imported; a divergence is an error."""
    from ..builder import build
    from ..runtime import runner
    from .specs import trust_from

    with _Source(run_id, journal_path, only) as source:
        failed = 0
        for rid in source.run_ids:
            info = source.journal.get_run(rid)
            spec = _stored_spec(info, source.name)
            built = build(spec, trust=trust_from(trust, [agent_code] if agent_code else None), replay=True)
            printer = render.EntryPrinter(console)
            result = run_loop(runner.replay(built.agent, info.run_id, journal=source.journal, listeners=[printer]))
            render.print_summary(console, result)
            failed += not result.ok
        if len(source.run_ids) > 1:
            console.print(f"replayed {len(source.run_ids)} runs from {escape(source.name)} with no model or tool "
                          f"call: {len(source.run_ids) - failed} finished as recorded, {failed} failed")
    if failed:
        raise typer.Exit(1)


@app.command()
def resume(run_id: str = typer.Argument(..., help="run id, prefix or 'latest'"),
           rerun_interrupted: bool = typer.Option(False, "--rerun-interrupted",
                                                  help="run again a side-effecting tool call that was cut off"),
           model: Optional[str] = typer.Option(None, "--model", "-m", help="the model string again (e.g. when the "
                                               "stored one had credentials, which are never stored)"),
           trust: bool = TrustOpt,
           journal_path: Optional[Path] = JournalOpt) -> None:
    """Finish a run that crashed or was stopped, without repeating any completed call."""
    from ..runtime import runner
    from .specs import trust_from

    journal = existing_journal(journal_path)
    info = journal.get_run(run_id)
    spec = _stored_spec(info, str(journal.path))
    if model is not None:
        spec = spec.with_changes({"model": model})
    built = _build(spec, trust_from(trust))
    printer = render.EntryPrinter(console, mark_served=True)
    console.print(render.plain(f"resuming {info.run_id} ({info.status})", "dim"))
    _execute(lambda built: runner.resume(built.agent, info.run_id, journal=journal, listeners=[printer],
                                         budgets=built.budgets, rerun_interrupted=rerun_interrupted), journal, built)


@app.command()
def fork(run_id: str = typer.Argument(..., help="the parent run: id, prefix or 'latest'; or a bundle file"),
         model: Optional[str] = typer.Option(None, "--model", "-m", help="a different model"),
         system: Optional[str] = typer.Option(None, "--system", help="a different system prompt"),
         max_steps: Optional[int] = typer.Option(None, "--max-steps"),
         task: Optional[str] = typer.Option(None, "--task", help="a different task"),
         agent_opt: Optional[list[str]] = AgentOptOpt,
         changes: Optional[list[str]] = typer.Option(None, "--set", help="change any spec field: KEY=VALUE, e.g. "
                                                     "sampling.temperature=0.7, options.max_trials=2, or "
                                                     "reflexion.evaluator=tests (repeatable)"),
         trust: bool = TrustOpt,
         journal_path: Optional[Path] = JournalOpt) -> None:
    """Re-run a run with changes: reuse its calls up to the first divergence, then go live as a new run."""
    from ..runtime import runner
    from .specs import parse_pairs, trust_from

    source = _Source(run_id, journal_path, into_local=True)
    source.close()  # the runs are copied into the local journal; the unpacked bundle is not needed
    journal = _journal(journal_path)
    parent = journal.get_run(source.run_ids[-1])
    spec = _stored_spec(parent, str(journal.path))
    updates: dict[str, Any] = {}
    for key, value in (("model", model), ("system", system), ("max_steps", max_steps)):
        if value is not None:
            updates[key] = value
    for key, value in parse_pairs(agent_opt, "--agent-opt"):
        updates[f"options.{key}"] = value
    for key, value in parse_pairs(changes, "--set"):
        head, dot, rest = key.partition(".")
        if dot and head == spec.agent:  # `reflexion.evaluator=tests`: an option of the run's recipe
            key = f"options.{rest}"
        updates[key] = value
    spec = spec.with_changes(updates) if updates else spec
    built = _build(spec.model_copy(update={"recorded_tools": None}), trust_from(trust))
    printer = render.EntryPrinter(console, mark_served=True)

    async def go(built: Any) -> Any:
        result = await runner.fork(built.agent, parent.run_id, journal=journal, task=task,
                                   config=built.spec.to_config(), budgets=built.budgets, listeners=[printer])
        fp = result.fork_point
        if fp is None:
            console.print("[cyan]no divergence: every effect was served from the parent[/]")
        else:
            console.print(render.plain(f"diverged from {parent.run_id} at scope {fp['scope'] or '<root>'!r} "
                                       f"seq {fp['seq']}: {'; '.join(fp['differences'][:3])}", "cyan"))
        return result

    _execute(go, journal, built)


class _Source:
    """Where a command's runs come from: the journal (a run id), or a bundle file (its runs).

    `into_local`: the bundle's runs are copied into the local journal first (to fork them there)."""

    def __init__(self, arg: str, journal_path: Optional[Path], only: Optional[str] = None,
                 into_local: bool = False) -> None:
        from ..bundle import OpenedBundle, import_runs, is_bundle

        self.bundle = None
        if not is_bundle(arg):
            self.journal, self.run_ids = existing_journal(journal_path), [arg]
            self.name = str(self.journal.path)  # a URL's password masked
            return
        self.bundle = OpenedBundle(Path(arg))
        self.name = arg
        runs = self.bundle.run_ids
        if self.bundle.manifest.get("kind") == "run":
            runs = runs[-1:]  # the run bundled; the others are its ancestors
        self.run_ids = [only] if only else runs
        if into_local:
            self.journal = _journal(journal_path)
            import_runs(self.bundle, self.journal)
        else:
            self.journal = self.bundle.journal()

    @property
    def results_folder(self) -> Optional[Path]:
        return self.bundle.results_folder if self.bundle is not None else None

    def close(self) -> None:
        self.journal.close()
        if self.bundle is not None:
            self.bundle.close()

    def __enter__(self) -> "_Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@app.command("bundle")
def bundle_cmd(source: str = typer.Argument(..., help="a run id (prefix, 'latest') or an eval results folder"),
               out: Path = typer.Option(..., "--out", "-o", help="the bundle file to write (.azb)"),
               force: bool = typer.Option(False, "--force", help="overwrite --out if it exists"),
               journal_path: Optional[Path] = JournalOpt) -> None:
    """Write runs (or a whole eval) into one file that replay, show, export and fork accept on another machine."""
    from ..bundle import write_bundle

    manifest = write_bundle(source, out, journal_path=journal_path, force=force)
    what = f"{manifest.get('samples', 0)} samples" if manifest["kind"] == "eval" else "1 run"
    console.print(f"wrote {escape(str(out))}: {what}, {len(manifest['runs'])} run(s) with their entries and specs "
                  f"(format {manifest['format']} v{manifest['version']})")


@app.command("runs")
def runs_cmd(limit: int = typer.Option(30, "--limit", "-n"), journal_path: Optional[Path] = JournalOpt) -> None:
    """List recent runs."""
    if journal_path is None and journal_missing():  # nowhere a run was made yet: said as such, nothing made
        console.print(render.plain(f"no runs in {default_journal()} yet; try `agentzoo demo`"))
        return
    with existing_journal(journal_path) as journal:
        runs = journal.list_runs(limit)
        if not runs:
            console.print(render.plain(f"no runs in {journal.path} yet; try `agentzoo demo`"))
            return
        console.print(render.runs_table(runs))


@app.command()
def show(run_id: str = typer.Argument(..., help="run id, a unique prefix of one, or 'latest'; or a bundle file"),
         as_json: bool = typer.Option(False, "--json", help="print JSON lines: one compact JSON object per entry "
                                      "(per run, for a bundle of several runs)"),
         only: Optional[str] = typer.Option(None, "--run", help="a bundle: show this run"),
         journal_path: Optional[Path] = JournalOpt) -> None:
    """Print a run's steps, answer and cost per scope."""
    with _Source(run_id, journal_path, only) as source:
        journal = source.journal
        if len(source.run_ids) > 1:
            runs = [journal.get_run(r) for r in source.run_ids]
            if as_json:
                for r in runs:
                    sys.stdout.write(_json.dumps_str({"run_id": r.run_id, "status": r.status, "task": r.task,
                                                      "answer": r.answer, "parent_id": r.parent_id,
                                                      "created_at": r.created_at}) + "\n")
                return
            console.print(render.runs_table(runs))
            console.print(render.plain(f"{len(source.run_ids)} runs in {source.name}; `agentzoo show {source.name} "
                                       "--run ID` shows one"))
            return
        info = journal.get_run(source.run_ids[0])
        entries = journal.entries(info.run_id)  # read a page at a time: a long run is never all in memory
        if as_json:  # for machines: one object per line, as written, no pretty-printing or colour
            for e in entries:
                sys.stdout.write(_json.dumps_str({
                    "scope": e.scope, "seq": e.seq, "kind": e.kind, "name": e.name, "status": e.status,
                    "request_hash": e.request_hash, "result": e.result, "error": e.error,
                    "usage": {"input_tokens": e.usage.input_tokens, "output_tokens": e.usage.output_tokens},
                    "cost_usd": e.cost_usd, "started_at": e.started_at, "ended_at": e.ended_at}) + "\n")
            return
        render.run_header(console, info)
        printer = render.EntryPrinter(console)
        for e in entries:
            printer(e, False)
        render.print_answer(console, info)
        console.print(render.scope_table(journal.usage_by_scope(info.run_id)))


@app.command()
def export(run_id: str = typer.Argument(..., help="run id, prefix or 'latest'; or an eval results folder"),
           fmt: str = typer.Option("openai-jsonl", "--format", help="openai-jsonl, sharegpt, or agent-r (the revision "
                                   "samples agent-r runs recorded)"),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="write to this new file [default: stdout]"),
           append: bool = typer.Option(False, "--append", help="add to --out if it exists (else an existing file is refused)"),
           scope: str = typer.Option("", "--scope", help="the agent scope to export [default: the root agent]"),
           min_reward: Optional[float] = typer.Option(None, "--min-reward", help="results folder: only samples with at least this reward [default: 1.0]"),
           journal_path: Optional[Path] = JournalOpt) -> None:
    """Write a run's trajectory as fine-tuning data (one JSON line); of an eval folder, every good-enough sample's."""
    from ..eval.export import is_results_dir
    from ..export import FORMATS
    from .compare_cmd import check_out, export_eval_cmd, export_one_run, open_out

    if fmt == "agent-r":  # a recipe's own records, not a scope's trajectory (agentzoo.synth.agent_r)
        return _export_agent_r(run_id, out, append, scope, min_reward, journal_path)
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if append and out is None:
        raise ConfigError("--append goes with --out FILE")
    if out is not None:
        check_out(out, append)  # before any work: a refused --out wastes nothing
    if is_results_dir(run_id):
        return export_eval_cmd(Path(run_id), fmt, out, scope, 1.0 if min_reward is None else min_reward, journal_path,
                               append=append)
    from ..bundle import is_bundle

    if min_reward is not None and not is_bundle(run_id):  # said before any journal is opened
        raise ConfigError("--min-reward goes with an eval results folder or bundle, not a run id")
    with _Source(run_id, journal_path) as source:
        if source.results_folder is not None:  # a bundle of an eval
            return export_eval_cmd(source.results_folder, fmt, out, scope, 1.0 if min_reward is None else min_reward,
                                   source.bundle.journal_path, append=append)
        if min_reward is not None:
            raise ConfigError("--min-reward goes with an eval results folder or bundle, not a run id")
        line = _json.dumps_str(export_one_run(source.journal, source.run_ids[0], fmt, scope))
    if out is None:
        sys.stdout.write(line + "\n")
    else:
        with open_out(out, append) as f:
            f.write(line + "\n")
        console.print(render.plain(f"wrote 1 trajectory to {out}"))


def _export_agent_r(source: str, out: Optional[Path], append: bool, scope: str, min_reward: Optional[float],
                    journal_path: Optional[Path]) -> None:
    """`agentzoo export RUN_OR_EVAL_DIR --format agent-r`: one ShareGPT row per recorded sample, with provenance."""
    from ..eval.export import is_results_dir
    from ..synth.agent_r import Counts, check_recorded, rows
    from .compare_cmd import check_out, open_out

    if scope or min_reward is not None:
        raise ConfigError("--format agent-r exports every sample agent-r recorded; --scope and --min-reward do not "
                          "apply (a revision sample comes from any search, won or not)")
    if append and out is None:
        raise ConfigError("--append goes with --out FILE")
    if out is not None:
        check_out(out, append)  # before any work
    counts = Counts()
    if is_results_dir(source):
        journal = existing_journal(journal_path) if journal_path is not None else None
        try:
            lines = [_json.dumps_str(r) for r in rows(journal, Path(source), counts)]
        finally:
            if journal is not None:
                journal.close()
        what = source
    else:
        with _Source(source, journal_path) as where:
            found = rows(where.journal, where.results_folder if where.results_folder is not None else where.run_ids,
                         counts)
            lines = [_json.dumps_str(r) for r in found]
            what = where.name if len(where.run_ids) > 1 else f"run {where.journal.get_run(where.run_ids[0]).run_id}"
    check_recorded(counts, what)
    if out is None:
        sys.stdout.write("".join(line + "\n" for line in lines))
        return
    if lines:  # the file is made only once there is a row for it
        with open_out(out, append) as f:
            f.write("".join(line + "\n" for line in lines))
    console.print(render.plain(f"wrote {len(lines)} agent-r samples to {out} from {what}"))


def main() -> None:
    # Messages may quote a model, a tool or a file: printed as text, never read as markup.
    try:
        app()
    except UserError as exc:
        render.stop_waiting()
        err_console.print(Text.assemble(("error:", "red"), " ", render.clip_long(str(exc), 8000)))
        sys.exit(2)
    except AgentzooError as exc:
        render.stop_waiting()
        err_console.print(Text.assemble(("error:", "red"), " ",
                                               render.clip_long(f"{type(exc).__name__}: {exc}", 8000)))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print(render.interrupted_message(default_journal()))
        sys.exit(130)
    except SystemExit as exc:
        if _from_ctrl_c(exc):  # typer turns Ctrl-C into a silent exit 130
            err_console.print(render.interrupted_message(default_journal()))
        raise


def _from_ctrl_c(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the chain: SystemExit <- typer's Exit(130) <- KeyboardInterrupt
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        # `raise ... from None` (eval's own Ctrl-C message) hides the context: not ours to report.
        seen = seen.__cause__ if seen.__cause__ is not None else (
            None if seen.__suppress_context__ else seen.__context__)
    return False


if __name__ == "__main__":
    main()
