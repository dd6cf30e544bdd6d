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

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from importlib import import_module
from typing import Any

from ...types import ModelRequest
from .gold import Gold, OracleError

ORACLE = "oracle"

Player = Callable[[Gold], Callable[[ModelRequest], Any]]


class _Players(Mapping[str, Player]):
    """Recipe name -> its player, each module imported when its player is first asked for: a player
    imports its recipe, and an eval (or a worker process) runs one or two of the 40, not all."""

    def __init__(self, where: dict[str, tuple[str, str, str | None]]) -> None:
        self._where = where  # name -> (module in this package, function, the `recipe` it is called with)

    def __getitem__(self, name: str) -> Player:
        module, function, recipe = self._where[name]
        player = getattr(import_module(f".{module}", __name__), function)
        return partial(player, recipe=recipe) if recipe else player

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


PLAYERS: Mapping[str, Player] = _Players({
    "cot": ("baselines", "chain_of_thought", None),
    "cot-sc": ("baselines", "chain_of_thought", "cot-sc"),
    "self-refine": ("baselines", "self_refine", None),
    "reflexion": ("baselines", "reflexion", None),
    "llm-debate": ("baselines", "debate", None),
    "magentic-one": ("magentic_one", "magentic_one", None),
    "magentic-one-legacy": ("magentic_one", "magentic_one", "magentic-one-legacy"),
    "metagpt": ("code_teams", "metagpt", None),
    "agentcoder": ("code_teams", "agentcoder", None),
    "codecor": ("code_teams", "codecor", None),
    "dylan": ("discussions", "dylan", None),
    "mallm": ("discussions", "mallm", None),
    "agentless": ("agentless", "agentless", None),
    "ltl": ("ltl", "ltl", None),
    "croto": ("croto", "croto", None),
    "ioa": ("ioa", "ioa", None),
    "react-textgame": ("react_textgame", "react_textgame", None),
    "webarena-agent": ("web_agents", "webarena_agent", None),
    "agentoccam": ("web_agents", "agentoccam", None),
    "tree-search": ("search", "tree_search", None),
    "agent-r": ("agent_r", "agent_r", None),
    "agenttorch": ("agenttorch", "agenttorch", None),
    "swe-search": ("search", "swe_search", None),
    "generative-agents": ("generative_agents", "generative_agents", None),
    "concordia": ("concordia", "concordia", None),
    "deep-agent": ("deep_agent", "deep_agent", None),
    "pangu-agent": ("pangu_agent", "pangu_agent", None),
    "mlagentbench": ("mlagentbench", "mlagentbench", None),
    "installamatic": ("installamatic", "installamatic", None),
    "persona": ("persona", "persona", None),
    "proagent": ("proagent", "proagent", None),
    "langgraph-mt": ("langgraph_mt", "langgraph_mt", None),
    "aegis": ("aegis", "aegis", None),
    "poact": ("poact", "poact", None),
    "core-agent": ("core_agent", "core_agent", None),
    "proactive-agent": ("proactive_agent", "proactive_agent", None),
    "mobile-agent-v2": ("mobile_agent_v2", "mobile_agent_v2", None),
    "multi-branch": ("multi_branch", "multi_branch", None),
    "jailjudge": ("jailjudge", "jailjudge", None),
    "mechagents": ("mechagents", "mechagents", None),
    "cogni-cismef": ("cogni_cismef", "cogni_cismef", None),
    "agentable": ("agentable", "agentable", None),
    "agent-laboratory": ("agent_laboratory", "agent_laboratory", None),
})
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
