"""Published systems as recipes: compositions of agents, teams and tools with the paper's constants.

Each recipe is a small module `agentzoo.recipes.<name>` with its prompts as template files beside
it and a `build(model, tools=(), *, system=None, sampling=None, **options) -> Agent`; its
constants (from the paper, checked against its code) are the defaults of `build`. A recipe runs
anywhere an agent runs: `agentzoo run --agent RECIPE`, `agentzoo eval --agent RECIPE`, or
`await agentzoo.run(build_recipe("cot-sc", model), task)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..protocols import Agent, Model

# name -> module; a module is imported only when its recipe is built.
RECIPES: dict[str, str] = {}


def register_recipe(name: str, module: str) -> None:
    """Make `name` buildable by `build_recipe` (and so runnable by the CLI and the harness)."""
    RECIPES[name] = module


def build_recipe(name: str, model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
                 sampling: dict[str, Any] | None = None, **options: Any) -> Agent:
    """The agent recipe `name` builds, with the paper's constants unless `options` change them."""
    try:
        module = importlib.import_module(RECIPES[name])
    except KeyError:
        raise ConfigError(f"unknown recipe {name!r}; known: {', '.join(sorted(RECIPES)) or '(none)'}") from None
    return module.build(model, tools, system=system, sampling=sampling, **options)
