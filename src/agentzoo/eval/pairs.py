"""Which agents can be evaluated on which environments: an agent must produce the kind of answer
the environment scores (`agentzoo.envs.base.ANSWER_KINDS`).

An environment declares `answer_kind` (humaneval: code, gsm8k: number, bfcl: tool-calls, …); a
recipe declares the kinds it can produce (`ANSWER_KINDS` in its module); `tool-calling` and
`codeact` act with whatever tools the episode gives, so they produce every kind. `check_pair`
refuses a pair whose kinds do not meet, before any model is called, with a message that says
what each side needs and produces. An environment or an agent that declares nothing (a user's
own) is not checked: its own build and scorer decide.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..envs.base import ANSWER_KINDS
from ..errors import ConfigError

EVERY_KIND = tuple(kind for kind in ANSWER_KINDS if kind != "simulation")
"""What a general agent (tool calling, CodeAct) can hand in: anything but a simulation, which only a simulation
recipe runs."""
BUILTIN_KINDS: dict[str, tuple[str, ...]] = {"tool-calling": EVERY_KIND, "codeact": EVERY_KIND}


def answer_kinds(agent: str) -> tuple[str, ...] | None:
    """The answer kinds agent `agent` (a name, optionally with `@preset`) produces; None when it declares none."""
    from ..recipes import RECIPES

    name = agent.partition("@")[0]
    if name in BUILTIN_KINDS:
        return BUILTIN_KINDS[name]
    if name not in RECIPES:
        return None
    kinds = getattr(importlib.import_module(RECIPES[name]), "ANSWER_KINDS", None)
    return tuple(kinds) if kinds is not None else None


def env_answer_kind(env: Any) -> str | None:
    """An environment's `answer_kind`; `env` may be the environment or its registered name."""
    if isinstance(env, str):
        from ..envs.registry import ENVIRONMENTS

        if env not in ENVIRONMENTS:
            return None
        module, cls = ENVIRONMENTS[env]
        return getattr(getattr(importlib.import_module(module), cls), "answer_kind", None)
    return getattr(env, "answer_kind", None)


def acts_in(agent: str) -> tuple[str, ...] | None:
    """The registered environments a recipe acts in, when it declares them (`ACTS_IN` in its module: a recipe
    that reads one kind of observation, e.g. web pages); None when it may act in any."""
    from ..recipes import RECIPES

    name = agent.partition("@")[0]
    if name not in RECIPES:
        return None
    envs = getattr(importlib.import_module(RECIPES[name]), "ACTS_IN", None)
    return tuple(envs) if envs is not None else None


def check_pair(agent: str, env: Any) -> None:
    """Raise `ConfigError` if `agent` cannot produce the answers `env` (an environment or its name) scores,
    or is a recipe that acts only in other registered environments (an unregistered one is not checked)."""
    _check_acts_in(agent, env)
    kind = env_answer_kind(env)
    kinds = answer_kinds(agent)
    if kind is None or kinds is None or kind in kinds:
        return
    name = env if isinstance(env, str) else getattr(env, "name", type(env).__name__)
    able = [a for a in _known_agents() if kind in (answer_kinds(a) or ()) and name in (acts_in(a) or (name,))]
    raise ConfigError(f"agent {agent!r} cannot be evaluated on {name!r}: the environment scores {kind} answers "
                      f"({ANSWER_KINDS.get(kind, kind)}), and {agent!r} produces only {', '.join(kinds)} answers. "
                      f"Agents that produce {kind} answers: {', '.join(able)}")


def _check_acts_in(agent: str, env: Any) -> None:
    from ..envs.registry import ENVIRONMENTS

    envs = acts_in(agent)
    name = env if isinstance(env, str) else getattr(env, "name", None)
    if envs is not None and name in ENVIRONMENTS and name not in envs:
        raise ConfigError(f"agent {agent!r} cannot be evaluated on {name!r}: it acts only in {', '.join(envs)}, "
                          "whose observations and actions it is written for")


def _known_agents() -> list[str]:
    from ..recipes import RECIPES

    return [*BUILTIN_KINDS, *RECIPES]
