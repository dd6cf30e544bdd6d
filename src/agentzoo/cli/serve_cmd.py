"""`agentzoo serve`: publish one agent or recipe to other programs, as an OpenAI-compatible model
(`--openai`) or as an A2A agent (`--a2a`). Each request is a run in the journal.

It binds to 127.0.0.1 unless told otherwise; bound elsewhere it refuses to start without a key
(`--api-key` or $AGENTZOO_SERVE_KEY), which callers then send as a bearer token.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import ConfigError
from ..models.registry import default_model_string
from ..runtime.journal import Journal, default_journal, journal_location

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def service_from_flags(agent_kind: str | None, model: str | None, agent_opt: list[str] | None, spec_file: Path | None,
                       role_model: list[str] | None, tools: str | None, system: str | None, max_steps: int | None,
                       journal_path: Any, max_concurrent: int = 16, journal: Journal | None = None,
                       mcp: list[str] | None = None, model_opt: list[str] | None = None) -> Any:
    """The `AgentService` the flags describe (the same agent flags as `agentzoo run`). `journal`: one already
    open (a process keeps one instance per journal, so several services of one server share it)."""
    from ..server.serving import AgentService
    from .specs import (agent_options, check_model_options, load_spec_file, mcp_servers, parse_pairs, spec_from_flags,
                        split_list)

    base = load_spec_file(spec_file) if spec_file else {}
    model = model or base.get("model") or default_model_string()
    if not model:
        raise ConfigError("no model: give --model (or set AGENTZOO_MODEL)")
    agent_text = agent_kind or (base.get("agent", "tool-calling") + (f"@{base['preset']}" if base.get("preset") else ""))
    spec = spec_from_flags(agent_text, model, options=agent_options(agent_opt, [agent_text])[agent_text], base=base,
                           models=dict(parse_pairs(role_model, "--role-model")) or None,
                           tools=split_list(tools) or None, system=system, max_steps=max_steps, mcp=mcp_servers(mcp),
                           model_options=dict(parse_pairs(model_opt, "--model-opt")))
    check_model_options(spec.model_options, [spec.model], spec.models)
    journal = journal if journal is not None else Journal(journal_path or default_journal())
    return AgentService(spec, journal, max_concurrent=max_concurrent)


def check_binding(host: str, api_key: str | None) -> str | None:
    """The key callers must send; refuses to serve beyond this machine without one."""
    key = api_key or os.environ.get("AGENTZOO_SERVE_KEY") or None
    if host not in LOOPBACK and not key:
        raise ConfigError(f"--host {host} serves beyond this machine: give --api-key KEY (or set AGENTZOO_SERVE_KEY) "
                          f"so that only callers with the key are answered")
    return key


def serve_cmd(openai: bool = typer.Option(False, "--openai", help="answer /v1/chat/completions (streaming too), as an OpenAI-compatible model"),
              a2a: bool = typer.Option(False, "--a2a", help="publish the agent over A2A, with its agent card"),
              agent_kind: Optional[str] = typer.Option(None, "--agent", help="tool-calling (default), codeact, a recipe[@preset] (`agentzoo recipes`), or module:build"),
              model: Optional[str] = typer.Option(None, "--model", "-m", help="the model the served agent uses [default: $AGENTZOO_MODEL]"),
              agent_opt: Optional[list[str]] = typer.Option(None, "--agent-opt", help="a recipe option KEY=VALUE (repeatable)"),
              spec_file: Optional[Path] = typer.Option(None, "--spec", help="an agent spec file (YAML/JSON); flags override its fields"),
              role_model: Optional[list[str]] = typer.Option(None, "--role-model", help="ROLE=MODEL (repeatable)"),
              tools: Optional[str] = typer.Option(None, "--tools", help="comma-separated module:function or file.py:function"),
              mcp: Optional[list[str]] = typer.Option(None, "--mcp", metavar="COMMAND|URL", help="an MCP server whose tools the agent gets (repeatable; as for `agentzoo run`): started for each request"),
              system: Optional[str] = typer.Option(None, "--system", help="system prompt"),
              max_steps: Optional[int] = typer.Option(None, "--max-steps", help="step (turn) limit"),
              model_opt: Optional[list[str]] = typer.Option(None, "--model-opt", help="a setting of the model's "
                                                            "client KEY=VALUE, as for `agentzoo run` (repeatable)"),
              host: str = typer.Option("127.0.0.1", "--host", help="address to bind; beyond 127.0.0.1 a key is required"),
              port: int = typer.Option(8000, "--port", help="port to bind (0: any free port, printed at start)"),
              api_key: Optional[str] = typer.Option(None, "--api-key", help="the bearer token callers must send [default: $AGENTZOO_SERVE_KEY]"),
              max_concurrent: int = typer.Option(16, "--max-concurrent", help="runs in flight at once; more requests wait"),
              journal_path: Optional[Path] = typer.Option(None, "--journal", parser=journal_location, metavar="FILE|URL",
                                                          help="journal file, or a postgresql:// URL [default: $AGENTZOO_JOURNAL or .agentzoo/journal.db]")) -> None:
    """Serve an agent or recipe to other programs; every request is a run in the journal."""
    if openai == a2a:
        raise ConfigError("say how to serve: --openai or --a2a (one of them)")
    key = check_binding(host, api_key)
    service = service_from_flags(agent_kind, model, agent_opt, spec_file, role_model, tools, system, max_steps,
                                 journal_path, max_concurrent, mcp=mcp, model_opt=model_opt)
    if openai:
        from ..server.openai_server import serve
    else:
        from ..server.a2a_server import serve
    serve(service, host=host, port=port, api_key=key)
