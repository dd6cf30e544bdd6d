"""Tree search on any step environment (`tree-search`): the engine of `agentzoo.search` with its parts named.

Not one paper's system but the search the papers share, for any environment that steps (a text game, a web
site, a maze, a repository): a text policy proposes actions, a value function judges states (a value agent
on the same model, or the environment's own reward), a selector picks what to grow (SWE-Search's UCT,
classic UCT, best-first, beam), and a discriminator picks the final trajectory. SWE-Search (`swe-search`)
and Agent-R (`agent-r`) are this engine with their papers' settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ..envs.stepping import StepDriver, recipe_driver
from ..errors import ConfigError
from ..protocols import Model
from ..runtime.budgets import Budget
from ..search import UCT, Beam, BestFirst, Debate, EnvReward, Limits, MeanReward, TextPolicy, TreeSearch, ValueAgent
from ..search.agent import SearchAgent

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode; the environment scores the state the search settled on."""
ACTS_IN = ("gridworld", "textworld")

PRESETS: dict[str, dict[str, Any]] = {
    "uct": {"selector": "uct", "value": "agent"},
    "mcts": {"selector": "uct-classic", "value": "env", "rollout": True},
    "beam": {"selector": "beam", "value": "agent", "max_expansions": 2},
    "best-first": {"selector": "best-first", "value": "agent"},
}
DEFAULT_PRESET = "uct"
OPTION_SOURCES: dict[str, str] = {
    "selector": "uct: SWE-Search's UCT with its extensions (moatless selector defaults); uct-classic: mean + "
                "c·√(ln N/n) descending from the root; best-first; beam",
    "value": "agent: a value agent on the same model ({explanation, feedback, value ∈ [-100, 100]}, SWE-Search); "
             "env: the environment's reward along the path",
    "max_iterations": "ours: 30 (moatless SearchTree.create's default is 10, SWE-Search's README example 100): "
                      "enough for the shipped mazes' longest path (16 actions)",
    "max_expansions": "SWE-Search README example: 3",
    "max_depth": "SWE-Search README example: 25",
    "c": "exploration weight: 1.0 for uct (moatless Selector), 0.25 for uct-classic (Agent-R)",
}
DEVIATIONS: list[str] = [
    "not one paper's system: the selectors, value functions and discriminators of SWE-Search and Agent-R, offered "
    "on any step environment with our own policy and value prompts (swe-search and agent-r keep their papers' "
    "settings)",
    "the value agent runs on the policy's model unless the spec names a `value` role model (its calls run in the "
    "node's `value` scope)",
    "mcts: a rollout plays the policy to the end and scores the state with the environment's reward, with no "
    "value agent (Agent-R's setting), where SWE-Search judges every node",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None,
          selector: Literal["uct", "uct-classic", "best-first", "beam"] = "uct",
          value: Literal["agent", "env"] = "agent", discriminator: Literal["mean", "debate"] = "mean",
          max_iterations: int = 30, max_expansions: int = 3, max_depth: int = 25, max_finished: int | None = None,
          beam_width: int = 3, c: float | None = None, rollout: bool = False, concurrency: int = 4,
          budget_model_calls: int | None = None, budget_usd: float | None = None,
          budget_seconds: float | None = None) -> SearchAgent:
    """A tree search on the harness's episode (`episode`, a step environment's); with none, one that replays a
    run from its journal. `tools` are not used: the search acts by stepping."""
    search = make_search(model, system=system, sampling=sampling, selector=selector, value=value,
                         discriminator=discriminator, c=c, beam_width=beam_width,
                         limits=Limits(max_iterations=max_iterations, max_expansions=max_expansions,
                                       max_depth=max_depth, max_finished=max_finished, concurrency=concurrency,
                                       rollout=rollout),
                         budget=budget(budget_model_calls, budget_usd, budget_seconds))
    return SearchAgent(search, step_driver(episode, "tree-search", ACTS_IN), name="tree-search")


def make_search(model: Model, *, system: str | None, sampling: dict[str, Any] | None, selector: str, value: str,
                discriminator: str, c: float | None, beam_width: int, limits: Limits, budget: Budget | None,
                policy: TextPolicy | None = None, value_agent: ValueAgent | None = None) -> TreeSearch:
    if beam_width < 1:
        raise ConfigError(f"tree search: beam_width must be at least 1, got {beam_width}")
    chooser: Any
    if selector == "uct":
        chooser = UCT(exploration_weight=1.0 if c is None else c)
    elif selector == "uct-classic":
        chooser = UCT.classic(0.25 if c is None else c)
    elif selector == "beam":
        chooser = Beam(beam_width)
    elif selector == "best-first":
        chooser = BestFirst()
    else:
        raise ConfigError(f"tree search: unknown selector {selector!r}; known: uct, uct-classic, best-first, beam")
    judge = EnvReward() if value == "env" else value_agent or ValueAgent(model, sampling=sampling)
    final = Debate(model, sampling=sampling) if discriminator == "debate" else MeanReward()
    return TreeSearch(policy or TextPolicy(model, system=system, sampling=sampling), judge, chooser, final, limits,
                      budget)


def budget(model_calls: int | None, usd: float | None, seconds: float | None) -> Budget | None:
    """The search's own budget, or None when none is set."""
    if model_calls is None and usd is None and seconds is None:
        return None
    return Budget(model_calls=model_calls, usd=usd, wall_seconds=seconds)


def step_driver(episode: Any, recipe: str, acts_in: Sequence[str]) -> StepDriver | None:
    """The episode's driver; None (replay from the journal) without an episode; a clear error for an episode
    that does not step."""
    if episode is None:
        return None
    return recipe_driver(episode, f"{recipe} searches over the steps of an episode: it needs a step environment "
                                  f"({', '.join(acts_in)}, …)")
