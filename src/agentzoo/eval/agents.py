"""Agent kinds the harness can build, by name: `tool-calling`, `codeact`, and recipes that register.

A factory gets the sample's model, its episode (tools over fresh state) and its seed, and how
sandboxes may be made; it returns an agent (anything with `async run(task, ctx)`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..envs.base import Episode
from ..errors import ConfigError
from ..protocols import Agent, Model
from ..sandbox import Limits


@dataclass(frozen=True)
class AgentOptions:
    """What the command line says about agents in general."""

    tier: str = "auto"
    allow_unsafe: bool = False
    limits: Limits | None = None
    max_steps: int | None = None


AgentFactory = Callable[[Model, Episode, int, AgentOptions], Agent]
AGENTS: dict[str, AgentFactory] = {}


def register_agent(name: str, factory: AgentFactory) -> None:
    """Make `agentzoo eval --agent NAME` build agents with `factory`."""
    AGENTS[name] = factory


def make_agent(name: str, model: Model, episode: Episode, seed: int, options: AgentOptions) -> Agent:
    from ..recipes import RECIPES, build_recipe

    if name in AGENTS:
        return AGENTS[name](model, episode, seed, options)
    if name in RECIPES:
        return build_recipe(name, model, episode.tools, system=episode.system, sampling={"seed": seed},
                            sandbox={"tier": options.tier, "allow_unsafe": options.allow_unsafe,
                                     "limits": options.limits})
    known = ", ".join(sorted({*AGENTS, *RECIPES}))
    raise ConfigError(f"unknown agent {name!r}; known: {known}")


def _tool_calling(model: Model, episode: Episode, seed: int, options: AgentOptions) -> Agent:
    from ..agents.tool_calling import ToolCallingAgent

    return ToolCallingAgent(model, episode.tools, system=episode.system, max_steps=options.max_steps or 20,
                            sampling={"seed": seed})


def _codeact(model: Model, episode: Episode, seed: int, options: AgentOptions) -> Agent:
    from ..agents.codeact import CodeActAgent

    return CodeActAgent(model, episode.tools, system=episode.system, max_turns=options.max_steps or 10, tier=options.tier,
                        limits=options.limits, allow_unsafe=options.allow_unsafe, sampling={"seed": seed})


register_agent("tool-calling", _tool_calling)
register_agent("codeact", _codeact)
