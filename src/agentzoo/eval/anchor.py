"""The matched single-agent anchor: every multi-agent comparison also runs one plain agent with the
same model and the same per-sample budget, so that a report always answers "does the team beat one
agent?" (published multi-agent gains often vanish against a matched single agent).

When every agent of an eval that we can classify is a multi-agent recipe (`MULTI_AGENT`) and none is
a single agent, the plan adds `anchor:cot` (number, text and code environments) or
`anchor:tool-calling` (tool environments, or any whose answer kind is not known), chosen with the
environments' `answer_kind` and checked with `pairs.check_pair`. It is the baseline unless one is
named. `--no-anchor` (`anchor: false` in an experiment file) leaves it out.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .pairs import check_pair, env_answer_kind

MULTI_AGENT: dict[str, str] = {
    # recipe: why it is a team (the paper's own description of the system)
    "llm-debate": "several model instances answer, read each other's answers and answer again (Du et al. 2023)",
    "magentic-one": "an orchestrator directs specialist agents (Fourney et al. 2024: a multi-agent system)",
    "magentic-one-legacy": "an orchestrator directs specialist agents (Fourney et al. 2024: a multi-agent system)",
    "metagpt": "five roles pass documents through a message pool (Hong et al. 2024)",
    "agentcoder": "a programmer, a test designer and a test executor agent (Huang et al. 2023)",
    "codecor": "prompt, test, coding and repair agents (Pan et al. 2025)",
    "dylan": "a layered network of role-playing agents with peer ratings (Liu et al. 2024)",
    "mallm": "expert personas discuss until a decision protocol decides (Becker 2024)",
    "ioa": "a leader discovers agents in a registry and teams up with them in a group chat (Chen et al. 2024)",
    "croto": "several software teams work in parallel and merge their solutions (Du et al. 2024)",
}
"""Recipes that are teams of agents. Every other built-in agent and recipe is a single agent:
tool-calling, codeact, cot, cot-sc (one model sampled several times), self-refine and reflexion (one
model in several roles of one agent, as their papers present them), agentless (a fixed pipeline of
calls, no agents) and ltl (one agent under a protocol). A user's own agent is neither: it adds no
anchor and does not hold one back."""

LABEL = "anchor:{agent}"
_TEXT_KINDS = frozenset({"number", "text", "code"})  # what one chain-of-thought call answers


def classify(agent: str) -> str | None:
    """"multi", "single" or None (a user's agent, which we cannot tell) for an agent name (`@preset` allowed)."""
    from ..catalog import BUILTIN
    from ..recipes import RECIPES

    name = agent.partition("@")[0]
    if name in MULTI_AGENT:
        return "multi"
    if name in BUILTIN or name in RECIPES:
        return "single"
    return None


def anchor_agent(env_names: list[str]) -> str:
    """`cot` when every environment scores numbers, text or code; else `tool-calling` — the first of
    them that `check_pair` lets run on every environment."""
    kinds = {env_answer_kind(name) for name in env_names}
    candidates = ["cot", "tool-calling"] if kinds and kinds <= _TEXT_KINDS else ["tool-calling"]
    for agent in candidates:
        try:
            for name in env_names:
                check_pair(agent, name)
        except ConfigError:
            continue
        return agent
    raise ConfigError(f"no single agent can anchor environments {', '.join(env_names)}: pass --no-anchor")


def plan_anchor(specs: dict[str, Any], env_names: list[str]) -> tuple[str, Any, dict[str, Any]] | None:
    """The anchor to add to agents `specs` (label → AgentSpec template), or None when none is needed:
    (label, spec, what the eval's meta records about it). The spec takes the model placeholder, the
    budgets, sampling, call timeout and model options of the first multi-agent spec: the same model and budget."""
    kinds = {label: classify(spec.agent) for label, spec in specs.items()}
    teams = [label for label, kind in kinds.items() if kind == "multi"]
    if not teams or "single" in kinds.values():
        return None
    agent = anchor_agent(env_names)
    label = LABEL.format(agent=agent)
    if label in specs:
        raise ConfigError(f"an agent is labelled {label!r}, the name of the matched single-agent anchor; "
                          "give it another label, or pass --no-anchor")
    team = specs[teams[0]]
    spec = type(team)(agent=agent, model=team.model, budgets=team.budgets, sampling=team.sampling,
                      call_timeout=team.call_timeout, model_options=team.model_options)
    info = {"label": label, "agent": agent, "for": teams,
            "matched_to": teams[0], "reasons": {specs[t].agent: MULTI_AGENT[specs[t].agent.partition("@")[0]]
                                                for t in teams}}
    return label, spec, info
