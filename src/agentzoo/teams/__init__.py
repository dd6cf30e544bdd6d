"""Team topologies as library code: each team is itself an agent, so teams nest and run anywhere.

Members run in child scopes of the journal (`team/role#i`), so cost, tokens and calls are
attributed per role, and parallel branches replay deterministically.

| topology | module | used by |
|---|---|---|
| orchestrator with task and progress ledgers, stall counting, re-planning | `orchestrator` | Magentic-One |
| group chat: rule- or model-selected next speaker, hand-off | `group_chat` | — |
| pipeline of roles over a publish/subscribe pool, validated documents | `pipeline` | MetaGPT |
| discussion: topologies (all-to-all, relay, hub, debate) × decision rules | `debate` | MALLM |
| layered network: peer ratings, importance scores, early stop on agreement | `layered` | DyLAN |
| state graph: typed shared state, reducers, conditional edges, bounded cycles, a checkpoint per node | `state_graph` | — |
| task DAG: planner, waves of ready nodes, expansion, re-planning of a failed node's subtree only | `task_dag` | — |
| game master: players attempt, a thought chain makes each attempt one event, scenes, clock, initiative | `game_master`, `thought_chain` | Concordia |
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Orchestrator": "orchestrator", "LedgerPrompts": "orchestrator", "DecayingStalls": "orchestrator",
    "BoundedReplans": "orchestrator",
    "GroupChat": "group_chat", "Participant": "group_chat", "ModelSelector": "group_chat", "round_robin": "group_chat",
    "Pipeline": "pipeline", "Message": "pipeline", "DocumentRole": "pipeline", "AgentRole": "pipeline",
    "write_document": "pipeline",
    "Discussion": "debate", "AgentMember": "debate", "AllToAll": "debate", "RoundRobin": "debate", "Hub": "debate",
    "Debate": "debate", "Consensus": "debate", "Vote": "debate", "Judge": "debate", "MajorityAnswer": "debate",
    "LayeredNetwork": "layered",
    "StateGraph": "state_graph", "END": "state_graph", "append": "state_graph", "merge_dict": "state_graph",
    "checkpoints": "state_graph",
    "TaskDAG": "task_dag", "Subtask": "task_dag", "ModelPlanner": "task_dag", "AgentExecutor": "task_dag",
    "Done": "task_dag", "Expand": "task_dag", "Failed": "task_dag",
    "GameMaster": "game_master", "Scene": "game_master", "Narration": "game_master", "Player": "game_master",
    "Turn": "game_master", "Event": "game_master", "GameMasterResult": "game_master",
    "ChainState": "thought_chain", "Plausibility": "thought_chain", "AttemptToResult": "thought_chain",
    "WhoWhatWhere": "thought_chain", "chain_of": "thought_chain",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentzoo.teams' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
