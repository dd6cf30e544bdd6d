"""The oracle for recipes: a model that plays every role of a recipe from a task's gold solution.

`--model oracle` checks the harness and the scorers, never a model. For the built-in agents the
environment's own `oracle(task, agent)` gives the replies (tool calls for `tool-calling`, actions
for `codeact`). A recipe asks many roles many things, so its oracle is a function of the request:
the recipe's player tells the role by its prompt template (`gold.Marker`) and answers as that
role should for the gold to come out: the actor writes the gold, a judge approves it, a test
writer writes asserts the gold passes, a ledger is valid JSON that leads to it, a voter votes
for it. Every recipe × environment pair the recipe declares (`ANSWER_KINDS`) scores 100% this
way (`tests/eval/test_oracle_matrix.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ...types import ModelRequest
from .aegis import aegis
from .agentable import agentable
from .agent_laboratory import agent_laboratory
from .agent_r import agent_r
from .agenttorch import agenttorch
from .agentless import agentless
from .baselines import chain_of_thought, debate, reflexion, self_refine
from .code_teams import agentcoder, codecor, metagpt
from .cogni_cismef import cogni_cismef
from .concordia import concordia
from .core_agent import core_agent
from .croto import croto
from .deep_agent import deep_agent
from .discussions import dylan, mallm
from .gold import Gold, OracleError
from .generative_agents import generative_agents
from .installamatic import installamatic
from .ioa import ioa
from .jailjudge import jailjudge
from .langgraph_mt import langgraph_mt
from .ltl import ltl
from .magentic_one import magentic_one
from .mechagents import mechagents
from .mlagentbench import mlagentbench
from .mobile_agent_v2 import mobile_agent_v2
from .multi_branch import multi_branch
from .pangu_agent import pangu_agent
from .persona import persona
from .poact import poact
from .proactive_agent import proactive_agent
from .proagent import proagent
from .react_textgame import react_textgame
from .search import swe_search, tree_search
from .web_agents import agentoccam, webarena_agent

ORACLE = "oracle"

PLAYERS: dict[str, Callable[[Gold], Callable[[ModelRequest], Any]]] = {
    "cot": chain_of_thought,
    "cot-sc": partial(chain_of_thought, recipe="cot-sc"),
    "self-refine": self_refine,
    "reflexion": reflexion,
    "llm-debate": debate,
    "magentic-one": magentic_one,
    "magentic-one-legacy": partial(magentic_one, recipe="magentic-one-legacy"),
    "metagpt": metagpt,
    "agentcoder": agentcoder,
    "codecor": codecor,
    "dylan": dylan,
    "mallm": mallm,
    "agentless": agentless,
    "ltl": ltl,
    "croto": croto,
    "ioa": ioa,
    "react-textgame": react_textgame,
    "webarena-agent": webarena_agent,
    "agentoccam": agentoccam,
    "tree-search": tree_search,
    "agent-r": agent_r,
    "agenttorch": agenttorch,
    "swe-search": swe_search,
    "generative-agents": generative_agents,
    "concordia": concordia,
    "deep-agent": deep_agent,
    "pangu-agent": pangu_agent,
    "mlagentbench": mlagentbench,
    "installamatic": installamatic,
    "persona": persona,
    "proagent": proagent,
    "langgraph-mt": langgraph_mt,
    "aegis": aegis,
    "poact": poact,
    "core-agent": core_agent,
    "proactive-agent": proactive_agent,
    "mobile-agent-v2": mobile_agent_v2,
    "multi-branch": multi_branch,
    "jailjudge": jailjudge,
    "mechagents": mechagents,
    "cogni-cismef": cogni_cismef,
    "agentable": agentable,
    "agent-laboratory": agent_laboratory,
}
"""Recipe name -> a function of a task's `Gold` that returns the recipe's oracle (a function of the request)."""

__all__ = ["ORACLE", "PLAYERS", "Gold", "OracleError", "has_player", "oracle_model"]


def has_player(recipe: str) -> bool:
    return recipe in PLAYERS


def oracle_model(agent: str, env: Any, task: Any) -> Any:
    """The oracle `ScriptedModel` for one sample: the recipe's player over the task's gold, or, for an
    agent that is not a recipe (`tool-calling`, `codeact`), the environment's own oracle steps.
    `agent` may carry a preset (`agentcoder@code`): the player is the recipe's."""
    from ...models.scripted import ScriptedModel
    from .. import RECIPES

    name = agent.partition("@")[0]
    if name in RECIPES:
        if name not in PLAYERS:
            raise OracleError(f"model 'oracle' cannot play recipe {name!r}: it has no oracle player "
                              f"(agentzoo.recipes._oracle.PLAYERS); recipes with one: {', '.join(sorted(PLAYERS))}")
        return ScriptedModel(PLAYERS[name](Gold.of(env, task)), name=ORACLE, local=True)
    return ScriptedModel(env.oracle(task, name), name=ORACLE)
