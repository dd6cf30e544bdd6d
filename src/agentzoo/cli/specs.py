"""Command-line flags and spec files → `AgentSpec`: one place, so `run`, `eval` and `fork` agree.

Every flag lands in a spec field or is refused: the builder refuses fields an agent would not
apply (a sandbox tier for an agent that runs no code, `--max-steps` for a recipe without a limit),
and the spec refuses values out of range (a negative budget, `--max-steps 0`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from ..builder import Trust
from ..catalog import split_agent
from ..errors import ConfigError
from ..runtime.spec import AgentSpec, describe_errors


def split_list(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def parse_value(text: str) -> Any:
    """A flag's value: JSON when it parses (numbers, true/false, lists, objects), else the text itself."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def mcp_servers(values: list[str] | None) -> list[Any] | None:
    """`--mcp` (and `--a2a-agent`) values: a command line or URL each, or a JSON object of `McpServerSpec`
    (`RemoteAgentSpec`) fields (`{"server": "...", "prefix": "git", "timeout": 30}`)."""
    if not values:
        return None
    return [parse_value(v) if v.lstrip().startswith("{") else v for v in values]


def parse_pairs(pairs: list[str] | None, flag: str) -> list[tuple[str, Any]]:
    """`key=value` flags, values parsed by `parse_value`."""
    out = []
    for pair in pairs or []:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE")
        out.append((key.strip(), parse_value(value)))
    return out


def agent_options(pairs: list[str] | None, agent_names: list[str]) -> dict[str, dict[str, Any]]:
    """`--agent-opt` values per agent name. `NAME.key=value` targets one agent (the recipe name, or the
    whole `--agent` text); an unprefixed `key=value` applies to every agent given."""
    per: dict[str, dict[str, Any]] = {name: {} for name in agent_names}
    for key, value in parse_pairs(pairs, "--agent-opt"):
        target, dot, option = key.rpartition(".")
        if dot:
            matches = [n for n in agent_names if n == target or split_agent(n)[0] == target]
            if not matches:
                raise ConfigError(f"--agent-opt {key}=…: {target!r} is not one of the agents given "
                                  f"({', '.join(agent_names)})")
            for name in matches:
                per[name][option] = value
        else:
            for name in agent_names:
                per[name][key] = value
    return per


def check_model_options(options: dict[str, Any], models: list[str], roles: dict[str, str] | None = None) -> None:
    """`--model-opt` settings checked against every model given (see `registry.model_options`): `models`, and
    `roles` (a role's name to its model, named in an error); settings that no model given takes (a script and
    the oracle take none) are an error rather than ignored."""
    from ..models.registry import model_options, takes_options

    if not options:
        return
    roles = roles or {}
    every = [*models, *roles.values()]
    if not any(takes_options(m) for m in every):
        raise ConfigError(f"model options {', '.join(options)} (--model-opt): no model given takes any "
                          f"({', '.join(every)}); they are settings of openai, openai-compatible and local models")
    for model in models:
        model_options(model, options)
    for role, model in roles.items():
        try:
            model_options(model, options)
        except ConfigError as exc:
            raise ConfigError(f"role {role}'s model {model}: {exc}") from None


def spec_from_flags(agent: str, model: str, *, options: dict[str, Any] | None = None, base: dict[str, Any] | None = None,
                    **fields: Any) -> AgentSpec:
    """A spec from `--agent NAME[@PRESET]`, the model and the other flags (None: not given)."""
    name, preset = split_agent(agent)
    data: dict[str, Any] = dict(base or {})
    data.update({"agent": name, "model": model})
    if preset is not None:
        data["preset"] = preset
    if options:
        data["options"] = {**data.get("options", {}), **options}
    for key, value in fields.items():
        if value is None or value == {} or value == []:
            continue
        if key in ("sampling", "sandbox", "budgets") and isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
            if not value:
                continue
            value = {**data.get(key, {}), **value}
        elif key == "model_options" and isinstance(data.get(key), dict):  # over the file's, key by key (null too)
            value = {**data[key], **value}
        data[key] = value
    try:
        return AgentSpec.model_validate(data)
    except ValidationError as exc:
        message = flag_names(describe_errors(exc, AgentSpec))
        raise ConfigError(f"agent {agent!r}: {message}") from None


FLAGS = {"limit": "--limit", "seeds": "--seeds", "concurrency": "--concurrency", "workers": "--workers", "retries": "--retries",
         "max_infra_errors": "--max-infra-errors", "max_steps": "--max-steps", "temperature": "--temperature",
         "max_tokens": "--max-tokens", "top_p": "--top-p", "seed": "--seed", "tier": "--tier", "backend": "--backend",
         "usd": "--budget-usd", "tokens": "--budget-tokens", "model_calls": "--budget-calls",
         "wall_seconds": "--budget-seconds", "call_timeout": "--call-timeout", "memory_mb": "--sandbox-memory",
         "tool_mode": "--tool-mode", "model_options": "--model-opt"}


def flag_names(message: str) -> str:
    """Pydantic's field paths as the flags that set them (`agents.0.max_steps` → `--max-steps`)."""
    import re

    return re.sub(r"[\w.]*?\b(\w+)(?=: )", lambda m: FLAGS.get(m.group(1), m.group(0)), message)


def load_spec_file(path: Path) -> dict[str, Any]:
    """An agent spec file (YAML or JSON): the fields of `AgentSpec`, as a dict (validated when used)."""
    from ..eval.experiment import read_yaml

    data, _ = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an agent spec is a mapping of fields (agent, model, options, ...)")
    return data


def trust_from(flag: bool, named: list[str] | None = None) -> Trust:
    """Consent to load code a journal names: `--trust`, names given on the command line, and
    `$AGENTZOO_TRUST` (comma-separated import strings)."""
    names = set(named or []) | set(split_list(os.environ.get("AGENTZOO_TRUST")))
    return Trust(frozenset(names), everything=flag)


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
