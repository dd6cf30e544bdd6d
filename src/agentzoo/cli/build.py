"""Build an agent from a run config, so that a run can be resumed, replayed and forked later.

A run config is plain JSON, stored with the run:
`{"agent": "tool-calling", "model": "<model string>", "tools": ["pkg.mod:fn", "file.py:fn"],
  "system": str|None, "max_steps": int, "action_format": "tool_calls"|"react", "stream": bool}`
or, for a CodeAct agent (`agentzoo.agents.codeact`), `"agent": "codeact"` with
`"action_mode": "code"|"json"|"text", "max_turns": int, "tier": str, "allow_unsafe": bool`
in place of `max_steps` and `action_format`.
"""

from __future__ import annotations

from typing import Any

from .._loading import load_callable
from ..errors import ConfigError
from ..models.registry import RecordedOnlyModel, model_name_of, parse_model


def load_tool(spec: str) -> Any:
    """A tool named `package.module:function` or `path/to/file.py:function`."""
    return load_callable(spec, "tool")


def split_tools(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def build_agent(config: dict[str, Any], *, replay: bool = False):
    """The agent a config describes. With `replay`, the model is a stand-in that cannot be called."""
    from ..agents.tool_calling import ToolCallingAgent
    from ..recipes import RECIPES, build_recipe

    kind = config.get("agent", "tool-calling")
    if kind not in ("tool-calling", "codeact") and kind not in RECIPES:
        known = ", ".join(["tool-calling", "codeact", *sorted(RECIPES)])
        raise ConfigError(f"agent {kind!r} is not known to this version (known: {known})")
    spec = config.get("model")
    if not spec:
        raise ConfigError("the run config has no model")
    if replay:
        model = RecordedOnlyModel(model_name_of(spec))
    else:
        model = parse_model(spec, stream=True) if config.get("stream") and not spec.startswith("scripted:") else parse_model(spec)
    tools = [load_tool(t) for t in config.get("tools", [])]
    if kind == "codeact":
        return _codeact_agent(config, model, tools)
    if kind in RECIPES:
        return build_recipe(kind, model, tools, system=config.get("system"), **config.get("options", {}))
    return ToolCallingAgent(model, tools, system=config.get("system"), max_steps=int(config.get("max_steps", 20)),
                            action_format=config.get("action_format", "tool_calls"))


def _codeact_agent(config: dict[str, Any], model: Any, tools: list[Any]):
    from ..agents.action_modes import MODES
    from ..agents.codeact import CodeActAgent

    mode = config.get("action_mode", "code")
    if mode not in MODES:
        raise ConfigError(f"action_mode {mode!r} is not one of {sorted(MODES)}")
    return CodeActAgent(model, tools, action_mode=mode, system=config.get("system"),
                        max_turns=int(config.get("max_turns", 10)), tier=config.get("tier", "auto"),
                        allow_unsafe=bool(config.get("allow_unsafe", False)))
