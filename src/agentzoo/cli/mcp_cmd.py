"""`agentzoo mcp serve`: publish typed Python functions and whole agents or recipes as the tools of an MCP server.

Over stdio by default, so that any MCP client can launch it as a command; over streamable HTTP with `--http`,
bound to 127.0.0.1 unless told otherwise, and then refusing to start without a key (as `agentzoo serve`).
Each call of an agent's tool is a run in the journal.

Several `--agent` flags publish several agents from one server (one entry in a client's configuration gives
it a choice of agents, sharing one model, journal and spec); `--agent TOOL=AGENT` names an agent's tool.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from .. import _json
from ..errors import ConfigError
from ..runtime.event_loop import run_loop
from ..runtime.journal import Journal, default_journal, journal_location

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="MCP: publish agentzoo tools and agents to MCP clients.")


@app.command("serve")
def serve(tools: Optional[str] = typer.Option(None, "--tools", help="comma-separated module:function or file.py:function, published as MCP tools"),
          agents: Optional[list[str]] = typer.Option(None, "--agent", help="[TOOL=]AGENT[@PRESET]: publish an agent or recipe as a tool that takes a task (repeatable)"),
          model: Optional[str] = typer.Option(None, "--model", "-m", help="the model the agents use [default: $AGENTZOO_MODEL]"),
          agent_opt: Optional[list[str]] = typer.Option(None, "--agent-opt", help="a recipe option KEY=VALUE, or AGENT.KEY=VALUE for one agent (repeatable)"),
          spec_file: Optional[Path] = typer.Option(None, "--spec", help="an agent spec file (YAML/JSON); flags override its fields"),
          role_model: Optional[list[str]] = typer.Option(None, "--role-model", help="ROLE=MODEL (repeatable)"),
          agent_tools: Optional[str] = typer.Option(None, "--agent-tools", help="comma-separated module:function the agents may call (as `agentzoo run --tools`)"),
          system: Optional[str] = typer.Option(None, "--system", help="the agents' system prompt"),
          max_steps: Optional[int] = typer.Option(None, "--max-steps", help="the agents' step (turn) limit"),
          model_opt: Optional[list[str]] = typer.Option(None, "--model-opt", help="a setting of the agents' model "
                                                        "client KEY=VALUE, as for `agentzoo run` (repeatable)"),
          http: bool = typer.Option(False, "--http", help="serve streamable HTTP at /mcp instead of stdio"),
          host: Optional[str] = typer.Option(None, "--host", help="--http: address to bind [default: 127.0.0.1]; beyond it a key is required"),
          port: Optional[int] = typer.Option(None, "--port", help="--http: port to bind [default: 8000; 0: any free port, printed at start]"),
          api_key: Optional[str] = typer.Option(None, "--api-key", help="--http: the bearer token callers must send [default: $AGENTZOO_SERVE_KEY]"),
          max_concurrent: int = typer.Option(16, "--max-concurrent", help="runs of each agent in flight at once; more calls wait"),
          journal_path: Optional[Path] = typer.Option(None, "--journal", parser=journal_location, metavar="FILE|URL",
                                                      help="journal file, or a postgresql:// URL [default: $AGENTZOO_JOURNAL or .agentzoo/journal.db]")) -> None:
    """Serve tools and agents to MCP clients (stdio by default); every call of an agent is a run in the journal."""
    from .serve_cmd import check_binding

    if not http and (host is not None or port is not None or api_key is not None):
        raise ConfigError("--host, --port and --api-key go with --http (over stdio the client starts the server)")
    key = check_binding(host or "127.0.0.1", api_key) if http else None
    if not tools and not agents and not spec_file:
        raise ConfigError("nothing to serve: give --tools module:function,... and/or --agent AGENT")
    # Over stdio, stdout carries the protocol: what loading a tool module or an agent prints goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if not http else contextlib.nullcontext():
        published, journal = _publish(tools, agents, spec_file, model=model, agent_opt=agent_opt,
                                      role_model=role_model, agent_tools=agent_tools, system=system,
                                      max_steps=max_steps, journal_path=journal_path, max_concurrent=max_concurrent,
                                      model_opt=model_opt)
    from ..server.mcp_server import make_server, serve_http, serve_stdio

    server = make_server(published)
    where = f", runs recorded in {journal.path}" if journal is not None else ""
    try:
        if http:
            serve_http(server, host=host or "127.0.0.1", port=8000 if port is None else port, api_key=key,
                       announce=lambda url: _say(f"agentzoo mcp: serving {', '.join(published.names)} at {url}{where}",
                                                 sys.stdout))
        else:
            _say(f"agentzoo mcp: serving {', '.join(published.names)} over stdio{where}", sys.stderr)
            run_loop(serve_stdio(server))
    finally:
        if journal is not None:
            journal.close()


def _publish(tools: str | None, agents: list[str] | None, spec_file: Path | None, *, model: str | None,
             agent_opt: list[str] | None, role_model: list[str] | None, agent_tools: str | None, system: str | None,
             max_steps: int | None, journal_path: Any, max_concurrent: int,
             model_opt: list[str] | None = None) -> tuple[Any, Journal | None]:
    """What the flags publish, and the journal its agents' runs go to (None when no agent is published)."""
    from .._loading import load_callable
    from ..server.mcp_server import AgentTool, Published
    from ..tools import ToolSet
    from .serve_cmd import service_from_flags
    from .specs import agent_options, split_list

    toolset = ToolSet([load_callable(name, "tool") for name in split_list(tools)])
    named = [_split_tool_name(text) for text in agents or []] or ([(None, None)] if spec_file else [])
    if not named:
        return Published(toolset), None
    texts = [text for _, text in named if text is not None]
    per_agent = agent_options(agent_opt, texts) if texts else {}  # an AGENT.KEY naming none of them is refused here
    journal = Journal(journal_path or default_journal())
    try:
        published = []
        for tool_name, text in named:
            options = agent_opt if text is None else [f"{k}={_json.dumps_str(v)}" for k, v in per_agent[text].items()]
            service = service_from_flags(text, model, options, spec_file, role_model, agent_tools, system, max_steps,
                                         journal_path, max_concurrent, journal=journal, model_opt=model_opt)
            published.append(AgentTool.of(service, tool_name))
        return Published(toolset, published), journal
    except BaseException:
        journal.close()
        raise


def _split_tool_name(text: str) -> tuple[str | None, str]:
    """`solver=reflexion@tests` → (`solver`, `reflexion@tests`); `reflexion` → (None, `reflexion`)."""
    name, eq, agent = text.partition("=")
    if not eq:
        return None, text
    if not name.strip() or not agent.strip():
        raise ConfigError(f"--agent {text!r}: expected AGENT[@PRESET] or TOOL=AGENT[@PRESET]")
    return name.strip(), agent.strip()


def _say(text: str, stream: Any) -> None:
    stream.write(text + "\n")
    stream.flush()
