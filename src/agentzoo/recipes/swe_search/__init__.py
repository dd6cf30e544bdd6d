"""SWE-Search (`swe-search`, PAPERS.md #51): Monte Carlo tree search over a code agent's actions on a repository.

Antoniades et al. 2024, "SWE-Search: Enhancing Software Agents with Monte Carlo Tree Search and Iterative
Refinement" (arXiv:2410.20285); constants checked against aorwall/moatless-tree-search (`search_tree.py`,
`selector/selector.py`, `value_function/`, `discriminator.py`, the README's SWE-Search example). Each node is one
action of the code agent on its working copy of the repository (`seeded-bugs` as a step environment: `view`,
`search`, `edit`, `run_tests`, `run_script`, `finish`); the value agent judges every new state with
`{explanation, feedback, value ∈ [-100, 100]}`; a node's 2nd and 3rd expansions are told the feedback on its
earlier children; UCT with moatless's bonuses and penalties picks the node to grow; at the end a discriminator
picks among the finished trajectories (a 5-reviewer, 3-round debate in the paper's example; the mean value in
the `mean` preset). The working state of every node is its snapshot (the edits), so any node is re-entered by
restoring it, and the tree replays from the journal.

The engine is `agentzoo.search` (`recipes/tree_search.py` names its parts); this module holds SWE-Search's
prompts and constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ...envs.seeded_bugs import SYSTEM as TOOLS_SYSTEM
from ...envs.seeded_bugs_actions import read_action
from ...prompts import render
from ...protocols import Model
from ...search import Limits, TextPolicy, ValueAgent
from ...search.agent import SearchAgent
from ..tree_search import budget, make_search, step_driver

PROMPTS = Path(__file__).parent / "prompts"
ANSWER_KINDS = ("patch",)
ACTS_IN = ("seeded-bugs",)
MAX_ITERATIONS = 100  # moatless README, SWE-Search example: max_iterations=100
MAX_EXPANSIONS = 3    # moatless README: max_expansions=3 (feedback on the 2nd and 3rd)
MAX_DEPTH = 25        # moatless README: max_depth=25

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"discriminator": "debate"},
    "mean": {"discriminator": "mean"},
    "small": {"discriminator": "mean", "max_iterations": 20, "max_expansions": 2, "max_depth": 12},
}
DEFAULT_PRESET = "paper"
OPTION_SOURCES: dict[str, str] = {
    "max_iterations": "moatless README, SWE-Search example: max_iterations=100",
    "max_expansions": "moatless README: max_expansions=3; feedback goes into the 2nd and 3rd expansions",
    "max_depth": "moatless README: max_depth=25",
    "discriminator": "moatless README: AgentDiscriminator(n_agents=5, n_rounds=3) (debate); "
                     "MeanAwardDiscriminator (mean) is the other in discriminator.py",
    "max_finished": "ours: None (search until max_iterations, as the README example); moatless SearchTree has "
                    "max_finished_nodes",
    "selector": "moatless README: BestFirstSelector, i.e. the highest UCT score (with its bonuses and penalties) "
                "among all expandable nodes",
}
DEVIATIONS: list[str] = [
    "actions are text in the seeded-bugs grammar (view, search, edit with a SEARCH/REPLACE block, run_tests, "
    "run_script, finish), not moatless's function-calling actions (FindClass, ViewCode, StringReplace, RunTests, "
    "Finish)",
    "UCT's exploitation is the node's mean backed-up value (the paper's UCT); moatless's code reads the node's own "
    "reward",
    "the value agent sees the whole trajectory's actions and observations, not moatless's file context and diff",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None,
          max_iterations: int = MAX_ITERATIONS, max_expansions: int = MAX_EXPANSIONS, max_depth: int = MAX_DEPTH,
          max_finished: int | None = None, discriminator: Literal["debate", "mean"] = "debate",
          selector: Literal["uct", "best-first", "beam"] = "uct", concurrency: int = 4,
          budget_model_calls: int | None = None, budget_usd: float | None = None,
          budget_seconds: float | None = None) -> SearchAgent:
    """SWE-Search on the harness's episode (a `seeded-bugs` repository); with none, an agent that replays a run
    from its journal. `tools` are not used: the action agent acts by stepping the repository. `system` replaces
    the action agent's system prompt."""
    if system == TOOLS_SYSTEM:  # seeded-bugs's, for agents that call its tools (the spec keeps it, so replay too)
        system = None
    policy = TextPolicy(model, system=system if system is not None else render(PROMPTS / "system.j2"),
                        sampling=sampling, read_action=read_action)
    value = ValueAgent(model, system=PROMPTS / "value_system.j2", sampling=sampling)
    search = make_search(model, system=None, sampling=sampling, selector=selector, value="agent",
                         discriminator=discriminator, c=None, beam_width=3, policy=policy, value_agent=value,
                         limits=Limits(max_iterations=max_iterations, max_expansions=max_expansions,
                                       max_depth=max_depth, max_finished=max_finished, concurrency=concurrency),
                         budget=budget(budget_model_calls, budget_usd, budget_seconds))
    return SearchAgent(search, step_driver(episode, "swe-search", ACTS_IN), name="swe-search")
