"""agentzoo: build, run, evaluate and compare LLM agents on one small, reproducible runtime.

The public surface, loaded on first use so that `import agentzoo` stays cheap:

    from agentzoo import ToolCallingAgent, ScriptedModel, OpenAICompatible, tool, Journal, run
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "run": "agentzoo.runtime.runner",
    "replay": "agentzoo.runtime.runner",
    "resume": "agentzoo.runtime.runner",
    "fork": "agentzoo.runtime.runner",
    "run_loop": "agentzoo.runtime.event_loop",
    "RunResult": "agentzoo.runtime.runner",
    "Journal": "agentzoo.runtime.journal",
    "Budget": "agentzoo.runtime.budgets",
    "Pricing": "agentzoo.runtime.pricing",
    "Context": "agentzoo.runtime.context",
    "Gateway": "agentzoo.runtime.gateway",
    "Scope": "agentzoo.runtime.scope",
    "Entry": "agentzoo.runtime.entry",
    "ScriptedModel": "agentzoo.models.scripted",
    "OpenAICompatible": "agentzoo.models.openai_compat",
    "parse_model": "agentzoo.models.registry",
    "tool": "agentzoo.tools",
    "ToolSet": "agentzoo.tools",
    "ApprovalPolicy": "agentzoo.tools",
    "ToolCallingAgent": "agentzoo.agents.tool_calling",
    "AgentResult": "agentzoo.types",
    "CodeActAgent": "agentzoo.agents.codeact",
    "ModelRequest": "agentzoo.types",
    "ModelResponse": "agentzoo.types",
    "ToolCall": "agentzoo.types",
    "Usage": "agentzoo.types",
    "errors": "agentzoo.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentzoo' has no attribute {name!r}")
    value = importlib.import_module(module) if name == "errors" else getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs; never executed
    from . import errors
    from .agents.codeact import CodeActAgent
    from .agents.tool_calling import ToolCallingAgent
    from .models.openai_compat import OpenAICompatible
    from .models.registry import parse_model
    from .models.scripted import ScriptedModel
    from .runtime.budgets import Budget
    from .runtime.context import Context
    from .runtime.entry import Entry
    from .runtime.event_loop import run_loop
    from .runtime.gateway import Gateway
    from .runtime.journal import Journal
    from .runtime.pricing import Pricing
    from .runtime.runner import RunResult, fork, replay, resume, run
    from .runtime.scope import Scope
    from .tools import ApprovalPolicy, ToolSet, tool
    from .types import AgentResult, ModelRequest, ModelResponse, ToolCall, Usage
